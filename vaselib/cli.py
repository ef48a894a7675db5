"""The ``vase`` command: run stages (through papermill or directly), the whole demo, reports.

    vase list
    vase run 03_clip_quality -f params/paper/03_clip_quality.yaml -p threshold 0.15
    vase run 03 --no-kernel -p input_dir photos/   # the stage function, no notebook
    vase demo [--run-id ID] [--stages 01_resnet_train,02_classify]
    vase refresh-notebooks
    vase sync-parameters
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from vaselib import params as vparams
from vaselib import pipeline, runs, stages


def _parse_value(text: str):
    """``-p`` values are YAML scalars: 0.15 → float, true → bool, null → None."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _overrides(pairs) -> dict:
    return {k: _parse_value(v) for k, v in (pairs or [])}


def _new_run_dir(run_id: str | None) -> Path:
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S")
    return runs.workbook_root() / "runs" / run_id


def _stage_list(text: str | None) -> list[str]:
    return [stages.get(s).name for s in text.split(",")] if text else stages.names()


def cmd_list(_args) -> int:
    for s in stages.STAGES:
        print(f"{s.name:18s} {s.title}")
    return 0


def cmd_run(args) -> int:
    stage = stages.get(args.stage).name
    run_dir = _new_run_dir(args.run_id)
    # one stage on its own: its inputs are what the files and -p say (None = demo input)
    values = vparams.merge_sources(stage, args.file, _overrides(args.param))
    values.setdefault("output_dir", runs.display_path(run_dir / stage))
    if args.no_kernel:
        print(f"[vase] {stage} (no kernel) → {values['output_dir']}", flush=True)
        with runs.timer() as clock:
            try:
                pipeline.run_stage(stage, values, progress=True)
            except (vparams.ParameterError, FileNotFoundError, FileExistsError):
                raise
            except Exception as err:  # noqa: BLE001 - a stage failed: say which, no traceback
                print(f"vase: stage {stage} failed: {type(err).__name__}: {err}\n"
                      f"(run it in its notebook, notebooks/{stage}.ipynb, to see where)",
                      file=sys.stderr)
                return 1
        summary = runs.read_summary(runs.resolve(values["output_dir"]))
        print(f"[vase] {stage} done in {clock['seconds']:.0f} s; headline: "
              f"{summary.get('headline', {})}")
        return 0
    from vaselib.notebooks import execute_stage

    print(f"[vase] {stage} → {runs.display_path(run_dir / (stage + '.ipynb'))}", flush=True)
    r = execute_stage(stage, run_dir / f"{stage}.ipynb", values, html=not args.no_html,
                      progress=True)
    print(f"[vase] {stage} done in {r.seconds:.0f} s; headline: "
          f"{(r.summary or {}).get('headline', {})}")
    return 0


def cmd_demo(args) -> int:
    names = _stage_list(args.stages)
    run_dir = _new_run_dir(args.run_id)
    print(f"[vase] demo run {runs.display_path(run_dir)} — stages {', '.join(names)}", flush=True)
    done, failed, index = pipeline.run_demo(run_dir, names,
                                            log=lambda m: print(m, flush=True))
    print(f"[vase] index: {runs.display_path(index)} "
          f"(total {sum(r.seconds for r in done):.0f} s)", flush=True)
    return 1 if failed else 0


def cmd_refresh(args) -> int:
    from vaselib.notebooks import refresh_committed

    refresh_committed(_stage_list(args.stages))
    return 0


def cmd_sync(_args) -> int:
    from vaselib import nbparams
    from vaselib.notebooks import notebook_path

    for stage in stages.names():
        path = notebook_path(stage)
        changed = nbparams.sync_notebook(path, stage)
        print(f"{'updated' if changed else 'in sync'}: {runs.display_path(path)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="vase", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the stages").set_defaults(func=cmd_list)

    r = sub.add_parser("run", help="run one stage (its notebook through papermill, or "
                                   "its function with --no-kernel)")
    r.add_argument("stage", help="e.g. 03_clip_quality (or 03, or clip_quality)")
    r.add_argument("-f", "--file", action="append", default=[],
                   help="YAML parameter file (repeatable; later files win)")
    r.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="one parameter (repeatable; wins over files)")
    r.add_argument("--run-id", help="run folder name under runs/ (default: a timestamp)")
    r.add_argument("--no-html", action="store_true", help="skip the HTML rendering")
    r.add_argument("--no-kernel", action="store_true",
                   help="call the stage's function in this process (no notebook, no Jupyter): "
                        "same validation and outputs, for scripts and clusters")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="run every stage on the embedded synthetic data")
    d.add_argument("--run-id", help="run folder name under runs/ (default: a timestamp)")
    d.add_argument("--stages", help="comma-separated subset, in pipeline order")
    d.set_defaults(func=cmd_demo)

    f = sub.add_parser("refresh-notebooks",
                       help="execute the committed notebooks in place (outputs for nbval)")
    f.add_argument("--stages", help="comma-separated subset")
    f.set_defaults(func=cmd_refresh)
    y = sub.add_parser("sync-parameters",
                       help="rewrite each notebook's parameters cell from its schema")
    y.set_defaults(func=cmd_sync)
    return ap


def main(argv=None) -> int:
    import os

    # the program's own settings (before torch starts its OpenMP pool): idle threads sleep
    # rather than spin, so a busy neighbour on a small CPU does not stall every step
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from vaselib.notebooks import StageFailed

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (vparams.ParameterError, FileNotFoundError, FileExistsError, StageFailed) as err:
        print(f"vase: {err}", file=sys.stderr)
        return 2 if isinstance(err, vparams.ParameterError) else 1
    except KeyboardInterrupt:
        print("vase: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
