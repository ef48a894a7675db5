"""Notebooks 01 and 02 run headless through papermill and record what they did."""
from __future__ import annotations

import json

import pytest

from conftest import cell_text
from test_quality import _write_separable

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def test_notebooks_01_and_02_run_through_papermill(run_notebook, tmp_path):
    data = _write_separable(tmp_path / "labelled", n=12, size=32)
    nb = run_notebook("01_resnet_train", data_dir=str(data), arch="resnet18", image_size=32,
                      epochs=1, batch_size=8)
    text = cell_text(nb)
    assert "images: 24 (train 19, val 2, test 3)" in text
    assert "random initialisation" in text
    summary = json.loads((tmp_path / "01_resnet_train" / "summary.json").read_text())
    assert summary["stage"] == "01_resnet_train" and summary["params"]["epochs"] == 1

    nb = run_notebook("02_classify", model_path=str(tmp_path / "01_resnet_train" /
                                                    "best_image_quality_model.pth"),
                      input_dir=str(data), threshold=0.5)
    text = cell_text(nb)
    assert "photos: 24" in text and "0/ + 1/ + failures = inputs: True" in text
    report = json.loads((tmp_path / "02_classify" / "classification_report.json").read_text())
    assert report["counts"]["total"] == 24


def test_an_unknown_parameter_stops_the_notebook(run_notebook):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="unknown parameter 'treshold'"):
        run_notebook("02_classify", treshold=0.3)
