"""Stage 08: caption held-out vases with each model and evaluate the captions.

Models come from stage 07's output folder (``merge_dir``: its base model, merged SFT model
and GRPO model) or from ``models``; each captions the ground truth's images greedily, in
batches (:func:`vaselib.vlm.captioning.caption_batch`), into ``image_<model>.json`` in the
original's generated-records format.  Caption files made elsewhere (``generated``) are
evaluated as they are.  :func:`vaselib.evaluation.compare_models` then computes the
original's metrics (same names and definitions) and vaselib's additions — N and bootstrap
intervals, per-attribute accuracy from the reward's parser, the mean ``external_vase_acc``,
BLEU/ROUGE-L/CIDEr-D, the image-grounded CLIPScore with the same CLIP, paired differences
between models — into
``evaluation_report.json`` and the Markdown report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaselib import outputs, runs, stages
from vaselib.evaluation.params import EvaluateParams

STAGE = "08_evaluate"
HEADLINE_METRICS = ("attributes.external_vase_acc", "attributes.technique", "attributes.shape",
                    "attributes.fabric", "attributes.dating", "r_at_10", "lexical_similarity")


@dataclass
class EvaluationResult:
    output_dir: Path
    report: dict[str, Any]
    files: dict[str, Path]                  # model name -> generated-records file
    ground_truth: Path
    captions: dict[str, list[str]] = field(default_factory=dict)
    images: list[Path] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)   # name -> folder

    def value(self, model: str, metric: str) -> float | None:
        entry = self.report["models"][model]
        group, _, name = metric.partition(".")
        if name:
            return entry[group][name]["value"]
        return entry[metric]

    def headline(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pairs": None}
        for name, entry in self.report["models"].items():
            out["pairs"] = entry["metadata"]["total_pairs"]
            for metric in HEADLINE_METRICS:
                v = self.value(name, metric)
                out[f"{name} {metric.split('.')[-1]}"] = None if v is None else round(v, 4)
        for c in self.report["comparisons"]:
            d = c["differences"].get("attributes.external_vase_acc")
            if d:
                out[f"{c['model_a']} − {c['model_b']} reward"] = round(d["difference"], 4)
        return out


def _models(p: EvaluateParams) -> dict[str, str]:
    """Model name -> folder: ``models`` (with ``model_names``), else stage 07's three."""
    if p.models is not None:
        names = p.model_names or [Path(m).name for m in p.models]
        return {n: str(runs.input_path(m, "models", "a Qwen2.5-VL model folder"))
                for n, m in zip(names, p.models)}
    if p.merge_dir is None:
        from vaselib.stages import ParameterError

        raise ParameterError("nothing to evaluate: give merge_dir (stage 07's output), models "
                             "(model folders) or generated (caption files)")
    summary = runs.read_summary(runs.resolve(p.merge_dir))
    outputs.require_complete(p.merge_dir, "merge_dir")
    base = summary["inputs"]["base_model"]
    found = {"base": base, "SFT": summary["outputs"]["merged"]}
    if summary["outputs"].get("grpo_model"):
        found["GRPO"] = summary["outputs"]["grpo_model"]
    return {n: str(runs.resolve(m)) for n, m in found.items()}


def _images_and_references(ground_truth: Path) -> tuple[list[Path], list[str]]:
    recs = runs.read_json(ground_truth)
    if not isinstance(recs, list) or not recs:
        raise ValueError(f"ground_truth {runs.display_path(ground_truth)} must hold a JSON "
                         f"list of {{images, caption}} records")
    images, refs = [], []
    for i, r in enumerate(recs):
        if not isinstance(r, dict) or not r.get("images") or not isinstance(r.get("caption"), str):
            raise ValueError(f"ground_truth {runs.display_path(ground_truth)}[{i}] is not an "
                             f"{{images: [...], caption: '...'}} record")
        images.append((ground_truth.parent / r["images"][0]).resolve())
        refs.append(r["caption"])
    return images, refs


def run(p: EvaluateParams, *, progress: bool = True) -> EvaluationResult:
    """Caption (unless ``generated``), evaluate, write the reports."""
    from vaselib.clip.backends import load_backend
    from vaselib.devices import resolve_device
    from vaselib.evaluation import compare_models, plots, write_report
    from vaselib.evaluation.encoders import (
        ClipImageFeatures,
        ClipTextFeatures,
        SentenceEmbeddings,
    )
    from vaselib.evaluation.records import image_id
    from vaselib.vlm.captioning import caption_batch, write_generated

    gt = runs.input_path(p.ground_truth, "ground_truth",
                         "a JSON list of {images, caption} ground-truth records", kind="file")
    folder = outputs.StageOutputs(STAGE, p.output_dir, stages.get(STAGE).outputs)
    out = folder.folder
    with runs.timer() as clock, folder.staged() as staging:
        seconds: dict[str, float] = {}
        files: dict[str, Path] = {}
        captions: dict[str, list[str]] = {}
        images, refs = _images_and_references(gt)
        models: dict[str, str] = {}
        if p.generated:
            for g in p.generated:
                path = runs.input_path(g, "generated", "a caption file", kind="file")
                name = path.stem[len("image_"):] if path.stem.startswith("image_") else path.stem
                files[name] = path
        else:
            models = _models(p)
            for name, model in models.items():
                c = caption_batch(model, images, max_new_tokens=p.max_new_tokens,
                                  batch_size=p.batch_size, max_pixels=p.max_pixels,
                                  progress=progress)
                captions[name] = c.captions
                seconds[f"captions {name}"] = round(c.seconds, 1)
                files[name] = write_generated(staging / f"image_{name}.json", images,
                                              c.captions)
        with runs.timer() as t:
            clip = load_backend(p.clip_backend, p.clip_model, p.clip_pretrained,
                                resolve_device("cpu"), p.seed)
            if p.sentence_model is None:
                sentences = SentenceEmbeddings.offline_minilm()
            else:
                from sentence_transformers import SentenceTransformer

                model_path = runs.input_path(p.sentence_model, "sentence_model",
                                             "a sentence-transformers folder")
                sentences = SentenceEmbeddings(SentenceTransformer(str(model_path),
                                                                   device="cpu"))
            grounding = ClipImageFeatures(clip, {image_id(i.name): i for i in images})
            report = compare_models(files, gt, text_features=ClipTextFeatures(clip),
                                    sentence_embeddings=sentences, similarity=p.similarity,
                                    n_boot=p.n_boot, seed=p.seed, baseline=p.baseline,
                                    image_features=grounding)
        seconds["scoring"] = round(t["seconds"], 1)
        report["inputs"] = {"ground_truth": runs.display_path(gt),
                            "models": {k: runs.display_path(v) for k, v in models.items()},
                            "clip": f"{p.clip_model} ({p.clip_pretrained})",
                            "descriptions": {k: _describe(v) for k, v in models.items()}}
        write_report(report, staging)
        plots.metrics_bar_chart(report).savefig(staging / "metrics.png", dpi=110)
        result = EvaluationResult(out, report, {k: out / v.name if v.parent == staging else v
                                                for k, v in files.items()}, gt, captions,
                                  images, refs, seconds, models)
        runs.write_summary(staging, STAGE, p, result.headline(),
                           inputs={"ground_truth": gt, **{f"model {k}": v
                                                          for k, v in models.items()}},
                           outputs={"report": out / "evaluation_report.json",
                                    "markdown": out / "evaluation_report.md",
                                    **{f"captions {k}": v for k, v in result.files.items()}},
                           seconds=clock.elapsed())
    return result


def _describe(model: str) -> str | None:
    from vaselib.vlm.swift_run import model_description

    return model_description(model)
