"""Reading and pairing the original's caption files: ids, unmatched records, clear errors."""
from __future__ import annotations

import json

import pytest

from vaselib.evaluation.records import RecordsError, image_id, match_records


@pytest.mark.parametrize("name, expected", [
    ("3f2a9c1e-uuid_front_001.jpg", "3f2a9c1e-uuid_front"),   # <UUID>_<view>_<n>
    ("images/abc_side_2.jpg", "abc_side"),                     # folders ignored
    ("C:\\data\\abc_top_7.jpg", "abc_top"),
    ("a_b_c_d.png", "a_b"),                                    # ≥ 3 parts: first two
    ("abc_side.jpg", "abc_side"),                              # 2 parts: name minus .jpg
    ("vase.jpg", "vase"),
    ("vase.png", "vase.png"),                                  # only .jpg is removed
])
def test_image_id_rule(name, expected):
    assert image_id(name) == expected


def _write(path, data) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_matching_by_first_image_and_unmatched_counted(tmp_path):
    gen = _write(tmp_path / "image_m.json", [
        {"images": ["u1_front_0.jpg", "u9_back_0.jpg"], "caption": "g1"},
        {"images": ["u2_front_0.jpg"], "caption": "g2"},
        {"images": ["nope_front_0.jpg"], "caption": "g3"},
        {"images": ["gone.jpg"], "caption": "g4"},
    ])
    ref = _write(tmp_path / "gt.json", [
        {"images": ["u2_front_5.jpg"], "caption": "r2"},
        {"images": ["u1_front_3.jpg"], "caption": "r1"},
        {"images": ["u9_back_0.jpg"], "caption": "r9"},
    ])
    m = match_records(gen, ref)
    assert [(p.generated, p.reference, p.image_id) for p in m.pairs] == [
        ("g1", "r1", "u1_front"), ("g2", "r2", "u2_front")]
    assert m.unmatched == ["nope_front", "gone"]
    assert any("2 generated record(s)" in p for p in m.problems)


def test_in_memory_records_and_duplicates_reported():
    gen = [{"images": ["a_x_1.jpg"], "caption": "g"}, {"images": ["a_x_2.jpg"], "caption": ""}]
    ref = [{"images": ["a_x_0.jpg"], "caption": "old"},
           {"images": ["a_x_9.jpg"], "caption": "new"}]
    m = match_records(gen, ref)
    assert m.references == ["new", "new"]          # the last ground-truth record wins
    assert len(m) == 2 and m.unmatched == []
    text = " ".join(m.problems)
    assert "more than once" in text and "empty caption" in text


def test_missing_file_names_it(tmp_path):
    ref = _write(tmp_path / "gt.json", [])
    with pytest.raises(RecordsError, match="missing_gen.json does not exist"):
        match_records(tmp_path / "missing_gen.json", ref)


def test_bad_json_names_file_and_position(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('[{"images": ["a_b_c.jpg"], "caption": "x"},\n {"images": }]',
                   encoding="utf-8")
    with pytest.raises(RecordsError) as err:
        match_records(bad, bad)
    message = str(err.value)
    assert "broken.json" in message and "not valid JSON" in message
    assert "line 2" in message and "column" in message


def test_number_as_caption_is_not_a_string_error(tmp_path):
    gen = _write(tmp_path / "numbers.json", [{"images": ["a_b_c.jpg"], "caption": 42}])
    with pytest.raises(RecordsError) as err:
        match_records(gen, gen)
    message = str(err.value)
    assert "numbers.json" in message and "record 0" in message
    assert "not a string" in message and "empty" not in message


@pytest.mark.parametrize("data, fragment", [
    ({"images": ["a.jpg"], "caption": "x"}, "not a list"),
    ([{"caption": "x"}], "has no images"),
    ([{"images": [], "caption": "x"}], "has no images"),
    (["just a string"], "not an object"),
    ([{"images": ["a_b_c.jpg"]}], "no \"caption\""),
])
def test_malformed_files_name_the_file(tmp_path, data, fragment):
    path = _write(tmp_path / "odd.json", data)
    with pytest.raises(RecordsError, match=fragment) as err:
        match_records(path, path)
    assert "odd.json" in str(err.value)
