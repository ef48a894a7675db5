"""The image-embedding cache: hits, misses, invalidation by content, damaged entries."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import torch
from conftest_clip import write_images
from PIL import Image

from vaselib.clip import fragment_filter
from vaselib.clip.backends import ClipBackend, clear_loaded, load_backend
from vaselib.clip.embeddings import EmbeddingCache, embed_files
from vaselib.clip.params import ClipQualityParams


pytestmark = pytest.mark.usefixtures("isolated_clip")


@pytest.fixture
def count_encodes(monkeypatch):
    """Count every image that reaches a CLIP image encoder."""
    calls = {"images": 0, "batches": 0}
    original = ClipBackend.encode_images

    def counting(self, batch):
        calls["images"] += int(batch.shape[0])
        calls["batches"] += 1
        return original(self, batch)

    monkeypatch.setattr(ClipBackend, "encode_images", counting)
    return calls


def _params(tmp_path, **kw):
    base = dict(input_dir=str(tmp_path / "imgs"), output_dir=str(tmp_path / "out"),
                model="vase-micro-vit", pretrained=None, cache_dir=str(tmp_path / "cache"),
                batch_size=4, sample_size=50)
    return ClipQualityParams(**{**base, **kw})


def test_second_run_with_another_threshold_or_prompts_encodes_no_image(tmp_path, count_encodes):
    write_images(tmp_path / "imgs", n_vases=5, views=2)
    r1 = fragment_filter.run(_params(tmp_path, threshold=0.0), progress=False)
    assert count_encodes["images"] == 10 and r1.scored.cache_stats["encoded"] == 10
    r2 = fragment_filter.run(_params(tmp_path, threshold=0.05), progress=False)
    r3 = fragment_filter.run(_params(tmp_path, threshold=None, low_prompts=["a broken pot"]),
                     progress=False)
    assert count_encodes["images"] == 10                     # nothing encoded again
    assert r2.scored.cache_stats["cache_hits"] == 10 and r2.scored.cache_stats["encoded"] == 0
    assert r3.scored.cache_stats["cache_hits"] == 10
    np.testing.assert_array_equal(r1.scores, r2.scores)     # same embeddings, same scores
    assert not np.allclose(r1.scores, r3.scores)           # other prompts, other scores


def test_cache_survives_a_new_process_state(tmp_path, count_encodes):
    """Forgetting the loaded model (a new kernel) still finds the embeddings on disk."""
    write_images(tmp_path / "imgs", n_vases=3, views=2)
    fragment_filter.run(_params(tmp_path), progress=False)
    clear_loaded()
    r = fragment_filter.run(_params(tmp_path), progress=False)
    assert r.scored.cache_stats["encoded"] == 0 and count_encodes["images"] == 6


def test_changed_file_content_is_recomputed(tmp_path, count_encodes):
    files = write_images(tmp_path / "imgs", n_vases=3, views=2)
    r1 = fragment_filter.run(_params(tmp_path), progress=False)
    Image.fromarray(np.full((40, 40, 3), 200, np.uint8)).save(files[0])   # same name, new bytes
    r2 = fragment_filter.run(_params(tmp_path), progress=False)
    assert r2.scored.cache_stats["encoded"] == 1 and r2.scored.cache_stats["cache_hits"] == 5
    i = r2.scored.files.index(files[0].name)
    assert r1.scores[i] != r2.scores[i]


def test_another_model_does_not_reuse_embeddings(tmp_path, count_encodes):
    write_images(tmp_path / "imgs", n_vases=2, views=2)
    fragment_filter.run(_params(tmp_path, seed=1), progress=False)
    r = fragment_filter.run(_params(tmp_path, seed=2), progress=False)   # other random weights
    assert r.scored.cache_stats["encoded"] == 4


def test_damaged_cache_entry_is_detected_and_recomputed(tmp_path):
    files = write_images(tmp_path / "imgs", n_vases=3, views=1)
    backend = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"))
    first = embed_files(backend, files, cache_dir=tmp_path / "cache")
    db = next((tmp_path / "cache").glob("*.sqlite"))
    con = sqlite3.connect(db)
    sha, vec = con.execute("SELECT sha256, vec FROM embeddings LIMIT 1").fetchone()
    tampered = np.frombuffer(vec, np.float32).copy()
    tampered[0] += 0.5
    con.execute("UPDATE embeddings SET vec=? WHERE sha256=?", (tampered.tobytes(), sha))
    con.commit()
    con.close()
    again = embed_files(backend, files, cache_dir=tmp_path / "cache")
    assert again.stats["corrupt_cache_entries"] == 1 and again.stats["encoded"] == 1
    np.testing.assert_allclose(again.vectors, first.vectors, atol=1e-6)   # never the tampered row
    third = embed_files(backend, files, cache_dir=tmp_path / "cache")
    assert third.stats["encoded"] == 0 and third.stats["corrupt_cache_entries"] == 0


def test_unreadable_cache_file_is_set_aside_and_rebuilt(tmp_path):
    files = write_images(tmp_path / "imgs", n_vases=2, views=1)
    backend = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"))
    embed_files(backend, files, cache_dir=tmp_path / "cache")
    db = next((tmp_path / "cache").glob("*.sqlite"))
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    db.write_bytes(b"garbage" * 1000)
    again = embed_files(backend, files, cache_dir=tmp_path / "cache")
    assert again.stats["encoded"] == 2
    assert any("set aside" in n for n in again.notes)
    assert list((tmp_path / "cache").glob("*.corrupt-*"))


def test_a_cache_file_locked_by_another_process_is_waited_for_never_set_aside(tmp_path):
    """A busy file is not a damaged one: two runs opening one cache at once must not rename
    the other's live file (which left it writing into a file set aside)."""
    first = EmbeddingCache(tmp_path / "cache", "m", {"model": "m"}, 4)
    first.put_many(["a"], np.ones((1, 4), np.float32))
    first.close()
    db = tmp_path / "cache" / "m.sqlite"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO embeddings VALUES ('b', 4, x'00', x'00')")
    try:
        with pytest.raises(RuntimeError, match=r"m\.sqlite.*locked.*cache_dir"):
            EmbeddingCache(tmp_path / "cache", "m", {"model": "m"}, 4, timeout=0.3)
        assert not list((tmp_path / "cache").glob("*.corrupt-*"))
        assert db.exists()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    again = EmbeddingCache(tmp_path / "cache", "m", {"model": "m"}, 4, timeout=5)
    try:
        out = np.zeros((1, 4), np.float32)
        found, corrupt = again.get_many(["a"], out, [0])
        assert found.all() and corrupt == 0 and not again.notes
    finally:
        again.close()


def test_duplicate_files_share_one_entry(tmp_path, count_encodes):
    files = write_images(tmp_path / "imgs", n_vases=2, views=1)
    (tmp_path / "imgs" / "copy.png").write_bytes(files[0].read_bytes())
    backend = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"))
    embed_files(backend, files, cache_dir=tmp_path / "cache")
    e = embed_files(backend, files + [tmp_path / "imgs" / "copy.png"], cache_dir=tmp_path / "cache")
    assert e.stats["encoded"] == 0
    np.testing.assert_array_equal(e.vectors[0], e.vectors[2])
