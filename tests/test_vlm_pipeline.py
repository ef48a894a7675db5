"""SFT → merge → GRPO → stage 07 on the tiny offline Qwen2.5-VL with ms-swift (1–3 steps each).

These test the plumbing: they pass the tiny *random* model explicitly (seconds to build), not
the demo's default pretrained base model (minutes to pretrain; see test_vlm_base_model)."""
from __future__ import annotations

import json

import pytest

from conftest_vlm import write_best_views, write_captions
from vaselib import outputs, runs
from vaselib.vlm import grpo, infer, lora, merge, sft, swift_run, tiny
from vaselib.vlm.params import GrpoParams, MergeParams, SftParams

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("vlm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VASELIB_DATA", str(root / "data"))
        folder, caps = write_best_views(root, n=6)
        (folder / "notes.jpg").write_bytes(b"not an image")  # off the pattern: a bad record
        yield {"root": root, "images_dir": str(folder),
               "captions": str(write_captions(root / "captions.json", caps)),
               "model": str(tiny.ensure_tiny_model())}


def _sft_params(env, **kw):
    base = dict(images_dir=env["images_dir"], captions=env["captions"], model=env["model"],
                output_dir=str(env["root"] / "05"), num_train_epochs=1, max_steps=2,
                gradient_accumulation_steps=1, save_steps=1, eval_steps=1, logging_steps=1,
                split_dataset_ratio=0.2)
    base.update(kw)
    return SftParams(**base)


@pytest.fixture(scope="module")
def sft_result(env):
    return sft.run(_sft_params(env), progress=False)


def test_sft_trains_and_records_its_final_checkpoint(env, sft_result):
    r = sft_result
    assert (r.records, r.bad_records, r.train_steps) == (6, 1, 2)
    assert r.val_records == 1 and r.train_records == 5
    assert [e["step"] for e in r.log_history if "loss" in e] == [1, 2]
    # eval_on_start: the untrained model's validation loss comes first, at step 0
    assert [e["step"] for e in r.log_history if "eval_loss" in e] == [0, 1, 2]
    first_eval = next(e for e in r.log_history if "eval_loss" in e)
    assert r.base_eval_loss == first_eval["eval_loss"] and r.base_eval_loss > 0
    assert r.final_checkpoint.name == "checkpoint-2" and lora.is_adapter(r.final_checkpoint)
    assert outputs.recorded_output(r.output_dir, "final_checkpoint", "05_sft",
                               param="sft_dir") == r.final_checkpoint
    summary = runs.read_summary(r.output_dir)
    assert summary["headline"]["train_steps"] == 2
    args = json.loads((r.output_dir / "logs" / "swift_sft_args.json").read_text())
    assert args["ENV"]["MAX_PIXELS"] == "12544" and args["template"] == "qwen2_5_vl"
    assert args["fp16"] is False and args["bf16"] is False
    assert args["modules_to_save"] == ["lm_head"]  # a vaselib model: its head learns too
    saved = json.loads((r.final_checkpoint / "adapter_config.json").read_text())
    assert saved["r"] == 32 and saved["lora_alpha"] == 64
    assert any("visual" in m for m in [saved["target_modules"]])  # the ViT is not frozen


def test_sft_resumes_from_a_checkpoint(env, sft_result, tmp_path):
    ckpt = sft_result.output_dir / "checkpoint-1"
    assert ckpt.is_dir()
    resumed = sft.run(_sft_params(env, output_dir=str(tmp_path / "05b"), max_steps=3,
                                  resume_from_checkpoint=str(ckpt)), progress=False)
    assert resumed.train_steps == 3
    # step 1 comes from checkpoint-1's trainer state, steps 2-3 were trained again
    assert [e["step"] for e in resumed.log_history if "loss" in e] == [1, 2, 3]
    assert (tmp_path / "05b" / "checkpoint-3").is_dir()
    with pytest.raises(FileNotFoundError, match="not a complete ms-swift checkpoint"):
        sft.run(_sft_params(env, output_dir=str(tmp_path / "05c"),
                            resume_from_checkpoint=str(tmp_path)), progress=False)


def test_merge_is_idempotent(env, sft_result, monkeypatch):
    out = env["root"] / "merged"
    first = lora.merge_lora(sft_result.final_checkpoint, out, progress=False)
    assert not first.reused and (out / "config.json").is_file()
    assert (out / "preprocessor_config.json").is_file() or (out / "processor_config.json").is_file()
    # LoRA: 2 LM layers x 7 linears + 2 vision blocks x 5 (qkv, proj, gate, up, down); + lm_head
    assert lora.changed_tensors(first.base_model, out) == 2 * 7 + 2 * 5 + 1
    stamp = (out / "model.safetensors").stat().st_mtime_ns

    def no_swift(*a, **k):
        raise AssertionError("a second merge with the same inputs must not run ms-swift")

    monkeypatch.setattr(swift_run, "run_swift", no_swift)
    second = lora.merge_lora(sft_result.final_checkpoint, out, progress=False)
    assert second.reused and second.path == first.path
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp
    with pytest.raises(AssertionError, match="must not run"):  # other inputs: merged again
        lora.merge_lora(sft_result.final_checkpoint, out, torch_dtype="bfloat16",
                         progress=False)


def test_captions_are_deterministic(env, sft_result):
    out = env["root"] / "merged"
    lora.merge_lora(sft_result.final_checkpoint, out, progress=False)
    image = sorted((env["root"] / "best_views").glob("*_ac001001.jpg"))[0]
    a = infer.caption_images(out, [image], max_new_tokens=8)
    b = infer.caption_images(out, [image], max_new_tokens=8)
    assert a == b and isinstance(a[0], str)


def test_grpo_with_the_reward_plugin_then_stage_07(env, sft_result):
    g = grpo.run(GrpoParams(sft_dir=str(sft_result.output_dir), output_dir=str(env["root"] / "06"),
                            max_steps=1, max_completion_length=8, gradient_accumulation_steps=1,
                            reward_similarity="lexical"), progress=False)
    assert g.train_steps == 1 and g.prompts == 6
    assert len(g.completions) == 4  # one prompt x num_generations
    reward_cols = [k for k in g.completions[0] if "VaseAccuracy" in k]
    assert reward_cols and all(0.0 <= c[reward_cols[0]] <= 1.0 for c in g.completions)
    assert g.mean_reward is not None and 0.0 <= g.mean_reward <= 1.0
    log = (g.output_dir / "logs" / "swift_rlhf.log").read_text()
    assert "external_plugins" in log and "reward_plugin.py" in log
    assert (g.final_checkpoint / "config.json").is_file()
    assert not lora.is_adapter(g.final_checkpoint)  # full training: a whole model
    assert g.sft_merged is not None and (g.sft_merged / lora.MARKER).is_file()

    r = merge.run(MergeParams(sft_dir=str(sft_result.output_dir), grpo_dir=str(g.output_dir),
                              output_dir=str(env["root"] / "07"), max_new_tokens=6),
                  progress=False)
    assert set(r.captions) == {"base", "merged SFT", "GRPO"}
    assert r.final_model == g.final_checkpoint and r.changed_tensors == 25
    assert r.mcore is None and "Megatron" in r.mcore_status
    summary = runs.read_summary(r.output_dir)
    assert summary["headline"]["models_captioned"] == 3
    again = merge.run(MergeParams(sft_dir=str(sft_result.output_dir),
                                  output_dir=str(env["root"] / "07"), max_new_tokens=6),
                      progress=False)
    assert again.reused and again.captions["merged SFT"] == r.captions["merged SFT"]
