"""The versions of the code that computes a model's outputs, for cache keys.

A cache of what a model computed (its embeddings, its ONNX export) is keyed by its weights
and by these versions, so an upgraded library computes afresh instead of serving what the
old code produced.
"""
from __future__ import annotations

import sys

import torch


def code_versions(module: torch.nn.Module) -> dict[str, str]:
    """The versions of the packages whose code defines ``module``'s layers (transformers,
    open_clip, torchvision, vaselib, …) and of torch, which runs and exports them, by
    top-level module name."""
    found = {}
    tops = {type(m).__module__.split(".")[0] for m in module.modules()} | {"torch"}
    for top in sorted(tops):
        version = getattr(sys.modules.get(top), "__version__", None)
        if version is not None:
            found[top] = str(version)
    return found
