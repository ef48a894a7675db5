"""Helpers for the VLM tests (imported explicitly: ``from conftest_vlm import ...``)."""
from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from vaselib import vocabulary as v


def caption(rng: random.Random) -> str:
    """A caption in the VaseVQA-3D style from the vocabulary."""
    return (f"{rng.choice(list(v.FABRICS))} {rng.choice(list(v.TECHNIQUES))} "
            f"{rng.choice(list(v.SHAPES))}, c. 525–475 BCE, depicting {rng.choice(v.SUBJECTS)}; "
            f"{rng.choice(v.FIND_SPOTS)}.")


def write_best_views(root: Path, n: int = 8, size: int = 56, seed: int = 0
                     ) -> tuple[Path, dict[str, str]]:
    """A best_views/ folder of ``<UUID>_1_ac001001.jpg`` images and their captions."""
    rng = random.Random(seed)
    arr_rng = np.random.default_rng(seed)
    folder = root / "best_views"
    folder.mkdir(parents=True, exist_ok=True)
    captions = {}
    for i in range(n):
        vid = str(uuid.UUID(int=rng.getrandbits(128)))
        arr = arr_rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{vid}_1_ac001001.jpg")
        captions[vid] = caption(rng)
    return folder, captions


def write_captions(path: Path, captions: dict[str, str]) -> Path:
    path.write_text(json.dumps(captions, ensure_ascii=False), encoding="utf-8")
    return path
