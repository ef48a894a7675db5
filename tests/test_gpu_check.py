"""scripts/gpu_check.sh where there is no GPU: it says so and runs nothing; its dry run
builds the inputs and every step's validated parameters."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def _run(*args, **env):
    full = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": "", **env}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=full,
                          timeout=300)


def test_without_a_gpu_it_stops_at_once_and_says_so(tmp_path):
    r = _run("--out", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert "no CUDA GPU is visible" in r.stderr and "nothing was run" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()


def test_the_dry_run_validates_every_step_without_a_gpu(tmp_path):
    out = tmp_path / "out"
    r = _run("--dry-run", "--gpus", "4", "--vases", "4", "--out", str(out))
    assert r.returncode == 0, r.stderr
    record = json.loads((out / "gpu_check.json").read_text())
    plan = {k: v["parameters"] for k, v in record["plan"].items()}
    assert record["dry_run"] and record["nproc_per_node"] == 4 and record["steps"] == {}
    assert plan["03_mixed"]["model"] == "ViT-B-32" and plan["03_mixed"]["pretrained"] is None
    assert plan["03_mixed"]["cache_dir"] != plan["03_fp32"]["cache_dir"]   # precision apart
    assert plan["03_rethreshold"]["cache_dir"] == plan["03_fp32"]["cache_dir"]
    assert plan["03_ray"]["engine"] == "ray"
    assert plan["05_sft"]["nproc_per_node"] == plan["06_grpo"]["nproc_per_node"] == 4
    assert plan["05_sft"]["torch_dtype"] == "bfloat16"
    assert plan["06_grpo"]["sft_dir"] == plan["05_sft"]["output_dir"]
    assert "model" not in plan["06_grpo"]                # it starts from 05's merged model
    assert len(list((out / "inputs" / "best_views").glob("*_1_ac001001.jpg"))) == 4
    assert len(json.loads((out / "inputs" / "captions.json").read_text())) == 4
