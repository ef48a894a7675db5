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

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaselib import runs
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(adapters: Path, base_model: str, torch_dtype: str) -> dict[str, Any]:
    """What determines a merged model: adapter folder + weights hash, base model, dtype."""
    weights = sorted(adapters.glob("adapter_model*.safetensors")) or sorted(
        adapters.glob("adapter_model*.bin"))
    return {"adapters": str(adapters.resolve()),
            "adapter_weights": {w.name: _sha256(w) for w in weights},
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


# ------------------------------------------------------------------------- stage 07
STAGE = "07_merge"


@dataclass
class MergeResult:
    output_dir: Path
    merged: Path
    reused: bool
    adapters: Path
    base_model: str
    final_model: Path
    grpo_model: Path | None
    image: Path | None
    reference: str | None
    captions: dict[str, str]
    merged_parameters: int
    changed_tensors: int | None
    mcore: Path | None
    mcore_status: str
    seconds: float = 0.0

    def headline(self) -> dict[str, Any]:
        return {"merged_parameters_m": round(self.merged_parameters / 1e6, 2),
                "changed_tensors": self.changed_tensors,
                "models_captioned": len(self.captions),
                "grpo_model": self.grpo_model is not None,
                "mcore_exported": self.mcore is not None}


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


def _first_example(sft_dir: Path | None) -> tuple[Path | None, str | None]:
    """The first training image of stage 05 and its caption (else of the demo data)."""
    from vaselib.vlm import data as vdata

    if sft_dir is not None:
        path = sft_dir / "data" / vdata.SFT_FILE
        if path.is_file():
            rows = vdata.read_jsonl(path)
            if rows:
                answer = [m["content"] for m in rows[0]["messages"] if m["role"] == "assistant"]
                return Path(rows[0]["images"][0]), (answer[-1] if answer else None)
    ds = vdata.load_records()
    return (ds.records[0].images[0], ds.records[0].caption) if ds.records else (None, None)


def run(p, *, progress: bool = True) -> MergeResult:
    """Stage 07: merge, caption one image with base vs merged (vs GRPO), optional to_mcore."""
    from vaselib.vlm import grpo, infer, megatron, sft

    out = runs.resolve(p.output_dir)
    if p.to_mcore:  # fail before any work when this machine cannot convert
        megatron.require_environment()
    out.mkdir(parents=True, exist_ok=True)
    with runs.timer() as t:
        sft_dir = None
        if p.adapters is not None:
            adapters = runs.resolve(p.adapters)
            sft_dir = runs.resolve(p.sft_dir) if p.sft_dir else None
        else:
            sft_dir = runs.resolve(p.sft_dir) if p.sft_dir else sft.ensure_standalone(progress)
            adapters = sft.final_checkpoint(sft_dir)
        merged = merge_lora(adapters, out / "merged", p.base_model, p.torch_dtype,
                            work_dir=out, progress=progress)
        final_model, grpo_model = merged.path, None
        if p.grpo_dir is not None:
            ckpt = grpo.final_checkpoint(p.grpo_dir)
            if is_adapter(ckpt):
                grpo_model = merge_lora(ckpt, out / "merged_grpo", None, p.torch_dtype,
                                        work_dir=out, progress=progress).path
            else:
                grpo_model = ckpt
            final_model = grpo_model
        image, reference = ((runs.resolve(p.image), None) if p.image is not None
                            else _first_example(sft_dir))
        captions: dict[str, str] = {}
        if image is not None:
            models = {"base": merged.base_model, "merged SFT": merged.path}
            if grpo_model is not None:
                models["GRPO"] = grpo_model
            for name, folder in models.items():
                captions[name] = infer.caption_images(
                    folder, [image], p.max_new_tokens, p.seed, max_pixels=p.max_pixels)[0]
        base_local = runs.resolve(merged.base_model)
        n_changed = changed_tensors(base_local, merged.path) if base_local.exists() else None
        mcore = None
        if p.to_mcore:
            mdir = out / "mcore"
            if mdir.exists():
                shutil.rmtree(mdir)
            mcore = megatron.to_mcore(final_model, mdir, p.torch_dtype,
                                      p.test_convert_precision, work_dir=out,
                                      progress=progress).path
        status = (f"exported to {runs.display_path(mcore)}" if mcore is not None
                  else megatron.environment_report())
    result = MergeResult(
        output_dir=out, merged=merged.path, reused=merged.reused, adapters=adapters,
        base_model=merged.base_model, final_model=final_model, grpo_model=grpo_model,
        image=image, reference=reference, captions=captions,
        merged_parameters=parameter_count(merged.path), changed_tensors=n_changed,
        mcore=mcore, mcore_status=status, seconds=t["seconds"])
    runs.write_json(out / "captions.json", {"image": image, "reference": reference,
                                            "captions": captions,
                                            "max_new_tokens": p.max_new_tokens})
    runs.write_summary(
        out, STAGE, p, result.headline(),
        outputs={"merged": merged.path, "final_model": final_model, "grpo_model": grpo_model,
                 "mcore": mcore, "captions": out / "captions.json"},
        inputs={"adapters": adapters, "base_model": merged.base_model, "sft_dir": sft_dir,
                "grpo_dir": runs.resolve(p.grpo_dir) if p.grpo_dir else None},
        seconds=t["seconds"],
        notes=[status] + (["merge reused: the merged folder already matched these inputs"]
                          if merged.reused else []))
    return result
