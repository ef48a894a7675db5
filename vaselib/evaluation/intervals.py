"""Seeded percentile-bootstrap intervals over pairs, single and paired.

A *statistic* is a function of an index array: ``statistic(idx) -> {metric: value}``, where
``idx`` selects pairs with repeats. Resampling pairs with replacement and recomputing every
metric on the resample serves per-item means (the mean of the resampled per-item values) and
set-level metrics alike (R@k and FID are recomputed on the resampled set). A value that
cannot be computed on a resample (NaN: no reference in it states an attribute, say) is left
out of that metric's percentiles and counted in ``n_undefined``.

For two models scored on the same ids, :func:`paired_bootstrap` draws each resample once and
applies it to both, so the interval of the difference reflects the pairing; the difference of
a model with itself is exactly 0 with a zero-width interval.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass

import numpy as np

Statistic = Callable[[np.ndarray], Mapping[str, float | None]]
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A percentile interval; ``low``/``high`` are None when no resample gave a value."""

    low: float | None
    high: float | None
    level: float
    n_boot: int
    n_undefined: int = 0

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


@dataclass(frozen=True)
class Difference:
    """Model A minus model B on shared ids, with its paired-bootstrap interval."""

    difference: float | None
    interval: Interval
    n: int

    def to_dict(self) -> dict[str, object]:
        return {"difference": self.difference, "low": self.interval.low,
                "high": self.interval.high, "level": self.interval.level, "n": self.n,
                "n_boot": self.interval.n_boot, "n_undefined": self.interval.n_undefined}


def resamples(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """``n_boot`` index arrays of length ``n`` drawn with replacement, reproducible by seed."""
    if n < 1:
        raise ValueError(f"cannot resample {n} pairs")
    if n_boot < 0:
        raise ValueError(f"n_boot must be ≥ 0, not {n_boot}")
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield rng.integers(0, n, size=n)


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> Interval:
    """The (1−level)/2 and (1+level)/2 percentiles of the finite ``samples``."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), not {level}")
    s = np.asarray(samples, dtype=np.float64)
    finite = s[np.isfinite(s)]
    undefined = int(s.size - finite.size)
    if not finite.size:
        return Interval(None, None, level, int(s.size), undefined)
    alpha = (1 - level) / 2
    low, high = np.percentile(finite, [100 * alpha, 100 * (1 - alpha)])
    return Interval(float(low), float(high), level, int(s.size), undefined)


def _as_float(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _collect(statistic: Statistic, n: int, n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """Each metric's value on each resample (NaN where a resample did not give one)."""
    columns: dict[str, list[float]] = {}
    for i, idx in enumerate(resamples(n, n_boot, seed)):
        for name, value in statistic(idx).items():
            columns.setdefault(name, [float("nan")] * i).append(_as_float(value))
        for col in columns.values():
            col.extend([float("nan")] * (i + 1 - len(col)))
    return {name: np.asarray(col) for name, col in columns.items()}


def bootstrap(statistic: Statistic, n: int, *, n_boot: int = 1000, seed: int = 0,
              level: float = LEVEL) -> dict[str, Interval]:
    """Percentile interval of every metric ``statistic`` returns, over ``n`` pairs."""
    samples = _collect(statistic, n, n_boot, seed)
    return {name: percentile_interval(s, level) for name, s in samples.items()}


def paired_bootstrap(statistic_a: Statistic, statistic_b: Statistic, n: int, *,
                     n_boot: int = 1000, seed: int = 0,
                     level: float = LEVEL) -> dict[str, Difference]:
    """A − B for every metric both statistics return, on the same ``n`` pairs.

    Each resample's indices are applied to both models; the interval is the percentile
    interval of the resampled differences.
    """
    full = np.arange(n)
    value_a, value_b = statistic_a(full), statistic_b(full)

    def difference(idx: np.ndarray) -> dict[str, float]:
        a, b = statistic_a(idx), statistic_b(idx)
        return {k: _as_float(a[k]) - _as_float(b[k]) for k in a if k in b}

    samples = _collect(difference, n, n_boot, seed)
    out = {}
    for name in value_a:
        if name not in value_b:
            continue
        d = _as_float(value_a[name]) - _as_float(value_b[name])
        interval = percentile_interval(samples.get(name, np.array([])), level)
        out[name] = Difference(None if math.isnan(d) else d, interval, n)
    return out
