"""Nothing lost, nothing stale: stages 02-05 on broken and unusual files, user folders,
symlinks, interruptions and bad parameters."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from badinputs import make_bad_corpus, name, snapshot
from PIL import Image

from vaselib import outputs
from vaselib.clip import best_view, fragment_filter
from vaselib.clip.params import BestViewParams, ClipQualityParams
from vaselib.images import count_files, discover_images, open_image
from vaselib.params import ParameterError, validate
from vaselib.resnet import classify, predict
from vaselib.resnet.model import QualityClassifier, save_checkpoint
from vaselib.resnet.params import ClassifyParams
from vaselib.vlm import data as vdata

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(model="vase-micro-vit", pretrained=None, batch_size=8)
pytestmark = pytest.mark.usefixtures("isolated_clip")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "best_image_quality_model.pth"
    save_checkpoint(path, QualityClassifier("resnet18"), None, 0, 0.5, image_size=32)
    return path


def _q(src, out, tmp_path, **kw):
    return ClipQualityParams(**{**TINY, "input_dir": str(src), "output_dir": str(out),
                                "cache_dir": str(tmp_path / "cache"), "threshold": 0.0, **kw})


def _b(src, out, tmp_path, **kw):
    return BestViewParams(**{**TINY, "input_dir": str(src), "output_dir": str(out),
                             "cache_dir": str(tmp_path / "cache"), **kw})


def _c(src, out, ckpt, **kw):
    return ClassifyParams(**{"model_path": str(ckpt), "input_dir": str(src),
                             "output_dir": str(out), "batch_size": 8, **kw})


def _images(folder, n=6, size=24, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
            folder / name(i, 1 + i % 2))
    return folder


# ------------------------------------------------------------------- the bad-input corpus
def test_every_stage_survives_the_bad_input_corpus(tmp_path, checkpoint):
    """02, 03, 04 and the 05 data conversion: complete; each bad file listed with a reason;
    outputs + failures = inputs counted on disk; the source tree byte-identical."""
    c = make_bad_corpus(tmp_path / "src")
    before = snapshot(c.root)
    bad_words = {f: w for f, w in c.failing.items()}

    r2 = classify.run(_c(c.root, tmp_path / "02", checkpoint), progress=False)
    r3 = fragment_filter.run(_q(c.root, tmp_path / "03", tmp_path), progress=False)
    r4 = best_view.run(_b(c.root, tmp_path / "04", tmp_path), progress=False)

    for failures, placed in (
            (r2.failures, count_files(tmp_path / "02" / "0") + count_files(tmp_path / "02" / "1")),
            (r3.scored.failures, count_files(tmp_path / "03" / "accepted")
             + count_files(tmp_path / "03" / "rejected"))):
        got = {f["file"]: f["reason"] for f in failures}
        assert set(got) == set(bad_words), (sorted(got), sorted(bad_words))
        for f, word in bad_words.items():
            assert word in got[f], (f, got[f])
        assert placed + len(failures) == c.inputs
    assert r2.counts["total"] == c.inputs and r3.total == c.inputs
    # every input lands at its own relative path: five links to one blob stay five files
    for k in range(5):
        assert (tmp_path / "03" / "accepted" / "linked" / f"vase{k}" /
                name(20 + k, 1, "png")).exists() or \
               (tmp_path / "03" / "rejected" / "linked" / f"vase{k}" /
                name(20 + k, 1, "png")).exists()
    rep3 = json.loads((tmp_path / "03" / "filtering_report.json").read_text())
    assert any(s["file"] == "linked/loop" and "already visited" in s["reason"]
               for s in rep3["skipped"])
    assert rep3["verification"]["outputs_plus_failures_equal_inputs"]
    # 04: one file per vase with a readable view, each failure listed, nothing unaccounted
    rep4 = json.loads((tmp_path / "04" / "best_views_report.json").read_text())
    assert count_files(tmp_path / "04" / "best_views") == r4.vases > 0
    assert {f["file"] for f in rep4["failures"]} == set(bad_words)
    # 05's conversion of the same files (as a best_views folder with captions)
    caps = {n.split("_")[0]: f"Athenian black-figure amphora, c. 520–500 BCE, vase {i}"
            for i, n in enumerate(os.path.basename(p) for p in c.good + list(c.failing))}
    ds = vdata.from_best_views(c.root, caps)
    reasons = {Path(b.source).name: b.reason for b in ds.bad}
    for f, word in bad_words.items():
        assert Path(f).name in reasons, f
    assert len(ds.records) + sum(b.scope == "all" and b.source != "linked/loop"
                                 for b in ds.bad) == c.inputs
    assert snapshot(c.root) == before                      # sources untouched


# ------------------------------------------------------------------- folders a user owns
def test_a_users_own_folders_are_never_deleted(tmp_path, checkpoint):
    src = _images(tmp_path / "photos")
    labelled = tmp_path / "labelled"
    for cls in "01":
        _images(labelled / cls, n=2, seed=int(cls))
    (labelled / "accepted").mkdir()
    (labelled / "accepted" / "mine.txt").write_text("hand-picked")
    before = snapshot(labelled)
    with pytest.raises(outputs.OutputConflict, match=r"0/, 1/.*not written by vaselib"):
        classify.run(_c(src, labelled, checkpoint), progress=False)
    with pytest.raises(outputs.OutputConflict, match="accepted/"):
        fragment_filter.run(_q(src, labelled, tmp_path), progress=False)
    (labelled / "best_views").mkdir()
    with pytest.raises(outputs.OutputConflict, match="best_views/"):
        best_view.run(_b(src, labelled, tmp_path), progress=False)
    assert snapshot(labelled) == before
    # a folder one stage wrote is not another stage's to replace either
    classify.run(_c(src, tmp_path / "out", checkpoint), progress=False)
    (tmp_path / "out" / "accepted").mkdir()
    with pytest.raises(outputs.OutputConflict, match="written by stage 02_classify"):
        fragment_filter.run(_q(src, tmp_path / "out", tmp_path), progress=False)


def test_a_rerun_replaces_only_what_the_stage_wrote(tmp_path):
    src = _images(tmp_path / "photos")
    out = tmp_path / "03"
    fragment_filter.run(_q(src, out, tmp_path, threshold=-2.0), progress=False)
    (out / "my_notes.txt").write_text("keep me")
    r = fragment_filter.run(_q(src, out, tmp_path, threshold=2.0), progress=False)
    assert r.accepted == 0 and count_files(out / "accepted") == 0
    assert count_files(out / "rejected") == 6
    assert (out / "my_notes.txt").read_text() == "keep me"
    manifest = outputs.read_manifest(out)
    assert manifest["complete"] and "my_notes.txt" not in manifest["items"]


@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_output_dir_is_rejected(value, tmp_path):
    src = _images(tmp_path / "photos", n=2)
    with pytest.raises(ParameterError, match="output_dir"):
        fragment_filter.run(_q(src, value, tmp_path), progress=False)


def test_output_and_cache_dirs_are_checked_before_any_work(tmp_path, checkpoint, monkeypatch):
    src = _images(tmp_path / "photos", n=2)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    called = []
    monkeypatch.setattr(predict, "predict_files", lambda *a, **k: called.append(1))
    with pytest.raises(ParameterError, match=r"output_dir .* is a file"):
        classify.run(_c(src, a_file, checkpoint), progress=False)
    with pytest.raises(ParameterError, match=r"output_dir .* cannot be written"):
        classify.run(_c(src, a_file / "sub", checkpoint), progress=False)
    assert not called
    with pytest.raises(ParameterError, match=r"cache_dir .* cannot be written"):
        fragment_filter.run(_q(src, tmp_path / "o", tmp_path, cache_dir=str(a_file / "c")),
                            progress=False)


# ------------------------------------------------------------------- symlinks and modes
def test_symlinked_inputs_keep_their_own_paths(tmp_path):
    blob = tmp_path / "store" / "blob"
    blob.parent.mkdir()
    Image.new("RGB", (20, 20), (200, 30, 30)).save(blob, format="PNG")
    src = tmp_path / "photos"
    for k in range(5):
        (src / f"vase{k}").mkdir(parents=True)
        (src / f"vase{k}" / "front.png").symlink_to(blob)
    r = fragment_filter.run(_q(src, tmp_path / "03", tmp_path, threshold=-2.0), progress=False)
    assert r.accepted == 5
    placed = sorted(str(p.relative_to(tmp_path / "03" / "accepted"))
                    for p in (tmp_path / "03" / "accepted").rglob("*.png"))
    assert placed == [f"vase{k}/front.png" for k in range(5)]


def test_symlinked_folders_are_followed_once_and_loops_skipped(tmp_path):
    real = _images(tmp_path / "real", n=2)
    src = tmp_path / "photos"
    src.mkdir()
    (src / "link").symlink_to(real, target_is_directory=True)
    (src / "again").symlink_to(real, target_is_directory=True)
    (src / "loop").symlink_to(src, target_is_directory=True)
    found = discover_images(src)
    assert [found.relative(p) for p in found.files] == [f"again/{name(i, 1 + i % 2)}"
                                                        for i in range(2)]
    assert sorted(s["file"] for s in found.skipped) == ["link", "loop"]


def _gradient() -> np.ndarray:
    return np.tile(np.linspace(0, 255, 32).round().astype(np.uint8), (32, 1))


@pytest.mark.parametrize("mode", ["I;16", "I", "F", "LA", "P-transparency", "1", "L"])
def test_every_mode_decodes_like_its_8_bit_reference(mode, tmp_path):
    g8 = _gradient()
    ref = np.stack([g8] * 3, -1).astype(int)
    if mode == "I;16":
        im = Image.fromarray((g8.astype(np.uint16) * 257))
    elif mode == "I":
        im = Image.fromarray((g8.astype(np.int32) * 257)).convert("I")
    elif mode == "F":
        im = Image.fromarray(g8.astype(np.float32) / 255.0, "F")
    elif mode == "LA":
        alpha = np.full_like(g8, 255)
        alpha[:, :4] = 0                                  # transparent strip: white
        ref[:, :4] = 255
        im = Image.fromarray(np.stack([g8, alpha], -1), "LA")
    elif mode == "P-transparency":
        im = Image.fromarray(np.stack([g8] * 3, -1)).convert("P", palette=Image.ADAPTIVE)
        index = np.asarray(im)[0, 0]
        im.info["transparency"] = int(index)
        ref = np.asarray(im.convert("RGB"), dtype=int)
        ref[np.asarray(im) == index] = 255
    elif mode == "1":
        im = Image.fromarray(g8 > 127)
        ref = np.stack([np.where(g8 > 127, 255, 0)] * 3, -1)
    else:
        im = Image.fromarray(g8)
    path = tmp_path / f"img.{'tif' if mode in ('I', 'F') else 'png'}"
    im.save(path, **({"transparency": im.info["transparency"]} if mode == "P-transparency"
                     else {}))
    got = np.asarray(open_image(path), dtype=int)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= 1, mode
    assert got.std() > 10                                  # not a blank frame


def test_images_over_max_image_pixels_fail_before_decoding(tmp_path):
    from badinputs import png_bomb

    src = tmp_path / "photos"
    _images(src, n=2)
    (src / name(9, 1, "png")).write_bytes(png_bomb(10_000, 9_000))      # 90 MP, a few kB
    r = fragment_filter.run(_q(src, tmp_path / "o", tmp_path), progress=False)
    assert [f["file"] for f in r.scored.failures] == [name(9, 1, "png")]
    assert "too large" in r.scored.failures[0]["reason"]
    assert "max_image_pixels" in r.scored.failures[0]["reason"]
    big = fragment_filter.run(_q(src, tmp_path / "o2", tmp_path, max_image_pixels=100_000_000),
                              progress=False)
    assert not big.scored.failures                        # raised, it decodes


# ------------------------------------------------------------------- interruptions
def _kill_during(stage_call: str, patch: str, tmp_path: Path) -> int:
    """Run ``stage_call`` in a child that SIGKILLs itself where ``patch`` says: ``patch``
    defines ``install(die)``, which wraps a function so that it calls ``die()``."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        os.environ["VASELIB_DATA"] = {str(tmp_path / 'data')!r}
        from vaselib import outputs
        from vaselib.clip import fragment_filter, embeddings
        from vaselib.clip.params import ClipQualityParams
        def die():
            os.kill(os.getpid(), signal.SIGKILL)
    """) + textwrap.dedent(patch) + "\ninstall(die)\n" + stage_call + "\n"
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode


def _nth_call(target: str, attr: str, n: int) -> str:
    """A patch killing the child at the n-th call of ``target.attr``."""
    return f"""
        def install(die):
            real = getattr({target}, {attr!r})
            count = [0]
            def dying(*a, **k):
                count[0] += 1
                if count[0] >= {n}:
                    die()
                return real(*a, **k)
            setattr({target}, {attr!r}, dying)
    """


@pytest.mark.slow
def test_a_kill_while_placing_files_leaves_the_previous_complete_run(tmp_path):
    src = _images(tmp_path / "photos", n=8)
    out = tmp_path / "03"
    first = fragment_filter.run(_q(src, out, tmp_path, threshold=-2.0), progress=False)
    report = (out / "filtering_report.json").read_text()
    call = (f"fragment_filter.run(ClipQualityParams(model='vase-micro-vit', pretrained=None, "
            f"input_dir={str(src)!r}, output_dir={str(out)!r}, cache_dir="
            f"{str(tmp_path / 'cache')!r}, threshold=2.0), progress=False)")
    assert _kill_during(call, _nth_call("fragment_filter", "place_file", 3),
                        tmp_path) == -signal.SIGKILL
    assert (out / "filtering_report.json").read_text() == report      # the previous run
    assert count_files(out / "accepted") == first.accepted == 8
    assert outputs.read_manifest(out)["complete"]
    again = fragment_filter.run(_q(src, out, tmp_path, threshold=2.0), progress=False)
    assert again.accepted == 0 and not list(out.glob(".vaselib-staging-*"))


@pytest.mark.slow
def test_a_kill_while_swapping_in_leaves_nothing_claiming_to_be_complete(tmp_path):
    src = _images(tmp_path / "photos", n=6)
    out = tmp_path / "03"
    fragment_filter.run(_q(src, out, tmp_path, threshold=-2.0), progress=False)
    call = (f"fragment_filter.run(ClipQualityParams(model='vase-micro-vit', pretrained=None, "
            f"input_dir={str(src)!r}, output_dir={str(out)!r}, cache_dir="
            f"{str(tmp_path / 'cache')!r}, threshold=2.0), progress=False)")
    # killed just after the manifest says "incomplete", before the swap
    patch = """
        def install(die):
            real = outputs.StageOutputs._write_manifest
            def dying(self, items, *, complete):
                real(self, items, complete=complete)
                if not complete:
                    die()
            outputs.StageOutputs._write_manifest = dying
    """
    assert _kill_during(call, patch, tmp_path) == -signal.SIGKILL
    manifest = outputs.read_manifest(out)
    assert manifest["stage"] == "03_clip_quality" and not manifest["complete"]
    assert not (out / "summary.json").exists()
    with pytest.raises(outputs.IncompleteInput, match="unfinished run of stage 03_clip_quality"):
        best_view.run(_b(out / "accepted", tmp_path / "04", tmp_path), progress=False)
    fragment_filter.run(_q(src, out, tmp_path, threshold=2.0), progress=False)   # recovers
    assert outputs.read_manifest(out)["complete"]


def test_counts_that_do_not_add_up_fail_the_stage_and_commit_nothing(tmp_path, monkeypatch):
    src = _images(tmp_path / "photos", n=6)
    real = fragment_filter.place_file
    monkeypatch.setattr(fragment_filter, "place_file",
                        lambda path, *a, **k: None if path.name == name(3, 2) else real(path, *a, **k))
    with pytest.raises(outputs.OutputMismatch, match=r"accepted/ holds 5 files, expected 6"):
        fragment_filter.run(_q(src, tmp_path / "03", tmp_path, threshold=-2.0), progress=False)
    assert not (tmp_path / "03" / "accepted").exists()
    assert not (tmp_path / "03" / "summary.json").exists()


# ------------------------------------------------------------------- the embedding cache
def test_a_cache_damaged_in_the_middle_is_set_aside_and_rebuilt(tmp_path):
    src = _images(tmp_path / "photos", n=40)
    fragment_filter.run(_q(src, tmp_path / "a", tmp_path), progress=False)
    db = next((tmp_path / "cache").glob("*.sqlite"))
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    raw = bytearray(db.read_bytes())
    assert len(raw) > 3 * 4096
    raw[4096:2 * 4096] = os.urandom(4096)                  # garbage, header intact
    db.write_bytes(bytes(raw))
    r = fragment_filter.run(_q(src, tmp_path / "b", tmp_path), progress=False)
    assert r.scored.cache_stats["encoded"] == 40
    assert any("set aside" in n for n in r.notes)
    assert list((tmp_path / "cache").glob("*.corrupt-*"))
    r2 = fragment_filter.run(_q(src, tmp_path / "c", tmp_path), progress=False)
    assert r2.scored.cache_stats["encoded"] == 0


@pytest.mark.slow
def test_embeddings_encoded_before_a_kill_are_reused(tmp_path):
    src = _images(tmp_path / "photos", n=48)
    call = (f"fragment_filter.run(ClipQualityParams(model='vase-micro-vit', pretrained=None, "
            f"batch_size=8, input_dir={str(src)!r}, output_dir={str(tmp_path / 'o')!r}, "
            f"cache_dir={str(tmp_path / 'cache')!r}), progress=False)")
    # killed as the third batch is about to be written: two batches (16 images) are kept
    rc = _kill_during(call, _nth_call("embeddings.EmbeddingCache", "put_many", 3), tmp_path)
    assert rc == -signal.SIGKILL
    r = fragment_filter.run(_q(src, tmp_path / "o", tmp_path, batch_size=8), progress=False)
    assert 0 < r.scored.cache_stats["cache_hits"] < 48
    assert r.scored.cache_stats["encoded"] == 48 - r.scored.cache_stats["cache_hits"]


# ------------------------------------------------------------------- small ones
@pytest.mark.parametrize("value", [True, False, "yes"])
def test_numbers_refuse_yes_no_values(value):
    with pytest.raises(ParameterError, match="threshold"):
        validate("03_clip_quality", {"threshold": value})
    with pytest.raises(ParameterError, match="threshold"):
        validate("02_classify", {"threshold": value})


def test_a_broken_captions_file_names_itself(tmp_path):
    bad = tmp_path / "captions.json"
    bad.write_text('{"a": "Athenian amphora",')
    with pytest.raises(ValueError, match=r"captions file .*captions.json is not valid JSON"):
        vdata.load_captions(bad)


def test_a_number_as_caption_is_said_to_be_a_number(tmp_path):
    img = tmp_path / "a.jpg"
    Image.new("RGB", (8, 8)).save(img)
    (tmp_path / "r.json").write_text(json.dumps([{"images": ["a.jpg"], "caption": 42}]))
    ds = vdata.from_records_file(tmp_path / "r.json")
    assert ds.bad[0].reason == "caption is not text (got int 42)"


def test_vase_run_prints_the_stage_and_no_traceback(tmp_path, capsys):
    from vaselib.cli import main

    code = main(["run", "03", "--no-kernel", "-p", "input_dir", str(tmp_path / "nowhere"),
                 "--run-id", "never"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "input_dir" in err and "does not exist" in err
