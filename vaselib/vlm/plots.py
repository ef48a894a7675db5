"""Plots and tables of stages 05–07 (figures are returned; the caller shows or saves them)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use(matplotlib.get_backend())  # keep the notebook's backend
import matplotlib.pyplot as plt


def _series(history: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for i, e in enumerate(history):
        if key in e and e[key] is not None:
            xs.append(int(e.get("step", i + 1)))
            ys.append(float(e[key]))
    return xs, ys


def loss_curve(history: Sequence[Mapping[str, Any]], title: str = "SFT loss"):
    """Training loss per logged step (and evaluation loss when there is one)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    xs, ys = _series(history, "loss")
    ax.plot(xs, ys, "o-", ms=3, label="train loss")
    ex, ey = _series(history, "eval_loss")
    if ex:
        ax.plot(ex, ey, "s--", ms=5, label="validation loss")
    ax.set(title=title, xlabel="optimiser step", ylabel="cross-entropy")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


def reward_curve(history: Sequence[Mapping[str, Any]], title: str = "GRPO reward"):
    """Mean reward per step with its spread inside the group (±std), and the KL term."""
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    key = "reward" if any("reward" in e for e in history) else next(
        (k for e in history for k in e if k.startswith("rewards/") and k.endswith("/mean")),
        "reward")
    xs, ys = _series(history, key)
    _, sd = _series(history, "reward_std")
    ax.plot(xs, ys, "o-", ms=3, color="#7a5c3e", label="mean reward")
    if len(sd) == len(ys):
        lo = [y - s for y, s in zip(ys, sd)]
        hi = [y + s for y, s in zip(ys, sd)]
        ax.fill_between(xs, lo, hi, alpha=0.2, color="#7a5c3e", label="± std in group")
    ax.set(title=title, xlabel="step", ylabel="external_vase_acc", ylim=(-0.05, 1.05))
    kx, ky = _series(history, "kl")
    if kx:
        ax2 = ax.twinx()
        ax2.plot(kx, ky, ":", color="grey", label="KL")
        ax2.set_ylabel("KL to reference")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    plt.close(fig)
    return fig


def completions_table(completions: Sequence[Mapping[str, Any]], limit: int = 12,
                      width: int = 110, styled: bool = True):
    """Logged completions with their reward: a styled table showing whole completions
    (``styled=False``: the plain pandas DataFrame)."""
    import pandas as pd

    rows = []
    for c in list(completions)[:limit]:
        reward_cols = [k for k in c if k not in ("step", "prompt", "completion", "advantages",
                                                 "images", "solution")]
        text = str(c.get("completion", "")).replace("\n", " ")
        rows.append({"step": c.get("step"),
                     "completion": text if len(text) <= width else text[:width - 1] + "…",
                     **{k: (round(c[k], 3) if isinstance(c[k], (int, float)) else c[k])
                        for k in reward_cols},
                     "advantage": (round(c["advantages"], 3)
                                   if isinstance(c.get("advantages"), (int, float)) else None)})
    df = pd.DataFrame(rows)
    if not styled or df.empty:
        return df
    return df.style.hide(axis="index").set_properties(
        subset=["completion"], **{"text-align": "left", "font-family": "monospace"})


def caption_comparison(image_path, captions: Mapping[str, str], reference: str | None = None,
                       width: int = 70):
    """The image beside the captions of several models (and the reference caption)."""
    import textwrap

    from vaselib.images import ImageLoadError, open_image

    fig, (ax_img, ax_txt) = plt.subplots(1, 2, figsize=(11, 3.6),
                                         gridspec_kw={"width_ratios": [1, 2.4]})
    try:
        ax_img.imshow(open_image(image_path))
    except ImageLoadError:
        ax_img.text(0.5, 0.5, "unreadable", ha="center")
    ax_img.axis("off")
    ax_txt.axis("off")
    lines = []
    if reference:
        lines += ["reference:", *textwrap.wrap(reference, width), ""]
    for name, text in captions.items():
        lines += [f"{name}:", *(textwrap.wrap(text or "(empty)", width) or ["(empty)"]), ""]
    ax_txt.text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=8.5)
    fig.tight_layout()
    plt.close(fig)
    return fig
