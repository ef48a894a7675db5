"""Reduced precision, fp32's decisions: re-score in fp32 what lies near a decision.

bf16 and int8 move every CLIP score a little; a decision (accept/reject at a threshold,
which view of a vase wins) moves only for an image that lies closer to it than that error.
So the error is measured and only those images are encoded again in fp32:

1. *calibration*: a seeded sample of the scored images is encoded in fp32 too; the band is
   ``margin`` × the largest |reduced − fp32| score difference seen;
2. every image whose reduced score lies within the band of a decision is re-scored in fp32;
3. each re-scored image is one more measured difference: when one is larger than the
   calibration's, the band widens and step 2 repeats until no image is left in it.

An image's decision then differs from fp32's only if its error exceeds ``margin`` times the
largest error measured on every image compared, which is what the report's fields let a
reader judge (``benchmarks/bench_filtering.py`` measures the agreement).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

MARGIN = 3.0
CALIBRATION_IMAGES = 64
# re-scoring more than this share costs more than the reduced path saves: 1 − 1/speed-up,
# with bf16 measured at 2.2–2.4× and int8 at 1.5–1.7× fp32 on ViT-B/32
CROWDED = {"bf16": 0.55, "int8": 0.33}


@dataclass
class Recheck:
    """What the fp32 re-check did (``report()`` goes into the stage report)."""

    precision: str                   # the reduced precision that scored first
    margin: float
    band: float                      # final half-width of the re-check band, in score units
    calibration_images: int
    calibration_max_abs_delta: float
    max_abs_delta: float             # largest |reduced − fp32| over every image compared
    rescored_images: int             # images scored in fp32 (calibration included)
    total_images: int
    rounds: int

    def report(self) -> dict:
        d = asdict(self)
        d["rescored_share"] = round(self.rescored_images / max(1, self.total_images), 4)
        return d

    def note(self, decision: str) -> str:
        text = (f"{self.precision} scores checked in fp32 near {decision}: "
                f"{self.rescored_images} of {self.total_images} images re-scored in fp32 "
                f"(band ±{self.band:.3g} = {self.margin:g} × the largest |Δscore| "
                f"{self.max_abs_delta:.3g} seen; {self.calibration_images} calibration "
                f"images), so these decisions are fp32's")
        crowded = CROWDED.get(self.precision, 0.0)
        if self.rescored_images > crowded * self.total_images:
            text += (f"; with more than {crowded:.0%} re-scored this model's scores lie too "
                     f"close together for {self.precision} to pay: precision fp32 is faster "
                     f"here")
        return text


def calibration_rows(n: int, seed: int, size: int = CALIBRATION_IMAGES) -> np.ndarray:
    """A seeded sample of ``min(n, size)`` row indices, sorted."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def near_decision(scores: np.ndarray, rescore: Callable[[np.ndarray], np.ndarray],
                  near: Callable[[np.ndarray, float], np.ndarray], calibration: np.ndarray,
                  *, precision: str, margin: float = MARGIN
                  ) -> tuple[np.ndarray, np.ndarray, Recheck]:
    """``(scores, exact, Recheck)``: ``scores`` with fp32 values wherever re-scored.

    ``rescore(rows)`` returns the fp32 scores of ``rows`` (NaN where an image could not be
    scored: it keeps its reduced score); ``near(scores, band)`` the mask of rows whose
    decision a change of ``band`` could move, given the current scores.
    """
    if margin < 1:
        raise ValueError(f"margin must be ≥ 1, not {margin}")
    s = np.array(scores, dtype=np.float64)
    exact = np.zeros(len(s), dtype=bool)
    deltas: list[float] = []

    def take(rows: np.ndarray) -> None:
        f = np.asarray(rescore(rows), dtype=np.float64)
        good = np.isfinite(f)
        deltas.extend(np.abs(f[good] - s[rows[good]]).tolist())
        s[rows[good]] = f[good]
        exact[rows] = True                      # asked once, whatever came back

    calibration = np.asarray(calibration, dtype=np.int64)
    if calibration.size:
        take(calibration)
    cal_max = max(deltas, default=0.0)
    band = margin * cal_max
    rounds = 0
    while True:
        rows = np.flatnonzero(np.asarray(near(s, band), dtype=bool) & ~exact)
        if rows.size == 0:
            break
        rounds += 1
        take(rows)
        band = max(band, margin * max(deltas, default=0.0))
    return s, exact, Recheck(precision, margin, band, int(calibration.size), cal_max,
                             max(deltas, default=0.0), int(exact.sum()), len(s), rounds)


def near_threshold(threshold_of: Callable[[np.ndarray], tuple[float, np.ndarray]]
                   ) -> Callable[[np.ndarray, float], np.ndarray]:
    """``near`` for accept/reject at a threshold: the rows within the band of it.

    ``threshold_of(scores)`` gives the threshold and the rows it is computed from (a
    percentile's neighbouring order statistics; none for a given threshold): rows within the
    band of those rows' scores are near too, so that the percentile itself comes out as
    fp32's."""
    def near(s: np.ndarray, band: float) -> np.ndarray:
        t, pins = threshold_of(s)
        m = np.abs(s - t) <= band
        for r in np.asarray(pins, dtype=np.int64):
            m |= np.abs(s - s[r]) <= band
        return m
    return near


def percentile_pins(s: np.ndarray, rows: np.ndarray, q: float) -> tuple[float, np.ndarray]:
    """numpy's linear ``percentile(s[rows], q)`` and the (at most two) rows it is read from."""
    rows = np.asarray(rows, dtype=np.int64)
    vals = s[rows]
    order = np.argsort(vals, kind="stable")
    k = q / 100 * (len(vals) - 1)
    lo, hi = int(np.floor(k)), int(np.ceil(k))
    return float(np.percentile(vals, q)), rows[order[[lo, hi]]]


def near_best(groups: list[np.ndarray]) -> Callable[[np.ndarray, float], np.ndarray]:
    """``near`` for one winner per group (stage 04's best view): every view within two bands
    of its group's best, in groups where more than one view is."""
    def near(s: np.ndarray, band: float) -> np.ndarray:
        m = np.zeros(len(s), dtype=bool)
        for rows in groups:
            if len(rows) < 2:
                continue
            close = rows[s[rows] >= s[rows].max() - 2 * band]
            if len(close) > 1:
                m[close] = True
        return m
    return near
