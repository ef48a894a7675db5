"""ONNX Runtime for the scoring stages' models (``runtime: onnxruntime``, CPU, fp32).

A model's forward pass is exported once to ONNX (TorchScript exporter, the batch dimension
dynamic) and cached under ``<data>/cache/onnx`` by a key the caller derives from the
weights, with the versions of the code that defines the model, so later runs only load it;
ONNX Runtime's CPU kernels (MLAS) then run it.  On a 2-core Xeon they ran ViT-B/32 at ~1.2×
and ResNet50 at ~2× torch's eager fp32 speed (``benchmarks/bench_filtering.py``).  Outputs
differ from torch's by fp32 rounding (~1e-6 on CLIP embeddings), so callers cache what they
compute apart from torch's.

The session uses torch's thread count, and its threads sleep between calls instead of
spinning: on batches of 64 that cost nothing measurable, and it leaves the cores to the
decoding and to other processes (with ``OMP_WAIT_POLICY=ACTIVE`` torch's own idle threads
spin and halve ONNX Runtime's speed: leave it unset or PASSIVE).
"""
from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from vaselib.versions import code_versions

OPSET = 17
_KEEP = 4
_SESSIONS: "OrderedDict[tuple, OrtModel]" = OrderedDict()


class OnnxRuntimeError(RuntimeError):
    """The model could not be exported to or run by ONNX Runtime, with what to do."""


def require(device) -> None:
    """ONNX Runtime runs here on the CPU only: refuse another device before work starts."""
    kind = getattr(device, "type", str(device))
    if kind != "cpu":
        raise OnnxRuntimeError(
            f"runtime: onnxruntime runs on the CPU, but the stage's device is {kind}: set "
            f"device: cpu, or runtime: torch on a GPU")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise OnnxRuntimeError("runtime: onnxruntime needs the onnxruntime package (part of "
                               "vaselib's dependencies: `make install`), or set runtime: "
                               "torch") from None


class OrtModel:
    """A loaded ONNX Runtime session with torch in and out: ``model(x) -> tensor``."""

    def __init__(self, path: Path, seconds: float, exported: bool):
        import onnxruntime as ort

        self.path, self.exported = path, exported
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, torch.get_num_threads())
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        start = time.perf_counter()
        try:
            self.session = ort.InferenceSession(str(path), so,
                                                providers=["CPUExecutionProvider"])
        except Exception as err:
            raise OnnxRuntimeError(
                f"ONNX Runtime cannot load {path} ({type(err).__name__}: "
                f"{str(err)[:200]}): delete that cached file to export it again, or set "
                f"runtime: torch") from None
        self.seconds = seconds + time.perf_counter() - start   # export (if any) + load
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        arr = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(self.session.run(None, {self.input: arr})[0])


def cache_path(key: str, example: torch.Tensor, module: torch.nn.Module) -> Path:
    """Where the export of ``module`` (weights named by ``key``) for inputs shaped like
    ``example`` lives; another version of the code that defines it is exported apart."""
    from vaselib import runs

    blob = json.dumps({"model": key, "input": list(example.shape[1:]), "opset": OPSET,
                       "code": code_versions(module)}, sort_keys=True)
    return runs.cache_dir("onnx") / f"{hashlib.sha256(blob.encode()).hexdigest()[:32]}.onnx"


def export(module: torch.nn.Module, example: torch.Tensor, path: Path, what: str) -> None:
    """Export ``module`` (one tensor in, one out) to ``path`` atomically, batch dynamic."""
    from vaselib.files import atomic_file

    module = module.eval()
    try:
        # with grad enabled: nn.MultiheadAttention's inference fast path (no ONNX export)
        # is taken only without it
        with atomic_file(path) as tmp, torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example.detach().clone(),), str(tmp),
                              input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                              opset_version=OPSET, dynamo=False)
    except Exception as err:
        first = (str(err).splitlines() or [""])[0][:300]
        raise OnnxRuntimeError(
            f"runtime: onnxruntime could not export {what} to ONNX ({type(err).__name__}: "
            f"{first}); set runtime: torch") from None


def load(module: torch.nn.Module, example: torch.Tensor, key: str, *, what: str
         ) -> OrtModel:
    """``module`` as an :class:`OrtModel`, exported to the cache first if not there.

    ``key`` names the model's weights (callers derive it from a hash of them); the versions
    of the packages that define its layers are part of the cache key too.  A session is
    kept per export for the life of the process."""
    path = cache_path(key, example, module)
    mkey = (str(path), torch.get_num_threads())
    if mkey in _SESSIONS:
        _SESSIONS.move_to_end(mkey)
        return _SESSIONS[mkey]
    start = time.perf_counter()
    exported = not path.is_file()
    if exported:
        export(module, example, path, what)
    model = OrtModel(path, time.perf_counter() - start, exported)
    _SESSIONS[mkey] = model
    while len(_SESSIONS) > _KEEP:
        _SESSIONS.popitem(last=False)
    return model

