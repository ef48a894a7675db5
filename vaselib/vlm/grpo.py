"""Stage 06: GRPO reinforcement learning with the vase-accuracy reward (ms-swift).

``run(p)`` starts from the merged SFT model: stage 05's final LoRA checkpoint is merged into
its base with :func:`vaselib.vlm.lora.merge_lora` (into ``<output_dir>/sft_merged``, reused
when already merged from the same adapter), or ``model`` names an already merged folder.
The prompts are stage 05's GRPO set (user turn with the image and the caption prompt, plus
``reference_caption`` and the six attribute columns).  ``swift rlhf --rlhf_type grpo`` runs
in a child process with the reward plugin :mod:`vaselib.vlm.reward_plugin` (registers
``external_vase_acc``) and a system prompt file; the paper profile is the original's full
training in bfloat16 with lr 1e-6, 4 generations, beta 0.001 and 256-token completions.
The result holds the reward per step and the logged completions with their rewards.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaselib import outputs, runs, stages
from vaselib.vlm import data as vdata
from vaselib.vlm import lora, swift_run
from vaselib.vlm.params import GrpoParams

STAGE = "06_grpo"
TEMPLATE_SYSTEM = "template"  # GrpoParams.system: keep the chat template's default system prompt
SYSTEM_PROMPT = (
    "You are an expert in ancient Greek pottery. Describe the vase in the image in one "
    "caption: its fabric, technique, shape, approximate date, main decorative subject, and "
    "its painter or provenance if known.")


@dataclass
class GrpoResult:
    output_dir: Path
    model: str
    prompts: int
    train_steps: int
    mean_reward: float | None
    final_reward: float | None
    final_checkpoint: Path | None
    log_history: list[dict[str, Any]]
    completions: list[dict[str, Any]] = field(default_factory=list)
    sft_merged: Path | None = None
    bad_records: int = 0
    seconds: float = 0.0

    def headline(self) -> dict[str, Any]:
        r = lambda x: None if x is None else round(x, 4)  # noqa: E731
        return {"prompts": self.prompts, "train_steps": self.train_steps,
                "completions": len(self.completions), "mean_reward": r(self.mean_reward),
                "final_reward": r(self.final_reward),
                "mean_reward_std": r(self.mean_reward_std)}

    @property
    def mean_reward_std(self) -> float | None:
        """The mean over steps of the reward's spread within a group of completions of one
        prompt (ms-swift's ``reward_std``): zero means GRPO had no advantage to learn from."""
        stds = [float(e["reward_std"]) for e in self.log_history if "reward_std" in e]
        return sum(stds) / len(stds) if stds else None


def plugin_file() -> Path:
    """The reward plugin file registering ``external_vase_acc`` (vaselib.vlm.reward_plugin)."""
    spec_path = Path(__file__).with_name("reward_plugin.py")
    if not spec_path.is_file():
        raise FileNotFoundError(f"the reward plugin {runs.display_path(spec_path)} is missing; "
                                f"it registers external_vase_acc for GRPO")
    return spec_path


def prepare_model(p: GrpoParams, out: Path, progress: bool) -> tuple[str, bool, Path | None,
                                                                      Path | None]:
    """``(model, is_local, merged SFT folder or None, stage-05 folder or None)``.

    ``model`` (an already merged model) wins; else ``sft_dir``'s final checkpoint is merged
    into its base (a full-training checkpoint is the model itself).
    """
    sft_dir = runs.resolve(p.sft_dir) if p.sft_dir else None
    if p.model is not None:
        model, is_local = swift_run.resolve_model(p.model)
        return model, is_local, None, sft_dir
    if sft_dir is None:
        from vaselib.stages import ParameterError

        raise ParameterError("neither sft_dir nor model is set: give stage 05's output folder "
                             "(sft_dir) or an already merged SFT model folder (model)")
    ckpt = outputs.recorded_output(sft_dir, "final_checkpoint", "05_sft", param="sft_dir")
    if not lora.is_adapter(ckpt):  # stage 05 trained fully: the checkpoint is the model
        return str(ckpt), True, None, sft_dir
    merged = lora.merge_lora(ckpt, out / "sft_merged", torch_dtype=p.torch_dtype,
                             work_dir=out, progress=progress)
    return str(merged.path), True, merged.path, sft_dir


def _remove_previous_training(out: Path) -> None:
    """Remove what an earlier run of this stage's ms-swift training left in ``out`` (the
    folder's manifest says these are this stage's; the merged SFT model is kept)."""
    import shutil

    for child in out.iterdir():
        if child.name in ("sft_merged", "data", "logs", "system_prompt.txt", ".vaselib-stage.json"):
            continue
        if child.name in ("args.json", "logging.jsonl", "completions.jsonl", "runs", "images",
                          "README.md", "last-checkpoint") or child.name.startswith("checkpoint-"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def grpo_args(p: GrpoParams, model: str, dataset: Path, system: Path | None,
              output_dir: Path) -> dict[str, Any]:
    """ms-swift ``rlhf`` arguments (ms-swift 4.x names) for parameters ``p``."""
    args: dict[str, Any] = {
        "rlhf_type": "grpo",
        "model": model,
        "template": p.template,
        "use_hf": p.use_hf,
        "dataset": [str(dataset)],
        "tuner_type": p.tuner_type,
        "torch_dtype": p.torch_dtype,
        **swift_run.mixed_precision(p.torch_dtype),
        **swift_run.launcher_args(p),
        "learning_rate": p.learning_rate,
        "num_train_epochs": p.num_train_epochs,
        "max_steps": p.max_steps,
        "per_device_train_batch_size": p.per_device_train_batch_size,
        "gradient_accumulation_steps": p.gradient_accumulation_steps,
        "num_generations": p.num_generations,
        "temperature": p.temperature,
        "beta": p.beta,
        "max_completion_length": p.max_completion_length,
        "num_iterations": p.num_iterations,
        "warmup_ratio": p.warmup_ratio,
        "save_steps": p.save_steps,
        "save_total_limit": p.save_total_limit,
        "logging_steps": p.logging_steps,
        "log_completions": p.log_completions,
        "system": None if system is None else str(system),
        "external_plugins": [str(plugin_file())],
        "reward_funcs": list(p.reward_funcs),
        "output_dir": str(output_dir),
        "report_to": ["tensorboard"],
        "dataloader_num_workers": p.dataloader_num_workers,
        "dataset_num_proc": p.dataset_num_proc,
        "gradient_checkpointing": p.gradient_checkpointing,
        "split_dataset_ratio": 0.0,
        "seed": p.seed,
        "data_seed": p.seed,
        "add_version": False,
        "check_model": False,
    }
    args.update(p.extra_args)
    return args


def read_completions(output_dir: str | Path) -> list[dict[str, Any]]:
    """ms-swift's completions.jsonl flattened to one dict per completion.

    Each line holds one logging step's columns as parallel lists (``step``, ``prompt``,
    ``completion``, one column per reward function, …).  ms-swift 4.6.0 writes the last
    step's batch twice (at the step and again when training ends); a line identical to the
    one before it is skipped.
    """
    path = Path(output_dir) / "completions.jsonl"
    if not path.is_file():
        return []
    rows: list[dict[str, Any]] = []
    previous = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line == previous:
            continue
        previous = line
        batch = json.loads(line)
        lists = {k: v for k, v in batch.items() if isinstance(v, list)}
        n = max((len(v) for v in lists.values()), default=0)
        for i in range(n):
            rows.append({k: (v[i] if i < len(v) else None) for k, v in lists.items()})
    return rows


def reward_key(entry: dict[str, Any]) -> str | None:
    return "reward" if "reward" in entry else next(
        (k for k in entry if k.startswith("rewards/") and k.endswith("/mean")), None)


def run(p: GrpoParams, *, progress: bool = True) -> GrpoResult:
    """Merge the SFT model, run ``swift rlhf --rlhf_type grpo``, read rewards and completions."""
    swift_run.check_launch(p)
    folder = outputs.StageOutputs(STAGE, p.output_dir, stages.get(STAGE).outputs)
    out = folder.folder
    for name in ("sft_dir", "model", "dataset", "images_dir"):
        value = getattr(p, name)
        if value and runs.resolve(value).exists():
            outputs.require_complete(value, name)
    folder.begin_in_place(keep_previous=True)   # the merged SFT model is reused when it fits
    with runs.timer() as t:
        plugin = plugin_file()
        model, is_local, merged, sft_dir = prepare_model(p, out, progress)
        bad = 0
        if p.dataset is not None or p.images_dir is not None:
            ds = vdata.load_records(p.dataset, p.images_dir, p.captions)
            files = vdata.write_datasets(ds, out / "data")
            prompts_file, bad = files.grpo, files.bad_records
        elif sft_dir is not None:
            prompts_file = outputs.recorded_output(sft_dir, "grpo_data", "05_sft", param="sft_dir")
        else:
            from vaselib.stages import ParameterError

            raise ParameterError("no prompts: give dataset (or images_dir + captions), or "
                                 "sft_dir, whose GRPO set is used")
        n_prompts = len(vdata.read_jsonl(prompts_file))
        if n_prompts == 0:
            raise ValueError(f"the GRPO prompts {runs.display_path(prompts_file)} are empty: no "
                             f"record has a vase caption the reward can score (see "
                             f"bad_records.json: \"{vdata.NO_REWARD_CAPTION}\")")
        if p.system == TEMPLATE_SYSTEM:  # the chat template's own, as stage 05 trained with
            system = None
        elif p.system is not None:
            system = runs.resolve(p.system)
            if not system.is_file():
                raise FileNotFoundError(f"system prompt file {runs.display_path(system)} does "
                                        f"not exist")
        else:
            system = out / "system_prompt.txt"
            system.write_text(SYSTEM_PROMPT + "\n", encoding="utf-8")
        _remove_previous_training(out)
        args = grpo_args(p, model, prompts_file, system, out)
        env = swift_run.swift_env(p, model, is_local)
        env["VASELIB_REWARD_SIMILARITY"] = p.reward_similarity
        swift_run.run_swift("rlhf", args, env, out, progress=progress, desc="06 grpo")
        history, final = swift_run.read_logging(out)
    steps = [e for e in history if reward_key(e)]
    rewards = [float(e[reward_key(e)]) for e in steps]
    ckpt = final.get("last_model_checkpoint")
    result = GrpoResult(
        output_dir=out, model=runs.display_path(model) if is_local else model,
        prompts=n_prompts, train_steps=int(final.get("global_step") or len(steps)),
        mean_reward=sum(rewards) / len(rewards) if rewards else None,
        final_reward=rewards[-1] if rewards else None,
        final_checkpoint=Path(ckpt) if ckpt else None, log_history=history,
        completions=read_completions(out), sft_merged=merged, bad_records=bad,
        seconds=t["seconds"])
    runs.write_summary(
        out, STAGE, p, result.headline(),
        outputs={"final_checkpoint": result.final_checkpoint, "sft_merged": merged,
                 "completions": out / "completions.jsonl", "logging": out / "logging.jsonl",
                 "tensorboard": out / "runs", "system_prompt": system,
                 "swift_args": out / "logs" / "swift_rlhf_args.json"},
        inputs={"model": result.model, "prompts": prompts_file, "reward_plugin": plugin,
                "sft_dir": sft_dir},
        seconds=t["seconds"],
        notes=[d for d in [swift_run.model_description(model) if is_local else None] if d])
    folder.finish_in_place()
    return result
