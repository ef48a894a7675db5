"""Stages 03 and 04 end to end on tiny images with a tiny random CLIP."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest_clip import vase_name, write_images
from PIL import Image

from vaselib import runs
from vaselib.clip import best_view, fragment_filter, widgets
from vaselib.clip.params import DEFAULT_VIEW_PATTERN, BestViewParams, ClipQualityParams
from vaselib.params import ParameterError, validate


pytestmark = pytest.mark.usefixtures("isolated_clip")


TINY = dict(model="vase-micro-vit", pretrained=None, batch_size=4)


def _q(tmp_path, **kw):
    return ClipQualityParams(**{**TINY, "input_dir": str(tmp_path / "imgs"),
                                "output_dir": str(tmp_path / "out03"),
                                "cache_dir": str(tmp_path / "cache"), **kw})


def _b(tmp_path, **kw):
    return BestViewParams(**{**TINY, "input_dir": str(tmp_path / "imgs"),
                             "output_dir": str(tmp_path / "out04"),
                             "cache_dir": str(tmp_path / "cache"), **kw})


# ----------------------------------------------------------------------------- 03

def test_threshold_none_takes_the_25th_percentile_and_records_it(tmp_path):
    write_images(tmp_path / "imgs", n_vases=10, views=2)
    r = fragment_filter.run(_q(tmp_path, threshold=None, sample_size=500), progress=False)
    assert r.threshold == pytest.approx(np.percentile(r.scores, 25), abs=1e-6)
    assert r.threshold_source.startswith("auto")
    rep = json.loads((tmp_path / "out03" / "filtering_report.json").read_text())
    assert rep["threshold"] == pytest.approx(r.threshold)
    assert "25th percentile" in rep["threshold_source"]
    assert rep["accepted_images"] == 15 and rep["rejected_images"] == 5   # keeps ~75 %
    assert any("25th percentile" in n for n in rep["notes"])


def test_filter_report_has_the_originals_fields_and_files_land(tmp_path):
    write_images(tmp_path / "imgs", n_vases=4, views=2)
    r = fragment_filter.run(_q(tmp_path, threshold=0.0), progress=False)
    rep = json.loads((tmp_path / "out03" / "filtering_report.json").read_text())
    row = rep["results"][0]
    assert row["quality_score"] == pytest.approx(
        row["high_quality_similarity"] - row["low_quality_similarity"], abs=1e-6)
    acc = sorted(p.name for p in (tmp_path / "out03" / "accepted").rglob("*.png"))
    rej = sorted(p.name for p in (tmp_path / "out03" / "rejected").rglob("*.png"))
    assert acc == sorted(x["filename"] for x in rep["results"] if x["accepted"])
    assert len(acc) + len(rej) == 8 == rep["total_images"]
    assert rep["input_directory"] == runs.display_path(tmp_path / "imgs")
    s = runs.read_summary(tmp_path / "out03")
    assert s["headline"]["accepted"] == r.accepted


def test_corrupt_image_is_a_failure_not_a_rejection(tmp_path):
    write_images(tmp_path / "imgs", n_vases=2, views=2)
    (tmp_path / "imgs" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    r = fragment_filter.run(_q(tmp_path, threshold=-2.0), progress=False)   # everything readable passes
    rep = json.loads((tmp_path / "out03" / "filtering_report.json").read_text())
    assert rep["failures"] == [{"file": "broken.jpg", "reason": rep["failures"][0]["reason"]}]
    assert "cannot decode" in rep["failures"][0]["reason"]
    assert "broken.jpg" not in [x["filename"] for x in rep["results"]]
    assert r.accepted == 4 and r.rejected == 0 and r.failed == 1 and r.total == 5
    assert not (tmp_path / "out03" / "rejected" / "broken.jpg").exists()


def test_recursive_input_keeps_relative_paths_and_equal_names(tmp_path):
    write_images(tmp_path / "imgs", n_vases=2, views=1, sub="a", seed=1)
    write_images(tmp_path / "imgs", n_vases=2, views=1, sub="b/c", seed=2)  # same names
    fragment_filter.run(_q(tmp_path, threshold=-2.0, link_mode="hardlink"), progress=False)
    got = sorted(str(p.relative_to(tmp_path / "out03" / "accepted"))
                 for p in (tmp_path / "out03" / "accepted").rglob("*.png"))
    assert got == sorted([f"a/{vase_name(i, 1, 'png')}" for i in range(2)]
                         + [f"b/c/{vase_name(i, 1, 'png')}" for i in range(2)])


def test_non_recursive_without_top_level_images_is_a_clear_error(tmp_path):
    write_images(tmp_path / "imgs", n_vases=1, views=1, sub="a")
    with pytest.raises(FileNotFoundError, match="no images found"):
        fragment_filter.run(_q(tmp_path, recursive=False), progress=False)


def test_analyse_only_scores_just_the_sample_and_files_nothing(tmp_path):
    write_images(tmp_path / "imgs", n_vases=10, views=2)
    r = fragment_filter.run(_q(tmp_path, analyse_only=True, sample_size=7, threshold=None),
                    progress=False)
    assert r.scored.cache_stats["images"] == 7 and r.analysis["sample_size"] == 7
    assert r.accepted is None
    assert not (tmp_path / "out03" / "accepted").exists()
    assert not (tmp_path / "out03" / "filtering_report.json").exists()
    a = json.loads((tmp_path / "out03" / "score_analysis.json").read_text())
    for k in ("mean", "std", "min", "max", "median", "percentiles", "suggested_thresholds",
              "histogram"):
        assert k in a["analysis"]
    assert set(a["analysis"]["suggested_thresholds"]) == {
        "keep_90", "keep_75", "keep_50", "keep_25", "keep_10"}
    # the full run analyses the same seeded sample: same suggested threshold
    full = fragment_filter.run(_q(tmp_path, sample_size=7, threshold=None), progress=False)
    assert full.threshold == pytest.approx(r.threshold)


def test_save_rejected_false_and_rerun_is_idempotent(tmp_path):
    write_images(tmp_path / "imgs", n_vases=4, views=2)
    fragment_filter.run(_q(tmp_path, threshold=0.0), progress=False)
    r = fragment_filter.run(_q(tmp_path, threshold=2.0, save_rejected=False), progress=False)
    assert r.accepted == 0
    assert not (tmp_path / "out03" / "rejected").exists()
    assert not list((tmp_path / "out03").glob("accepted/*"))   # stale outputs cleared


def test_output_inside_input_is_refused(tmp_path):
    write_images(tmp_path / "imgs", n_vases=1, views=1)
    with pytest.raises(ValueError, match="overlap"):
        fragment_filter.run(_q(tmp_path, output_dir=str(tmp_path / "imgs" / "out")), progress=False)


def test_widget_counts_match_the_stage_at_the_same_threshold(tmp_path):
    write_images(tmp_path / "imgs", n_vases=8, views=2)
    r = fragment_filter.run(_q(tmp_path, threshold=0.0), progress=False)
    w = widgets.ThresholdExplorer.from_result(r, k=3)
    t = float(np.median(r.scores))
    state = w.update(t)
    again = fragment_filter.run(_q(tmp_path, threshold=t), progress=False)
    assert state["accepted"] == again.accepted and state["rejected"] == again.rejected
    assert len(state["just_above"]) == 3 and len(state["just_below"]) == 3
    assert set(state["just_above"]).isdisjoint(state["just_below"])
    box = w.widget()                       # builds the ipywidgets without a browser
    high = w.update(float(np.percentile(r.scores, 80)))
    assert high["accepted"] < state["accepted"]
    assert w._ui["hist"].value[:4] == b"\x89PNG" and len(w._ui["above"].children) == 3
    assert f"accepted {high['accepted']}" in w._ui["counts"].value
    assert box is not None


def test_widget_counts_30k_scores_like_numpy():
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 0.1, 30_000).astype(np.float32)
    w = widgets.ThresholdExplorer(scores, [f"f{i}.jpg" for i in range(30_000)], 0.0)
    for t in np.linspace(-0.2, 0.2, 5):
        state = w.update(t)
        assert state["accepted"] == int((scores >= np.float32(t)).sum())
        assert state["accepted"] + state["rejected"] == 30_000


# ----------------------------------------------------------------------------- 04

def test_grouping_pattern_and_non_matching_names():
    files = [vase_name(1, 1), vase_name(1, 2), vase_name(2, 3), "notes.jpg",
             "sub/" + vase_name(3, 1), "IMG_0001.JPG", vase_name(4, 1).replace("ac001001", "x")]
    groups, unmatched = best_view.group_by_vase(files, DEFAULT_VIEW_PATTERN)
    assert sorted(unmatched) == sorted(["notes.jpg", "IMG_0001.JPG", files[-1]])
    assert [v for v, _ in groups[str(vase_name(1, 1)).split("_")[0]]] == [1, 2]
    assert len(groups) == 3


def test_custom_pattern_without_view_group():
    groups, unmatched = best_view.group_by_vase(
        ["v1-a.png", "v1-b.png", "v2-a.png", "other.png"], r"^(?P<vase_id>v\d+)-")
    assert unmatched == ["other.png"] and sorted(groups) == ["v1", "v2"]
    assert [v for v, _ in groups["v1"]] == ["v1-a", "v1-b"]


def test_pattern_needs_a_vase_id_group():
    with pytest.raises(ParameterError, match="vase_id"):
        validate("04_best_view", {"pattern": r"^vase_.+_ac001001"})
    with pytest.raises(ParameterError, match="regular expression"):
        validate("04_best_view", {"pattern": r"^(?P<vase_id>[a-z"})


def test_best_view_selects_the_argmax_and_reports_everything(tmp_path):
    write_images(tmp_path / "imgs", n_vases=4, views=3)
    for p in list((tmp_path / "imgs").glob(f"{vase_name(3, 2, 'png').split('_')[0]}_*"))[1:]:
        p.unlink()                                            # vase 3 keeps one view
    Image.new("RGB", (20, 20)).save(tmp_path / "imgs" / "stray_photo.png")
    (tmp_path / "imgs" / vase_name(9, 1, "jpg")).write_bytes(b"not an image")
    r = best_view.run(_b(tmp_path), progress=False)
    rep = json.loads((tmp_path / "out04" / "best_views_report.json").read_text())
    stats = json.loads((tmp_path / "out04" / "filtering_stats.json").read_text())
    assert rep["unmatched_files"] == ["stray_photo.png"]
    assert [f["file"] for f in rep["failures"]] == [vase_name(9, 1, "jpg")]
    assert rep["total_vases"] == 4 == r.vases            # the unreadable vase has no view
    reasons = {s["vase_id"]: s["reason"] for s in rep["results"]}
    assert sorted(reasons.values()).count("only_one_view") == 1
    for s in rep["results"]:
        assert s["clip_score"] == max(v["clip_score"] for v in s["all_view_scores"])
        assert s["total_views"] == len(s["all_view_scores"])
        assert (tmp_path / "out04" / "best_views" / s["selected_filename"]).is_file()
        assert s["selected_filename"].startswith(s["vase_id"])
        assert s["selected_filename"] == f"{s['vase_id']}_{s['selected_view']}_ac001001.png"
    assert len(list((tmp_path / "out04" / "best_views").iterdir())) == 4
    assert stats["view_distribution"] == {"1": 1, "3": 3}
    # 11 names match the pattern (one of them unreadable): 4 of 11 kept
    assert stats["summary"]["reduction_rate"] == f"{100 * (1 - 4 / 11):.1f}%" == "63.6%"
    assert rep["reduction_rate"] == pytest.approx(1 - 4 / 11)
    assert rep["average_clip_score"] == pytest.approx(r.mean_score)


def test_best_view_reuses_the_embeddings_of_stage_03(tmp_path):
    write_images(tmp_path / "imgs", n_vases=3, views=2)
    fragment_filter.run(_q(tmp_path, threshold=0.0), progress=False)
    r = best_view.run(_b(tmp_path), progress=False)
    rep = json.loads((tmp_path / "out04" / "best_views_report.json").read_text())
    assert rep["cache"]["encoded"] == 0 and rep["cache"]["cache_hits"] == 6
    assert r.selected == 3


def test_view_gallery_and_plots_draw(tmp_path):
    from vaselib.clip import plots

    write_images(tmp_path / "imgs", n_vases=3, views=2)
    q = fragment_filter.run(_q(tmp_path, threshold=0.0), progress=False)
    b = best_view.run(_b(tmp_path), progress=False)
    gallery = plots.threshold_gallery(q, k=2)
    n_above = min(2, int((q.scores >= q.threshold).sum()))
    n_below = min(2, int((q.scores < q.threshold).sum()))
    assert sum(bool(ax.images) for ax in gallery.axes) == n_above + n_below
    views = plots.view_gallery(b, vases=2)
    titles = [ax.get_title() for ax in views.axes if ax.get_title()]
    assert sum("✓" in t for t in titles) == 2 and len(titles) == 4   # one chosen per vase
    chosen = [c for c in b.choices[:2]]
    for c in chosen:
        assert any(f"view {c.selected_view}: {c.score:.3f} ✓" == t for t in titles)
    hist = plots.score_histogram(q.scores, q.threshold,
                                 suggestions=q.analysis["suggested_thresholds"])
    bars = sum(p.get_height() for p in hist.axes[0].patches)
    assert bars == len(q.scores)


def test_params_reject_unknown_and_bad_values():
    with pytest.raises(ParameterError, match="unknown parameter 'treshold'"):
        validate("03_clip_quality", {"treshold": 0.1})
    with pytest.raises(ParameterError, match="backend"):
        validate("03_clip_quality", {"backend": "tf"})
    with pytest.raises(ParameterError, match="prompts"):
        validate("03_clip_quality", {"high_prompts": ["ok", "  "]})
    assert validate("03_clip_quality", {"threshold": None}).threshold is None
    assert validate("03_clip_quality", {"threshold": 0.15}).threshold == 0.15


def test_threshold_slider_steps_are_round_and_cover_the_scores():
    from vaselib.clip.widgets import slider_range

    scores = np.array([0.0123, 0.0419637, 0.0871])
    lo, hi, step = slider_range(scores)
    assert step == 1e-4                       # (0.0871 - 0.0123) / 500 = 1.5e-4 -> 1e-4
    assert lo < scores.min() and hi > scores.max()
    for end in (lo, hi):                      # the ends lie on the step grid
        assert abs(end / step - round(end / step)) < 1e-6
    assert slider_range(np.array([-0.5, 0.5]))[2] == 1e-3
