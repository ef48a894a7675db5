"""Stage 04: CLIP best-view selection — one photo per vase.

Files are grouped by vase with a regular expression on the file name (default
``<UUID>_<view>_ac001001.<ext>``, named groups ``vase_id`` and ``view``).  Per vase the view
whose image embedding is closest (cosine) to the normalised mean of the high-quality prompt
embeddings is kept; a vase with one view keeps it (``only_one_view``), otherwise the reason
is ``best_clip_score`` and all view scores are listed.  Embeddings come from the same cache
as stage 03, so after 03 no image is encoded again.  Files whose name does not match the
pattern are listed in the report (the original only warned), and unreadable files are
listed as failures.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vaselib import runs
from vaselib.clip import scoring
from vaselib.clip.backends import load_backend
from vaselib.clip.embeddings import default_cache_dir, embed_files
from vaselib.clip.params import BestViewParams
from vaselib.clip.backends import model_info
from vaselib.devices import resolve_device
from vaselib.images import check_no_overlap, clear_outputs, place_file, require_images

STAGE = "04_best_view"
REPORT_NAME = "best_views_report.json"
STATS_NAME = "filtering_stats.json"


@dataclass
class VaseChoice:
    vase_id: str
    selected_view: str
    selected_file: str          # relative to the input folder
    score: float
    total_views: int
    reason: str                 # only_one_view | best_clip_score
    all_view_scores: dict[str, float]
    files: dict[str, str]       # view -> file (relative)


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

    @property
    def vases(self) -> int:
        return len(self.choices)

    @property
    def selected(self) -> int:
        return len(self.choices)

    @property
    def mean_score(self) -> float:
        return float(np.mean([c.score for c in self.choices])) if self.choices else float("nan")

    def headline(self) -> dict[str, Any]:
        return {"images": self.total_images, "vases": self.vases,
                "best_views_selected": self.selected, "unmatched": len(self.unmatched),
                "failed": len(self.failures), "mean_score": round(self.mean_score, 4)}


def group_by_vase(files: list[str],
                  pattern: str) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
    """``{vase_id: [(view, file), ...]}`` in file order, and the names that did not match.

    The pattern is matched against the file name (not the folder); its ``view`` group is
    optional (default: the file stem).  Two files with the same vase and view (in different
    folders) keep both, the later one's view labelled by its relative path.
    """
    rx = re.compile(pattern)
    groups: dict[str, list[tuple[str, str]]] = {}
    unmatched: list[str] = []
    for f in files:
        m = rx.match(Path(f).name)
        if not m:
            unmatched.append(f)
            continue
        vid = m.group("vase_id")
        view = m.groupdict().get("view") or Path(f).stem
        views = groups.setdefault(vid, [])
        if any(v == view for v, _ in views):
            view = f
        views.append((view, f))
    return groups, unmatched


def choose_views(groups: dict[str, list[tuple[str, str]]],
                 score_of: dict[str, float]) -> list[VaseChoice]:
    """Per vase the view with the highest score (ties: the first file in sorted order)."""
    out = []
    for vid in sorted(groups):
        views = [(v, f) for v, f in groups[vid] if f in score_of]
        if not views:
            continue
        scores = [score_of[f] for _, f in views]
        best = int(np.argmax(scores))
        view, f = views[best]
        out.append(VaseChoice(
            vid, view, f, float(scores[best]), len(views),
            "only_one_view" if len(views) == 1 else "best_clip_score",
            {v: float(s) for (v, _), s in zip(views, scores)}, {v: fl for v, fl in views}))
    return out


def selection_stats(choices: list[VaseChoice], total_images: int, matched: int) -> dict[str, Any]:
    scores = np.array([c.score for c in choices], dtype=np.float64)
    dist = Counter(c.total_views for c in choices)
    return {
        "summary": {
            "total_images": total_images, "matched_images": matched,
            "total_vases": len(choices), "selected_images": len(choices),
            "vases_with_one_view": sum(c.reason == "only_one_view" for c in choices),
            "reduction_rate": 1 - len(choices) / matched if matched else 0.0,
            "retention_rate": len(choices) / matched if matched else 0.0,
        },
        "views_per_vase_distribution": {str(k): dist[k] for k in sorted(dist)},
        "score_stats": ({"min": float(scores.min()), "max": float(scores.max()),
                         "mean": float(scores.mean()), "std": float(scores.std())}
                        if len(scores) else {}),
    }


def run(p: BestViewParams, *, progress: bool = True) -> BestViewResult:
    """Group the photos of ``input_dir`` by vase and keep the best view of each."""
    with runs.timer() as clock:
        device = resolve_device(p.device)
        notes: list[str] = []
        src = runs.input_path(p.input_dir, "input_dir",
                              "a folder of photos (in a full run: stage 03's accepted/)")
        out = runs.resolve(p.output_dir)
        check_no_overlap(src, out)
        paths = require_images(src, recursive=p.recursive)
        rel = [str(q.relative_to(src)) for q in paths]
        groups, unmatched = group_by_vase(rel, p.pattern)
        if unmatched:
            notes.append(f"{len(unmatched)} file name(s) do not match the pattern and were not "
                         f"considered (listed under unmatched_files)")
        skip = set(unmatched)
        matched = [q for q, r in zip(paths, rel) if r not in skip]
        backend = load_backend(p.backend, p.model, p.pretrained, device, p.seed)
        cache_dir = runs.resolve(p.cache_dir) if p.cache_dir else default_cache_dir()
        emb = embed_files(backend, matched, cache_dir=cache_dir, batch_size=p.batch_size,
                          num_workers=p.num_workers, progress=progress)
        notes += emb.notes
        high = scoring.encode_prompts(backend, p.high_prompts)
        ok = emb.ok
        sims = emb.vectors[ok] @ high
        matched_rel = [str(q.relative_to(src)) for q in matched]
        score_of = {matched_rel[i]: float(s) for i, s in zip(np.flatnonzero(ok), sims)}
        failures = [{"file": matched_rel[i], "reason": why} for i, why in emb.failures.items()]
        choices = choose_views(groups, score_of)
        lost = [vid for vid in groups if not any(f in score_of for _, f in groups[vid])]
        if lost:
            notes.append(f"{len(lost)} vase(s) have no readable view: {', '.join(lost[:5])}")
        clear_outputs(out / "best_views")
        for c in choices:
            place_file(src / c.selected_file, src, out / "best_views", p.link_mode)
        info = model_info(backend)

    seconds = clock["seconds"]
    stats = selection_stats(choices, len(paths), len(matched))
    report = out / REPORT_NAME
    result = BestViewResult(choices, unmatched, failures, len(paths), src, out, report, stats,
                            info, seconds, notes)
    runs.write_json(report, {
        "input_dir": runs.display_path(src), "output_dir": runs.display_path(out),
        "total_images": len(paths), "matched_images": len(matched),
        "total_vases": len(choices), "selected_images": len(choices),
        "reduction_rate": stats["summary"]["reduction_rate"],
        "average_score": result.mean_score if choices else None,
        "processing_time": round(seconds, 2),
        "rule": "per vase, the view with the highest cosine between its image embedding and "
                "the normalised mean of the high-quality prompt embeddings",
        "pattern": p.pattern, "model": info, "high_prompts": p.high_prompts,
        "cache": {**emb.stats, "cache_dir": runs.display_path(cache_dir)},
        "selections": [
            {"vase_id": c.vase_id, "selected_view": c.selected_view,
             "selected_file": c.selected_file, "score": c.score, "total_views": c.total_views,
             "reason": c.reason, "all_view_scores": c.all_view_scores} for c in choices],
        "vases_without_readable_view": lost,
        "unmatched_files": unmatched, "failures": failures, "notes": notes,
    })
    runs.write_json(out / STATS_NAME, stats)
    runs.write_summary(out, STAGE, p, headline=result.headline(),
                       inputs={"input_dir": src, "model": info["model"],
                               "weights": info["weights"]},
                       outputs={"best_views_dir": out / "best_views", "report": report,
                                "stats": out / STATS_NAME},
                       seconds=seconds, notes=notes)
    return result
