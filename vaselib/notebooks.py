"""Running the stage notebooks: papermill for runs, nbconvert for HTML reports.

A stage notebook is executed into a run folder (never over the committed notebook), with
its parameters validated by vaselib before papermill starts, then rendered to HTML.

The kernel is always this interpreter's own Python (whatever other ``python3`` kernels the
user has registered), started with the offline settings in *its* environment
(:class:`WorkbookKernelManager`); the calling process's environment is left as it was.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from jupyter_client import AsyncKernelManager

from vaselib import params as vparams
from vaselib import runs, stages

KERNEL = "python3"
# The kernel's environment on top of the caller's (values already set by the caller win).
KERNEL_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
              "MPLBACKEND": "module://matplotlib_inline.backend_inline",
              # idle OpenMP threads sleep instead of spinning: on a small shared CPU a
              # spinning thread pool slows torch many times when another process runs
              "OMP_WAIT_POLICY": "PASSIVE"}


class StageFailed(RuntimeError):
    """A stage notebook raised; the message names the stage, the cell and the notebook."""


class WorkbookKernelManager(AsyncKernelManager):
    """A ``python3`` kernel on ``sys.executable`` with :data:`KERNEL_ENV` in its environment."""

    @property
    def kernel_spec(self):
        if self._kernel_spec is None:
            from ipykernel.kernelspec import get_kernel_dict
            from jupyter_client.kernelspec import KernelSpec

            self._kernel_spec = KernelSpec(resource_dir="", **get_kernel_dict())
        return self._kernel_spec

    async def _async_pre_start_kernel(self, **kw: Any):
        env = dict(kw.get("env") or os.environ)
        for key, value in KERNEL_ENV.items():
            env.setdefault(key, value)
        kw["env"] = env
        return await super()._async_pre_start_kernel(**kw)


def notebook_path(stage: str) -> Path:
    name = stages.get(stage).name
    path = runs.workbook_root() / "notebooks" / f"{name}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"notebook {runs.display_path(path)} does not exist; run from "
                                f"the workbook (the folder with notebooks/)")
    return path


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

    stage = stages.get(stage).name
    vparams.validate(stage, dict(parameters))
    output_notebook = Path(output_notebook)
    output_notebook.parent.mkdir(parents=True, exist_ok=True)
    with runs.timer() as clock:
        try:
            pm.execute_notebook(
                str(notebook_path(stage)), str(output_notebook), parameters=dict(parameters),
                kernel_name=KERNEL, progress_bar=progress, cwd=str(runs.workbook_root()),
                report_mode=False, kernel_manager_class=WorkbookKernelManager)
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

    from vaselib.files import atomic_write_text

    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    return atomic_write_text(notebook.with_suffix(".html"), body)


def refresh_committed(names: list[str], timeout: int = 1800) -> None:
    """Execute the committed notebooks in place with their defaults (for nbval).

    Uses nbclient directly so that no papermill metadata or injected cell lands in the
    committed notebooks; each runs standalone, exactly as ``pytest --nbval-lax`` will.
    """
    import nbformat
    from nbclient import NotebookClient

    for stage in names:
        path = notebook_path(stage)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, kernel_name=KERNEL, timeout=timeout,
                       kernel_manager_class=WorkbookKernelManager,
                       resources={"metadata": {"path": str(runs.workbook_root())}}).execute()
        for cell in nb.cells:  # execution timing metadata would churn every commit
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(nb, path)
        print(f"refreshed {runs.display_path(path)}", flush=True)
