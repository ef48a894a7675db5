"""HF → Megatron-Core conversion (the original's ``hf2megatron``) through ms-swift.

The original ran::

    swift export --model <hf model> --to_mcore true --torch_dtype bfloat16 \\
        --output_dir <dir> --test_convert_precision true

ms-swift's ``to_mcore`` builds the model with megatron-core through mcore-bridge, whose
layers come from NVIDIA Transformer Engine, and starts a torch.distributed process group:
it needs a CUDA GPU and three packages that a CPU laptop does not have.
:func:`check_environment` lists what is missing; :func:`to_mcore` refuses up front with a
message naming it (instead of failing deep inside ms-swift), and otherwise runs the
conversion in a child process.  On a GPU machine run ``scripts/hf2megatron.sh`` or
``python -m vaselib.vlm.megatron --model <folder or hub id> --output_dir <dir>``
(``--check`` only reports whether this machine can convert).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from vaselib import runs
from vaselib.vlm import swift_run

# import name -> (pip distribution, why)
REQUIRED_PACKAGES: dict[str, tuple[str, str]] = {
    "megatron.core": ("megatron-core", "the Megatron-Core model and checkpoint format"),
    "mcore_bridge": ("mcore-bridge", "ms-swift's HF <-> Megatron weight bridge"),
    "transformer_engine": ("transformer-engine[pytorch]",
                           "the fused layers megatron-core's bridge builds (CUDA only)"),
}
INSTALL_HINT = ("pip install megatron-core mcore-bridge 'transformer-engine[pytorch]' "
                "(on a Linux machine with a CUDA GPU and a matching CUDA toolkit)")


class MegatronUnavailable(RuntimeError):
    """This machine cannot run the HF → Megatron conversion; the message says why."""


@dataclass
class McoreExport:
    path: Path
    model: str
    seconds: float


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package missing or broken
        return False


def check_environment() -> list[str]:
    """What this machine lacks for ``to_mcore`` (empty list = it can convert)."""
    missing = [f"package {dist} (import {mod}: {why})"
               for mod, (dist, why) in REQUIRED_PACKAGES.items() if not _has_module(mod)]
    try:
        import torch

        if not torch.cuda.is_available():
            missing.append("a CUDA GPU (torch.cuda.is_available() is False)")
    except ImportError:  # pragma: no cover - torch is a dependency
        missing.append("package torch")
    return missing


def environment_report() -> str:
    """One line for notebooks: can this machine convert, and if not, why."""
    missing = check_environment()
    if not missing:
        return "HF → Megatron conversion: available on this machine"
    return "HF → Megatron conversion: not available on this machine; missing " + "; ".join(missing)


def require_environment() -> None:
    """Raise :class:`MegatronUnavailable` naming every missing requirement."""
    missing = check_environment()
    if missing:
        raise MegatronUnavailable(
            "HF → Megatron (to_mcore) cannot run on this machine; missing: "
            + "; ".join(missing) + f". Install: {INSTALL_HINT}; then run "
            "scripts/hf2megatron.sh <model> <output_dir> there (or set to_mcore=False here).")


def export_args(model: str, output_dir: str | Path, torch_dtype: str = "bfloat16",
                test_convert_precision: bool = True) -> dict[str, Any]:
    """ms-swift ``export`` arguments of the original's hf2megatron command."""
    return {"model": str(model), "to_mcore": True, "torch_dtype": torch_dtype,
            "output_dir": str(output_dir), "test_convert_precision": test_convert_precision}


def to_mcore(model: str | Path, output_dir: str | Path, torch_dtype: str = "bfloat16",
             test_convert_precision: bool = True, *, work_dir: str | Path | None = None,
             progress: bool = True) -> McoreExport:
    """Convert a Hugging Face model folder (or hub id) to Megatron-Core format."""
    require_environment()
    local = runs.resolve(model)
    model = str(local) if local.exists() else str(model)
    out = runs.resolve(output_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{runs.display_path(out)} already exists and is not empty; "
                              f"remove it or pick another output folder")
    work = runs.resolve(work_dir) if work_dir is not None else out.parent
    env = {"HF_HUB_OFFLINE": "1"} if local.exists() else {}
    run = swift_run.run_swift("export", export_args(model, out, torch_dtype,
                                                    test_convert_precision),
                              env, work, progress=progress, desc="to mcore",
                              swift_output_dir=out)
    return McoreExport(out, model, run.seconds)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vaselib.vlm.megatron",
                                 description="Convert a Hugging Face Qwen2.5-VL model to "
                                             "Megatron-Core format with ms-swift.")
    ap.add_argument("--model", help="model folder or hub id (e.g. Qwen/Qwen2.5-VL-3B-Instruct)")
    ap.add_argument("--output_dir", help="folder for the Megatron-Core checkpoint")
    ap.add_argument("--torch_dtype", default="bfloat16",
                    choices=("bfloat16", "float16", "float32"))
    ap.add_argument("--no_test_convert_precision", action="store_true",
                    help="skip the HF-vs-Megatron output comparison after converting")
    ap.add_argument("--check", action="store_true",
                    help="only report whether this machine can convert")
    args = ap.parse_args(argv)
    if args.check:
        print(environment_report())
        return 0 if not check_environment() else 1
    if not args.model or not args.output_dir:
        ap.error("--model and --output_dir are required (or use --check)")
    try:
        res = to_mcore(args.model, args.output_dir, args.torch_dtype,
                       not args.no_test_convert_precision)
    except MegatronUnavailable as err:
        print(err, file=sys.stderr)
        return 2
    print(f"Megatron-Core checkpoint written to {runs.display_path(res.path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
