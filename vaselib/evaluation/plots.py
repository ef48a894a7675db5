"""Bar chart of caption metrics across models, with bootstrap-interval error bars.

The figure is returned (and closed, so a notebook shows it only where it is displayed); the
caller shows or saves it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use(matplotlib.get_backend())  # keep the notebook's backend
import matplotlib.pyplot as plt
import numpy as np

DEFAULT_METRICS: tuple[str, ...] = ("clip_score", "r_at_1", "r_at_5", "r_at_10",
                                    "lexical_similarity", "overall_score")
LABELS = {"clip_score": "CLIP score", "semantic_similarity": "semantic sim.",
          "r_at_1": "R@1", "r_at_5": "R@5", "r_at_10": "R@10",
          "lexical_similarity": "lexical", "fid_score": "FID", "overall_score": "overall"}


def metric_value(entry: Mapping[str, Any], metric: str) -> tuple[float | None, float | None,
                                                                 float | None]:
    """(value, low, high) of ``metric`` in a model entry; dotted names reach the extras."""
    if "." in metric:
        group, name = metric.split(".", 1)
        e = entry.get(group, {}).get(name)
        if e is None:
            raise KeyError(f"metric {metric!r} is not in the report (groups: tie_aware, "
                           f"attributes, text_metrics, image_grounded)")
        return e["value"], e["low"], e["high"]
    if metric not in entry:
        raise KeyError(f"metric {metric!r} is not in the report")
    interval = entry.get("intervals", {}).get(metric) or {}
    return entry[metric], interval.get("low"), interval.get("high")


def metrics_bar_chart(report: Mapping[str, Any], metrics: Sequence[str] = DEFAULT_METRICS,
                      title: str = "Caption metrics (95 % bootstrap intervals)"):
    """Grouped bars: one group per metric, one bar per model, error bars = intervals.

    ``report`` is a whole report (``{"models": ...}``) or a mapping name → model entry. A
    metric without a value is drawn as "n/a" text instead of a bar, never as 0.
    """
    models = report.get("models", report)
    if not models:
        raise ValueError("the report has no models to plot")
    names = list(models)
    width = 0.8 / len(names)
    x = np.arange(len(metrics))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(metrics) + 1), 3.6))
    for j, name in enumerate(names):
        offsets = x - 0.4 + width * (j + 0.5)
        label: str | None = name  # on this model's first bar only
        for xi, metric in zip(offsets, metrics):
            value, low, high = metric_value(models[name], metric)
            if value is None:
                ax.text(xi, 0.0, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
                continue
            yerr = None
            if low is not None and high is not None:
                yerr = [[max(value - low, 0.0)], [max(high - value, 0.0)]]
            ax.bar(xi, value, width, yerr=yerr, capsize=3, color=f"C{j}", label=label)
            label = None
    ax.set_xticks(x, [LABELS.get(m, m) for m in metrics], rotation=20)
    ax.set(title=title, ylabel="value")
    ax.grid(axis="y", alpha=0.3)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def caption_gallery(images, references, captions, n: int = 8, width: int = 60):
    """Held-out vases with the reference caption and each model's caption under them."""
    import textwrap

    import matplotlib.pyplot as plt

    from vaselib.images import ImageLoadError, open_image

    n = min(n, len(images))
    if n == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no vases to show", ha="center")
        plt.close(fig)
        return fig
    fig, axes = plt.subplots(n, 2, figsize=(12, 2.3 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 5]})
    for i in range(n):
        ax_img, ax_txt = axes[i]
        ax_img.axis("off")
        ax_txt.axis("off")
        try:
            ax_img.imshow(open_image(images[i]))
        except ImageLoadError:
            ax_img.text(0.5, 0.5, "unreadable", ha="center")
        lines = ["reference: " + textwrap.shorten(references[i], width * 2)]
        for name, caps in captions.items():
            lines.append(f"{name}: " + textwrap.shorten(caps[i] or "(empty)", width * 2))
        ax_txt.text(0, 0.5, "\n".join(textwrap.fill(line, width * 2) for line in lines),
                    va="center", fontsize=8, family="monospace")
    fig.tight_layout()
    plt.close(fig)
    return fig
