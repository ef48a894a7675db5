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

``filtering_report.json`` keeps every key of the original's report with its name, type and
shape (``input_directory``, ``output_directory``, ``total_images``, ``accepted_images``,
``rejected_images``, ``acceptance_rate``, ``threshold``, ``processing_time_seconds``,
``results[]`` with ``filename``, ``quality_score``, ``high_quality_similarity``,
``low_quality_similarity``, ``accepted``) and adds vaselib's beside them.  Outputs are
built in a staging folder and swapped in when complete; the files placed plus the failures
are counted against the inputs on disk before anything is committed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vaselib import engines, outputs, runs, stages
from vaselib.engines import dispatch
from vaselib.clip import recheck, scoring
from vaselib.clip.backends import (ClipBackend, load_backend, model_info,
                                   with_speed_options)
from vaselib.clip.embeddings import EmbeddedImages, default_cache_dir
from vaselib.clip.params import ClipQualityParams
from vaselib.devices import resolve_device
from vaselib.images import (DEFAULT_MAX_PIXELS, check_no_overlap, count_files, place_file,
                            require_images)

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
    prompt_average: str = "original"
    skipped: list[dict[str, str]] = field(default_factory=list)
    verification: dict[str, Any] = field(default_factory=dict)

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
                     acceptance_rate=round(self.accepted / max(1, self.total), 4),
                     verified=bool(self.verification))
        return h


def score_folder(backend: ClipBackend, root: Path, paths: list[Path], high_prompts, low_prompts,
                 *, cache_dir=None, batch_size=64, num_workers=0, progress=False,
                 prompt_average: str = "original",
                 max_pixels: int = DEFAULT_MAX_PIXELS, params=None) -> ScoredFolder:
    """Embed (through the cache) and score ``paths``; failures are listed, not scored.

    ``params`` (the stage's) choose the engine that embeds (:mod:`vaselib.engines`)."""
    emb: EmbeddedImages = dispatch.embed_files(
        backend, paths, params=params, cache_dir=cache_dir, batch_size=batch_size,
        num_workers=num_workers, progress=progress, max_pixels=max_pixels)
    ok = emb.ok
    high = scoring.encode_prompts(backend, high_prompts, prompt_average)
    low = scoring.encode_prompts(backend, low_prompts, prompt_average)
    s = scoring.clip_scores(emb.vectors[ok], high, low)
    rel = [str(p.relative_to(root)) if p.is_relative_to(root) else p.name for p in paths]
    failures = [{"file": rel[i], "reason": why} for i, why in emb.failures.items()]
    keep = np.flatnonzero(ok)
    return ScoredFolder(root, [rel[i] for i in keep], [paths[i] for i in keep], s.score,
                        s.sim_high, s.sim_low, failures, emb.stats, emb.notes)


def recheck_scores(backend: ClipBackend, scored: ScoredFolder, in_sample: np.ndarray,
                   p: ClipQualityParams, cache_dir: Path) -> recheck.Recheck:
    """Re-score in fp32 (:mod:`vaselib.clip.recheck`) the images of ``scored`` near the
    threshold — ``p.threshold``, or the 25th percentile of the analysis sample — updating
    their scores and similarities in place."""
    fp32 = backend.with_precision("fp32")
    high = scoring.encode_prompts(fp32, p.high_prompts, p.prompt_average)
    low = scoring.encode_prompts(fp32, p.low_prompts, p.prompt_average)

    def rescore(rows: np.ndarray) -> np.ndarray:
        emb = dispatch.embed_files(fp32, [scored.paths[i] for i in rows], params=p,
                                   cache_dir=cache_dir, batch_size=p.batch_size,
                                   num_workers=p.num_workers, progress=False,
                                   max_pixels=p.max_image_pixels)
        s = scoring.clip_scores(emb.vectors, high, low)
        ok = np.isfinite(s.score)
        scored.sim_high[rows[ok]] = s.sim_high[ok]
        scored.sim_low[rows[ok]] = s.sim_low[ok]
        return s.score

    if p.threshold is None:
        sample_rows = np.flatnonzero(in_sample)
        near = recheck.near_threshold(
            lambda s: recheck.percentile_pins(s, sample_rows, 25))
    else:
        near = recheck.near_threshold(lambda s: (float(p.threshold), np.array([], int)))
    cal = recheck.calibration_rows(len(scored.files), p.seed)
    new, _, check = recheck.near_decision(scored.score, rescore, near, cal,
                                          precision=backend.precision)
    scored.score[:] = new.astype(scored.score.dtype)
    return check


RULE = ("accepted when quality_score >= threshold; quality_score = cos(image, high prompts) "
        "- cos(image, low prompts)")


def original_report(result: QualityResult, src: Path, out: Path) -> dict[str, Any]:
    """The original's ``filtering_report.json`` keys, with their names, types and shapes."""
    sc = result.scored
    return {
        "input_directory": runs.display_path(src),
        "output_directory": runs.display_path(out),
        "total_images": result.total,
        "accepted_images": result.accepted,
        "rejected_images": result.rejected,
        "acceptance_rate": result.accepted / result.total if result.total else 0.0,
        "threshold": float(result.threshold),
        "processing_time_seconds": round(result.seconds, 2),
        "results": [
            {"filename": f, "quality_score": float(s), "high_quality_similarity": float(h),
             "low_quality_similarity": float(lo), "accepted": bool(a)}
            for f, s, h, lo, a in zip(sc.files, sc.score, sc.sim_high, sc.sim_low,
                                      result.accepted_mask)],
    }


def run(p: ClipQualityParams, *, progress: bool = True) -> QualityResult:
    """Score, analyse and (unless ``analyse_only``) filter the photos of ``input_dir``."""
    with runs.timer() as clock:
        engines.require(p)
        device = resolve_device(p.device)
        notes: list[str] = []
        src = runs.input_path(p.input_dir, "input_dir",
                              "a folder of photos (in a full run: stage 02's 1/)")
        outputs.require_complete(src, "input_dir")
        out = runs.resolve(p.output_dir or "")
        check_no_overlap(src, out)
        folder = outputs.StageOutputs(STAGE, p.output_dir, stages.get(STAGE).outputs)
        cache_dir = outputs.check_writable_dir(p.cache_dir or default_cache_dir(), "cache_dir")
        found = require_images(src, recursive=p.recursive)
        paths = found.files
        backend = load_backend(p.backend, p.model, p.pretrained, device, p.seed, p.precision,
                               rechecked=p.fp32_recheck and not p.analyse_only)
        backend = with_speed_options(backend, p, notes)
        sample = scoring.sample_indices(len(paths), p.sample_size, p.seed)
        # analyse_only embeds just the sample (fast first look at a big folder)
        to_score = [paths[i] for i in sample] if p.analyse_only else paths
        scored = score_folder(backend, src, to_score, p.high_prompts, p.low_prompts,
                              cache_dir=cache_dir, batch_size=p.batch_size,
                              num_workers=p.num_workers, progress=progress,
                              prompt_average=p.prompt_average, max_pixels=p.max_image_pixels,
                              params=p)
        notes += scored.notes
        if not scored.files:
            raise RuntimeError(f"none of the {len(to_score)} images in {src} could be read; "
                               f"see the failures: {scored.failures[:3]}")
        # the analysis sample, by file, among the scored images (seeded, as in analyse_only)
        sample_set = {str(paths[i]) for i in sample}
        in_sample = np.array([str(q) in sample_set for q in scored.paths])
        check = None
        if backend.precision != "fp32" and p.fp32_recheck and not p.analyse_only:
            check = recheck_scores(backend, scored, in_sample, p, cache_dir)
            notes.append(check.note("the threshold"))
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
        if check is not None:
            info["fp32_recheck"] = check.report()
        result = QualityResult(scored, analysis, threshold, source, mask, out,
                               out / (ANALYSIS_NAME if p.analyse_only else REPORT_NAME), info,
                               p.analyse_only, 0.0, notes, p.prompt_average, found.skipped)
        with folder.staged() as staging:
            if mask is not None:
                for path, keep in zip(scored.paths, mask):
                    if keep:
                        place_file(path, src, staging / "accepted", p.link_mode)
                    elif p.save_rejected:
                        place_file(path, src, staging / "rejected", p.link_mode)
                placed = {"accepted": (result.accepted, count_files(staging / "accepted"))}
                if p.save_rejected:
                    placed["rejected"] = (result.rejected, count_files(staging / "rejected"))
                result.verification = outputs.check_counts(
                    STAGE, len(paths), result.failed, placed,
                    unplaced=0 if p.save_rejected else result.rejected)
            result.seconds = clock.elapsed()
            _write_reports(result, p, src, out, staging, cache_dir)
    result.seconds = clock["seconds"]
    return result


def _write_reports(result: QualityResult, p: ClipQualityParams, src: Path, out: Path,
                   staging: Path, cache_dir: Path) -> None:
    sc = result.scored
    extras: dict[str, Any] = {
        "scored_images": len(sc.files), "threshold_source": result.threshold_source,
        "rule": RULE, "prompt_average": result.prompt_average, "model": result.model,
        "high_prompts": p.high_prompts, "low_prompts": p.low_prompts,
        "cache": {**sc.cache_stats, "cache_dir": runs.display_path(cache_dir)},
        "analysis": result.analysis, "failures": sc.failures, "skipped": result.skipped,
        "notes": result.notes,
    }
    if result.analyse_only:
        runs.write_json(staging / ANALYSIS_NAME, {
            "input_directory": runs.display_path(src), "output_directory": runs.display_path(out),
            "total_images": result.total, "threshold": float(result.threshold),
            "processing_time_seconds": round(result.seconds, 2), **extras})
    else:
        body = original_report(result, src, out)
        body.update({
            "failed_images": result.failed,
            "acceptance_rate_of_scored": result.accepted / max(1, len(sc.files)),
            "save_rejected": p.save_rejected, "link_mode": p.link_mode,
            "verification": result.verification, **extras})
        runs.write_json(staging / REPORT_NAME, body)
        runs.write_json(staging / ANALYSIS_NAME, {
            "threshold": result.threshold, "threshold_source": result.threshold_source,
            "prompt_average": result.prompt_average, "analysis": result.analysis,
            "model": result.model})
    outs = {"report": out / (ANALYSIS_NAME if result.analyse_only else REPORT_NAME),
            "analysis": out / ANALYSIS_NAME}
    if not result.analyse_only:
        outs["accepted_dir"] = out / "accepted"
        if p.save_rejected:
            outs["rejected_dir"] = out / "rejected"
    runs.write_summary(staging, STAGE, p, headline=result.headline(),
                       inputs={"input_dir": src, "model": result.model["model"],
                               "weights": result.model["weights"]},
                       outputs=outs, seconds=result.seconds, notes=result.notes)
