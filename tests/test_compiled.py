"""torch.compile's graph cache: reused by a later compile only under the same kernels and
thread count, and a reused graph computes with the new model's own weights."""
from __future__ import annotations

import os

import pytest
import torch
from torch import nn
from torch._dynamo.utils import counters

from vaselib import compiled

pytestmark = pytest.mark.slow


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).eval()


def _compile_afresh(model: nn.Module, x: torch.Tensor):
    """Compile as a new process would: nothing of an earlier compile kept in memory."""
    torch._dynamo.reset()
    counters.clear()
    fn, _ = compiled.compile_module(model, x, what="a test net")
    return fn, dict(counters["inductor"])


def test_the_graph_cache_is_reused_only_under_the_same_kernels_and_threads(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    threads = torch.get_num_threads()
    try:
        fn, seen = _compile_afresh(_net(0), x)
        assert seen.get("fxgraph_cache_miss") == 1 and not seen.get("fxgraph_cache_hit")

        other = _net(1)                           # other weights, the same shapes: reused
        fn, seen = _compile_afresh(other, x)
        assert seen.get("fxgraph_cache_hit") == 1 and not seen.get("fxgraph_cache_miss")
        with torch.inference_mode():
            expected = torch.relu(x @ other[0].weight.T + other[0].bias) @ other[2].weight.T \
                + other[2].bias                   # the new weights, by hand
            torch.testing.assert_close(fn(x), expected)

        with monkeypatch.context() as m:          # oneDNN held otherwise: compiled afresh
            held = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
            m.setenv("ONEDNN_MAX_CPU_ISA", "SSE41" if held == "AVX2" else "AVX2")
            _, seen = _compile_afresh(other, x)
            assert seen.get("fxgraph_cache_miss") == 1 and not seen.get("fxgraph_cache_hit")

        torch.set_num_threads(threads + 1)        # another thread count: compiled afresh
        _, seen = _compile_afresh(other, x)
        assert seen.get("fxgraph_cache_miss") == 1 and not seen.get("fxgraph_cache_hit")
    finally:
        torch.set_num_threads(threads)
        torch._dynamo.reset()
