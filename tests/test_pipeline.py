"""The full run's wiring and its index page."""
from __future__ import annotations


from vaselib import params, pipeline
from vaselib.notebooks import StageRun
from vaselib.reports import write_index


def test_every_stage_reads_the_previous_stages_output(tmp_path):
    wired = {s: pipeline.stage_parameters(s, tmp_path) for s in pipeline.ORDER}
    assert wired["02_classify"]["model_path"].endswith("01_resnet_train/best_image_quality_model.pth")
    assert wired["03_clip_quality"]["input_dir"] == str(tmp_path / "02_classify" / "1")
    assert wired["04_best_view"]["input_dir"] == str(tmp_path / "03_clip_quality" / "accepted")
    assert wired["05_sft"]["images_dir"] == str(tmp_path / "04_best_view" / "best_views")
    assert wired["06_grpo"]["sft_dir"] == str(tmp_path / "05_sft")
    assert wired["07_merge"]["grpo_dir"] == str(tmp_path / "06_grpo")
    for stage, values in wired.items():  # every wired name is a real parameter
        assert values["output_dir"] == str(tmp_path / stage)
        assert set(values) <= set(params.schema_for(stage).model_fields), stage


def test_index_links_each_stage_with_its_headline(tmp_path):
    nb = tmp_path / "01_resnet_train.ipynb"
    nb.write_text("{}")
    html = nb.with_suffix(".html")
    html.write_text("<html></html>")
    runs_ = [StageRun("01_resnet_train", nb, html, 42.0,
                      {"headline": {"test_accuracy": 0.95},
                       "outputs": {"merged": "runs/x/07_merge/merged", "report": "r.json"}})]
    page = write_index(tmp_path, runs_, "run x", failed="stage 02_classify failed in cell 5").read_text()
    assert "href='01_resnet_train.html'" in page
    assert "test_accuracy: <b>0.95</b>" in page and "42 s" in page
    assert "stage 02_classify failed in cell 5" in page
    assert "merged: <b>runs/x/07_merge/merged</b>" in page and "r.json" not in page


def test_a_cold_demo_pretrains_the_base_vlm_beside_the_first_stages(tmp_path, monkeypatch):
    from vaselib.vlm import base_model

    monkeypatch.setenv("VASELIB_DATA", str(tmp_path))
    logged = []
    # nothing to prepare: stage 05 not in the run, or first (it builds the model at once)
    assert pipeline.prepare_base_model(["01_resnet_train", "02_classify"], logged.append) is None
    assert pipeline.prepare_base_model(["05_sft", "06_grpo"], logged.append) is None
    proc = pipeline.prepare_base_model(["04_best_view", "05_sft"], logged.append)
    try:
        assert proc is not None and proc.is_alive()
        assert str(base_model.model_folder().name) in logged[0]
    finally:
        proc.terminate()
        proc.join(60)
    # an abandoned build leaves nothing that claims to be the model
    assert not (base_model.model_folder() / base_model.RECORD_FILE).exists()
    # a cached model: nothing to prepare
    folder = base_model.model_folder()
    folder.mkdir(parents=True)
    (folder / base_model.RECORD_FILE).write_text("{}")
    assert pipeline.prepare_base_model(["04_best_view", "05_sft"], logged.append) is None
