"""Benchmark: what the CLIP embedding cache buys, measured side by side in one run.

    .venv/bin/python benchmarks/bench_clip_cache.py            # 30,000 images
    .venv/bin/python benchmarks/bench_clip_cache.py --n 3000   # quicker

Writes ``--n`` small distinct images into a temporary folder, then times:

1. cold: hash + decode + encode every image (cache empty) — the first run of stage 03;
2. warm: the same call again — every embedding read from the cache, nothing encoded;
3. re-threshold: counts + analysis for a new threshold over all scores (vectorised numpy),
   what the widget and a rerun with ``-p threshold`` cost once embeddings exist;
4. new prompts: encode 8 + 8 prompts and re-score all images;

and prints the timings and the speed-ups.  ``--model`` / ``--pretrained`` choose the CLIP
(default: the demo model, trained first if this data folder has none; ``--pretrained none``
with ``--model vase-micro-vit`` gives a tiny random model that measures the pipeline only).
The embedding cache of the benchmark lives in a temporary folder; nothing else is written.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _write_images(folder: Path, n: int, size: int) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    paths = []
    for i in range(n):
        arr = base.copy()
        arr.reshape(-1)[:8] = np.frombuffer(i.to_bytes(8, "little"), np.uint8)  # distinct bytes
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        p = sub / f"img_{i:06d}.png"
        Image.fromarray(arr).save(p, compress_level=1)
        paths.append(p)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=30_000, help="number of images")
    ap.add_argument("--size", type=int, default=96, help="image side in pixels")
    ap.add_argument("--model", default="vase-tiny-rn")
    ap.add_argument("--pretrained", default="vaselib-synthetic", help="'none' = random")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--num-workers", type=int, default=1)
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-clip-"))
    pretrained = None if str(args.pretrained).lower() == "none" else args.pretrained
    import torch

    from vaselib.clip import scoring
    from vaselib.clip.backends import load_backend
    from vaselib.clip.embeddings import embed_files, hash_files
    from vaselib.clip.params import HIGH_PROMPTS, LOW_PROMPTS

    try:
        t0 = time.perf_counter()
        paths = _write_images(tmp / "imgs", args.n, args.size)
        print(f"wrote {args.n} images of {args.size}px in {time.perf_counter() - t0:.1f} s")
        backend = load_backend("open_clip", args.model, pretrained, torch.device("cpu"))
        high = scoring.encode_prompts(backend, list(HIGH_PROMPTS))
        low = scoring.encode_prompts(backend, list(LOW_PROMPTS))
        kw = dict(cache_dir=tmp / "cache", batch_size=args.batch_size,
                  num_workers=args.num_workers)

        t = time.perf_counter()
        cold = embed_files(backend, paths, **kw)
        t_cold = time.perf_counter() - t
        t = time.perf_counter()
        warm = embed_files(backend, paths, **kw)
        t_warm = time.perf_counter() - t
        assert warm.stats["encoded"] == 0 and warm.stats["cache_hits"] == args.n, warm.stats
        assert np.array_equal(cold.vectors, warm.vectors)
        t = time.perf_counter()
        hash_files(paths)
        t_hash = time.perf_counter() - t

        scores = scoring.clip_scores(warm.vectors, high, low).score
        t = time.perf_counter()
        reps = 20
        for thr in np.linspace(-0.1, 0.1, reps):
            acc = int(scoring.apply_threshold(scores, thr).sum())
            scoring.analyse(scores)
        t_thr = (time.perf_counter() - t) / reps

        t = time.perf_counter()
        h2 = scoring.encode_prompts(backend, [s.replace("vase", "pot") for s in HIGH_PROMPTS])
        l2 = scoring.encode_prompts(backend, [s.replace("vase", "pot") for s in LOW_PROMPTS])
        scoring.clip_scores(warm.vectors, h2, l2)
        t_prompts = time.perf_counter() - t

        db = next((tmp / "cache").glob("*.sqlite"))
        print(f"\nCLIP embedding cache, {args.n} images, model {args.model} "
              f"(dim {backend.embed_dim}), {torch.get_num_threads()} torch threads, "
              f"{args.num_workers} DataLoader worker(s)")
        print(f"  cache file                        {db.stat().st_size / 1e6:8.1f} MB")
        print(f"  cold run  (hash+decode+encode)    {t_cold:8.2f} s   "
              f"({args.n / t_cold:,.0f} images/s)")
        print(f"  warm run  (hash+cache lookup)     {t_warm:8.2f} s   "
              f"({args.n / t_warm:,.0f} images/s)  → {t_cold / t_warm:5.1f}× faster than cold")
        print(f"    of which hashing the files      {t_hash:8.2f} s")
        print(f"  re-threshold + analysis (all)     {t_thr * 1000:8.1f} ms  "
              f"→ {t_cold / t_thr:,.0f}× faster than cold; accepted at last threshold {acc}")
        print(f"  new prompts (8+8 texts + rescore) {t_prompts * 1000:8.1f} ms  "
              f"→ {t_cold / t_prompts:,.0f}× faster than cold")
        ok = t_thr < 1.0
        print(f"\nre-thresholding {args.n} cached images takes < 1 s: {'yes' if ok else 'NO'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
