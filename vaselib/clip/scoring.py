"""The CLIP quality score, thresholds and the score analysis (vectorised numpy).

score(image) = cos(image, H) − cos(image, L), where H (L) is the prompt embedding of the
high (low) prompts: the original's formula averages the *raw* text features of the prompts
and normalises the mean (``average="original"``, the default).  ``average="normalised"``
normalises each prompt's features before averaging instead (gives other scores: up to
2e-3 apart on a random CLIP); reports record which ran.  An image is accepted when
score ≥ threshold.  The widget, the stage and the tests all use these same functions, so
what one explores interactively is exactly what a headless run files.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PERCENTILES = (10, 25, 50, 75, 90)
# "keep X %" → the percentile whose value keeps X % of the images (score >= value).
KEEP_SUGGESTIONS = {"keep_90": 10, "keep_75": 25, "keep_50": 50, "keep_25": 75, "keep_10": 90}
PROMPT_AVERAGES = ("original", "normalised")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / max(float(np.linalg.norm(x)), 1e-12)


def prompt_embedding(text_features: np.ndarray, average: str = "original") -> np.ndarray:
    """The unit prompt embedding of a set of prompts from their raw text features.

    ``original``: normalise(mean(raw features)), the original's formula; ``normalised``:
    normalise(mean(normalise(each))).
    """
    f = np.asarray(text_features, dtype=np.float64)
    if average == "normalised":
        f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    elif average != "original":
        raise ValueError(f"average must be one of {PROMPT_AVERAGES}, not {average!r}")
    return _unit(f.mean(axis=0)).astype(np.float32)


def encode_prompts(backend, prompts: list[str], average: str = "original") -> np.ndarray:
    """The unit prompt embedding of ``prompts`` with ``backend`` (see :func:`prompt_embedding`)."""
    return prompt_embedding(backend.text_features(list(prompts)), average)


@dataclass
class Scores:
    score: np.ndarray        # float32 [n]: sim_high − sim_low
    sim_high: np.ndarray
    sim_low: np.ndarray


def clip_scores(image_embeddings: np.ndarray, high: np.ndarray, low: np.ndarray) -> Scores:
    """Similarities to the high and low prompt embeddings, and their difference."""
    e = np.asarray(image_embeddings, dtype=np.float32)
    sh = e @ np.asarray(high, dtype=np.float32)
    sl = e @ np.asarray(low, dtype=np.float32)
    return Scores(sh - sl, sh, sl)


def apply_threshold(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean mask of accepted images: score ≥ threshold."""
    return np.asarray(scores) >= threshold


def sample_indices(n: int, sample_size: int, seed: int) -> np.ndarray:
    """A seeded sample of ``min(n, sample_size)`` indices, sorted."""
    if sample_size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False))


def analyse(scores: np.ndarray, bins: int = 40) -> dict:
    """Mean, std, min, max, median, percentiles, keep-X % thresholds and a histogram."""
    s = np.asarray(scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        raise ValueError("no scores to analyse: no image could be scored")
    pct = np.percentile(s, PERCENTILES)
    counts, edges = np.histogram(s, bins=bins)
    return {
        "n": int(s.size),
        "mean": float(s.mean()), "std": float(s.std()),
        "min": float(s.min()), "max": float(s.max()), "median": float(np.median(s)),
        "percentiles": {f"p{p}": float(v) for p, v in zip(PERCENTILES, pct)},
        "suggested_thresholds": {k: float(np.percentile(s, p))
                                 for k, p in KEEP_SUGGESTIONS.items()},
        "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
    }


def auto_threshold(analysis: dict) -> float:
    """The original's proposal when no threshold is given: the 25th percentile (keeps ~75 %)."""
    return float(analysis["percentiles"]["p25"])


def neighbours(scores: np.ndarray, threshold: float, k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``k`` images just above (accepted) and just below the threshold."""
    s = np.asarray(scores)
    order = np.argsort(s, kind="stable")
    cut = int(np.searchsorted(s[order], threshold, side="left"))
    below = order[max(0, cut - k):cut][::-1]
    above = order[cut:cut + k]
    return above, below
