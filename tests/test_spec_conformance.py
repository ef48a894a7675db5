"""The original's report files, key by key: names, types and shapes that downstream scripts
written for the original read (VaseVQA-3D data filtering, stages 03 and 04)."""
from __future__ import annotations

import json
import re

import pytest
from conftest_clip import vase_name, write_images

from vaselib.clip import best_view, fragment_filter
from vaselib.clip.params import BestViewParams, ClipQualityParams

pytestmark = pytest.mark.usefixtures("isolated_clip")
TINY = dict(model="vase-micro-vit", pretrained=None, batch_size=4)

# The original's keys, in the original's words.
FILTERING_REPORT = {
    "input_directory": str, "output_directory": str, "total_images": int,
    "accepted_images": int, "rejected_images": int, "acceptance_rate": float,
    "threshold": float, "processing_time_seconds": float, "results": list}
FILTERING_RESULT = {"filename": str, "quality_score": float, "high_quality_similarity": float,
                    "low_quality_similarity": float, "accepted": bool}
BEST_VIEWS_REPORT = {
    "input_directory": str, "output_directory": str, "processing_time_seconds": float,
    "total_vases": int, "total_original_images": int, "total_selected_images": int,
    "reduction_rate": float, "average_clip_score": float, "results": list}
BEST_VIEWS_RESULT = {"vase_id": str, "selected_view": int, "selected_filename": str,
                     "clip_score": float, "total_views": int, "reason": str,
                     "all_view_scores": list}
VIEW_SCORE = {"view_number": int, "filename": str, "clip_score": float}
FILTERING_STATS = {"summary": dict, "view_distribution": dict, "clip_score_stats": dict}
STATS_SUMMARY = {"total_vases": int, "original_images": int, "selected_images": int,
                 "reduction_rate": str, "average_clip_score": str,
                 "processing_time_minutes": str}


def _has(obj: dict, spec: dict, where: str) -> None:
    for key, kind in spec.items():
        assert key in obj, f"{where}: the original's key {key!r} is missing"
        value = obj[key]
        if kind is float:
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (where, key)
        else:
            assert isinstance(value, kind) and not (kind is int and isinstance(value, bool)), \
                f"{where}.{key} is {type(value).__name__}, the original's is {kind.__name__}"


def test_filtering_report_keeps_the_originals_keys(tmp_path):
    write_images(tmp_path / "imgs", n_vases=3, views=2)
    (tmp_path / "imgs" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    fragment_filter.run(ClipQualityParams(
        **TINY, input_dir=str(tmp_path / "imgs"), output_dir=str(tmp_path / "o"),
        cache_dir=str(tmp_path / "c"), threshold=0.0), progress=False)
    rep = json.loads((tmp_path / "o" / "filtering_report.json").read_text())
    _has(rep, FILTERING_REPORT, "filtering_report")
    assert len(rep["results"]) == 6
    for row in rep["results"]:
        _has(row, FILTERING_RESULT, "results[]")
        assert set(row) == set(FILTERING_RESULT)
    # the original's meanings: a fraction of all inputs; the failure is neither class here
    assert rep["total_images"] == 7
    assert rep["acceptance_rate"] == pytest.approx(rep["accepted_images"] / 7)
    assert rep["accepted_images"] + rep["rejected_images"] + rep["failed_images"] == 7


def test_best_views_report_and_stats_keep_the_originals_keys_and_formats(tmp_path):
    write_images(tmp_path / "imgs", n_vases=3, views=3)
    r = best_view.run(BestViewParams(
        **TINY, input_dir=str(tmp_path / "imgs"), output_dir=str(tmp_path / "o"),
        cache_dir=str(tmp_path / "c")), progress=False)
    rep = json.loads((tmp_path / "o" / "best_views_report.json").read_text())
    _has(rep, BEST_VIEWS_REPORT, "best_views_report")
    assert rep["total_original_images"] == 9 and rep["total_selected_images"] == 3
    assert 0 <= rep["reduction_rate"] <= 1 and rep["reduction_rate"] == pytest.approx(2 / 3)
    for row in rep["results"]:
        _has(row, BEST_VIEWS_RESULT, "results[]")
        assert row["reason"] == "best_clip_score" and row["total_views"] == 3
        assert [v["view_number"] for v in row["all_view_scores"]] == [1, 2, 3]
        for v in row["all_view_scores"]:
            _has(v, VIEW_SCORE, "all_view_scores[]")
    stats = json.loads((tmp_path / "o" / "filtering_stats.json").read_text())
    _has(stats, FILTERING_STATS, "filtering_stats")
    _has(stats["summary"], STATS_SUMMARY, "filtering_stats.summary")
    assert stats["summary"]["reduction_rate"] == "66.7%"
    assert re.fullmatch(r"-?\d+\.\d{4}", stats["summary"]["average_clip_score"])
    assert float(stats["summary"]["average_clip_score"]) == pytest.approx(r.mean_score, abs=5e-5)
    assert re.fullmatch(r"\d+\.\d", stats["summary"]["processing_time_minutes"])
    assert stats["view_distribution"] == {"3": 3}
    assert set(stats["clip_score_stats"]) == {"min", "max", "mean", "std"}


def test_original_file_names_with_non_uuid_ids_are_grouped(tmp_path):
    """Real collections use upper-case hex ids that are not 8-4-4-4-12 UUIDs."""
    import numpy as np
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    rng = np.random.default_rng(0)
    names = ["A1B2C3_1_ac001001.jpg", "A1B2C3_2_ac001001.JPG", "0F-9E-77_1_AC001001.jpeg",
             "DEADBEEF-01_3_ac001001.png"]
    for n in names:
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(
            tmp_path / "imgs" / n)
    r = best_view.run(BestViewParams(
        **TINY, input_dir=str(tmp_path / "imgs"), output_dir=str(tmp_path / "o"),
        cache_dir=str(tmp_path / "c")), progress=False)
    assert sorted(c.vase_id for c in r.choices) == ["0F-9E-77", "A1B2C3", "DEADBEEF-01"]
    assert not r.unmatched and len(list((tmp_path / "o" / "best_views").iterdir())) == 3


def test_a_pattern_matching_nothing_stops_before_work_with_the_names(tmp_path):
    write_images(tmp_path / "imgs", n_vases=2, views=1)
    with pytest.raises(ValueError) as err:
        best_view.run(BestViewParams(
            **TINY, input_dir=str(tmp_path / "imgs"), output_dir=str(tmp_path / "o"),
            cache_dir=str(tmp_path / "c"), pattern=r"^(?P<vase_id>\d+)_photo\.jpg$"),
            progress=False)
    msg = str(err.value)
    assert r"(?P<vase_id>\d+)_photo" in msg and vase_name(0, 1, "png") in msg
    assert not (tmp_path / "o" / "best_views").exists()
    assert not (tmp_path / "o" / "best_views_report.json").exists()
