"""``torch.compile`` for the scoring stages' models: compiled before any image is read.

The model is compiled for one batch shape (``dynamic=False``) and warmed up on zeros of
that shape, so that a machine without inductor's toolchain (a C++ compiler on the CPU,
Triton on a GPU) fails with a clear error before work starts; smaller batches are padded
to that shape so the compiled code never meets a new one.

Inductor's FX graph cache is bypassed: its key misses the CPU kernels in force, and a graph
cached by a run on this AVX-512 machine, loaded again with ``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2``, returned NaN.  So every process compiles (19–26 s for ViT-B/32,
10–16 s for ResNet50 here); the compiled kernels themselves are still cached on disk by
their source.
"""
from __future__ import annotations

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

    fn = torch.compile(module, dynamic=False, options={"fx_graph_cache": False})
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
