"""Plots of stages 03 and 04 (figures are returned; the caller shows or saves them)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use(matplotlib.get_backend())  # keep the notebook's backend
import matplotlib.pyplot as plt
import numpy as np

from vaselib.clip import scoring

ACCEPT = "#3c7a3c"
REJECT = "#a33b2b"


def draw_histogram(ax, scores: np.ndarray, threshold: float, bins: int = 40,
                   suggestions: dict | None = None) -> None:
    """Score histogram on ``ax``: accepted bars green, rejected red, threshold line."""
    s = np.asarray(scores, dtype=float)
    counts, edges = np.histogram(s, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    colours = [ACCEPT if c >= threshold else REJECT for c in centres]
    ax.bar(centres, counts, width=np.diff(edges), color=colours, alpha=0.85, linewidth=0)
    ax.axvline(threshold, color="black", ls="--", lw=1.5, label=f"threshold {threshold:.3f}")
    if suggestions:
        for name, v in suggestions.items():
            ax.axvline(v, color="grey", ls=":", lw=0.8)
            ax.text(v, ax.get_ylim()[1] * 0.97, name.replace("keep_", "") + "%", rotation=90,
                    va="top", ha="right", fontsize=7, color="grey")
    acc = int(scoring.apply_threshold(s, threshold).sum())
    ax.set(xlabel="quality score  (cos high − cos low)", ylabel="images",
           title=f"accepted {acc} · rejected {len(s) - acc}")
    ax.legend(loc="upper left", fontsize=8)


def score_histogram(scores: np.ndarray, threshold: float, bins: int = 40,
                    suggestions: dict | None = None):
    """The score distribution with the threshold and the keep-X % suggestions."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    draw_histogram(ax, scores, threshold, bins, suggestions)
    fig.tight_layout()
    plt.close(fig)
    return fig


def similarity_scatter(sim_high: np.ndarray, sim_low: np.ndarray, accepted: np.ndarray):
    """cos to the high prompts vs cos to the low prompts, coloured by the decision."""
    fig, ax = plt.subplots(figsize=(4.2, 4))
    acc = np.asarray(accepted, bool)
    ax.scatter(sim_low[acc], sim_high[acc], s=8, c=ACCEPT, label="accepted")
    ax.scatter(sim_low[~acc], sim_high[~acc], s=8, c=REJECT, label="rejected")
    ax.set(xlabel="cos(image, low prompts)", ylabel="cos(image, high prompts)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _thumb(path: Path, size: int = 160):
    from vaselib.images import ImageLoadError, open_image

    try:
        im = open_image(path)
    except ImageLoadError:
        return None
    im.thumbnail((size, size))
    return im


def image_gallery(paths: Sequence[Path], captions: Sequence[str],
                  colours: Sequence[str] | None = None, ncols: int = 6,
                  title: str | None = None, size: float = 1.7):
    """A grid of images with a caption under each."""
    n = max(1, len(paths))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.45) * nrows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (p, cap) in enumerate(zip(paths, captions)):
        ax = axes.flat[i]
        im = _thumb(Path(p))
        if im is not None:
            ax.imshow(im)
        ax.set_title(cap, fontsize=8, color=(colours[i] if colours else "black"))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def threshold_gallery(result, threshold: float | None = None, k: int = 6):
    """Stage 03: the images just above (accepted) and just below (rejected) the threshold."""
    t = result.threshold if threshold is None else threshold
    sc = result.scored
    above, below = scoring.neighbours(sc.score, t, k)
    idx = list(above) + list(below)
    caps = [f"{sc.score[i]:+.3f}" for i in idx]
    cols = [ACCEPT] * len(above) + [REJECT] * len(below)
    return image_gallery([sc.paths[i] for i in idx], caps, cols, ncols=max(1, k),
                         title=f"just above (green, accepted) and just below (red, rejected) "
                               f"the threshold {t:.3f}")


def view_gallery(result, vases: int = 6, max_views: int = 6):
    """Stage 04: each vase's views with their scores; the selected view is framed green."""
    choices = result.choices[:vases]
    if not choices:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no vase selected", ha="center")
        plt.close(fig)
        return fig
    ncols = min(max_views, max(c.total_views for c in choices))
    fig, axes = plt.subplots(len(choices), ncols, figsize=(1.8 * ncols, 2.05 * len(choices)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for r, c in enumerate(choices):
        views = sorted(c.views, key=lambda v: -v.clip_score)[:ncols]
        for j, v in enumerate(views):
            ax = axes[r, j]
            im = _thumb(result.input_dir / v.filename)
            if im is not None:
                ax.imshow(im)
            chosen = v.filename == c.selected_file
            ax.set_title(f"view {v.view_number}: {v.clip_score:.3f}" + (" ✓" if chosen else ""),
                         fontsize=8, color=ACCEPT if chosen else "black")
            if chosen:
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_color(ACCEPT)
                    spine.set_linewidth(3)
        axes[r, 0].text(-0.08, 0.5, c.vase_id[:8], transform=axes[r, 0].transAxes,
                        rotation=90, va="center", ha="right", fontsize=8)
    fig.suptitle("views per vase, by cosine to the high-quality prompts", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def best_score_histogram(result):
    """Stage 04: distribution of the selected views' scores and of views per vase."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3))
    a1.hist([c.score for c in result.choices], bins=20, color=ACCEPT)
    a1.set(xlabel="cosine to the high prompts (selected view)", ylabel="vases",
           title="selected views")
    dist = result.stats["view_distribution"]
    a2.bar([int(k) for k in dist], list(dist.values()), color="#7a5c3e")
    a2.set(xlabel="views per vase", ylabel="vases", title="views per vase")
    fig.tight_layout()
    plt.close(fig)
    return fig
