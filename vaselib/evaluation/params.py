"""Parameters of stage 08: caption the held-out vases with each model and evaluate them."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import model_validator

from vaselib.params import Field, StageParams


class EvaluateParams(StageParams):
    """Stage 08: greedy captions of held-out vases by each model, scored the paper's way and
    better (intervals, per-attribute accuracy, the reward, reward-independent metrics)."""

    merge_dir: Optional[str] = Field(
        None, description="stage 07's output folder: its base model, merged SFT model and "
                          "GRPO model are captioned (in a full run: stage 07 of the run)")
    models: Optional[list[str]] = Field(
        None, description="local Qwen2.5-VL model folders to caption instead of merge_dir's")
    model_names: Optional[list[str]] = Field(
        None, description="names for models, in order; None = the folders' names")
    generated: Optional[list[str]] = Field(
        None, description="caption files made elsewhere, in the original's format "
                          "[{images: [name], caption}]: evaluated as they are, nothing is "
                          "captioned (e.g. -p generated '[image_mymodel.json]')")
    ground_truth: Optional[str] = Field(
        None, description="ground-truth records [{images, caption}] (image paths relative to "
                          "the file); their images are what the models caption; None = the "
                          "demo's held-out vases")
    baseline: Optional[str] = Field(
        None, description="the model every other is compared with (paired differences); "
                          "None = each model minus every model listed before it")
    max_new_tokens: int = Field(64, ge=1, le=1024, description="longest caption generated")
    batch_size: int = Field(32, ge=1, description="images per generation batch")
    max_pixels: int = Field(112 * 112, ge=56 * 56,
                            description="largest image area fed to Qwen2.5-VL (as trained)")
    clip_backend: Literal["open_clip", "hf"] = Field(
        "open_clip", description="CLIP for clip_score / R@k (the paper: ViT-B/32's text tower)")
    clip_model: str = Field("vase-tiny-rn", description="CLIP model (see stage 03's model)")
    clip_pretrained: Optional[str] = Field(
        "vaselib-synthetic", description="CLIP weights (see stage 03's pretrained)")
    sentence_model: Optional[str] = Field(
        None, description="sentence-transformers folder for FID; None = the bundled "
                          "all-MiniLM-L6-v2 (the original used all-mpnet-base-v2)")
    similarity: Literal["semantic", "lexical"] = Field(
        "semantic", description="how decoration/attribution and the reward compare text: "
                                "sentence embeddings (as the reward in GRPO) or word overlap")
    n_boot: int = Field(1000, ge=0, description="bootstrap resamples for the 95 % intervals "
                                                "(0 = none)")
    gallery: int = Field(8, ge=0, description="held-out vases shown with every caption")
    output_dir: str = Field("runs/standalone/08_evaluate",
                            description="receives the caption files, evaluation_report.json "
                                        "and .md, plots and summary.json")
    seed: int = Field(42, ge=0, description="seed of the bootstrap")

    @model_validator(mode="after")
    def _names_fit(self):
        if self.model_names is not None and self.models is not None \
                and len(self.model_names) != len(self.models):
            raise ValueError(f"model_names has {len(self.model_names)} names for "
                             f"{len(self.models)} models")
        return self
