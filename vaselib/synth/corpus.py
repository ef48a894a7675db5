"""The corpus on disk: generating, loading and reusing a synthetic corpus."""
from __future__ import annotations

import json
import os
import random
import shutil
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from vaselib.files import atomic_write_json, build_lock
from vaselib.synth.attributes import sample_attributes
from vaselib.synth.captions import format_caption
from vaselib.synth.common import (
    DEFAULT_SEED,
    DEGRADATIONS,
    FORMAT_VERSION,
    GOOD_JPEG_QUALITY,
    RAW_FOLDERS,
    _pick,
)
from vaselib.synth.degrade import degrade
from vaselib.synth.photograph import render_vase


@dataclass(frozen=True)
class CorpusConfig:
    """What to generate.  The same config always gives byte-identical files."""
    n_vases: int = 60            # vases in the raw folder
    n_labelled: int = 400        # images in the labelled 0/ 1/ training folder (half each)
    image_size: int = 224        # square output size in pixels
    min_views: int = 2
    max_views: int = 5
    fragment_fraction: float = 0.15   # share of raw vases photographed broken
    degraded_fraction: float = 0.35   # share of raw images that are degraded (label 0 kinds)
    seed: int = DEFAULT_SEED

    def validate(self) -> None:
        """Raise ValueError on a config that cannot be generated."""
        if self.n_vases < 0 or self.n_labelled < 0:
            raise ValueError("n_vases and n_labelled must be >= 0")
        if self.image_size < 32:
            raise ValueError("image_size must be at least 32 pixels")
        if not 1 <= self.min_views <= self.max_views:
            raise ValueError("need 1 <= min_views <= max_views")
        for name in ("fragment_fraction", "degraded_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


@dataclass
class Corpus:
    """A generated corpus: folders, per-image records and per-vase ground truth."""
    root: Path
    config: CorpusConfig
    labelled_dir: Path      # root/"labelled" with 0/ and 1/
    raw_dir: Path           # root/"raw" (images in nested sub-folders)
    images: list[dict]      # raw image records, ``file`` relative to raw_dir
    labelled: list[dict]    # labelled image records, ``file`` relative to labelled_dir
    vases: list[dict]       # per raw vase: id, attributes, caption, condition, views, files

    def image_records(self) -> list[dict]:
        """The raw images' records."""
        return self.images

    def vase_by_id(self) -> dict[str, dict]:
        """Raw vases keyed by their UUID (the first part of each file name)."""
        return {v["id"]: v for v in self.vases}


def vase_file_name(vase_id: str, view: int) -> str:
    """``<UUID>_<view number>_ac001001.jpg``, the original data's naming."""
    return f"{vase_id}_{int(view)}_ac001001.jpg"


_VIEW_WEIGHTS = {"front": 3.0, "three_quarter": 2.5, "side": 2.0, "back": 1.5, "top": 1.0,
                 "bottom": 1.0}


def _choose_view_kinds(k: int, rng) -> list[str]:
    """``k`` view kinds for one vase, distinct while possible, at least one profile view."""
    names = list(_VIEW_WEIGHTS)
    w = np.asarray([_VIEW_WEIGHTS[n] for n in names])
    first = rng.choice(len(names), size=min(k, len(names)), replace=False, p=w / w.sum())
    kinds = [names[i] for i in first]
    kinds += [names[i] for i in rng.choice(len(names), size=k - len(kinds), p=w / w.sum())]
    if not set(kinds) & {"front", "three_quarter", "side"}:
        kinds[0] = "front"
    rng.shuffle(kinds)
    return kinds


def _new_id(ids: random.Random) -> str:
    return str(uuid.UUID(int=ids.getrandbits(128), version=4))


def _save_jpeg(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=GOOD_JPEG_QUALITY)


def _photo(attrs, view_kind, size, seed, condition, degradation) -> Image.Image:
    """One photograph, from its own seed (so records do not depend on render internals)."""
    rng = np.random.default_rng(seed)
    img = render_vase(attrs, view_kind, size, rng, condition)
    return degrade(img, degradation, rng) if degradation else img


def _shoot(job: tuple) -> None:
    """Render one photograph and save it: ``(path, attrs, kind, size, seed, condition,
    degradation)``.  Each photo has its own seed, so the order (and the process) it is
    rendered in does not change a byte."""
    path, *args = job
    _save_jpeg(_photo(*args), path)


# Below this many photographs starting worker processes costs more than it saves.
_PARALLEL_FROM = 64


def default_workers() -> int:
    """Processes to render with: the CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not on Linux
        return max(1, os.cpu_count() or 1)


def _shoot_all(jobs: list[tuple], workers: int, desc: str, progress: bool) -> None:
    """Render ``jobs`` (see :func:`_shoot`) in ``workers`` processes (spawned, so they do not
    inherit a parent's torch threads), in order chunks, with a progress bar."""
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress, leave=False)
    if workers <= 1 or len(jobs) < _PARALLEL_FROM:
        for job in jobs:
            _shoot(job)
            bar.update()
    else:
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as ex:
            for _ in ex.map(_shoot, jobs, chunksize=8):
                bar.update()
    bar.close()


def _generate_raw(raw_dir: Path, cfg: CorpusConfig, progress: bool, workers: int):
    """Raw photographs: several views per vase, some vases broken, some photos degraded."""
    rng = np.random.default_rng([cfg.seed, 1])
    ids = random.Random(f"vaselib.synth/{cfg.seed}/raw")
    n_frag = int(round(cfg.fragment_fraction * cfg.n_vases))
    broken = set(rng.choice(cfg.n_vases, size=n_frag, replace=False).tolist()) if n_frag else set()
    vases, shots = [], []
    for i in range(cfg.n_vases):
        attrs = sample_attributes(rng)
        vid = _new_id(ids)
        kinds = _choose_view_kinds(int(rng.integers(cfg.min_views, cfg.max_views + 1)), rng)
        folder = _pick(rng, RAW_FOLDERS)
        condition = "fragment" if i in broken else "intact"
        names = [vase_file_name(vid, k + 1) for k in range(len(kinds))]
        vases.append({"id": vid, "attributes": attrs, "caption": format_caption(attrs),
                      "condition": condition, "folder": folder, "views": names,
                      "files": [f"{folder}/{n}" for n in names], "view_kinds": kinds})
        for k, kind in enumerate(kinds):
            shots.append((len(vases) - 1, k + 1, kind, int(rng.integers(0, 2**63))))
    n_deg = int(round(cfg.degraded_fraction * len(shots)))
    deg_idx = rng.choice(len(shots), size=n_deg, replace=False).tolist() if n_deg else []
    order = rng.permutation(len(DEGRADATIONS))
    deg_kind = {j: DEGRADATIONS[order[t % len(DEGRADATIONS)]] for t, j in enumerate(deg_idx)}
    records, jobs = [], []
    for j, (vi, view, kind, seed) in enumerate(shots):
        vase = vases[vi]
        degradation = deg_kind.get(j)
        rel = vase["files"][view - 1]
        jobs.append((raw_dir / rel, vase["attributes"], kind, cfg.image_size, seed,
                     vase["condition"], degradation))
        records.append({"file": rel, "vase_id": vase["id"], "view": view, "view_kind": kind,
                        "quality": 0 if degradation else 1, "degradation": degradation,
                        "condition": vase["condition"]})
    _shoot_all(jobs, workers, "raw photographs", progress)
    return records, vases


def _generate_labelled(lab_dir: Path, cfg: CorpusConfig, progress: bool, workers: int
                       ) -> list[dict]:
    """The hand-labelled training folder: 1/ good photos of intact vases, 0/ degraded ones
    (each degradation kind equally often).  Its vases are not the raw folder's."""
    rng = np.random.default_rng([cfg.seed, 2])
    ids = random.Random(f"vaselib.synth/{cfg.seed}/labelled")
    n0 = cfg.n_labelled // 2
    n1 = cfg.n_labelled - n0
    jobs = []   # (label, attrs, vase id, view, kind, degradation, seed)
    while len(jobs) < n1:
        attrs, vid = sample_attributes(rng), _new_id(ids)
        k = min(int(rng.integers(1, 4)), n1 - len(jobs))
        for view, kind in enumerate(_choose_view_kinds(k, rng), start=1):
            jobs.append((1, attrs, vid, view, kind, None, int(rng.integers(0, 2**63))))
    kinds = [DEGRADATIONS[t % len(DEGRADATIONS)] for t in range(n0)]
    rng.shuffle(kinds)
    names, w = list(_VIEW_WEIGHTS), np.asarray(list(_VIEW_WEIGHTS.values()))
    for degradation in kinds:
        attrs, vid = sample_attributes(rng), _new_id(ids)
        kind = names[int(rng.choice(len(names), p=w / w.sum()))]
        view = int(rng.integers(1, 4))
        jobs.append((0, attrs, vid, view, kind, degradation, int(rng.integers(0, 2**63))))
    records, shots = [], []
    for label, attrs, vid, view, kind, degradation, seed in jobs:
        rel = f"{label}/{vase_file_name(vid, view)}"
        shots.append((lab_dir / rel, attrs, kind, cfg.image_size, seed, "intact", degradation))
        records.append({"file": rel, "vase_id": vid, "view": view, "view_kind": kind,
                        "quality": label, "label": label, "degradation": degradation,
                        "condition": "intact"})
    _shoot_all(shots, workers, "labelled photographs", progress)
    return records


def _write_json(path: Path, data) -> None:
    atomic_write_json(path, data, indent=1)


def _corpus_meta(cfg: CorpusConfig, images, labelled, vases) -> dict:
    return {"format_version": FORMAT_VERSION, "generator": "vaselib.synth",
            "config": asdict(cfg),
            "counts": {"vases": len(vases), "raw_images": len(images),
                       "labelled_images": len(labelled),
                       "labelled_1": sum(r["label"] for r in labelled),
                       "labelled_0": sum(1 - r["label"] for r in labelled)}}


def _remove_partials(root: Path) -> None:
    """Delete the temporary folders of interrupted generations (called under the lock, so
    no live generation owns one)."""
    for tmp in root.parent.glob(f".{root.name}.partial*"):
        shutil.rmtree(tmp, ignore_errors=True)


def _replace_dir(tmp: Path, root: Path) -> None:
    """Move the finished ``tmp`` into place as ``root`` (replacing an old corpus)."""
    if root.exists():
        if not root.is_dir() or (any(root.iterdir()) and not (root / "corpus.json").is_file()):
            raise FileExistsError(
                f"{root} exists and is not a vaselib synthetic corpus (no corpus.json); "
                "refusing to replace it: choose another folder or remove it yourself")
        old = root.with_name(f".{root.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(root, old)
        os.replace(tmp, root)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, root)


def generate_corpus(root, config: CorpusConfig = CorpusConfig(), *, progress: bool = False,
                    workers: int | None = None) -> Corpus:
    """Generate the corpus into ``root`` (replacing an older corpus there).

    Writes ``labelled/{0,1}/*.jpg``, ``raw/<batch>/…/*.jpg``, ``vases.json``,
    ``images.json``, ``labelled.json`` and ``corpus.json``.  Everything is first written
    to a sibling temporary folder and moved into place at the end, so an interrupted run
    never leaves a half corpus at ``root``.  ``workers`` processes render the photographs
    (default: :func:`default_workers`); the files do not depend on it.
    """
    config.validate()
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(root):
        return _generate(root, config, progress, workers)


def _generate(root: Path, config: CorpusConfig, progress: bool, workers: int | None
              ) -> Corpus:
    workers = default_workers() if workers is None else int(workers)
    _remove_partials(root)
    tmp = root.with_name(f".{root.name}.partial-{os.getpid()}")
    tmp.mkdir()
    (tmp / "raw").mkdir()
    for label in ("0", "1"):
        (tmp / "labelled" / label).mkdir(parents=True)
    images, vases = _generate_raw(tmp / "raw", config, progress, workers)
    labelled = _generate_labelled(tmp / "labelled", config, progress, workers)
    _write_json(tmp / "vases.json", vases)
    _write_json(tmp / "images.json", images)
    _write_json(tmp / "labelled.json", labelled)
    _write_json(tmp / "corpus.json", _corpus_meta(config, images, labelled, vases))
    _replace_dir(tmp, root)
    return Corpus(root=root, config=config, labelled_dir=root / "labelled",
                  raw_dir=root / "raw", images=images, labelled=labelled, vases=vases)


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def load_corpus(root) -> Corpus:
    """Read a generated corpus back from its JSON files."""
    root = Path(root)
    meta_path = root / "corpus.json"
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"no synthetic vase corpus at {root} ({meta_path} is missing). Generate it with "
            f"vaselib.synth.ensure_corpus({str(root)!r}) or generate_corpus(...), e.g. "
            f"python -c \"from vaselib import synth; synth.ensure_corpus({str(root)!r})\"")
    meta = _read_json(meta_path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{meta_path} has format version {meta.get('format_version')}, this vaselib "
            f"writes {FORMAT_VERSION}: regenerate it with vaselib.synth.ensure_corpus()")
    known = {f for f in CorpusConfig.__dataclass_fields__}
    config = CorpusConfig(**{k: v for k, v in meta["config"].items() if k in known})
    return Corpus(root=root, config=config, labelled_dir=root / "labelled", raw_dir=root / "raw",
                  images=_read_json(root / "images.json"),
                  labelled=_read_json(root / "labelled.json"),
                  vases=_read_json(root / "vases.json"))


def ensure_corpus(root, config: CorpusConfig = CorpusConfig(), *, progress: bool = False,
                  workers: int | None = None) -> Corpus:
    """Load the corpus at ``root`` if it was generated from ``config``; else generate it
    (in ``workers`` processes, see :func:`generate_corpus`)."""
    config.validate()
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    meta_path = root / "corpus.json"
    with build_lock(root):
        if meta_path.is_file():
            try:
                meta = _read_json(meta_path)
                if (meta.get("format_version") == FORMAT_VERSION
                        and meta.get("config") == asdict(config)):
                    return load_corpus(root)
            except (OSError, ValueError):
                pass   # unreadable or stale: regenerate below
        return _generate(root, config, progress, workers)
