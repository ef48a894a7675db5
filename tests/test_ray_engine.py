"""engine: ray — stages 02, 03, 04 on Ray Data give the local engine's outputs and reports.

The slow test starts a local two-CPU Ray cluster on 127.0.0.1 (shut down after the module)
and compares both engines on the bad-input corpus.  The fast tests need no cluster: the
pieces the workers run (hash and decode tasks, the model actors rebuilt from their specs),
the missing-Ray message, the actor plan and concurrent writers of the embedding cache.
"""
from __future__ import annotations

import hashlib
import json
import math
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from badinputs import make_bad_corpus, snapshot

from vaselib import engines
from vaselib.clip import best_view, fragment_filter
from vaselib.clip.backends import load_backend
from vaselib.clip.embeddings import EmbeddingCache
from vaselib.clip.params import BestViewParams, ClipQualityParams
from vaselib.engines import ray_data
from vaselib.images import ImageFileDataset
from vaselib.resnet import classify
from vaselib.resnet.data import eval_transform
from vaselib.resnet.model import QualityClassifier, save_checkpoint
from vaselib.resnet.params import ClassifyParams

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(model="vase-micro-vit", pretrained=None, batch_size=8, device="cpu")
pytestmark = pytest.mark.usefixtures("isolated_clip")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "best_image_quality_model.pth"
    save_checkpoint(path, QualityClassifier("resnet18"), None, 0, 0.5, image_size=32)
    return path


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of two CPUs on 127.0.0.1, always shut down afterwards."""
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()
    try:
        ray_data.start_local(num_cpus=2)     # ray.init(num_cpus=2, include_dashboard=False,
        yield ray                            #          _node_ip_address="127.0.0.1", ...)
    finally:
        ray.shutdown()


def _q(src, out, cache, **kw):
    return ClipQualityParams(**{**TINY, "input_dir": str(src), "output_dir": str(out),
                                "cache_dir": str(cache), "threshold": 0.0, **kw})


def _b(src, out, cache, **kw):
    return BestViewParams(**{**TINY, "input_dir": str(src), "output_dir": str(out),
                             "cache_dir": str(cache), **kw})


def _c(src, out, ckpt, **kw):
    return ClassifyParams(**{"model_path": str(ckpt), "input_dir": str(src), "device": "cpu",
                             "output_dir": str(out), "batch_size": 8, **kw})


# volatile by nature: the time taken, and the folders each run was told to use
VOLATILE = {"processing_time_seconds", "processing_time", "processing_time_minutes",
            "output_directory", "output_dir", "cache_dir"}


def assert_same(a, b, path="report", tol=1e-5):
    """Equal JSON, floats within ``tol``, volatile keys ignored."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, sorted(set(a) ^ set(b)))
        for k in a:
            if k not in VOLATILE:
                assert_same(a[k], b[k], f"{path}.{k}", tol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]", tol)
    elif isinstance(a, float) and not isinstance(b, bool) and isinstance(b, (int, float)):
        assert math.isclose(a, b, rel_tol=0, abs_tol=tol), (path, a, b)
    else:
        assert a == b, (path, a, b)


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file placed under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def report(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text(encoding="utf-8"))


# ------------------------------------------------------------------- local vs ray, end to end
@pytest.mark.slow
def test_ray_gives_the_local_outputs_and_reports_on_the_bad_input_corpus(
        tmp_path, checkpoint, ray_cluster):
    c = make_bad_corpus(tmp_path / "src")
    before = snapshot(c.root)
    loc, ray = tmp_path / "local", tmp_path / "ray"

    # 02 -----------------------------------------------------------------------------
    a = classify.run(_c(c.root, loc / "02", checkpoint), progress=False)
    b = classify.run(_c(c.root, ray / "02", checkpoint, engine="ray"), progress=False)
    assert a.counts == b.counts and a.counts["total"] == c.inputs
    assert a.failures == b.failures and {f["file"] for f in a.failures} == set(c.failing)
    assert [(x.file, x.predicted_class) for x in a.predictions] == \
        [(x.file, x.predicted_class) for x in b.predictions]
    assert_same(report(loc / "02", "classification_report.json"),
                report(ray / "02", "classification_report.json"))
    for cls in "01":
        assert tree(loc / "02" / cls) == tree(ray / "02" / cls)

    # 03 -----------------------------------------------------------------------------
    a = fragment_filter.run(_q(c.root, loc / "03", loc / "cache"), progress=False)
    b = fragment_filter.run(_q(c.root, ray / "03", ray / "cache", engine="ray"), progress=False)
    assert (a.total, a.accepted, a.rejected, a.failed) == (b.total, b.accepted, b.rejected,
                                                            b.failed)
    assert a.total == c.inputs and a.failed == len(c.failing)
    assert a.scored.files == b.scored.files
    assert np.abs(a.scored.score - b.scored.score).max() <= 1e-5
    assert (a.accepted_mask == b.accepted_mask).all()
    assert a.scored.failures == b.scored.failures              # same files, same reasons
    for f, word in c.failing.items():
        assert word in {x["file"]: x["reason"] for x in b.scored.failures}[f]
    assert b.scored.cache_stats == a.scored.cache_stats        # encoded by the actors
    assert b.scored.cache_stats["encoded"] == len(c.good)
    for name in ("filtering_report.json", "score_analysis.json"):
        assert_same(report(loc / "03", name), report(ray / "03", name))
    for sub in ("accepted", "rejected"):
        assert tree(loc / "03" / sub) == tree(ray / "03" / sub)

    # 04 -----------------------------------------------------------------------------
    a4 = best_view.run(_b(c.root, loc / "04", loc / "cache4"), progress=False)
    b4 = best_view.run(_b(c.root, ray / "04", ray / "cache4", engine="ray"), progress=False)
    assert b4.failures == a4.failures and b4.vases == a4.vases > 0
    assert b4.verification == a4.verification
    for name in ("best_views_report.json", "filtering_stats.json"):
        assert_same(report(loc / "04", name), report(ray / "04", name))
    assert tree(loc / "04" / "best_views") == tree(ray / "04" / "best_views")

    # the cluster's cache serves both engines: nothing is encoded again
    again = best_view.run(_b(c.root, ray / "04b", ray / "cache", engine="ray"), progress=False)
    assert again.failures == a4.failures
    local = fragment_filter.run(_q(c.root, loc / "03b", ray / "cache", threshold=0.05),
                                progress=False)
    assert local.scored.cache_stats["encoded"] == 0
    assert local.scored.cache_stats["cache_hits"] == len(c.good)
    assert np.abs(local.scored.score - b.scored.score).max() <= 1e-5
    assert snapshot(c.root) == before                          # sources untouched


# ------------------------------------------------------------------- the workers' pieces
def _batch(paths):
    import os

    return {"index": np.arange(len(paths)), "path": np.array([os.fsencode(str(p))
                                                              for p in paths], dtype=object)}


def test_the_tasks_fail_each_bad_file_with_the_local_reason(tmp_path):
    c = make_bad_corpus(tmp_path / "src")
    paths = [c.root / f for f in sorted(c.good) + sorted(c.failing)]
    transform = eval_transform(32)
    local = ImageFileDataset(paths, transform)
    decoded = ray_data._decode_batch(_batch(paths), transform, 89_478_485,
                                     ray_data._shape(transform))
    for j in range(len(paths)):
        tensor, _, why = local[j]
        assert (decoded["error"][j] or None) == why, paths[j]
        if why is None:
            assert np.array_equal(decoded["pixels"][j], tensor.numpy())
    hashed = ray_data._hash_batch(_batch(paths))
    dangling = [i for i, p in enumerate(paths) if p.is_symlink() and not p.exists()]
    assert dangling and all(hashed["sha"][i] == "" and "dangling symlink" in hashed["error"][i]
                            for i in dangling)
    assert all(len(hashed["sha"][i]) == 64 for i in range(len(paths)) if i not in dangling)


def test_the_model_actors_rebuild_the_same_model_from_a_picklable_spec(tmp_path, checkpoint,
                                                                      monkeypatch):
    p = ClipQualityParams(**TINY, engine="ray")
    backend = load_backend(p.backend, p.model, p.pretrained, torch.device("cpu"), p.seed)
    spec = pickle.loads(pickle.dumps(ray_data.ClipSpec.of(p, backend)))
    encoder = ray_data.ClipEncoder(spec)
    assert encoder.backend.key == backend.key
    pixels = torch.rand(3, *ray_data._shape(backend.preprocess))
    got = encoder({"index": np.arange(3), "error": np.array(["", "bad", ""], dtype=object),
                   "pixels": pixels.numpy()})
    want = backend.encode_images(pixels)
    assert np.abs(got["vector"][[0, 2]] - want[[0, 2]]).max() <= 1e-6
    assert np.isnan(got["vector"][1]).all()
    import dataclasses

    with pytest.raises(ray_data.EngineError, match="other weights"):
        ray_data.ClipEncoder(dataclasses.replace(spec, seed=spec.seed + 1))
    import open_clip                         # a node with another open_clip is refused too

    with monkeypatch.context() as m, pytest.raises(
            ray_data.EngineError, match="library versions.*'open_clip': '0.0.other'"):
        m.setattr(open_clip, "__version__", "0.0.other")
        ray_data.ClipEncoder(spec)

    rspec = pickle.loads(pickle.dumps(ray_data.ResnetSpec.of(_c(tmp_path, tmp_path / "o",
                                                                 checkpoint), checkpoint)))
    out = ray_data.ResnetClassifier(rspec)({"index": np.arange(2),
                                            "error": np.array(["", ""], dtype=object),
                                            "pixels": np.zeros((2, 3, 32, 32), np.float32)})
    assert np.allclose(out["probs"].sum(1), 1.0)
    with pytest.raises(ray_data.EngineError, match="another checkpoint"):
        ray_data.ResnetClassifier(dataclasses.replace(rspec, sha256="0" * 64))
    # torch_compile: the actor compiles for the stage's batch size and pads smaller batches
    pixels = np.random.default_rng(0).random((2, 3, 32, 32), dtype=np.float32)
    batch = {"index": np.arange(2), "error": np.array(["", ""], dtype=object),
             "pixels": pixels}
    eager = ray_data.ResnetClassifier(rspec)(batch)["probs"]
    comp = ray_data.ResnetClassifier(dataclasses.replace(rspec, compiled=4))(batch)["probs"]
    np.testing.assert_allclose(comp, eager, atol=1e-5)
    # runtime onnxruntime: the actor exports (or loads) the same checkpoint for ONNX Runtime
    ort = ray_data.ResnetClassifier(dataclasses.replace(rspec, runtime="onnxruntime"))(batch)
    np.testing.assert_allclose(ort["probs"], eager, atol=1e-5)
    # ... keyed by the file's SHA-256, as stage 02 run here keys it: one export for both
    assert rspec.sha256 == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    exports = sorted((tmp_path / "data").rglob("*.onnx"))
    assert len(exports) == 1
    from vaselib.resnet import predict
    from vaselib.resnet.model import load_checkpoint

    model, _ = load_checkpoint(checkpoint)
    predict.predict_files(model, [], 32, torch.device("cpu"), runtime="onnxruntime",
                          model_key=predict.checkpoint_sha256(checkpoint))
    assert sorted((tmp_path / "data").rglob("*.onnx")) == exports


def test_the_workers_encode_at_the_backends_precision_not_the_parameter():
    """Stage 03/04's fp32 re-check of an int8 run embeds through the same engine with an
    fp32 backend: the workers must rebuild *that* backend, not the stage's int8; a compiled
    backend is compiled there too."""
    p = ClipQualityParams(**TINY, engine="ray", precision="int8")
    int8 = load_backend(p.backend, p.model, p.pretrained, torch.device("cpu"), p.seed,
                        "int8")
    fp32 = int8.with_precision("fp32")
    compiled = fp32.compiled_for(4)                 # torch_compile: the workers compile too
    ort = fp32.on_onnxruntime()                     # and runtime onnxruntime runs there too
    for backend in (int8, fp32, compiled, compiled.with_jpeg_draft(), ort):
        spec = pickle.loads(pickle.dumps(ray_data.ClipSpec.of(p, backend)))
        assert spec.precision == backend.precision and spec.compiled == backend.compiled
        assert spec.runtime == backend.runtime
        assert ray_data.ClipEncoder(spec).backend.key == backend.key


def test_the_actor_pool_takes_one_gpu_per_actor_when_the_cluster_has_gpus(monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 32.0, "GPU": 4.0})
    assert ray_data.cluster_plan("auto") == {"use_gpu": True, "actors": 4, "num_gpus": 1,
                                             "num_cpus": 1, "cpus": 32, "gpus": 4}
    assert ray_data.cluster_plan("cpu")["use_gpu"] is False
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})
    plan = ray_data.cluster_plan("auto")
    assert (plan["use_gpu"], plan["actors"]) == (False, 1)


# ------------------------------------------------------------------- before any work
@pytest.mark.parametrize("stage", ["02", "03", "04"])
def test_engine_ray_without_ray_fails_before_work_naming_the_extra(stage, tmp_path, checkpoint,
                                                                   monkeypatch):
    monkeypatch.setattr(engines, "_importable", lambda m: not m.startswith("ray"))
    out = tmp_path / "out"
    src = tmp_path / "photos"
    src.mkdir()
    p = {"02": lambda: _c(src, out, checkpoint, engine="ray"),
         "03": lambda: _q(src, out, tmp_path / "cache", engine="ray"),
         "04": lambda: _b(src, out, tmp_path / "cache", engine="ray")}[stage]()
    run = {"02": classify.run, "03": fragment_filter.run, "04": best_view.run}[stage]
    with pytest.raises(engines.EngineUnavailable, match=r"pip install -e \.\[ray\]"):
        run(p, progress=False)
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_the_cli_says_how_to_install_ray(tmp_path, monkeypatch, capsys):
    from vaselib.cli import main

    monkeypatch.setattr(engines, "_importable", lambda m: not m.startswith("ray"))
    code = main(["run", "03", "--no-kernel", "-p", "engine", "ray", "-p", "input_dir",
                 str(tmp_path), "-p", "output_dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install -e .[ray]" in err and "Traceback" not in err


def test_engine_parameters_are_checked():
    with pytest.raises(Exception, match="engine"):
        ClipQualityParams(engine="dask")
    assert ClipQualityParams().engine == "local" and ClassifyParams().ray_address is None


# ------------------------------------------------------------------- the cache, shared
def test_concurrent_writers_of_one_embedding_cache_lose_nothing(tmp_path):
    """Two processes storing batches into one cache at once (WAL + busy timeout, one
    transaction per batch), as a local run and a cluster run on one machine may."""
    writer = textwrap.dedent(f"""
        import sys, numpy as np
        from vaselib.clip.embeddings import EmbeddingCache
        tag = sys.argv[1]
        cache = EmbeddingCache({str(tmp_path / 'cache')!r}, 'm', {{'model': 'm'}}, 8)
        rng = np.random.default_rng(int(tag))
        for b in range(60):
            cache.put_many([f"{{tag}}-{{b}}-{{i}}" for i in range(16)],
                           rng.random((16, 8), dtype=np.float32))
        cache.close()
    """)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(t)], env=env,
                              stderr=subprocess.PIPE, text=True) for t in (1, 2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    cache = EmbeddingCache(tmp_path / "cache", "m", {"model": "m"}, 8)
    try:
        assert len(cache) == 2 * 60 * 16
        out = np.zeros((2, 8), np.float32)
        found, corrupt = cache.get_many(["1-59-15", "2-0-0"], out, [0, 1])
        assert found.all() and corrupt == 0
    finally:
        cache.close()
