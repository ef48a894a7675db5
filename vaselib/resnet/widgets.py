"""Explore stage 02's confidence threshold: how many photos each threshold keeps.

The widget only explores; the stage's result is computed by :func:`classify.run` with the
same decision rule (:func:`vaselib.resnet.classify.decide`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from vaselib.resnet.classify import ClassifyResult


def counts_at(p_high: Sequence[float], threshold: float) -> dict[str, int]:
    """How many photos go to ``1/`` and ``0/`` at ``threshold`` (same rule as the stage)."""
    arr = np.asarray(p_high, dtype=float)
    high = int((arr >= threshold).sum())
    return {"high_quality": high, "low_quality": int(arr.size - high)}


class ThresholdExplorer:
    """A slider over P(high quality) with live counts; ``update(t)`` is testable headless."""

    def __init__(self, result: ClassifyResult, threshold: float = 0.5):
        import ipywidgets as w

        self.p_high = [x.prob_high for x in result.predictions]
        self.slider = w.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.01,
                                    description="threshold", continuous_update=True)
        self.label = w.HTML()
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.widget = w.VBox([self.slider, self.label])
        # stable hooks for styling and browser tests (the same names as stage 03's explorer)
        self.widget.add_class("vaselib-threshold")
        self.slider.add_class("vaselib-threshold-slider")
        self.label.add_class("vaselib-threshold-counts")
        self.update(threshold)

    def update(self, threshold: float) -> dict[str, int]:
        counts = counts_at(self.p_high, threshold)
        self.label.value = (f"<b>{counts['high_quality']}</b> to 1/ (high quality), "
                            f"<b>{counts['low_quality']}</b> to 0/ at threshold {threshold:.2f}")
        return counts

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)
