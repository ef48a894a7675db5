"""Where the scoring stages (02, 03, 04) run their expensive step: this process, or Ray Data.

Only one step changes with the engine: encoding images
(:func:`vaselib.engines.dispatch.embed_files`, stages 03 and 04) and classifying them
(:func:`vaselib.engines.dispatch.predict_files`, stage 02).  Everything after it —
thresholding, grouping, placing files into the staging folder, counting them against the
inputs, the reports — is the stages' own shared code, so both engines write the same
outputs and the same reports.

- ``engine: local`` (the default) calls :func:`vaselib.clip.embeddings.embed_files` and
  :func:`vaselib.resnet.predict.predict_files` as they are.
- ``engine: ray`` runs :mod:`vaselib.engines.ray_data` on a Ray cluster: ``ray_address:
  None`` starts a local one, ``"auto"`` joins the cluster that ``ray start`` started on this
  machine, or give the head's address (``ray://host:10001`` or ``host:6379``).

This module imports neither torch nor Ray nor any other part of vaselib but the registry,
so the parameter schemas can use its names; the dispatch lives in :mod:`.dispatch`.
"""
from __future__ import annotations

import importlib.util
from typing import Any

from vaselib.stages import ParameterError

__all__ = ["ENGINES", "EngineUnavailable", "require", "engine_of", "ENGINE_HELP",
           "RAY_ADDRESS_HELP", "INSTALL_HINT"]

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
