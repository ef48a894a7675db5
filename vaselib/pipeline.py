"""The whole pipeline on one run folder: which stage reads which earlier output.

Data flows one way: each stage's default inputs in a full run are the previous stages'
outputs in the same run folder (``runs/<run-id>/NN_stage/``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from vaselib import params as vparams
from vaselib import runs

ORDER = list(vparams.STAGES)


def chained_parameters(stage: str, run_dir: str | Path) -> dict[str, Any]:
    """Parameters that wire ``stage`` to the earlier stages' outputs inside ``run_dir``."""
    d = Path(runs.display_path(run_dir))  # relative inside the workbook: reports stay portable
    out = {"output_dir": str(d / stage)}
    if stage == "02_classify":
        out["model_path"] = str(d / "01_resnet_train" / "best_image_quality_model.pth")
    elif stage == "03_clip_quality":
        out["input_dir"] = str(d / "02_classify" / "1")
    elif stage == "04_best_view":
        out["input_dir"] = str(d / "03_clip_quality" / "accepted")
    elif stage == "05_sft":
        out["images_dir"] = str(d / "04_best_view" / "best_views")
    elif stage == "06_grpo":
        out["sft_dir"] = str(d / "05_sft")
    elif stage == "07_merge":
        out["sft_dir"] = str(d / "05_sft")
        out["grpo_dir"] = str(d / "06_grpo")
    return out


def stage_parameters(stage: str, run_dir: str | Path) -> dict[str, Any]:
    """The validated parameters of ``stage`` in a full run inside ``run_dir``."""
    values = chained_parameters(stage, run_dir)
    vparams.validate(stage, values)
    return values
