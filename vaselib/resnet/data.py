"""Labelled image folders, the train/val/test split and the two transform pipelines.

Each split is its own dataset object with its own transform, so the augmentation reaches
the training split only (the original assigned transforms to one shared dataset, and the
evaluation transform silently replaced the augmentation for all three splits).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from sklearn.model_selection import train_test_split
from torchvision import transforms as T

from vaselib.images import ImageFileDataset, discover_images

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


INTERPOLATIONS = {"bilinear": T.InterpolationMode.BILINEAR,
                  "nearest": T.InterpolationMode.NEAREST}


def _resize(image_size: int, interpolation: str) -> T.Resize:
    return T.Resize((image_size, image_size), interpolation=INTERPOLATIONS[interpolation])


def eval_transform(image_size: int = 224, interpolation: str = "bilinear") -> T.Compose:
    """Resize and normalise: what validation, test and prediction see.

    ``bilinear`` is the original's resize.  ``nearest`` keeps pixel-level evidence of
    quality (noise, JPEG blocks, blockiness) when images are shrunk far below their size,
    which a smoothing resize erases; the checkpoint records which one was trained.
    """
    return T.Compose([_resize(image_size, interpolation), T.ToTensor(),
                      T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def train_transform(image_size: int = 224, augment: bool = True,
                    interpolation: str = "bilinear") -> T.Compose:
    """The original's augmentation: flip (p 0.5), rotation ±10°, colour jitter."""
    if not augment:
        return eval_transform(image_size, interpolation)
    return T.Compose([
        _resize(image_size, interpolation),
        T.RandomHorizontalFlip(p=0.5),
        T.RandomRotation(10),
        T.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1),
        T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


class LabelledImages(ImageFileDataset):
    """Image files with labels; item ``i`` is ``(tensor|None, i, error)`` like its parent."""

    def __init__(self, paths: Sequence[Path], labels: Sequence[int], transform):
        super().__init__(paths, transform)
        self.labels = list(labels)


def list_labelled(data_dir: str | Path) -> tuple[list[Path], list[int]]:
    """Files of ``data_dir/0`` (label 0) and ``data_dir/1`` (label 1), recursively."""
    data_dir = Path(data_dir)
    missing = [d for d in ("0", "1") if not (data_dir / d).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"{data_dir} must hold sub-folders 0/ (low quality) and 1/ (high quality); "
            f"missing: {', '.join(m + '/' for m in missing)}")
    paths, labels = [], []
    for label in (0, 1):
        found = discover_images(data_dir / str(label))
        paths += found
        labels += [label] * len(found)
    for label in (0, 1):
        if labels.count(label) < 2:
            raise ValueError(f"{data_dir / str(label)} holds {labels.count(label)} images; "
                             f"each class needs at least a few to split into train/val/test")
    return paths, labels


@dataclass
class Split:
    train: list[int]
    val: list[int]
    test: list[int]


def split_indices(labels: Sequence[int], val_fraction: float = 0.1,
                  test_fraction: float = 0.1, seed: int = 42) -> Split:
    """A stratified, seeded train/val/test split of indices (80/10/10 by default)."""
    idx = list(range(len(labels)))
    holdout = val_fraction + test_fraction
    train, rest = train_test_split(idx, test_size=holdout, random_state=seed,
                                   stratify=labels)
    rest_labels = [labels[i] for i in rest]
    val, test = train_test_split(rest, test_size=test_fraction / holdout, random_state=seed,
                                 stratify=rest_labels)
    return Split(sorted(train), sorted(val), sorted(test))


def make_datasets(paths: Sequence[Path], labels: Sequence[int], split: Split,
                  image_size: int, augment: bool,
                  interpolation: str = "bilinear") -> dict[str, LabelledImages]:
    """One dataset per split; only ``train`` carries the augmentation."""
    def subset(ids, transform):
        return LabelledImages([paths[i] for i in ids], [labels[i] for i in ids], transform)

    return {
        "train": subset(split.train, train_transform(image_size, augment, interpolation)),
        "val": subset(split.val, eval_transform(image_size, interpolation)),
        "test": subset(split.test, eval_transform(image_size, interpolation)),
    }
