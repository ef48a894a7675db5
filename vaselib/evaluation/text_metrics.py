"""Standard caption metrics that share no code with the GRPO reward.

``bleu_4``
    Corpus BLEU-4 of sacrebleu with its defaults (13a tokenisation, case-sensitive,
    exponential smoothing), on sacrebleu's 0–100 scale; the signature is recorded. Corpus BLEU
    is a function of summed per-sentence statistics (n-gram matches and totals, lengths), so
    those are kept per pair and a bootstrap resample sums its rows (:class:`BleuStatistics`).
``rouge_l_f``
    Mean ROUGE-L F-measure of the ``rouge-score`` package, without stemming (its own
    tokeniser: lower case, letters and digits only), in [0, 1].
``cider_d``
    pycocoevalcap's ``Cider`` scorer (n = 1..4, σ = 6, with CIDEr-D's count clipping and
    Gaussian length penalty), on a 0–10 scale, fed lower-cased word tokens (:func:`tokens`:
    punctuation dropped, hyphenated words kept) instead of the Java PTB tokeniser. Its IDF
    is computed over the references of the whole set, so it needs at least two pairs; a
    bootstrap resamples the per-pair values with that IDF held fixed.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BLEU_ORDER = 4
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*")


def _check(generated: Sequence[str], references: Sequence[str], metric: str) -> None:
    if len(generated) != len(references):
        raise ValueError(f"{metric}: {len(generated)} generated captions but "
                         f"{len(references)} references")
    if not len(generated):
        raise ValueError(f"{metric} needs at least one pair")


@dataclass
class BleuStatistics:
    """Per-pair BLEU sufficient statistics: columns sys_len, ref_len, correct₁..₄, total₁..₄."""

    stats: np.ndarray
    signature: str

    def score(self, idx: np.ndarray | None = None) -> float:
        """Corpus BLEU (0–100) of the pairs ``idx`` (all by default; repeats allowed)."""
        from sacrebleu.metrics import BLEU

        rows = self.stats if idx is None else self.stats[idx]
        total = rows.sum(axis=0)
        k = BLEU_ORDER
        return float(BLEU.compute_bleu(
            correct=[int(v) for v in total[2:2 + k]], total=[int(v) for v in total[2 + k:]],
            sys_len=int(total[0]), ref_len=int(total[1]), smooth_method="exp",
            max_ngram_order=k).score)


def bleu_statistics(generated: Sequence[str], references: Sequence[str]) -> BleuStatistics:
    """Sufficient statistics of each pair, from sacrebleu's own corpus scorer."""
    from sacrebleu.metrics import BLEU

    _check(generated, references, "BLEU")
    bleu = BLEU(max_ngram_order=BLEU_ORDER)
    rows = []
    for g, r in zip(generated, references):
        s = bleu.corpus_score([g], [[r]])
        rows.append([s.sys_len, s.ref_len, *s.counts, *s.totals])
    return BleuStatistics(np.asarray(rows, dtype=np.int64), str(bleu.get_signature()))


def corpus_bleu(generated: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU-4 (0–100) by sacrebleu directly."""
    from sacrebleu.metrics import BLEU

    _check(generated, references, "BLEU")
    return float(BLEU(max_ngram_order=BLEU_ORDER).corpus_score(
        list(generated), [list(references)]).score)


def rouge_l_per_item(generated: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """ROUGE-L F-measure of each pair (``rouge-score``, no stemming)."""
    from rouge_score import rouge_scorer

    _check(generated, references, "ROUGE-L")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return np.array([scorer.score(r, g)["rougeL"].fmeasure
                     for g, r in zip(generated, references)], dtype=np.float64)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens: punctuation dropped, ``black-figure`` kept as one word."""
    return _TOKEN.findall(text.lower())


def cider_d_per_item(generated: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """pycocoevalcap CIDEr(-D) of each pair, IDF over all references (0–10)."""
    from pycocoevalcap.cider.cider import Cider

    _check(generated, references, "CIDEr-D")
    if len(generated) < 2:
        raise ValueError("CIDEr-D needs at least 2 pairs: its IDF is computed over the "
                         "references, and with one reference every weight is 0")
    res = {i: [" ".join(tokens(g))] for i, g in enumerate(generated)}
    gts = {i: [" ".join(tokens(r))] for i, r in enumerate(references)}
    _, scores = Cider().compute_score(gts, res)
    return np.asarray(scores, dtype=np.float64)
