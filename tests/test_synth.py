"""The embedded synthetic vase corpus (vaselib.synth): determinism, layout, ground truth."""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vaselib import synth, vocabulary as voc
from vaselib.synth.captions import _split_decoration as split_decoration

SMALL = synth.CorpusConfig(n_vases=4, n_labelled=14, image_size=64)
NAME_RE = re.compile(r"^[0-9a-f-]{36}_\d+_ac001001\.jpg$")
DATE_RE = re.compile(r"c\. (\d+)\u2013(\d+) BCE")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> synth.Corpus:
    return synth.generate_corpus(tmp_path_factory.mktemp("synth") / "corpus", SMALL)


# ── determinism ──────────────────────────────────────────────────────────────────────────

def test_same_config_gives_byte_identical_files(corpus, tmp_path):
    again = synth.generate_corpus(tmp_path / "again", SMALL)
    first, second = _files(corpus.root), _files(again.root)
    assert first.keys() == second.keys()
    assert all(first[k] == second[k] for k in first)


def test_rendering_in_two_processes_writes_the_same_bytes_as_one(tmp_path):
    cfg = replace(SMALL, n_vases=24, n_labelled=70, image_size=48)   # above the parallel floor
    serial = synth.generate_corpus(tmp_path / "one", cfg, workers=1)
    parallel = synth.generate_corpus(tmp_path / "two", cfg, workers=2)
    first, second = _files(serial.root), _files(parallel.root)
    assert len([k for k in first if k.endswith(".jpg")]) >= 2 * 64
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_different_seed_gives_different_corpus(corpus, tmp_path):
    other = synth.generate_corpus(tmp_path / "other", replace(SMALL, seed=1))
    assert {v["id"] for v in other.vases}.isdisjoint({v["id"] for v in corpus.vases})
    a = sorted(p.read_bytes() for p in corpus.raw_dir.rglob("*.jpg"))
    b = sorted(p.read_bytes() for p in other.raw_dir.rglob("*.jpg"))
    assert a != b


def test_render_is_deterministic_given_the_rng():
    attrs = synth.sample_attributes(np.random.default_rng(3))
    one = synth.render_vase(attrs, "three_quarter", 64, np.random.default_rng(9))
    two = synth.render_vase(attrs, "three_quarter", 64, np.random.default_rng(9))
    assert one.tobytes() == two.tobytes()


# ── layout on disk ───────────────────────────────────────────────────────────────────────

def test_files_written(corpus):
    for name in ("vases.json", "images.json", "labelled.json", "corpus.json"):
        assert (corpus.root / name).is_file()
    meta = json.loads((corpus.root / "corpus.json").read_text())
    assert meta["format_version"] == synth.FORMAT_VERSION
    assert meta["config"] == {k: getattr(SMALL, k) for k in meta["config"]}


def test_counts_in_folders_match_records(corpus):
    raw = sorted(str(p.relative_to(corpus.raw_dir)) for p in corpus.raw_dir.rglob("*.jpg"))
    assert raw == sorted(r["file"] for r in corpus.images)
    assert len(corpus.vases) == SMALL.n_vases
    assert sum(len(v["views"]) for v in corpus.vases) == len(corpus.images)
    zero = list((corpus.labelled_dir / "0").glob("*.jpg"))
    one = list((corpus.labelled_dir / "1").glob("*.jpg"))
    assert len(zero) == SMALL.n_labelled // 2
    assert len(one) == SMALL.n_labelled - SMALL.n_labelled // 2
    assert len(corpus.labelled) == SMALL.n_labelled
    assert all((corpus.labelled_dir / r["file"]).is_file() for r in corpus.labelled)
    assert corpus.image_records() == corpus.images


def test_raw_images_are_in_nested_folders(corpus):
    folders = {Path(r["file"]).parent for r in corpus.images}
    assert all(str(f) != "." for f in folders)          # never directly in raw/
    assert all(str(f).split("/")[0].startswith("batch_") for f in folders)


def test_images_are_jpegs_of_the_configured_size(corpus):
    for rec in corpus.images[:5] + corpus.labelled[:5]:
        base = corpus.raw_dir if rec in corpus.images else corpus.labelled_dir
        with Image.open(base / rec["file"]) as im:
            assert im.format == "JPEG" and im.size == (64, 64) and im.mode == "RGB"


def test_file_names_follow_the_original_pattern(corpus):
    for rec in corpus.images + corpus.labelled:
        name = Path(rec["file"]).name
        assert NAME_RE.match(name), name
        assert name == synth.vase_file_name(rec["vase_id"], rec["view"])
        assert synth.FILE_NAME_RE.match(name).group(1) == rec["vase_id"]


def test_vases_have_consecutive_views(corpus):
    for vase in corpus.vases:
        k = len(vase["views"])
        assert SMALL.min_views <= k <= SMALL.max_views
        assert [int(n.split("_")[1]) for n in vase["views"]] == list(range(1, k + 1))
        assert set(vase["view_kinds"]) <= set(synth.VIEW_KINDS)
        assert set(vase["view_kinds"]) & {"front", "three_quarter", "side"}


def test_labelled_vases_are_not_raw_vases(corpus):
    assert {r["vase_id"] for r in corpus.labelled}.isdisjoint({v["id"] for v in corpus.vases})


# ── quality labels, degradations, conditions ─────────────────────────────────────────────

def test_every_degradation_kind_in_labelled_zero(corpus):
    zero = [r for r in corpus.labelled if r["label"] == 0]
    assert Counter(r["degradation"] for r in zero) == Counter(synth.DEGRADATIONS)
    assert all(r["file"].startswith("0/") and r["quality"] == 0 for r in zero)


def test_labelled_one_are_good_photos_of_intact_vases(corpus):
    one = [r for r in corpus.labelled if r["label"] == 1]
    assert all(r["degradation"] is None and r["condition"] == "intact" for r in one)
    assert all(r["file"].startswith("1/") and r["view_kind"] in synth.VIEW_KINDS for r in one)


def test_raw_records_are_consistent(corpus):
    by_id = corpus.vase_by_id()
    for rec in corpus.images:
        assert rec["quality"] == (0 if rec["degradation"] else 1)
        assert rec["degradation"] in (None, *synth.DEGRADATIONS)
        assert rec["condition"] == by_id[rec["vase_id"]]["condition"]
        assert rec["view_kind"] == by_id[rec["vase_id"]]["view_kinds"][rec["view"] - 1]
    n_deg = sum(r["quality"] == 0 for r in corpus.images)
    assert n_deg == round(SMALL.degraded_fraction * len(corpus.images))
    n_frag = sum(v["condition"] == "fragment" for v in corpus.vases)
    assert n_frag == round(SMALL.fragment_fraction * SMALL.n_vases)


# ── ground truth and captions ────────────────────────────────────────────────────────────

def test_captions_name_shape_fabric_technique_and_date(corpus):
    for vase in corpus.vases:
        a, cap = vase["attributes"], vase["caption"]
        assert cap == synth.format_caption(a)
        for key in ("fabric", "technique", "shape"):
            assert a[key] in cap
        m = DATE_RE.search(cap)
        assert m and [-int(m.group(1)), -int(m.group(2))] == a["date"]
        assert a["decoration"] in cap and a["provenance"] in cap


def test_sampled_attributes_are_consistent():
    rng = np.random.default_rng(123)
    for _ in range(3000):
        a = synth.sample_attributes(rng)
        start, end = a["date"]
        lo, hi = voc.TECHNIQUES[a["technique"]]
        assert lo <= start < end <= hi, a
        assert start % 25 == 0 and end - start in (25, 50, 75), a
        assert a["fabric"] in voc.FABRICS and a["shape"] in voc.SHAPES
        assert a["attribution"] is None or a["attribution"] in voc.PAINTERS
        assert a["provenance"] in voc.FIND_SPOTS + voc.COLLECTIONS
        subject, ornament = split_decoration(a["decoration"])
        assert ornament is None or ornament in voc.ORNAMENTS


def test_sample_attributes_covers_the_vocabulary():
    rng = np.random.default_rng(0)
    seen = [synth.sample_attributes(rng) for _ in range(3000)]
    assert {a["technique"] for a in seen} == set(voc.TECHNIQUES)
    assert len({a["shape"] for a in seen}) >= 25
    assert {"amphora", "hydria", "lekythos", "kylix", "oinochoe", "pelike", "stamnos",
            "skyphos", "alabastron", "aryballos"} <= {a["shape"] for a in seen}
    assert sum(a["attribution"] is not None for a in seen) > 300


@pytest.mark.parametrize("start,end,text", [
    (-525, -475, "c. 525\u2013475 BCE"),
    (-475, -525, "c. 525\u2013475 BCE"),
    (-500, -500, "c. 500 BCE"),
    (-25, 50, "c. 25 BCE\u201350 CE"),
    (100, 150, "c. 100\u2013150 CE"),
    (-50, 0, "c. 50\u20131 BCE"),
])
def test_format_date(start, end, text):
    assert synth.format_date(start, end) == text


def test_format_caption_matches_the_original_style():
    attrs = {"fabric": "Athenian", "technique": "black-figure", "shape": "lekythos",
             "date": [-525, -475], "decoration": "Herakles and the Erymanthian boar",
             "attribution": None, "provenance": "Marathon, Attica"}
    assert synth.format_caption(attrs) == ("Athenian black-figure lekythos, c. 525\u2013475 BCE, "
                                           "depicting Herakles and the Erymanthian boar; "
                                           "Marathon, Attica.")
    attrs["attribution"] = "Berlin Painter"
    assert synth.format_caption(attrs).endswith("; Marathon, Attica. "
                                                "Attributed to the Berlin Painter.")
    attrs["attribution"] = "Exekias"
    assert synth.format_caption(attrs).endswith(" Attributed to Exekias.")


# ── ensure / load ────────────────────────────────────────────────────────────────────────

def test_ensure_corpus_loads_when_config_matches(corpus, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("must not regenerate")
    monkeypatch.setattr(synth, "generate_corpus", boom)
    loaded = synth.ensure_corpus(corpus.root, SMALL)
    assert loaded.config == SMALL
    assert loaded.images == corpus.images and loaded.vases == corpus.vases
    assert loaded.labelled == corpus.labelled


def test_ensure_corpus_regenerates_when_config_changes(tmp_path):
    root = tmp_path / "c"
    first = synth.ensure_corpus(root, replace(SMALL, n_vases=2, n_labelled=2))
    assert len(first.vases) == 2
    second = synth.ensure_corpus(root, replace(SMALL, n_vases=3, n_labelled=4))
    assert len(second.vases) == 3 and len(second.labelled) == 4
    assert synth.load_corpus(root).config == replace(SMALL, n_vases=3, n_labelled=4)
    assert len(list((root / "raw").rglob("*.jpg"))) == len(second.images)
    assert not [p for p in tmp_path.glob(".c.*") if p.is_dir()]  # no temporary folders left


def test_ensure_corpus_survives_an_interrupted_generation(tmp_path):
    root = tmp_path / "c"
    partial = tmp_path / f".c.partial-{2**22 + 7}"     # left by a generation that was killed
    (partial / "raw").mkdir(parents=True)
    (partial / "raw" / "junk.jpg").write_bytes(b"half")
    cfg = replace(SMALL, n_vases=1, n_labelled=2)
    c = synth.ensure_corpus(root, cfg)
    assert (root / "corpus.json").is_file() and not partial.exists()
    assert not [p for p in tmp_path.glob(".c.*") if p.is_dir()]
    assert len(list(c.raw_dir.rglob("*.jpg"))) == len(c.images)


def test_refuses_to_replace_a_folder_that_is_not_a_corpus(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    (root / "mine.jpg").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="not a vaselib synthetic corpus"):
        synth.ensure_corpus(root, replace(SMALL, n_vases=1, n_labelled=2))
    assert (root / "mine.jpg").read_bytes() == b"precious"


def test_load_corpus_on_missing_dir_explains_the_fix(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as err:
        synth.load_corpus(missing)
    assert str(missing) in str(err.value) and "ensure_corpus" in str(err.value)


def test_invalid_config_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        synth.generate_corpus(tmp_path / "x", replace(SMALL, min_views=3, max_views=2))


# ── rendering ────────────────────────────────────────────────────────────────────────────

def _diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, float) - np.asarray(b, float)).mean())


def _dark_share(img: Image.Image) -> float:
    return float((np.asarray(img.convert("L")) < 110).mean())


def test_views_look_different():
    attrs = {"fabric": "Athenian", "technique": "black-figure", "shape": "neck-amphora",
             "date": [-550, -525], "decoration": "Athena Promachos", "attribution": "Exekias",
             "provenance": "Vulci, Etruria"}
    img = {v: synth.render_vase(attrs, v, 96, np.random.default_rng(1)) for v in synth.VIEW_KINDS}
    assert all(im.size == (96, 96) and im.mode == "RGB" for im in img.values())
    for odd in ("top", "bottom"):
        assert _diff(img["front"], img[odd]) > 8
    assert _diff(img["top"], img["bottom"]) > 8


def test_extra_keys_do_not_change_the_vase():
    attrs = synth.sample_attributes(np.random.default_rng(6))
    plain = synth.render_vase(attrs, "front", 64, np.random.default_rng(1))
    extra = synth.render_vase(dict(attrs, caption=synth.format_caption(attrs)), "front", 64,
                              np.random.default_rng(1))
    assert plain.tobytes() == extra.tobytes()
    assert set(attrs) == set(synth.ATTRIBUTE_KEYS)


def test_fragment_differs_from_intact():
    attrs = synth.sample_attributes(np.random.default_rng(5))
    intact = synth.render_vase(attrs, "front", 96, np.random.default_rng(2))
    broken = synth.render_vase(attrs, "front", 96, np.random.default_rng(2), "fragment")
    assert _diff(intact, broken) > 2
    with pytest.raises(ValueError):
        synth.render_vase(attrs, "front", 96, 0, condition="melted")


def test_every_shape_and_technique_renders():
    rng = np.random.default_rng(0)
    base = synth.sample_attributes(rng)
    for shape in voc.SHAPES:
        for view in ("front", "top"):
            im = synth.render_vase(dict(base, shape=shape), view, 48, rng)
            assert im.size == (48, 48)
            assert _dark_share(im) > 0.01, shape        # something was drawn
    for technique in voc.TECHNIQUES:
        synth.render_vase(dict(base, technique=technique), "front", 48, rng)


def test_unknown_view_kind_is_rejected():
    with pytest.raises(ValueError, match="view kind"):
        synth.render_vase(synth.sample_attributes(0), "sideways", 48, 0)


@pytest.mark.parametrize("kind", synth.DEGRADATIONS)
def test_degradations_change_the_image(kind):
    attrs = synth.sample_attributes(np.random.default_rng(8))
    img = synth.render_vase(attrs, "front", 96, np.random.default_rng(8))
    out = synth.degrade(img, kind, np.random.default_rng(4))
    assert out.size == img.size and out.mode == "RGB"
    assert _diff(img, out) > 2


def test_unknown_degradation_is_rejected():
    with pytest.raises(ValueError, match="degradation"):
        synth.degrade(Image.new("RGB", (32, 32)), "smudge", 0)
