"""Entry points: evaluate one model's captions, or compare several on one ground truth.

:func:`evaluate_captions` reproduces the original script on one generated file (same metric
names and values) and adds N, bootstrap intervals, errors instead of silent zeros, the FID
flag, tie-aware R@k, per-attribute accuracy and standard caption metrics.
:func:`compare_models` does that for every model and adds paired comparisons on shared ids.
Write the result with :func:`vaselib.evaluation.report.write_report`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from vaselib.evaluation import intervals as iv
from vaselib.evaluation import report
from vaselib.evaluation.encoders import encoder_name
from vaselib.evaluation.original import model_name as original_model_name
from vaselib.evaluation.records import MatchedRecords, match_records
from vaselib.evaluation.scoring import ModelScores, score_pairs
from vaselib.vlm.reward import SIMILARITIES, TAU

Encoder = Callable[[list[str]], np.ndarray]
Source = str | Path | Sequence[Any]


def _settings(scores: ModelScores, *, similarity: str, tau: float, n_boot: int, seed: int,
              level: float) -> dict[str, Any]:
    used = scores.attributes.similarity if scores.attributes is not None else None
    return {"similarity": similarity, "similarity_used": used, "tau": tau, "n_boot": n_boot,
            "seed": seed, "level": level,
            "bootstrap": "percentile, pairs resampled with replacement",
            "r_at_k_ties": "stable sort (original-compatible); tie_aware: expected hit"}


def _check_options(similarity: str, n_boot: int, level: float) -> None:
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, not {similarity!r}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be ≥ 0 (0 = no intervals), not {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), not {level}")


def _score(matched: MatchedRecords, text_features: Encoder | None,
           sentence_embeddings: Encoder | None, similarity: str, tau: float,
           image_features: Encoder | None) -> ModelScores:
    encoders = {"text_features": encoder_name(text_features) if text_features else None,
                "sentence_embeddings": (encoder_name(sentence_embeddings)
                                        if sentence_embeddings else None),
                "image_features": encoder_name(image_features) if image_features else None}
    return score_pairs(matched.generated, matched.references, matched.ids,
                       text_features=text_features, sentence_embeddings=sentence_embeddings,
                       similarity=similarity, tau=tau, encoders=encoders,
                       image_features=image_features)


def _intervals(scores: ModelScores, n_boot: int, seed: int,
               level: float) -> dict[str, iv.Interval]:
    if not n_boot or not scores.n:
        return {}
    return iv.bootstrap(scores.statistic, scores.n, n_boot=n_boot, seed=seed, level=level)


def _model_entry(matched: MatchedRecords, name: str, text_features: Encoder | None,
                 sentence_embeddings: Encoder | None, similarity: str, tau: float,
                 n_boot: int, seed: int, level: float,
                 image_features: Encoder | None = None) -> tuple[ModelScores, dict[str, Any]]:
    scores = _score(matched, text_features, sentence_embeddings, similarity, tau,
                    image_features)
    entry = report.model_report(
        scores, matched, name, _intervals(scores, n_boot, seed, level),
        _settings(scores, similarity=similarity, tau=tau, n_boot=n_boot, seed=seed,
                  level=level))
    return scores, entry


def evaluate_captions(generated_file: Source, ground_truth_file: Source, *,
                      text_features: Encoder | None, sentence_embeddings: Encoder | None,
                      similarity: str = "lexical", tau: float = TAU, n_boot: int = 1000,
                      seed: int = 0, level: float = iv.LEVEL,
                      model_name: str | None = None,
                      image_features: Encoder | None = None) -> dict[str, Any]:
    """One model's report entry (see :mod:`vaselib.evaluation.report` for the layout).

    ``generated_file`` and ``ground_truth_file`` are JSON caption files (or lists of records).
    ``text_features`` / ``sentence_embeddings`` map a list of captions to one row each (see
    :mod:`vaselib.evaluation.encoders`); None leaves their metrics uncomputed, with that
    reason. ``image_features`` maps image ids to rows of the same CLIP's image tower (for
    the image-grounded CLIPScore; None leaves it uncomputed). ``similarity`` is the reward
    backend for decoration/attribution and the reward; ``n_boot`` = 0 skips the intervals.
    ``model_name`` defaults to the original's rule on the generated file's name.
    """
    _check_options(similarity, n_boot, level)
    matched = match_records(generated_file, ground_truth_file)
    if model_name is None:
        model_name = (original_model_name(generated_file)
                      if isinstance(generated_file, (str, Path)) else "model")
    _, entry = _model_entry(matched, model_name, text_features, sentence_embeddings,
                            similarity, tau, n_boot, seed, level, image_features)
    return entry


def _first_positions(ids: Sequence[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, x in enumerate(ids):
        positions.setdefault(x, i)
    return positions


def paired_comparison(a: ModelScores, b: ModelScores, name_a: str, name_b: str, *,
                      n_boot: int = 1000, seed: int = 0,
                      level: float = iv.LEVEL) -> dict[str, Any]:
    """A − B on the ids both were scored on (first pair of each id), same resamples for both.

    Set-level metrics (R@k, FID, BLEU) are recomputed on the shared pairs only, so their
    values may differ from each model's own report when the matched sets differ.
    """
    pos_a, pos_b = _first_positions(a.ids), _first_positions(b.ids)
    shared = [x for x in pos_a if x in pos_b]
    only_a, only_b = len(set(pos_a) - set(pos_b)), len(set(pos_b) - set(pos_a))
    if not shared:
        return report.comparison_entry(name_a, name_b, 0, only_a, only_b, None,
                                       "no shared image ids")
    sel_a, sel_b = [pos_a[x] for x in shared], [pos_b[x] for x in shared]
    # all of a model's pairs, in order: the model itself (its resamples are already scored)
    sub_a = a if sel_a == list(range(a.n)) else a.select(sel_a)
    sub_b = b if sel_b == list(range(b.n)) else b.select(sel_b)
    if sub_a.references != sub_b.references:
        return report.comparison_entry(name_a, name_b, len(shared), only_a, only_b, None,
                                       "the models were matched to different reference "
                                       "captions for the same ids")
    if n_boot:
        differences = iv.paired_bootstrap(sub_a.statistic, sub_b.statistic, len(shared),
                                          n_boot=n_boot, seed=seed, level=level)
    else:
        va, vb = sub_a.results()[0], sub_b.results()[0]
        nan_interval = iv.Interval(None, None, level, 0)
        differences = {k: iv.Difference(None if va[k] is None or vb[k] is None
                                        else va[k] - vb[k], nan_interval, len(shared))
                       for k in va}
    return report.comparison_entry(name_a, name_b, len(shared), only_a, only_b, differences)


def compare_models(generated: Mapping[str, Source], ground_truth: Source, *,
                   text_features: Encoder | None, sentence_embeddings: Encoder | None,
                   similarity: str = "lexical", tau: float = TAU, n_boot: int = 1000,
                   seed: int = 0, level: float = iv.LEVEL,
                   baseline: str | None = None,
                   image_features: Encoder | None = None) -> dict[str, Any]:
    """The whole report for several models on one ground truth, with paired comparisons.

    ``generated`` maps a model name to its caption file (or list of records). Comparisons are
    every model against ``baseline`` when it is given, else every pair of models.
    ``image_features`` as in :func:`evaluate_captions`.
    """
    _check_options(similarity, n_boot, level)
    if not generated:
        raise ValueError("compare_models needs at least one model in 'generated'")
    if baseline is not None and baseline not in generated:
        raise ValueError(f"baseline {baseline!r} is not one of the models "
                         f"{sorted(generated)}")
    scored: dict[str, ModelScores] = {}
    entries: dict[str, dict[str, Any]] = {}
    for name, source in generated.items():
        scored[name], entries[name] = _model_entry(
            match_records(source, ground_truth), name, text_features, sentence_embeddings,
            similarity, tau, n_boot, seed, level, image_features)
    if baseline is None:
        # each model against every model listed before it: later − earlier (SFT − base)
        pairs = [(b, a) for a, b in combinations(generated, 2)]
    else:
        pairs = [(name, baseline) for name in generated if name != baseline]
    comparisons = [paired_comparison(scored[a], scored[b], a, b, n_boot=n_boot, seed=seed,
                                     level=level) for a, b in pairs]
    return report.assemble(entries, comparisons)
