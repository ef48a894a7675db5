"""Score one model's matched pairs once, then any resample of them.

:func:`score_pairs` runs the encoders, the parser and the text metrics once per model and
keeps what every metric needs per pair (features, the similarity matrix, per-item values,
BLEU statistics). :meth:`ModelScores.results` gives the values of the full set (the
original's R@k by its literal stable sort, the original's FID by ``sqrtm``) and the errors;
:meth:`ModelScores.statistic` recomputes every metric on a resample of the pairs for the
bootstrap; :meth:`ModelScores.select` restricts a model to some pairs (for paired
comparisons on shared ids).

Failures never turn into numbers: a component that raises (an encoder, the parser, a
package) makes the metrics that depend on it ``None`` with the error text in
:attr:`ModelScores.errors`; ``overall_score`` is ``None`` when one of its parts is.

Metric names: the original's (:data:`~vaselib.evaluation.original.ORIGINAL_METRICS`), and
``tie_aware.r_at_k``, ``attributes.<name>`` and ``text_metrics.<name>`` for the extras.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from vaselib.evaluation import original, text_metrics
from vaselib.evaluation.attributes import (
    ATTRIBUTES,
    REWARD,
    AttributeScores,
    attribute_scores,
)
from vaselib.evaluation.fid import ResampledFid
from vaselib.evaluation.original import OVERALL_WEIGHTS, RECALL_KS
from vaselib.vlm.reward import TAU

TIE_AWARE: tuple[str, ...] = tuple(f"tie_aware.{k}" for k in RECALL_KS)
ATTRIBUTE_METRICS: tuple[str, ...] = tuple(f"attributes.{a}" for a in (*ATTRIBUTES, REWARD))
TEXT_METRICS: tuple[str, ...] = ("text_metrics.bleu_4", "text_metrics.rouge_l_f",
                                 "text_metrics.cider_d")
# CLIPScore grounded in the image (Hessel et al. 2021): w·max(cos(image, caption), 0), w = 2.5,
# for the generated caption and, as the ceiling this CLIP allows, for the reference
IMAGE_GROUNDED: tuple[str, ...] = ("image_grounded.clip_s", "image_grounded.reference_clip_s")
CLIP_S_WEIGHT = 2.5
ALL_METRICS: tuple[str, ...] = (*original.ORIGINAL_METRICS, *TIE_AWARE, *ATTRIBUTE_METRICS,
                                *TEXT_METRICS, *IMAGE_GROUNDED)
_TEXT_FEATURE_METRICS = ("clip_score", "semantic_similarity", *RECALL_KS, *TIE_AWARE)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@dataclass
class ModelScores:
    """What the metrics of one model need, per matched pair (see the module docstring)."""

    ids: list[str]
    generated: list[str]
    references: list[str]
    cosine: np.ndarray | None = None          # cos(gen_i, ref_i)
    similarity: np.ndarray | None = None      # S = gen · refᵀ
    gen_embeddings: np.ndarray | None = None
    ref_embeddings: np.ndarray | None = None
    jaccard: np.ndarray | None = None
    attributes: AttributeScores | None = None
    bleu: text_metrics.BleuStatistics | None = None
    rouge_l: np.ndarray | None = None
    cider_d: np.ndarray | None = None
    clip_s: np.ndarray | None = None          # w·max(cos(image_i, gen_i), 0)
    reference_clip_s: np.ndarray | None = None   # w·max(cos(image_i, ref_i), 0)
    errors: dict[str, str] = field(default_factory=dict)
    encoders: dict[str, str] = field(default_factory=dict)
    _fid: ResampledFid | None = field(default=None, repr=False)
    # the values on each resample already computed: the single and the paired bootstraps
    # draw the same resamples (same seed, same N), so each is computed once
    _memo: dict[bytes, dict[str, float | None]] = field(default_factory=dict, repr=False,
                                                        compare=False)
    # R@k's hit (0/1, stable sort) and expected hit (random tie-breaking) per query, against
    # the gallery of all the pairs: a resample draws queries, the gallery stays whole
    _hits: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def embedding_dim(self) -> int | None:
        return None if self.gen_embeddings is None else int(self.gen_embeddings.shape[1])

    # -- sample sizes --------------------------------------------------------------------
    def sizes(self) -> dict[str, int]:
        """N behind each metric: the pairs, or the references that state an attribute."""
        out = {name: self.n for name in ALL_METRICS}
        if self.attributes is not None:
            for name in (*ATTRIBUTES, REWARD):
                out[f"attributes.{name}"] = self.attributes.n(name)
        return out

    # -- values --------------------------------------------------------------------------
    def _values(self, idx: np.ndarray,
                errors: dict[str, str] | None = None) -> dict[str, float | None]:
        """Every metric on the pairs ``idx`` (repeats allowed); None where it is undefined.

        R@k is the mean over the queries ``idx`` of each query's hit against the gallery of
        all the pairs (:func:`~vaselib.evaluation.original.retrieval_ranks`, counted once): a
        resample draws queries and keeps the gallery, so a resample's R@k is not inflated by
        a gallery with fewer distinct references: the resamples average to the value.
        FID uses :class:`~vaselib.evaluation.fid.ResampledFid`. Both equal the original's
        routines on the full set. A set-level computation that raises leaves its
        metrics None (a resample's value is then "undefined", counted by the bootstrap) and,
        when ``errors`` is given, records why.
        """
        v: dict[str, float | None] = dict.fromkeys(ALL_METRICS)

        def guarded(names: Sequence[str], fn: Callable[[], None]) -> None:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - undefined here, never a number
                for name in names:
                    v[name] = None
                    if errors is not None:
                        errors[name] = _error_text(exc)

        if self.cosine is not None:
            v["clip_score"] = v["semantic_similarity"] = float(self.cosine[idx].mean())
        if self.similarity is not None:
            def recall() -> None:
                for name, hits in self.query_hits().items():
                    v[name] = float(hits[idx].mean())
            guarded([*RECALL_KS, *TIE_AWARE], recall)
        if self.jaccard is not None:
            v["lexical_similarity"] = float(self.jaccard[idx].mean())
        if self._fid is not None:
            guarded(["fid_score"], lambda: v.__setitem__("fid_score", self._fid(idx)))
        if self.attributes is not None:
            for name in (*ATTRIBUTES, REWARD):
                v[f"attributes.{name}"] = self.attributes.mean(name, idx)
        if self.bleu is not None:
            guarded(["text_metrics.bleu_4"],
                    lambda: v.__setitem__("text_metrics.bleu_4", self.bleu.score(idx)))
        if self.rouge_l is not None:
            v["text_metrics.rouge_l_f"] = float(self.rouge_l[idx].mean())
        if self.cider_d is not None:
            v["text_metrics.cider_d"] = float(self.cider_d[idx].mean())
        if self.clip_s is not None:
            v["image_grounded.clip_s"] = float(self.clip_s[idx].mean())
            v["image_grounded.reference_clip_s"] = float(self.reference_clip_s[idx].mean())
        out = {k: (None if x is None or not np.isfinite(x) else float(x)) for k, x in v.items()}
        return _with_overall(out)

    def statistic(self, idx: np.ndarray) -> dict[str, float | None]:
        """The values on a resample ``idx`` of the pairs (for the bootstrap); each distinct
        resample is computed once."""
        idx = np.asarray(idx, dtype=np.int64)
        key = idx.tobytes()
        if key not in self._memo:
            self._memo[key] = self._values(idx)
        return dict(self._memo[key])

    def results(self) -> tuple[dict[str, float | None], dict[str, str]]:
        """Values on all pairs and the error of every metric that has none.

        R@k and FID come from the original's own routines here (the stable ``argsort`` and
        ``sqrtm``); a metric without a value always has an entry in the errors.
        """
        if not self.n:
            return dict.fromkeys(ALL_METRICS), dict(self.errors)
        errors = dict(self.errors)
        values = self._values(np.arange(self.n), errors)
        if self.similarity is not None:
            for name, k in RECALL_KS.items():
                try:
                    values[name] = original.recall_at_k(self.similarity, k)
                except Exception as exc:  # noqa: BLE001
                    values[name], errors[name] = None, _error_text(exc)
        if self._fid is not None:
            try:
                values["fid_score"] = original.fid_score(self.gen_embeddings,
                                                         self.ref_embeddings)
            except Exception as exc:  # noqa: BLE001
                values["fid_score"], errors["fid_score"] = None, _error_text(exc)
        values = _with_overall(values)
        missing = [k for k in OVERALL_WEIGHTS if values[k] is None]
        if missing and "overall_score" not in errors:
            errors["overall_score"] = (
                f"needs {', '.join(missing)}, which could not be computed"
                + (f": {errors[missing[0]]}" if missing[0] in errors else ""))
        for name, value in values.items():
            if value is None and name not in errors:
                errors[name] = ("undefined: no reference of these pairs states this attribute"
                                if name.startswith("attributes.") else "undefined on these pairs")
        return values, errors

    # -- subsets -------------------------------------------------------------------------
    def query_hits(self) -> dict[str, np.ndarray]:
        """Per query: hit@k by the original's stable sort (``r_at_k``) and the expected hit
        under random tie-breaking (``tie_aware.r_at_k``), against all the pairs' references."""
        if self._hits is None:
            ranks = original.retrieval_ranks(self.similarity)
            hits = {}
            for name, k in RECALL_KS.items():
                hits[name] = original.hits_at_k(*ranks, k, "stable")
                hits[f"tie_aware.{name}"] = original.hits_at_k(*ranks, k, "expected")
            self._hits = hits
        return self._hits

    def select(self, positions: Sequence[int]) -> ModelScores:
        """This model restricted to the pairs at ``positions`` (their order kept).

        Per-pair values are sliced as they are (CIDEr-D keeps the IDF of the full set).
        """
        p = np.asarray(positions, dtype=np.int64)

        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[p]

        attributes = None if self.attributes is None else replace(
            self.attributes, per_item={k: v[p] for k, v in self.attributes.per_item.items()})
        sub = replace(
            self, ids=[self.ids[i] for i in p], generated=[self.generated[i] for i in p],
            references=[self.references[i] for i in p], cosine=cut(self.cosine),
            similarity=None if self.similarity is None else self.similarity[np.ix_(p, p)],
            gen_embeddings=cut(self.gen_embeddings), ref_embeddings=cut(self.ref_embeddings),
            jaccard=cut(self.jaccard), attributes=attributes,
            bleu=None if self.bleu is None else replace(self.bleu, stats=self.bleu.stats[p]),
            rouge_l=cut(self.rouge_l), cider_d=cut(self.cider_d), clip_s=cut(self.clip_s),
            reference_clip_s=cut(self.reference_clip_s), errors=dict(self.errors),
            _fid=None, _memo={}, _hits=None)
        sub._build_fid()
        return sub

    def _build_fid(self) -> None:
        self._fid = None
        if self.gen_embeddings is None:
            return
        try:
            if self.n < 2:
                raise ValueError(f"FID needs at least 2 pairs, got {self.n}")
            self._fid = ResampledFid(self.gen_embeddings, self.ref_embeddings)
            self.errors.pop("fid_score", None)
        except Exception as exc:  # noqa: BLE001 - reported, never a number
            self.errors["fid_score"] = _error_text(exc)


def _with_overall(values: dict[str, float | None]) -> dict[str, float | None]:
    """``values`` with ``overall_score`` set from its parts (None when one is missing)."""
    parts_known = all(values.get(k) is not None for k in OVERALL_WEIGHTS)
    values["overall_score"] = original.overall_score(values) if parts_known else None
    return values


def _run(errors: dict[str, str], metrics: Sequence[str], fn: Callable[[], object]) -> object:
    """``fn()``, or None with its error recorded for each of ``metrics``."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a failing metric is reported, not zeroed
        for m in metrics:
            errors[m] = _error_text(exc)
        return None


def _encode(encoder: Callable[[list[str]], np.ndarray], texts: list[str],
            what: str) -> np.ndarray:
    return original.as_rows(encoder(list(texts)), len(texts), what)


def score_pairs(generated: Sequence[str], references: Sequence[str], ids: Sequence[str], *,
                text_features: Callable[[list[str]], np.ndarray] | None,
                sentence_embeddings: Callable[[list[str]], np.ndarray] | None,
                similarity: str = "lexical", tau: float = TAU,
                encoders: dict[str, str] | None = None,
                image_features: Callable[[list[str]], np.ndarray] | None = None
                ) -> ModelScores:
    """Compute everything one model's metrics need (module docstring).

    ``text_features`` / ``sentence_embeddings`` may be None: their metrics are then reported
    as not computed, with that reason.  ``image_features`` maps image ids to one row each
    in the space of ``text_features`` (the same CLIP's image tower): the image-grounded
    CLIPScore needs both.
    """
    gen, ref = list(generated), list(references)
    scores = ModelScores(list(ids), gen, ref, encoders=dict(encoders or {}))
    errors = scores.errors
    if not gen:
        for m in ALL_METRICS:
            errors[m] = "no matched pairs: no generated record has a ground-truth partner"
        return scores

    if text_features is None:
        for m in _TEXT_FEATURE_METRICS:
            errors[m] = "not computed: no text_features encoder was given"
    else:
        feats = _run(errors, _TEXT_FEATURE_METRICS, lambda: (
            original.l2_normalise(_encode(text_features, gen, "text_features"),
                                  "text_features (generated)"),
            original.l2_normalise(_encode(text_features, ref, "text_features"),
                                  "text_features (references)")))
        if feats is not None:
            tg, tr = feats
            if tg.shape[1] != tr.shape[1]:
                for m in _TEXT_FEATURE_METRICS:
                    errors[m] = (f"ValueError: text_features gave {tg.shape[1]} columns for "
                                 f"generated and {tr.shape[1]} for reference captions")
            else:
                scores.cosine = np.sum(tg * tr, axis=1)
                scores.similarity = tg @ tr.T
                _ground(scores, image_features, tg, tr)

    if text_features is None or scores.cosine is None:
        for m in IMAGE_GROUNDED:
            errors.setdefault(m, "not computed: needs the CLIP text features of the captions")

    if sentence_embeddings is None:
        errors["fid_score"] = "not computed: no sentence_embeddings encoder was given"
    else:
        emb = _run(errors, ["fid_score"], lambda: (
            _encode(sentence_embeddings, gen, "sentence_embeddings"),
            _encode(sentence_embeddings, ref, "sentence_embeddings")))
        if emb is not None:
            scores.gen_embeddings, scores.ref_embeddings = emb
            scores._build_fid()

    scores.jaccard = _run(errors, ["lexical_similarity"],
                          lambda: original.jaccard_per_item(gen, ref))
    scores.attributes = _run(errors, ATTRIBUTE_METRICS, lambda: attribute_scores(
        gen, ref, similarity=similarity, tau=tau))
    scores.bleu = _run(errors, ["text_metrics.bleu_4"],
                       lambda: text_metrics.bleu_statistics(gen, ref))
    scores.rouge_l = _run(errors, ["text_metrics.rouge_l_f"],
                          lambda: text_metrics.rouge_l_per_item(gen, ref))
    scores.cider_d = _run(errors, ["text_metrics.cider_d"],
                          lambda: text_metrics.cider_d_per_item(gen, ref))
    return scores


def _ground(scores: ModelScores, image_features: Callable[[list[str]], np.ndarray] | None,
            tg: np.ndarray, tr: np.ndarray) -> None:
    """The image-grounded CLIPScore of each pair from normalised text features ``tg``/``tr``."""
    if image_features is None:
        for m in IMAGE_GROUNDED:
            scores.errors[m] = "not computed: no image_features encoder was given"
        return
    img = _run(scores.errors, IMAGE_GROUNDED, lambda: original.l2_normalise(
        original.as_rows(image_features(list(scores.ids)), scores.n, "image_features"),
        "image_features"))
    if img is None:
        return
    if img.shape[1] != tg.shape[1]:
        for m in IMAGE_GROUNDED:
            scores.errors[m] = (f"ValueError: image_features gave {img.shape[1]} columns, the "
                                f"text features {tg.shape[1]}: they must come from one CLIP")
        return
    scores.clip_s = CLIP_S_WEIGHT * np.maximum(np.sum(img * tg, axis=1), 0.0)
    scores.reference_clip_s = CLIP_S_WEIGHT * np.maximum(np.sum(img * tr, axis=1), 0.0)
