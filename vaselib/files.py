"""Writing files so that no reader ever sees half of one, and hashing files.

Every file vaselib writes that something else reads later (reports, summaries, manifests,
checkpoints, data sets, models) goes through one of these helpers: the bytes are written to
a temporary sibling and renamed over the target, so an interruption at any moment leaves
either the old file or the new one, never a torn one.

- :func:`atomic_write_bytes`, :func:`atomic_write_text`, :func:`atomic_write_json`;
- :func:`atomic_file`: a temporary path to hand to a writer that wants a file name
  (``torch.save``, safetensors, a JSON-lines stream), moved into place on success;
- :func:`atomic_dir`: the same for a whole folder (a model), moved into place when complete;
- :func:`file_sha256`: the SHA-256 of a file's bytes; :func:`remembered_file_sha256` and
  :func:`remembered_sha256` remember it by path, size and modification time;
- :func:`build_lock`: one process at a time builds a folder (a cached model, a corpus).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

_MEMO_LOCK = threading.Lock()

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_file",
           "atomic_dir", "file_sha256", "remembered_file_sha256", "remembered_sha256",
           "temp_sibling"]


def temp_sibling(path: str | Path, tag: str = "tmp") -> Path:
    """A unique hidden name beside ``path`` (same folder, so a rename is atomic)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """``with atomic_file(p) as tmp: write(tmp)`` — ``tmp`` replaces ``p`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, data: Any, *, default: Callable | None = None,
                      indent: int | None = 2) -> Path:
    """Write ``data`` as UTF-8 JSON (non-ASCII kept) to ``path`` atomically."""
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=default)
    return atomic_write_text(path, text + "\n")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """``with atomic_dir(folder) as tmp: fill(tmp)`` — ``tmp`` becomes ``folder`` when done.

    An existing ``folder`` is replaced only after ``tmp`` is complete (moved aside, then
    removed), so a reader finds the old folder or the new one.  On an exception ``tmp`` is
    removed and ``folder`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path, "building")
    tmp.mkdir()
    try:
        yield tmp
        try:
            os.rename(tmp, path)
        except OSError:
            if not path.is_dir():
                raise
            old = temp_sibling(path, "old")
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of the bytes of ``path``; raises OSError when it cannot be read."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def remembered_sha256(paths, memo_file: str | Path) -> str:
    """One SHA-256 over the contents of ``paths`` (in the order given), each file's hash
    remembered in ``memo_file`` by its real path, size and modification time — so a
    multi-gigabyte weights file is hashed once, not at every load."""
    h = hashlib.sha256()
    for digest in _remembered_digests(paths, memo_file):
        h.update(digest.encode())
    return h.hexdigest()


def remembered_file_sha256(path: str | Path, memo_file: str | Path) -> str:
    """:func:`file_sha256` of ``path`` (the same value), remembered in ``memo_file`` as
    :func:`remembered_sha256` remembers it: a checkpoint is hashed once, not at every run."""
    return _remembered_digests([path], memo_file)[0]


def _remembered_digests(paths, memo_file: str | Path) -> list[str]:
    memo_file = Path(memo_file)
    with _MEMO_LOCK:
        try:
            memo = json.loads(memo_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            memo = {}
        digests = []
        changed = False
        for p in paths:
            real = os.path.realpath(p)
            st = os.stat(real)
            key = f"{real}|{st.st_size}|{st.st_mtime_ns}"
            if key not in memo:
                memo[key] = file_sha256(real)
                changed = True
            digests.append(memo[key])
        if changed:
            try:
                atomic_write_json(memo_file, memo, indent=None)
            except OSError:
                pass                     # a read-only cache: hash again next time
    return digests


def build_lock(target: str | Path):
    """A cross-process lock for building ``target`` (``.<name>.lock`` beside it): a second
    process that needs the same folder waits for the build under way instead of repeating it."""
    from filelock import FileLock

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(target.with_name(f".{target.name}.lock")))
