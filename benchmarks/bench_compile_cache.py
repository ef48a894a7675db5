"""Stage 02 with ``torch_compile: true`` in fresh processes: what the graph cache saves.

Each row is a new process classifying the same 800×600 JPEGs with a ResNet50 (random
weights, real FLOPs), as a user's later run of the stage is:

- the original's one-image loop (PIL resize + ToTensor + Normalize, one forward per image);
- vaselib's stage 02, eager;
- stage 02 compiled, the first time on this machine (an empty inductor cache: the graph
  and its C++ kernels are compiled);
- stage 02 compiled, the graph compiled again with its kernels cached: what every run paid
  before the graph cache was used (a unique cache tag forces the miss);
- stage 02 compiled, the graph cached: what later runs pay now.

Rounds alternate the rows, so a noisy machine moves them alike; compare the ratios.
Usage (never part of ``make test``):

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_compile_cache.py [--n 500] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import json, sys, time, uuid
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import bench_filtering as bf
    src, out, ckpt, what = Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5]
    if what == "original":
        seconds = bf.original_resnet(ckpt, sorted(src.glob("*.jpg")))
        print(json.dumps({"seconds": seconds}))
        raise SystemExit
    if what == "graph-recompiled":
        from vaselib import compiled
        compiled.cache_tag = lambda: "bench-" + uuid.uuid4().hex     # never found
    seconds, r = bf.stage02(src, out, ckpt, torch_compile=what != "eager")
    print(json.dumps({"seconds": seconds, "images": r.total}))
""")


def child(what: str, src: Path, out: Path, ckpt: Path, inductor: Path) -> float:
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(inductor),
           "VASELIB_DATA": str(out.parent / "data")}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "benchmarks"), str(src),
                           str(out), str(ckpt), what], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{what} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="800×600 JPEGs (default 500)")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import torch

    import bench_filtering as bf
    from vaselib.resnet.model import QualityClassifier, save_checkpoint

    print(json.dumps(bf.machine()), f"torch threads {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}", flush=True)
    rows = ("original", "eager", "first-compile", "graph-recompiled", "graph-cached")
    times: dict[str, list[float]] = {w: [] for w in rows}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bf.make_jpegs(tmp / "photos", args.n)
        ckpt = tmp / "resnet50.pth"
        torch.manual_seed(0)
        save_checkpoint(ckpt, QualityClassifier("resnet50"), None, 0, 0.5, image_size=224,
                        interpolation="bilinear")
        for r in range(args.rounds):
            inductor = tmp / f"inductor-{r}"                  # empty: the first compile
            for what in rows:
                out = tmp / f"out-{r}-{what}"
                times[what].append(child(what, tmp / "photos", out, ckpt, inductor))
                print(f"round {r + 1} {what:17s} {times[what][-1]:7.1f} s", flush=True)
    orig = times["original"]
    print(f"\n{args.n} photos 800×600, ResNet50 at 224 px, {args.rounds} rounds "
          f"(each row's ratio to the original of its own round)")
    for what in rows:
        ratios = [o / t for o, t in zip(orig, times[what])]
        print(f"{what:17s} " + "  ".join(f"{t:6.1f} s" for t in times[what])
              + "   vs original: " + "  ".join(f"{x:.2f}×" for x in ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
