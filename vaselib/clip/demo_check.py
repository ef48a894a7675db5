"""How well a CLIP setting separates intact vases from fragments on the demo corpus.

Stage 03 is run on the demo corpus' good photos and stage 04 on its good photos of intact
vases, with the given parameters; the corpus' ground truth (condition, view kind) then
says how many fragment photos were rejected, how many intact views were accepted, and
whether the chosen best views are front/side views rather than top/bottom ones.  Used by
``benchmarks/bench_clip_demo_model.py`` and a slow test.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vaselib import demo
from vaselib.clip import best_view, fragment_filter, scoring
from vaselib.clip.params import BestViewParams, ClipQualityParams

PROFILE_VIEWS = ("front", "three_quarter", "side", "back")


def _truth() -> dict[str, dict]:
    """Ground-truth record per image, by its path relative to the raw folder."""
    return {rec["file"]: rec for rec in demo.corpus().images}


def threshold_window(scores: np.ndarray, is_fragment: np.ndarray,
                     target: float = 0.9) -> tuple[float, float] | None:
    """The thresholds that reject ≥ target of fragments and accept ≥ target of intact."""
    ok = [t for t in np.unique(scores)
          if (scores[is_fragment] < t).mean() >= target
          and (scores[~is_fragment] >= t).mean() >= target]
    return (float(min(ok)), float(max(ok))) if ok else None


def evaluate(threshold: float | None = None, output_root: str | Path = "runs/eval-demo-clip",
             **overrides: Any) -> dict[str, Any]:
    """Run stages 03 and 04 on the demo corpus and measure them against its ground truth."""
    truth = _truth()
    q = fragment_filter.run(ClipQualityParams(output_dir=f"{output_root}/03", save_rejected=False,
                                      input_dir=str(demo.good_photos_dir()),
                                      **({"threshold": threshold} if threshold is not None else {}),
                                      **overrides), progress=False)
    recs = [truth[f] for f in q.scored.files]
    frag = np.array([r["condition"] == "fragment" for r in recs])
    acc = q.accepted_mask
    per_view = {}
    for kind in PROFILE_VIEWS + ("top", "bottom"):
        m = np.array([r["condition"] == "intact" and r["view_kind"] == kind for r in recs])
        if m.any():
            per_view[kind] = {"images": int(m.sum()), "accepted": int(acc[m].sum()),
                              "mean_score": float(q.scores[m].mean())}
    out = {
        "model": q.model, "threshold": q.threshold,
        "images": len(recs), "fragment_images": int(frag.sum()),
        "intact_images": int((~frag).sum()),
        "fragment_rejection": float((~acc[frag]).mean()) if frag.any() else None,
        "intact_acceptance": float(acc[~frag].mean()),
        "intact_acceptance_by_view": per_view,
        "window_90_90": threshold_window(q.scores, frag),
        "at_0.15": {"fragment_rejection": (float((q.scores[frag] < 0.15).mean())
                                           if frag.any() else None),
                    "intact_acceptance": float((q.scores[~frag] >= 0.15).mean())},
        "separation_auc": _auc(q.scores, ~frag),
    }
    # stage 04 on intact good photos: which view kind wins per vase
    b = best_view.run(BestViewParams(output_dir=f"{output_root}/04",
                                     input_dir=str(demo.intact_photos_dir()),
                                     **{k: v for k, v in overrides.items()
                                        if k in BestViewParams.model_fields}), progress=False)
    chosen, contested, profile_wins = [], 0, 0
    sims: dict[str, list[float]] = {}
    for c in b.choices:
        kinds = [truth[v.filename]["view_kind"] for v in c.views]
        for v, kind in zip(c.views, kinds):
            sims.setdefault(kind, []).append(v.clip_score)
        has_profile = any(k in PROFILE_VIEWS for k in kinds)
        has_other = any(k in ("top", "bottom") for k in kinds)
        chosen.append(kinds[c.best])
        if has_profile and has_other:
            contested += 1
            profile_wins += kinds[c.best] in PROFILE_VIEWS
    out["best_view"] = {
        "vases": b.vases,
        "chosen_view_kinds": {k: chosen.count(k) for k in sorted(set(chosen))},
        "vases_with_profile_and_top_or_bottom": contested,
        "profile_view_chosen": profile_wins,
        "profile_preference": profile_wins / contested if contested else None,
        "mean_similarity_by_view": {k: float(np.mean(v)) for k, v in sorted(sims.items())},
    }
    return out


def _auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    if positive.all() or not positive.any():
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, scores))


def sweep_thresholds(scores: np.ndarray, is_fragment: np.ndarray, grid=None) -> list[dict]:
    """Fragment rejection and intact acceptance over a grid of thresholds."""
    grid = np.round(np.arange(-0.2, 0.31, 0.05), 3) if grid is None else grid
    return [{"threshold": float(t),
             "fragment_rejection": float((~scoring.apply_threshold(scores[is_fragment], t)).mean()),
             "intact_acceptance": float(scoring.apply_threshold(scores[~is_fragment], t).mean())}
            for t in grid]
