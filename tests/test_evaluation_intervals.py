"""Seeded percentile bootstrap, single and paired."""
from __future__ import annotations

import numpy as np
import pytest

from vaselib.evaluation.intervals import (
    bootstrap,
    paired_bootstrap,
    percentile_interval,
    resamples,
)


def _mean_of(values):
    values = np.asarray(values, dtype=float)
    return lambda idx: {"mean": float(values[idx].mean())}


def test_constant_metric_has_zero_width_interval():
    out = bootstrap(_mean_of([0.7] * 25), 25, n_boot=200, seed=1)["mean"]
    assert out.low == out.high                     # exactly zero width
    assert out.low == pytest.approx(0.7, abs=1e-12)
    assert out.n_boot == 200 and out.n_undefined == 0


def test_interval_is_seeded_and_brackets_the_mean():
    values = [0, 1] * 20
    a = bootstrap(_mean_of(values), 40, n_boot=300, seed=7)["mean"]
    b = bootstrap(_mean_of(values), 40, n_boot=300, seed=7)["mean"]
    assert (a.low, a.high) == (b.low, b.high)
    spread = np.random.default_rng(5).random(40)
    c = bootstrap(_mean_of(spread), 40, n_boot=300, seed=7)["mean"]
    d = bootstrap(_mean_of(spread), 40, n_boot=300, seed=8)["mean"]
    assert (c.low, c.high) != (d.low, d.high)
    # a proportion of 0.5 over 40 items: standard error √(0.25/40) ≈ 0.079, so the 95 %
    # interval is roughly 0.5 ± 0.155
    assert 0.30 < a.low < 0.42 and 0.58 < a.high < 0.70


def test_resamples_draw_with_replacement_in_range():
    draws = list(resamples(5, 50, seed=0))
    assert len(draws) == 50 and all(len(d) == 5 for d in draws)
    flat = np.concatenate(draws)
    assert flat.min() >= 0 and flat.max() <= 4
    assert any(len(set(d)) < 5 for d in draws)   # some repeats: with replacement


def test_percentile_interval_ignores_undefined_resamples():
    out = percentile_interval(np.array([1.0, np.nan, 3.0, np.nan]), level=0.5)
    assert out.n_undefined == 2
    assert (out.low, out.high) == (1.5, 2.5)     # 25th/75th percentile of {1, 3}
    empty = percentile_interval(np.array([np.nan]))
    assert empty.low is None and empty.high is None


def test_paired_difference_of_model_with_itself_is_exactly_zero():
    stat = _mean_of(np.random.default_rng(0).random(30))
    diff = paired_bootstrap(stat, stat, 30, n_boot=100, seed=0)["mean"]
    assert diff.difference == 0.0
    assert diff.interval.low == 0.0 and diff.interval.high == 0.0


def test_paired_bootstrap_uses_the_same_indices_for_both_models():
    # B = A + 0.1 on every item: with shared resamples the difference never varies; with
    # independent resamples it would spread out.
    a = np.random.default_rng(1).random(40)
    diff = paired_bootstrap(_mean_of(a), _mean_of(a + 0.1), 40, n_boot=200, seed=3)["mean"]
    assert diff.difference == pytest.approx(-0.1)
    assert diff.interval.high - diff.interval.low == pytest.approx(0.0, abs=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="resample 0"):
        list(resamples(0, 3, 0))
    with pytest.raises(ValueError, match="level"):
        percentile_interval(np.array([1.0]), level=1.5)
