"""Standard caption metrics (BLEU-4, ROUGE-L, CIDEr-D) and per-attribute accuracy."""
from __future__ import annotations

import numpy as np
import pytest

from vaselib.evaluation import text_metrics
from vaselib.evaluation.attributes import attribute_scores
from vaselib.vlm.reward import VaseAccuracyReward

# No word is shared between captions, so every n-gram has a document frequency of 1 and a
# positive CIDEr IDF (log 2 − log 1).
DISTINCT = ["athenian black-figure lekythos depicting herakles wrestling",
            "corinthian aryballos with lions and goats around"]
OTHER = ["some unrelated words entirely here", "nothing matching appears at all now"]


def test_identical_captions_reach_the_maxima():
    assert text_metrics.corpus_bleu(DISTINCT, DISTINCT) == pytest.approx(100.0)
    assert text_metrics.bleu_statistics(DISTINCT, DISTINCT).score() == pytest.approx(100.0)
    assert text_metrics.rouge_l_per_item(DISTINCT, DISTINCT).tolist() == [1.0, 1.0]
    # CIDEr-D: cosine 1 for each n, no length penalty, mean over n times 10
    assert text_metrics.cider_d_per_item(DISTINCT, DISTINCT) == pytest.approx([10.0, 10.0])


def test_disjoint_captions_score_zero():
    assert text_metrics.corpus_bleu(OTHER, DISTINCT) == 0.0
    assert text_metrics.bleu_statistics(OTHER, DISTINCT).score() == 0.0
    assert text_metrics.rouge_l_per_item(OTHER, DISTINCT).tolist() == [0.0, 0.0]
    assert text_metrics.cider_d_per_item(OTHER, DISTINCT).tolist() == [0.0, 0.0]


def test_rouge_l_by_hand():
    # LCS of "a b c d" and "a c d e" is "a c d": P = R = 3/4, F = 3/4
    assert text_metrics.rouge_l_per_item(["a b c d"], ["a c d e"])[0] == pytest.approx(0.75)


def test_summed_bleu_statistics_equal_sacrebleu_corpus_bleu():
    gen = ["the black-figure lekythos shows Herakles", "an aryballos with lions",
           "red-figure kylix", "a symposion on a krater"]
    ref = ["black-figure lekythos showing Herakles and the boar", "aryballos with lions",
           "Athenian red-figure kylix with athletes", "a krater depicting a symposion"]
    stats = text_metrics.bleu_statistics(gen, ref)
    assert stats.score() == pytest.approx(text_metrics.corpus_bleu(gen, ref), abs=1e-9)
    idx = np.array([0, 0, 2, 3])
    assert stats.score(idx) == pytest.approx(
        text_metrics.corpus_bleu([gen[i] for i in idx], [ref[i] for i in idx]), abs=1e-9)
    assert "tok:13a" in stats.signature


def test_cider_needs_two_pairs():
    with pytest.raises(ValueError, match="at least 2"):
        text_metrics.cider_d_per_item(["a b"], ["a b"])


def test_tokens_drop_punctuation_keep_hyphens():
    assert text_metrics.tokens("Attic Black-Figure, c. 525 BCE.") == [
        "attic", "black-figure", "c", "525", "bce"]


REFS = [("Athenian black-figure lekythos, c. 525–475 BCE, depicting Herakles and the boar; "
         "Marathon, Attica."),
        "Corinthian aryballos, c. 600 BCE, depicting an owl."]
GENS = [("Attic red-figure squat lekythos, c. 520–470 BCE, depicting Herakles and the boar; "
         "Vulci, Etruria."),
        "Corinthian aryballos showing an owl."]


def test_attribute_accuracy_on_two_hand_written_captions():
    scores = attribute_scores(GENS, REFS, similarity="lexical")
    expected = {
        # Attic is the Athenian fabric; both name Corinthian
        "fabric": (1.0, 2),
        # only the first reference names a technique, and red ≠ black
        "technique": (0.0, 1),
        # squat lekythos ≠ lekythos; aryballos = aryballos
        "shape": (0.5, 2),
        # squat lekythos is of the lekythos family
        "shape_family": (1.0, 2),
        # 520–470 vs 525–475 overlap; the second caption has no date
        "dating": (0.5, 2),
        # widened by 10 years: [-530, -460] vs [-535, -465] -> 65 / 75; then 0
        "dating_iou": ((65 / 75 + 0.0) / 2, 2),
        # same decoration text in both pairs
        "decoration": (1.0, 2),
        # Vulci, Etruria vs Marathon, Attica; the second reference names no place
        "attribution": (0.0, 1),
    }
    for name, (value, n) in expected.items():
        assert scores.mean(name) == pytest.approx(value), name
        assert scores.n(name) == n, name
    assert scores.similarity == "lexical"


def test_reward_per_item_is_the_grpo_reward():
    scores = attribute_scores(GENS + REFS[:1], REFS + REFS[:1])
    reward = VaseAccuracyReward(similarity="lexical")
    assert scores.per_item["external_vase_acc"].tolist() == pytest.approx(
        [reward.score(g, r).total for g, r in zip(GENS, REFS)] + [1.0])
    assert scores.n("external_vase_acc") == 3
