"""Stage 02: sort a folder of photos into ``0/`` (low) and ``1/`` (high quality).

Images are decoded in DataLoader workers and classified in batches.  An image goes to
``1/`` when its probability of high quality is at least ``threshold`` (0.5 = the likelier
class; raise it to be stricter), otherwise to ``0/``.  Outputs keep each file's path
relative to the input folder, so equal names in different sub-folders never overwrite each
other.  A file that cannot be decoded is listed under ``failures`` with the reason and goes
to neither folder; the report checks that ``0/ + 1/ + failures = inputs``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


from vaselib import engines, outputs, runs, stages
from vaselib.engines import dispatch
from vaselib.devices import resolve_device
from vaselib.precision import resolve as precision_resolve
from vaselib.images import check_no_overlap, count_files, place_file, require_images
from vaselib.resnet import predict
from vaselib.resnet.model import load_checkpoint
from vaselib.resnet.params import ClassifyParams

STAGE = "02_classify"
REPORT_NAME = "classification_report.json"


@dataclass
class Prediction:
    file: str            # relative to the input folder
    predicted_class: int
    confidence: float    # probability of the predicted class
    prob_low: float
    prob_high: float


@dataclass
class ClassifyResult:
    predictions: list[Prediction]
    failures: list[dict[str, str]]
    counts: dict[str, int]
    ratios: dict[str, float]
    verified: bool
    output_dir: Path
    report: Path
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.counts["total"]


def decide(p_high: float, threshold: float) -> int:
    """1 (high quality) when P(high) ≥ threshold, else 0."""
    return int(p_high >= threshold)


def run(p: ClassifyParams, *, progress: bool = True) -> ClassifyResult:
    """Classify every image under ``input_dir`` and file it into ``0/`` or ``1/``."""
    with runs.timer() as clock:
        engines.require(p)
        device = resolve_device(p.device)
        notes: list[str] = []
        model_path = runs.input_path(p.model_path, "model_path",
                                     "a checkpoint of stage 01 (or of the original scripts)",
                                     kind="file")
        outputs.require_complete(model_path.parent, "model_path")
        src = runs.input_path(p.input_dir, "input_dir", "a folder of photos")
        outputs.require_complete(src, "input_dir")
        out = runs.resolve(p.output_dir or "")
        check_no_overlap(src, out)
        folder = outputs.StageOutputs(STAGE, p.output_dir, stages.get(STAGE).outputs)

        model, ckpt = load_checkpoint(model_path, device)
        image_size = int(ckpt.get("image_size", 224))  # the original trained at 224
        interpolation = ckpt.get("interpolation", "bilinear")
        found = require_images(src, recursive=p.recursive)
        paths = found.files
        chosen, why = precision_resolve(p.precision, device)
        model_key = (predict.checkpoint_sha256(model_path) if p.runtime == "onnxruntime"
                     else None)
        probs, failed = dispatch.predict_files(model, paths, image_size, device, p.batch_size,
                                              p.num_workers, progress, interpolation,
                                              max_pixels=p.max_image_pixels, params=p,
                                              model_path=model_path, precision=chosen,
                                              torch_compile=p.torch_compile,
                                              runtime=p.runtime, model_key=model_key)
        notes.append(f"precision {chosen} ({why})")
        if p.runtime != "torch":
            notes.append("classified by ONNX Runtime (fp32, CPU)")
        if p.torch_compile:
            notes.append(f"classified through torch.compile (batches of {p.batch_size})")
        predictions = []
        for i, path in enumerate(paths):
            if i not in probs:
                continue
            lo, hi = probs[i]
            cls = decide(hi, p.threshold)
            predictions.append(Prediction(
                file=found.relative(path), predicted_class=cls,
                confidence=round(hi if cls else lo, 6), prob_low=round(lo, 6),
                prob_high=round(hi, 6)))
        failures = [{"file": found.relative(paths[i]), "reason": why}
                    for i, why in sorted(failed.items())]
        n0 = sum(1 for x in predictions if x.predicted_class == 0)
        n1 = len(predictions) - n0
        with folder.staged() as staging:
            for x in predictions:
                place_file(src / x.file, src, staging / str(x.predicted_class), p.link_mode)
            on_disk = {c: count_files(staging / c) for c in "01"}
            verification = outputs.check_counts(
                STAGE, len(paths), len(failures),
                {"0": (n0, on_disk["0"]), "1": (n1, on_disk["1"])})
            counts = {"total": len(paths), "low_quality": n0, "high_quality": n1,
                      "failed": len(failures), "files_in_0": on_disk["0"],
                      "files_in_1": on_disk["1"]}
            ratios = {"low_quality": n0 / len(paths), "high_quality": n1 / len(paths),
                      "failed": len(failures) / len(paths)}
            result = ClassifyResult(predictions, failures, counts, ratios, True, out,
                                    out / REPORT_NAME, notes)
            runs.write_json(staging / REPORT_NAME, {
                "input_dir": runs.display_path(src), "output_dir": runs.display_path(out),
                "model": runs.display_path(model_path), "threshold": p.threshold,
                "precision": chosen, "precision_reason": why, "runtime": p.runtime,
                "decision": "1/ when P(high quality) >= threshold, else 0/; failures go to "
                            "neither",
                "counts": counts, "ratios": ratios, "verification": verification,
                "processing_time": round(clock.elapsed(), 2),
                "predictions": [x.__dict__ for x in predictions], "failures": failures,
                "skipped": found.skipped,
            })
            runs.write_summary(
                staging, STAGE, p,
                headline={"total": len(paths), "high_quality": n1, "low_quality": n0,
                          "failed": len(failures), "verified": True},
                inputs={"input_dir": src, "model_path": model_path},
                outputs={"high_quality_dir": out / "1", "low_quality_dir": out / "0",
                         "report": out / REPORT_NAME},
                seconds=clock.elapsed(), notes=notes)
    return result
