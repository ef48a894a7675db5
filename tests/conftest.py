"""Shared test set-up: offline model hubs, a headless matplotlib, helpers for notebooks."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# the python3 kernel papermill starts must be this environment's Python
_share = str(Path(sys.prefix) / "share" / "jupyter")
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    p for p in (_share, os.environ.get("JUPYTER_PATH", "")) if p)


# The longest modules first: with two workers (`make test` runs pytest-xdist with
# --dist loadscope --no-loadscope-reorder: without it xdist orders modules by their number
# of tests instead) the rest of the suite then runs beside them instead of after them.
# test_demo_models builds the base VLM and demo CLIP the demo needs from stage 03 and 05 on.
# xdist queues two modules on each worker at the start, so the third one here runs after the
# whole demo on its worker: a module of a second.
LONGEST_FIRST = ("test_demo_regression", "test_demo_models", "test_architecture",
                 "test_vlm_pipeline", "test_resume")


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        name = item.module.__name__ if item.module is not None else ""
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=rank)      # stable: the order within each module is kept


@pytest.fixture
def run_notebook(tmp_path):
    """Run ``notebooks/<stage>.ipynb`` through papermill with ``parameters``; return the nb."""
    import nbformat
    import papermill as pm

    def _run(stage: str, **parameters):
        out = tmp_path / f"{stage}.ipynb"
        parameters.setdefault("output_dir", str(tmp_path / stage))
        pm.execute_notebook(str(ROOT / "notebooks" / f"{stage}.ipynb"), str(out),
                            parameters=parameters, kernel_name="python3",
                            progress_bar=False, cwd=str(ROOT))
        return nbformat.read(out, as_version=4)

    return _run


def cell_text(nb, marker: str = "# NBVAL_CHECK_OUTPUT") -> str:
    """The printed text of the cells whose source starts with ``marker``."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith(marker):
            for o in cell.get("outputs", []):
                out.append(o.get("text", ""))
    return "".join(out)


@pytest.fixture
def isolated_clip(tmp_path, monkeypatch):
    """Demo data and caches in a fresh folder, and no CLIP model kept from another test."""
    from vaselib.clip.backends import clear_loaded

    monkeypatch.setenv("VASELIB_DATA", str(tmp_path / "data"))
    clear_loaded()
    yield
    clear_loaded()
