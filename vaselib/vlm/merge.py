"""Stage 07: merge LoRA into its base model, caption one image with each model, optionally
export to Megatron-Core.

The adapters are ``adapters`` or the final checkpoint recorded by stage 05 in ``sft_dir``;
the merge itself is :func:`vaselib.vlm.lora.merge_lora` (``swift export --merge_lora``,
idempotent).  With ``grpo_dir`` the GRPO model of stage 06 is captioned too and becomes
the exported model (a LoRA GRPO checkpoint is merged first).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaselib import outputs, runs, stages
from vaselib.vlm.lora import changed_tensors, is_adapter, merge_lora, parameter_count

STAGE = "07_merge"


@dataclass
class MergeResult:
    output_dir: Path
    merged: Path
    reused: bool
    adapters: Path
    base_model: str
    final_model: Path
    grpo_model: Path | None
    image: Path | None
    reference: str | None
    captions: dict[str, str]
    merged_parameters: int
    changed_tensors: int | None
    mcore: Path | None
    mcore_status: str
    seconds: float = 0.0

    def headline(self) -> dict[str, Any]:
        return {"merged_parameters_m": round(self.merged_parameters / 1e6, 2),
                "changed_tensors": self.changed_tensors,
                "models_captioned": len(self.captions),
                "grpo_model": self.grpo_model is not None,
                "mcore_exported": self.mcore is not None}


def _first_example(sft_dir: Path | None) -> tuple[Path | None, str | None]:
    """The first training image of stage 05 and its caption (None when there is none)."""
    from vaselib.vlm import data as vdata

    if sft_dir is None:
        return None, None
    path = outputs.recorded_output(sft_dir, "sft_data", "05_sft", param="sft_dir")
    rows = vdata.read_jsonl(path)
    if not rows:
        return None, None
    answer = [m["content"] for m in rows[0]["messages"] if m["role"] == "assistant"]
    return Path(rows[0]["images"][0]), (answer[-1] if answer else None)


def run(p, *, progress: bool = True) -> MergeResult:
    """Stage 07: merge, caption one image with base vs merged (vs GRPO), optional to_mcore."""
    from vaselib.stages import ParameterError
    from vaselib.vlm import infer, megatron

    if p.to_mcore:  # fail before any work when this machine cannot convert
        megatron.require_environment()
    folder = outputs.StageOutputs(STAGE, p.output_dir, stages.get(STAGE).outputs)
    out = folder.folder
    sft_dir = runs.input_path(p.sft_dir, "sft_dir", "stage 05's output folder") \
        if p.sft_dir else None
    if p.adapters is not None:
        adapters = runs.input_path(p.adapters, "adapters", "a LoRA checkpoint folder")
    elif sft_dir is not None:
        adapters = outputs.recorded_output(sft_dir, "final_checkpoint", "05_sft", param="sft_dir")
    else:
        raise ParameterError("neither adapters nor sft_dir is set: give a LoRA checkpoint "
                             "folder (adapters) or stage 05's output folder (sft_dir)")
    for name, value in (("sft_dir", sft_dir), ("adapters", adapters), ("grpo_dir", p.grpo_dir)):
        if value:
            outputs.require_complete(value, name)
    folder.begin_in_place(keep_previous=True)   # merged/ is reused when its inputs match
    with runs.timer() as t:
        merged = merge_lora(adapters, out / "merged", p.base_model, p.torch_dtype,
                            work_dir=out, progress=progress)
        final_model, grpo_model = merged.path, None
        if p.grpo_dir is not None:
            ckpt = outputs.recorded_output(p.grpo_dir, "final_checkpoint", "06_grpo",
                                        param="grpo_dir")
            if is_adapter(ckpt):
                grpo_model = merge_lora(ckpt, out / "merged_grpo", None, p.torch_dtype,
                                        work_dir=out, progress=progress).path
            else:
                grpo_model = ckpt
            final_model = grpo_model
        image, reference = ((runs.resolve(p.image), None) if p.image is not None
                            else _first_example(sft_dir))
        captions: dict[str, str] = {}
        if image is not None:
            models = {"base": merged.base_model, "merged SFT": merged.path}
            if grpo_model is not None:
                models["GRPO"] = grpo_model
            for name, model_dir in models.items():
                captions[name] = infer.caption_images(
                    model_dir, [image], p.max_new_tokens, p.seed, max_pixels=p.max_pixels)[0]
        base_local = runs.resolve(merged.base_model)
        n_changed = changed_tensors(base_local, merged.path) if base_local.exists() else None
        mcore = None
        if p.to_mcore:
            mdir = out / "mcore"
            if mdir.exists():
                shutil.rmtree(mdir)
            mcore = megatron.to_mcore(final_model, mdir, p.torch_dtype,
                                      p.test_convert_precision, work_dir=out,
                                      progress=progress).path
        status = (f"exported to {runs.display_path(mcore)}" if mcore is not None
                  else megatron.environment_report())
    result = MergeResult(
        output_dir=out, merged=merged.path, reused=merged.reused, adapters=adapters,
        base_model=merged.base_model, final_model=final_model, grpo_model=grpo_model,
        image=image, reference=reference, captions=captions,
        merged_parameters=parameter_count(merged.path), changed_tensors=n_changed,
        mcore=mcore, mcore_status=status, seconds=t["seconds"])
    runs.write_json(out / "captions.json", {"image": image, "reference": reference,
                                            "captions": captions,
                                            "max_new_tokens": p.max_new_tokens})
    runs.write_summary(
        out, STAGE, p, result.headline(),
        outputs={"merged": merged.path, "final_model": final_model, "grpo_model": grpo_model,
                 "mcore": mcore, "captions": out / "captions.json"},
        inputs={"adapters": adapters, "base_model": merged.base_model, "sft_dir": sft_dir,
                "grpo_dir": runs.resolve(p.grpo_dir) if p.grpo_dir else None},
        seconds=t["seconds"],
        notes=[status] + (["merge reused: the merged folder already matched these inputs"]
                          if merged.reused else []))
    folder.finish_in_place()
    return result
