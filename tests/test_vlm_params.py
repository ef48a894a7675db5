"""Stages 05–07 parameters: the paper profiles are the original's, and reach ms-swift by name."""
from __future__ import annotations

from pathlib import Path

import pytest

from vaselib import params
from vaselib.vlm import grpo, sft, swift_run
from vaselib.vlm.params import GrpoParams, MergeParams, SftParams

ROOT = Path(__file__).resolve().parents[1]

# The seed's `swift sft` settings (spec 05).
PAPER_SFT = {
    "model": "Qwen/Qwen2.5-VL-7B-Instruct", "tuner_type": "lora", "lora_rank": 8,
    "lora_alpha": 32, "target_modules": "all-linear", "freeze_vit": True,
    "torch_dtype": "bfloat16", "num_train_epochs": 2, "per_device_train_batch_size": 1,
    "gradient_accumulation_steps": 16, "learning_rate": 1e-4, "warmup_ratio": 0.05,
    "max_length": 4096, "eval_steps": 100, "save_steps": 100, "save_total_limit": 5,
    "logging_steps": 5, "split_dataset_ratio": 0.01, "dataloader_num_workers": 4,
    "dataset_num_proc": 4, "max_pixels": 1003520, "output_dir": "output/7B",
    "nproc_per_node": 1, "max_steps": -1,
}
# The seed's `swift rlhf --rlhf_type grpo` settings (spec 06).
PAPER_GRPO = {
    "tuner_type": "full", "torch_dtype": "bfloat16", "learning_rate": 1e-6,
    "num_train_epochs": 1, "per_device_train_batch_size": 1, "gradient_accumulation_steps": 4,
    "num_generations": 4, "temperature": 1.0, "beta": 0.001, "max_completion_length": 256,
    "num_iterations": 1, "warmup_ratio": 0.01, "save_steps": 300, "save_total_limit": 10,
    "logging_steps": 1, "log_completions": True, "reward_funcs": ["external_vase_acc"],
    "max_steps": -1,
}


def _profile(stage):
    return params.validate(stage, params.load_yaml(ROOT / "params" / "paper" / f"{stage}.yaml"))


def test_paper_sft_profile_is_the_original():
    p = _profile("05_sft")
    assert {k: getattr(p, k) for k in PAPER_SFT} == PAPER_SFT


def test_paper_grpo_profile_is_the_original():
    p = _profile("06_grpo")
    assert {k: getattr(p, k) for k in PAPER_GRPO} == PAPER_GRPO
    assert p.sft_dir == "output/7B"


def test_paper_merge_profile_exports_to_megatron_in_bf16():
    p = _profile("07_merge")
    assert (p.to_mcore, p.torch_dtype, p.test_convert_precision) == (True, "bfloat16", True)


def test_paper_sft_reaches_ms_swift_with_its_argument_names(tmp_path):
    p = _profile("05_sft")
    args = sft.sft_args(p, p.model, tmp_path / "sft.jsonl", tmp_path / "out")
    expected = {
        "model": "Qwen/Qwen2.5-VL-7B-Instruct", "tuner_type": "lora", "lora_rank": 8,
        "lora_alpha": 32, "target_modules": ["all-linear"], "freeze_vit": True,
        "torch_dtype": "bfloat16", "bf16": True, "fp16": False, "num_train_epochs": 2,
        "per_device_train_batch_size": 1, "gradient_accumulation_steps": 16,
        "learning_rate": 1e-4, "warmup_ratio": 0.05, "max_length": 4096, "eval_steps": 100,
        "save_steps": 100, "save_total_limit": 5, "logging_steps": 5,
        "split_dataset_ratio": 0.01, "dataloader_num_workers": 4, "dataset_num_proc": 4,
        "template": "qwen2_5_vl", "report_to": ["tensorboard"], "add_version": False,
    }
    assert {k: args[k] for k in expected} == expected
    env = swift_run.swift_env(p, p.model, is_local=False)
    assert env == {"MAX_PIXELS": "1003520"}


def test_demo_sft_trains_in_float32_without_mixed_precision(tmp_path):
    args = sft.sft_args(SftParams(), "m", tmp_path / "d.jsonl", tmp_path)
    assert (args["torch_dtype"], args["fp16"], args["bf16"]) == ("float32", False, False)
    full = sft.sft_args(SftParams(tuner_type="full"), "m", tmp_path / "d.jsonl", tmp_path)
    assert "lora_rank" not in full and full["tuner_type"] == "full"


def test_extra_args_and_multi_gpu_reach_ms_swift(tmp_path):
    p = SftParams(extra_args={"deepspeed": "zero2", "lora_rank": 16}, nproc_per_node=4,
                  cuda_visible_devices="0,1,2,3")
    args = sft.sft_args(p, "m", tmp_path / "d.jsonl", tmp_path)
    assert args["deepspeed"] == "zero2" and args["lora_rank"] == 16
    env = swift_run.swift_env(p, "m", is_local=False)
    assert env["NPROC_PER_NODE"] == "4" and env["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"


def test_paper_grpo_reaches_ms_swift_with_the_plugin(tmp_path):
    p = _profile("06_grpo")
    args = grpo.grpo_args(p, "merged", tmp_path / "g.jsonl", tmp_path / "system.txt", tmp_path)
    assert args["rlhf_type"] == "grpo"
    assert {k: args[k] for k in PAPER_GRPO if k != "max_steps"} == {
        k: v for k, v in PAPER_GRPO.items() if k != "max_steps"}
    assert args["bf16"] is True and args["system"] == str(tmp_path / "system.txt")
    plugin = Path(args["external_plugins"][0])
    assert plugin.name == "reward_plugin.py" and plugin.is_file()


@pytest.mark.parametrize("stage,bad", [
    ("05_sft", {"lora_rnk": 8}), ("05_sft", {"torch_dtype": "fp8"}),
    ("06_grpo", {"num_generations": 1}), ("07_merge", {"max_new_tokens": 0}),
])
def test_bad_parameters_are_rejected(stage, bad):
    with pytest.raises(params.ParameterError):
        params.validate(stage, bad)


def test_every_field_is_described():
    for schema in (SftParams, GrpoParams, MergeParams):
        for name, field in schema.model_fields.items():
            assert field.description, f"{schema.__name__}.{name} has no description"
