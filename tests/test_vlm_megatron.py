"""HF → Megatron: refused up front, naming what is missing; the right ms-swift call otherwise."""
from __future__ import annotations

import pytest

from vaselib.vlm import megatron, merge, swift_run
from vaselib.vlm.params import MergeParams


@pytest.fixture
def nothing_installed(monkeypatch):
    monkeypatch.setattr(megatron, "_has_module", lambda name: False)
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_missing_requirements_are_named(nothing_installed):
    missing = megatron.check_environment()
    text = "; ".join(missing)
    for name in ("megatron-core", "mcore-bridge", "transformer-engine", "CUDA GPU"):
        assert name in text
    with pytest.raises(megatron.MegatronUnavailable) as err:
        megatron.require_environment()
    msg = str(err.value)
    assert "megatron-core" in msg and "mcore-bridge" in msg and "CUDA GPU" in msg
    assert "scripts/hf2megatron.sh" in msg


def test_stage_07_refuses_before_merging(nothing_installed, tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr(swift_run, "run_swift", lambda *a, **k: called.append(a))
    out = tmp_path / "07"
    with pytest.raises(megatron.MegatronUnavailable, match="megatron-core"):
        merge.run(MergeParams(output_dir=str(out), to_mcore=True,
                              adapters=str(tmp_path / "no-such-checkpoint")), progress=False)
    assert not called and not out.exists()  # nothing ran, nothing was written


def test_cli_check_reports_and_fails(nothing_installed, capsys):
    assert megatron.main(["--check"]) == 1
    assert "not available" in capsys.readouterr().out
    assert megatron.main(["--model", "m", "--output_dir", "o"]) == 2
    assert "megatron-core" in capsys.readouterr().err


def test_conversion_runs_the_originals_export_when_available(monkeypatch, tmp_path):
    monkeypatch.setattr(megatron, "check_environment", lambda: [])
    seen = {}

    def fake_run(command, args, env, work, **kw):
        seen.update(command=command, args=args, env=env)
        return swift_run.SwiftRun(command, tmp_path / "a.json", tmp_path / "log", 1.0)

    monkeypatch.setattr(swift_run, "run_swift", fake_run)
    model = tmp_path / "merged"
    model.mkdir()
    res = megatron.to_mcore(model, tmp_path / "mcore", progress=False)
    assert seen["command"] == "export"
    assert seen["args"] == {"model": str(model), "to_mcore": True, "torch_dtype": "bfloat16",
                            "output_dir": str(tmp_path / "mcore"),
                            "test_convert_precision": True}
    assert seen["env"]["HF_HUB_OFFLINE"] == "1"
    assert res.path == tmp_path / "mcore"
