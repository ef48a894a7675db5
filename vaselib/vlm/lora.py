"""Merge a LoRA checkpoint into its base model (``swift export --merge_lora true``), idempotently.

:func:`merge_lora` writes a full Hugging Face model folder (weights, config, tokenizer,
processor, chat template) usable for inference or further training (stage 06 starts from
it).  The folder carries ``vaselib_merge.json``: the adapter folder, a hash of its weights,
the base model and the dtype.  Asked again with the same inputs, the merge is not redone and
the existing folder is returned (``reused=True``); with other inputs it is rebuilt.  The
merge runs into a temporary sibling folder that is renamed when complete, so a crash never
leaves a half-written model that a later call would take for a finished one.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaselib import runs
from vaselib.files import file_sha256
from vaselib.vlm import swift_run, tiny

MARKER = "vaselib_merge.json"


@dataclass
class MergedModel:
    path: Path
    adapters: Path
    base_model: str
    reused: bool
    seconds: float = 0.0


def is_adapter(folder: str | Path) -> bool:
    """True when ``folder`` holds a LoRA adapter (PEFT's adapter_config.json)."""
    folder = Path(folder)
    return (folder / "adapter_config.json").is_file() or (
        folder / "default" / "adapter_config.json").is_file()


def adapter_base_model(adapters: str | Path) -> str:
    """The base model an ms-swift adapter checkpoint was trained on (its args.json)."""
    adapters = Path(adapters)
    args = adapters / "args.json"
    if args.is_file():
        data = json.loads(args.read_text(encoding="utf-8"))
        if data.get("model"):
            return str(data["model"])
    cfg = adapters / "adapter_config.json"
    if cfg.is_file():
        base = json.loads(cfg.read_text(encoding="utf-8")).get("base_model_name_or_path")
        if base:
            return str(base)
    raise FileNotFoundError(f"cannot tell the base model of {runs.display_path(adapters)} "
                            f"(no args.json or adapter_config.json naming it); pass base_model")


def fingerprint(adapters: Path, base_model: str, torch_dtype: str) -> dict[str, Any]:
    """What determines a merged model: adapter folder + weights hash, base model, dtype."""
    weights = sorted(adapters.glob("adapter_model*.safetensors")) or sorted(
        adapters.glob("adapter_model*.bin"))
    return {"adapters": str(adapters.resolve()),
            "adapter_weights": {w.name: file_sha256(w) for w in weights},
            "base_model": base_model, "torch_dtype": torch_dtype}


def merge_lora(adapters: str | Path, output_dir: str | Path, base_model: str | None = None,
               torch_dtype: str = "float32", *, work_dir: str | Path | None = None,
               progress: bool = True) -> MergedModel:
    """Merge ``adapters`` into ``base_model`` (default: the one it was trained on).

    ``output_dir`` receives the merged model; ``work_dir`` (default: its parent) the
    ms-swift argument file and log.  Returns the existing folder untouched when it was
    merged from the same inputs.
    """
    adapters = runs.resolve(adapters)
    if not adapters.is_dir():
        raise FileNotFoundError(f"adapter folder {runs.display_path(adapters)} does not exist")
    if not is_adapter(adapters):
        raise ValueError(f"{runs.display_path(adapters)} is not a LoRA checkpoint (no "
                         f"adapter_config.json); a fully trained checkpoint needs no merge")
    base = base_model if base_model is not None else adapter_base_model(adapters)
    base_path = runs.resolve(base)
    base = str(base_path) if base_path.exists() else base
    out = runs.resolve(output_dir)
    fp = fingerprint(adapters, base, torch_dtype)
    marker = out / MARKER
    if marker.is_file() and (out / "config.json").is_file():
        try:
            old = json.loads(marker.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            old = None
        if old == fp:
            return MergedModel(out, adapters, base, reused=True)
    work = runs.resolve(work_dir) if work_dir is not None else out.parent
    tmp = out.with_name(f".{out.name}.merging-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    args: dict[str, Any] = {"adapters": [str(adapters)], "merge_lora": True,
                            "output_dir": str(tmp), "torch_dtype": torch_dtype}
    if base_model is not None:
        args["model"] = base
    env = {"HF_HUB_OFFLINE": "1", **tiny.thread_env(base_path)} if base_path.exists() else {}
    try:
        run = swift_run.run_swift("export", args, env, work, progress=progress,
                                  desc="merge LoRA", swift_output_dir=tmp)
        if not (tmp / "config.json").is_file():
            raise swift_run.SwiftError(f"swift export finished but wrote no model into "
                                       f"{runs.display_path(tmp)}; log: "
                                       f"{runs.display_path(run.log_file)}")
        runs.write_json(tmp / MARKER, fp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return MergedModel(out, adapters, base, reused=False, seconds=run.seconds)


def _weight_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors"))


def parameter_count(folder: str | Path) -> int:
    """Number of parameters stored in a model folder's safetensors files."""
    from safetensors import safe_open

    total = 0
    for f in _weight_files(Path(folder)):
        with safe_open(str(f), "pt") as st:
            for k in st.keys():
                total += _numel(st.get_slice(k).get_shape())
    return total


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def changed_tensors(base: str | Path, merged: str | Path, max_bytes: float = 2e9) -> int | None:
    """How many weight tensors differ between two model folders (None when too large to
    compare cheaply, or when ``base`` is not a local folder)."""
    import torch
    from safetensors import safe_open

    base, merged = Path(base), Path(merged)
    bf, mf = _weight_files(base), _weight_files(merged)
    if not bf or not mf or sum(f.stat().st_size for f in bf + mf) > max_bytes:
        return None

    def index(files):
        out = {}
        for f in files:
            with safe_open(str(f), "pt") as st:
                for k in st.keys():
                    out[k] = f
        return out

    bi, mi = index(bf), index(mf)
    n = 0
    for k, f in mi.items():
        if k not in bi:
            n += 1
            continue
        with safe_open(str(f), "pt") as a, safe_open(str(bi[k]), "pt") as b:
            ta, tb = a.get_tensor(k), b.get_tensor(k)
        # compare in the merged dtype: a float32 base saved as bfloat16 is not a change
        if ta.shape != tb.shape or not torch.equal(ta, tb.to(ta.dtype)):
            n += 1
    return n
