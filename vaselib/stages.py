"""The one registry of stages: name, title, parameter schema, run function, inputs, outputs.

The CLI, the notebooks, the pipeline, the demo and the tests all look stages up here.
Schemas and run functions are named as ``"module:attribute"`` and imported on first use,
so listing stages or validating one stage's parameters never imports another stage's
(torch-heavy) code.

A stage's ``run(params, *, progress=True) -> result`` takes every input explicitly from
its parameters (the names in :attr:`Stage.inputs`); it never runs another stage and never
invents an input.  Where a notebook is run on its own with an input left ``None``, the
demo fills it in first (:func:`vaselib.demo.fill_inputs`), in one place.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Stage", "STAGES", "get", "names", "ParameterError"]


class ParameterError(ValueError):
    """A parameter (or a stage name) is unknown, of the wrong type or out of range."""


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Stage:
    """One stage of the workbook."""

    name: str                    # "03_clip_quality": notebook notebooks/<name>.ipynb
    title: str
    schema_ref: str              # "module:Class" of its pydantic parameters
    run_ref: str                 # "module:function" of ``run(params, *, progress) -> result``
    inputs: tuple[str, ...]      # parameters naming what it reads (files, folders, models)
    outputs: tuple[str, ...]     # what it writes into output_dir (files and folders)
    upstream: dict[str, tuple[str, str]] = field(default_factory=dict)
    # ``upstream[param] = (stage, output)``: in a full run, ``param`` is that stage's output

    @property
    def schema(self) -> type:
        return _load(self.schema_ref)

    @property
    def run(self) -> Callable[..., Any]:
        return _load(self.run_ref)

    @property
    def number(self) -> str:
        return self.name.split("_", 1)[0]


STAGES: tuple[Stage, ...] = (
    Stage("01_resnet_train", "ResNet quality classifier: training",
          "vaselib.resnet.params:ResnetTrainParams", "vaselib.resnet.train:run",
          inputs=("data_dir", "weights_path", "resume"),
          outputs=("best_image_quality_model.pth", "last_checkpoint.pth",
                   "training_results.json", "training_history.png", "confusion_matrix.png")),
    Stage("02_classify", "Quality classification of raw photos",
          "vaselib.resnet.params:ClassifyParams", "vaselib.resnet.classify:run",
          inputs=("model_path", "input_dir"),
          outputs=("0", "1", "classification_report.json"),
          upstream={"model_path": ("01_resnet_train", "best_image_quality_model.pth")}),
    Stage("03_clip_quality", "CLIP fragment filter",
          "vaselib.clip.params:ClipQualityParams", "vaselib.clip.fragment_filter:run",
          inputs=("input_dir",),
          outputs=("accepted", "rejected", "filtering_report.json", "score_analysis.json"),
          upstream={"input_dir": ("02_classify", "1")}),
    Stage("04_best_view", "CLIP best-view selection",
          "vaselib.clip.params:BestViewParams", "vaselib.clip.best_view:run",
          inputs=("input_dir",),
          outputs=("best_views", "best_views_report.json", "filtering_stats.json"),
          upstream={"input_dir": ("03_clip_quality", "accepted")}),
    Stage("05_sft", "Supervised fine-tuning (ms-swift)",
          "vaselib.vlm.params:SftParams", "vaselib.vlm.sft:run",
          inputs=("dataset", "images_dir", "captions", "model", "resume_from_checkpoint"),
          outputs=("data", "logs", "checkpoint-*", "last-checkpoint", "args.json",
                   "logging.jsonl", "val_dataset.jsonl", "runs", "images", "README.md"),
          upstream={"images_dir": ("04_best_view", "best_views")}),
    Stage("06_grpo", "GRPO with the vase-accuracy reward",
          "vaselib.vlm.params:GrpoParams", "vaselib.vlm.grpo:run",
          inputs=("sft_dir", "model", "dataset", "images_dir", "captions", "system"),
          outputs=("data", "logs", "sft_merged", "system_prompt.txt", "checkpoint-*",
                   "last-checkpoint", "args.json", "logging.jsonl", "completions.jsonl", "runs",
                   "images", "README.md"),
          upstream={"sft_dir": ("05_sft", "")}),
    Stage("07_merge", "Merge LoRA and export",
          "vaselib.vlm.params:MergeParams", "vaselib.vlm.merge:run",
          inputs=("adapters", "sft_dir", "grpo_dir", "base_model", "image"),
          outputs=("logs", "merged", "merged_grpo", "mcore", "captions.json"),
          upstream={"sft_dir": ("05_sft", ""), "grpo_dir": ("06_grpo", "")}),
    Stage("08_evaluate", "Caption evaluation: base vs SFT vs GRPO",
          "vaselib.evaluation.params:EvaluateParams", "vaselib.evaluation.stage:run",
          inputs=("merge_dir", "models", "generated", "ground_truth", "sentence_model"),
          outputs=("image_*.json", "evaluation_report.json", "evaluation_report.md",
                   "metrics.png"),
          upstream={"merge_dir": ("07_merge", "")}),
)

_BY_NAME = {s.name: s for s in STAGES}


def names() -> list[str]:
    """Stage names in pipeline order."""
    return [s.name for s in STAGES]


def get(name: str) -> Stage:
    """The stage called ``name``: its full name, its number (``03``) or its suffix
    (``clip_quality``)."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    matches = [s for s in STAGES if s.number == name or s.name.split("_", 1)[1] == name]
    if len(matches) == 1:
        return matches[0]
    raise ParameterError(f"unknown stage {name!r}; stages are: {', '.join(names())}")
