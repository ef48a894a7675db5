"""The checks that need a GPU, in one short run (see scripts/gpu_check.sh, which wraps it).

1. Stage 03 with open_clip ViT-B-32 (random weights: ``pretrained: null``) on generated
   images, in mixed precision (``torch.autocast`` float16 around the stage) and in float32:
   images/s of each, the largest score difference between them, whether they accept the
   same photos, and a rerun with another threshold that must encode nothing.  With Ray
   installed, the same stage with ``engine: ray`` (one GPU per actor): seconds and the
   largest score difference to the local float32 run.
2. Stage 05 (SFT, LoRA) for a few steps on the tiny offline Qwen2.5-VL and stage 06 (GRPO)
   for a few steps from it, with ``nproc_per_node`` = the GPUs present (ms-swift's own
   torchrun launcher when there are several), in bfloat16.

Everything is written to ``<out>/gpu_check.json`` as it completes (a step that fails is
recorded with its error and the next one still runs); the exit code is 0 only when every
step passed.  ``--dry-run`` builds the images and every step's parameters (validated, and
written to the same file) and runs nothing: it needs no GPU.

The embedding cache does not record the precision an embedding was computed in, so each
run here has its own cache folder; the stage itself encodes in float32.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import traceback
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NO_GPU = 2          # exit code when no CUDA GPU is visible


def gpus_present() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def make_photos(folder: Path, n: int, size: int = 256, seed: int = 0) -> Path:
    """``n`` JPEG photos named like the original corpus (``<UUID>_<view>_ac001001.jpg``)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        arr = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{uuid.UUID(int=i)}_{1 + i % 3}_ac001001.jpg",
                                  quality=90)
    return folder


def make_best_views(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    """A best_views/ folder of ``n`` vases and a captions file (vase id -> caption)."""
    import numpy as np
    from PIL import Image

    from vaselib import vocabulary as v

    rng, arr_rng = random.Random(seed), np.random.default_rng(seed)
    views = folder / "best_views"
    views.mkdir(parents=True, exist_ok=True)
    captions = {}
    for _ in range(n):
        vid = str(uuid.UUID(int=rng.getrandbits(128)))
        Image.fromarray(arr_rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)).save(
            views / f"{vid}_1_ac001001.jpg")
        captions[vid] = (f"{rng.choice(list(v.FABRICS))} {rng.choice(list(v.TECHNIQUES))} "
                         f"{rng.choice(list(v.SHAPES))}, c. 525–475 BCE, depicting "
                         f"{rng.choice(v.SUBJECTS)}; {rng.choice(v.FIND_SPOTS)}.")
    path = folder / "captions.json"
    path.write_text(json.dumps(captions, ensure_ascii=False), encoding="utf-8")
    return views, path


def plan(out: Path, gpus: int, photos: Path, views: Path, captions: Path,
         model: str, cpu_smoke: bool = False) -> dict[str, dict]:
    """Every step's stage parameters, validated."""
    from vaselib import params

    clip = dict(model="vase-micro-vit" if cpu_smoke else "ViT-B-32", pretrained=None,
                input_dir=str(photos), threshold=0.0, batch_size=256,
                num_workers=0 if cpu_smoke else min(8, os.cpu_count() or 1),
                device="cpu" if cpu_smoke else "cuda", sample_size=500)
    vlm = dict(model=model, torch_dtype="float32" if cpu_smoke else "bfloat16",
               nproc_per_node=max(1, gpus), max_pixels=112 * 112, logging_steps=1)
    steps = {
        "03_mixed": ("03_clip_quality", {**clip, "output_dir": str(out / "03_mixed"),
                                         "cache_dir": str(out / "cache_mixed")}),
        "03_fp32": ("03_clip_quality", {**clip, "output_dir": str(out / "03_fp32"),
                                        "cache_dir": str(out / "cache_fp32")}),
        "03_rethreshold": ("03_clip_quality", {**clip, "threshold": 0.01,
                                               "output_dir": str(out / "03_rethreshold"),
                                               "cache_dir": str(out / "cache_fp32")}),
        "03_ray": ("03_clip_quality", {**clip, "engine": "ray",
                                       "device": "cpu" if cpu_smoke else "auto",
                                       "output_dir": str(out / "03_ray"),
                                       "cache_dir": str(out / "cache_ray")}),
        "05_sft": ("05_sft", {**vlm, "images_dir": str(views), "captions": str(captions),
                              "output_dir": str(out / "05_sft"), "max_steps": 4,
                              "save_steps": 4, "eval_steps": 4, "gradient_accumulation_steps": 1,
                              "learning_rate": 5e-3}),
        "06_grpo": ("06_grpo", {**{k: v for k, v in vlm.items() if k != "model"},
                                "sft_dir": str(out / "05_sft"),   # merges 05's adapter
                                "output_dir": str(out / "06_grpo"), "max_steps": 2,
                                "num_generations": 4, "gradient_accumulation_steps": 4,
                                "max_completion_length": 24, "reward_similarity": "lexical"}),
    }
    for stage, values in steps.values():
        params.validate(stage, values)
    return {name: {"stage": stage, "parameters": values} for name, (stage, values)
            in steps.items()}


class Record:
    """``gpu_check.json``, rewritten after every step."""

    def __init__(self, path: Path, head: dict):
        self.path, self.data = path, {**head, "steps": {}}
        self.save()

    def step(self, name: str, value: dict) -> None:
        self.data["steps"][name] = value
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=2, default=str), encoding="utf-8")


def run_step(record: Record, name: str, fn) -> dict | None:
    t0 = time.perf_counter()
    print(f"[gpu_check] {name} …", flush=True)
    try:
        value = {"ok": True, **fn(), "seconds": round(time.perf_counter() - t0, 2)}
    except Exception as err:  # noqa: BLE001 - recorded, and the next step still runs
        value = {"ok": False, "error": f"{type(err).__name__}: {err}",
                 "traceback": traceback.format_exc(limit=8),
                 "seconds": round(time.perf_counter() - t0, 2)}
    record.step(name, value)
    print(f"[gpu_check] {name}: {'ok' if value['ok'] else 'FAILED ' + value['error'][:300]} "
          f"({value['seconds']} s)", flush=True)
    return value if value["ok"] else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "runs" / "gpu-check"),
                    help="folder for the runs and gpu_check.json")
    ap.add_argument("--images", type=int, default=3000, help="generated photos for stage 03")
    ap.add_argument("--vases", type=int, default=32, help="vases for stages 05/06")
    ap.add_argument("--gpus", type=int, default=None,
                    help="nproc_per_node (default: the GPUs present)")
    ap.add_argument("--dry-run", action="store_true",
                    help="build the inputs and the validated parameters only (no GPU needed)")
    ap.add_argument("--no-ray", action="store_true", help="skip the engine: ray step")
    ap.add_argument("--cpu-smoke", action="store_true",
                    help="run every step on the CPU at toy size, to check this script where "
                         "no GPU is present (the numbers mean nothing)")
    a = ap.parse_args(argv)

    found = gpus_present()
    if not a.dry_run and not a.cpu_smoke and found == 0:
        print("gpu_check: no CUDA GPU is visible here (torch.cuda.is_available() is False, "
              f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r}); "
              "nothing was run. Run it on a machine with a GPU, or use --dry-run to check "
              "the parameters only.", file=sys.stderr)
        return NO_GPU
    gpus = a.gpus if a.gpus is not None else (1 if a.cpu_smoke else max(1, found))
    out = Path(a.out).resolve()
    os.environ.setdefault("VASELIB_DATA", str(out / "data"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    head = {"dry_run": a.dry_run, "cpu_smoke": a.cpu_smoke, "gpus_present": found, "nproc_per_node": gpus,
            "gpu_names": [torch.cuda.get_device_name(i) for i in range(found)],
            "torch": torch.__version__, "cuda": torch.version.cuda, "images": a.images,
            "vases": a.vases, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    record = Record(out / "gpu_check.json", head)
    photos = make_photos(out / "inputs" / "photos", a.images if not a.dry_run else 8)
    views, captions = make_best_views(out / "inputs", a.vases)
    if a.dry_run:
        model = str(out / "tiny-model-not-built")
    else:
        from vaselib.vlm import tiny

        model = str(tiny.ensure_tiny_model(seed=0))
    steps = plan(out, gpus, photos, views, captions, model, a.cpu_smoke)
    record.data["plan"] = steps
    record.save()
    if a.dry_run:
        print(f"[gpu_check] dry run: inputs and parameters in {out / 'gpu_check.json'}")
        return 0

    from vaselib import params
    from vaselib.clip import fragment_filter
    from vaselib.vlm import grpo, sft

    def p(name):
        return params.validate(steps[name]["stage"], steps[name]["parameters"])

    def clip_numbers(r, seconds_key="seconds"):
        return {"images": r.total, "accepted": r.accepted, "failed": r.failed,
                "encoded": r.scored.cache_stats["encoded"],
                "cache_hits": r.scored.cache_stats["cache_hits"],
                "stage_seconds": round(r.seconds, 2),
                "images_per_second": round(r.total / max(r.seconds, 1e-9), 1)}

    results = {}

    def mixed():
        kind, dtype = ("cpu", torch.bfloat16) if a.cpu_smoke else ("cuda", torch.float16)
        with torch.autocast(kind, dtype=dtype):
            results["mixed"] = fragment_filter.run(p("03_mixed"), progress=False)
        return clip_numbers(results["mixed"])

    def fp32():
        results["fp32"] = fragment_filter.run(p("03_fp32"), progress=False)
        n = clip_numbers(results["fp32"])
        if "mixed" in results:
            m, f = results["mixed"].scored, results["fp32"].scored
            n["max_score_difference_mixed_vs_fp32"] = float(abs(m.score - f.score).max())
            n["same_decisions_mixed_vs_fp32"] = int(
                (results["mixed"].accepted_mask == results["fp32"].accepted_mask).sum())
        return n

    def rethreshold():
        r = fragment_filter.run(p("03_rethreshold"), progress=False)
        if r.scored.cache_stats["encoded"]:
            raise AssertionError(f"a threshold change encoded {r.scored.cache_stats['encoded']} "
                                 f"images again; the cache should have served them all")
        return clip_numbers(r)

    def on_ray():
        from vaselib.engines import ray_data

        t0 = time.perf_counter()
        ray_data.connect(None)                     # a local cluster, timed on its own
        started = round(time.perf_counter() - t0, 2)
        r = fragment_filter.run(p("03_ray"), progress=False)
        n = {**clip_numbers(r), "ray_start_seconds": started,
             "actor_plan": ray_data.cluster_plan(p("03_ray").device)}
        if "fp32" in results:
            n["max_score_difference_ray_vs_local"] = float(
                abs(r.scored.score - results["fp32"].scored.score).max())
            n["same_failures"] = r.scored.failures == results["fp32"].scored.failures
        ray_data.shutdown()
        return n

    def sft_step():
        r = sft.run(p("05_sft"), progress=False)
        return {"train_steps": r.train_steps, "final_loss": r.final_loss,
                "records": r.records, "final_checkpoint": r.final_checkpoint,
                "swift_seconds": round(r.seconds, 2)}

    def grpo_step():
        r = grpo.run(p("06_grpo"), progress=False)
        return {"train_steps": r.train_steps, "mean_reward": r.mean_reward,
                "completions": len(r.completions), "swift_seconds": round(r.seconds, 2)}

    ok = [run_step(record, "03_mixed_precision", mixed),
          run_step(record, "03_float32", fp32),
          run_step(record, "03_new_threshold_from_cache", rethreshold)]
    if not a.no_ray:
        from vaselib import engines

        try:
            engines.require(p("03_ray"))
            ok.append(run_step(record, "03_engine_ray", on_ray))
        except engines.EngineUnavailable as err:
            record.step("03_engine_ray", {"ok": None, "skipped": str(err)})
    ok.append(run_step(record, "05_sft", sft_step))
    ok.append(run_step(record, "06_grpo", grpo_step) if ok[-1] else None)
    if ok[-1] is None and "06_grpo" not in record.data["steps"]:
        record.step("06_grpo", {"ok": False, "error": "not run: stage 05 failed"})
    record.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    record.data["all_ok"] = all(v is not None for v in ok)
    record.save()
    print(f"[gpu_check] results: {out / 'gpu_check.json'} "
          f"({'all passed' if record.data['all_ok'] else 'some steps FAILED'})")
    return 0 if record.data["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
