"""Benchmark: the offline demo CLIP on the demo corpus' ground truth.

    .venv/bin/python benchmarks/bench_clip_demo_model.py                 # demo threshold
    .venv/bin/python benchmarks/bench_clip_demo_model.py --threshold 0.15
    .venv/bin/python benchmarks/bench_clip_demo_model.py --fresh   # temp data dir, retrain

Trains the demo model first when it is not cached (and prints how long that took), runs
stage 03 on the demo corpus' good photos and stage 04 on its good photos of intact vases,
and reports: the share of fragment photos rejected and of intact views accepted at the
threshold (per view kind too), the range of thresholds giving ≥ 90 % / ≥ 90 %, how often
stage 04 picks a front/side/back view over a top/bottom one, bf16 against fp32 on this
trained model (decisions at p25, largest score change, with and without the fp32 re-check
and the share it re-scored), the same for JPEG draft decoding, and the time of a cold
encoding pass with 0 and 1 DataLoader workers.  Exits 1 when below 90 % / 90 % / 90 %.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threshold", type=float, default=None, help="default: the demo threshold")
    ap.add_argument("--fresh", action="store_true",
                    help="use a temporary data folder: generate the corpus, train from scratch")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-demo-clip-"))
    if args.fresh:
        os.environ["VASELIB_DATA"] = str(tmp / "data")

    import numpy as np
    import torch

    from vaselib import demo
    from vaselib.clip import demo_check, demo_model
    from vaselib.clip.backends import load_backend
    from vaselib.clip.embeddings import embed_files
    from vaselib.clip.params import DEMO_THRESHOLD
    from vaselib.images import discover_images

    try:
        t = time.perf_counter()
        demo.good_photos_dir()
        t_corpus = time.perf_counter() - t
        t = time.perf_counter()
        cached = (demo_model.model_folder() / "training.json").is_file()
        _, info = demo_model.ensure_demo_model()
        t_model = time.perf_counter() - t
        thr = DEMO_THRESHOLD if args.threshold is None else args.threshold
        r = demo_check.evaluate(threshold=thr, output_root=str(tmp / "runs"))

        print(f"demo corpus ready in {t_corpus:.1f} s")
        print(f"demo model: {info['description']}")
        when = "cached, trained earlier" if cached else f"this run {t_model:.1f} s"
        print(f"  training: {info['training_images']} images, {info['seconds_total']:.1f} s "
              f"(render {info['seconds_render']:.1f} s) with {info['torch_threads']} torch "
              f"thread(s); {when}")
        print(f"\nstage 03 at threshold {thr:.3f} on {r['images']} good photos "
              f"({r['fragment_images']} of broken vases, {r['intact_images']} intact):")
        print(f"  fragment photos rejected: {r['fragment_rejection']:.1%}")
        print(f"  intact views accepted:    {r['intact_acceptance']:.1%}")
        for kind, v in r["intact_acceptance_by_view"].items():
            print(f"    {kind:14s} {v['accepted']:3d}/{v['images']:3d}  "
                  f"mean score {v['mean_score']:+.3f}")
        w = r["window_90_90"]
        print(f"  thresholds giving >= 90 % / >= 90 %: "
              f"{'none' if w is None else f'{w[0]:+.3f} … {w[1]:+.3f}'}")
        print(f"  at 0.15: fragments rejected {r['at_0.15']['fragment_rejection']:.1%}, "
              f"intact accepted {r['at_0.15']['intact_acceptance']:.1%}")
        print(f"  ROC AUC intact vs fragment: {r['separation_auc']:.3f}")
        b = r["best_view"]
        print(f"\nstage 04 on {b['vases']} intact vases: chosen view kinds "
              f"{b['chosen_view_kinds']}")
        print(f"  vases with a profile and a top/bottom view: "
              f"{b['vases_with_profile_and_top_or_bottom']}, profile view chosen: "
              f"{b['profile_view_chosen']} ({b['profile_preference']:.0%})")
        print("  mean cosine to the high prompts by view: " + ", ".join(
            f"{k} {v:.3f}" for k, v in b["mean_similarity_by_view"].items()))

        # bf16 on a trained CLIP: the demo model, stage 03 at p25 of the analysis sample
        from vaselib.clip import fragment_filter
        from vaselib.clip.params import ClipQualityParams

        def stage03(name, **kw):
            return fragment_filter.run(ClipQualityParams(
                threshold=None, input_dir=str(demo.good_photos_dir()),
                output_dir=str(tmp / name), cache_dir=str(tmp / "prec-cache"),
                save_rejected=False, **kw), progress=False)

        ref = stage03("fp32")
        fp32 = dict(zip(ref.scored.files, ref.scores))
        print(f"\nbf16 and JPEG draft decoding against fp32, stage 03 at p25 of the "
              f"analysis sample ({len(fp32)} photos, fp32 score std {np.std(ref.scores):.3f}):")
        for label, kw in (("bf16", {"precision": "bf16", "fp32_recheck": False}),
                          ("bf16 + fp32_recheck", {"precision": "bf16"}),
                          ("fp32 + jpeg_draft", {"jpeg_draft": True})):
            rp = stage03(label.replace(" + ", "-"), **kw)
            d = np.abs(np.array([fp32[f] for f in rp.scored.files]) - rp.scores)
            same = float((rp.accepted_mask == ref.accepted_mask).mean())
            chk = rp.model.get("fp32_recheck") or {}
            print(f"  {label:20s}: decisions agree {same:.2%}, max |Δscore| "
                  f"{d.max():.2e}, threshold Δ {abs(rp.threshold - ref.threshold):.1e}, "
                  f"re-scored {chk.get('rescored_share', 0):.1%}")

        # DataLoader workers: a cold encoding pass of the good photos, 0 vs 1 worker
        paths = discover_images(demo.good_photos_dir())
        backend = load_backend("open_clip", demo_model.DEFAULT_CONFIG.arch,
                               demo_model.PRETRAINED_TAG, torch.device("cpu"))
        print(f"\ncold encoding of {len(paths)} photos ({torch.get_num_threads()} torch threads):")
        for workers in (0, 1, 0, 1):
            t = time.perf_counter()
            embed_files(backend, paths, cache_dir=tmp / f"cache-{workers}-{time.time_ns()}",
                        batch_size=64, num_workers=workers)
            print(f"  num_workers={workers}: {time.perf_counter() - t:.2f} s")
        (tmp / "result.json").write_text(json.dumps(r, indent=1))
        ok = (r["fragment_rejection"] >= 0.9 and r["intact_acceptance"] >= 0.9
              and (b["profile_preference"] or 0) >= 0.9)
        print(f"\n>= 90 % fragments rejected, >= 90 % intact accepted, >= 90 % profile views "
              f"chosen: {'yes' if ok else 'NO'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
