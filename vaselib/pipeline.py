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


def prepare_base_model(names: list[str], log=print):
    """Start pretraining the demo's base VLM in a child process when stage 05 will need it
    and it is not cached yet; None otherwise.

    The base model trains on one thread for about five minutes. Built inside stage 05 that
    is five minutes added to a cold demo; built beside stages 01–04 it costs them a share of
    the machine instead. Stage 05 then finds it ready, or waits for the rest of the build
    (one process builds a model at a time: :func:`vaselib.vlm.base_model.ensure_base_model`).
    """
    import multiprocessing as mp

    from vaselib.vlm import base_model

    if "05_sft" not in names or names[0] == "05_sft":
        return None
    folder = base_model.model_folder()
    if (folder / base_model.RECORD_FILE).is_file():
        return None
    proc = mp.get_context("spawn").Process(target=base_model.ensure_base_model,
                                           name="vase-base-model")
    proc.start()
    log(f"[vase] pretraining the demo base VLM beside the first stages (process {proc.pid}) "
        f"into {runs.display_path(folder)}")
    return proc


def run_demo(run_dir: str | Path, names: list[str] | None = None, *, html: bool = True,
             log=print, prepare: bool = True):
    """Run ``names`` (default: every stage) in pipeline order through their notebooks into
    ``run_dir``, each wired to the previous stages' outputs; write ``index.html``.

    On a cold cache the demo's base VLM pretrains meanwhile in a child process
    (:func:`prepare_base_model`; ``prepare=False``: stage 05 builds it). Returns ``(stage
    runs, failure message or None, index path)``; stops at the first stage that fails.
    """
    from vaselib.notebooks import StageFailed, execute_stage
    from vaselib.reports import write_index

    names = names or stages.names()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    done, failed = [], None
    preparing = prepare_base_model(names, log) if prepare else None
    try:
        for i, stage in enumerate(names, 1):
            values = stage_parameters(stage, run_dir)
            log(f"[vase] ({i}/{len(names)}) {stage} …")
            try:
                r = execute_stage(stage, run_dir / f"{stage}.ipynb", values, html=html)
            except StageFailed as err:
                failed = str(err)
                log(f"[vase] FAILED: {failed}")
                break
            done.append(r)
            log(f"[vase] ({i}/{len(names)}) {stage} done in {r.seconds:.0f} s: "
                f"{(r.summary or {}).get('headline', {})}")
    finally:
        if preparing is not None:
            # a run that stopped early does not wait minutes for a model it will not use:
            # the build is abandoned (it writes into a temporary folder, renamed only when
            # complete, and its lock dies with it)
            if preparing.is_alive() and (failed or "05_sft" not in {r.stage for r in done}):
                preparing.terminate()
            preparing.join()
    index = write_index(run_dir, done, f"vaselib run {run_dir.name}", failed,
                        notes=["Offline demo: synthetic vases generated by vaselib; models are "
                               "small, trained here (see each report)."])
    return done, failed, index
