"""The README's "Differences from the original scripts" list is complete and still true."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vaselib import differences

ROOT = Path(__file__).resolve().parents[1]


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## Differences from the original scripts\n(.*?)(?=^## )", text, re.M | re.S)
    assert m, "README.md has no 'Differences from the original scripts' section"
    return m.group(1)


def test_the_readme_lists_every_difference_once():
    marked = re.findall(r"<!-- difference: ([a-z0-9-]+) -->", _section())
    assert sorted(marked) == sorted(differences.ids())
    assert len(marked) == len(set(marked))
    assert set(CHECKS) == set(differences.ids()), "every difference needs a behaviour check"


# ---- one check per difference: the behaviour the README describes still holds -----------
def _exif(tmp_path):
    from vaselib.images import open_image

    im = Image.new("RGB", (40, 20))
    ex = im.getexif()
    ex[0x0112] = 6
    im.save(tmp_path / "r.jpg", exif=ex.tobytes())
    assert open_image(tmp_path / "r.jpg").size == (20, 40)


def _transparency(tmp_path):
    from vaselib.images import open_image

    Image.new("RGBA", (4, 4), (10, 10, 10, 0)).save(tmp_path / "t.png")
    assert np.asarray(open_image(tmp_path / "t.png")).min() == 255
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(tmp_path / "s.png")
    Image.fromarray(np.full((4, 4), 32896, np.uint16)).save(tmp_path / "m.png")
    assert np.asarray(open_image(tmp_path / "m.png")).max() == 128


def _recursive(tmp_path):
    from vaselib.clip.params import BestViewParams, ClipQualityParams
    from vaselib.resnet.params import ClassifyParams

    assert ClassifyParams().recursive and ClipQualityParams().recursive
    assert BestViewParams().recursive


def _failures(tmp_path):
    from vaselib.images import ImageFileDataset

    (tmp_path / "bad.jpg").write_bytes(b"x")
    tensor, index, reason = ImageFileDataset([tmp_path / "bad.jpg"], lambda im: im)[0]
    assert tensor is None and "cannot decode" in reason


def _batched(tmp_path):
    from vaselib.clip.params import ClipQualityParams
    from vaselib.resnet.params import ClassifyParams

    assert ClassifyParams().batch_size > 1 and ClipQualityParams().batch_size > 1


def _threshold(tmp_path):
    from vaselib.resnet.classify import decide

    assert decide(0.6, 0.7) == 0 and decide(0.6, 0.5) == 1


def _augmentation(tmp_path):
    from vaselib.resnet import data

    paths = [tmp_path / f"{i}.png" for i in range(10)]
    sets = data.make_datasets(paths, [0, 1] * 5, data.split_indices([0, 1] * 5, 0.2, 0.2, 0),
                              32, augment=True)
    names = {k: [type(t).__name__ for t in v.transform.transforms] for k, v in sets.items()}
    assert "ColorJitter" in names["train"] and "ColorJitter" not in names["val"]


def _no_prompts(tmp_path):
    from vaselib.clip import scoring

    assert scoring.auto_threshold(scoring.analyse(np.arange(101) / 100)) == pytest.approx(0.25)


def _pattern(tmp_path):
    from vaselib import filenames

    rx = filenames.compile_pattern(filenames.DEFAULT_VIEW_PATTERN)
    assert filenames.parse_view_name("AB12-CD_3_AC001001.PNG", rx).view == 3
    with pytest.raises(filenames.PatternError):
        filenames.check_matches(["IMG_1.jpg"], rx)


def _prompt_average(tmp_path):
    from vaselib.clip import scoring
    from vaselib.clip.params import ClipQualityParams

    f = np.array([[3.0, 0.0], [0.0, 1.0]])
    assert ClipQualityParams().prompt_average == "original"
    np.testing.assert_allclose(scoring.prompt_embedding(f), np.array([3, 1]) / np.sqrt(10),
                               atol=1e-6)
    np.testing.assert_allclose(scoring.prompt_embedding(f, "normalised"),
                               np.array([1, 1]) / np.sqrt(2), atol=1e-6)


def _owned(tmp_path):
    from vaselib import outputs

    (tmp_path / "0").mkdir()
    with pytest.raises(outputs.OutputConflict):
        outputs.StageOutputs("02_classify", tmp_path, ("0", "1"))


def _size_limit(tmp_path):
    from vaselib.images import DEFAULT_MAX_PIXELS
    from vaselib.resnet.params import ClassifyParams

    assert ClassifyParams().max_image_pixels == DEFAULT_MAX_PIXELS == 89_478_485


def _formats(tmp_path):
    from vaselib.vlm import data

    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    (tmp_path / "r.json").write_text(json.dumps([{"images": ["a.jpg"], "messages": [
        {"role": "user", "content": "<image>Describe."},
        {"role": "assistant", "content": "An Athenian red-figure hydria."}]}]))
    assert len(data.from_records_file(tmp_path / "r.json").records) == 1


def _reward(tmp_path):
    from vaselib.vlm.reward import VaseAccuracyReward

    ref = ("Athenian black-figure amphora, c. 540–530 BCE, depicting Herakles and the lion; "
           "attributed to the Amasis Painter.")
    wrong_technique = ref.replace("black-figure", "red-figure")
    r = VaseAccuracyReward(similarity="lexical").score(wrong_technique, ref)
    # the paper's weights: every dimension right but technique (weight 0.20)
    assert r.per_dimension["technique"] == 0.0
    assert r.weighted == pytest.approx(0.80, abs=1e-9)


def _evaluation(tmp_path):
    from vaselib.evaluation import original

    assert original.fid_condition(10, 384)[0] is True


CHECKS = {"exif-orientation": _exif, "transparency-and-bit-depth": _transparency,
          "recursive-input": _recursive, "failures-listed": _failures,
          "batched-inference": _batched, "classify-threshold": _threshold,
          "augmentation-train-only": _augmentation, "no-prompts": _no_prompts,
          "view-pattern": _pattern, "clip-prompt-average": _prompt_average,
          "owned-outputs": _owned, "image-size-limit": _size_limit,
          "sft-data-formats": _formats, "reward-definition": _reward,
          "evaluation-errors-and-intervals": _evaluation}


@pytest.mark.parametrize("diff_id", sorted(CHECKS))
def test_each_difference_still_holds(diff_id, tmp_path):
    CHECKS[diff_id](tmp_path)
