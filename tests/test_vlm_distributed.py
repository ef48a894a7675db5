"""Stages 05/06 past one GPU: what ms-swift receives, and what its launcher makes of it.

Each run is stopped where vaselib starts the ms-swift child (``subprocess.Popen`` in
:mod:`vaselib.vlm.swift_run`), after the args file is written; ms-swift 4.6.0's own
``swift.cli.main.cli_main`` is then run on that file with its ``subprocess.run`` captured,
so the test sees the exact torchrun command ms-swift would start.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest_vlm import write_best_views, write_captions

from vaselib import params
from vaselib.stages import ParameterError
from vaselib.vlm import grpo, sft, swift_run
from vaselib.vlm.params import GrpoParams, SftParams

ROOT = Path(__file__).resolve().parents[1]
HUB_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"      # a hub id: nothing is loaded or downloaded
MULTI_NODE = dict(nproc_per_node=8, cuda_visible_devices="0,1,2,3,4,5,6,7", nnodes=2,
                  node_rank=1, master_addr="10.0.0.1", master_port=29501)


class _Stopped(Exception):
    pass


@pytest.fixture
def child(monkeypatch):
    """Capture the ms-swift child's command and environment instead of starting it."""
    seen: dict = {}
    real = swift_run.subprocess.Popen

    def fake_popen(cmd, *a, **kw):
        if "swift.cli.main" not in cmd:
            return real(cmd, *a, **kw)
        seen.update(cmd=cmd, env=kw["env"])
        raise _Stopped

    monkeypatch.setattr(swift_run.subprocess, "Popen", fake_popen)
    monkeypatch.setattr(swift_run, "deepspeed_available", lambda: True)
    return seen


@pytest.fixture
def data(tmp_path):
    folder, caps = write_best_views(tmp_path / "in", n=6)
    return dict(images_dir=str(folder), captions=str(write_captions(tmp_path / "c.json", caps)))


def swift_launch(args_file: Path, monkeypatch) -> list[str]:
    """The command ms-swift 4.6.0's ``swift <command> <args file>`` would run."""
    from swift.cli import main as swift_main

    body = json.loads(args_file.read_text())
    for key in [*body["ENV"], "SWIFT_CONFIG_FILE", *swift_run.LAUNCH_ENV]:
        monkeypatch.setenv(key, "x")     # remembered as unset, restored so afterwards
        monkeypatch.delenv(key)
    ran: list[list[str]] = []

    class Done:
        returncode = 0

    real = swift_main.subprocess.run

    def fake_run(a, *rest, **kw):
        if not any(str(x).endswith(("/cli/sft.py", "/cli/rlhf.py")) for x in a):
            return real(a, *rest, **kw)
        ran.append(a)
        return Done()

    monkeypatch.setattr(swift_main.subprocess, "run", fake_run)
    command = "rlhf" if "rlhf_type" in body else "sft"
    monkeypatch.setattr(sys, "argv", ["swift", command, str(args_file)])
    swift_main.cli_main()
    return ran[0]


def torchrun_args(cmd: list[str]) -> dict[str, str]:
    i = cmd.index("torch.distributed.run")
    j = next(k for k, a in enumerate(cmd) if a.endswith(".py"))
    flags = cmd[i + 1:j]
    return dict(zip(flags[::2], flags[1::2]))


def test_multi_node_sft_reaches_ms_swift_and_its_torchrun(tmp_path, data, child, monkeypatch):
    p = SftParams(model=HUB_MODEL, output_dir=str(tmp_path / "05"), deepspeed="zero3",
                  **MULTI_NODE, **data)
    with pytest.raises(_Stopped):
        sft.run(p, progress=False)
    launch = {"NPROC_PER_NODE": "8", "NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.0.0.1",
              "MASTER_PORT": "29501", "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}
    assert {k: child["env"][k] for k in launch} == launch          # the child's environment
    args_file = tmp_path / "05" / "logs" / "swift_sft_args.json"
    body = json.loads(args_file.read_text())
    assert {k: body["ENV"][k] for k in launch} == launch           # recorded for a rerun
    assert body["deepspeed"] == "zero3" and child["cmd"][-2:] == ["sft", str(args_file)]

    cmd = swift_launch(args_file, monkeypatch)
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert torchrun_args(cmd) == {"--nproc_per_node": "8", "--master_port": "29501",
                                  "--nnodes": "2", "--node_rank": "1",
                                  "--master_addr": "10.0.0.1"}
    assert cmd[cmd.index("--deepspeed") + 1] == "zero3"
    assert Path(next(a for a in cmd if a.endswith(".py"))).name == "sft.py"


def test_multi_gpu_grpo_reaches_ms_swift_and_its_torchrun(tmp_path, data, child, monkeypatch):
    p = GrpoParams(model=HUB_MODEL, output_dir=str(tmp_path / "06"), deepspeed="zero2",
                   nproc_per_node=4, master_port=29600, **data)
    with pytest.raises(_Stopped):
        grpo.run(p, progress=False)
    body = json.loads((tmp_path / "06" / "logs" / "swift_rlhf_args.json").read_text())
    assert body["rlhf_type"] == "grpo" and body["deepspeed"] == "zero2"
    assert {k: body["ENV"].get(k) for k in swift_run.LAUNCH_ENV} == {
        "NPROC_PER_NODE": "4", "NNODES": None, "NODE_RANK": None, "MASTER_ADDR": None,
        "MASTER_PORT": "29600"}
    cmd = swift_launch(tmp_path / "06" / "logs" / "swift_rlhf_args.json", monkeypatch)
    assert torchrun_args(cmd) == {"--nproc_per_node": "4", "--master_port": "29600"}
    assert Path(next(a for a in cmd if a.endswith(".py"))).name == "rlhf.py"


def test_one_process_starts_no_torchrun(tmp_path, data, child, monkeypatch):
    with pytest.raises(_Stopped):
        sft.run(SftParams(model=HUB_MODEL, output_dir=str(tmp_path / "05"), **data),
                progress=False)
    body = json.loads((tmp_path / "05" / "logs" / "swift_sft_args.json").read_text())
    assert not set(swift_run.LAUNCH_ENV) & set(body["ENV"]) and "deepspeed" not in body
    cmd = swift_launch(tmp_path / "05" / "logs" / "swift_sft_args.json", monkeypatch)
    assert "torch.distributed.run" not in cmd and Path(cmd[1]).name == "sft.py"


def test_deepspeed_missing_fails_before_work(tmp_path, data, monkeypatch):
    monkeypatch.setattr(swift_run, "deepspeed_available", lambda: False)
    for p, run in ((SftParams(model=HUB_MODEL, output_dir=str(tmp_path / "05"),
                              deepspeed="zero2", **data), sft.run),
                   (GrpoParams(model=HUB_MODEL, output_dir=str(tmp_path / "06"),
                               extra_args={"deepspeed": "zero3"}, **data), grpo.run)):
        with pytest.raises(ParameterError, match="pip install deepspeed"):
            run(p, progress=False)
    assert not (tmp_path / "05").exists() and not (tmp_path / "06").exists()


@pytest.mark.parametrize("bad,word", [
    ({"nnodes": 2}, "master_addr"),
    ({"nnodes": 2, "node_rank": 2, "master_addr": "h"}, "node_rank"),
    ({"nproc_per_node": 4, "cuda_visible_devices": "0,1"}, "cuda_visible_devices"),
    ({"deepspeed": "zero4"}, "deepspeed"),
    ({"master_port": 70000}, "master_port"),
])
def test_launch_parameters_that_cannot_work_are_refused(bad, word):
    for stage in ("05_sft", "06_grpo"):
        with pytest.raises(ParameterError, match=word):
            params.validate(stage, bad)


def test_grpo_groups_must_fit_the_generation_batch():
    with pytest.raises(ParameterError, match="num_generations"):
        params.validate("06_grpo", {"per_device_train_batch_size": 1,
                                    "gradient_accumulation_steps": 3})
    params.validate("06_grpo", {"gradient_accumulation_steps": 1, "nproc_per_node": 4})


def test_the_8_gpu_paper_profile_keeps_the_original_batch():
    files = [ROOT / "params/paper/05_sft.yaml", ROOT / "params/paper/05_sft_8gpu.yaml"]
    p = params.validate("05_sft", params.merge_sources("05_sft", files))
    assert (p.nproc_per_node, p.deepspeed, p.cuda_visible_devices) == (8, "zero2",
                                                                      "0,1,2,3,4,5,6,7")
    paper = params.validate("05_sft", params.load_yaml(files[0]))
    assert p.per_device_train_batch_size * 8 * p.gradient_accumulation_steps == \
        paper.per_device_train_batch_size * paper.nproc_per_node * \
        paper.gradient_accumulation_steps == 16
    assert p.learning_rate == paper.learning_rate and p.model == paper.model
    env = swift_run.swift_env(p, p.model, is_local=False)
    assert env["NPROC_PER_NODE"] == "8" and "NNODES" not in env
