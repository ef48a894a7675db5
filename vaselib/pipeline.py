"""The whole pipeline on one run folder, and running one stage directly.

Data flows one way: in a full run each stage's inputs are the earlier stages' outputs in
the same run folder (``runs/<run-id>/NN_stage/``), as the registry's ``upstream`` entries
say (:mod:`vaselib.stages`); inputs no earlier stage provides (stage 01's labelled photos,
stage 02's raw photos, stage 05's base model) come from the demo (:mod:`vaselib.demo`).

:func:`run_stage` runs a stage's function in this process with the same validation, demo
filling and outputs as its notebook (``vase run --no-kernel``: scripts, clusters).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from vaselib import demo, runs, stages
from vaselib import params as vparams

ORDER = stages.names()


def chained_parameters(stage: str, run_dir: str | Path) -> dict[str, Any]:
    """Parameters that wire ``stage`` to the earlier stages' outputs inside ``run_dir``."""
    st = stages.get(stage)
    d = Path(runs.display_path(run_dir))  # relative inside the workbook: reports stay portable
    out = {"output_dir": str(d / st.name)}
    for param, (upstream, output) in st.upstream.items():
        out[param] = str(d / upstream / output) if output else str(d / upstream)
    return out


def stage_parameters(stage: str, run_dir: str | Path) -> dict[str, Any]:
    """The validated parameters of ``stage`` in a full run inside ``run_dir``."""
    values = chained_parameters(stage, run_dir)
    vparams.validate(stage, values)
    return values


def run_stage(stage: str, values: Mapping[str, Any] | None = None, *, progress: bool = True):
    """Validate ``values``, fill demo inputs left ``None``, run the stage's function.

    Returns ``(result, notes)``; the stage writes its outputs and ``summary.json`` exactly as
    when its notebook runs it.
    """
    st = stages.get(stage)
    p = vparams.validate(st.name, dict(values or {}))
    p, notes = demo.fill_inputs(st.name, p, progress=progress)
    for note in notes:
        print(f"[vase] {st.name}: {note}", flush=True)
    return st.run(p, progress=progress), notes
