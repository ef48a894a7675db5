"""Ray Data implementations of the scoring stages' expensive step.

:func:`embed_files` (stages 03, 04) and :func:`predict_files` (stage 02) return exactly
what their local counterparts return (:func:`vaselib.clip.embeddings.embed_files`,
:func:`vaselib.resnet.predict.predict_files`), so the stages' thresholding, placement,
counting and reports are shared.  The work is spread like this:

1. the file list becomes a Ray Dataset of ``(index, path)`` rows (paths, not bytes: a
   file that cannot be read must fail with the same reason as locally, so each task opens
   it with :class:`vaselib.images.ImageFileDataset`, which calls
   :func:`~vaselib.images.open_image`; Ray's own readers would stop at the first bad file);
2. **CPU tasks** hash the files' bytes (stage 03/04: the embedding cache's key) and, for the
   images not in the cache, decode and preprocess them (``map_batches`` with a function);
3. an **actor pool** runs the model (``map_batches`` with a class whose ``__init__`` loads
   it once per actor from a picklable spec, :class:`ClipSpec` / :class:`ResnetSpec`): one
   GPU per actor when the cluster has GPUs, CPU actors otherwise.  Each actor checks that
   it loaded the very weights this process loaded (the cache key, or the checkpoint's
   SHA-256), so a node holding another file under the same path fails loudly instead of
   scoring with other weights;
4. the results stream back here, keyed by index (Ray Data does not keep the order).

**The embedding cache** is read and written only by this process, batch by batch as the
results arrive (one SQLite transaction per batch, WAL with a busy timeout, exactly as the
local engine).  The workers send back the content hashes and the float32 rows (2 kB an
image for ViT-B-32); they never open the SQLite file themselves, because SQLite's WAL mode
needs every connection on one host and does not work over NFS — and the cache usually sits
on the shared storage a cluster reads its inputs from.  So after a cluster run the cache
holds every embedding, and a rerun with another threshold, here or on the cluster, encodes
nothing.

A Ray session this process already holds (``ray.init`` in the notebook) is used as it is;
otherwise ``ray_address`` says where to connect (``None``: start a local cluster, as
``ray.init()`` does).  A started session stays for the process, like a loaded model, and
is shut down by Ray when the process ends (or by :func:`shutdown`).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from vaselib.images import DEFAULT_MAX_PIXELS, preprocessed_shape

__all__ = ["ClipSpec", "ResnetSpec", "EngineError", "start_local", "connect", "shutdown",
           "embed_files", "predict_files", "cluster_plan"]

# what the workers need from this process's environment to find the same data and models
_ENV_PREFIXES = ("VASELIB_",)
_ENV_NAMES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
DECODE_WORKER_BYTES = 768 * 2**20


class EngineError(RuntimeError):
    """The Ray cluster cannot be reached, or a worker does not hold the same model."""


def _worker_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES}


def _absolute_file(value: str | None) -> str | None:
    """An existing file path made absolute (workers do not share this process's folder)."""
    if value and os.path.isfile(os.path.expanduser(value)):
        return str(Path(value).expanduser().resolve())
    return value


# --------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class ClipSpec:
    """How a worker loads the CLIP model this process loaded (picklable)."""

    backend: str
    model: str
    pretrained: str | None
    device: str                  # the stage's device parameter (auto, cpu, cuda[:N])
    seed: int
    key: str                     # the loaded model's cache key: the worker must match it
    env: dict[str, str] = field(default_factory=dict)
    use_gpu: bool = False        # decided from the cluster's resources
    precision: str = "fp32"      # what this process's backend encodes at (resolved)
    compiled: int = 0            # torch.compile'd for this batch size (0: eager)
    jpeg_draft: bool = False     # the preprocess (and so the cache key) asks for draft decoding
    runtime: str = "torch"       # what runs the image path: torch or onnxruntime

    @classmethod
    def of(cls, params: Any, backend) -> "ClipSpec":
        model = params.model
        if params.backend == "hf":
            model = str(Path(model).expanduser().resolve())
        elif model.startswith("local-dir:"):
            model = "local-dir:" + str(Path(model[len("local-dir:"):]).expanduser().resolve())
        return cls(params.backend, model, _absolute_file(params.pretrained), params.device,
                   params.seed, backend.key, _worker_env(),
                   precision=backend.precision, compiled=backend.compiled,
                   jpeg_draft=bool(getattr(backend.preprocess, "jpeg_draft", 0)),
                   runtime=backend.runtime)


@dataclass(frozen=True)
class ResnetSpec:
    """How a worker loads the quality classifier this process loaded (picklable)."""

    model_path: str
    sha256: str                  # of the checkpoint file: the worker must read the same bytes
    device: str
    env: dict[str, str] = field(default_factory=dict)
    use_gpu: bool = False
    precision: str = "fp32"      # resolved: fp32, bf16 or int8
    compiled: int = 0            # torch.compile'd for this batch size (0: eager)
    runtime: str = "torch"       # torch or onnxruntime

    @classmethod
    def of(cls, params: Any, model_path: str | Path, precision: str = "fp32",
           compiled: int = 0, runtime: str = "torch") -> "ResnetSpec":
        from vaselib.resnet.predict import checkpoint_sha256

        path = Path(model_path).expanduser().resolve()
        return cls(str(path), checkpoint_sha256(path), params.device, _worker_env(),
                   precision=precision, compiled=compiled, runtime=runtime)


def _worker_device(spec) -> "Any":
    import torch

    return torch.device("cuda" if spec.use_gpu else "cpu")   # Ray sets CUDA_VISIBLE_DEVICES


# --------------------------------------------------------------------------- the session
_STARTED = False


def _vaselib_root() -> str:
    import vaselib

    return str(Path(vaselib.__file__).resolve().parents[1])


def start_local(num_cpus: int | None = None, *, attempts: int = 3, progress: bool = False,
                **kwargs: Any) -> None:
    """Start a local Ray cluster on 127.0.0.1 (its workers import this vaselib).

    On a loaded machine Ray 2.x's raylet can give up on its dashboard agent (a fixed 15 s
    wait for the agent's port file, "The current node timed out during startup"); the
    next attempt finds the agent's imports in the page cache and usually starts, so the
    start is tried ``attempts`` times.
    """
    global _STARTED
    import ray

    pythonpath = os.pathsep.join(p for p in (_vaselib_root(), os.environ.get("PYTHONPATH"))
                                 if p)
    for attempt in range(1, attempts + 1):
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=progress,
                     _node_ip_address="127.0.0.1",
                     runtime_env={"env_vars": {"PYTHONPATH": pythonpath}}, **kwargs)
            _STARTED = True
            return
        except Exception as err:  # noqa: BLE001 - Ray raises a bare Exception here
            ray.shutdown()
            if "timed out during startup" not in str(err) or attempt == attempts:
                raise EngineError(f"cannot start a local Ray cluster: {err}") from None


def connect(address: str | None = None, *, progress: bool = False) -> None:
    """Join (or start) the Ray cluster, unless this process is connected already."""
    global _STARTED
    import ray

    if ray.is_initialized():
        return
    if address is None:
        start_local(progress=progress)
        return
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=progress)
    except ConnectionError as err:
        raise EngineError(
            f"cannot reach a Ray cluster at ray_address={address!r} ({err}); start one with "
            f"`ray start --head` (then ray_address: auto), check the address, or use "
            f"ray_address: null for a local cluster") from None
    _STARTED = True


def shutdown() -> None:
    """Shut down the Ray session this module started (one joined or started by the user
    with ``ray.init`` is left alone)."""
    global _STARTED
    if _STARTED:
        import ray

        ray.shutdown()
        _STARTED = False


def cluster_plan(device: str) -> dict[str, Any]:
    """The actor pool for the model: one actor per GPU when the cluster has GPUs (and the
    stage's device is not ``cpu``), else CPU actors on half the CPUs (the other half decode)."""
    import ray

    res = ray.cluster_resources()
    cpus, gpus = int(res.get("CPU", 1)), int(res.get("GPU", 0))
    if gpus > 0 and device not in ("cpu", "mps"):
        return {"use_gpu": True, "actors": gpus, "num_gpus": 1, "num_cpus": 1, "cpus": cpus,
                "gpus": gpus}
    return {"use_gpu": False, "actors": max(1, cpus // 2), "num_gpus": 0, "num_cpus": 1,
            "cpus": cpus, "gpus": gpus}


@contextmanager
def _quiet(progress: bool) -> Iterator[None]:
    """Ray Data without its own progress bars and stats logs (vaselib shows one bar)."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    saved = (ctx.enable_progress_bars, ctx.enable_auto_log_stats)
    logger = logging.getLogger("ray.data")
    level = logger.level
    ctx.enable_progress_bars = False
    ctx.enable_auto_log_stats = False
    if not progress:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        ctx.enable_progress_bars, ctx.enable_auto_log_stats = saved
        logger.setLevel(level)


def _dataset(rows: Sequence[int], paths: Sequence[Path], batch_size: int):
    """A Ray Dataset of ``{index, path}`` (paths as file-system bytes: any name survives)."""
    import ray.data

    items = [{"index": int(r), "path": os.fsencode(str(paths[r]))} for r in rows]
    blocks = max(1, min(len(items), math.ceil(len(items) / max(1, batch_size))))
    return ray.data.from_items(items, override_num_blocks=blocks)


def _paths(batch) -> list[Path]:
    return [Path(os.fsdecode(bytes(b))) for b in batch["path"]]


def _strings(values) -> np.ndarray:
    return np.array(list(values), dtype=object)


def _failed(error) -> np.ndarray:
    """Rows of a batch whose ``error`` is set."""
    return np.array([bool(e) for e in error], dtype=bool)


# --------------------------------------------------------------------------- tasks
def _hash_batch(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Content hashes (the cache key); an unreadable file gets the local engine's reason."""
    from vaselib.clip.embeddings import hash_files
    from vaselib.images import unreadable_reason

    paths = _paths(batch)
    hashes = hash_files(paths)
    return {"index": batch["index"], "sha": _strings(h or "" for h in hashes),
            "error": _strings("" if h else unreadable_reason(p) for h, p in zip(hashes, paths))}


def _decode_batch(batch: dict[str, np.ndarray], transform, max_pixels: int,
                  shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Decode and preprocess with the local engine's dataset: same images, same reasons."""
    from vaselib.images import ImageFileDataset

    ds = ImageFileDataset(_paths(batch), transform, max_pixels)
    pixels = np.zeros((len(ds), *shape), dtype=np.float32)
    errors = []
    for j in range(len(ds)):
        tensor, _, why = ds[j]
        if why is None:
            arr = np.asarray(tensor, dtype=np.float32)
            if arr.shape != tuple(shape):
                why = (f"cannot preprocess image (it became {tuple(arr.shape)}, not "
                       f"{tuple(shape)})")
            else:
                pixels[j] = arr
        errors.append(why or "")
    return {"index": batch["index"], "error": _strings(errors), "pixels": pixels}


# --------------------------------------------------------------------------- actors
class ClipEncoder:
    """Ray Data actor: the CLIP model, loaded once in ``__init__``; encodes decoded rows."""

    def __init__(self, spec: ClipSpec):
        os.environ.update(spec.env)
        from vaselib.clip.backends import load_backend

        self.backend = load_backend(spec.backend, spec.model, spec.pretrained,
                                    _worker_device(spec), spec.seed, spec.precision)
        if spec.jpeg_draft:
            self.backend = self.backend.with_jpeg_draft()
        if spec.compiled:
            self.backend = self.backend.compiled_for(spec.compiled)
        if spec.runtime == "onnxruntime":
            self.backend = self.backend.on_onnxruntime()
        if self.backend.key != spec.key:
            raise EngineError(
                f"a Ray worker loaded {spec.model!r} with pretrained={spec.pretrained!r} but got "
                f"other weights or library versions than the driver (cache key "
                f"{self.backend.key[:16]} ≠ {spec.key[:16]}; this node runs "
                f"{self.backend.identity['code']}): every node must see the same model files "
                f"at the same paths and install the same versions")
        self.dim = int(self.backend.embed_dim)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        bad = _failed(batch["error"])
        vectors = np.full((len(bad), self.dim), np.nan, dtype=np.float32)
        good = np.flatnonzero(~bad)
        if good.size:
            pixels = torch.from_numpy(np.ascontiguousarray(batch["pixels"][good]))
            vectors[good] = self.backend.encode_images(pixels)
        return {"index": batch["index"], "error": batch["error"], "vector": vectors}


def torch_channels_last():
    import torch

    return torch.channels_last


class ResnetClassifier:
    """Ray Data actor: the quality classifier, loaded once in ``__init__``."""

    def __init__(self, spec: ResnetSpec):
        os.environ.update(spec.env)
        from vaselib.files import file_sha256
        from vaselib.resnet.model import load_checkpoint

        digest = file_sha256(spec.model_path)
        if digest != spec.sha256:
            raise EngineError(
                f"a Ray worker reads another checkpoint at {spec.model_path} (sha256 "
                f"{digest[:16]} ≠ {spec.sha256[:16]}): every node must see the same file")
        from vaselib import precision

        self.device = _worker_device(spec)
        self.precision = spec.precision
        model, ckpt = load_checkpoint(spec.model_path, self.device)
        # the local engine's fast path: channels-last, at the stage's precision
        self.model = precision.prepare(model.eval().to(memory_format=torch_channels_last()),
                                       spec.precision)
        if spec.compiled:
            from vaselib.resnet.predict import compiled_forward

            self.model = compiled_forward(self.model, int(ckpt.get("image_size", 224)),
                                          spec.compiled, self.device, spec.precision)
        if spec.runtime == "onnxruntime":
            from vaselib.resnet.predict import onnx_forward

            self.model = onnx_forward(self.model, int(ckpt.get("image_size", 224)),
                                      spec.sha256, self.device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        bad = _failed(batch["error"])
        probs = np.full((len(bad), 2), np.nan, dtype=np.float32)
        good = np.flatnonzero(~bad)
        if good.size:
            from vaselib import precision

            x = torch.from_numpy(np.ascontiguousarray(batch["pixels"][good])).to(self.device)
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode(), precision.autocast(self.precision, self.device):
                probs[good] = torch.softmax(self.model(x).float(), dim=1).cpu().numpy()
        return {"index": batch["index"], "error": batch["error"], "probs": probs}


def _scored(rows: Sequence[int], paths: Sequence[Path], transform, shape, actor, spec,
            batch_size: int, max_pixels: int):
    """The decode-tasks → model-actors pipeline over ``rows``, as a Ray Dataset."""
    import ray.data

    plan = cluster_plan(spec.device)
    spec = dataclasses.replace(spec, use_gpu=plan["use_gpu"])
    # The decode tasks declare the memory they take: a worker process with torch imported
    # (~0.6 GiB measured) and a batch of pixels, twice (decoded and serialised).  Declaring
    # it also keeps Ray Data from fusing them into the actors (it fuses only operators that
    # ask for the same resources), so decoding runs in its own tasks on the CPUs the actors
    # leave free — on a CPU-only cluster as on a GPU one.
    pixel_bytes = 4 * int(np.prod(shape)) * batch_size * 2
    ds = _dataset(rows, paths, batch_size).map_batches(
        _decode_batch, batch_size=batch_size, batch_format="numpy", num_cpus=1,
        memory=DECODE_WORKER_BYTES + pixel_bytes,
        fn_kwargs={"transform": transform, "max_pixels": max_pixels, "shape": tuple(shape)})
    resources = {"num_cpus": plan["num_cpus"]}
    if plan["use_gpu"]:
        resources["num_gpus"] = plan["num_gpus"]
    return ds.map_batches(
        actor, batch_size=batch_size, batch_format="numpy",
        fn_constructor_kwargs={"spec": spec},
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=plan["actors"]), **resources)


_shape = preprocessed_shape      # what the preprocessing makes of an image


def _unwrap(err: BaseException) -> BaseException:
    """The worker's own exception inside Ray's wrappers, for a readable message."""
    cause = getattr(err, "cause", None) or err.__cause__
    return cause if isinstance(cause, BaseException) else err


# --------------------------------------------------------------------------- entry points
def embed_files(backend, paths: Sequence[str | Path], *, spec: ClipSpec,
                address: str | None = None, cache_dir: str | Path | None = None,
                batch_size: int = 64, num_workers: int = 0, progress: bool = False,
                use_cache: bool = True, max_pixels: int = DEFAULT_MAX_PIXELS):
    """:func:`vaselib.clip.embeddings.embed_files` on Ray: the same ``EmbeddedImages``
    (vectors, failures with the same reasons, hashes, cache statistics).

    ``num_workers`` is ignored: Ray sizes the decoding tasks from the cluster.
    """
    from vaselib.clip.embeddings import EmbeddedImages, EmbeddingCache, default_cache_dir

    paths = [Path(p) for p in paths]
    dim = backend.embed_dim
    vectors = np.full((len(paths), dim), np.nan, dtype=np.float32)
    failures: dict[int, str] = {}
    hashes: list[str | None] = [None] * len(paths)
    stats = {"images": len(paths), "cache_hits": 0, "encoded": 0, "corrupt_cache_entries": 0,
             "failed": 0}
    notes: list[str] = []
    if not paths:
        return EmbeddedImages(paths, vectors, {}, hashes, stats, notes)
    connect(address, progress=progress)
    cache = None
    try:
        with _quiet(progress):
            # 1. content hashes, in CPU tasks
            ds = _dataset(range(len(paths)), paths, batch_size).map_batches(
                _hash_batch, batch_size=batch_size, batch_format="numpy")
            bar = tqdm(total=len(paths), desc="hash files (ray)", disable=not progress,
                       leave=False)
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                for i, sha, why in zip(batch["index"], batch["sha"], batch["error"]):
                    if sha:
                        hashes[int(i)] = str(sha)
                    else:
                        failures[int(i)] = str(why)
                bar.update(len(batch["index"]))
            bar.close()
            todo_rows = [i for i, h in enumerate(hashes) if h is not None]
            # 2. the cache, here (see the module docstring)
            if use_cache and todo_rows:
                cache = EmbeddingCache(cache_dir or default_cache_dir(), backend.slug,
                                       backend.identity, dim)
                notes += cache.notes
                found, corrupt = cache.get_many([hashes[i] for i in todo_rows], vectors,
                                                todo_rows)
                stats["cache_hits"] = int(found.sum())
                stats["corrupt_cache_entries"] = corrupt
                if corrupt:
                    notes.append(f"{corrupt} damaged cache entr{'y' if corrupt == 1 else 'ies'} "
                                 f"(checksum mismatch) recomputed")
                todo_rows = [r for r, f in zip(todo_rows, found) if not f]
            # 3. decode in tasks, encode in the actor pool, store batch by batch
            if todo_rows:
                ds = _scored(todo_rows, paths, backend.preprocess, _shape(backend.preprocess),
                             ClipEncoder, spec, batch_size, max_pixels)
                bar = tqdm(total=len(todo_rows), desc="encode images (ray)",
                           disable=not progress)
                for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                    rows = batch["index"].astype(int)
                    bad = _failed(batch["error"])
                    for r, why in zip(rows[bad], batch["error"][bad]):
                        failures[int(r)] = str(why)
                    good = rows[~bad]
                    if good.size:
                        emb = np.ascontiguousarray(batch["vector"][~bad], dtype=np.float32)
                        vectors[good] = emb
                        stats["encoded"] += int(good.size)
                        if cache is not None:      # one transaction per batch, as locally
                            cache.put_many([hashes[r] for r in good], emb)
                    bar.update(len(rows))
                bar.close()
    except EngineError:
        raise
    except Exception as err:
        inner = _unwrap(err)
        if isinstance(inner, EngineError):
            raise EngineError(str(inner)) from None
        raise
    finally:
        if cache is not None:
            cache.close()
    stats["failed"] = len(failures)
    return EmbeddedImages(paths, vectors, dict(sorted(failures.items())), hashes, stats, notes)


def predict_files(paths: Sequence[str | Path], image_size: int, interpolation: str = "bilinear",
                  *, spec: ResnetSpec, address: str | None = None, batch_size: int = 32,
                  progress: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS):
    """:func:`vaselib.resnet.predict.predict_files` on Ray:
    ``({index: (p_low, p_high)}, {index: reason})``."""
    from vaselib.resnet.data import eval_transform

    paths = [Path(p) for p in paths]
    probs: dict[int, tuple[float, float]] = {}
    failures: dict[int, str] = {}
    if not paths:
        return probs, failures
    connect(address, progress=progress)
    transform = eval_transform(image_size, interpolation)
    try:
        with _quiet(progress):
            ds = _scored(range(len(paths)), paths, transform, _shape(transform),
                         ResnetClassifier, spec, batch_size, max_pixels)
            bar = tqdm(total=len(paths), desc="classify (ray)", disable=not progress)
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                for i, why, p in zip(batch["index"], batch["error"], batch["probs"]):
                    if why:
                        failures[int(i)] = str(why)
                    else:
                        lo, hi = p.tolist()
                        probs[int(i)] = (lo, hi)
                bar.update(len(batch["index"]))
            bar.close()
    except EngineError:
        raise
    except Exception as err:
        inner = _unwrap(err)
        if isinstance(inner, EngineError):
            raise EngineError(str(inner)) from None
        raise
    return dict(sorted(probs.items())), dict(sorted(failures.items()))
