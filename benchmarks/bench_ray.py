"""engine: local vs engine: ray on this machine, side by side on the same images.

What each engine does for one stage run is timed as the stage runs it: stage 03/04's
embedding step (hash, cache lookup, decode, encode, cache write) cold and with a warm cache,
and stage 02's classification.  The Ray timings include what a stage pays on every run
(building the datasets, starting the actor pool and loading the model into it); the
cluster's start is timed on its own.  Each measurement is repeated and the fastest kept,
local and Ray alternating, so a noisy neighbour hurts both alike; compare the ratio, not
the seconds.  On one small machine Ray cannot win — there is nothing to spread the work
over — so this measures its overhead; the gain comes from adding machines or GPUs.

    .venv/bin/python benchmarks/bench_ray.py [n_images] [num_cpus] [repeats]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vaselib.clip import embeddings
from vaselib.clip.backends import load_backend
from vaselib.clip.params import ClipQualityParams
from vaselib.engines import ray_data
from vaselib.resnet import predict
from vaselib.resnet.model import QualityClassifier, save_checkpoint
from vaselib.resnet.params import ClassifyParams


def make_images(folder: Path, n: int, size: int = 256) -> list[Path]:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"img_{i:05d}.jpg"
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(p, quality=90)
        paths.append(p)
    return paths


def best_of(repeats: int, fn):
    """(fastest seconds, last result) of ``fn(k)`` run ``repeats`` times."""
    times, out = [], None
    for k in range(repeats):
        t0 = time.perf_counter()
        out = fn(k)
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 96
    cpus = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ.setdefault("VASELIB_DATA", str(tmp / "data"))
        paths = make_images(tmp / "imgs", n)
        t0 = time.perf_counter()
        ray_data.start_local(num_cpus=cpus)
        start = time.perf_counter() - t0
        try:
            cpu = torch.device("cpu")
            for model in ("vase-micro-vit", "ViT-B-32"):
                p = ClipQualityParams(model=model, pretrained=None, device="cpu", engine="ray")
                backend = load_backend(p.backend, p.model, p.pretrained, cpu, p.seed)
                spec = ray_data.ClipSpec.of(p, backend)
                kw = dict(batch_size=32)
                results = {}
                for cache in ("cold", "warm"):
                    for engine in ("local", "ray"):
                        def once(k, engine=engine, cache=cache):
                            d = tmp / f"cache-{model}-{engine}-{k if cache == 'cold' else 'w'}"
                            if engine == "local":
                                return embeddings.embed_files(backend, paths, cache_dir=d, **kw)
                            return ray_data.embed_files(backend, paths, spec=spec, cache_dir=d,
                                                        **kw)
                        if cache == "warm":          # fill the cache the warm runs read
                            once(0)
                        results[engine, cache] = best_of(repeats, once)
                    (tl, el), (tr, er) = results["local", cache], results["ray", cache]
                    same = bool(np.abs(el.vectors - er.vectors).max() <= 1e-5)
                    rows.append((f"03/04 embed, {cache} cache", model, tl, tr, same,
                                 er.stats["encoded"]))
            ckpt = tmp / "ckpt.pth"
            torch.manual_seed(0)
            save_checkpoint(ckpt, QualityClassifier("resnet18"), None, 0, 0.5, image_size=224)
            net = QualityClassifier("resnet18").eval()
            net.load_state_dict(torch.load(ckpt, weights_only=False)["model_state_dict"])
            rspec = ray_data.ResnetSpec.of(ClassifyParams(device="cpu"), ckpt)
            tl, (pl, _) = best_of(repeats, lambda k: predict.predict_files(
                net, paths, 224, cpu, batch_size=32))
            tr, (pr, _) = best_of(repeats, lambda k: ray_data.predict_files(
                paths, 224, spec=rspec, batch_size=32))
            same = bool(np.abs(np.array([pl[i] for i in range(n)])
                               - np.array([pr[i] for i in range(n)])).max() <= 1e-5)
            rows.append(("02 classify", "resnet18 224px", tl, tr, same, n))
        finally:
            ray_data.shutdown()
    print(f"{n} images (256 px JPEG), Ray cluster of {cpus} CPUs on this machine "
          f"({os.cpu_count()} cores), torch {torch.get_num_threads()} threads locally, "
          f"best of {repeats}; Ray cluster start: {start:.1f} s (once per process)")
    print(f"{'step':26s} {'model':16s} {'local s':>8s} {'ray s':>8s} {'ray/local':>9s} "
          f"{'same':>5s} {'encoded':>7s}")
    for step, model, tl, tr, same, enc in rows:
        print(f"{step:26s} {model:16s} {tl:8.2f} {tr:8.2f} {tr / tl:8.2f}x {str(same):>5s} "
              f"{enc:7d}")


if __name__ == "__main__":
    main()
