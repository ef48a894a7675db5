"""Stage 03: the CLIP quality (fragment) filter.

Every photo under ``input_dir`` (recursively) is embedded with CLIP — decoded in DataLoader
workers, encoded in batches, cached on disk by file content and model — and scored as
cos(image, high prompts) − cos(image, low prompts).  A seeded sample of ``sample_size``
scores is analysed (mean, std, percentiles, keep-X % thresholds, histogram); with
``threshold=None`` the 25th percentile of that sample is taken (the original asked at a
prompt; here the choice is recorded in the report).  Photos with score ≥ threshold go to
``accepted/``, the others to ``rejected/``, keeping their relative paths.  A file that
cannot be decoded is listed under ``failures`` with its reason — never scored −1 and filed
as rejected, as the original did.

Because embeddings are cached, a rerun with another threshold or other prompts encodes no
image again: the widget and the headless run share :func:`scoring.apply_threshold`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vaselib import runs
from vaselib.clip import scoring
from vaselib.clip.backends import ClipBackend, load_backend, model_info
from vaselib.clip.embeddings import EmbeddedImages, default_cache_dir, embed_files
from vaselib.clip.params import ClipQualityParams
from vaselib.devices import resolve_device
from vaselib.images import check_no_overlap, clear_outputs, place_file, require_images

STAGE = "03_clip_quality"
REPORT_NAME = "filtering_report.json"
ANALYSIS_NAME = "score_analysis.json"


@dataclass
class ScoredFolder:
    """CLIP scores of every readable image of a folder (rows follow ``files``)."""

    root: Path
    files: list[str]             # relative to root, scored images only
    paths: list[Path]
    score: np.ndarray
    sim_high: np.ndarray
    sim_low: np.ndarray
    failures: list[dict[str, str]]
    cache_stats: dict[str, int]
    notes: list[str]


@dataclass
class QualityResult:
    scored: ScoredFolder
    analysis: dict[str, Any]
    threshold: float
    threshold_source: str        # "given" or "auto: p25 of the analysis sample"
    accepted_mask: np.ndarray | None
    output_dir: Path
    report: Path
    model: dict[str, Any]
    analyse_only: bool
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.scored.files) + len(self.scored.failures)

    @property
    def accepted(self) -> int | None:
        return None if self.accepted_mask is None else int(self.accepted_mask.sum())

    @property
    def rejected(self) -> int | None:
        return None if self.accepted_mask is None else int((~self.accepted_mask).sum())

    @property
    def failed(self) -> int:
        return len(self.scored.failures)

    @property
    def scores(self) -> np.ndarray:
        return self.scored.score

    def headline(self) -> dict[str, Any]:
        h = {"total": self.total, "scored": len(self.scored.files), "failed": self.failed,
             "threshold": round(self.threshold, 4), "threshold_source": self.threshold_source}
        if not self.analyse_only:
            h.update(accepted=self.accepted, rejected=self.rejected,
                     acceptance_rate=round(self.accepted / max(1, len(self.scored.files)), 4))
        return h


def score_folder(backend: ClipBackend, root: Path, paths: list[Path], high_prompts, low_prompts,
                 *, cache_dir=None, batch_size=64, num_workers=0,
                 progress=False) -> ScoredFolder:
    """Embed (through the cache) and score ``paths``; failures are listed, not scored."""
    emb: EmbeddedImages = embed_files(backend, paths, cache_dir=cache_dir, batch_size=batch_size,
                                      num_workers=num_workers, progress=progress)
    ok = emb.ok
    high = scoring.encode_prompts(backend, high_prompts)
    low = scoring.encode_prompts(backend, low_prompts)
    s = scoring.clip_scores(emb.vectors[ok], high, low)
    rel = [str(p.relative_to(root)) if p.is_relative_to(root) else p.name for p in paths]
    failures = [{"file": rel[i], "reason": why} for i, why in emb.failures.items()]
    keep = np.flatnonzero(ok)
    return ScoredFolder(root, [rel[i] for i in keep], [paths[i] for i in keep], s.score,
                        s.sim_high, s.sim_low, failures, emb.stats, emb.notes)


def run(p: ClipQualityParams, *, progress: bool = True) -> QualityResult:
    """Score, analyse and (unless ``analyse_only``) filter the photos of ``input_dir``."""
    with runs.timer() as clock:
        device = resolve_device(p.device)
        notes: list[str] = []
        src = runs.input_path(p.input_dir, "input_dir",
                              "a folder of photos (in a full run: stage 02's 1/)")
        out = runs.resolve(p.output_dir)
        check_no_overlap(src, out)
        paths = require_images(src, recursive=p.recursive)
        backend = load_backend(p.backend, p.model, p.pretrained, device, p.seed)
        cache_dir = runs.resolve(p.cache_dir) if p.cache_dir else default_cache_dir()
        sample = scoring.sample_indices(len(paths), p.sample_size, p.seed)
        # analyse_only embeds just the sample (fast first look at a big folder)
        to_score = [paths[i] for i in sample] if p.analyse_only else paths
        scored = score_folder(backend, src, to_score, p.high_prompts, p.low_prompts,
                              cache_dir=cache_dir, batch_size=p.batch_size,
                              num_workers=p.num_workers, progress=progress)
        notes += scored.notes
        if not scored.files:
            raise RuntimeError(f"none of the {len(to_score)} images in {src} could be read; "
                               f"see the failures: {scored.failures[:3]}")
        # the analysis sample, by file, among the scored images (seeded, as in analyse_only)
        sample_set = {str(paths[i]) for i in sample}
        in_sample = np.array([str(q) in sample_set for q in scored.paths])
        analysis = scoring.analyse(scored.score[in_sample], bins=p.histogram_bins)
        analysis["sample_size"] = int(in_sample.sum())
        analysis["sampled_from"] = len(paths)
        if p.threshold is None:
            threshold = scoring.auto_threshold(analysis)
            source = "auto: 25th percentile of the analysis sample (keeps ~75 %)"
            notes.append(f"no threshold given: took the 25th percentile of the analysis "
                         f"sample, {threshold:.4f}")
        else:
            threshold, source = float(p.threshold), "given"
        if not p.analyse_only:
            analysis["all_images"] = scoring.analyse(scored.score, bins=p.histogram_bins)
        mask = None if p.analyse_only else scoring.apply_threshold(scored.score, threshold)
        info = model_info(backend)

        for sub in ("accepted", "rejected"):   # rebuilt each run: reruns are idempotent
            clear_outputs(out / sub)
        if mask is not None:
            for path, keep in zip(scored.paths, mask):
                if keep:
                    place_file(path, src, out / "accepted", p.link_mode)
                elif p.save_rejected:
                    place_file(path, src, out / "rejected", p.link_mode)

    seconds = clock["seconds"]
    report = out / (ANALYSIS_NAME if p.analyse_only else REPORT_NAME)
    result = QualityResult(scored, analysis, threshold, source, mask, out, report, info,
                           p.analyse_only, seconds, notes)
    body: dict[str, Any] = {
        "input_dir": runs.display_path(src), "output_dir": runs.display_path(out),
        "total_images": result.total, "scored_images": len(scored.files),
    }
    if not p.analyse_only:
        body.update({
            "accepted_images": result.accepted, "rejected_images": result.rejected,
            "failed_images": result.failed,
            "acceptance_rate": result.accepted / len(scored.files),
            "acceptance_rate_note": "accepted / scored images (failures are neither)",
        })
    body.update({
        "threshold": threshold, "threshold_source": source,
        "rule": "accepted when quality_score >= threshold; quality_score = "
                "cos(image, mean high prompt) - cos(image, mean low prompt)",
        "processing_time": round(seconds, 2),
        "model": info, "high_prompts": p.high_prompts, "low_prompts": p.low_prompts,
        "cache": {**scored.cache_stats, "cache_dir": runs.display_path(cache_dir)},
        "analysis": analysis,
    })
    if not p.analyse_only:
        body["save_rejected"] = p.save_rejected
        body["link_mode"] = p.link_mode
        body["results"] = [
            {"filename": f, "quality_score": float(s), "high_quality_similarity": float(h),
             "low_quality_similarity": float(lo), "accepted": bool(a)}
            for f, s, h, lo, a in zip(scored.files, scored.score, scored.sim_high,
                                      scored.sim_low, mask)]
    body["failures"] = scored.failures
    body["notes"] = notes
    runs.write_json(report, body)
    if p.analyse_only:
        (out / REPORT_NAME).unlink(missing_ok=True)  # a stale filter report would mislead
    else:
        runs.write_json(out / ANALYSIS_NAME, {
            "threshold": threshold, "threshold_source": source, "analysis": analysis,
            "model": info})
    outputs = {"report": report, "analysis": out / ANALYSIS_NAME}
    if not p.analyse_only:
        outputs["accepted_dir"] = out / "accepted"
        if p.save_rejected:
            outputs["rejected_dir"] = out / "rejected"
    runs.write_summary(out, STAGE, p, headline=result.headline(),
                       inputs={"input_dir": src, "model": info["model"],
                               "weights": info["weights"]},
                       outputs=outputs, seconds=seconds, notes=notes)
    return result
