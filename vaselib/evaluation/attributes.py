"""Per-attribute accuracy of generated captions, read with the GRPO reward's caption parser.

Both captions of a pair go through :func:`vaselib.vlm.captions.parse_caption`. An attribute is
scored only for pairs whose *reference* states it, so each has its own N (a caption that does
not name a painter says nothing about attribution accuracy). Per item, with NaN for "not
stated in the reference":

``fabric``, ``technique``, ``shape``
    1 when the generated caption names exactly the reference's canonical vocabulary names
    (as a set: ``Attic`` and ``Athenian`` are one fabric), else 0.
``shape_family``
    The same on shape families (:data:`vaselib.vocabulary.SHAPES`: ``neck-amphora`` and
    ``amphora`` are both the amphora family).
``dating``, ``dating_iou``
    The reward's :func:`~vaselib.vlm.reward.date_overlap` of the two year ranges (BCE
    negative; single years and every range widened as the reward does): ``dating`` is 1 when
    it is > 0 (the ranges overlap after that widening), ``dating_iou`` is the value itself.
    A generated caption without a date scores 0.
``decoration``, ``attribution``
    1 when the reward's similarity (1.0 for equal normalised text; otherwise the backend
    ``similarity``: ``lexical`` by default, ``semantic`` = all-MiniLM-L6-v2) is ≥ ``tau``.
``external_vase_acc``
    The GRPO reward itself (:class:`~vaselib.vlm.reward.VaseAccuracyReward`), for every pair.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vaselib import vocabulary
from vaselib.vlm.captions import CaptionParts, parse_caption
from vaselib.vlm.reward import TAU, VaseAccuracyReward, date_overlap

ATTRIBUTES: tuple[str, ...] = ("fabric", "technique", "shape", "shape_family", "dating",
                               "dating_iou", "decoration", "attribution")
REWARD = "external_vase_acc"
_TEXT_DIMENSIONS = ("decoration", "attribution")


@dataclass
class AttributeScores:
    """Per-item values of each attribute (NaN: the reference does not state it) and reward."""

    per_item: dict[str, np.ndarray]
    similarity: str
    tau: float

    def n(self, name: str) -> int:
        """How many references state the attribute (every pair for the reward)."""
        return int(np.isfinite(self.per_item[name]).sum())

    def mean(self, name: str, idx: np.ndarray | None = None) -> float:
        """Mean over the (resampled) pairs that state the attribute; NaN when none does."""
        values = self.per_item[name] if idx is None else self.per_item[name][idx]
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else float("nan")


def _same_names(gen: tuple[str, ...], ref: tuple[str, ...]) -> float:
    return float(bool(gen) and set(gen) == set(ref))


def _families(shapes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(vocabulary.SHAPES.get(s, s) for s in shapes)


def _vocabulary_scores(gen: CaptionParts, ref: CaptionParts) -> dict[str, float]:
    nan = float("nan")
    out = {dim: (_same_names(getattr(gen, dim), getattr(ref, dim)) if getattr(ref, dim)
                 else nan) for dim in ("fabric", "technique", "shape")}
    out["shape_family"] = (_same_names(_families(gen.shape), _families(ref.shape))
                           if ref.shape else nan)
    if ref.date_range is None:
        out["dating"] = out["dating_iou"] = nan
    else:
        iou = date_overlap(gen.date_range, ref.date_range)
        out["dating"], out["dating_iou"] = float(iou > 0), float(iou)
    return out


def attribute_scores(generated: Sequence[str], references: Sequence[str], *,
                     similarity: str = "lexical", tau: float = TAU) -> AttributeScores:
    """Score every pair on each attribute and with the reward (module docstring).

    ``similarity`` is the reward's backend (``lexical`` or ``semantic``; the semantic model
    falls back to lexical with a warning when it cannot be loaded: the backend actually used
    is recorded in the result); ``tau`` is the similarity gate of decoration and attribution
    and of the reward's text dimensions.
    """
    if len(generated) != len(references):
        raise ValueError(f"{len(generated)} generated captions but {len(references)} "
                         f"references")
    reward = VaseAccuracyReward(similarity=similarity, tau=tau)
    parsed = [(parse_caption(g), parse_caption(r)) for g, r in zip(generated, references)]
    rows = [_vocabulary_scores(g, r) for g, r in parsed]

    # decoration and attribution: one batched similarity call for all stated pairs
    todo: list[tuple[int, str, str, str]] = []
    for i, (g, r) in enumerate(parsed):
        gdims, rdims = g.dimensions(), r.dimensions()
        for dim in _TEXT_DIMENSIONS:
            if rdims[dim] is None:
                rows[i][dim] = float("nan")
            elif gdims[dim] is None:
                rows[i][dim] = 0.0
            else:
                todo.append((i, dim, gdims[dim], rdims[dim]))
    sims = reward.similarities([(a, b) for _, _, a, b in todo]) if todo else []
    for (i, dim, _, _), s in zip(todo, sims):
        rows[i][dim] = float(s >= tau)

    per_item = {name: np.array([row[name] for row in rows], dtype=np.float64)
                for name in ATTRIBUTES}
    per_item[REWARD] = np.array([b.total for b in reward.score_many(list(zip(generated,
                                                                              references)))],
                                dtype=np.float64)
    return AttributeScores(per_item, reward.similarity, tau)
