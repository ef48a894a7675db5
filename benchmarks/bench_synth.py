"""Synthetic corpus generation speed: about 500 images at 224 × 224 (budget: ≤ 60 s).

Generates a corpus of ``n_vases`` raw vases (2–5 views each, ≈ 3.5 on average) plus
``n_labelled`` labelled images into a temporary folder and prints the total time and
images per second.  The machines are shared and noisy: run it twice if in doubt.  Usage:

    .venv/bin/python benchmarks/bench_synth.py [n_vases] [n_labelled] [image_size]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from vaselib import synth

BUDGET_S = 60.0


def main(argv: list[str]) -> int:
    n_vases = int(argv[1]) if len(argv) > 1 else 100
    n_labelled = int(argv[2]) if len(argv) > 2 else 150
    size = int(argv[3]) if len(argv) > 3 else 224
    cfg = synth.CorpusConfig(n_vases=n_vases, n_labelled=n_labelled, image_size=size)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        corpus = synth.generate_corpus(Path(tmp) / "corpus", cfg)
        seconds = time.perf_counter() - t0
    n = len(corpus.images) + len(corpus.labelled)
    print(f"generated {n} images ({len(corpus.images)} raw from {n_vases} vases, "
          f"{len(corpus.labelled)} labelled) at {size}x{size}")
    print(f"total {seconds:.2f} s, {n / seconds:.1f} images/s, "
          f"{1000 * seconds / n:.1f} ms per image")
    per_500 = 500 * seconds / n
    print(f"500 images would take {per_500:.1f} s (budget {BUDGET_S:.0f} s): "
          f"{'OK' if per_500 <= BUDGET_S else 'TOO SLOW'}")
    return 0 if per_500 <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
