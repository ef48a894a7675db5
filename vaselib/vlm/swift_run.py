"""Run ms-swift (``sft``, ``rlhf``, ``export``) in a child process, from an argument file.

Why a child process rather than calling ``sft_main`` in the notebook's kernel:

- ms-swift and qwen_vl_utils read ``MAX_PIXELS`` (and other vision limits) once, when the
  first model is loaded in a process; a kernel that already loaded a model would silently
  keep the old limits.  A fresh process per stage always honours the stage's parameters.
- ms-swift patches transformers/trl/datasets globally at import and keeps a model, optimizer
  and data-loader workers alive until the process ends; the notebook kernel stays clean and
  the memory is returned when the stage finishes (or fails).
- Multi-GPU training uses ms-swift's own launcher: with ``NPROC_PER_NODE`` set, ``swift``
  starts ``torchrun`` itself.  The same child-process call covers one CPU, one GPU and
  several GPUs.
- The argument file (``logs/swift_<command>_args.json``, with an ``ENV`` block; ms-swift copies
  it next to its checkpoints) stays in the output folder: ``swift sft
  runs/…/logs/swift_sft_args.json`` reruns the exact training by hand.

The child runs ``python -m swift.cli.main <command> <file>`` (what the ``swift`` command
does); its output goes to ``logs/swift_<command>.log``; a failure raises :class:`SwiftError`
quoting the end of that log.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tqdm.auto import tqdm

from vaselib import runs
from vaselib.vlm import tiny

# The ms-swift optimiser that vaselib.vlm.optimizer_plugin registers (stage 05's
# modules_to_save_lr), and the variable it reads that learning rate from in ms-swift's process.
MODULES_TO_SAVE_OPTIMIZER = "vaselib_modules_to_save_lr"
MODULES_TO_SAVE_LR_ENV = "VASELIB_MODULES_TO_SAVE_LR"

class SwiftError(RuntimeError):
    """ms-swift failed; the message ends with the tail of its log."""


@dataclass
class SwiftRun:
    command: str
    args_file: Path
    log_file: Path
    seconds: float


def is_local_model(model: str | os.PathLike) -> bool:
    return runs.resolve(model).exists()


def checkpoint_is_complete(folder: str | Path) -> bool:
    """True when an ms-swift/transformers checkpoint folder was written to the end: the
    trainer saves ``trainer_state.json`` last, so a readable one means the rest is there."""
    try:
        state = json.loads((Path(folder) / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and "global_step" in state


def last_complete_checkpoint(folder: str | Path) -> Path | None:
    """The complete ``checkpoint-N`` with the highest N in ``folder`` (half-written ones, from
    a run killed while saving, are passed over)."""
    found = []
    for child in Path(folder).glob("checkpoint-*"):
        step = child.name.split("-", 1)[1]
        if step.isdigit() and child.is_dir() and not child.is_symlink():
            found.append((int(step), child))
    for _, child in sorted(found, reverse=True):
        if checkpoint_is_complete(child):
            return child
    return None


def write_args_file(path: Path, args: Mapping[str, Any], env: Mapping[str, str]) -> Path:
    """ms-swift's JSON config: argument names → values (None dropped), plus an ENV block."""
    clean = {k: v for k, v in args.items() if v is not None}
    runs.write_json(path, {**clean, "ENV": dict(env)})
    return path


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    full = dict(os.environ)
    full.update({k: str(v) for k, v in env.items()})
    full.setdefault("TOKENIZERS_PARALLELISM", "false")
    full.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # see vaselib.notebooks.KERNEL_ENV
    full.setdefault("PYTHONUNBUFFERED", "1")
    # The child imports the same vaselib as this process (for the reward plugin), wherever
    # it lives and whatever the current folder is.
    import vaselib

    here = str(Path(vaselib.__file__).resolve().parents[1])
    full["PYTHONPATH"] = here + (os.pathsep + full["PYTHONPATH"] if full.get("PYTHONPATH") else "")
    return full


def _steps_from_log(logging_jsonl: Path) -> tuple[int, int] | None:
    """``(global_step, max_steps)`` from the last line of ms-swift's logging.jsonl."""
    try:
        with logging_jsonl.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            gs = entry.get("global_step/max_steps")
            if gs:
                a, b = str(gs).split("/")
                return int(a), int(b)
    except OSError:
        pass
    return None


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_swift(command: str, args: Mapping[str, Any], env: Mapping[str, str],
              output_dir: str | Path, *, progress: bool = True, desc: str | None = None,
              swift_output_dir: str | Path | None = None,
              timeout: float | None = None) -> SwiftRun:
    """Write ``swift_<command>_args.json`` in ``output_dir`` and run ``swift <command>`` on it.

    ``swift_output_dir`` is where ms-swift writes (its ``output_dir``; defaults to
    ``output_dir``) and is watched for ``logging.jsonl`` to drive the progress bar.
    """
    if command not in ("sft", "rlhf", "export", "infer", "pt"):
        raise ValueError(f"unknown ms-swift command {command!r}")
    out = Path(output_dir)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    # ms-swift copies the argument file into its output folder itself (it must not be there
    # already: shutil.SameFileError), so the file vaselib writes lives in logs/.
    args_file = write_args_file(out / "logs" / f"swift_{command}_args.json", args, env)
    log_file = out / "logs" / f"swift_{command}.log"
    watch = Path(swift_output_dir or out) / "logging.jsonl"
    cmd = [sys.executable, "-m", "swift.cli.main", command, str(args_file)]
    start = time.perf_counter()
    bar = tqdm(total=None, desc=desc or f"swift {command}", disable=not progress, leave=False)
    with log_file.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=child_env(env),
                                cwd=str(runs.workbook_root()))
        try:
            while True:
                try:
                    rc = proc.wait(timeout=1.0)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if timeout is not None and time.perf_counter() - start > timeout:
                    proc.kill()
                    proc.wait()
                    raise SwiftError(f"swift {command} ran longer than {timeout:.0f} s and was "
                                     f"stopped; log: {runs.display_path(log_file)}")
                steps = _steps_from_log(watch) if progress else None
                if steps:
                    bar.total = steps[1]
                    bar.n = steps[0]
                    bar.refresh()
        except BaseException:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise
        finally:
            bar.close()
    seconds = time.perf_counter() - start
    if rc != 0:
        raise SwiftError(
            f"swift {command} failed (exit code {rc}); full log: "
            f"{runs.display_path(log_file)}; arguments: {runs.display_path(args_file)}\n"
            f"--- end of the log ---\n{tail(log_file)}")
    return SwiftRun(command, args_file, log_file, seconds)


def read_logging(swift_output_dir: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """ms-swift's ``logging.jsonl``: the per-step log entries and the final run message.

    The final message (``last_model_checkpoint``, ``global_step``, ``log_history``) is the
    line written after training; its ``log_history`` (restored from the checkpoint on resume)
    is preferred over the streamed lines when present.
    """
    path = Path(swift_output_dir) / "logging.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{runs.display_path(path)} does not exist: ms-swift did not "
                                f"train (see the log in the logs/ folder)")
    entries, final = [], {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "last_model_checkpoint" in d or "log_history" in d:
            final = d
        else:
            entries.append(d)
    if final.get("log_history"):
        entries = list(final["log_history"])
    return entries, final


def resolve_model(model: str | None, name: str = "model") -> tuple[str, bool]:
    """``(model path or hub id, is_local)`` of the model parameter ``name``."""
    if model is None or not str(model).strip():
        from vaselib.stages import ParameterError

        raise ParameterError(
            f"{name} is not set: give a local Qwen2.5-VL folder or a hub id such as "
            f"Qwen/Qwen2.5-VL-7B-Instruct (notebooks and `vase run` fill the demo's tiny "
            f"model in when it is left None)")
    path = runs.resolve(model)
    if path.exists():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"model folder {runs.display_path(path)} has no config.json; pass a Hugging "
                f"Face model folder (e.g. a download of Qwen/Qwen2.5-VL-7B-Instruct)")
        return str(path), True
    if "/" in model and not model.startswith((".", "/", "~")) and model.count("/") == 1:
        return model, False  # a hub id: ms-swift downloads it (needs network)
    raise FileNotFoundError(f"model {model!r} is neither an existing folder nor a hub id "
                            f"like Qwen/Qwen2.5-VL-7B-Instruct")


def model_description(model: str) -> str | None:
    """What a local model folder is, from its ``training.json`` (vaselib's demo models)."""
    record = runs.resolve(model) / "training.json"
    if not record.is_file():
        return None
    try:
        return runs.read_json(record).get("description")
    except ValueError:
        return None


def swift_env(p, model: str, is_local: bool) -> dict[str, str]:
    """Environment of the ms-swift child process for stage parameters ``p``."""
    env = {"MAX_PIXELS": str(p.max_pixels)}
    if is_local:
        env["HF_HUB_OFFLINE"] = "1"
        env.update(tiny.thread_env(model))
    env.update(launcher_env(p))
    if p.cuda_visible_devices is not None:
        env["CUDA_VISIBLE_DEVICES"] = p.cuda_visible_devices
    return env


# -- past one GPU: ms-swift's own launcher ---------------------------------------------
# ms-swift 4.6.0, swift/cli/main.py: ``use_torchrun()`` is true when NPROC_PER_NODE or
# NNODES is set; ``get_torchrun_args()`` then turns NPROC_PER_NODE, MASTER_PORT, NNODES,
# NODE_RANK and MASTER_ADDR (those set) into ``--nproc_per_node … --master_addr …`` and
# ``cli_main`` runs ``python -m torch.distributed.run <those> swift/cli/sft.py <args>`` (for
# sft, rlhf, pt, infer).  ``parse_yaml_args`` copies the args file's ENV block into the
# environment for keys not already set, so the args file alone reruns the same launch.
LAUNCH_ENV = ("NPROC_PER_NODE", "NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT")


def launcher_env(p) -> dict[str, str]:
    """The torchrun variables ms-swift's launcher reads, from ``nproc_per_node``,
    ``nnodes``, ``node_rank``, ``master_addr`` and ``master_port``; none on one process."""
    nnodes = getattr(p, "nnodes", 1)
    env: dict[str, str] = {}
    if p.nproc_per_node > 1 or nnodes > 1:
        env["NPROC_PER_NODE"] = str(p.nproc_per_node)
    if nnodes > 1:
        env.update(NNODES=str(nnodes), NODE_RANK=str(p.node_rank), MASTER_ADDR=p.master_addr)
    if getattr(p, "master_port", None) is not None:
        env["MASTER_PORT"] = str(p.master_port)
    return env


def launcher_args(p) -> dict[str, object]:
    """ms-swift arguments for training past one GPU: ``deepspeed`` (zero2/zero3, which
    ms-swift maps to its own swift/config/zero2.json, zero3.json)."""
    return {"deepspeed": getattr(p, "deepspeed", None)}


def deepspeed_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("deepspeed") is not None


def check_launch(p) -> None:
    """Before any work: DeepSpeed asked for must be installed (ms-swift would only say so
    after loading the data set and the model)."""
    wanted = (p.extra_args or {}).get("deepspeed", getattr(p, "deepspeed", None))
    if wanted and not deepspeed_available():
        from vaselib.stages import ParameterError

        raise ParameterError(
            f"deepspeed: {wanted} needs the deepspeed package, which is not installed here: "
            f"`pip install deepspeed` on every node (with CUDA), or set deepspeed: null")


def mixed_precision(torch_dtype: str) -> dict[str, bool]:
    """Explicit fp16/bf16 flags: ms-swift turns on fp16 mixed precision for float32 weights,
    which on a CPU is several times slower (and changes the numbers); float32 trains in
    float32, bfloat16 with bf16 (the paper), float16 with fp16."""
    return {"fp16": torch_dtype == "float16", "bf16": torch_dtype == "bfloat16"}
