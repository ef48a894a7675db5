"""Reduced-precision inference where the CPU (or GPU) has it, and what ran.

``precision`` (a parameter of stages 02–04):

- ``fp32`` (default): full precision, the reference;
- ``bf16``: bfloat16 autocast — fast on GPUs and on CPUs with AMX or AVX-512-BF16, slow
  elsewhere (emulated);
- ``int8``: dynamic int8 quantisation of the linear layers (CPU only; the CLIP towers are
  mostly linear layers, a ResNet mostly convolutions, so it helps CLIP, not ResNet);
- ``auto``: a reduced path only where it was measured to keep at least 99.5 % of the
  accept/reject decisions of ``fp32`` and to run faster (``benchmarks/bench_filtering.py``
  reports the largest score change and the share of decisions that agree at the threshold
  for every path). bf16 alone kept 98.8 % of a random-weight ViT-B/32's decisions on an AMX
  CPU and int8 87.8 %, so neither qualifies alone; stages 03/04 re-check in fp32 what lies
  near their decisions (:mod:`vaselib.clip.recheck`), and there bf16 kept 100 % at
  1.25–1.35× fp32's speed. So ``auto`` is bf16 in stages 03/04 on CPUs with AMX /
  AVX-512-BF16 (with ``fp32_recheck`` on, and torch's kernels not held below them, see
  :func:`native_bf16`), fp32 everywhere else, and says why.

Reports record the precision that ran and why.
"""
from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Any

PRECISIONS = ("fp32", "bf16", "int8", "auto")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})   # /proc/cpuinfo: bfloat16 in hardware


def forced_kernels() -> dict[str, str]:
    """The kernel limits set in the environment, which can keep torch off instructions the
    CPU has: ``ATEN_CPU_CAPABILITY`` (PyTorch's own kernels), ``ONEDNN_MAX_CPU_ISA``
    (oneDNN: convolutions, bfloat16 matmuls) and ``MKL_ENABLE_INSTRUCTIONS`` (MKL: fp32
    matmuls and linear layers, which the other two leave at the CPU's best)."""
    names = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")
    return {n: os.environ[n] for n in names if os.environ.get(n, "").strip()}


def native_bf16() -> bool:
    """True when this CPU computes bfloat16 in hardware (AMX or AVX-512-BF16) and torch is
    allowed to use it: ``ONEDNN_MAX_CPU_ISA`` below the BF16 / AMX levels, or
    ``ATEN_CPU_CAPABILITY`` below AVX-512, makes bfloat16 emulated (slow) here."""
    if not cpu_flags() & BF16_FLAGS:
        return False
    forced = {k: v.strip().upper() for k, v in forced_kernels().items()}
    isa = forced.get("ONEDNN_MAX_CPU_ISA", "ALL")
    if isa not in ("ALL", "DEFAULT") and "BF16" not in isa and "AMX" not in isa:
        return False
    return forced.get("ATEN_CPU_CAPABILITY", "AVX512").startswith("AVX512")


def resolve(requested: str, device, rechecked: bool = False) -> tuple[str, str]:
    """``(precision that will run, why)`` for ``requested`` on ``device``.

    ``rechecked``: the caller re-scores in fp32 what lies near its decisions (stages 03/04,
    :mod:`vaselib.clip.recheck`), which is what lets ``auto`` take bf16."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {requested!r}")
    kind = getattr(device, "type", str(device))
    if requested == "auto":
        if kind == "cuda":
            return "fp32", ("auto: bf16 is not measured on GPUs against the 99.5 % decision "
                            "agreement auto needs; full precision (ask for bf16 by name)")
        if native_bf16() and rechecked:
            return "bf16", ("auto: this CPU has AMX / AVX-512-BF16; bf16 with the fp32 "
                            "re-check near the decisions kept 100 % of fp32's decisions at "
                            "1.25-1.35x its speed when measured (ViT-B/32)")
        if native_bf16():
            return "fp32", ("auto: this CPU has AMX / AVX-512-BF16, but bf16 alone kept "
                            "98.8 % of fp32's decisions when measured (auto needs 99.5 %) "
                            "and this stage has no fp32 re-check; full precision (ask for "
                            "bf16 by name)")
        if cpu_flags() & BF16_FLAGS:
            held = ", ".join(f"{k}={v}" for k, v in forced_kernels().items()
                             if k != "MKL_ENABLE_INSTRUCTIONS")
            return "fp32", (f"auto: torch's kernels are held below this CPU's bfloat16 "
                            f"({held}), where bf16 is emulated: full precision")
        return "fp32", "auto: this CPU has no native bfloat16 (AVX2): full precision"
    if requested == "int8" and kind != "cpu":
        raise ValueError("precision int8 (dynamic quantisation) runs on the CPU only; use "
                         "bf16 on a GPU")
    return requested, "asked for"


def quantisable_linears(model) -> set[str]:
    """Names of the ``nn.Linear`` layers of ``model`` that are called as modules.

    A module that reads its child's ``weight`` / ``bias`` tensors itself (open_clip's
    ``AttentionPool2d``, ending its modified ResNets, hands ``q_proj.bias`` to
    ``multi_head_attention_forward``) would fail on a quantised child, whose ``bias`` is a
    method: such layers stay fp32."""
    import torch

    reads_weights = ("AttentionPool2d",)
    names = set()
    for parent_name, parent in model.named_modules():
        if type(parent).__name__ in reads_weights:
            continue
        for child_name, child in parent.named_children():
            if type(child) is torch.nn.Linear:
                names.add(f"{parent_name}.{child_name}" if parent_name else child_name)
    return names


def prepare(model, precision: str):
    """The module to run for ``precision`` (int8: a dynamically quantised copy)."""
    if precision != "int8":
        return model
    import torch

    return torch.ao.quantization.quantize_dynamic(model, quantisable_linears(model),
                                                  dtype=torch.qint8)


def autocast(precision: str, device) -> Any:
    """The autocast context for ``precision`` (a no-op for fp32 and int8)."""
    if precision != "bf16":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=getattr(device, "type", str(device)),
                          dtype=torch.bfloat16)
