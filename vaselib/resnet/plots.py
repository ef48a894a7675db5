"""Plots of stages 01 and 02 (figures are returned; the caller shows or saves them)."""
from __future__ import annotations

import matplotlib

matplotlib.use(matplotlib.get_backend())  # keep the notebook's backend
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay


def training_history(history: dict[str, list[float]]):
    """Loss and accuracy per epoch, train vs validation."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = range(1, len(history["train_loss"]) + 1)
    ax1.plot(epochs, history["train_loss"], "o-", label="train")
    ax1.plot(epochs, history["val_loss"], "o-", label="validation")
    ax1.set(title="Loss", xlabel="epoch", ylabel="cross-entropy")
    ax2.plot(epochs, history["train_acc"], "o-", label="train")
    ax2.plot(epochs, history["val_acc"], "o-", label="validation")
    ax2.set(title="Accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
    for ax in (ax1, ax2):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)
    return fig


def confusion(matrix: list[list[int]], labels=("low quality", "high quality")):
    """The test split's confusion matrix."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(4, 3.5))
    ConfusionMatrixDisplay(np.array(matrix), display_labels=labels).plot(
        ax=ax, colorbar=False, cmap="Blues")
    ax.set_title("Test split")
    fig.tight_layout()
    plt.close(fig)
    return fig


def probability_histogram(p_high: list[float], threshold: float):
    """How confident the classifier is: P(high quality) per image, with the threshold."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(p_high, bins=30, range=(0, 1), color="#7a5c3e")
    ax.axvline(threshold, color="crimson", ls="--", label=f"threshold {threshold:.2f}")
    ax.set(xlabel="P(high quality)", ylabel="images", title="Classifier confidence")
    ax.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


def gallery(paths, titles, columns: int = 6, size: float = 1.8):
    """A grid of images with a title under each."""
    from vaselib.images import ImageLoadError, open_image

    n = max(len(paths), 1)
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * (size + 0.3)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, path, title in zip(axes.flat, paths, titles):
        try:
            ax.imshow(open_image(path))
        except ImageLoadError:
            ax.text(0.5, 0.5, "unreadable", ha="center")
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig
