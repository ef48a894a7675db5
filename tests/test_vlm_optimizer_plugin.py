"""Stage 05's modules_to_save_lr: ms-swift's optimiser plugin and the arguments that choose it."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from vaselib import params
from vaselib.vlm import sft, swift_run
from vaselib.vlm.params import SftParams

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_optimizers(monkeypatch):
    """ms-swift's optimiser registry without vaselib's, and the plugin file not loaded."""
    from swift.optimizers import optimizers_map

    monkeypatch.delitem(optimizers_map, swift_run.MODULES_TO_SAVE_OPTIMIZER, raising=False)
    plugin = str(sft.optimizer_plugin_file().resolve())
    for name, module in list(sys.modules.items()):
        if name.startswith("_swift_external_") and getattr(module, "__file__", None) == plugin:
            monkeypatch.delitem(sys.modules, name)
    # keep swift from patching torch's DataLoader for the rest of the test session
    monkeypatch.setattr("swift.arguments.base_args.base_args.patch_dataloader_external_plugins",
                        lambda: None)
    return optimizers_map


def test_external_plugins_registers_the_optimiser_ms_swift_looks_up(fresh_optimizers):
    from swift.arguments import BaseArguments
    from swift.optimizers import OptimizerCallback

    assert swift_run.MODULES_TO_SAVE_OPTIMIZER not in fresh_optimizers
    # --external_plugins <file>: what BaseArguments.__post_init__ runs
    args = SimpleNamespace(external_plugins=[str(sft.optimizer_plugin_file())],
                           custom_register_path=[])
    BaseArguments._import_external_plugins(args)
    # --optimizer <name>: SwiftMixin.__init__ takes optimizers_map[args.optimizer]
    assert issubclass(fresh_optimizers[swift_run.MODULES_TO_SAVE_OPTIMIZER], OptimizerCallback)


def _lora_model_with_a_saved_head():
    import torch
    from peft import LoraConfig, get_peft_model

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Linear(8, 8)
            self.norm = torch.nn.LayerNorm(8)
            self.lm_head = torch.nn.Linear(8, 20, bias=False)

        def forward(self, x):
            return self.lm_head(self.norm(self.body(x)))

    torch.manual_seed(0)
    return get_peft_model(Tiny(), LoraConfig(r=2, lora_alpha=4, target_modules=["body"],
                                              modules_to_save=["lm_head"]))


def test_saved_modules_train_at_their_own_rate_and_the_rest_at_learning_rate(
        tmp_path, monkeypatch):
    from transformers import TrainingArguments

    from vaselib.vlm.optimizer_plugin import ModulesToSaveLr

    model = _lora_model_with_a_saved_head()
    monkeypatch.setenv(swift_run.MODULES_TO_SAVE_LR_ENV, "0.02")
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=5e-4, weight_decay=0.1,
                             optim="adamw_torch", report_to=[])
    opt = ModulesToSaveLr(args, SimpleNamespace(model=model)).create_optimizer()

    rate = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    decay = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    head = model.base_model.model.lm_head             # peft's ModulesToSaveWrapper
    saved = head.modules_to_save["default"].weight
    lora = [p for n, p in model.named_parameters() if "lora_" in n]
    assert rate[id(saved)] == 0.02 and decay[id(saved)] == 0.1
    assert lora and all(rate[id(p)] == 5e-4 for p in lora)
    assert id(head.original_module.weight) not in rate      # the frozen original stays out
    assert set(rate) == {id(p) for p in model.parameters() if p.requires_grad}


def test_without_the_rate_in_the_environment_the_optimiser_says_what_is_missing(monkeypatch):
    from vaselib.vlm.optimizer_plugin import modules_to_save_lr

    monkeypatch.delenv(swift_run.MODULES_TO_SAVE_LR_ENV, raising=False)
    with pytest.raises(RuntimeError, match=swift_run.MODULES_TO_SAVE_LR_ENV):
        modules_to_save_lr()


def test_the_demo_chooses_the_optimiser_and_the_paper_keeps_ms_swifts(tmp_path):
    mine = tmp_path / "m"
    mine.mkdir()
    (mine / "vaselib_tiny.json").write_text("{}")
    demo = sft.sft_args(SftParams(), str(mine), tmp_path / "d.jsonl", tmp_path)
    assert demo["optimizer"] == swift_run.MODULES_TO_SAVE_OPTIMIZER
    assert [Path(f).name for f in demo["external_plugins"]] == ["optimizer_plugin.py"]
    assert Path(demo["external_plugins"][0]).is_file()
    assert sft.optimizer_env(SftParams(), demo) == {swift_run.MODULES_TO_SAVE_LR_ENV: "0.02"}
    # no modules_to_save (a model other than vaselib's, or full tuning): nothing to give a rate
    hub = sft.sft_args(SftParams(), "Qwen/Qwen2.5-VL-7B-Instruct", tmp_path / "d.jsonl", tmp_path)
    full = sft.sft_args(SftParams(tuner_type="full"), str(mine), tmp_path / "d.jsonl", tmp_path)
    one_rate = sft.sft_args(SftParams(modules_to_save_lr=None), str(mine), tmp_path / "d.jsonl",
                            tmp_path)
    paper = params.validate("05_sft", params.load_yaml(ROOT / "params/paper/05_sft.yaml"))
    original = sft.sft_args(paper, paper.model, tmp_path / "d.jsonl", tmp_path)
    for args, p in ((hub, SftParams()), (full, SftParams(tuner_type="full")),
                    (one_rate, SftParams(modules_to_save_lr=None)), (original, paper)):
        assert "optimizer" not in args and "external_plugins" not in args
        assert sft.optimizer_env(p, args) == {}
