"""The fp32 re-check of reduced-precision scores: hand-worked cases, then stages 03 and 04
against a plain fp32 run of the same tiny CLIP."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest_clip import write_images

from vaselib.clip import best_view, fragment_filter, recheck
from vaselib.clip.params import BestViewParams, ClipQualityParams


def _fixed(t):
    return recheck.near_threshold(lambda s: (t, np.array([], dtype=int)))


def test_only_rows_near_the_threshold_are_rescored_and_decisions_become_fp32s():
    # fp32 scores and reduced ones off by at most 0.01; threshold 0.5
    fp32 = np.array([0.10, 0.30, 0.495, 0.505, 0.52, 0.70, 0.90, 0.508])
    err = np.array([0.01, -0.01, 0.01, -0.01, 0.005, 0.01, -0.01, -0.01])
    reduced = fp32 + err
    # reduced 0.505 (row 2) would be accepted and 0.495 (row 3) rejected: both flipped
    asked = []

    def rescore(rows):
        asked.append(list(rows))
        return fp32[rows]

    s, exact, r = recheck.near_decision(reduced, rescore, _fixed(0.5), np.array([0]),
                                        precision="bf16", margin=3)
    # calibration row 0: |Δ| 0.01 → band 0.03 → rows with reduced score in [0.47, 0.53]:
    # 2 (0.505), 3 (0.495), 4 (0.525), 7 (0.498)
    assert asked == [[0], [2, 3, 4, 7]]
    assert r.band == pytest.approx(0.03) and r.rounds == 1
    assert r.rescored_images == 5 and r.total_images == 8
    assert ((s >= 0.5) == (fp32 >= 0.5)).all()
    assert not ((reduced >= 0.5) == (fp32 >= 0.5)).all()        # the check mattered
    assert exact.tolist() == [True, False, True, True, True, False, False, True]
    assert s[~exact] == pytest.approx(reduced[~exact])           # the rest keep theirs


def test_the_band_widens_when_a_rescored_image_shows_a_larger_error():
    # threshold 0.5; calibration (row 0) says |Δ| ≤ 0.001, band 0.003; row 1 (0.002 below)
    # shows |Δ| 0.01, band → 0.03, which brings in row 2: 0.02 above the threshold in the
    # reduced score, 0.005 below in fp32 (|Δ| 0.025, band → 0.075)
    fp32 = np.array([0.0, 0.508, 0.495, 2.0])
    reduced = np.array([0.001, 0.498, 0.52, 2.0])
    s, _, r = recheck.near_decision(reduced, lambda rows: fp32[rows], _fixed(0.5),
                                    np.array([0]), precision="int8")
    assert r.calibration_max_abs_delta == pytest.approx(0.001)
    assert ((s >= 0.5) == (fp32 >= 0.5)).all()
    assert ((reduced >= 0.5) != (fp32 >= 0.5)).sum() == 2
    assert r.max_abs_delta == pytest.approx(0.025)
    assert r.band == pytest.approx(0.075) and r.rounds == 2


def test_nan_from_rescore_keeps_the_reduced_score_and_does_not_loop():
    reduced = np.array([0.0, 0.001, 1.0])
    s, exact, r = recheck.near_decision(
        reduced, lambda rows: np.where(rows == 1, np.nan, reduced[rows] + 0.001), _fixed(0.0),
        np.array([0]), precision="bf16")
    assert s[1] == reduced[1] and exact[1]
    assert r.rescored_images == 2


def test_percentile_pins_are_numpys_order_statistics():
    s = np.array([9.0, 5.0, 1.0, 3.0, 2.0, 4.0])
    rows = np.array([1, 2, 3, 4, 5])           # values 5 1 3 2 4 → sorted 1 2 3 4 5
    t, pins = recheck.percentile_pins(s, rows, 25)
    assert t == 2.0 and list(pins) == [4, 4]   # (5 − 1) · 0.25 = 1: exactly the 2nd
    t, pins = recheck.percentile_pins(s, np.array([1, 2, 3, 4]), 25)
    # values 5 1 3 2 → sorted 1 2 3 5; k = 0.75: between 1 (row 2) and 2 (row 4)
    assert t == pytest.approx(1.75) and list(pins) == [2, 4]


def test_a_percentile_threshold_comes_out_as_fp32s():
    rng = np.random.default_rng(0)
    fp32 = rng.normal(size=400)
    reduced = fp32 + rng.uniform(-0.02, 0.02, size=400)
    rows = np.arange(0, 400, 2)                # the analysis sample
    near = recheck.near_threshold(lambda s: recheck.percentile_pins(s, rows, 25))
    s, _, r = recheck.near_decision(reduced, lambda q: fp32[q],
                                    near, recheck.calibration_rows(400, 1), precision="bf16")
    t_exact = np.percentile(fp32[rows], 25)
    assert np.percentile(s[rows], 25) == t_exact
    assert ((s >= t_exact) == (fp32 >= t_exact)).all()
    assert r.rescored_images < 200


def test_near_best_takes_groups_whose_runner_up_is_within_two_bands():
    s = np.array([1.0, 0.85, 0.3, 0.45, 0.1, 0.7])
    near = recheck.near_best([np.array([0, 1]), np.array([2]), np.array([3, 4, 5])])
    # group 0: 0.15 apart ≤ 2 · 0.1; group 1: one view; group 2: 0.25 apart > 0.2
    assert near(s, 0.1).tolist() == [True, True, False, False, False, False]
    assert near(s, 0.13).tolist() == [True, True, False, True, False, True]   # 0.25 ≤ 0.26


def test_calibration_rows_are_seeded_and_bounded():
    a = recheck.calibration_rows(1000, 7)
    assert len(a) == recheck.CALIBRATION_IMAGES and (np.diff(a) > 0).all()
    assert (a == recheck.calibration_rows(1000, 7)).all()
    assert (recheck.calibration_rows(10, 7) == np.arange(10)).all()
    with pytest.raises(ValueError, match="margin"):
        recheck.near_decision(np.zeros(2), lambda r: np.zeros(len(r)), _fixed(0), [0],
                              precision="bf16", margin=0.5)


# ----------------------------------------------------------------------------- stages

TINY = dict(model="vase-micro-vit", pretrained=None, batch_size=4)
pytestmark_stages = pytest.mark.usefixtures("isolated_clip")


@pytestmark_stages
@pytest.mark.parametrize("threshold", [None, 0.0])
def test_stage_03_int8_with_the_check_decides_as_fp32(tmp_path, threshold):
    write_images(tmp_path / "imgs", n_vases=12, views=2)
    common = dict(TINY, input_dir=str(tmp_path / "imgs"), cache_dir=str(tmp_path / "cache"),
                  threshold=threshold)
    ref = fragment_filter.run(ClipQualityParams(**common, output_dir=str(tmp_path / "a")),
                              progress=False)
    got = fragment_filter.run(ClipQualityParams(**common, output_dir=str(tmp_path / "b"),
                                                precision="int8"), progress=False)
    if threshold is None:
        assert got.threshold == pytest.approx(ref.threshold, abs=1e-6)
    assert (got.accepted_mask == ref.accepted_mask).all()
    rep = json.loads((tmp_path / "b" / "filtering_report.json").read_text())
    chk = rep["model"]["fp32_recheck"]
    assert rep["model"]["precision"] == "int8" and chk["precision"] == "int8"
    assert 0 < chk["rescored_images"] <= chk["total_images"] == 24
    assert any("checked in fp32" in n for n in rep["notes"])
    # scores re-checked are fp32's (its cache entries), the others int8's
    fp = {x["filename"]: x["quality_score"]
          for x in json.loads((tmp_path / "a" / "filtering_report.json").read_text())["results"]}
    same = sum(abs(x["quality_score"] - fp[x["filename"]]) < 1e-6 for x in rep["results"])
    assert same >= chk["rescored_images"]
    off = ClipQualityParams(**common, output_dir=str(tmp_path / "c"), precision="int8",
                            fp32_recheck=False)
    fragment_filter.run(off, progress=False)
    rep_off = json.loads((tmp_path / "c" / "filtering_report.json").read_text())
    assert "fp32_recheck" not in rep_off["model"]


@pytestmark_stages
def test_stage_04_int8_with_the_check_picks_fp32s_views(tmp_path):
    write_images(tmp_path / "imgs", n_vases=10, views=4)
    common = dict(TINY, input_dir=str(tmp_path / "imgs"), cache_dir=str(tmp_path / "cache"))
    ref = best_view.run(BestViewParams(**common, output_dir=str(tmp_path / "a")),
                        progress=False)
    got = best_view.run(BestViewParams(**common, output_dir=str(tmp_path / "b"),
                                       precision="int8"), progress=False)
    assert [c.selected_file for c in got.choices] == [c.selected_file for c in ref.choices]
    rep = json.loads((tmp_path / "b" / "best_views_report.json").read_text())
    assert rep["model"]["fp32_recheck"]["total_images"] == 40


@pytestmark_stages
def test_auto_is_bf16_with_the_check_where_bf16_is_native(tmp_path, monkeypatch):
    from vaselib import precision

    monkeypatch.setattr(precision, "native_bf16", lambda: True)
    write_images(tmp_path / "imgs", n_vases=8, views=2)
    common = dict(TINY, input_dir=str(tmp_path / "imgs"), cache_dir=str(tmp_path / "cache"),
                  threshold=None)
    ref = fragment_filter.run(ClipQualityParams(**common, output_dir=str(tmp_path / "a")),
                              progress=False)
    got = fragment_filter.run(ClipQualityParams(**common, output_dir=str(tmp_path / "b"),
                                                precision="auto"), progress=False)
    assert got.model["precision"] == "bf16" and "re-check" in got.model["precision_reason"]
    assert got.model["fp32_recheck"]["total_images"] == 16
    assert (got.accepted_mask == ref.accepted_mask).all()
    off = fragment_filter.run(ClipQualityParams(**common, output_dir=str(tmp_path / "c"),
                                                precision="auto", fp32_recheck=False),
                              progress=False)
    assert off.model["precision"] == "fp32"


def test_the_note_says_when_the_check_costs_more_than_it_saves():
    r = recheck.Recheck("bf16", 3.0, 0.01, 64, 0.003, 0.003, 50, 100, 1)
    assert "fp32 is faster" not in r.note("the threshold")          # 50 % < 55 %
    r.rescored_images = 60
    assert "fp32 is faster" in r.note("the threshold")
    r.precision, r.rescored_images = "int8", 40                    # 40 % > 33 %
    assert "fp32 is faster" in r.note("the threshold")
