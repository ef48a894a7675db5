"""The original evaluation's metrics, checked against values worked out by hand.

Every expected number below comes from a hand computation written next to it, never from the
code under test.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from vaselib.evaluation import original
from vaselib.evaluation.fid import ResampledFid, trace_sqrt_product
from vaselib.evaluation.original import (
    fid_condition,
    fid_score,
    jaccard,
    lexical_similarity,
    model_name,
    overall_score,
    recall_at_k,
    recall_at_k_tie_aware,
    retrieval_ranks,
)

EPS = original.FID_RIDGE

# Row 0: own score 0.9 tied with column 1 (a stable sort puts column 0, the own one, first).
# Row 1: own score 0.5 is the largest.
# Row 2: a three-way tie; the own column 2 comes last in a stable sort.
S_TIES = np.array([[0.9, 0.9, 0.1],
                   [0.2, 0.5, 0.1],
                   [0.4, 0.4, 0.4]])


# --------------------------------------------------------------------------------- R@k

@pytest.mark.parametrize("k, expected", [
    (1, 2 / 3),   # row 0 hit (first of the tie), row 1 hit, row 2 at place 3: miss
    (2, 2 / 3),   # row 2 still third
    (3, 1.0),
    (5, 1.0),     # k ≥ N: everything is a hit
    (10, 1.0),
])
def test_recall_stable_ties_by_hand(k, expected):
    assert recall_at_k(S_TIES, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("k, expected", [
    # row 0: 2 places (0, 1) equally likely -> P(place < 1) = 1/2; row 1: 1; row 2: 1/3
    (1, (1 / 2 + 1 + 1 / 3) / 3),   # = 11/18
    # row 0: 1; row 1: 1; row 2: places 0..2, two of three < 2 -> 2/3
    (2, (1 + 1 + 2 / 3) / 3),       # = 8/9
    (3, 1.0),
])
def test_recall_tie_aware_by_hand(k, expected):
    assert recall_at_k_tie_aware(S_TIES, k) == pytest.approx(expected, abs=1e-12)


def test_retrieval_ranks_by_hand():
    above, before, tied = retrieval_ranks(S_TIES)
    assert above.tolist() == [0, 0, 0]
    assert tied.tolist() == [1, 0, 2]
    assert before.tolist() == [0, 0, 2]


def test_recall_without_ties_both_rules_agree():
    s = np.array([[0.1, 0.8, 0.3], [0.2, 0.9, 0.0], [0.7, 0.1, 0.6]])
    # own ranks: row 0 third (0.1 < 0.3 < 0.8), row 1 first, row 2 second
    for k, expected in [(1, 1 / 3), (2, 2 / 3), (3, 1.0)]:
        assert recall_at_k(s, k) == pytest.approx(expected)
        assert recall_at_k_tie_aware(s, k) == pytest.approx(expected)


def test_rank_counting_equals_literal_stable_sort_on_many_ties():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 4, size=(40, 40)).astype(float)  # plenty of exact ties
    above, before, _ = retrieval_ranks(s)
    for k in (1, 5, 10):
        literal = [i in np.argsort(-row, kind="stable")[:k] for i, row in enumerate(s)]
        assert ((above + before) < k).tolist() == literal


def test_resample_copies_of_own_pair_are_not_competitors():
    # perfect retrieval: every own score is the row's largest; any resample must stay at 1
    s = np.eye(5) + 0.1
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = rng.integers(0, 5, size=5)
        above, before, tied = retrieval_ranks(s, idx)
        assert original.hits_at_k(above, before, tied, 1, "stable").mean() == 1.0
        assert original.hits_at_k(above, before, tied, 1, "expected").mean() == 1.0


def test_a_resample_draws_queries_and_keeps_the_whole_gallery():
    """R@1 of a bootstrap resample, by hand. Row 0: own 0.9, column 2 scores 0.95 above it:
    a miss against the whole gallery. Rows 1 and 2: own score the largest: hits. Full set:
    R@1 = 2/3. Resample [0, 0, 1]: queries 0, 0, 1 against all three references: (0 + 0 + 1)
    / 3 = 1/3 (a gallery cut to the resample, columns 0 and 1, would make row 0 a hit and
    give 1)."""
    from vaselib.evaluation.scoring import ModelScores

    s = np.array([[0.9, 0.1, 0.95],
                  [0.2, 0.8, 0.1],
                  [0.3, 0.4, 0.5]])
    m = ModelScores(ids=["a", "b", "c"], generated=["x"] * 3, references=["y"] * 3,
                    similarity=s)
    assert m.statistic(np.arange(3))["r_at_1"] == pytest.approx(2 / 3)
    assert m.statistic(np.array([0, 0, 1]))["r_at_1"] == pytest.approx(1 / 3)
    assert m.statistic(np.array([0, 0, 1]))["tie_aware.r_at_1"] == pytest.approx(1 / 3)
    assert m.statistic(np.array([2, 2, 2]))["r_at_5"] == 1.0


def test_hits_per_row_by_hand():
    ranks = retrieval_ranks(S_TIES)
    # stable: row 0 first of its tie, row 1 alone on top, row 2 behind both tied columns
    assert original.hits_at_k(*ranks, 1, "stable").tolist() == [1.0, 1.0, 0.0]
    assert original.hits_at_k(*ranks, 2, "stable").tolist() == [1.0, 1.0, 0.0]
    assert original.hits_at_k(*ranks, 1, "expected").tolist() == pytest.approx(
        [1 / 2, 1.0, 1 / 3])
    with pytest.raises(ValueError, match="ties"):
        original.hits_at_k(*ranks, 1, "random")


def test_recall_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        recall_at_k(np.ones((2, 3)), 1)


# ---------------------------------------------------------------------- lexical, overall

def test_jaccard_known_strings():
    assert jaccard("A red vase", "a Red amphora") == pytest.approx(2 / 4)   # {a, red} / 4
    assert jaccard("black-figure lekythos", "lekythos black-figure") == 1.0
    assert jaccard("vase,", "vase") == 0.0                                   # punctuation kept
    assert jaccard("the the cat", "the cat") == 1.0                          # sets
    assert jaccard("", "") == 0.0
    assert lexical_similarity(["A red vase", "vase,", "the the cat"],
                              ["a Red amphora", "vase", "the cat"]) == pytest.approx(0.5)


def test_overall_score_weights():
    metrics = {"clip_score": 0.8, "semantic_similarity": 0.8, "r_at_10": 0.5,
               "lexical_similarity": 0.4, "r_at_5": 0.3, "r_at_1": 0.1}
    # 0.25·0.8 + 0.25·0.8 + 0.20·0.5 + 0.15·0.4 + 0.10·0.3 + 0.05·0.1
    # = 0.2 + 0.2 + 0.1 + 0.06 + 0.03 + 0.005
    assert overall_score(metrics) == pytest.approx(0.595, abs=1e-12)
    assert sum(original.OVERALL_WEIGHTS.values()) == pytest.approx(1.0)


def test_overall_score_missing_part_is_an_error_not_zero():
    with pytest.raises(ValueError, match="r_at_5"):
        overall_score({"clip_score": 0.8, "semantic_similarity": 0.8, "r_at_10": 0.5,
                       "lexical_similarity": 0.4, "r_at_5": None, "r_at_1": 0.1})


def test_clip_score_and_semantic_similarity_are_the_same_cosine():
    gen = np.array([[3.0, 4.0], [1.0, 0.0]])
    ref = np.array([[1.0, 0.0], [0.0, 2.0]])
    # cos = (3·1 + 4·0)/5 = 0.6 and 0 -> mean 0.3
    assert original.clip_score(gen, ref) == pytest.approx(0.3)
    assert original.semantic_similarity(gen, ref) == original.clip_score(gen, ref)


def test_model_name_rule():
    assert model_name("results/image_VaseVLM-7B-RL.json") == "VaseVLM-7B-RL"
    assert model_name("qwen2.5-vl-7b.json") == "qwen2.5-vl-7b"
    assert model_name("my_image_model.json") == "my_image_model"   # only a leading image_


# --------------------------------------------------------------------------------- FID

def test_fid_identical_sets_is_zero():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(30, 4))
    assert fid_score(e, e) == pytest.approx(0.0, abs=1e-8)


def test_fid_one_dimensional_closed_form():
    x = np.array([[0.0], [2.0]])            # mean 1, sample variance 2
    y = np.array([[3.0], [5.0], [7.0]])     # mean 5, sample variance 4
    a, b = 2 + EPS, 4 + EPS
    expected = (1 - 5) ** 2 + a + b - 2 * math.sqrt(a * b)   # ≈ 22 − 4√2
    assert fid_score(x, y) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(22 - 4 * math.sqrt(2), abs=1e-5)


def test_fid_diagonal_closed_form():
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    y = 2 * x + np.array([3.0, 4.0])
    # x: mean 0, covariance (2/3)·I; y: mean (3, 4), covariance (8/3)·I. Per dimension
    # (√σ₁ − √σ₂)² with the ridge; mean term 3² + 4² = 25. Without the ridge: 25 + 4/3.
    a, b = 2 / 3 + EPS, 8 / 3 + EPS
    expected = 25 + 2 * (math.sqrt(a) - math.sqrt(b)) ** 2
    assert fid_score(x, y) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(25 + 4 / 3, abs=1e-5)


def test_fid_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        fid_score(np.ones((1, 3)), np.ones((1, 3)))


def test_fid_condition_flag():
    flagged, reason = fid_condition(3, 5)
    assert flagged and "3" in reason and "5" in reason
    assert fid_condition(5, 5)[0]                      # N = d is still singular
    assert fid_condition(6, 5) == (False, None)


@pytest.mark.parametrize("n, d", [(8, 20), (25, 6)])
def test_resampled_fid_equals_original_sqrtm(n, d):
    rng = np.random.default_rng(n)
    g, r = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 0.5
    fid = ResampledFid(g, r)
    assert fid(np.arange(n)) == pytest.approx(fid_score(g, r), rel=1e-7, abs=1e-9)
    idx = rng.integers(0, n, size=n)
    assert fid(idx) == pytest.approx(fid_score(g[idx], r[idx]), rel=1e-7, abs=1e-9)


def test_trace_sqrt_product_diagonal():
    # Tr((diag(1, 4)·diag(9, 1))^½) = √9 + √4 = 5
    assert trace_sqrt_product(np.diag([1.0, 4.0]), np.diag([9.0, 1.0])) == pytest.approx(5.0)


def test_trace_sqrt_product_of_a_singular_covariance():
    # Σ₁ = diag(0, 4) has no Cholesky factor; Tr((diag(0, 4)·diag(9, 1))^½) = 0 + √4 = 2
    assert trace_sqrt_product(np.diag([0.0, 4.0]), np.diag([9.0, 1.0])) == pytest.approx(2.0)


def test_trace_sqrt_product_of_dense_covariances_equals_sqrtm():
    import scipy.linalg

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(40, 6)), rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = float(np.trace(np.real(scipy.linalg.sqrtm(s1 @ s2))))
    assert trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-9)
