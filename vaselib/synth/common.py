"""Constants of the synthetic corpus and the random helpers every part shares."""
from __future__ import annotations

import random
import re

import numpy as np

DEFAULT_SEED = 0
FORMAT_VERSION = 2  # 2: lowres and jpeg strong enough to see at the demo's 96 px
VIEW_KINDS = ("front", "three_quarter", "side", "back", "top", "bottom")
GOOD_VIEW_KINDS = ("front", "three_quarter", "side", "back")
DEGRADATIONS = ("blur", "noise", "lowres", "jpeg", "sketch", "shard", "exposure")
CONDITIONS = ("intact", "fragment")
FILE_NAME_RE = re.compile(r"^([0-9a-f-]{36})_(\d+)_ac001001\.jpg$")
GOOD_JPEG_QUALITY = 92
RAW_FOLDERS = ("batch_01", "batch_02", "batch_03/scans")
# The ground truth of a vase, in caption order (the six reward dimensions + provenance).
ATTRIBUTE_KEYS = ("fabric", "technique", "shape", "date", "decoration", "attribution",
                  "provenance")



def _np_rng(rng) -> np.random.Generator:
    """A numpy Generator from a Generator, a ``random.Random``, an int seed or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, random.Random):
        return np.random.default_rng(rng.getrandbits(64))
    return np.random.default_rng(rng)


def _pick(rng: np.random.Generator, options, weights=None):
    """One element of ``options`` (optionally weighted)."""
    options = list(options)
    if weights is None:
        return options[int(rng.integers(len(options)))]
    w = np.asarray(weights, float)
    return options[int(rng.choice(len(options), p=w / w.sum()))]
