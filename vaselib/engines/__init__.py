"""Where the scoring stages (02, 03, 04) run their expensive step: this process, or Ray Data.

Only one step changes with the engine: encoding images (:func:`embed_files`, stages 03 and
04) and classifying them (:func:`predict_files`, stage 02).  Everything after it —
thresholding, grouping, placing files into the staging folder, counting them against the
inputs, the reports — is the stages' own shared code, so both engines write the same
outputs and the same reports.

- ``engine: local`` (the default) calls :func:`vaselib.clip.embeddings.embed_files` and
  :func:`vaselib.resnet.classify.predict_files` as they are.
- ``engine: ray`` runs :mod:`vaselib.engines.ray_data` on a Ray cluster: ``ray_address:
  None`` starts a local one, ``"auto"`` joins the cluster that ``ray start`` started on this
  machine, or give the head's address (``ray://host:10001`` or ``host:6379``).

This module imports neither torch nor Ray, so the parameter schemas can use its names.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Sequence

from vaselib.stages import ParameterError

__all__ = ["ENGINES", "EngineUnavailable", "require", "engine_of", "embed_files",
           "predict_files", "ENGINE_HELP", "RAY_ADDRESS_HELP", "INSTALL_HINT"]

ENGINES = ("local", "ray")
INSTALL_HINT = "pip install -e .[ray]"
ENGINE_HELP = ("where images are decoded and scored: local (this process) or ray (Ray Data "
               "tasks and an actor pool holding the model; same outputs and report)")
RAY_ADDRESS_HELP = ("with engine ray: None starts a local Ray cluster; 'auto' joins the one "
                    "`ray start` runs here; or the head's address (host:6379, ray://host:10001)")


class EngineUnavailable(ParameterError):
    """``engine: ray`` was asked for where Ray (or Ray Data) is not installed."""


def engine_of(params: Any) -> tuple[str, str | None]:
    """``(engine, ray_address)`` of a stage's parameters (``local`` when it has none)."""
    if params is None:
        return "local", None
    return getattr(params, "engine", "local") or "local", getattr(params, "ray_address", None)


def require(params: Any) -> None:
    """Check, before any work, that the engine the parameters ask for can run here."""
    engine, _ = engine_of(params)
    if engine not in ENGINES:
        raise ParameterError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "ray":
        missing = [m for m in ("ray", "ray.data", "pyarrow") if not _importable(m)]
        if missing:
            raise EngineUnavailable(
                f"engine: ray needs Ray Data, which is not installed here ({', '.join(missing)} "
                f"cannot be imported): run `{INSTALL_HINT}` (the optional extra 'ray'), or use "
                f"engine: local")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):      # a parent package missing
        return False


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
    """:func:`vaselib.resnet.classify.predict_files` on the engine ``params`` asks for.

    With Ray the workers load the checkpoint ``model_path`` themselves (``model`` stays in
    this process); the result is the same ``({index: (p_low, p_high)}, {index: reason})``.
    """
    engine, address = engine_of(params)
    if engine == "local":
        from vaselib.resnet import classify

        return classify.predict_files(model, paths, image_size, device, batch_size,
                                      num_workers, progress, interpolation, **kw)
    require(params)
    if model_path is None:
        raise ValueError("engine ray needs model_path: the workers load the checkpoint")
    from vaselib.engines import ray_data

    spec = ray_data.ResnetSpec.of(params, model_path, kw.pop("precision", "fp32"))
    return ray_data.predict_files(paths, image_size, interpolation, spec=spec, address=address,
                                  batch_size=batch_size, progress=progress, **kw)
