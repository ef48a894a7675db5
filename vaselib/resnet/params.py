"""Parameters of stages 01 (train the quality classifier) and 02 (classify a folder)."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import model_validator

from vaselib import engines
from vaselib.images import DEFAULT_MAX_PIXELS
from vaselib.params import RUNTIME_HELP, Field, StageParams, no_int8_compile

ARCHS = ("resnet18", "resnet34", "resnet50")


class ResnetTrainParams(StageParams):
    """Stage 01: train the binary image-quality classifier on a ``0/`` ``1/`` folder."""

    data_dir: Optional[str] = Field(
        None, description="folder with 0/ (low quality) and 1/ (high quality) images; "
                          "None = the embedded demo corpus, generated on first use")
    output_dir: str = Field("runs/standalone/01_resnet_train",
                            description="where the checkpoint, results and plots go")
    arch: Literal["resnet18", "resnet34", "resnet50"] = Field(
        "resnet18", description="torchvision backbone; the paper used resnet50")
    pretrained: bool = Field(
        False, description="start from ImageNet weights (needs them cached or weights_path); "
                           "False = random initialisation")
    weights_path: Optional[str] = Field(
        None, description="local file of torchvision ImageNet weights for the backbone")
    image_size: int = Field(96, ge=32, le=1024, description="input side in pixels (paper 224)")
    interpolation: Literal["bilinear", "nearest"] = Field(
        "nearest", description="resize filter: bilinear (the original) or nearest (keeps "
                               "pixel-level quality evidence when shrinking far, as the demo does)")
    batch_size: int = Field(16, ge=1, description="images per training step (paper 256)")
    epochs: int = Field(16, ge=1, description="training epochs (paper 200)")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate")
    weight_decay: float = Field(1e-4, ge=0, description="Adam weight decay")
    step_size: int = Field(8, ge=1, description="StepLR: epochs between learning-rate drops "
                                                "(paper 10)")
    gamma: float = Field(0.1, gt=0, le=1, description="StepLR: factor of each drop")
    val_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of images for validation")
    test_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of images for test")
    augment: bool = Field(True, description="flip/rotate/colour-jitter the training split only")
    precise_bn: bool = Field(
        True, description="re-estimate BatchNorm statistics over the training split before "
                          "each validation (steadies short runs; the original did not)")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda|cuda:\d+|mps)$",
                        description="auto, cpu or cuda:N")
    resume: Optional[str] = Field(
        "auto", description="auto: continue an interrupted run of the same parameters in "
                            "output_dir (from its last_checkpoint.pth); a checkpoint file to "
                            "continue from; None: always start afresh")
    seed: int = Field(42, ge=0, description="seed of the split, initialisation and shuffling")


class ClassifyParams(StageParams):
    """Stage 02: sort a folder of photos into ``0/`` and ``1/`` with a trained classifier."""

    model_path: Optional[str] = Field(
        None, description="checkpoint from stage 01 (or the original scripts); None = the "
                          "standalone demo checkpoint, trained first if missing")
    input_dir: Optional[str] = Field(
        None, description="folder of photos, read recursively; None = the demo corpus' raw photos")
    output_dir: str = Field("runs/standalone/02_classify",
                            description="receives 0/, 1/ and classification_report.json")
    threshold: float = Field(
        0.5, ge=0, le=1, description="minimum probability of high quality for 1/; "
                                     "images below it go to 0/ (0.5 = the likelier class)")
    precision: Literal["fp32", "bf16", "int8", "auto"] = Field(
        "fp32", description="inference: fp32; bf16 (fast with AMX/AVX-512-BF16 or a GPU); "
                            "int8 (dynamic quantisation of the head, CPU); auto: a reduced "
                            "path only where measured to keep 99.5 % of the decisions (none "
                            "today, so fp32). The report records what ran")
    torch_compile: bool = Field(
        False, description="classify through torch.compile (inductor; needs gcc on the CPU): "
                           "ResNet50 alone ran ~1.4× eager after a compile of 10–16 s per run, so "
                           "it pays on large folders; probabilities differ from eager ones by "
                           "fp32 rounding (~1e-6). fp32 or bf16 only")
    runtime: Literal["torch", "onnxruntime"] = Field("torch", description=RUNTIME_HELP)
    batch_size: int = Field(32, ge=1, description="images per inference batch")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda|cuda:\d+|mps)$",
                        description="auto, cpu or cuda:N")
    engine: Literal["local", "ray"] = Field("local", description=engines.ENGINE_HELP)
    ray_address: Optional[str] = Field(None, description=engines.RAY_ADDRESS_HELP)
    link_mode: Literal["copy", "hardlink", "symlink"] = Field(
        "copy", description="how files reach 0/ and 1/; sources are never moved")
    recursive: bool = Field(True, description="also read sub-folders of input_dir "
                                              "(symlinked folders are followed once)")
    max_image_pixels: int = Field(
        DEFAULT_MAX_PIXELS, ge=1, description="larger images are refused as failures before "
                                              "decoding (decompression bombs); raise it for "
                                              "huge scans")
    seed: int = Field(42, ge=0, description="unused by inference; kept for the run record")

    _no_int8_compile = model_validator(mode="after")(no_int8_compile)
