"""Parameters of stages 03 (CLIP quality / fragment filter) and 04 (CLIP best view).

Defaults are the offline CPU demo: the small CLIP model vaselib trains on its synthetic
training corpus (``model="vase-tiny-rn"``, ``pretrained="vaselib-synthetic"``).  The paper
profile (``params/paper/``) uses open_clip ViT-B-32 with openai weights; a local HuggingFace
CLIP folder (such as ``openai/clip-vit-base-patch32``) runs with ``backend="hf"``.
"""
from __future__ import annotations

from typing import List, Literal, Optional

from pydantic import field_validator, model_validator

from vaselib import engines, filenames
from vaselib.images import DEFAULT_MAX_PIXELS
from vaselib.params import RUNTIME_HELP, Field, StageParams, no_int8_compile

# The original's two prompt sets, verbatim (8 + 8).
HIGH_PROMPTS: tuple[str, ...] = (
    "a complete intact vase viewed from the front",
    "a whole undamaged vase in frontal view",
    "a perfect ceramic vase facing forward",
    "an intact decorative vase front view",
    "a complete flower vase shown frontally",
    "a full unbroken vase from front angle",
    "an entire undamaged pottery vase facing camera",
    "a pristine whole vase in front perspective",
)
LOW_PROMPTS: tuple[str, ...] = (
    "broken vase fragments and pieces",
    "shattered ceramic vase debris",
    "cracked and damaged vase parts",
    "incomplete vase with missing pieces",
    "fragmented broken pottery",
    "ceramic vase shards and chips",
    "damaged vase with cracks and breaks",
    "partial vase pieces and fragments",
)

# the original's <id>_<view>_ac001001.jpg, case-insensitive, any image extension
DEFAULT_VIEW_PATTERN = filenames.DEFAULT_VIEW_PATTERN

DEMO_MODEL = "vase-tiny-rn"
DEMO_PRETRAINED = "vaselib-synthetic"
# The demo model is trained so that score 0 ("closer to the high prompts than to the low
# ones") separates intact from broken: on the demo corpus' 913 good photos it rejects 87 % of
# the fragment photos and accepts 97 % of the intact views; thresholds +0.08 … +0.21 would
# give ≥ 90 % of both (benchmarks/bench_clip_demo_model.py, measured 2026-12-06).
DEMO_THRESHOLD = 0.0

_DEVICE = r"^(auto|cpu|cuda|cuda:\d+|mps)$"


class _ClipModelParams(StageParams):
    """What both CLIP stages share: the model, the prompts, batching and the cache."""

    input_dir: Optional[str] = Field(None, description="folder of photos")
    backend: Literal["open_clip", "hf"] = Field(
        "open_clip", description="open_clip (model name + pretrained tag/file) or hf (a local "
                                 "HuggingFace-format CLIP folder given as model)")
    model: str = Field(
        DEMO_MODEL, min_length=1,
        description="open_clip: a model name (ViT-B-32, vase-tiny-rn …) or 'local-dir:<folder>'; "
                    "hf: a local folder such as .../openai/clip-vit-base-patch32")
    pretrained: Optional[str] = Field(
        DEMO_PRETRAINED,
        description="open_clip weights: a tag (openai, laion2b_s34b_b79k …), a checkpoint file, "
                    "'vaselib-synthetic' (the demo model trained locally on synthetic renders) "
                    "or None = random initialisation (meaningless scores, for tests)")
    high_prompts: List[str] = Field(
        list(HIGH_PROMPTS), min_length=1,
        description="prompts describing what to keep; their text embeddings are averaged")
    prompt_average: Literal["original", "normalised"] = Field(
        "original", description="how a prompt set becomes one embedding: original = normalise "
                                "the mean of the raw text features (the original's formula); "
                                "normalised = normalise each prompt first")
    precision: Literal["fp32", "bf16", "int8", "auto"] = Field(
        "fp32", description="image encoding: fp32; bf16 (fast with AMX/AVX-512-BF16 or a GPU); "
                            "int8 (dynamic quantisation, CPU); auto: a reduced path only where "
                            "measured to keep 99.5 % of the decisions and run faster: bf16 "
                            "with fp32_recheck on CPUs with AMX / AVX-512-BF16, else fp32. "
                            "Reports record what ran")
    fp32_recheck: bool = Field(
        True, description="with bf16 or int8: re-score in fp32 every image whose score lies "
                          "within a measured error band of a decision (03: the threshold; 04: "
                          "the best view), so the decisions are fp32's; the report records "
                          "the band and how many were re-scored")
    torch_compile: bool = Field(
        False, description="encode images through torch.compile (inductor; needs gcc on the "
                           "CPU): ~20 % more images/s on ViT-B/32 after a compile of ~20 s "
                           "per run, so it pays from a few thousand images; its embeddings "
                           "differ from eager ones by fp32 rounding (~1e-6) and are cached "
                           "apart. fp32 or bf16 only")
    jpeg_draft: bool = Field(
        False, description="decode JPEGs at libjpeg's 1/2, 1/4 or 1/8 scale when that still "
                           "covers the model's input (PIL draft): faster decoding of large "
                           "photos, but the pixels and so the scores change (see "
                           "benchmarks/RESULTS.md); cached apart")
    runtime: Literal["torch", "onnxruntime"] = Field("torch", description=RUNTIME_HELP)
    batch_size: int = Field(64, ge=1, description="images per encoding batch")
    num_workers: int = Field(0, ge=0, description="DataLoader processes decoding images "
                                                  "(0 = in the main process)")
    device: str = Field("auto", pattern=_DEVICE, description="auto, cpu or cuda:N")
    engine: Literal["local", "ray"] = Field("local", description=engines.ENGINE_HELP)
    ray_address: Optional[str] = Field(None, description=engines.RAY_ADDRESS_HELP)
    cache_dir: Optional[str] = Field(
        None, description="image-embedding cache; None = <data>/cache/clip-embeddings")
    link_mode: Literal["copy", "hardlink", "symlink"] = Field(
        "copy", description="how selected files reach the outputs; sources are never moved")
    recursive: bool = Field(True, description="also read sub-folders of input_dir "
                                              "(symlinked folders are followed once)")
    max_image_pixels: int = Field(
        DEFAULT_MAX_PIXELS, ge=1, description="larger images are refused as failures before "
                                              "decoding (decompression bombs); raise it for "
                                              "huge scans")
    seed: int = Field(42, ge=0, description="seed of the analysis sample and of random weights")

    _no_int8_compile = model_validator(mode="after")(no_int8_compile)

    @field_validator("high_prompts", "low_prompts", check_fields=False)
    @classmethod
    def _no_blank_prompts(cls, v: list[str]) -> list[str]:
        if any(not s.strip() for s in v):
            raise ValueError("prompts must not be empty strings")
        return v


class ClipQualityParams(_ClipModelParams):
    """Stage 03: score every photo with CLIP (intact vs fragment) and filter by a threshold."""

    input_dir: Optional[str] = Field(
        None, description="folder of photos, read recursively (in a full run: stage 02's 1/); "
                          "None = the demo corpus' good photos")
    output_dir: str = Field("runs/standalone/03_clip_quality",
                            description="receives accepted/, rejected/ and filtering_report.json")
    threshold: Optional[float] = Field(
        DEMO_THRESHOLD, ge=-2, le=2,
        description="accept when score ≥ threshold (paper 0.15); None = the 25th percentile "
                    "of the analysis sample (keeps ~75 %), recorded in the report")
    low_prompts: List[str] = Field(
        list(LOW_PROMPTS), min_length=1,
        description="prompts describing what to reject (fragments, damage)")
    sample_size: int = Field(500, ge=1, description="images in the seeded analysis sample "
                                                    "(the original's quick mode used 100)")
    analyse_only: bool = Field(False, description="only analyse the sample's score distribution "
                                                  "and suggest thresholds; file nothing")
    save_rejected: bool = Field(True, description="also place rejected photos in rejected/")
    histogram_bins: int = Field(40, ge=5, le=500, description="bins of the score histogram")


class BestViewParams(_ClipModelParams):
    """Stage 04: keep, per vase, the view closest to the high-quality prompts."""

    input_dir: Optional[str] = Field(
        None, description="folder of photos (in a full run: stage 03's accepted/); None = the "
                          "demo corpus' good photos of intact vases")
    output_dir: str = Field("runs/standalone/04_best_view",
                            description="receives best_views/, best_views_report.json and "
                                        "filtering_stats.json")
    pattern: str = Field(
        DEFAULT_VIEW_PATTERN,
        description="regular expression matched against each file name: named groups "
                    "vase_id (and view), or plain groups (id)(view) like the original's "
                    "^([A-F0-9-]+)_(\\d+)_ac001001\\.jpg$")

    @field_validator("pattern")
    @classmethod
    def _pattern_has_groups(cls, v: str) -> str:
        try:
            filenames.compile_pattern(v)
        except filenames.PatternError as err:
            raise ValueError(str(err)) from None
        return v
