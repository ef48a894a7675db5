"""How much the demo's trained numbers move across CPU kernels and thread counts.

CPU training is deterministic on one machine, but not across instruction sets (AVX2 vs
AVX-512/AMX kernels) or thread counts (reduction orders).  This script re-runs the demo
stages from scratch (fresh data folder: the corpus, the demo CLIP and the demo VLM are
trained again) under several settings that force other code paths on this machine —
``ATEN_CPU_CAPABILITY`` (PyTorch's kernels), ``ONEDNN_MAX_CPU_ISA`` (oneDNN's),
``MKL_ENABLE_INSTRUCTIONS`` (MKL's fp32 matmuls, which the other two leave on AVX-512) and the
thread count — and prints each headline number's value per setting and its spread.  The
bands in :data:`vaselib.demo_checks.BANDS` and the tolerances in
``tests/test_demo_regression.py`` are chosen to hold across this spread with margin.

    python benchmarks/demo_spread.py [--stages 01,02,03,04] [--settings native-2,native-1,...]

Slow (several minutes per setting); never part of ``make test``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "native-2": {"OMP_NUM_THREADS": "2"},
    "native-1": {"OMP_NUM_THREADS": "1"},
    "avx2-1": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
               "MKL_ENABLE_INSTRUCTIONS": "AVX2", "OMP_NUM_THREADS": "1"},
    "avx2-2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
               "MKL_ENABLE_INSTRUCTIONS": "AVX2", "OMP_NUM_THREADS": "2"},
    "default-2": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
                  "OMP_NUM_THREADS": "2"},
}

CHILD = textwrap.dedent("""
    import json, sys
    from vaselib import demo_checks, pipeline, runs
    out, names = sys.argv[1], sys.argv[2].split(",")
    run = runs.resolve(out)
    record = {}
    results = {}
    for stage in names:
        values = pipeline.chained_parameters(stage, run)
        result, _ = pipeline.run_stage(stage, values, progress=False)
        results[stage] = result
        summary = runs.read_summary(run / stage)
        record[stage] = {"headline": summary["headline"]}
        check = {"01_resnet_train": demo_checks.classifier_test,
                 "02_classify": demo_checks.classification,
                 "03_clip_quality": demo_checks.fragment_filter,
                 "04_best_view": demo_checks.best_view}.get(stage)
        if check is not None:
            checks = check(result) or {}
            record[stage]["checks"] = {k: v.to_dict() for k, v in checks.items()}
    print("RECORD" + json.dumps(record))
""")


def run_setting(name: str, env_extra: dict, stages: str) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"spread-{name}-") as tmp:
        env = {**os.environ, **env_extra, "VASELIB_DATA": str(Path(tmp) / "data"),
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MPLBACKEND": "Agg"}
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(Path(tmp) / "run"), stages],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"setting {name} failed:\n{proc.stderr[-4000:]}")
        line = next(x for x in proc.stdout.splitlines() if x.startswith("RECORD"))
        record = json.loads(line[len("RECORD"):])
        record["_seconds"] = round(time.perf_counter() - start, 1)
        return record


def _numbers(record: dict) -> dict[str, float]:
    flat = {}
    for stage, rec in record.items():
        if stage.startswith("_"):
            continue
        for k, v in rec["headline"].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                flat[f"{stage} {k}"] = v
        for k, v in rec.get("checks", {}).items():
            flat[f"{stage} check {k}"] = v["value"]
            flat[f"{stage} check {k} n"] = v["n"]
    return flat


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", default="01_resnet_train,02_classify,03_clip_quality,"
                                        "04_best_view")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--json", help="also write the records here")
    args = ap.parse_args(argv)
    names = args.settings.split(",")
    records = {n: run_setting(n, SETTINGS[n], args.stages) for n in names}
    flat = {n: _numbers(r) for n, r in records.items()}
    keys = sorted({k for f in flat.values() for k in f})
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"{'number':58s} " + " ".join(f"{n:>10s}" for n in names) + "     spread")
    for k in keys:
        vals = [flat[n].get(k) for n in names]
        shown = " ".join(f"{v:10.4g}" if v is not None else f"{'-':>10s}" for v in vals)
        present = [v for v in vals if v is not None]
        spread = max(present) - min(present) if present else float("nan")
        print(f"{k:58s} {shown} {spread:10.4g}")
    print("seconds: " + ", ".join(f"{n} {records[n]['_seconds']}" for n in names))
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
