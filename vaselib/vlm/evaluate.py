"""Measure generated captions against held-out vases: reward, per-dimension accuracy, intervals.

For each vase (its true attributes from :mod:`vaselib.vlm.demo_data`'s ``vases.json``) and a
generated caption, :func:`score_captions` computes

- ``reward``: ``external_vase_acc`` (:class:`vaselib.vlm.reward.VaseAccuracyReward`) against
  the reference caption;
- ``technique`` / ``fabric`` / ``shape``: 1 when the caption names exactly the true one (the
  names :func:`vaselib.vlm.captions.parse_caption` finds, canonicalised), else 0;
  ``shape_family``: 1 when the first shape named is of the true shape's family
  (``vocabulary.SHAPES``);
- ``dating``: the reward's date overlap (IoU of the year ranges after its tolerance);
  ``dating_iou``: the plain IoU of the two ranges.

:func:`summarise` gives the means with a percentile-bootstrap 95 % interval for the reward;
:func:`paired_difference` the mean paired difference of two models' rewards on the same
vases with its bootstrap interval.  :func:`caption_nll` is the teacher-forced loss of the
reference captions (nats per token, the same tokens ms-swift's SFT loss counts).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vaselib import vocabulary
from vaselib.vlm.captions import parse_caption


def iou(a: Sequence[int] | None, b: Sequence[int] | None) -> float:
    """Intersection over union of two closed year ranges (0 when either is missing)."""
    if a is None or b is None:
        return 0.0
    a0, a1 = sorted(a)
    b0, b1 = sorted(b)
    inter = min(a1, b1) - max(a0, b0)
    union = max(a1, b1) - min(a0, b0)
    if union <= 0:
        return 1.0 if (a0, a1) == (b0, b1) else 0.0
    return max(0.0, inter / union)


def dimension_scores(caption: str, attrs: dict[str, Any]) -> dict[str, float]:
    """Per-dimension correctness of one caption against a vase's true attributes."""
    from vaselib.vlm.reward import date_overlap

    parts = parse_caption(caption)
    family = vocabulary.SHAPES.get
    true_range = tuple(attrs["date"]) if attrs.get("date") else None
    return {
        "technique": float(parts.technique == (attrs.get("technique"),)),
        "fabric": float(parts.fabric == (attrs.get("fabric"),)),
        "shape": float(parts.shape == (attrs.get("shape"),)),
        "shape_family": float(bool(parts.shape) and family(parts.shape[0]) is not None
                              and family(parts.shape[0]) == family(attrs.get("shape"))),
        "dating": date_overlap(parts.date_range, true_range),
        "dating_iou": iou(parts.date_range, true_range),
    }


def score_captions(captions: Sequence[str], vases: Sequence[dict[str, Any]],
                   similarity: str = "semantic") -> list[dict[str, Any]]:
    """One row per vase: the reward of its caption and :func:`dimension_scores`."""
    from vaselib.vlm.reward import VaseAccuracyReward

    if len(captions) != len(vases):
        raise ValueError(f"{len(captions)} captions for {len(vases)} vases")
    reward = VaseAccuracyReward(similarity=similarity)
    rows = []
    for cap, vase in zip(captions, vases):
        rows.append({"id": vase.get("id"), "caption": cap, "reference": vase["caption"],
                     "reward": reward.score(cap, vase["caption"]).total,
                     **dimension_scores(cap, vase["attributes"])})
    return rows


def bootstrap_interval(values: Sequence[float], n_boot: int = 10_000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``values``."""
    x = np.asarray(values, float)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (n_boot, len(x)))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


METRICS = ("reward", "technique", "shape", "shape_family", "fabric", "dating", "dating_iou")


def summarise(rows: Sequence[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """Means of :data:`METRICS` over the rows, N, and the reward's bootstrap 95 % interval."""
    out: dict[str, Any] = {"n": len(rows)}
    for m in METRICS:
        out[m] = float(np.mean([r[m] for r in rows])) if rows else float("nan")
    if rows:
        out["reward_ci95"] = bootstrap_interval([r["reward"] for r in rows], seed=seed)
        out["reward_std"] = float(np.std([r["reward"] for r in rows]))
    return out


def paired_difference(a: Sequence[float], b: Sequence[float], n_boot: int = 10_000,
                      seed: int = 0) -> dict[str, Any]:
    """Mean of ``b - a`` over paired items, its bootstrap 95 % interval and the share of
    bootstrap means above zero."""
    d = np.asarray(b, float) - np.asarray(a, float)
    if d.size == 0:
        raise ValueError("no pairs")
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (n_boot, len(d)))].mean(1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return {"n": int(d.size), "mean": float(d.mean()), "ci95": (float(lo), float(hi)),
            "p_positive": float((means > 0).mean()), "wins": int((d > 0).sum()),
            "losses": int((d < 0).sum()), "ties": int((d == 0).sum())}


def caption_nll(model_dir: str | Path, images: Sequence[str | Path], captions: Sequence[str],
                *, prompt: str = vocabulary.CAPTION_PROMPT, system: str | None = None,
                max_pixels: int = 112 * 112, batch_size: int = 16) -> float:
    """Teacher-forced loss of ``captions`` given their images (nats per answer token, the
    answer being the caption and ``<|im_end|>``, as in ms-swift's SFT loss)."""
    import torch
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    from vaselib import runs
    from vaselib.images import open_image
    from vaselib.vlm import captioning

    path = runs.resolve(model_dir)
    processor = AutoProcessor.from_pretrained(path)
    processor.tokenizer.padding_side = "right"
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(path, dtype=torch.float32).eval()
    system = captioning.DEFAULT_SYSTEM if system is None else system
    head = captioning.prompt_text(processor, prompt, system)
    total, count = 0.0, 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for s in range(0, len(images), batch_size):
            imgs = [captioning._resize(open_image(p), max_pixels)
                    for p in images[s:s + batch_size]]
            caps = list(captions[s:s + batch_size])
            texts = [head + c + "<|im_end|>" for c in caps]
            enc = processor(text=texts, images=imgs, return_tensors="pt", padding=True)
            plen = processor(text=[head], images=imgs[:1], return_tensors="pt")[
                "input_ids"].shape[1]
            labels = enc["input_ids"].clone()
            labels[:, :plen] = -100
            labels[enc["attention_mask"] == 0] = -100
            with torch.no_grad():
                logits = model(**enc).logits[:, :-1].float()
            tgt = labels[:, 1:]
            sel = tgt != -100
            nll = torch.nn.functional.cross_entropy(logits[sel], tgt[sel], reduction="sum")
            total += float(nll)
            count += int(sel.sum())
    finally:
        torch.set_num_threads(threads)
        del model
    return total / max(1, count)
