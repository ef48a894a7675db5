"""Stage 03/04 scores: both backends against an independent computation of the formula."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest_clip import HIGH, LOW, make_tiny_hf_clip, write_images
from PIL import Image

from vaselib.clip import scoring
from vaselib.clip.backends import _features, clear_loaded, load_backend
from vaselib.clip.embeddings import embed_files
from vaselib.clip.params import HIGH_PROMPTS, LOW_PROMPTS, ClipQualityParams
from vaselib.clip.fragment_filter import score_folder


pytestmark = pytest.mark.usefixtures("isolated_clip")


def _unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _reference_score(img_feats, high_feats, low_feats):
    """The original's definition: each prompt set's *raw* text features are averaged, then
    the mean is normalised; score = cos(img, high) - cos(img, low)."""
    img = _unit(img_feats)
    h = _unit(np.asarray(high_feats, dtype=np.float64).mean(0))
    lo = _unit(np.asarray(low_feats, dtype=np.float64).mean(0))
    return img @ h - img @ lo, img @ h, img @ lo


def test_default_prompts_are_the_originals_8_plus_8():
    p = ClipQualityParams()
    assert p.high_prompts == list(HIGH_PROMPTS) and len(p.high_prompts) == 8
    assert p.low_prompts == list(LOW_PROMPTS) and len(p.low_prompts) == 8
    assert p.high_prompts[0] == "a complete intact vase viewed from the front"
    assert p.low_prompts[-1] == "partial vase pieces and fragments"


def test_hf_folder_backend_matches_the_formula(tmp_path):
    """The original's way (one image at a time, CLIPModel + PIL processor) gives the same."""
    from transformers import AutoTokenizer, CLIPModel

    try:
        from transformers import CLIPImageProcessorPil as Proc
    except ImportError:
        from transformers import CLIPImageProcessor as Proc

    folder = make_tiny_hf_clip(tmp_path / "clip-vit-tiny")
    files = write_images(tmp_path / "imgs", n_vases=4, views=2, size=45)
    backend = load_backend("hf", str(folder), None, torch.device("cpu"))
    sc = score_folder(backend, tmp_path / "imgs", files, HIGH, LOW, cache_dir=tmp_path / "c",
                      batch_size=3)

    model = CLIPModel.from_pretrained(folder).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    proc = Proc.from_pretrained(folder)
    with torch.no_grad():
        def text(prompts):
            rows = []
            for t in prompts:  # one prompt at a time: no padding effects
                out = model.get_text_features(**tok([t], return_tensors="pt"))
                rows.append(out if isinstance(out, torch.Tensor) else out.pooler_output)
            return torch.cat(rows).numpy()
        imgs = []
        for f in files:
            pix = proc(images=Image.open(f).convert("RGB"), return_tensors="pt")["pixel_values"]
            out = model.get_image_features(pixel_values=pix)
            imgs.append((out if isinstance(out, torch.Tensor) else out.pooler_output)[0].numpy())
        ref, rh, rl = _reference_score(np.stack(imgs), text(HIGH), text(LOW))
    order = [files.index(p) for p in sc.paths]
    np.testing.assert_allclose(sc.score, ref[order], atol=1e-5)
    np.testing.assert_allclose(sc.sim_high, rh[order], atol=1e-5)
    np.testing.assert_allclose(sc.sim_low, rl[order], atol=1e-5)
    assert backend.kind == "hf" and backend.weights_sha256.startswith("files:")
    assert len(backend.weights_sha256) == len("files:") + 64


def test_open_clip_backend_matches_plain_torch(tmp_path):
    """A tiny random open_clip model from a checkpoint file, recomputed with plain torch."""
    import open_clip
    from torchvision import transforms as T

    from vaselib.clip.demo_model import register_configs

    register_configs()
    torch.manual_seed(3)
    model = open_clip.create_model("vase-micro-vit", pretrained=None).eval()
    ckpt = tmp_path / "micro.pt"
    torch.save(model.state_dict(), ckpt)
    files = write_images(tmp_path / "imgs", n_vases=3, views=2, size=50)

    backend = load_backend("open_clip", "vase-micro-vit", str(ckpt), torch.device("cpu"))
    sc = score_folder(backend, tmp_path / "imgs", files, HIGH, LOW, cache_dir=tmp_path / "c",
                      batch_size=4)

    tf = T.Compose([T.Resize(32, interpolation=T.InterpolationMode.BICUBIC),
                    T.CenterCrop(32), T.ToTensor(),
                    T.Normalize((0.48145466, 0.4578275, 0.40821073),
                                (0.26862954, 0.26130258, 0.27577711))])
    tok = open_clip.get_tokenizer("vase-micro-vit")
    with torch.no_grad():
        img = torch.cat([model.encode_image(tf(Image.open(f).convert("RGB"))[None]) for f in files])
        hi, lo = model.encode_text(tok(HIGH)), model.encode_text(tok(LOW))
    ref, rh, _ = _reference_score(img.numpy(), hi.numpy(), lo.numpy())
    np.testing.assert_allclose(sc.score, ref, atol=1e-5)
    np.testing.assert_allclose(sc.sim_high, rh, atol=1e-5)
    assert "checkpoint file" in backend.weights


def test_normalised_averaging_is_an_option_that_scores_differently(tmp_path):
    """Averaging unit prompt embeddings is not the original's formula: it moves the scores."""
    torch.manual_seed(5)
    files = write_images(tmp_path / "imgs", n_vases=3, views=2)
    backend = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=5)
    orig = score_folder(backend, tmp_path / "imgs", files, HIGH, LOW, cache_dir=tmp_path / "c")
    norm = score_folder(backend, tmp_path / "imgs", files, HIGH, LOW, cache_dir=tmp_path / "c",
                        prompt_average="normalised")
    raw_h, raw_l = backend.text_features(HIGH), backend.text_features(LOW)
    emb = embed_files(backend, files, cache_dir=tmp_path / "c").vectors
    h = _unit(_unit(raw_h).mean(0))
    lo = _unit(_unit(raw_l).mean(0))
    np.testing.assert_allclose(norm.score, emb @ h - emb @ lo, atol=1e-5)
    assert np.abs(orig.score - norm.score).max() > 1e-4
    assert ClipQualityParams().prompt_average == "original"


def test_random_weights_are_said_plainly_and_seeded(tmp_path):
    a = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=1)
    clear_loaded()
    b = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=1)
    clear_loaded()
    c = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=2)
    assert "random" in a.weights.lower() and "RANDOM" in a.description
    assert a.key == b.key and a.key != c.key   # same seed, same weights, same cache


def test_features_accepts_tensor_output_object_and_tuple():
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    t = torch.randn(2, 4)
    assert _features(t) is t
    assert _features(BaseModelOutputWithPooling(pooler_output=t)) is t
    assert _features((torch.zeros(2, 3, 4), t)) is t


def test_prompts_are_parameters(tmp_path):
    files = write_images(tmp_path / "imgs", n_vases=2, views=2)
    backend = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"))
    a = score_folder(backend, tmp_path / "imgs", files, HIGH, LOW, cache_dir=tmp_path / "c")
    b = score_folder(backend, tmp_path / "imgs", files, LOW, HIGH, cache_dir=tmp_path / "c")
    np.testing.assert_allclose(a.score, -b.score, atol=1e-6)


def test_analysis_percentiles_and_suggestions():
    s = np.arange(101, dtype=float) / 100     # 0.00 … 1.00
    a = scoring.analyse(s, bins=10)
    assert a["percentiles"]["p25"] == pytest.approx(0.25)
    assert a["suggested_thresholds"]["keep_75"] == pytest.approx(0.25)
    assert a["suggested_thresholds"]["keep_10"] == pytest.approx(0.90)
    assert a["median"] == pytest.approx(0.5) and a["min"] == 0 and a["max"] == 1
    assert sum(a["histogram"]["counts"]) == 101
    assert scoring.auto_threshold(a) == pytest.approx(0.25)
    assert scoring.apply_threshold(s, 0.25).sum() == 76      # score >= threshold


def test_neighbours_straddle_the_threshold():
    s = np.array([0.5, -0.2, 0.1, 0.3, -0.05, 0.0])
    above, below = scoring.neighbours(s, 0.05, k=2)
    assert list(s[above]) == [0.1, 0.3] and list(s[below]) == [0.0, -0.05]


def test_sample_is_seeded():
    a = scoring.sample_indices(1000, 50, seed=7)
    assert np.array_equal(a, scoring.sample_indices(1000, 50, seed=7))
    assert not np.array_equal(a, scoring.sample_indices(1000, 50, seed=8))
    assert len(scoring.sample_indices(10, 50, seed=7)) == 10


def test_embeddings_are_normalised_and_failures_kept_apart(tmp_path):
    files = write_images(tmp_path / "imgs", n_vases=2, views=2)
    bad = tmp_path / "imgs" / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    backend = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"))
    e = embed_files(backend, files + [bad], cache_dir=tmp_path / "c", batch_size=2)
    assert list(e.failures) == [len(files)] and "cannot decode" in e.failures[len(files)]
    np.testing.assert_allclose(np.linalg.norm(e.vectors[e.ok], axis=1), 1, atol=1e-5)
    assert np.isnan(e.vectors[~e.ok]).all()


def test_embeddings_of_another_library_version_are_encoded_afresh(tmp_path, monkeypatch):
    """Same weights, same images: a cache filled under one open_clip (or torch) serves the
    same versions and is not read under another."""
    import open_clip

    files = write_images(tmp_path / "imgs", n_vases=2, views=1)
    backend = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=3)
    assert backend.identity["code"]["open_clip"] == open_clip.__version__
    assert backend.identity["code"]["torch"] == torch.__version__
    first = embed_files(backend, files, cache_dir=tmp_path / "c", batch_size=2)
    assert first.stats["encoded"] == 2
    assert embed_files(backend, files, cache_dir=tmp_path / "c").stats["encoded"] == 0
    for module, attr in ((open_clip, "__version__"), (torch, "__version__")):
        with monkeypatch.context() as m:
            m.setattr(module, attr, "0.0.other")
            again = embed_files(backend, files, cache_dir=tmp_path / "c", batch_size=2)
            assert again.stats["encoded"] == 2
            np.testing.assert_allclose(again.vectors, first.vectors, atol=1e-6)
    assert embed_files(backend, files, cache_dir=tmp_path / "c").stats["encoded"] == 0


def test_int8_embeddings_are_close_cached_apart_and_reported(tmp_path):
    files = write_images(tmp_path / "imgs", n_vases=3, views=2)
    fp32 = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=3)
    int8 = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=3,
                        precision="int8")
    a = embed_files(fp32, files, cache_dir=tmp_path / "c")
    b = embed_files(int8, files, cache_dir=tmp_path / "c")
    assert b.stats["encoded"] == len(files)          # not fp32's cache entries
    assert fp32.key != int8.key and int8.identity["precision"] == "int8"
    cos = (a.vectors * b.vectors).sum(1)
    assert cos.min() > 0.95
    auto = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=3,
                        precision="auto")
    from vaselib import precision

    # auto takes no reduced path: none kept 99.5 % of the decisions when measured
    assert auto.precision == "fp32"
    assert auto.precision_reason.startswith("auto")
    assert ("98.8 %" in auto.precision_reason) == precision.native_bf16()


def test_int8_keeps_layers_read_by_their_parent_and_says_when_nothing_is_quantised(tmp_path):
    """open_clip's modified ResNet ends in an attention pool that reads its projections'
    ``weight`` / ``bias`` itself: quantising them broke int8 on the demo architecture."""
    from vaselib import precision

    class AttentionPool2d(torch.nn.Module):      # reads its child's tensors, like open_clip's
        def __init__(self):
            super().__init__()
            self.q_proj = torch.nn.Linear(4, 4)

        def forward(self, x):
            return torch.nn.functional.linear(x, self.q_proj.weight, self.q_proj.bias)

    net = torch.nn.Sequential(torch.nn.Linear(4, 4), AttentionPool2d(), torch.nn.Linear(4, 2))
    assert precision.quantisable_linears(net) == {"0", "2"}
    q = precision.prepare(net, "int8")
    assert type(q[1].q_proj) is torch.nn.Linear and type(q[0]) is not torch.nn.Linear
    x = torch.randn(3, 4)
    np.testing.assert_allclose(q(x).detach(), net(x).detach(), atol=0.1)

    files = write_images(tmp_path / "imgs", n_vases=2, views=2)
    rn = load_backend("open_clip", "vase-tiny-rn", None, torch.device("cpu"), seed=3,
                      precision="int8")
    # its image path is convolutions and the attention pool: nothing int8 could take
    assert rn.precision == "fp32" and "no linear layer" in rn.precision_reason
    e = embed_files(rn, files, cache_dir=tmp_path / "c")
    assert e.ok.all()


def test_auto_precision_takes_no_path_below_the_decision_agreement(monkeypatch):
    from vaselib import precision

    for device in ("cpu", "cuda"):
        chosen, why = precision.resolve("auto", device)
        assert chosen == "fp32" and why.startswith("auto")
    # bf16 only where it runs natively and the stage re-checks its decisions in fp32
    for native in (True, False):
        monkeypatch.setattr(precision, "native_bf16", lambda: native)
        assert precision.resolve("auto", "cpu", rechecked=True)[0] == \
            ("bf16" if native else "fp32")
        assert precision.resolve("auto", "cpu", rechecked=False)[0] == "fp32"
        assert precision.resolve("auto", "cuda", rechecked=True)[0] == "fp32"
    assert precision.resolve("bf16", "cpu") == ("bf16", "asked for")
    with pytest.raises(ValueError, match="int8"):
        precision.resolve("int8", "cuda")


def test_native_bf16_follows_the_kernels_torch_is_allowed(monkeypatch):
    """An AMX CPU whose kernels are held to AVX2 (as the test suite's AVX2 runs do) emulates
    bfloat16: auto must not take it there."""
    from vaselib import precision

    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2", "amx_bf16"}))
    assert precision.native_bf16()
    for name, value, native in [("ONEDNN_MAX_CPU_ISA", "AVX2", False),
                                ("ONEDNN_MAX_CPU_ISA", "avx512_core", False),
                                ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX", True),
                                ("ONEDNN_MAX_CPU_ISA", "ALL", True),
                                ("ATEN_CPU_CAPABILITY", "avx2", False),
                                ("ATEN_CPU_CAPABILITY", "avx512", True)]:
        monkeypatch.setenv(name, value)
        assert precision.native_bf16() is native, (name, value)
        if not native:
            assert f"{name}={value}" in precision.resolve("auto", "cpu", rechecked=True)[1]
        assert precision.resolve("auto", "cpu", rechecked=True)[0] == \
            ("bf16" if native else "fp32")
        monkeypatch.delenv(name)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert not precision.native_bf16()


@pytest.mark.parametrize("config", [
    {},                                                           # the usual CLIP steps
    {"size": {"shortest_edge": 20}, "crop_size": {"height": 24, "width": 24}},   # pads
    {"do_center_crop": False},
    {"resample": 2, "image_mean": [0.5, 0.4, 0.3]},
])
def test_the_direct_hf_preprocess_gives_the_processors_tensor_bit_for_bit(config):
    """The reference is transformers' own CLIP image processor, called on the same image."""
    from vaselib.clip.backends import HfPreprocess

    try:
        from transformers import CLIPImageProcessorPil as Proc
    except ImportError:
        from transformers import CLIPImageProcessor as Proc
    base = {"size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32}}
    proc = Proc(**{**base, **config})
    pre = HfPreprocess(proc)
    assert (pre.direct is None) == (config == {"do_center_crop": False})
    rng = np.random.default_rng(0)
    for w, h in [(80, 60), (60, 80), (33, 32), (32, 33), (101, 47), (32, 32), (17, 90)]:
        for mode in ("RGB", "L", "RGBA"):
            im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode)
            want = proc(images=im, return_tensors="pt")["pixel_values"][0]
            got = pre(im)
            assert got.dtype == want.dtype and torch.equal(got, want), (w, h, mode, config)


def test_torch_compile_encodes_like_eager_pads_the_last_batch_and_caches_apart(tmp_path):
    from vaselib.clip import fragment_filter
    from vaselib.clip.backends import BackendError

    files = write_images(tmp_path / "imgs", n_vases=5, views=1)     # 5 images: 4 + 1 padded
    eager = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=3)
    comp = eager.compiled_for(4)
    assert comp.compiled == 4 and comp.compile_seconds > 0 and comp.key != eager.key
    assert eager.compiled == 0                                      # the eager one is untouched
    a = embed_files(eager, files, cache_dir=tmp_path / "c", batch_size=4)
    b = embed_files(comp, files, cache_dir=tmp_path / "c", batch_size=4)
    assert b.stats["encoded"] == 5 and comp.batches_encoded == 2
    np.testing.assert_allclose(b.vectors, a.vectors, atol=1e-5)
    assert comp.with_precision("bf16").compiled == 0                # precision paths are eager
    with pytest.raises(BackendError, match="int8"):
        eager.with_precision("int8").compiled_for(4)

    r = fragment_filter.run(ClipQualityParams(
        model="vase-micro-vit", pretrained=None, seed=3, batch_size=4, torch_compile=True,
        input_dir=str(tmp_path / "imgs"), output_dir=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "c"), threshold=0.0), progress=False)
    assert r.model["torch_compile"]["batch_size"] == 4
    assert r.scored.cache_stats["cache_hits"] == 5                  # the compiled entries
    assert any("torch.compile" in n for n in r.notes)


def test_jpeg_draft_decodes_at_the_smallest_libjpeg_scale_covering_the_input(tmp_path):
    from vaselib.clip import fragment_filter
    from vaselib.images import open_image

    rng = np.random.default_rng(0)
    (tmp_path / "imgs").mkdir()
    big = tmp_path / "imgs" / "photo.jpg"
    Image.fromarray(rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)).save(big, quality=90)
    png = tmp_path / "imgs" / "scan.png"
    Image.fromarray(rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)).save(png)
    # 800×600: 1/2 → 400×300 covers 224, 1/4 → 200×150 does not; 1/8 → 100×75 covers 32
    assert open_image(big, jpeg_draft=224).size == (400, 300)
    assert open_image(big, jpeg_draft=32).size == (100, 75)
    assert open_image(big).size == (800, 600) and open_image(png, jpeg_draft=32).size == (800, 600)

    eager = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=3)
    draft = eager.with_jpeg_draft()
    assert draft.preprocess.jpeg_draft == 32 and draft.key != eager.key
    assert eager.preprocess is not draft.preprocess and not hasattr(eager.preprocess,
                                                                     "jpeg_draft")
    a = embed_files(eager, [big, png], cache_dir=tmp_path / "c")
    b = embed_files(draft, [big, png], cache_dir=tmp_path / "c")
    assert b.stats["encoded"] == 2                                   # cached apart
    assert np.array_equal(a.vectors[1], b.vectors[1])                # PNG: no draft
    assert not np.array_equal(a.vectors[0], b.vectors[0])            # JPEG: other pixels
    assert float(a.vectors[0] @ b.vectors[0]) > 0.9

    r = fragment_filter.run(ClipQualityParams(
        model="vase-micro-vit", pretrained=None, seed=3, jpeg_draft=True,
        input_dir=str(tmp_path / "imgs"), output_dir=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "c"), threshold=0.0), progress=False)
    assert r.model["jpeg_draft"] == 32 and r.scored.cache_stats["cache_hits"] == 2
    assert any("jpeg_draft" in n for n in r.notes)


def test_onnxruntime_encodes_like_torch_exports_once_and_caches_apart(tmp_path, monkeypatch):
    """The reference is torch's own fp32 forward of the same weights on the same images."""
    from vaselib import onnx_runtime, runs
    from vaselib.clip import fragment_filter

    files = write_images(tmp_path / "imgs", n_vases=5, views=1)
    eager = load_backend("open_clip", "vase-micro-vit", None, torch.device("cpu"), seed=3)
    ort = eager.on_onnxruntime()
    assert ort.runtime == "onnxruntime" and eager.runtime == "torch"
    assert ort.key != eager.key and ort._ort.exported
    exported = sorted((runs.cache_dir("onnx")).glob("*.onnx"))
    assert len(exported) == 1 and not list(runs.cache_dir("onnx").glob(".*"))
    a = embed_files(eager, files, cache_dir=tmp_path / "c", batch_size=4)
    b = embed_files(ort, files, cache_dir=tmp_path / "c", batch_size=4)   # 4 + 1: any batch
    assert b.stats["encoded"] == 5 and ort.batches_encoded == 2
    np.testing.assert_allclose(b.vectors, a.vectors, atol=1e-5)
    onnx_runtime._SESSIONS.clear()                               # a new process: loads, no export
    again = eager.on_onnxruntime()
    assert not again._ort.exported and sorted(runs.cache_dir("onnx").glob("*.onnx")) == exported
    # another version of the code that defines the model (open_clip, torch) exports apart
    import open_clip
    import onnxruntime
    assert {"open_clip", "torch"} <= set(onnx_runtime.code_versions(eager.model))
    assert ort.identity["code"]["onnxruntime"] == onnxruntime.__version__
    assert "onnxruntime" not in eager.identity["code"]
    onnx_runtime._SESSIONS.clear()
    with monkeypatch.context() as m:
        m.setattr(open_clip, "__version__", "0.0.other")
        assert eager.on_onnxruntime()._ort.exported
    assert len(list(runs.cache_dir("onnx").glob("*.onnx"))) == 2
    onnx_runtime._SESSIONS.clear()

    r = fragment_filter.run(ClipQualityParams(
        model="vase-micro-vit", pretrained=None, seed=3, batch_size=4, runtime="onnxruntime",
        input_dir=str(tmp_path / "imgs"), output_dir=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "c"), threshold=0.0), progress=False)
    assert r.model["runtime"]["name"] == "onnxruntime"
    assert r.scored.cache_stats["cache_hits"] == 5                  # onnxruntime's entries
    assert any("ONNX Runtime" in n for n in r.notes)
    for bad in (dict(precision="bf16"), dict(torch_compile=True)):
        with pytest.raises(ValueError, match="runtime: onnxruntime"):
            ClipQualityParams(runtime="onnxruntime", **bad)


def test_onnxruntime_refuses_a_gpu_and_a_failed_export_leaves_no_file(tmp_path, monkeypatch):
    from vaselib import onnx_runtime, runs

    with pytest.raises(onnx_runtime.OnnxRuntimeError, match="device: cpu"):
        onnx_runtime.require(torch.device("cuda"))

    def broken(*a, **k):
        Path(a[2]).write_bytes(b"half an onnx file")     # what an interrupted export leaves
        raise RuntimeError("exporter failed")

    monkeypatch.setattr(torch.onnx, "export", broken)
    with pytest.raises(onnx_runtime.OnnxRuntimeError, match="set runtime: torch"):
        onnx_runtime.load(torch.nn.Linear(3, 2), torch.zeros(2, 3), "k", what="a layer")
    assert not runs.cache_dir("onnx").exists() or not any(runs.cache_dir("onnx").iterdir())
