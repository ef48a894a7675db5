"""Training stages resume after a real SIGKILL, and never load a half-written checkpoint."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from test_quality import _write_separable
from vaselib import outputs
from vaselib.resnet import train
from vaselib.resnet.params import ResnetTrainParams

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _params(data, out, **kw):
    return {**dict(data_dir=str(data), output_dir=str(out), arch="resnet18", image_size=32,
                   batch_size=8, epochs=6, step_size=3), **kw}


def _start(values: dict, env_extra: dict | None = None) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import torch
        torch.set_num_threads(1)
        from vaselib.resnet import train
        from vaselib.resnet.params import ResnetTrainParams
        train.run(ResnetTrainParams(**{values!r}), progress=False)
    """)
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_epoch(path: Path, epoch: int, proc: subprocess.Popen, timeout=240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"training ended early: {proc.stderr.read().decode()[-2000:]}")
        try:
            if torch.load(path, weights_only=False)["epoch"] >= epoch:
                return
        except Exception:  # noqa: BLE001 - not written yet
            pass
        time.sleep(0.2)
    raise AssertionError("no checkpoint in time")


def test_stage_01_resumes_after_a_kill_exactly_where_it_stopped(tmp_path):
    data = _write_separable(tmp_path / "labelled", n=20, size=32)
    whole = tmp_path / "whole"
    proc = _start(_params(data, whole))
    assert proc.wait(timeout=600) == 0
    reference = json.loads((whole / "training_results.json").read_text())["history"]

    out = tmp_path / "killed"
    proc = _start(_params(data, out))
    _wait_for_epoch(out / "last_checkpoint.pth", 1, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    manifest = outputs.read_manifest(out)
    assert manifest["stage"] == "01_resnet_train" and not manifest["complete"]
    assert not (out / "summary.json").exists()
    done = torch.load(out / "last_checkpoint.pth", weights_only=False)["epoch"] + 1
    assert 2 <= done < 6

    torch.set_num_threads(1)
    r = train.run(ResnetTrainParams(**_params(data, out)), progress=False)   # resume: auto
    summary = json.loads((out / "summary.json").read_text())
    assert any(f"after epoch {done}" in n for n in summary["notes"])
    assert len(r.history["train_loss"]) == 6
    # the same epochs, the same numbers: RNG states travel with the checkpoint
    assert r.history == reference
    assert outputs.read_manifest(out)["complete"]


def test_a_half_written_or_foreign_checkpoint_is_not_resumed(tmp_path):
    data = _write_separable(tmp_path / "labelled", n=10, size=32)
    out = tmp_path / "o"
    train.run(ResnetTrainParams(**_params(data, out, epochs=1)), progress=False)
    # an interrupted run whose last checkpoint was torn mid-write
    m = outputs.read_manifest(out)
    (out / outputs.MANIFEST).write_text(json.dumps({**m, "complete": False}))
    (out / "last_checkpoint.pth").write_bytes(b"PK\x03\x04 torn")
    r = train.run(ResnetTrainParams(**_params(data, out, epochs=2)), progress=False)
    notes = json.loads((out / "summary.json").read_text())["notes"]
    assert any("unreadable" in n for n in notes) and len(r.history["train_loss"]) == 2
    # an interrupted run with other parameters is not continued either
    m = outputs.read_manifest(out)
    (out / outputs.MANIFEST).write_text(json.dumps({**m, "complete": False}))
    r = train.run(ResnetTrainParams(**_params(data, out, epochs=2, lr=1e-2)), progress=False)
    notes = json.loads((out / "summary.json").read_text())["notes"]
    assert any("other parameters" in n for n in notes) and len(r.history["train_loss"]) == 2


def test_stage_05_resumes_after_a_kill_from_its_last_complete_checkpoint(tmp_path, monkeypatch):
    from conftest_vlm import write_best_views, write_captions
    from vaselib.vlm import sft, swift_run, tiny
    from vaselib.vlm.params import SftParams

    monkeypatch.setenv("VASELIB_DATA", str(tmp_path / "data"))
    folder, caps = write_best_views(tmp_path, n=4)
    captions = write_captions(tmp_path / "captions.json", caps)
    values = dict(images_dir=str(folder), captions=str(captions),
                  model=str(tiny.ensure_tiny_model()), output_dir=str(tmp_path / "05"),
                  num_train_epochs=5, max_steps=8, gradient_accumulation_steps=1,
                  save_steps=1, eval_steps=100, split_dataset_ratio=0.0, save_total_limit=10)
    code = textwrap.dedent(f"""
        from vaselib.vlm import sft
        from vaselib.vlm.params import SftParams
        sft.run(SftParams(**{values!r}), progress=False)
    """)
    env = {**os.environ, "VASELIB_DATA": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    out = tmp_path / "05"
    deadline = time.time() + 400
    while time.time() < deadline and proc.poll() is None:
        if swift_run.checkpoint_is_complete(out / "checkpoint-3"):
            break
        time.sleep(0.3)
    assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
    os.killpg(proc.pid, signal.SIGKILL)            # ms-swift runs in a child of the child
    proc.wait()
    assert not outputs.read_manifest(out)["complete"]
    last = swift_run.last_complete_checkpoint(out)
    assert last is not None and int(last.name.split("-")[1]) >= 3
    (out / "checkpoint-99").mkdir()                # a checkpoint torn while being saved
    (out / "checkpoint-99" / "trainer_state.json").write_text('{"global_st')
    assert swift_run.last_complete_checkpoint(out) == last

    r = sft.run(SftParams(**values), progress=False)
    args = json.loads((out / "logs" / "swift_sft_args.json").read_text())
    assert args["resume_from_checkpoint"] == str(last)
    assert r.train_steps == 8 and r.final_checkpoint.name == "checkpoint-8"
    assert outputs.read_manifest(out)["complete"]
    notes = json.loads((out / "summary.json").read_text())["notes"]
    assert any("resumed the interrupted run" in n for n in notes)
