"""Pipeline checks of the offline demo: each stage's result against the synthetic ground truth.

The demo corpus knows, for every photo, its quality (degraded or not), its condition
(intact or fragment) and its view kind.  These functions compare a stage's result with it
and return :class:`Rate` values — a count, its sample size and a 95 % Wilson interval —
because the demo's numbers rest on small samples (01's test split holds 40 photos) and are
pipeline checks, not claims.  A result whose files are not the demo corpus' gives ``None``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

PROFILE_VIEWS = ("front", "three_quarter", "side", "back")
# The bands each demo stage must reach on every machine (CPU kernels and thread counts move
# the trained numbers: benchmarks/demo_spread.py measures by how much).
BANDS: dict[str, dict[str, float]] = {
    # 40 test photos, one = 0.025. Measured 2026-12-07 (Intel Xeon, demo_spread.py): 0.925
    # native 2 threads, 0.825 native 1 thread, 0.875 / 0.85 AVX2 kernels (MKL too) 2 / 1
    # threads, 0.85 default kernels; a classifier that learnt nothing scores ~0.5
    "01_resnet_train": {"test_accuracy": 0.75},
    "02_classify": {"agreement": 0.85},
    "03_clip_quality": {"fragment_rejection": 0.80, "intact_acceptance": 0.85},
    "04_best_view": {"profile_view_chosen": 0.80},
    # final / base validation loss (measured ~0.07); a ceiling, not a floor
    "05_sft": {"eval_loss_ratio_max": 0.5},
    # on the held-out vases (N = 256): the base's mean external_vase_acc (measured 0.00), the
    # SFT model's (0.44–0.46 measured with the 4-epoch profile) and its shape accuracy
    # (0.60–0.63; 0.07–0.16 before its head trained at its own rate): floors far below both
    "08_evaluate": {"base_reward_max": 0.10, "sft_reward_min": 0.30, "sft_shape_min": 0.35},
}


@dataclass(frozen=True)
class Rate:
    """``k`` of ``n``, with a 95 % Wilson score interval."""

    k: int
    n: int

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.k, self.n)

    def __str__(self) -> str:
        lo, hi = self.interval
        return f"{self.value:.3f} ({self.k}/{self.n}; 95 % interval {lo:.2f}–{hi:.2f})"

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.interval
        return {"value": self.value, "k": self.k, "n": self.n, "ci95": [lo, hi]}


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion ``k/n``."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _truth(files: Iterable[str]) -> list[dict] | None:
    """Ground-truth records of ``files`` (paths relative to the raw folder, or to a folder
    that keeps them, as every stage's outputs do); None unless all are demo photos."""
    from vaselib import runs, synth

    root = runs.demo_corpus_dir()
    if not (root / "corpus.json").is_file():      # never generate a corpus just to check
        return None
    by_file = {rec["file"]: rec for rec in synth.load_corpus(root).images}
    out = []
    for f in files:
        rec = by_file.get(str(f))
        if rec is None:
            return None
        out.append(rec)
    return out


def classifier_test(result) -> dict[str, Rate]:
    """01: accuracy on the held-out test split (from its confusion matrix)."""
    cm = result.confusion
    n = sum(sum(r) for r in cm)
    return {"test_accuracy": Rate(cm[0][0] + cm[1][1], n)}


def classification(result) -> dict[str, Rate] | None:
    """02: agreement of 0/ and 1/ with the photos' true quality."""
    recs = _truth(x.file for x in result.predictions)
    if recs is None:
        return None
    pairs = [(x.predicted_class, r["quality"]) for x, r in zip(result.predictions, recs)]
    good = sum(t == 1 for _, t in pairs)
    return {"agreement": Rate(sum(p == t for p, t in pairs), len(pairs)),
            "good_photos_kept": Rate(sum(p == 1 and t == 1 for p, t in pairs), good),
            "degraded_photos_removed": Rate(sum(p == 0 and t == 0 for p, t in pairs),
                                            len(pairs) - good)}


def fragment_filter(result) -> dict[str, Rate] | None:
    """03: fragments rejected and intact vases accepted."""
    if result.accepted_mask is None:
        return None
    recs = _truth(result.scored.files)
    if recs is None:
        return None
    frag = [r["condition"] == "fragment" for r in recs]
    acc = [bool(a) for a in result.accepted_mask]
    return {"fragment_rejection": Rate(sum(f and not a for f, a in zip(frag, acc)), sum(frag)),
            "intact_acceptance": Rate(sum((not f) and a for f, a in zip(frag, acc)),
                                      len(frag) - sum(frag))}


def best_view(result) -> dict[str, Rate] | None:
    """04: among vases with a profile view and a top/bottom view, how often a profile wins."""
    files = [v.filename for c in result.choices for v in c.views]
    recs = _truth(files)
    if recs is None:
        return None
    kind = {f: r["view_kind"] for f, r in zip(files, recs)}
    contested = wins = 0
    for c in result.choices:
        kinds = [kind[v.filename] for v in c.views]
        if any(k in PROFILE_VIEWS for k in kinds) and any(k in ("top", "bottom") for k in kinds):
            contested += 1
            wins += kinds[c.best] in PROFILE_VIEWS
    return {"profile_view_chosen": Rate(wins, contested)}


def report(checks: dict[str, Rate] | None) -> list[str]:
    """Lines for a notebook: each check with its sample size and interval."""
    if checks is None:
        return ["(not the demo corpus: no ground truth to check against)"]
    return [f"{name.replace('_', ' ')}: {rate}" for name, rate in checks.items()]


def bands(checks: dict[str, Rate] | None, minimum: dict[str, float]) -> list[str]:
    """Lines that cannot move between machines: ``name ≥ bound: True/False``."""
    if checks is None:
        return ["(not the demo corpus: no ground-truth bands)"]
    return [f"{name.replace('_', ' ')} ≥ {bound:.2f}: {checks[name].value >= bound}"
            for name, bound in minimum.items()]


def is_demo_input(path: str | Path | None) -> bool:
    """True when ``path`` lies in the demo's generated data (so ground truth exists)."""
    from vaselib import runs

    if path is None:
        return False
    p = runs.resolve(path).resolve()
    roots = (runs.demo_corpus_dir(), runs.data_dir() / "demo-derived")
    return any(p == r.resolve() or r.resolve() in p.parents for r in roots)
