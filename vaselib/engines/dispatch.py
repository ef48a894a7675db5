"""Run the scoring stages' expensive step on the engine their parameters ask for."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from vaselib.engines import engine_of, require


def embed_files(backend, paths: Sequence[str | Path], *, params: Any = None, **kw):
    """:func:`vaselib.clip.embeddings.embed_files` on the engine ``params`` asks for.

    ``params`` are the stage's parameters (their ``engine``, ``ray_address`` and, for Ray,
    what the workers need to load the same model: ``backend``, ``model``, ``pretrained``,
    ``device``, ``seed``); ``None`` means local.  The keywords are ``embed_files``'s.
    """
    engine, address = engine_of(params)
    if engine == "local":
        from vaselib.clip import embeddings

        return embeddings.embed_files(backend, paths, **kw)
    require(params)
    from vaselib.engines import ray_data

    spec = ray_data.ClipSpec.of(params, backend)
    return ray_data.embed_files(backend, paths, spec=spec, address=address, **kw)


def predict_files(model, paths: Sequence[str | Path], image_size: int, device, batch_size: int = 32,
                  num_workers: int = 0, progress: bool = False, interpolation: str = "bilinear",
                  *, params: Any = None, model_path: str | Path | None = None, **kw):
    """:func:`vaselib.resnet.predict.predict_files` on the engine ``params`` asks for.

    With Ray the workers load the checkpoint ``model_path`` themselves (``model`` stays in
    this process); the result is the same ``({index: (p_low, p_high)}, {index: reason})``.
    """
    engine, address = engine_of(params)
    if engine == "local":
        from vaselib.resnet import predict

        return predict.predict_files(model, paths, image_size, device, batch_size,
                                      num_workers, progress, interpolation, **kw)
    require(params)
    if model_path is None:
        raise ValueError("engine ray needs model_path: the workers load the checkpoint")
    from vaselib.engines import ray_data

    spec = ray_data.ResnetSpec.of(params, model_path, kw.pop("precision", "fp32"),
                                  batch_size if kw.pop("torch_compile", False) else 0,
                                  kw.pop("runtime", "torch"))
    kw.pop("model_key", None)        # the workers key the ONNX export by the spec's sha256,
    #                                  the same checkpoint_sha256
    return ray_data.predict_files(paths, image_size, interpolation, spec=spec, address=address,
                                  batch_size=batch_size, progress=progress, **kw)
