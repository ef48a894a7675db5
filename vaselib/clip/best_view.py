"""Stage 04: CLIP best-view selection — one photo per vase.

Files are grouped by vase with a regular expression on the file name (default: the
original's ``<id>_<view>_ac001001`` pattern, case-insensitive, any image extension; see
:mod:`vaselib.filenames`).  Per vase the view whose image embedding is closest (cosine) to
the high-quality prompt embedding (the 8 prompts, averaged the original's way) is kept; a
vase with one view keeps it (``only_one_view``), otherwise the reason is
``best_clip_score`` and all view scores are listed.  Embeddings come from the same cache as
stage 03, so after 03 no image is encoded again.  Files whose name does not match the
pattern are listed in the report (the original only warned); when *no* name matches, the
stage stops before any work with the pattern and the first names.

``best_views_report.json`` and ``filtering_stats.json`` keep every key of the original's
reports with its name, type and shape; vaselib's extras sit beside them.  Outputs are
staged and swapped in when complete, after the files are counted against the inputs.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vaselib import engines, filenames, outputs, runs, stages
from vaselib.engines import dispatch
from vaselib.clip import recheck, scoring
from vaselib.clip.backends import load_backend, model_info, with_speed_options
from vaselib.clip.embeddings import default_cache_dir
from vaselib.clip.params import BestViewParams
from vaselib.devices import resolve_device
from vaselib.images import check_no_overlap, count_files, place_file, require_images

STAGE = "04_best_view"
REPORT_NAME = "best_views_report.json"
STATS_NAME = "filtering_stats.json"
RULE = ("per vase, the view with the highest cosine between its image embedding and the "
        "high-quality prompt embedding")


@dataclass
class ViewScore:
    view_number: int | str      # an int with the original's pattern
    filename: str               # relative to the input folder
    clip_score: float


@dataclass
class VaseChoice:
    vase_id: str
    views: list[ViewScore]      # every readable view, in file order
    best: int                   # index into views

    @property
    def selected(self) -> ViewScore:
        return self.views[self.best]

    @property
    def selected_view(self) -> int | str:
        return self.selected.view_number

    @property
    def selected_file(self) -> str:
        return self.selected.filename

    @property
    def score(self) -> float:
        return self.selected.clip_score

    @property
    def total_views(self) -> int:
        return len(self.views)

    @property
    def reason(self) -> str:
        return "only_one_view" if len(self.views) == 1 else "best_clip_score"

    def original(self) -> dict[str, Any]:
        """This vase as a ``results[]`` entry of the original's report."""
        return {"vase_id": self.vase_id, "selected_view": self.selected_view,
                "selected_filename": Path(self.selected_file).name,
                "clip_score": self.score, "total_views": self.total_views,
                "reason": self.reason,
                "all_view_scores": [{"view_number": v.view_number,
                                     "filename": Path(v.filename).name,
                                     "clip_score": v.clip_score} for v in self.views]}


@dataclass
class BestViewResult:
    choices: list[VaseChoice]
    unmatched: list[str]
    failures: list[dict[str, str]]
    total_images: int
    input_dir: Path
    output_dir: Path
    report: Path
    stats: dict[str, Any]
    model: dict[str, Any]
    seconds: float
    notes: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    verification: dict[str, Any] = field(default_factory=dict)

    @property
    def vases(self) -> int:
        return len(self.choices)

    @property
    def selected(self) -> int:
        return len(self.choices)

    @property
    def matched(self) -> int:
        return self.total_images - len(self.unmatched)

    @property
    def mean_score(self) -> float:
        return float(np.mean([c.score for c in self.choices])) if self.choices else float("nan")

    def headline(self) -> dict[str, Any]:
        return {"images": self.total_images, "vases": self.vases,
                "best_views_selected": self.selected, "unmatched": len(self.unmatched),
                "failed": len(self.failures), "mean_score": round(self.mean_score, 4),
                "verified": bool(self.verification)}


def group_by_vase(files: list[str], pattern: str
                  ) -> tuple[dict[str, list[tuple[int | str, str]]], list[str]]:
    """``{vase_id: [(view, file), ...]}`` in file order, and the names that did not match.

    The pattern is matched against the file name (not its folder).
    """
    rx = filenames.compile_pattern(pattern)
    groups: dict[str, list[tuple[int | str, str]]] = {}
    unmatched: list[str] = []
    for f in files:
        name = filenames.parse_view_name(f, rx)
        if name is None:
            unmatched.append(f)
            continue
        groups.setdefault(name.vase_id, []).append((name.view, f))
    return groups, unmatched


def choose_views(groups: dict[str, list[tuple[int | str, str]]],
                 score_of: dict[str, float]) -> list[VaseChoice]:
    """Per vase the view with the highest score (ties: the first file in sorted order)."""
    out = []
    for vid in sorted(groups):
        views = [ViewScore(v, f, float(score_of[f])) for v, f in groups[vid] if f in score_of]
        if not views:
            continue
        best = int(np.argmax([v.clip_score for v in views]))
        out.append(VaseChoice(vid, views, best))
    return out


def selection_stats(choices: list[VaseChoice], matched: int, seconds: float) -> dict[str, Any]:
    """``filtering_stats.json``: the original's keys and string formats."""
    scores = np.array([c.score for c in choices], dtype=np.float64)
    dist = Counter(c.total_views for c in choices)
    reduction = 1 - len(choices) / matched if matched else 0.0
    return {
        "summary": {
            "total_vases": len(choices), "original_images": matched,
            "selected_images": len(choices), "reduction_rate": f"{100 * reduction:.1f}%",
            "average_clip_score": f"{scores.mean():.4f}" if len(scores) else "nan",
            "processing_time_minutes": f"{seconds / 60:.1f}",
        },
        "view_distribution": {str(k): dist[k] for k in sorted(dist)},
        "clip_score_stats": ({"min": float(scores.min()), "max": float(scores.max()),
                              "mean": float(scores.mean()), "std": float(scores.std())}
                             if len(scores) else {}),
    }


def recheck_best(backend, sims: np.ndarray, paths: list[Path], vase_rows: list[np.ndarray],
                 p: BestViewParams, cache_dir: Path):
    """``(sims, Recheck)``: the reduced-precision ``sims`` with fp32 values for every view
    that could be its vase's best within the measured error (:mod:`vaselib.clip.recheck`)."""
    fp32 = backend.with_precision("fp32")
    high = scoring.encode_prompts(fp32, p.high_prompts, p.prompt_average)

    def rescore(rows: np.ndarray) -> np.ndarray:
        emb = dispatch.embed_files(fp32, [paths[i] for i in rows], params=p,
                                   cache_dir=cache_dir, batch_size=p.batch_size,
                                   num_workers=p.num_workers, progress=False,
                                   max_pixels=p.max_image_pixels)
        return emb.vectors @ high

    cal = recheck.calibration_rows(len(sims), p.seed)
    new, _, check = recheck.near_decision(sims, rescore, recheck.near_best(vase_rows), cal,
                                          precision=backend.precision)
    return new.astype(sims.dtype), check


def run(p: BestViewParams, *, progress: bool = True) -> BestViewResult:
    """Group the photos of ``input_dir`` by vase and keep the best view of each."""
    with runs.timer() as clock:
        engines.require(p)
        device = resolve_device(p.device)
        notes: list[str] = []
        src = runs.input_path(p.input_dir, "input_dir",
                              "a folder of photos (in a full run: stage 03's accepted/)")
        outputs.require_complete(src, "input_dir")
        out = runs.resolve(p.output_dir or "")
        check_no_overlap(src, out)
        folder = outputs.StageOutputs(STAGE, p.output_dir, stages.get(STAGE).outputs)
        cache_dir = outputs.check_writable_dir(p.cache_dir or default_cache_dir(), "cache_dir")
        found = require_images(src, recursive=p.recursive)
        paths = found.files
        rel = [found.relative(q) for q in paths]
        rx = filenames.compile_pattern(p.pattern)
        filenames.check_matches(rel, rx)
        groups, unmatched = group_by_vase(rel, p.pattern)
        if unmatched:
            notes.append(f"{len(unmatched)} file name(s) do not match the pattern and were not "
                         f"considered (listed under unmatched_files)")
        skip = set(unmatched)
        matched = [q for q, r in zip(paths, rel) if r not in skip]
        backend = load_backend(p.backend, p.model, p.pretrained, device, p.seed, p.precision,
                               rechecked=p.fp32_recheck)
        backend = with_speed_options(backend, p, notes)
        emb = dispatch.embed_files(backend, matched, params=p, cache_dir=cache_dir,
                                  batch_size=p.batch_size, num_workers=p.num_workers,
                                  progress=progress, max_pixels=p.max_image_pixels)
        notes += emb.notes
        high = scoring.encode_prompts(backend, p.high_prompts, p.prompt_average)
        ok = emb.ok
        sims = emb.vectors[ok] @ high
        matched_rel = [found.relative(q) for q in matched]
        check = None
        if backend.precision != "fp32" and p.fp32_recheck:
            scored_paths = [matched[i] for i in np.flatnonzero(ok)]
            row_of = {matched_rel[i]: r for r, i in enumerate(np.flatnonzero(ok))}
            vase_rows = [np.array([row_of[f] for _, f in views if f in row_of], dtype=np.int64)
                         for views in groups.values()]
            sims, check = recheck_best(backend, sims, scored_paths, vase_rows, p, cache_dir)
            notes.append(check.note("each vase's best view"))
        score_of = {matched_rel[i]: float(s) for i, s in zip(np.flatnonzero(ok), sims)}
        failures = [{"file": matched_rel[i], "reason": why} for i, why in emb.failures.items()]
        choices = choose_views(groups, score_of)
        lost = [vid for vid in groups if not any(f in score_of for _, f in groups[vid])]
        if lost:
            notes.append(f"{len(lost)} vase(s) have no readable view: {', '.join(lost[:5])}")
        info = model_info(backend)
        if check is not None:
            info["fp32_recheck"] = check.report()
        report = out / REPORT_NAME
        result = BestViewResult(choices, unmatched, failures, len(paths), src, out, report, {},
                                info, 0.0, notes, found.skipped)
        with folder.staged() as staging:
            for c in choices:
                place_file(src / c.selected_file, src, staging / "best_views", p.link_mode)
            not_chosen = len(matched) - len(failures) - len(choices)
            result.verification = outputs.check_counts(
                STAGE, len(paths), len(failures),
                {"best_views": (len(choices), count_files(staging / "best_views"))},
                unplaced=not_chosen + len(unmatched))
            result.seconds = clock.elapsed()
            result.stats = selection_stats(choices, len(matched), result.seconds)
            _write_reports(result, p, staging, cache_dir, emb.stats, lost)
    result.seconds = clock["seconds"]
    return result


def _write_reports(result: BestViewResult, p: BestViewParams, staging: Path, cache_dir: Path,
                   cache_stats: dict[str, int], lost: list[str]) -> None:
    src, out, choices = result.input_dir, result.output_dir, result.choices
    matched = result.matched
    runs.write_json(staging / REPORT_NAME, {
        # the original's keys
        "input_directory": runs.display_path(src), "output_directory": runs.display_path(out),
        "processing_time_seconds": round(result.seconds, 2),
        "total_vases": len(choices), "total_original_images": matched,
        "total_selected_images": len(choices),
        "reduction_rate": 1 - len(choices) / matched if matched else 0.0,
        "average_clip_score": result.mean_score if choices else None,
        "results": [c.original() for c in choices],
        # vaselib's
        "total_images": result.total_images, "rule": RULE, "pattern": p.pattern,
        "prompt_average": p.prompt_average, "model": result.model,
        "high_prompts": p.high_prompts,
        "cache": {**cache_stats, "cache_dir": runs.display_path(cache_dir)},
        "selected_files": {c.vase_id: c.selected_file for c in choices},
        "vases_without_readable_view": lost, "unmatched_files": result.unmatched,
        "failures": result.failures, "skipped": result.skipped,
        "verification": result.verification, "notes": result.notes,
    })
    runs.write_json(staging / STATS_NAME, result.stats)
    runs.write_summary(staging, STAGE, p, headline=result.headline(),
                       inputs={"input_dir": src, "model": result.model["model"],
                               "weights": result.model["weights"]},
                       outputs={"best_views_dir": out / "best_views",
                                "report": out / REPORT_NAME, "stats": out / STATS_NAME},
                       seconds=result.seconds, notes=result.notes)
