"""Running the stage notebooks: papermill for runs, nbconvert for HTML reports.

A stage notebook is executed into a run folder (never over the committed notebook), with
its parameters validated by vaselib before papermill starts, then rendered to HTML.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from vaselib import params as vparams
from vaselib import runs

KERNEL = "python3"
STAGE_TITLES = {
    "01_resnet_train": "ResNet quality classifier: training",
    "02_classify": "Quality classification of raw photos",
    "03_clip_quality": "CLIP fragment filter",
    "04_best_view": "CLIP best-view selection",
    "05_sft": "Supervised fine-tuning (LoRA, ms-swift)",
    "06_grpo": "GRPO with the vase-accuracy reward",
    "07_merge": "Merge LoRA and export",
}


class StageFailed(RuntimeError):
    """A stage notebook raised; the message names the stage, the cell and the notebook."""


def notebook_path(stage: str) -> Path:
    path = runs.workbook_root() / "notebooks" / f"{stage}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"notebook {runs.display_path(path)} does not exist; stages "
                                f"are: {', '.join(vparams.STAGES)}")
    return path


def _kernel_env() -> None:
    """Make the ``python3`` kernel this environment's Python (not a user-wide one)."""
    share = str(Path(sys.prefix) / "share" / "jupyter")
    current = os.environ.get("JUPYTER_PATH", "")
    if share not in current.split(os.pathsep):
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (share, current) if p)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")


@dataclass
class StageRun:
    stage: str
    notebook: Path
    html: Path | None
    seconds: float
    summary: dict[str, Any] | None


def execute_stage(stage: str, output_notebook: str | Path, parameters: Mapping[str, Any],
                  *, html: bool = True, progress: bool = False) -> StageRun:
    """Validate ``parameters`` and run the stage's notebook through papermill."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    vparams.validate(stage, dict(parameters))
    _kernel_env()
    output_notebook = Path(output_notebook)
    output_notebook.parent.mkdir(parents=True, exist_ok=True)
    with runs.timer() as clock:
        try:
            pm.execute_notebook(
                str(notebook_path(stage)), str(output_notebook), parameters=dict(parameters),
                kernel_name=KERNEL, progress_bar=progress, cwd=str(runs.workbook_root()),
                report_mode=False)
        except PapermillExecutionError as err:
            raise StageFailed(
                f"stage {stage} failed in cell {err.exec_count} ({err.ename}: {err.evalue}); "
                f"open {runs.display_path(output_notebook)} to see where") from None
    html_path = render_html(output_notebook) if html else None
    out_dir = parameters.get("output_dir")
    summary = None
    if out_dir and (runs.resolve(out_dir) / runs.SUMMARY_FILE).is_file():
        summary = runs.read_summary(runs.resolve(out_dir))
    return StageRun(stage, output_notebook, html_path, clock["seconds"], summary)


def render_html(notebook: str | Path) -> Path:
    """Render an executed notebook to a standalone HTML report beside it."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    out = notebook.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def refresh_committed(stages: list[str], timeout: int = 1800) -> None:
    """Execute the committed notebooks in place with their defaults (for nbval).

    Uses nbclient directly so that no papermill metadata or injected cell lands in the
    committed notebooks; each runs standalone, exactly as ``pytest --nbval-lax`` will.
    """
    import nbformat
    from nbclient import NotebookClient

    _kernel_env()
    for stage in stages:
        path = notebook_path(stage)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, kernel_name=KERNEL, timeout=timeout,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in nb.cells:  # execution timing metadata would churn every commit
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(nb, path)
        print(f"refreshed {runs.display_path(path)}", flush=True)
