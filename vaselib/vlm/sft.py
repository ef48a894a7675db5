"""Stage 05: LoRA supervised fine-tuning of Qwen2.5-VL on vase views and captions (ms-swift).

``run(p)`` converts the inputs to ms-swift's messages format (:mod:`vaselib.vlm.data`;
bad records are listed with their reason), writes ms-swift's argument file and runs
``swift sft`` on it in a child process (see :mod:`vaselib.vlm.swift_run` for why), then
reads the training log.  The paper profile passes exactly the original's arguments
(Qwen2.5-VL-7B-Instruct, LoRA r 8 / alpha 32 on all linear layers, ViT frozen, bfloat16, …);
the demo profile trains vaselib's small pretrained base model (:mod:`vaselib.vlm.base_model`)
on the CPU, its head at its own learning rate (``modules_to_save_lr``, through the ms-swift
optimiser plugin :mod:`vaselib.vlm.optimizer_plugin`).  ``summary.json`` records the final
checkpoint, which stages 06 and 07 merge.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaselib import outputs, runs, stages
from vaselib.vlm import data as vdata
from vaselib.vlm import swift_run, tiny
from vaselib.vlm.params import SftParams

STAGE = "05_sft"


@dataclass
class SftResult:
    output_dir: Path
    model: str
    records: int
    bad_records: int
    train_records: int
    val_records: int
    train_steps: int
    final_loss: float | None
    final_eval_loss: float | None
    base_eval_loss: float | None            # the validation loss before training (eval_on_start)
    final_checkpoint: Path | None
    log_history: list[dict[str, Any]]
    bad: list[dict[str, str]] = field(default_factory=list)
    data_files: vdata.DataFiles | None = None
    seconds: float = 0.0

    def headline(self) -> dict[str, Any]:
        return {"records": self.records, "bad_records": self.bad_records,
                "train_records": self.train_records, "val_records": self.val_records,
                "train_steps": self.train_steps,
                "final_loss": None if self.final_loss is None else round(self.final_loss, 4),
                "final_eval_loss": (None if self.final_eval_loss is None
                                    else round(self.final_eval_loss, 4)),
                "base_eval_loss": (None if self.base_eval_loss is None
                                   else round(self.base_eval_loss, 4))}


def sft_args(p: SftParams, model: str, dataset: Path, output_dir: Path) -> dict[str, Any]:
    """ms-swift ``sft`` arguments (ms-swift 4.x names) for parameters ``p``."""
    args: dict[str, Any] = {
        "model": model,
        "template": p.template,
        "use_hf": p.use_hf,
        "dataset": [str(dataset)],
        "tuner_type": p.tuner_type,
        "torch_dtype": p.torch_dtype,
        **swift_run.mixed_precision(p.torch_dtype),
        **swift_run.launcher_args(p),
        "num_train_epochs": p.num_train_epochs,
        "max_steps": p.max_steps,
        "per_device_train_batch_size": p.per_device_train_batch_size,
        "per_device_eval_batch_size": p.per_device_train_batch_size,
        "learning_rate": p.learning_rate,
        "lora_rank": p.lora_rank,
        "lora_alpha": p.lora_alpha,
        "target_modules": p.target_modules.replace(",", " ").split(),
        "freeze_vit": p.freeze_vit,
        "gradient_accumulation_steps": p.gradient_accumulation_steps,
        "eval_steps": p.eval_steps,
        # with no validation split there is nothing to evaluate (the Trainer would refuse)
        "eval_on_start": p.eval_on_start and p.split_dataset_ratio > 0,
        "save_steps": p.save_steps,
        "save_total_limit": p.save_total_limit,
        "logging_steps": p.logging_steps,
        "max_length": p.max_length,
        "output_dir": str(output_dir),
        "warmup_ratio": p.warmup_ratio,
        "dataloader_num_workers": p.dataloader_num_workers,
        "dataset_num_proc": p.dataset_num_proc,
        "split_dataset_ratio": p.split_dataset_ratio,
        "gradient_checkpointing": p.gradient_checkpointing,
        "seed": p.seed,
        "data_seed": p.seed,
        "report_to": ["tensorboard"],
        "add_version": False,           # the output folder is exactly output_dir
        "check_model": False,           # no hub look-up of local weights (offline)
        "save_only_model": False,       # keep optimizer state so training can resume
    }
    if p.tuner_type == "full":
        for k in ("lora_rank", "lora_alpha", "target_modules"):
            args.pop(k)
    else:
        args["modules_to_save"] = modules_to_save(p, model)
        if args["modules_to_save"] and p.modules_to_save_lr is not None:
            args["optimizer"] = swift_run.MODULES_TO_SAVE_OPTIMIZER
            args["external_plugins"] = [str(optimizer_plugin_file())]
    args.update(p.extra_args)
    return args


def optimizer_plugin_file() -> Path:
    """The plugin registering ms-swift's ``vaselib_modules_to_save_lr`` optimiser."""
    return Path(__file__).with_name("optimizer_plugin.py")


def optimizer_env(p: SftParams, args: dict[str, Any]) -> dict[str, str]:
    """The environment the optimiser plugin reads (:mod:`vaselib.vlm.optimizer_plugin`)
    when ms-swift's arguments ``args`` choose it."""
    if args.get("optimizer") != swift_run.MODULES_TO_SAVE_OPTIMIZER:
        return {}
    return {swift_run.MODULES_TO_SAVE_LR_ENV: repr(float(p.modules_to_save_lr))}


def modules_to_save(p: SftParams, model: str) -> list[str]:
    """Modules trained in full beside the LoRA adapters: ``p.modules_to_save``, or when it
    is None, the language-model head for vaselib's own small models (their head has never
    seen the domain's words: LoRA alone cannot teach a frozen head new tokens) and nothing
    for any other model (the original's LoRA)."""
    if p.modules_to_save is not None:
        return list(p.modules_to_save)
    return ["lm_head"] if tiny.is_tiny(model) else []


def run(p: SftParams, *, progress: bool = True) -> SftResult:
    """Convert the data, run ``swift sft`` and summarise the training."""
    swift_run.check_launch(p)
    folder = outputs.StageOutputs(STAGE, p.output_dir, stages.get(STAGE).outputs)
    out = folder.folder
    with runs.timer() as t:
        for name in ("dataset", "images_dir"):
            if getattr(p, name):
                outputs.require_complete(getattr(p, name), name)
        model, is_local = swift_run.resolve_model(p.model)
        ds = vdata.load_records(p.dataset, p.images_dir, p.captions)
        if is_local:
            ds = vdata.check_lengths(ds, model, p.max_length, p.max_pixels)
        resume, note = _resume_source(p, folder)
        folder.begin_in_place(keep_previous=resume is not None and resume.parent == out)
        files = vdata.write_datasets(ds, out / "data")
        args = sft_args(p, model, files.sft, out)
        args["resume_from_checkpoint"] = str(resume) if resume is not None else None
        env = {**swift_run.swift_env(p, model, is_local), **optimizer_env(p, args)}
        swift_run.run_swift("sft", args, env, out,
                            progress=progress, desc="05 sft")
        history, final = swift_run.read_logging(out)
    val_file = out / "val_dataset.jsonl"
    n_val = len(vdata.read_jsonl(val_file)) if val_file.is_file() else 0
    losses = [e["loss"] for e in history if "loss" in e]
    evals = [e["eval_loss"] for e in history if "eval_loss" in e]
    base_evals = [e["eval_loss"] for e in history
                  if "eval_loss" in e and not e.get("step")]      # eval_on_start logs step 0
    ckpt = final.get("last_model_checkpoint")
    result = SftResult(
        output_dir=out, model=model if not is_local else runs.display_path(model),
        records=files.records, bad_records=files.bad_records,
        train_records=files.records - n_val, val_records=n_val,
        train_steps=int(final.get("global_step") or 0),
        final_loss=losses[-1] if losses else None,
        final_eval_loss=evals[-1] if evals else None,
        base_eval_loss=base_evals[0] if base_evals and resume is None else None,
        final_checkpoint=Path(ckpt) if ckpt else None, log_history=history,
        bad=[b.to_dict() for b in ds.bad], data_files=files, seconds=t["seconds"])
    runs.write_summary(
        out, STAGE, p, result.headline(),
        outputs={"final_checkpoint": result.final_checkpoint,
                 "best_checkpoint": Path(final["best_model_checkpoint"])
                 if final.get("best_model_checkpoint") else None,
                 "sft_data": files.sft, "grpo_data": files.grpo, "bad_records": files.bad,
                 "logging": out / "logging.jsonl", "tensorboard": out / "runs",
                 "swift_args": out / "logs" / "swift_sft_args.json"},
        inputs={"model": result.model, "data": ds.source},
        seconds=t["seconds"],
        notes=[n for n in [note, swift_run.model_description(model) if is_local else None] if n])
    folder.finish_in_place()
    return result


def _resume_source(p: SftParams, folder: outputs.StageOutputs) -> tuple[Path | None, str]:
    """``resume_from_checkpoint`` as a folder: a checkpoint-N given, or with ``auto`` the
    last complete checkpoint of an interrupted run of this stage in ``output_dir``."""
    value = p.resume_from_checkpoint
    if value is None:
        return None, ""
    if value != "auto":
        ckpt = runs.input_path(value, "resume_from_checkpoint", "an ms-swift checkpoint-N "
                               "folder")
        if not swift_run.checkpoint_is_complete(ckpt):
            raise FileNotFoundError(
                f"resume_from_checkpoint {runs.display_path(ckpt)} is not a complete ms-swift "
                f"checkpoint folder (no readable trainer_state.json); pass a checkpoint-N folder")
        return ckpt, f"resumed from {runs.display_path(ckpt)}"
    previous = folder.previous or {}
    if previous.get("stage") != STAGE or previous.get("complete", True):
        return None, ""
    ckpt = swift_run.last_complete_checkpoint(folder.folder)
    if ckpt is None:
        return None, "not resumed: the interrupted run left no complete checkpoint"
    return ckpt, f"resumed the interrupted run from {runs.display_path(ckpt)}"
