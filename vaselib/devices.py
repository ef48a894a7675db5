"""Choosing the torch device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``."""
from __future__ import annotations

import re

DEVICE_PATTERN = r"^(auto|cpu|cuda|cuda:\d+|mps)$"


class DeviceError(RuntimeError):
    """The asked device does not exist on this machine."""


def resolve_device(device: str = "auto"):
    """A ``torch.device`` for ``device``; a clear error when the asked GPU is missing.

    ``auto`` takes the first CUDA GPU when there is one, else the CPU.  GPU choice also
    follows ``CUDA_VISIBLE_DEVICES`` as usual (``cuda:0`` is the first *visible* GPU).
    """
    import torch

    if not re.match(DEVICE_PATTERN, device or ""):
        raise DeviceError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N")
    if device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise DeviceError("device 'mps' asked but no Apple GPU is available; use "
                              "device='cpu' or 'auto'")
        return torch.device("mps")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device.split(":")[1]) if ":" in device else 0
    if count == 0:
        raise DeviceError(f"device {device!r} asked but no CUDA GPU is visible on this "
                          f"machine; use device='cpu' or 'auto'")
    if index >= count:
        raise DeviceError(f"device {device!r} asked but only {count} CUDA GPU(s) are visible "
                          f"(cuda:0 … cuda:{count - 1}); pick one of them, 'auto' or 'cpu', "
                          f"or check CUDA_VISIBLE_DEVICES")
    return torch.device(f"cuda:{index}")
