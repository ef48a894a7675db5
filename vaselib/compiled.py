"""``torch.compile`` for the scoring stages' models: compiled before any image is read.

The model is compiled for one batch shape (``dynamic=False``) and warmed up on zeros of
that shape, so that a machine without inductor's toolchain (a C++ compiler on the CPU,
Triton on a GPU) fails with a clear error before work starts; smaller batches are padded
to that shape so the compiled code never meets a new one.

Inductor's FX graph cache is on, with a tag that adds to its key what the key misses: the
kernels this process may use (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``,
``MKL_ENABLE_INSTRUCTIONS``, the CPU's flags) and torch's thread count.  Without it a graph
cached by a run on an AVX-512 machine, loaded again with ``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2``, returned garbage (ResNet50: outputs of 1e36).  The first
process compiles (19–26 s for ViT-B/32, 10–16 s for ResNet50 here); later ones with the
same model shape and kernels load the cached graph (ResNet50: 12 -> 5.5 s).  Weights are
inputs of the cached graph, not part of it: a model with other weights hits the same entry
and computes with its own.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, Callable

import torch


class CompileError(RuntimeError):
    """torch.compile could not compile the model on this machine."""


def compile_module(module: torch.nn.Module, example: torch.Tensor, *, what: str,
                   context: Callable[[], Any] | None = None) -> tuple[Callable, float]:
    """``(compiled module, seconds the compile took)``, compiled for ``example``'s shape.

    ``context`` (say, an autocast) is entered around the warm-up as it will be around the
    calls."""
    import contextlib

    tag = cache_tag()
    graph = torch.compile(module, dynamic=False, options={"fx_graph_cache": True})

    def fn(*args):
        # every call, so that a recompile (a guard that fails) is keyed by the tag too
        with torch.compiler.config.patch(cache_key_tag=tag):
            return graph(*args)

    start = time.perf_counter()
    try:
        with torch.inference_mode(), (context() if context else contextlib.nullcontext()):
            fn(example)
    except Exception as err:  # inductor needs a working toolchain
        first = (str(err).splitlines() or [""])[0][:300]
        raise CompileError(
            f"torch_compile: torch.compile could not compile {what} ({type(err).__name__}: "
            f"{first}); it needs a C++ compiler on the CPU (gcc) or Triton on a GPU — set "
            f"torch_compile: false to run eagerly") from None
    return fn, time.perf_counter() - start


def cache_tag() -> str:
    """What inductor's graph cache key must hold besides its own: the kernels this process
    may use and torch's thread count (the module docstring)."""
    from vaselib.precision import cpu_flags, forced_kernels

    held = dict(forced_kernels())
    if os.environ.get("DNNL_MAX_CPU_ISA", "").strip():       # oneDNN's older name
        held["DNNL_MAX_CPU_ISA"] = os.environ["DNNL_MAX_CPU_ISA"]
    blob = json.dumps({"aten": torch.backends.cpu.get_cpu_capability(), "held": held,
                       "cpu": sorted(cpu_flags()), "threads": torch.get_num_threads()},
                      sort_keys=True)
    return "vaselib-kernels-" + hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_padded(fn: Callable, batch: torch.Tensor, size: int,
               post: Callable[[Any], torch.Tensor] = lambda out: out) -> torch.Tensor:
    """``post(fn(chunk))`` over ``batch`` in chunks of exactly ``size`` rows (the last one
    zero-padded and its padding dropped), concatenated."""
    outs = []
    for i in range(0, batch.shape[0], size):
        chunk = batch[i:i + size]
        k = chunk.shape[0]
        if k < size:
            channels_last = chunk.dim() == 4 and not chunk.is_contiguous() and \
                chunk.is_contiguous(memory_format=torch.channels_last)
            chunk = torch.cat([chunk, chunk.new_zeros((size - k, *chunk.shape[1:]))])
            if channels_last:        # the layout the model was compiled for
                chunk = chunk.contiguous(memory_format=torch.channels_last)
        outs.append(post(fn(chunk))[:k])
    return torch.cat(outs)
