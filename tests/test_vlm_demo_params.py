"""The demo's ms-swift arguments: head trained for vaselib's models only, template system prompt."""
from __future__ import annotations

from pathlib import Path

from vaselib import params
from vaselib.vlm import grpo, sft
from vaselib.vlm.params import GrpoParams, SftParams

ROOT = Path(__file__).resolve().parents[1]


def test_lm_head_is_trained_for_vaselib_models_only(tmp_path):
    mine = tmp_path / "m"
    mine.mkdir()
    (mine / "vaselib_tiny.json").write_text("{}")
    demo = sft.sft_args(SftParams(), str(mine), tmp_path / "d.jsonl", tmp_path)
    assert demo["modules_to_save"] == ["lm_head"]
    assert (demo["lora_rank"], demo["lora_alpha"], demo["freeze_vit"]) == (32, 64, False)
    hub = sft.sft_args(SftParams(), "Qwen/Qwen2.5-VL-7B-Instruct", tmp_path / "d.jsonl", tmp_path)
    assert hub["modules_to_save"] == []
    chosen = sft.sft_args(SftParams(modules_to_save=["embed_tokens"]), str(mine),
                          tmp_path / "d.jsonl", tmp_path)
    assert chosen["modules_to_save"] == ["embed_tokens"]
    paper = params.validate("05_sft", params.load_yaml(ROOT / "params/paper/05_sft.yaml"))
    assert sft.sft_args(paper, paper.model, tmp_path / "d.jsonl", tmp_path)[
        "modules_to_save"] == []                       # the original: plain LoRA


def test_demo_grpo_keeps_the_template_system_prompt(tmp_path):
    assert GrpoParams().system == grpo.TEMPLATE_SYSTEM
    args = grpo.grpo_args(GrpoParams(), "m", tmp_path / "g.jsonl", None, tmp_path)
    assert args["system"] is None            # dropped from the argument file: the default
    from vaselib.vlm import swift_run

    path = swift_run.write_args_file(tmp_path / "a.json", args, {})
    assert '"system"' not in path.read_text()
    paper = params.validate("06_grpo", params.load_yaml(ROOT / "params/paper/06_grpo.yaml"))
    assert paper.system is None              # the paper: vaselib's vase-expert prompt file


def test_eval_on_start_only_with_a_validation_split(tmp_path):
    args = lambda **kw: sft.sft_args(SftParams(**kw), "m", tmp_path / "d.jsonl", tmp_path)  # noqa: E731
    assert args(split_dataset_ratio=0.05)["eval_on_start"] is True
    # no validation records: the Trainer refuses to evaluate, so nothing is asked of it
    assert args(split_dataset_ratio=0.0)["eval_on_start"] is False
    assert args(eval_on_start=False)["eval_on_start"] is False
