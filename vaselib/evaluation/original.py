"""The metrics of the original evaluation script (``eval/compare.py``), reproduced exactly.

Over N matched pairs (gen_i, ref_i):

``clip_score``
    Mean over i of cos(t(gen_i), t(ref_i)) for CLIP text features t (L2-normalised; no image).
``semantic_similarity``
    The original computes *the same quantity again* from the same features, so it always
    equals ``clip_score``. It is reproduced as such (and counted twice in ``overall_score``,
    as in the original); it is not an independent semantic measure.
``r_at_1``, ``r_at_5``, ``r_at_10``
    S = T_gen · T_refᵀ. Row i is a hit@k when i is among the k largest entries of S[i]; R@k is
    the fraction of hits. The original took the first k of a sort, so ties were broken by
    sort order. The reading implemented here is ``np.argsort(-S[i], kind="stable")[:k]``: a
    tied reference with a smaller index ranks first (:func:`recall_at_k`).
    :func:`retrieval_ranks` gives the same hits by counting, and the tie-aware variant: the
    expected hit when ties are broken at random.
``lexical_similarity``
    Mean Jaccard index of the sets of lower-cased, whitespace-split words (punctuation stays
    attached to its word, as in the original).
``fid_score``
    Fréchet distance of Gaussians fitted to sentence embeddings of the generated and of the
    reference captions: ‖μ₁−μ₂‖² + Tr(Σ₁+Σ₂−2(Σ₁Σ₂)^½), sample covariances (N−1) with
    1e-6·I added, the matrix square root by ``scipy.linalg.sqrtm``, real part kept. With
    N ≤ embedding dimension the covariances are singular but for the ridge
    (:func:`fid_condition` flags it).
``overall_score``
    0.25·clip + 0.25·semantic + 0.20·R@10 + 0.15·lexical + 0.10·R@5 + 0.05·R@1
    (:data:`OVERALL_WEIGHTS`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import scipy.linalg

ORIGINAL_METRICS: tuple[str, ...] = ("clip_score", "semantic_similarity", "r_at_1", "r_at_5",
                                     "r_at_10", "lexical_similarity", "fid_score",
                                     "overall_score")
RECALL_KS: dict[str, int] = {"r_at_1": 1, "r_at_5": 5, "r_at_10": 10}
OVERALL_WEIGHTS: dict[str, float] = {"clip_score": 0.25, "semantic_similarity": 0.25,
                                     "r_at_10": 0.20, "lexical_similarity": 0.15,
                                     "r_at_5": 0.10, "r_at_1": 0.05}
FID_RIDGE = 1e-6


# -------------------------------------------------------------------------- feature checks

def as_rows(features: object, n: int, what: str) -> np.ndarray:
    """``features`` as a finite float64 (n, d) array, or a ValueError saying what is wrong."""
    arr = np.asarray(features, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"{what} returned an array of shape {arr.shape} for {n} captions; "
                         f"expected ({n}, d)")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} returned non-finite values (NaN or inf)")
    return arr


def l2_normalise(rows: np.ndarray, what: str = "text features") -> np.ndarray:
    """Rows scaled to unit length (a zero row is an error: it has no direction)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    if (norms == 0).any():
        bad = int(np.flatnonzero(norms[:, 0] == 0)[0])
        raise ValueError(f"{what}: row {bad} is all zeros, so its cosine is undefined")
    return rows / norms


# ------------------------------------------------------------------------ CLIP-text metrics

def cosine_per_item(gen: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """cos(gen_i, ref_i) for each pair (rows are normalised first)."""
    return np.sum(l2_normalise(gen) * l2_normalise(ref), axis=1)


def clip_score(gen: np.ndarray, ref: np.ndarray) -> float:
    """Mean cosine of the CLIP text features of gen_i and ref_i."""
    return float(np.mean(cosine_per_item(gen, ref)))


def semantic_similarity(gen: np.ndarray, ref: np.ndarray) -> float:
    """What the original called semantic similarity: exactly :func:`clip_score` again."""
    return clip_score(gen, ref)


def similarity_matrix(gen: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """S = gen · refᵀ of L2-normalised rows (S[i, j]: generated i against reference j)."""
    return l2_normalise(gen) @ l2_normalise(ref).T


def recall_at_k(similarity: np.ndarray, k: int) -> float:
    """Original-compatible R@k: row i hits when i is in ``argsort(-S[i], stable)[:k]``."""
    s = np.asarray(similarity, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or not len(s):
        raise ValueError(f"R@k needs a non-empty square similarity matrix, got {s.shape}")
    hits = [i in np.argsort(-row, kind="stable")[:k] for i, row in enumerate(s)]
    return float(np.mean(hits))


def retrieval_ranks(similarity: np.ndarray,
                    idx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of the (resampled) retrieval problem: (above, tied_before, tied).

    ``idx`` selects the pairs (with repeats, for a bootstrap resample; default: all, once).
    Row p is pair ``idx[p]``; its gallery is the references of every position q. Copies of
    the row's own pair are its own reference, not competitors. ``above`` counts competitors
    scoring strictly higher than the own reference, ``tied`` those scoring exactly the same,
    ``tied_before`` the tied ones of a smaller original index (the ones a stable sort puts
    first). Original-compatible hit@k: ``above + tied_before < k``; under random tie-breaking
    the own reference takes each of the ``tied + 1`` places from ``above`` on with equal
    chance (:func:`hits_at_k`).
    """
    s = np.asarray(similarity, dtype=np.float64)
    idx = np.arange(len(s)) if idx is None else np.asarray(idx)
    sub = s[np.ix_(idx, idx)]
    own = s[idx, idx][:, None]
    competitor = idx[None, :] != idx[:, None]
    above = ((sub > own) & competitor).sum(axis=1)
    tied_mask = (sub == own) & competitor
    tied = tied_mask.sum(axis=1)
    tied_before = (tied_mask & (idx[None, :] < idx[:, None])).sum(axis=1)
    return above, tied_before, tied


def hits_at_k(above: np.ndarray, tied_before: np.ndarray, tied: np.ndarray, k: int,
              ties: str = "stable") -> np.ndarray:
    """Hit (0/1) or expected hit per row; ``ties`` is ``stable`` or ``expected``."""
    if ties == "stable":
        return (above + tied_before < k).astype(np.float64)
    if ties == "expected":
        return np.clip(k - above, 0, tied + 1) / (tied + 1)
    raise ValueError(f"ties must be 'stable' or 'expected', not {ties!r}")


def recall_at_k_tie_aware(similarity: np.ndarray, k: int) -> float:
    """R@k with the expected hit under random tie-breaking (equals R@k when nothing ties)."""
    return float(np.mean(hits_at_k(*retrieval_ranks(similarity), k, ties="expected")))


# ----------------------------------------------------------------------------- lexical

def jaccard(a: str, b: str) -> float:
    """Jaccard index of the lower-cased whitespace-split word sets (0.0 when both are empty)."""
    wa, wb = set(a.lower().split()), set(b.lower().split())
    union = wa | wb
    return len(wa & wb) / len(union) if union else 0.0


def jaccard_per_item(generated: Sequence[str], references: Sequence[str]) -> np.ndarray:
    return np.array([jaccard(g, r) for g, r in zip(generated, references)], dtype=np.float64)


def lexical_similarity(generated: Sequence[str], references: Sequence[str]) -> float:
    """Mean :func:`jaccard` over the pairs."""
    if not len(generated):
        raise ValueError("lexical similarity needs at least one pair")
    return float(np.mean(jaccard_per_item(generated, references)))


# ---------------------------------------------------------------------------------- FID

def gaussian(embeddings: np.ndarray, ridge: float = FID_RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample covariance (N−1) plus ``ridge``·I of embedding rows."""
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] < 2:
        raise ValueError(f"FID needs at least 2 embeddings per side, got shape {e.shape}")
    cov = np.atleast_2d(np.cov(e, rowvar=False)) + ridge * np.eye(e.shape[1])
    return e.mean(axis=0), cov


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """‖μ₁−μ₂‖² + Tr(Σ₁+Σ₂−2(Σ₁Σ₂)^½), square root by ``scipy.linalg.sqrtm`` (real part)."""
    diff = mu1 - mu2
    covmean = np.real(scipy.linalg.sqrtm(sigma1 @ sigma2))
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid_score(generated: np.ndarray, references: np.ndarray,
              ridge: float = FID_RIDGE) -> float:
    """The original's FID between two sets of sentence embeddings."""
    g, r = np.asarray(generated, dtype=np.float64), np.asarray(references, dtype=np.float64)
    if g.ndim != 2 or r.ndim != 2 or g.shape[1] != r.shape[1]:
        raise ValueError(f"FID needs two (N, d) arrays of one width, got {g.shape} and "
                         f"{r.shape}")
    return frechet_distance(*gaussian(g, ridge), *gaussian(r, ridge))


def fid_condition(n: int, dim: int) -> tuple[bool, str | None]:
    """Whether FID is ill-conditioned for N samples of dimension ``dim``, and why."""
    if n <= dim:
        return True, (f"N = {n} pairs ≤ embedding dimension {dim}: each sample covariance has "
                      f"rank ≤ {max(n - 1, 0)} < {dim}, so it is singular but for the "
                      f"{FID_RIDGE:g}·I ridge; the value depends strongly on N and the ridge "
                      f"and is not comparable across data sets of different size")
    return False, None


# ------------------------------------------------------------------------ combination

def overall_score(metrics: Mapping[str, float | None]) -> float:
    """The original's weighted sum (:data:`OVERALL_WEIGHTS`); a missing part is an error."""
    missing = [k for k in OVERALL_WEIGHTS if metrics.get(k) is None]
    if missing:
        raise ValueError(f"overall_score needs {', '.join(missing)}, which could not be "
                         f"computed")
    return float(sum(w * float(metrics[k]) for k, w in OVERALL_WEIGHTS.items()))


def model_name(generated_file: str | Path) -> str:
    """The generated file's name without a leading ``image_`` and the ``.json`` suffix."""
    name = Path(str(generated_file)).name
    name = name.removeprefix("image_")
    return name.removesuffix(".json")
