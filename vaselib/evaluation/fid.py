"""FID of bootstrap resamples, fast and equal to the original's formula.

A bootstrap recomputes FID on each resample of the pairs, so it needs Tr((Σ₁Σ₂)^½) a
thousand times. Two exact shortcuts make that affordable:

1. Every resample's centred embeddings and mean difference lie in the span V of the rows of
   the full data (rank r ≤ min(2N, d)). In a basis [V, V⊥] both covariances are
   ``blockdiag(B_i + εI_r, εI_{d−r})``, so the ε·(d−r) terms of Tr Σ₁ + Tr Σ₂ and of
   2·Tr((Σ₁Σ₂)^½) cancel: FID in d dimensions equals FID of the projected r-dimensional
   embeddings with the same ridge ε.
2. Tr((Σ₁Σ₂)^½) = Σ √λ(Lᵀ Σ₂ L) with Σ₁ = L Lᵀ (Cholesky): the eigenvalues of one
   symmetric matrix instead of ``sqrtm`` of a non-symmetric product.

The headline value is the original's ``sqrtm`` in full dimension
(:func:`vaselib.evaluation.original.fid_score`); a test checks that both agree.
"""
from __future__ import annotations

import numpy as np

from vaselib.evaluation.original import FID_RIDGE


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(m)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((Σ₁Σ₂)^½) of two symmetric positive semi-definite matrices.

    Σ₁Σ₂ is similar to Lᵀ Σ₂ L for the Cholesky factor Σ₁ = L Lᵀ, a symmetric matrix whose
    eigenvalues alone (no vectors) give the trace: a third of the work of a matrix square
    root. A Σ₁ that is singular in floating point takes the eigendecomposition instead.
    """
    try:
        low = np.linalg.cholesky(sigma1)
        inner = low.T @ sigma2 @ low
    except np.linalg.LinAlgError:
        root = _sqrt_psd(sigma1)
        inner = root @ sigma2 @ root
    inner = (inner + inner.T) / 2
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(inner), 0.0, None)).sum())


class ResampledFid:
    """FID of resampled pairs: ``fid(idx)`` for an index array (repeats allowed)."""

    def __init__(self, generated: np.ndarray, references: np.ndarray,
                 ridge: float = FID_RIDGE, rtol: float = 1e-10):
        g = np.asarray(generated, dtype=np.float64)
        r = np.asarray(references, dtype=np.float64)
        if g.shape != r.shape or g.ndim != 2:
            raise ValueError(f"FID needs two (N, d) arrays of one shape, got {g.shape} and "
                             f"{r.shape}")
        self.dim = g.shape[1]
        self.ridge = ridge
        stacked = np.vstack([g, r])
        if len(stacked) < self.dim:
            _, sv, vt = np.linalg.svd(stacked, full_matrices=False)
            basis = vt[sv > rtol * max(sv.max(initial=0.0), 1e-300)].T
            g, r = g @ basis, r @ basis
        self.generated, self.references = g, r

    def _gaussian(self, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        centred = e - e.mean(axis=0)
        cov = centred.T @ centred / (len(e) - 1) + self.ridge * np.eye(e.shape[1])
        return e.mean(axis=0), cov

    def __call__(self, idx: np.ndarray) -> float:
        if len(idx) < 2:
            return float("nan")
        mu1, s1 = self._gaussian(self.generated[idx])
        mu2, s2 = self._gaussian(self.references[idx])
        diff = mu1 - mu2
        return float(diff @ diff + np.trace(s1) + np.trace(s2)
                     - 2 * trace_sqrt_product(s1, s2))
