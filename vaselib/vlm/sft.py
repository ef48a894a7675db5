"""Stage 05: LoRA supervised fine-tuning of Qwen2.5-VL on vase views and captions (ms-swift).

``run(p)`` converts the inputs to ms-swift's messages format (:mod:`vaselib.vlm.data`;
bad records are listed with their reason), writes ms-swift's argument file and runs
``swift sft`` on it in a child process (see :mod:`vaselib.vlm.swift_run` for why), then
reads the training log.  The paper profile passes exactly the original's arguments
(Qwen2.5-VL-7B-Instruct, LoRA r 8 / alpha 32 on all linear layers, ViT frozen, bfloat16, …);
the demo profile trains the tiny random model (:mod:`vaselib.vlm.tiny`) for a few steps on
the CPU.  ``summary.json`` records the final checkpoint, which stages 06 and 07 merge.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaselib import runs
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
                                    else round(self.final_eval_loss, 4))}


def resolve_model(model: str | None, seed: int = 0) -> tuple[str, bool]:
    """``(model path or hub id, is_local)``; None = vaselib's pretrained offline demo base
    model (:mod:`vaselib.vlm.base_model`, pretrained once if missing)."""
    if model is None:
        from vaselib.vlm import base_model

        return str(base_model.ensure_base_model(progress=True)), True
    path = runs.resolve(model)
    if path.exists():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"model folder {runs.display_path(path)} has no config.json; pass a Hugging "
                f"Face model folder (e.g. a download of Qwen/Qwen2.5-VL-7B-Instruct)")
        return str(path), True
    if "/" in model and not model.startswith((".", "/", "~")) and model.count("/") == 1:
        return model, False  # a hub id: ms-swift downloads it (needs network)
    raise FileNotFoundError(f"model {model!r} is neither an existing folder nor a hub id "
                            f"like Qwen/Qwen2.5-VL-7B-Instruct")


def swift_env(p, model: str, is_local: bool) -> dict[str, str]:
    """Environment of the ms-swift child process for stage parameters ``p``."""
    env = {"MAX_PIXELS": str(p.max_pixels)}
    if is_local:
        env["HF_HUB_OFFLINE"] = "1"
        env.update(tiny.thread_env(model))
    if p.nproc_per_node > 1:
        env["NPROC_PER_NODE"] = str(p.nproc_per_node)
    if p.cuda_visible_devices is not None:
        env["CUDA_VISIBLE_DEVICES"] = p.cuda_visible_devices
    return env


def mixed_precision(torch_dtype: str) -> dict[str, bool]:
    """Explicit fp16/bf16 flags: ms-swift turns on fp16 mixed precision for float32 weights,
    which on a CPU is several times slower (and changes the numbers); float32 trains in
    float32, bfloat16 with bf16 (the paper), float16 with fp16."""
    return {"fp16": torch_dtype == "float16", "bf16": torch_dtype == "bfloat16"}


def sft_args(p: SftParams, model: str, dataset: Path, output_dir: Path) -> dict[str, Any]:
    """ms-swift ``sft`` arguments (ms-swift 4.x names) for parameters ``p``."""
    args: dict[str, Any] = {
        "model": model,
        "template": p.template,
        "use_hf": p.use_hf,
        "dataset": [str(dataset)],
        "tuner_type": p.tuner_type,
        "torch_dtype": p.torch_dtype,
        **mixed_precision(p.torch_dtype),
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
        "resume_from_checkpoint": (str(runs.resolve(p.resume_from_checkpoint))
                                   if p.resume_from_checkpoint else None),
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
    args.update(p.extra_args)
    return args


def modules_to_save(p: SftParams, model: str) -> list[str]:
    """Modules trained in full beside the LoRA adapters: ``p.modules_to_save``, or when it
    is None, the language-model head for vaselib's own small models (their head has never
    seen the domain's words: LoRA alone cannot teach a frozen head new tokens) and nothing
    for any other model (the original's LoRA)."""
    if p.modules_to_save is not None:
        return list(p.modules_to_save)
    return ["lm_head"] if tiny.is_tiny(model) else []


def model_description(model: str) -> str | None:
    """What a local model folder is, from its ``training.json`` (vaselib's demo models)."""
    record = runs.resolve(model) / "training.json"
    if not record.is_file():
        return None
    try:
        return runs.read_json(record).get("description")
    except ValueError:
        return None


def run(p: SftParams, *, progress: bool = True) -> SftResult:
    """Convert the data, run ``swift sft`` and summarise the training."""
    out = runs.resolve(p.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with runs.timer() as t:
        ds = vdata.load_records(p.dataset, p.images_dir, p.captions)
        files = vdata.write_datasets(ds, out / "data")
        model, is_local = resolve_model(p.model)
        if p.resume_from_checkpoint:
            ckpt = runs.resolve(p.resume_from_checkpoint)
            if not (ckpt / "trainer_state.json").is_file():
                raise FileNotFoundError(
                    f"resume_from_checkpoint {runs.display_path(ckpt)} is not an ms-swift "
                    f"checkpoint folder (no trainer_state.json); pass a checkpoint-N folder")
        else:
            swift_run.clear_swift_outputs(out)
        args = sft_args(p, model, files.sft, out)
        swift_run.run_swift("sft", args, swift_env(p, model, is_local), out, progress=progress,
                            desc="05 sft")
        history, final = swift_run.read_logging(out)
    val_file = out / "val_dataset.jsonl"
    n_val = len(vdata.read_jsonl(val_file)) if val_file.is_file() else 0
    losses = [e["loss"] for e in history if "loss" in e]
    evals = [e["eval_loss"] for e in history if "eval_loss" in e]
    ckpt = final.get("last_model_checkpoint")
    result = SftResult(
        output_dir=out, model=model if not is_local else runs.display_path(model),
        records=files.records, bad_records=files.bad_records,
        train_records=files.records - n_val, val_records=n_val,
        train_steps=int(final.get("global_step") or 0),
        final_loss=losses[-1] if losses else None,
        final_eval_loss=evals[-1] if evals else None,
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
        notes=[d for d in [model_description(model) if is_local else None] if d])
    return result


def final_checkpoint(sft_dir: str | Path) -> Path:
    """The final checkpoint recorded in a finished stage-05 folder's summary.json."""
    folder = runs.resolve(sft_dir)
    summary = runs.read_summary(folder)
    ckpt = (summary.get("outputs") or {}).get("final_checkpoint")
    if not ckpt:
        raise FileNotFoundError(f"{runs.display_path(folder)}/summary.json records no final "
                                f"checkpoint: stage 05 did not finish training there")
    path = runs.resolve(ckpt)
    if not path.is_dir():
        raise FileNotFoundError(f"the final checkpoint {ckpt} recorded by "
                                f"{runs.display_path(folder)} does not exist any more")
    return path


def ensure_standalone(progress: bool = True) -> Path:
    """The standalone demo 05 output folder, trained with defaults if it has no summary."""
    p = SftParams()
    out = runs.resolve(p.output_dir)
    try:
        final_checkpoint(out)
        return out
    except FileNotFoundError:
        run(p, progress=progress)
        return out
