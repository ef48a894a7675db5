"""Notebooks 03 and 04 run headless through papermill (tiny model, tiny images)."""
from __future__ import annotations

import json

import pytest
from conftest import cell_text
from conftest_clip import write_images

pytestmark = pytest.mark.notebook


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("VASELIB_DATA", str(tmp_path / "data"))
    write_images(tmp_path / "imgs", n_vases=5, views=3, size=40)
    (tmp_path / "imgs" / "unrelated.png").write_bytes(
        (tmp_path / "imgs").joinpath(next(p.name for p in (tmp_path / "imgs").iterdir()))
        .read_bytes())
    return dict(model="vase-micro-vit", pretrained=None, input_dir=str(tmp_path / "imgs"),
                cache_dir=str(tmp_path / "cache"), batch_size=8)


def test_notebook_03_runs_with_threshold_015(run_notebook, tiny, tmp_path):
    nb = run_notebook("03_clip_quality", threshold=0.15, sample_size=10, **tiny)
    text = cell_text(nb)
    assert "images: 16" in text and "threshold: 0.150 (given)" in text
    rep = json.loads((tmp_path / "03_clip_quality" / "filtering_report.json").read_text())
    assert rep["threshold"] == 0.15 and rep["total_images"] == 16
    assert f"accepted: {rep['accepted_images']}" in text


def test_notebook_03_threshold_none_then_04_reuses_the_cache(run_notebook, tiny, tmp_path):
    nb = run_notebook("03_clip_quality", threshold=None, **tiny)
    assert "(25th percentile)" in cell_text(nb)
    nb4 = run_notebook("04_best_view", **tiny)
    text = cell_text(nb4)
    assert "vases: 5" in text and "best views selected: 5" in text
    assert "file names not matching the pattern: 1" in text
    rep = json.loads((tmp_path / "04_best_view" / "best_views_report.json").read_text())
    assert rep["cache"]["encoded"] == 0 and rep["unmatched_files"] == ["unrelated.png"]


def test_notebook_03_rejects_an_unknown_parameter(run_notebook, tiny):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="treshold"):
        run_notebook("03_clip_quality", treshold=0.2, **tiny)
