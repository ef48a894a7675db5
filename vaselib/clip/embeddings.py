"""Image embeddings, computed in batches and cached on disk by file content and model.

:class:`EmbeddingCache` is one SQLite file per model identity
(``<cache_dir>/<backend>-<model>-<key>.sqlite``) holding, per image, the SHA-256 of the
file's bytes, the float32 embedding and a checksum of that embedding.  A file whose bytes
changed has a new hash and is encoded again; an entry whose checksum does not match (a
damaged cache) is dropped and recomputed, never used; a cache file that SQLite cannot read
— or whose ``PRAGMA quick_check`` finds damage — is set aside (renamed ``*.corrupt-<time>``)
and rebuilt.  A file another process holds locked is busy, not damaged: the open waits for
it (``timeout`` seconds in all) and then stops with an error, never setting a live file
aside.  New embeddings are committed batch by batch, so an interrupted run keeps what it
encoded and a rerun encodes only the rest.

:func:`embed_files` hashes the files, reads the hits from the cache and streams only the
misses through a DataLoader (decoding in workers, :class:`vaselib.images.ImageFileDataset`),
encoding them in batches and writing each batch back.  Memory holds one float32 row per
image and nothing else per image, however many images there are.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from vaselib import runs
from vaselib.files import file_sha256
from vaselib.images import DEFAULT_MAX_PIXELS, unreadable_reason

CHUNK = 500          # SQLite parameters per lookup query


def default_cache_dir() -> Path:
    return runs.cache_dir("clip-embeddings")


def _content_hash(path: str | Path) -> str | None:
    """SHA-256 of a file's bytes (None when it cannot be read)."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def hash_files(paths: Sequence[Path], threads: int = 4, progress: bool = False) -> list[str | None]:
    """Content hashes of many files (threads overlap the reads; hashlib releases the GIL)."""
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        it = pool.map(_content_hash, paths, chunksize=64)
        return list(tqdm(it, total=len(paths), desc="hash files", disable=not progress,
                         leave=False))


def _is_busy(err: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (any extended code of them)."""
    return err.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _checksum(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).digest()


class EmbeddingCache:
    """Embeddings of one model, keyed by file-content hash, with a checksum per entry."""

    def __init__(self, cache_dir: str | Path, slug: str, identity: dict, dim: int,
                 timeout: float = 60.0):
        self.timeout = float(timeout)
        self.folder = Path(cache_dir)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{slug}.sqlite"
        self.identity = identity
        self.dim = int(dim)
        self.notes: list[str] = []
        self._con = self._open()

    # -- storage -----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            con.execute("CREATE TABLE IF NOT EXISTS embeddings (sha256 TEXT PRIMARY KEY, "
                        "dim INTEGER NOT NULL, vec BLOB NOT NULL, checksum BLOB NOT NULL)")
            con.execute("INSERT OR IGNORE INTO meta VALUES ('identity', ?)",
                        (json.dumps(self.identity, sort_keys=True),))
            row = con.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
            stored = json.loads(row[0])
            if {k: v for k, v in stored.items() if k != "weights"} != \
                    {k: v for k, v in self.identity.items() if k != "weights"}:
                raise sqlite3.DatabaseError("cache file belongs to another model identity")
            check = con.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                raise sqlite3.DatabaseError(f"integrity check failed: {check[0][0]}")
        except BaseException:
            con.close()
            raise
        return con

    def _open(self) -> sqlite3.Connection:
        deadline = time.monotonic() + self.timeout
        pause = 0.05
        while True:
            try:
                return self._connect()
            except sqlite3.OperationalError as err:
                # SQLITE_BUSY / SQLITE_LOCKED: another process is creating or writing the
                # file (some busy states skip SQLite's own wait, e.g. WAL recovery).
                if not _is_busy(err):
                    raise
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"embedding cache {self.path} stayed locked by another process for "
                        f"{self.timeout:g} s ({err}); wait for that run to finish, or give "
                        "this run another cache_dir") from err
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
            except sqlite3.DatabaseError as err:
                return self._set_aside_and_connect(err)

    def _set_aside_and_connect(self, err: Exception) -> sqlite3.Connection:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                p.replace(Path(str(aside) + suffix))
        self.notes.append(f"embedding cache {self.path.name} was unreadable ({err}); set "
                          f"aside as {aside.name} and rebuilt")
        return self._connect()

    def close(self) -> None:
        self._con.close()

    def __len__(self) -> int:
        return self._con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]

    # -- reads and writes --------------------------------------------------------------
    def get_many(self, hashes: Sequence[str], out: np.ndarray,
                 rows: Sequence[int]) -> tuple[np.ndarray, int]:
        """Fill ``out[rows[i]]`` for each cached ``hashes[i]``; return (found mask, corrupt count).

        Entries whose checksum or size is wrong are deleted and reported as not found.
        """
        found = np.zeros(len(hashes), dtype=bool)
        where: dict[str, list[int]] = {}
        for i, h in enumerate(hashes):
            where.setdefault(h, []).append(i)
        keys = list(where)
        bad: list[str] = []
        for start in range(0, len(keys), CHUNK):
            part = keys[start:start + CHUNK]
            q = ("SELECT sha256, dim, vec, checksum FROM embeddings WHERE sha256 IN "
                 f"({','.join('?' * len(part))})")
            for sha, dim, vec, chk in self._con.execute(q, part):
                if dim != self.dim or len(vec) != 4 * self.dim or _checksum(vec) != chk:
                    bad.append(sha)
                    continue
                v = np.frombuffer(vec, dtype=np.float32)
                if not np.isfinite(v).all():
                    bad.append(sha)
                    continue
                for i in where[sha]:
                    out[rows[i]] = v
                    found[i] = True
        if bad:
            self._con.executemany("DELETE FROM embeddings WHERE sha256 = ?", [(b,) for b in bad])
        return found, len(bad)

    def put_many(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = []
        for h, v in zip(hashes, vectors):
            blob = v.tobytes()
            rows.append((h, self.dim, blob, _checksum(blob)))
        self._con.execute("BEGIN")
        self._con.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
        self._con.execute("COMMIT")


@dataclass
class EmbeddedImages:
    """Embeddings of a list of files, row ``i`` for ``paths[i]``."""

    paths: list[Path]
    vectors: np.ndarray                  # float32 [n, dim]; NaN rows for failures
    failures: dict[int, str]             # index -> reason
    hashes: list[str | None]
    stats: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> np.ndarray:
        mask = np.ones(len(self.paths), dtype=bool)
        if self.failures:
            mask[list(self.failures)] = False
        return mask


def embed_files(backend, paths: Sequence[str | Path], *, cache_dir: str | Path | None = None,
                batch_size: int = 64, num_workers: int = 0, progress: bool = False,
                use_cache: bool = True, max_pixels: int = DEFAULT_MAX_PIXELS) -> EmbeddedImages:
    """L2-normalised image embeddings of ``paths``, from the cache where possible."""
    from torch.utils.data import DataLoader

    from vaselib.images import ImageFileDataset, collate_images, single_threaded

    paths = [Path(p) for p in paths]
    dim = backend.embed_dim
    vectors = np.full((len(paths), dim), np.nan, dtype=np.float32)
    failures: dict[int, str] = {}
    hashes = hash_files(paths, progress=progress)
    for i, h in enumerate(hashes):
        if h is None:
            failures[i] = unreadable_reason(paths[i])
    todo_rows = [i for i, h in enumerate(hashes) if h is not None]
    stats = {"images": len(paths), "cache_hits": 0, "encoded": 0, "corrupt_cache_entries": 0,
             "failed": 0}
    cache = None
    notes: list[str] = []
    if use_cache and todo_rows:
        cache = EmbeddingCache(cache_dir or default_cache_dir(), backend.slug, backend.identity,
                               dim)
        notes += cache.notes
        found, corrupt = cache.get_many([hashes[i] for i in todo_rows], vectors, todo_rows)
        stats["cache_hits"] = int(found.sum())
        stats["corrupt_cache_entries"] = corrupt
        if corrupt:
            notes.append(f"{corrupt} damaged cache entr{'y' if corrupt == 1 else 'ies'} "
                         f"(checksum mismatch) recomputed")
        todo_rows = [r for r, f in zip(todo_rows, found) if not f]
    try:
        if todo_rows:
            ds = ImageFileDataset([paths[i] for i in todo_rows], backend.preprocess, max_pixels)
            loader = DataLoader(ds, batch_size=batch_size, shuffle=False,
                                num_workers=num_workers, collate_fn=collate_images,
                                persistent_workers=False, worker_init_fn=single_threaded,
                                pin_memory=backend.device.type == "cuda")
            bar = tqdm(total=len(todo_rows), desc="encode images", disable=not progress)
            for images, idx, failed in loader:
                for j, why in failed:
                    failures[todo_rows[j]] = why
                if images is not None:
                    emb = backend.encode_images(images)
                    rows = [todo_rows[j] for j in idx]
                    vectors[rows] = emb
                    stats["encoded"] += len(rows)
                    if cache is not None:   # one transaction per batch: a kill loses
                        cache.put_many([hashes[r] for r in rows], emb)   # one batch at most
                bar.update(len(idx) + len(failed))
            bar.close()
    finally:
        if cache is not None:
            cache.close()
    stats["failed"] = len(failures)
    return EmbeddedImages(paths, vectors, dict(sorted(failures.items())), hashes, stats, notes)
