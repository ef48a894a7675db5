"""Parameters of stages 05 (SFT), 06 (GRPO) and 07 (merge, Megatron export).

Defaults are the offline CPU demo on vaselib's small pretrained Qwen2.5-VL
(:mod:`vaselib.vlm.base_model`: it sees, but has never read the domain's captions) and the
demo's rendered training vases (:mod:`vaselib.vlm.demo_data`);
``params/paper/*.yaml`` hold the original's values (Qwen2.5-VL-7B-Instruct, bfloat16, GPU).
Every ms-swift argument that the original set is a field here with the same name as
ms-swift's (so ``swift sft --<name>`` and the field agree); anything else ms-swift accepts
goes through ``extra_args``.
"""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import model_validator

from vaselib.params import Field, StageParams



def _swift_fields():
    """Fields every ms-swift stage has (declared in each class so the stage's inputs come
    first in its notebook's parameters cell)."""
    return dict(
        template=Field("qwen2_5_vl", description="ms-swift chat template; needed for a local "
                                                 "model folder (ms-swift cannot infer it)"),
        use_hf=Field(False, description="download a hub id from Hugging Face instead of "
                                        "ModelScope (ms-swift's default hub)"),
        torch_dtype=Field("float32", description="weights and training dtype (paper bfloat16; "
                                                 "the CPU trains in float32)"),
        max_pixels=Field(112 * 112, ge=56 * 56,
                         description="MAX_PIXELS: largest image area fed to Qwen2.5-VL "
                                     "(paper 1003520; the demo's 112-px photographs give 16 "
                                     "image tokens); set before ms-swift loads the model"),
        dataloader_num_workers=Field(0, ge=0, description="DataLoader worker processes "
                                                          "(paper 4)"),
        dataset_num_proc=Field(1, ge=1, description="processes that encode the data set "
                                                    "(paper 4)"),
        gradient_checkpointing=Field(False, description="trade compute for GPU memory "
                                                        "(paper: on, ms-swift's default)"),
        nproc_per_node=Field(1, ge=1, description="GPUs per node: >1 launches ms-swift through "
                                                  "torchrun (NPROC_PER_NODE)"),
        cuda_visible_devices=Field(None, description="CUDA_VISIBLE_DEVICES for the ms-swift "
                                                     "process, e.g. '0' or '0,1'; None: inherit"),
        deepspeed=Field(None, description="DeepSpeed ZeRO through ms-swift's --deepspeed: zero2 "
                                          "(shards optimizer state and gradients) or zero3 (also "
                                          "the weights); None: plain DDP. Needs GPUs and "
                                          "deepspeed installed"),
        nnodes=Field(1, ge=1, description="machines training together (NNODES); run the stage "
                                          "on each with its node_rank"),
        node_rank=Field(0, ge=0, description="this machine's rank, 0 … nnodes-1 (NODE_RANK); "
                                             "rank 0 is master_addr"),
        master_addr=Field(None, description="address of the node_rank 0 machine (MASTER_ADDR); "
                                            "needed when nnodes > 1"),
        master_port=Field(None, ge=1, le=65535, description="rendezvous port on master_addr "
                                                            "(MASTER_PORT); None: torchrun's "
                                                            "29500"),
        extra_args=Field({}, description="further ms-swift arguments by their ms-swift name, "
                                         "e.g. {'deepspeed': 'zero2'}; they override the rest"),
    )


_F = _swift_fields


def _check_launch(p) -> None:
    """What ms-swift's launcher (torchrun) would only find out after starting."""
    if p.node_rank >= p.nnodes:
        raise ValueError(f"node_rank {p.node_rank} must be below nnodes {p.nnodes} "
                         f"(ranks 0 … {p.nnodes - 1})")
    if p.nnodes > 1 and not p.master_addr:
        raise ValueError(f"nnodes {p.nnodes} needs master_addr: the address of the node_rank 0 "
                         f"machine, the same on every node")
    if p.cuda_visible_devices is not None:
        visible = [d for d in p.cuda_visible_devices.split(",") if d.strip()]
        if visible and p.nproc_per_node > len(visible):
            raise ValueError(f"nproc_per_node {p.nproc_per_node} processes but "
                             f"cuda_visible_devices {p.cuda_visible_devices!r} shows only "
                             f"{len(visible)} GPU(s): one process per GPU")


class _SwiftStage(StageParams):
    """A stage that runs ms-swift: its launch parameters are checked together."""

    @model_validator(mode="after")
    def _launch_adds_up(self):
        _check_launch(self)
        return self


class SftParams(_SwiftStage):
    """Stage 05: LoRA supervised fine-tuning of Qwen2.5-VL on vase images and captions."""

    output_dir: str = Field("runs/standalone/05_sft",
                            description="receives the data set, ms-swift's checkpoints, logs "
                                        "(TensorBoard) and summary.json (paper output/7B)")
    dataset: Optional[str] = Field(
        None, description="JSON file of the original's records {images, caption, "
                          "conversations}; relative image paths are taken from its folder; "
                          "None (and no images_dir) = the demo's rendered training vases")
    images_dir: Optional[str] = Field(
        None, description="a best_views/ folder (stage 04) of <UUID>_<view>_ac001001.jpg files; "
                          "used when dataset is None")
    captions: Optional[str] = Field(
        None, description="captions for images_dir: the corpus' vases.json or a JSON mapping "
                          "vase id -> caption; None = the demo corpus' captions")
    model: Optional[str] = Field(
        None, description="local Qwen2.5-VL folder or hub id (Qwen/Qwen2.5-VL-7B-Instruct); "
                          "None = vaselib's small offline base model, pretrained once on generic "
                          "descriptions (vaselib.vlm.base_model)")
    template: str = _F()["template"]
    use_hf: bool = _F()["use_hf"]
    torch_dtype: Literal["float32", "bfloat16", "float16"] = _F()["torch_dtype"]
    max_pixels: int = _F()["max_pixels"]
    dataloader_num_workers: int = _F()["dataloader_num_workers"]
    dataset_num_proc: int = _F()["dataset_num_proc"]
    gradient_checkpointing: bool = _F()["gradient_checkpointing"]
    nproc_per_node: int = _F()["nproc_per_node"]
    cuda_visible_devices: Optional[str] = _F()["cuda_visible_devices"]
    deepspeed: Optional[Literal["zero2", "zero3"]] = _F()["deepspeed"]
    nnodes: int = _F()["nnodes"]
    node_rank: int = _F()["node_rank"]
    master_addr: Optional[str] = _F()["master_addr"]
    master_port: Optional[int] = _F()["master_port"]
    extra_args: dict[str, Any] = _F()["extra_args"]
    tuner_type: Literal["lora", "full"] = Field("lora", description="LoRA adapters or full "
                                                                    "fine-tuning")
    lora_rank: int = Field(32, ge=1, description="LoRA rank (paper 8; the demo's 64-wide "
                                                 "model needs nearly full rank to move)")
    lora_alpha: int = Field(64, ge=1, description="LoRA alpha (paper 32)")
    target_modules: str = Field("all-linear", description="LoRA target modules (ms-swift "
                                                          "name or space-separated list)")
    freeze_vit: bool = Field(False, description="keep the vision tower frozen (no LoRA on it); "
                                                "paper true; the demo adapts its small vision "
                                                "tower too")
    modules_to_save: Optional[list[str]] = Field(
        None, description="modules trained in full beside LoRA; None = ['lm_head'] for "
                          "vaselib's own demo models (their head has never seen the domain's "
                          "words) and none for other models (the original)")
    modules_to_save_lr: Optional[float] = Field(
        0.02, gt=0, description="learning rate of the modules_to_save copies in a LoRA run; "
                                "None = learning_rate, ms-swift's one rate (paper). The demo: a "
                                "fast head learns the domain's words while the LoRA body, at "
                                "learning_rate, keeps what pretraining taught it to see")
    num_train_epochs: float = Field(4, gt=0, description="passes over the training data "
                                                         "(paper 2; the small demo model "
                                                         "still learns in a third and fourth)")
    max_steps: int = Field(-1, ge=-1, description="stop after this many optimiser steps; "
                                                  "-1 = run all epochs")
    per_device_train_batch_size: int = Field(1, ge=1, description="records per device per step "
                                                                  "(paper 1)")
    gradient_accumulation_steps: int = Field(1, ge=1, description="micro-batches per optimiser "
                                                                  "step (paper 16)")
    learning_rate: float = Field(5e-4, gt=0, description="peak learning rate (paper 1e-4; of the "
                                                         "LoRA adapters when modules_to_save_lr "
                                                         "is set)")
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="share of steps for warm-up")
    max_length: int = Field(4096, ge=64, description="longest token sequence (image + text)")
    eval_steps: int = Field(200, ge=1, description="evaluate every N steps (paper 100)")
    eval_on_start: bool = Field(True, description="measure the validation loss before training "
                                                  "too: the untrained model's, to compare "
                                                  "(paper: no)")
    save_steps: int = Field(200, ge=1, description="save a checkpoint every N steps (paper 100); "
                                                   "the last step is always saved")
    save_total_limit: int = Field(5, ge=1, description="checkpoints kept")
    logging_steps: int = Field(5, ge=1, description="log loss every N steps (paper 5)")
    split_dataset_ratio: float = Field(0.05, ge=0, lt=1, description="share held out for "
                                                                     "validation (paper 0.01)")
    resume_from_checkpoint: Optional[str] = Field(
        "auto", description="auto: continue an interrupted run in output_dir from its last "
                            "complete checkpoint; an ms-swift checkpoint-N folder to continue "
                            "from; None: always start afresh")
    seed: int = Field(42, ge=0, description="seed of ms-swift (data split, shuffling, init)")


class GrpoParams(_SwiftStage):
    """Stage 06: GRPO with the vase-accuracy reward, from the merged SFT model."""

    output_dir: str = Field("runs/standalone/06_grpo",
                            description="receives the merged SFT model, GRPO checkpoints, "
                                        "completions.jsonl and summary.json")
    sft_dir: Optional[str] = Field(
        None, description="output folder of stage 05: its final adapter is merged into its base "
                          "and its GRPO data set is used; None = the standalone demo 05 "
                          "(runs/standalone/05_sft), run first if missing")
    model: Optional[str] = Field(
        None, description="an already merged SFT model folder (or hub id); overrides sft_dir's "
                          "model")
    dataset: Optional[str] = Field(
        None, description="JSON file of the original's records for the prompts; None = the GRPO "
                          "set stage 05 wrote")
    images_dir: Optional[str] = Field(None, description="a best_views/ folder (see stage 05)")
    captions: Optional[str] = Field(None, description="captions for images_dir (see stage 05)")
    template: str = _F()["template"]
    use_hf: bool = _F()["use_hf"]
    torch_dtype: Literal["float32", "bfloat16", "float16"] = _F()["torch_dtype"]
    max_pixels: int = _F()["max_pixels"]
    dataloader_num_workers: int = _F()["dataloader_num_workers"]
    dataset_num_proc: int = _F()["dataset_num_proc"]
    gradient_checkpointing: bool = _F()["gradient_checkpointing"]
    nproc_per_node: int = _F()["nproc_per_node"]
    cuda_visible_devices: Optional[str] = _F()["cuda_visible_devices"]
    deepspeed: Optional[Literal["zero2", "zero3"]] = _F()["deepspeed"]
    nnodes: int = _F()["nnodes"]
    node_rank: int = _F()["node_rank"]
    master_addr: Optional[str] = _F()["master_addr"]
    master_port: Optional[int] = _F()["master_port"]
    extra_args: dict[str, Any] = _F()["extra_args"]
    tuner_type: Literal["full", "lora"] = Field("full", description="full training (paper) or "
                                                                    "LoRA")
    learning_rate: float = Field(3e-5, gt=0, description="learning rate (paper 1e-6; in the "
                                                         "demo's 16 steps 1e-4 lowered the SFT "
                                                         "model's held-out reward)")
    num_train_epochs: float = Field(1, gt=0, description="passes over the prompts")
    max_steps: int = Field(16, ge=-1, description="stop after N steps; -1 = all epochs "
                                                  "(paper -1; the demo's CPU budget)")
    per_device_train_batch_size: int = Field(4, ge=1, description="completions per device per "
                                                                  "micro-batch (paper 1)")
    gradient_accumulation_steps: int = Field(2, ge=1, description="micro-batches per step "
                                                                  "(paper 4)")
    num_generations: int = Field(4, ge=2, description="completions sampled per prompt "
                                                      "(the GRPO group)")
    temperature: float = Field(1.0, gt=0, description="sampling temperature")
    beta: float = Field(0.001, ge=0, description="KL coefficient against the reference model")
    max_completion_length: int = Field(48, ge=1, description="longest completion in tokens "
                                                             "(paper 256)")
    num_iterations: int = Field(1, ge=1, description="optimisation passes per generated batch")
    warmup_ratio: float = Field(0.01, ge=0, lt=1, description="share of steps for warm-up")
    save_steps: int = Field(300, ge=1, description="save every N steps (the last step is "
                                                   "always saved)")
    save_total_limit: int = Field(10, ge=1, description="checkpoints kept")
    logging_steps: int = Field(1, ge=1, description="log every N steps")
    log_completions: bool = Field(True, description="write every completion and its reward to "
                                                    "completions.jsonl")
    system: Optional[str] = Field(
        "template", description="system prompt file; None = vaselib's vase-expert prompt, "
                                "written to output_dir/system_prompt.txt (paper); 'template' = "
                                "the chat template's default system prompt, the one stage 05 "
                                "trained with (demo: the small model writes differently under "
                                "a system prompt it has never seen)")
    reward_funcs: list[str] = Field(
        ["external_vase_acc"],
        description="ms-swift reward names; external_vase_acc comes from vaselib's plugin")
    reward_similarity: Literal["semantic", "lexical"] = Field(
        "semantic", description="how the reward compares caption parts: sentence embeddings "
                                "(all-MiniLM-L6-v2) or word overlap")
    seed: int = Field(42, ge=0, description="seed of ms-swift (sampling, shuffling)")

    @model_validator(mode="after")
    def _groups_fit_the_batch(self):
        # ms-swift 4.6.0 (rlhf_trainers/args_mixin.py, _init_generation_batch_params): the
        # generation batch, per_device_train_batch_size × world size × gradient_accumulation_steps,
        # must split into whole groups of num_generations
        if {"generation_batch_size", "steps_per_generation"} & set(self.extra_args):
            return self
        world = self.nproc_per_node * self.nnodes
        batch = self.per_device_train_batch_size * world * self.gradient_accumulation_steps
        if batch % self.num_generations:
            raise ValueError(
                f"the generation batch per_device_train_batch_size × nproc_per_node × nnodes × "
                f"gradient_accumulation_steps = {self.per_device_train_batch_size} × "
                f"{self.nproc_per_node} × {self.nnodes} × {self.gradient_accumulation_steps} = "
                f"{batch} is not a multiple of num_generations {self.num_generations}")
        return self


class MergeParams(StageParams):
    """Stage 07: merge LoRA into its base, compare captions, optionally export to Megatron."""

    output_dir: str = Field("runs/standalone/07_merge",
                            description="receives merged/ (and mcore/), captions and summary")
    adapters: Optional[str] = Field(
        None, description="a LoRA checkpoint folder (checkpoint-N with adapter_config.json) to "
                          "merge; None = the final checkpoint recorded in sft_dir")
    sft_dir: Optional[str] = Field(
        None, description="output folder of stage 05; None = the standalone demo 05 "
                          "(runs/standalone/05_sft), run first if missing")
    grpo_dir: Optional[str] = Field(
        None, description="output folder of stage 06: its final model is captioned too and "
                          "becomes the exported model (a LoRA GRPO checkpoint is merged); "
                          "None = no GRPO model")
    base_model: Optional[str] = Field(
        None, description="base model to merge into; None = the one recorded in the adapter's "
                          "args.json")
    torch_dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="dtype of the merged weights (paper bfloat16)")
    image: Optional[str] = Field(
        None, description="image captioned by the base and the merged model; None = the first "
                          "image of stage 05's data set")
    max_new_tokens: int = Field(64, ge=1, le=1024, description="longest caption generated (a "
                                                               "demo caption is ~35 tokens)")
    max_pixels: int = Field(112 * 112, ge=56 * 56, description="MAX_PIXELS for captioning")
    to_mcore: bool = Field(
        False, description="also convert the final model to Megatron-Core (needs a GPU, "
                           "megatron-core and mcore-bridge)")
    test_convert_precision: bool = Field(
        True, description="with to_mcore: compare HF and Megatron outputs after conversion")
    seed: int = Field(42, ge=0, description="seed of caption sampling (greedy decoding ignores it)")
