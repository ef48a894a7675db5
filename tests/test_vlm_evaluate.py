"""Held-out caption metrics (vaselib.vlm.evaluate), against values worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from vaselib.vlm import evaluate

ATTRS = {"fabric": "Athenian", "technique": "black-figure", "shape": "neck-amphora",
         "date": [-525, -475], "decoration": "Herakles and the Nemean lion",
         "attribution": None, "provenance": "Vulci, Etruria"}
REF = ("Athenian black-figure neck-amphora, c. 525–475 BCE, depicting Herakles and the "
       "Nemean lion; Vulci, Etruria.")


def test_iou_of_year_ranges():
    assert evaluate.iou((-525, -475), (-500, -450)) == pytest.approx(25 / 75)
    assert evaluate.iou((-525, -475), (-475, -425)) == 0.0      # touching, no overlap
    assert evaluate.iou((-525, -475), (-525, -475)) == 1.0
    assert evaluate.iou((-500, -500), (-500, -500)) == 1.0      # one year each, the same
    assert evaluate.iou(None, (-500, -450)) == 0.0


def test_dimension_scores_of_captions():
    s = evaluate.dimension_scores(REF, ATTRS)
    assert s == {"technique": 1.0, "fabric": 1.0, "shape": 1.0, "shape_family": 1.0,
                 "dating": 1.0, "dating_iou": 1.0}
    other = ("Corinthian red-figure amphora, c. 500–450 BCE, depicting a symposion; "
             "Nola.")
    s = evaluate.dimension_scores(other, ATTRS)
    assert (s["technique"], s["fabric"], s["shape"], s["shape_family"]) == (0, 0, 0, 1)
    assert s["dating_iou"] == pytest.approx(25 / 75)
    # the reward's date overlap widens both ranges by 10 years: 535-465 vs 510-440 BCE,
    # overlap 510-465 = 45 years of 535-440 = 95 (the reward's documented ~0.47)
    assert s["dating"] == pytest.approx(45 / 95)
    two = "Athenian black-figure neck-amphora or hydria, c. 525–475 BCE."
    assert evaluate.dimension_scores(two, ATTRS)["shape"] == 0.0   # hedging is not exact
    assert evaluate.dimension_scores("a vase", ATTRS)["shape_family"] == 0.0


def test_bootstrap_and_paired_difference():
    x = np.r_[np.zeros(50), np.ones(50)]
    lo, hi = evaluate.bootstrap_interval(x, seed=1)
    se = 0.5 / np.sqrt(100)
    assert lo == pytest.approx(0.5 - 1.96 * se, abs=0.02)
    assert hi == pytest.approx(0.5 + 1.96 * se, abs=0.02)
    same = evaluate.paired_difference(x, x)
    assert same["mean"] == 0.0 and same["ci95"] == (0.0, 0.0) and same["ties"] == 100
    up = evaluate.paired_difference(np.zeros(40), np.full(40, 0.1))
    assert up["mean"] == pytest.approx(0.1) and up["ci95"][0] == pytest.approx(0.1)
    assert up["wins"] == 40 and up["p_positive"] == 1.0


def test_score_and_summarise_with_the_lexical_reward():
    vases = [{"id": "a", "caption": REF, "attributes": ATTRS}] * 2
    rows = evaluate.score_captions([REF, "nothing at all"], vases, similarity="lexical")
    assert rows[0]["reward"] == pytest.approx(1.0) and rows[1]["technique"] == 0.0
    s = evaluate.summarise(rows)
    assert s["n"] == 2 and s["technique"] == 0.5 and s["shape"] == 0.5
    assert s["reward"] == pytest.approx((1.0 + rows[1]["reward"]) / 2)
    with pytest.raises(ValueError, match="2 vases"):
        evaluate.score_captions([REF], vases)
