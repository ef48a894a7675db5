"""Where things live: the workbook root, run folders, demo data, and each stage's summary.

Relative paths in parameters are resolved against the workbook root (the folder holding
``pyproject.toml`` for vaselib, found upward from the current directory), so a notebook
gives the same result whether Jupyter runs it from ``notebooks/`` or papermill from the
root.  Outside a checkout, the current directory is the root.

Every stage writes ``summary.json`` into its output folder: stage name, parameters,
headline numbers, inputs and outputs, library versions and run time.  The next stage and
the run index read it; no stage reaches back into another's internals.
"""
from __future__ import annotations

import json
import os
import platform
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from vaselib.files import atomic_write_json

SUMMARY_FILE = "summary.json"


def workbook_root(start: str | Path | None = None) -> Path:
    """The nearest folder upward from ``start`` (default: cwd) that holds vaselib's project."""
    env = os.environ.get("VASELIB_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pp = folder / "pyproject.toml"
        if pp.is_file() and 'name = "vaselib"' in pp.read_text(encoding="utf-8"):
            return folder
    return here


def resolve(path: str | Path | None) -> Path | None:
    """An absolute path: relative ones are taken from the workbook root."""
    if path is None:
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else workbook_root() / p


def display_path(path: str | Path) -> str:
    """A path as shown in reports: relative to the workbook root when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(workbook_root()))
    except ValueError:
        return str(p)


def data_dir() -> Path:
    """Where generated demo data and caches live (``VASELIB_DATA`` or ``<root>/data``)."""
    env = os.environ.get("VASELIB_DATA")
    return Path(env).resolve() if env else workbook_root() / "data"


def demo_corpus_dir() -> Path:
    """The embedded synthetic vase corpus (generated on first use)."""
    return data_dir() / "demo-corpus"


def cache_dir(kind: str) -> Path:
    """A cache folder for ``kind`` (e.g. ``clip-embeddings``, ``models``)."""
    return data_dir() / "cache" / kind


def json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return display_path(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented UTF-8 JSON atomically (paths shown relative to the root)."""
    return atomic_write_json(path, data, default=json_default)


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{display_path(path)} does not exist")
    return json.loads(path.read_text(encoding="utf-8"))


_VERSIONED = ("vaselib", "torch", "torchvision", "open_clip_torch", "transformers", "ms-swift",
              "peft", "numpy", "pillow")


def versions() -> dict[str, str]:
    """Versions of the libraries that shape a stage's numbers."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_summary(output_dir: str | Path, stage: str, params: Any, headline: dict[str, Any],
                  outputs: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
                  seconds: float | None = None, notes: list[str] | None = None) -> Path:
    """Write the stage's ``summary.json``: what ran, with what, and its headline numbers."""
    if hasattr(params, "to_dict"):
        params = params.to_dict()
    return write_json(Path(output_dir) / SUMMARY_FILE, {
        "stage": stage,
        "headline": headline,
        "params": params,
        "inputs": inputs or {},
        "outputs": outputs or {},
        "seconds": None if seconds is None else round(seconds, 2),
        "notes": notes or [],
        "versions": versions(),
    })


def read_summary(output_dir: str | Path) -> dict[str, Any]:
    """Read a stage's ``summary.json`` with a clear error when the stage has not run there."""
    path = Path(output_dir) / SUMMARY_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{display_path(path)} does not exist: run that stage first (or point this "
            f"parameter at a folder a finished stage wrote)")
    return read_json(path)


def input_path(value: str | Path | None, name: str, what: str, *,
               kind: str = "dir") -> Path:
    """The stage input ``name`` as an absolute path, checked to exist.

    ``kind`` is ``dir``, ``file`` or ``any``.  An input left ``None`` is an error naming the
    parameter: a stage never invents its inputs (notebooks and ``vase run`` fill the demo's
    in, through :func:`vaselib.demo.fill_inputs`).
    """
    from vaselib.stages import ParameterError

    if value is None or str(value).strip() == "":
        raise ParameterError(
            f"{name} is not set: give {what}. (Run from a notebook or `vase run`, an input "
            f"left None is filled with the offline demo's; from a script, pass it.)")
    path = resolve(value)
    ok = {"dir": path.is_dir(), "file": path.is_file(), "any": path.exists()}[kind]
    if not ok:
        if kind == "dir" and path.is_file():
            problem = "is a file, not a folder"
        elif kind == "file" and path.is_dir():
            problem = "is a folder, not a file"
        else:
            problem = "does not exist"
        raise FileNotFoundError(f"{name} = {value!r} {problem} ({display_path(path)}); "
                                f"give {what}")
    return path


class Timer(dict):
    """``t["seconds"]`` once the ``with`` block is done; ``t.elapsed()`` inside it."""

    def elapsed(self) -> float:
        return time.perf_counter() - self["start"]


@contextmanager
def timer() -> Iterator[Timer]:
    """``with timer() as t: ...`` then ``t["seconds"]``."""
    t = Timer(start=time.perf_counter())
    try:
        yield t
    finally:
        t["seconds"] = t.elapsed()
