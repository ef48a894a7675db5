"""Stage 08 on caption files made elsewhere: the original's fields, and captions grounded in
their images (with a tiny random CLIP, so nothing is trained or downloaded)."""
from __future__ import annotations

import json

import pytest
from conftest_clip import write_images

from vaselib import stages
from vaselib.evaluation.original import ORIGINAL_METRICS
from vaselib.evaluation.params import EvaluateParams

pytestmark = pytest.mark.usefixtures("isolated_clip")

REFS = ["Attic red-figure amphora, c. 480–470 BCE, depicting a symposium",
        "Corinthian black-figure aryballos, c. 600–575 BCE, with animal friezes",
        "Attic black-figure lekythos, c. 550–530 BCE, depicting Herakles",
        "Attic white-ground lekythos, c. 450–440 BCE, depicting a mourning woman"]


def _case(tmp_path):
    images = write_images(tmp_path / "set" / "images", n_vases=4, views=1, size=32)
    gt = tmp_path / "set" / "ground_truth.json"
    gt.write_text(json.dumps([{"images": [f"images/{p.name}"], "caption": c}
                              for p, c in zip(images, REFS)]), encoding="utf-8")
    files = []
    for name, caps in (("echo", REFS), ("shifted", REFS[1:] + REFS[:1])):
        f = tmp_path / f"image_{name}.json"
        f.write_text(json.dumps([{"images": [p.name], "caption": c}
                                 for p, c in zip(images, caps)]), encoding="utf-8")
        files.append(str(f))
    return images, gt, files


def _run(tmp_path, gt, files):
    p = EvaluateParams(generated=files, ground_truth=str(gt), clip_model="vase-micro-vit",
                       clip_pretrained=None, n_boot=20, gallery=0,
                       output_dir=str(tmp_path / "out"))
    return stages.get("08_evaluate").run(p, progress=False)


def test_caption_files_made_elsewhere_get_the_originals_fields_and_grounded_scores(tmp_path):
    _, gt, files = _case(tmp_path)
    result = _run(tmp_path, gt, files)
    report = json.loads((tmp_path / "out" / "evaluation_report.json").read_text())
    assert set(report["models"]) == {"echo", "shifted"}
    for name, entry in report["models"].items():
        assert all(type(entry[m]) is float for m in ORIGINAL_METRICS), (name, entry["errors"])
        assert entry["metadata"]["total_pairs"] == 4
        grounded = entry["image_grounded"]
        assert 0.0 <= grounded["clip_s"]["value"] <= 2.5, entry["errors"]
        assert 0.0 <= grounded["reference_clip_s"]["value"] <= 2.5
    echo = report["models"]["echo"]
    # captions equal to the references: every text metric at its maximum, and the
    # grounded score equals the reference's (same caption, same image)
    assert echo["clip_score"] == pytest.approx(1.0, abs=1e-5)
    assert echo["r_at_1"] == 1.0 and echo["lexical_similarity"] == 1.0
    assert echo["image_grounded"]["clip_s"]["value"] == pytest.approx(
        echo["image_grounded"]["reference_clip_s"]["value"], abs=1e-6)
    assert report["models"]["shifted"]["clip_score"] < 1.0 - 1e-3
    assert result.files["echo"] == tmp_path / "image_echo.json"     # evaluated where it is
    assert "Image-grounded CLIPScore" in (tmp_path / "out" / "evaluation_report.md").read_text()


def test_an_unreadable_image_fails_the_grounded_score_by_name_and_only_it(tmp_path):
    images, gt, files = _case(tmp_path)
    images[2].write_bytes(b"no longer a picture")
    _run(tmp_path, gt, files[:1])
    entry = json.loads((tmp_path / "out" / "evaluation_report.json").read_text())["models"]["echo"]
    assert entry["image_grounded"]["clip_s"]["value"] is None
    assert images[2].name in entry["errors"]["image_grounded.clip_s"]
    assert all(type(entry[m]) is float for m in ORIGINAL_METRICS)
