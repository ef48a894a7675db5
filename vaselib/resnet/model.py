"""The image-quality classifier: a torchvision ResNet with the original's two-layer head.

The module keeps the original's layout — the backbone is the attribute ``resnet`` and its
``fc`` is the head ``in → 512 → ReLU → Dropout(0.5) → 256 → ReLU → Dropout(0.3) → 2`` — so
state-dict keys read ``resnet.conv1.weight`` … ``resnet.fc.6.bias`` and a checkpoint written
by the original scripts loads unchanged.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision import models

from vaselib.files import atomic_file

BACKBONE_FEATURES = {"resnet18": 512, "resnet34": 512, "resnet50": 2048}
IMAGENET_WEIGHTS = {
    "resnet18": models.ResNet18_Weights.IMAGENET1K_V1,
    "resnet34": models.ResNet34_Weights.IMAGENET1K_V1,
    "resnet50": models.ResNet50_Weights.IMAGENET1K_V1,
}
CLASS_NAMES = ("low_quality", "high_quality")


def quality_head(in_features: int, num_classes: int = 2) -> nn.Sequential:
    """The original's classification head."""
    return nn.Sequential(
        nn.Linear(in_features, 512), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(512, 256), nn.ReLU(inplace=True), nn.Dropout(0.3),
        nn.Linear(256, num_classes),
    )


class QualityClassifier(nn.Module):
    """ResNet backbone + quality head; ``forward`` returns logits of (low, high)."""

    def __init__(self, arch: str = "resnet50", num_classes: int = 2):
        super().__init__()
        if arch not in BACKBONE_FEATURES:
            raise ValueError(f"arch {arch!r} is not one of {', '.join(BACKBONE_FEATURES)}")
        self.arch = arch
        self.resnet = getattr(models, arch)(weights=None)
        self.resnet.fc = quality_head(BACKBONE_FEATURES[arch], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resnet(x)


def load_imagenet_backbone(model: QualityClassifier, weights_path: str | Path | None = None) -> str:
    """Put ImageNet weights into the backbone (not the head); returns where they came from.

    ``weights_path`` is a local torchvision state dict; without it torchvision's cache is
    used, which needs the weights downloaded beforehand (no download is attempted offline).
    """
    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(f"ImageNet weights file {path} does not exist; pass a "
                                    f"torchvision state dict or set pretrained=False")
        state = torch.load(path, map_location="cpu", weights_only=True)
        source = str(path.name)
    else:
        weights = IMAGENET_WEIGHTS[model.arch]
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        if not cached.is_file():
            raise FileNotFoundError(
                f"ImageNet weights for {model.arch} are not cached ({cached.name} not in the "
                f"torch hub cache) and nothing is downloaded here; pass weights_path=<file> "
                f"or set pretrained=False")
        state = torch.load(cached, map_location="cpu", weights_only=True)
        source = f"torchvision {weights}"
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = model.resnet.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("fc.") for k in missing):
        raise ValueError(f"ImageNet weights from {source} do not fit {model.arch}: missing "
                         f"{missing[:3]}, unexpected {unexpected[:3]}")
    return source


def infer_arch(state_dict: dict[str, Any]) -> str:
    """Guess the backbone from a state dict (the original's checkpoints store no arch)."""
    w = state_dict.get("resnet.fc.0.weight")
    if w is None:
        raise ValueError("not a quality-classifier state dict: no 'resnet.fc.0.weight' key")
    if w.shape[1] == 2048:
        return "resnet50"
    has_layer3_block5 = any(k.startswith("resnet.layer3.5.") for k in state_dict)
    return "resnet34" if has_layer3_block5 else "resnet18"


def save_checkpoint(path: str | Path, model: QualityClassifier, optimizer, epoch: int,
                    val_acc: float, **extra: Any) -> Path:
    """Write the original's checkpoint dict (plus vaselib's extra keys, ignored by it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = {"epoch": epoch, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict() if optimizer else {},
            "val_acc": float(val_acc), "arch": model.arch, **extra}
    with atomic_file(path) as tmp:
        torch.save(ckpt, tmp)
    return path


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu"):
    """Load a checkpoint of vaselib or of the original scripts.

    Returns ``(model, checkpoint_dict)``; the model is in eval mode on ``device``.  A bare
    state dict (no wrapper) is accepted too.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train one with stage "
                                f"01_resnet_train or pass model_path=<file>")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise ValueError(f"checkpoint {path} cannot be read ({type(err).__name__}: {err})") from None
    if isinstance(ckpt, dict) and "model_state_dict" in ckpt:
        state = ckpt["model_state_dict"]
    elif isinstance(ckpt, dict) and any(k.startswith("resnet.") for k in ckpt):
        state, ckpt = ckpt, {"model_state_dict": ckpt}
    else:
        raise ValueError(f"checkpoint {path} is neither a quality-classifier checkpoint nor "
                         f"a state dict with 'resnet.' keys")
    arch = ckpt.get("arch") or infer_arch(state)
    model = QualityClassifier(arch)
    model.load_state_dict(state)
    model.to(device).eval()
    return model, ckpt
