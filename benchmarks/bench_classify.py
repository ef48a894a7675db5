"""Stage 02: batched DataLoader inference (0 and 1 workers, and through torch.compile)
vs the original's one-image-at-a-time loop.

Measured side by side in one run on the same images and model (the machines are noisy, so
compare the ratio, not the seconds).  Usage:

    .venv/bin/python benchmarks/bench_classify.py [n_images] [arch] [image_size]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vaselib.images import open_image
from vaselib.resnet.data import eval_transform
from vaselib.resnet.model import QualityClassifier
from vaselib.resnet.predict import predict_files


def make_images(folder: Path, n: int, size: int = 256) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        p = folder / f"img_{i:05d}.jpg"
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(p, quality=90)
        paths.append(p)
    return paths


@torch.no_grad()
def one_at_a_time(model, paths, image_size):
    tf = eval_transform(image_size)
    out = []
    for p in paths:
        x = tf(open_image(p)).unsqueeze(0)
        out.append(torch.softmax(model(x), 1)[0].tolist())
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    arch = sys.argv[2] if len(sys.argv) > 2 else "resnet18"
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 224
    torch.manual_seed(0)
    model = QualityClassifier(arch).eval()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_images(Path(tmp), n)
        t0 = time.perf_counter()
        single = one_at_a_time(model, paths, size)
        t1 = time.perf_counter()
        probs, _ = predict_files(model, paths, size, torch.device("cpu"), batch_size=32,
                                 num_workers=0)
        t2 = time.perf_counter()
        predict_files(model, paths, size, torch.device("cpu"), batch_size=32, num_workers=1)
        t3 = time.perf_counter()
        compiled, _ = predict_files(model, paths, size, torch.device("cpu"), batch_size=32,
                                    torch_compile=True)
        t4 = time.perf_counter()
    same = np.allclose([probs[i] for i in range(n)], single, atol=1e-5)
    print(f"{n} images, {arch} at {size}px, {torch.get_num_threads()} threads")
    print(f"one at a time (original): {t1 - t0:7.2f} s  {n / (t1 - t0):7.1f} img/s")
    print(f"batched DataLoader:       {t2 - t1:7.2f} s  {n / (t2 - t1):7.1f} img/s")
    print(f"batched, 1 worker:        {t3 - t2:7.2f} s  {n / (t3 - t2):7.1f} img/s")
    print(f"batched, torch_compile:   {t4 - t3:7.2f} s  {n / (t4 - t3):7.1f} img/s "
          f"(the compile included)")
    print(f"speed-up batched/original: {(t1 - t0) / (t2 - t1):.2f}x (0 workers), "
          f"{(t1 - t0) / (t3 - t2):.2f}x (1 worker), {(t1 - t0) / (t4 - t3):.2f}x "
          f"(torch_compile); same probabilities: {same}; torch_compile within 1e-5: "
          f"{np.allclose([compiled[i] for i in range(n)], single, atol=1e-5)}")


if __name__ == "__main__":
    main()
