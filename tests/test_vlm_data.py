"""Stage 05/06 data: the original's records and best views → ms-swift messages rows."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest_vlm import write_best_views, write_captions
from vaselib.vlm import data
from vaselib.vocabulary import CAPTION_PROMPT


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VASELIB_DATA", str(tmp_path / "data"))


def _img(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


CAP = "Athenian black-figure lekythos, c. 525–475 BCE, depicting Herakles and the boar; Marathon, Attica."


def test_original_records_become_messages_and_bad_records_have_reasons(tmp_path):
    _img(tmp_path / "imgs" / "a.jpg")
    _img(tmp_path / "imgs" / "b.jpg", 1)
    (tmp_path / "imgs" / "broken.jpg").write_bytes(b"not a jpeg")
    records = [
        {"images": ["imgs/a.jpg"], "caption": CAP, "conversations": []},
        {"images": ["imgs/missing.jpg"], "caption": CAP},
        {"images": ["imgs/b.jpg"], "caption": "   ", "conversations": []},
        {"images": ["imgs/b.jpg"], "caption": "",
         "conversations": [{"from": "human", "value": "<image>\nWhat is this vase?"},
                           {"from": "gpt", "value": "A red-figure hydria."}]},
        {"images": ["imgs/broken.jpg"], "caption": CAP},
        "not a record",
        {"caption": CAP},
    ]
    path = tmp_path / "records.json"
    path.write_text(json.dumps(records), encoding="utf-8")

    ds = data.from_records_file(path)

    assert len(ds.records) == 2
    reasons = {b.source: b.reason for b in ds.bad}
    assert reasons["records.json[1]"].startswith("missing image: ")
    assert "missing.jpg" in reasons["records.json[1]"]
    assert reasons["records.json[2]"].startswith("no caption, and the conversation is unusable")
    assert reasons["records.json[4]"].startswith("unreadable image: ")
    assert reasons["records.json[5]"] == "not a JSON object"
    assert reasons["records.json[6]"] == "no image paths"
    assert len(ds.bad) == 5

    row = data.sft_row(ds.records[0])
    assert row["messages"] == [
        {"role": "user", "content": "<image>" + CAPTION_PROMPT},
        {"role": "assistant", "content": CAP}]
    assert row["images"] == [str(tmp_path / "imgs" / "a.jpg")]
    # the record without a caption keeps its own conversation (roles mapped, one image tag)
    conv = data.sft_row(ds.records[1])["messages"]
    assert [m["role"] for m in conv] == ["user", "assistant"]
    assert conv[0]["content"].count("<image>") == 1
    assert conv[1]["content"] == "A red-figure hydria."


def test_grpo_row_is_the_user_turn_with_reference_and_attributes(tmp_path):
    _img(tmp_path / "a.jpg")
    rec = data.VaseRecord([tmp_path / "a.jpg"], CAP, "v1", data.caption_attributes(CAP))
    row = data.grpo_row(rec)
    assert row["messages"] == [{"role": "user", "content": "<image>" + CAPTION_PROMPT}]
    assert row["reference_caption"] == CAP
    assert set(data.ATTRIBUTE_COLUMNS) <= set(row)
    assert row["fabric"] == "Athenian"
    assert row["technique"] == "black-figure"
    assert row["shape"] == "lekythos"
    assert "525" in row["dating"]
    assert all(isinstance(row[k], str) for k in data.ATTRIBUTE_COLUMNS)


def test_best_views_are_matched_to_captions_by_uuid(tmp_path):
    folder, caps = write_best_views(tmp_path, n=4)
    first = sorted(caps)[0]
    del caps[first]                                    # one vase without a caption
    (folder / "IMG_0001.jpg").write_bytes((folder / f"{sorted(caps)[0]}_1_ac001001.jpg")
                                          .read_bytes())  # a name off the pattern
    captions = write_captions(tmp_path / "caps.json", caps)

    ds = data.from_best_views(folder, captions)

    assert len(ds.records) == 3
    assert {r.vase_id for r in ds.records} == set(caps)
    assert all(r.caption == caps[r.vase_id] for r in ds.records)
    reasons = sorted(b.reason for b in ds.bad)
    assert reasons[0].startswith("file name does not match the pattern")
    assert reasons[1] == f"no caption for vase {first}"


def test_vases_json_with_nested_attributes_is_accepted(tmp_path):
    folder, caps = write_best_views(tmp_path, n=2)
    vases = [{"id": vid, "caption": c,
              "attributes": {"fabric": "Corinthian", "technique": "black-figure",
                             "shape": "aryballos", "date": [-600, -575],
                             "decoration": "an owl", "attribution": None,
                             "provenance": "Gela, Sicily"}}
             for vid, c in caps.items()]
    path = tmp_path / "vases.json"
    path.write_text(json.dumps(vases), encoding="utf-8")
    ds = data.from_best_views(folder, path)
    row = data.grpo_row(ds.records[0])
    assert row["fabric"] == "Corinthian"
    assert row["dating"] == "c. 600–575 BCE"
    assert row["attribution"] == "Gela, Sicily"


def test_write_datasets_writes_jsonl_and_refuses_an_empty_set(tmp_path):
    folder, caps = write_best_views(tmp_path, n=3)
    ds = data.from_best_views(folder, caps)
    files = data.write_datasets(ds, tmp_path / "out")
    assert files.records == 3 and files.bad_records == 0
    rows = data.read_jsonl(files.sft)
    assert len(rows) == 3 and all(len(r["messages"]) == 2 for r in rows)
    assert len(data.read_jsonl(files.grpo)) == 3
    assert json.loads(files.bad.read_text())["count"] == 0
    # records.json: the set in the original's format, which stage 08 reads as ground truth
    from vaselib.evaluation.stage import _images_and_references

    images, refs = _images_and_references(files.folder / data.RECORDS_FILE)
    assert sorted(zip(images, refs)) == sorted(
        (p.resolve(), caps[p.name.split("_")[0]]) for p in folder.glob("*.jpg"))

    empty = data.VaseDataset([], [data.BadRecord("x.json[0]", "empty caption")], "x.json")
    with pytest.raises(ValueError, match=r"no usable training records.*x.json\[0\]: empty caption"):
        data.write_datasets(empty, tmp_path / "empty")


def test_missing_inputs_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.from_records_file(tmp_path / "nope.json")
    with pytest.raises(ValueError, match="captions is given without images_dir"):
        data.load_records(captions=str(tmp_path / "caps.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        data.from_records_file(bad)


def test_demo_records_take_one_intact_view_per_vase_and_report_the_rest(tmp_path):
    from types import SimpleNamespace

    # a fake corpus: vase a has an intact front and side view, vase b is only fragments
    raw = tmp_path / "raw"
    for name in ("a_front.jpg", "a_side.jpg", "b_front.jpg"):
        _img(raw / name)
    corpus = SimpleNamespace(
        raw_dir=raw,
        vases=[{"id": "a", "caption": CAP, "condition": "intact"},
               {"id": "b", "caption": CAP, "condition": "fragment"}],
        images=[
            {"file": "a_side.jpg", "vase_id": "a", "view_kind": "side", "quality": 1,
             "condition": "intact"},
            {"file": "a_front.jpg", "vase_id": "a", "view_kind": "front", "quality": 1,
             "condition": "intact"},
            {"file": "b_front.jpg", "vase_id": "b", "view_kind": "front", "quality": 1,
             "condition": "fragment"},
        ])
    ds = data.demo_records(corpus)
    assert [r.images[0].name for r in ds.records] == ["a_front.jpg"]
    assert [(b.source, b.reason) for b in ds.bad] == [("b", "a fragment: no intact view")]
