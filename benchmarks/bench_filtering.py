"""The filtering stages against the original's per-image scripts, near this CPU's limit.

One command, one sitting, one table (also written to ``benchmarks/RESULTS.md``):

- this machine: CPU model and flags, torch threads, the measured matmul GFLOP/s (fp32,
  bf16) and each model's FLOPs per image, so every throughput shows its fraction of the
  roofline;
- CLIP ViT-B/32 quality scores (stage 03, HuggingFace backend, random weights with the
  real shapes and FLOPs) on generated 800×600 JPEGs: the original's loop (``CLIPProcessor``
  and one ``get_image_features`` per image), vaselib's stage 03 end to end with a cold
  cache (model load included), its steady state eager, with ``torch_compile`` and with
  ``jpeg_draft`` (with its score change), the model alone (eager and compiled) and the
  decoding and preprocessing per photo, and every precision path with its largest
  score change against fp32 and the share of decisions that agree at the threshold, bare
  and as stage 03 runs it (re-checking in fp32 the images near the threshold), and
  ``runtime: onnxruntime`` (cold with and without its one-time ONNX export, steady, the
  model alone, with its score change and decision agreement);
- ResNet50 quality classification (stage 02): the original's loop (PIL resize, ToTensor,
  Normalize, one image per forward) and vaselib's stage 02 end to end, eager, with
  ``torch_compile`` and on ONNX Runtime, and the model alone on each;
- memory: the peak RSS of stage 03 on 1,000 and on 20,000 images (a tiny model: the
  bookkeeping grows, not the model) and the time per image of each;
- re-thresholding 30,000 cached scores;
- a busy machine: stage 03's encoding and a stage-01 training epoch alone and beside
  another CPU-bound process, with OpenMP threads waiting passively (vaselib's setting) and
  spinning (the default).

    python benchmarks/bench_filtering.py            # 1,000 images (about half an hour)
    python benchmarks/bench_filtering.py --quick    # 120 images, a smoke run

Never part of ``make test``.  Ratios are measured side by side in this one run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


# ------------------------------------------------------------------------------ machine
def machine() -> dict:
    import torch

    from vaselib.precision import cpu_flags, forced_kernels

    model, flags = platform.processor(), cpu_flags()
    try:
        names = [line.split(":", 1)[1].strip()
                 for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8",
              "avx_vnni")
    return {"cpu": model, "cores": os.cpu_count(), "flags": [f for f in wanted if f in flags],
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)"),
            "forced": forced_kernels()}


def matmul_gflops(dtype_name: str, n: int = 1024, seconds: float = 2.0) -> float:
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * n ** 3 * count / (time.perf_counter() - start) / 1e9


def flops_per_image(module, x) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        module(x)
    return fc.get_total_flops() / x.shape[0]


# ------------------------------------------------------------------------------ inputs
def make_jpegs(folder: Path, n: int, size=(800, 600), seed: int = 0) -> list[Path]:
    import numpy as np
    from PIL import Image, ImageFilter

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    base = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    for i in range(n):
        shift = rng.integers(0, 40, 3, dtype=np.uint8)
        img = Image.fromarray(base + shift).resize(size).filter(ImageFilter.GaussianBlur(2))
        p = folder / f"{0xA0000 + i:08X}-0000_{1 + i % 4}_ac001001.jpg"
        img.save(p, quality=90)
        out.append(p)
    return out


def hf_clip_folder(folder: Path) -> Path:
    """A ViT-B/32-shaped HuggingFace CLIP with random weights (the real FLOPs)."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor, CLIPTokenizer

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest_clip import make_tiny_hf_clip   # its byte-level tokenizer, reused

    make_tiny_hf_clip(folder)                      # tokenizer + processor files
    tok = CLIPTokenizer.from_pretrained(folder)
    cfg = CLIPConfig(text_config=dict(vocab_size=len(tok), max_position_embeddings=77,
                                      bos_token_id=0, eos_token_id=1, pad_token_id=1),
                     vision_config=dict(image_size=224, patch_size=32), projection_dim=512)
    torch.manual_seed(0)
    CLIPModel(cfg).eval().save_pretrained(folder)
    try:
        from transformers import CLIPImageProcessorPil as Proc
    except ImportError:
        from transformers import CLIPImageProcessor as Proc
    Proc(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(
        folder)
    del CLIPProcessor
    return folder


# ------------------------------------------------------------------------------ original
def original_clip(folder: Path, files: list[Path]) -> tuple[float, list[float]]:
    """The original's loop: load, then one image at a time through the processor."""
    import torch
    from PIL import Image
    from transformers import AutoTokenizer, CLIPModel

    from vaselib.clip.backends import _features, _image_processor
    from vaselib.clip.params import HIGH_PROMPTS, LOW_PROMPTS

    start = time.perf_counter()
    model = CLIPModel.from_pretrained(folder).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    proc = _image_processor(folder)
    with torch.no_grad():
        def prompt(ps):
            f = _features(model.get_text_features(**tok(list(ps), padding=True,
                                                        return_tensors="pt"))).mean(0)
            return f / f.norm()
        hi, lo = prompt(HIGH_PROMPTS), prompt(LOW_PROMPTS)
        scores = []
        for f in files:
            pix = proc(images=Image.open(f).convert("RGB"), return_tensors="pt")["pixel_values"]
            e = _features(model.get_image_features(pixel_values=pix))[0]
            e = e / e.norm()
            scores.append(float(e @ hi - e @ lo))
    return time.perf_counter() - start, scores


def original_resnet(ckpt: Path, files: list[Path]) -> float:
    import torch
    from PIL import Image
    from torchvision import transforms as T

    from vaselib.resnet.model import load_checkpoint

    start = time.perf_counter()
    model, _ = load_checkpoint(ckpt)
    tf = T.Compose([T.Resize((224, 224)), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    with torch.no_grad():
        for f in files:
            torch.softmax(model(tf(Image.open(f).convert("RGB"))[None]), 1)
    return time.perf_counter() - start


def resnet_alone(ckpt: Path, roof: float, batch: int = 32,
                 repeats: int = 8) -> list[tuple[str, str, str]]:
    """ResNet50 alone on ready batches (no decoding), eager and compiled (channels-last)
    and on ONNX Runtime: the ceiling of stage 02 at each setting."""
    import torch

    from vaselib import compiled
    from vaselib.resnet.model import load_checkpoint

    model, _ = load_checkpoint(ckpt)
    model = model.eval().to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, 224, 224).contiguous(memory_format=torch.channels_last)
    fn, secs = compiled.compile_module(model, x, what="ResNet50")
    from vaselib.resnet.predict import onnx_forward
    ort = onnx_forward(model, 224, "bench-resnet50", torch.device("cpu"))
    xc = x.contiguous()
    rows, eager = [], None
    for label, f in (("eager", model), ("torch_compile", fn),
                     ("onnxruntime", lambda _: ort(xc))):
        with torch.inference_mode():
            f(x)
            start = time.perf_counter()
            for _ in range(repeats):
                f(x)
        rate = repeats * batch / (time.perf_counter() - start)
        eager = eager or rate
        note = f"{rate / roof:.0%} of the fp32 roofline"
        if f is fn:
            note += f"; compiled in {secs:.1f} s; {rate / eager:.2f}× eager"
        elif f is not model:
            note += f"; {rate / eager:.2f}× eager"
        rows.append((f"ResNet50 alone, batch {batch}, channels-last, {label}",
                     f"{rate:.2f} img/s", note))
    return rows


# ------------------------------------------------------------------------------ vaselib
def stage03(src: Path, out: Path, folder: Path, cache: Path, **kw):
    from vaselib.clip import fragment_filter
    from vaselib.clip.params import ClipQualityParams

    start = time.perf_counter()
    r = fragment_filter.run(ClipQualityParams(**{
        "backend": "hf", "model": str(folder), "pretrained": None, "input_dir": str(src),
        "output_dir": str(out), "cache_dir": str(cache), "threshold": 0.0,
        "save_rejected": False, "link_mode": "hardlink", **kw}), progress=False)
    return time.perf_counter() - start, r


def encode_rate(backend, files: list[Path], cache: Path, batch: int = 64) -> float:
    from vaselib.clip.embeddings import embed_files

    start = time.perf_counter()
    embed_files(backend, files, cache_dir=cache, batch_size=batch)
    return len(files) / (time.perf_counter() - start)


def stage02(src: Path, out: Path, ckpt: Path, **kw):
    from vaselib.resnet import classify
    from vaselib.resnet.params import ClassifyParams

    start = time.perf_counter()
    r = classify.run(ClassifyParams(model_path=str(ckpt), input_dir=str(src),
                                    output_dir=str(out), link_mode="hardlink", **kw),
                     progress=False)
    return time.perf_counter() - start, r


# ------------------------------------------------------------------------------ children
CHILD_MEMORY = textwrap.dedent("""
    import json, resource, sys, time
    from vaselib.clip import fragment_filter
    from vaselib.clip.params import ClipQualityParams
    src, out, cache = sys.argv[1:4]
    t = time.perf_counter()
    r = fragment_filter.run(ClipQualityParams(model="vase-micro-vit", pretrained=None,
        input_dir=src, output_dir=out, cache_dir=cache, threshold=0.0, save_rejected=False,
        link_mode="hardlink", batch_size=256), progress=False)
    print(json.dumps({"seconds": time.perf_counter() - t, "images": r.total,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

CHILD_BUSY = textwrap.dedent("""
    import json, sys, time, torch
    what = sys.argv[1]
    if what.startswith("encode"):
        from vaselib.clip.backends import load_backend
        b = load_backend("hf", sys.argv[2], None, torch.device("cpu"))
        if what == "encode-onnxruntime":
            b = b.on_onnxruntime()
        x = torch.randn(32, 3, 224, 224)
        b.encode_images(x)
        t = time.perf_counter()
        for _ in range(3):
            b.encode_images(x)
        print(json.dumps({"seconds": time.perf_counter() - t}))
    else:
        from vaselib.resnet.model import QualityClassifier
        m = QualityClassifier("resnet18").train()
        opt = torch.optim.Adam(m.parameters())
        x, y = torch.randn(16, 3, 96, 96), torch.randint(0, 2, (16,))
        t = time.perf_counter()
        for _ in range(20):   # one demo epoch is 20 steps of 16 images at 96 px
            opt.zero_grad(); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step()
        print(json.dumps({"seconds": time.perf_counter() - t}))
""")

CHILD_COLD = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import bench_filtering as bf
    src, folder, out = map(Path, sys.argv[2:5])
    runtime = sys.argv[5]
    files = sorted(src.glob("*.jpg"))
    t_orig, _ = bf.original_clip(folder, files)
    t_vase, _ = bf.stage03(src, out / "o03", folder, out / "cache", runtime=runtime)
    print(json.dumps({"original": t_orig, "vaselib": t_vase, "images": len(files)}))
""")

NEIGHBOUR = "import torch\na = torch.randn(800, 800)\nwhile True:\n    a @ a\n"


def child(code: str, *args, env=None, replace_env: bool = False) -> dict:
    full = dict(env or {}) if replace_env else {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, env=full)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def busy(what: str, folder: Path, policy: str) -> tuple[float, float]:
    env = {"OMP_WAIT_POLICY": policy}
    alone = child(CHILD_BUSY, what, folder, env=env)["seconds"]
    neighbour = subprocess.Popen([sys.executable, "-c", NEIGHBOUR],
                                 env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        time.sleep(1.0)
        loaded = child(CHILD_BUSY, what, folder, env=env)["seconds"]
    finally:
        neighbour.kill()
        neighbour.wait()
    return alone, loaded


# ------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="120 images, fewer repeats")
    ap.add_argument("--memory-images", type=int, default=20_000)
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    args = ap.parse_args(argv)
    n = 120 if args.quick else args.images
    n_mem = 2_000 if args.quick else args.memory_images
    tmp = Path(tempfile.mkdtemp(prefix="bench-filtering-"))
    # torch.compile's kernels go to a fresh folder: every run measures a cold compile
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(tmp / "inductor")
    try:
        return _measure(args, n, n_mem, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)      # ~1 GB of photos and models


def _measure(args, n: int, n_mem: int, tmp: Path) -> int:
    import numpy as np
    import torch

    from vaselib.clip.backends import load_backend
    from vaselib.clip.params import HIGH_PROMPTS, LOW_PROMPTS
    from vaselib.resnet.model import QualityClassifier, save_checkpoint

    rows: list[tuple[str, str, str]] = []
    info = machine()
    print(json.dumps(info), flush=True)
    os.environ["VASELIB_DATA"] = str(tmp / "data")
    files = make_jpegs(tmp / "photos", n)
    folder = hf_clip_folder(tmp / "clip-vit-b-32")
    ckpt = tmp / "resnet50.pth"
    torch.manual_seed(0)
    save_checkpoint(ckpt, QualityClassifier("resnet50"), None, 0, 0.5, image_size=224,
                    interpolation="bilinear")

    g32, g16 = matmul_gflops("float32"), matmul_gflops("bfloat16", seconds=1.0)
    cpu = torch.device("cpu")
    backend = load_backend("hf", str(folder), None, cpu)
    clip_flops = flops_per_image(lambda x: backend.model.get_image_features(pixel_values=x),
                                 torch.randn(2, 3, 224, 224))
    resnet_flops = flops_per_image(QualityClassifier("resnet50").eval(),
                                   torch.randn(2, 3, 224, 224))
    clip_roof, resnet_roof = g32 * 1e9 / clip_flops, g32 * 1e9 / resnet_flops
    rows += [("matmul fp32", f"{g32:.1f} GFLOP/s", ""),
             ("matmul bf16", f"{g16:.1f} GFLOP/s", f"{g16 / g32:.2f}× fp32"),
             ("CLIP ViT-B/32 image tower", f"{clip_flops / 1e9:.2f} GFLOP/image",
              f"roofline {clip_roof:.1f} img/s"),
             ("ResNet50 at 224 px", f"{resnet_flops / 1e9:.2f} GFLOP/image",
              f"roofline {resnet_roof:.1f} img/s")]

    # --- CLIP: original vs vaselib
    t_orig, orig_scores = original_clip(folder, files)
    from vaselib.clip.backends import clear_loaded
    clear_loaded()
    t_cold, r_cold = stage03(tmp / "photos", tmp / "o03", folder, tmp / "cache-cold")
    steady = encode_rate(backend, files, tmp / "cache-steady")
    agree = np.corrcoef(orig_scores, [dict(zip(r_cold.scored.files, r_cold.scores))[f.name]
                                      for f in files])[0, 1]
    rows += [("03 original loop (model load included)", f"{n / t_orig:.2f} img/s", "1.00×"),
             ("03 vaselib, cold cache, load included", f"{n / t_cold:.2f} img/s",
              f"{t_orig / t_cold:.2f}× original"),
             ("03 vaselib steady state (fp32)", f"{steady:.2f} img/s",
              f"{steady / clip_roof:.0%} of the fp32 roofline"),
             ("03 scores vs the original's", f"correlation {agree:.6f}", "")]

    # --- the same comparison in fresh processes under each OpenMP wait policy: idle
    # threads that sleep at once (PASSIVE, what `make` sets) slow the original's one-image
    # forwards more than vaselib's batches; unset is how a plain `python script.py` runs
    # ONNX Runtime's first run exports the model (into a fresh data folder); a later process
    # only loads that export (and finds the weights' hash remembered there)
    for policy in ("unset", "PASSIVE"):
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        if policy != "unset":
            env["OMP_WAIT_POLICY"] = policy
        for label, runtime in (("", "torch"), (", onnxruntime, export included", "onnxruntime"),
                               (", onnxruntime", "onnxruntime")):
            out = tmp / f"cold-{policy}-{runtime}-{len(label)}"
            c = child(CHILD_COLD, ROOT / "benchmarks", tmp / "photos", folder, out, runtime,
                      env={**env, "VASELIB_DATA": str(tmp / f"data-cold-{policy}-{runtime}")},
                      replace_env=True)
            rows.append((f"03 cold, fresh process, OMP_WAIT_POLICY {policy}{label}",
                         f"original {c['images'] / c['original']:.2f}, vaselib "
                         f"{c['images'] / c['vaselib']:.2f} img/s",
                         f"{c['original'] / c['vaselib']:.2f}× original"))

    # --- where the rest goes: the model alone, eager and compiled; decoding and preprocessing
    compiled = backend.compiled_for(64)        # torch's kernel cache is empty: a cold compile
    on_ort = backend.on_onnxruntime()          # exported here (the cache folder is fresh)
    x = torch.randn(64, 3, 224, 224)
    for label, b in (("eager", backend), ("torch_compile", compiled),
                     ("onnxruntime", on_ort)):
        b.encode_images(x)
        start = time.perf_counter()
        for _ in range(3):
            b.encode_images(x)
        rate = 3 * 64 / (time.perf_counter() - start)
        rows.append((f"ViT-B/32 alone, batch 64, {label}", f"{rate:.2f} img/s",
                     f"{rate / clip_roof:.0%} of the fp32 roofline" + (
                         f"; compiled in {compiled.compile_seconds:.1f} s"
                         if b is compiled else "") + (
                         f"; exported and loaded in {on_ort.runtime_seconds:.1f} s"
                         if b is on_ort else "")))
    from vaselib.images import open_image
    sample = files[:64]
    for label, draft in (("", 0), (", jpeg_draft", 224)):
        start = time.perf_counter()
        images = [open_image(f, jpeg_draft=draft) for f in sample]
        t_dec = (time.perf_counter() - start) / len(sample)
        start = time.perf_counter()
        for im in images:
            backend.preprocess(im)
        t_pre = (time.perf_counter() - start) / len(sample)
        rows.append((f"decode + preprocess per photo (one thread{label})",
                     f"{1000 * t_dec:.2f} + {1000 * t_pre:.2f} ms",
                     f"{(t_dec + t_pre) * clip_roof:.0%} of an image's time at the roofline"))
    steady_c = encode_rate(compiled, files, tmp / "cache-steady-compiled")
    rows.append(("03 vaselib steady state (fp32, torch_compile)", f"{steady_c:.2f} img/s",
                 f"{steady_c / clip_roof:.0%} of the fp32 roofline; {steady_c / steady:.2f}× "
                 f"eager"))
    # JPEG draft decoding: speed, and how far the scores move from a full decode
    from vaselib.clip import scoring
    from vaselib.clip.embeddings import embed_files

    def scores(b, cache):
        emb = embed_files(b, files, cache_dir=cache)
        return scoring.clip_scores(emb.vectors, scoring.encode_prompts(b, list(HIGH_PROMPTS)),
                                   scoring.encode_prompts(b, list(LOW_PROMPTS))).score

    full = scores(backend, tmp / "cache-steady")
    thr = float(np.percentile(full, 25))
    for label, b in (("onnxruntime", on_ort),
                     ("onnxruntime + jpeg_draft", on_ort.with_jpeg_draft()),
                     ("jpeg_draft", backend.with_jpeg_draft()),
                     ("jpeg_draft + torch_compile", compiled.with_jpeg_draft())):
        cache = tmp / f"cache-steady-{label.replace(' + ', '-')}"
        rate = encode_rate(b, files, cache)
        s = scores(b, cache)
        same = float(((s >= thr) == (full >= thr)).mean())
        rows.append((f"03 vaselib steady state (fp32, {label})", f"{rate:.2f} img/s",
                     f"{rate / clip_roof:.0%} of the fp32 roofline; {rate / steady:.2f}× eager; "
                     f"max |Δscore| {np.abs(s - full).max():.2e} (score std "
                     f"{full.std():.1e}); decisions agree {same:.2%} at p25"))

    # --- precision paths
    ref = None
    for prec in ("fp32", "bf16", "int8"):
        b = load_backend("hf", str(folder), None, cpu, precision=prec)
        rate = encode_rate(b, files[: max(64, n // 4)], tmp / f"cache-{prec}")
        from vaselib.clip.embeddings import embed_files
        from vaselib.clip import scoring

        emb = embed_files(b, files, cache_dir=tmp / f"cache-{prec}")
        hi = scoring.encode_prompts(b, list(HIGH_PROMPTS))
        lo = scoring.encode_prompts(b, list(LOW_PROMPTS))
        s = scoring.clip_scores(emb.vectors, hi, lo).score
        if ref is None:
            ref, ref_rate = s, rate
            thr = float(np.percentile(ref, 25))
            rows.append((f"precision {prec}", f"{rate:.2f} img/s", "reference"))
            continue
        same = float(((s >= thr) == (ref >= thr)).mean())
        rows.append((f"precision {prec}", f"{rate:.2f} img/s",
                     f"{rate / ref_rate:.2f}× fp32; max |Δscore| {np.abs(s - ref).max():.2e}; "
                     f"decisions agree {same:.2%} at p25"))

    # --- stage 03 at each precision with the fp32 re-check near the threshold (p25 of the
    # analysis sample), the model already loaded, each with an empty cache
    t_ref, r_ref = stage03(tmp / "photos", tmp / "o03-fp32", folder, tmp / "cache-chk-fp32",
                           threshold=None)
    rows.append(("03 stage at p25, fp32", f"{n / t_ref:.2f} img/s", "reference"))
    for prec in ("bf16", "int8"):
        t_p, r_p = stage03(tmp / "photos", tmp / f"o03-{prec}", folder,
                           tmp / f"cache-chk-{prec}", threshold=None, precision=prec)
        chk = r_p.model.get("fp32_recheck") or {}
        same = float((r_p.accepted_mask == r_ref.accepted_mask).mean())
        rows.append((f"03 stage at p25, {prec} + fp32 re-check", f"{n / t_p:.2f} img/s",
                     f"{t_ref / t_p:.2f}× fp32; decisions agree {same:.2%}; threshold "
                     f"Δ {abs(r_p.threshold - r_ref.threshold):.1e}; re-scored "
                     f"{chk.get('rescored_share', 0):.1%} (band ±{chk.get('band', 0):.2e})"))

    # --- ResNet50: original vs vaselib
    t_rorig = original_resnet(ckpt, files)
    t_r, r_02 = stage02(tmp / "photos", tmp / "o02", ckpt)
    t_rc, _ = stage02(tmp / "photos", tmp / "o02c", ckpt, torch_compile=True)
    from vaselib import onnx_runtime
    ort_runs = {}
    for label in ("export included", "export cached"):
        onnx_runtime._SESSIONS.clear()
        ort_runs[label] = stage02(tmp / "photos", tmp / f"o02-ort-{label[-6:]}", ckpt,
                                  runtime="onnxruntime")
    rows += [("02 original loop (model load included)", f"{n / t_rorig:.2f} img/s", "1.00×"),
             ("02 vaselib end to end (fp32)", f"{n / t_r:.2f} img/s",
              f"{t_rorig / t_r:.2f}× original; roofline {resnet_roof:.1f} img/s"),
             ("02 vaselib end to end (fp32, torch_compile)", f"{n / t_rc:.2f} img/s",
              f"{t_rorig / t_rc:.2f}× original; the compile included")]
    ref_hi = np.array([x.prob_high for x in r_02.predictions])
    for label, (t_o, r_o) in ort_runs.items():
        hi = np.array([x.prob_high for x in r_o.predictions])
        same = float((np.array([x.predicted_class for x in r_o.predictions]) ==
                      np.array([x.predicted_class for x in r_02.predictions])).mean())
        rows.append((f"02 vaselib end to end (fp32, onnxruntime, {label})", f"{n / t_o:.2f} img/s",
                     f"{t_rorig / t_o:.2f}× original; max |ΔP(high)| "
                     f"{np.abs(hi - ref_hi).max():.1e}; decisions agree {same:.2%}"))
    rows += resnet_alone(ckpt, resnet_roof)

    # --- memory, 1k vs many images (tiny model)
    from PIL import Image
    mem_dir = tmp / "many"
    mem_dir.mkdir()
    rng = np.random.default_rng(1)
    for i in range(n_mem):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
            mem_dir / f"{i:06d}.png")
    small_dir = tmp / "few"
    small_dir.mkdir()
    for p in sorted(mem_dir.iterdir())[:1000]:
        os.link(p, small_dir / p.name)
    m1 = child(CHILD_MEMORY, small_dir, tmp / "m1", tmp / "mc1")
    m2 = child(CHILD_MEMORY, mem_dir, tmp / "m2", tmp / "mc2")
    rows += [("memory, 1,000 images", f"{m1['rss_mb']:.0f} MB peak RSS",
              f"{1000 * m1['seconds'] / m1['images']:.2f} ms/image"),
             (f"memory, {n_mem:,} images", f"{m2['rss_mb']:.0f} MB peak RSS",
              f"{m2['rss_mb'] / m1['rss_mb']:.2f}× the 1,000-image run; "
              f"{1000 * m2['seconds'] / m2['images']:.2f} ms/image")]

    # --- re-threshold 30k cached scores
    from vaselib.clip.widgets import ThresholdExplorer
    sc = np.random.default_rng(0).normal(0, 0.1, 30_000).astype(np.float32)
    w = ThresholdExplorer(sc, [f"f{i}.jpg" for i in range(30_000)], 0.0)
    t = time.perf_counter()
    for thr in np.linspace(-0.2, 0.2, 20):
        w.update(float(thr))
    rows.append(("re-threshold 30,000 cached scores", f"{(time.perf_counter() - t) / 20 * 1000:.1f} ms",
                 "per move of the slider"))

    # --- a busy machine
    for what, label in (("encode", "03 encoding"),
                        ("encode-onnxruntime", "03 encoding, onnxruntime"),
                        ("train", "01 demo training epoch")):
        for policy in ("PASSIVE", "ACTIVE"):
            alone, loaded = busy(what, folder, policy)
            rows.append((f"{label}, OMP_WAIT_POLICY={policy}",
                         f"{alone:.2f} s alone, {loaded:.2f} s beside a busy process",
                         f"{loaded / alone:.2f}× slower"))

    width = max(len(r[0]) for r in rows)
    lines = [f"| {'measurement':{width}s} | value | ratio |", f"|{'-' * (width + 2)}|---|---|"]
    lines += [f"| {a:{width}s} | {b} | {c} |" for a, b, c in rows]
    table = "\n".join(lines)
    print(table)
    if not args.no_write and not args.quick:
        title = "# Filtering benchmark (benchmarks/bench_filtering.py)\n"
        old = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
        earlier = old[old.index("\n## ") + 1:] if "\n## " in old else ""
        RESULTS.write_text(
            title + "\nNewest run first. `bench_filtering.py` adds its run at the top and "
            "keeps the earlier ones below as they were written.\n\n"
            f"## {time.strftime('%Y-%m-%d %H:%M')}\n\n"
            f"Measured on {info['cpu']} ({info['cores']} cores; "
            f"flags: {', '.join(info['flags']) or 'none of note'}; torch {info['torch']}, "
            f"{info['torch_threads']} threads, kernels {info['torch_cpu_capability']}, "
            f"OMP_WAIT_POLICY {info['omp_wait_policy']}"
            + "".join(f", {k}={v}" for k, v in info["forced"].items()) + "), "
            f"{n} generated 800×600 JPEGs, random weights with the real shapes.\n\n"
            + table + "\n" + ("\n" + earlier if earlier else ""), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
