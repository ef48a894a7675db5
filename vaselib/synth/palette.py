"""Colours: clay, gloss and added colours per fabric and technique."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


_CLAY = {
    "Athenian": (198, 108, 60), "Corinthian": (226, 196, 146), "Laconian": (206, 150, 98),
    "Boeotian": (210, 160, 112), "Euboean": (205, 140, 95), "Chalcidian": (190, 105, 65),
    "East Greek": (224, 200, 160), "Cycladic": (215, 175, 130), "Apulian": (200, 120, 75),
    "Lucanian": (205, 130, 85), "Campanian": (212, 140, 90), "Paestan": (205, 125, 80),
    "Sicilian": (200, 130, 85), "Etruscan": (185, 115, 75),
}


@dataclass
class _Palette:
    """The colours of one vase (RGB 0–255)."""
    clay: tuple
    gloss: tuple
    purple: tuple = (122, 40, 42)
    white: tuple = (236, 228, 208)
    slip: tuple = (238, 232, 214)
    wash: tuple = (178, 112, 72)
    line: tuple = (45, 34, 28)
    yellow: tuple = (222, 184, 92)


def _jitter(color, rng, amount=8) -> tuple:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)


def _mix(a, b, t: float) -> tuple:
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


def _palette(fabric: str, technique: str, rng) -> _Palette:
    """Clay of the fabric, gloss of the technique (brown paint for early wares)."""
    clay = _jitter(_CLAY.get(fabric, _CLAY["Athenian"]), rng)
    if technique in ("Geometric", "Orientalizing"):
        gloss = _jitter((62, 40, 28), rng, 6)
        clay = _mix(clay, (230, 205, 160), 0.35)
    else:
        gloss = _jitter((26, 22, 20), rng, 4)
    return _Palette(clay=clay, gloss=gloss)
