"""CLIP backends: open_clip models and local HuggingFace-format CLIP folders.

Both give the same small interface, :class:`ClipBackend`:

- ``preprocess``: a picklable callable PIL image → tensor, run in DataLoader workers;
- ``encode_images(batch)`` and ``encode_texts(prompts)``: L2-normalised float32 numpy rows;
- ``identity``: what makes its embeddings what they are (backend, model name, a hash of the
  loaded weights, the preprocessing), and ``key``, a hash of it that names the embedding
  cache.  The weights are hashed as loaded, so a tag, a file or random weights from a seed
  are all told apart, and a changed checkpoint never reuses stale embeddings.

``load_backend`` keeps the last few loaded models in memory, so re-running a stage in the
same notebook kernel (another threshold, other prompts) does not load the model again.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch


EMBEDDING_FORMAT = 1  # bump when the way embeddings are computed changes


class BackendError(RuntimeError):
    """A model that cannot be loaded, with what to do about it."""


def weights_hash(module: torch.nn.Module) -> str:
    """SHA-256 of a module's state dict (names, dtypes, shapes and bytes), in key order."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def _weight_files(folder: Path) -> list[Path]:
    """The files that hold a model folder's weights (and its config)."""
    found = sorted(p for pat in ("*.safetensors", "*.bin", "*.pt", "*.pth")
                   for p in folder.glob(pat))
    return found + [p for p in (folder / "config.json", folder / "open_clip_config.json")
                    if p.is_file()] if found else []


def _files_hash(paths: list[Path]) -> str | None:
    """The identity of weights loaded from files: their bytes' hash, computed once per file
    (remembered by path, size and modification time) instead of hashing every tensor at
    every load."""
    if not paths:
        return None
    from vaselib import runs
    from vaselib.files import remembered_sha256

    return "files:" + remembered_sha256(paths, runs.cache_dir("weights") / "sha256.json")


def _clean_repr(obj: Any) -> str:
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(obj))


def _features(out: Any) -> torch.Tensor:
    """A features tensor from whatever ``get_*_features`` returned (transformers 4 or 5)."""
    if isinstance(out, torch.Tensor):
        return out
    pooled = getattr(out, "pooler_output", None)
    if isinstance(pooled, torch.Tensor):
        return pooled
    if isinstance(out, (tuple, list)) and len(out) > 1 and isinstance(out[1], torch.Tensor):
        return out[1]
    raise BackendError(f"unexpected output of the CLIP feature function: {type(out).__name__}")


def _normalise(x: torch.Tensor) -> np.ndarray:
    x = x.float()
    return (x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)).cpu().numpy().astype(np.float32)


@dataclass
class ClipBackend:
    """A loaded CLIP model with its preprocessing and identity."""

    kind: str
    name: str
    weights: str                 # how the weights were obtained, in words
    model: torch.nn.Module
    device: torch.device
    preprocess: Callable
    tokenize: Callable[[list[str]], dict[str, torch.Tensor]]
    preprocess_id: str
    weights_sha256: str
    description: str = ""
    precision: str = "fp32"                 # what encodes images: fp32, bf16 or int8
    precision_reason: str = ""
    compiled: int = 0                       # torch.compile'd image path for this batch size
    compile_seconds: float = field(default=0.0, compare=False)
    runtime: str = "torch"                  # what runs the image path: torch or onnxruntime
    runtime_seconds: float = field(default=0.0, compare=False)   # its export + load
    images_encoded: int = field(default=0, compare=False)
    batches_encoded: int = field(default=0, compare=False)

    @property
    def identity(self) -> dict[str, Any]:
        ident = {"format": EMBEDDING_FORMAT, "backend": self.kind, "model": self.name,
                 "weights": self.weights, "weights_sha256": self.weights_sha256,
                 "preprocess": self.preprocess_id, "code": self._code_versions()}
        if self.precision != "fp32":       # reduced-precision embeddings are cached apart
            ident["precision"] = self.precision
        if self.compiled:                  # so are compiled ones (fp32 rounding differs)
            ident["compiled"] = "torch.compile (inductor)"
        if self.runtime != "torch":        # and those of another runtime
            ident["runtime"] = self.runtime
        return ident

    def _code_versions(self) -> dict[str, str]:
        """The versions of the code that computes the embeddings (an upgrade encodes
        afresh): the model's libraries and torch, and ONNX Runtime where it runs them."""
        from vaselib.versions import code_versions

        found = code_versions(self.model)
        ort = sys.modules.get("onnxruntime")
        if self.runtime == "onnxruntime" and ort is not None:
            found["onnxruntime"] = str(ort.__version__)
        return found

    def with_jpeg_draft(self) -> "ClipBackend":
        """This backend decoding JPEGs at a reduced libjpeg scale that still covers the
        model's input (its preprocessed side); embeddings are cached apart."""
        from dataclasses import replace

        from vaselib.images import preprocessed_shape

        if isinstance(self.preprocess, DraftPreprocess):
            return self
        side = int(max(preprocessed_shape(self.preprocess)[-2:]))
        b = replace(self, preprocess=DraftPreprocess(self.preprocess, side),
                    preprocess_id=json.dumps({"preprocess": self.preprocess_id,
                                              "jpeg_draft": side}, sort_keys=True),
                    images_encoded=0, batches_encoded=0)
        for attr in ("_image_tower", "_compiled_fn", "_ort"):
            if hasattr(self, attr):
                setattr(b, attr, getattr(self, attr))
        return b

    def compiled_for(self, batch_size: int) -> "ClipBackend":
        """This backend encoding images through ``torch.compile`` (inductor), compiled now
        for batches of ``batch_size`` (smaller batches are padded), so that a missing C++
        compiler fails before any image is read.  Text stays eager."""
        from dataclasses import replace

        if self.precision == "int8":
            raise BackendError("torch_compile does not take dynamically quantised (int8) "
                               "models: use precision fp32 or bf16 with it")
        if self.compiled == batch_size:
            return self
        b = replace(self, compiled=batch_size, images_encoded=0, batches_encoded=0)
        b._compiled_fn, b.compile_seconds = _compile(self, batch_size)
        return b

    def on_onnxruntime(self) -> "ClipBackend":
        """This backend encoding images through ONNX Runtime (fp32, CPU): its image path is
        exported once to ONNX (cached by the weights' hash) and loaded now, before any
        image is read.  Text stays in torch."""
        from dataclasses import replace

        from vaselib import onnx_runtime
        from vaselib.images import preprocessed_shape

        if self.runtime == "onnxruntime":
            return self
        if self.precision != "fp32" or self.compiled:
            raise BackendError("runtime: onnxruntime runs the fp32 model: use it with "
                               "precision: fp32 and torch_compile: false")
        try:
            onnx_runtime.require(self.device)
            example = torch.zeros((2, *preprocessed_shape(self.preprocess)))
            ort = onnx_runtime.load(_image_module(self), example,
                                    f"clip-image|{self.kind}|{self.weights_sha256}",
                                    what=f"the image encoder of {self.name}")
        except onnx_runtime.OnnxRuntimeError as err:
            raise BackendError(str(err)) from None
        b = replace(self, runtime="onnxruntime", runtime_seconds=ort.seconds,
                    images_encoded=0, batches_encoded=0)
        b._ort = ort
        return b

    def with_precision(self, requested: str, rechecked: bool = False) -> "ClipBackend":
        """This backend encoding images at ``requested`` precision (text stays fp32);
        ``rechecked``: the caller re-scores near its decisions in fp32 (lets auto take
        bf16, :func:`vaselib.precision.resolve`)."""
        from dataclasses import replace

        from vaselib import precision

        chosen, why = precision.resolve(requested, self.device, rechecked)
        if chosen == "int8" and not precision.quantisable_linears(_image_module(self)):
            chosen, why = "fp32", (f"int8 asked for, but the image path of {self.name} has no "
                                   f"linear layer dynamic quantisation can take (it is "
                                   f"convolutions): full precision")
        if chosen == self.precision:
            return self if requested == chosen else replace(self, precision_reason=why)
        b = replace(self, precision=chosen, precision_reason=why, images_encoded=0,
                    batches_encoded=0, compiled=0, compile_seconds=0.0)
        b._image_tower = _image_tower(self, chosen)
        return b

    @property
    def key(self) -> str:
        blob = json.dumps({k: v for k, v in self.identity.items() if k != "weights"},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def slug(self) -> str:
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(self.name.split(":")[-1]).name).strip("-")
        return f"{self.kind}-{base or 'model'}-{self.key[:16]}"

    @property
    def embed_dim(self) -> int:
        if not hasattr(self, "_dim"):
            self._dim = int(self.encode_texts(["a vase"]).shape[1])
        return self._dim

    @torch.inference_mode()
    def encode_images(self, batch: torch.Tensor) -> np.ndarray:
        """L2-normalised image embeddings of a preprocessed batch, as float32 rows."""
        self.batches_encoded += 1
        self.images_encoded += int(batch.shape[0])
        from vaselib import precision

        batch = batch.to(self.device)
        tower = getattr(self, "_image_tower", None)
        with precision.autocast(self.precision, self.device):
            if self.runtime == "onnxruntime":
                feats = self._ort(batch)
            elif self.compiled:
                from vaselib import compiled

                feats = compiled.run_padded(self._compiled_fn, batch, self.compiled,
                                            _features)
            elif tower is not None:
                feats = tower(batch)
            elif self.kind == "hf":
                feats = _features(self.model.get_image_features(pixel_values=batch))
            else:
                feats = self.model.encode_image(batch)
        return _normalise(feats)

    @torch.inference_mode()
    def text_features(self, prompts: list[str]) -> np.ndarray:
        """Raw (unnormalised) text features of ``prompts``, as float32 rows: what
        ``get_text_features`` / ``encode_text`` return."""
        inputs = {k: v.to(self.device) for k, v in self.tokenize(list(prompts)).items()}
        if self.kind == "hf":
            feats = _features(self.model.get_text_features(**inputs))
        else:
            feats = self.model.encode_text(inputs["text"])
        return feats.float().cpu().numpy().astype(np.float32)

    def encode_texts(self, prompts: list[str]) -> np.ndarray:
        """L2-normalised text embeddings of ``prompts``, as float32 rows."""
        raw = self.text_features(prompts)
        return (raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
                ).astype(np.float32)


class _HfImage(torch.nn.Module):
    """A HuggingFace CLIP's image path (vision model + projection) as one module."""

    def __init__(self, m):
        super().__init__()
        self.vision_model, self.visual_projection = m.vision_model, m.visual_projection

    def forward(self, pixel_values):
        return self.visual_projection(self.vision_model(pixel_values).pooler_output)


def _image_module(backend: ClipBackend) -> torch.nn.Module:
    """The image path of ``backend``'s model as one module (sharing its weights)."""
    return _HfImage(backend.model).eval() if backend.kind == "hf" else backend.model.visual


_COMPILED: "OrderedDict[tuple, Callable]" = OrderedDict()


def _compile(backend: ClipBackend, batch_size: int) -> tuple[Callable, float]:
    """``(compiled image path, seconds it took)``, compiled once per model, precision and
    batch size in this process (:mod:`vaselib.compiled`)."""
    from vaselib import compiled, precision
    from vaselib.images import preprocessed_shape

    key = (backend.key, str(backend.device), batch_size)
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
        return _COMPILED[key], 0.0
    shape = preprocessed_shape(backend.preprocess)
    try:
        fn, seconds = compiled.compile_module(
            _image_module(backend), torch.zeros((batch_size, *shape), device=backend.device),
            what=f"the image encoder of {backend.name}",
            context=lambda: precision.autocast(backend.precision, backend.device))
    except compiled.CompileError as err:
        raise BackendError(str(err)) from None
    _COMPILED[key] = fn
    while len(_COMPILED) > _KEEP:
        _COMPILED.popitem(last=False)
    return fn, seconds


def _image_tower(backend: ClipBackend, chosen: str):
    """The image path as one module for ``chosen`` (int8: a quantised copy), or None."""
    from vaselib import precision

    if chosen != "int8":
        return None
    return precision.prepare(_image_module(backend), "int8")


def with_speed_options(backend: ClipBackend, p, notes: list[str]) -> ClipBackend:
    """``backend`` with the stage parameters ``jpeg_draft``, ``torch_compile`` and
    ``runtime`` of ``p`` applied (draft first: the compiled model is keyed by the backend),
    each noted."""
    if p.jpeg_draft:
        backend = backend.with_jpeg_draft()
        notes.append(f"JPEGs decoded at a reduced scale covering "
                     f"{backend.preprocess.jpeg_draft} px a side (jpeg_draft)")
    if p.torch_compile:
        backend = backend.compiled_for(p.batch_size)
        notes.append(f"image encoder compiled with torch.compile for batches of "
                     f"{p.batch_size} ({backend.compile_seconds:.1f} s)")
    if getattr(p, "runtime", "torch") == "onnxruntime":
        backend = backend.on_onnxruntime()
        notes.append(f"image encoder run by ONNX Runtime (fp32, CPU; "
                     f"{'exported to ONNX and ' if backend._ort.exported else ''}loaded in "
                     f"{backend.runtime_seconds:.1f} s)")
    return backend


def model_info(backend: ClipBackend) -> dict[str, Any]:
    """What scored, for reports and the notebook."""
    return {"backend": backend.kind, "model": backend.name, "weights": backend.weights,
            "weights_sha256": backend.weights_sha256[:16], "description": backend.description,
            "device": str(backend.device), "precision": backend.precision,
            "precision_reason": backend.precision_reason or "default",
            **({"torch_compile": {"batch_size": backend.compiled,
                                  "compile_seconds": round(backend.compile_seconds, 2)}}
               if backend.compiled else {}),
            **({"runtime": {"name": backend.runtime,
                            "load_seconds": round(backend.runtime_seconds, 2)}}
               if backend.runtime != "torch" else {}),
            **({"jpeg_draft": backend.preprocess.jpeg_draft}
               if isinstance(backend.preprocess, DraftPreprocess) else {})}


# --------------------------------------------------------------------------- open_clip

class _OpenClipTokenize:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        return {"text": self.tokenizer(prompts)}


def _open_clip_backend(model: str, pretrained: str | None, device: torch.device,
                       seed: int) -> ClipBackend:
    import open_clip

    from vaselib.clip import demo_model

    demo_model.register_configs()
    description = ""
    checkpoint = None
    if pretrained == demo_model.PRETRAINED_TAG:
        if model not in demo_model.ARCHITECTURES:
            raise BackendError(
                f"pretrained={pretrained!r} (the locally trained demo weights) exists only for "
                f"model={', '.join(demo_model.ARCHITECTURES)}; got model={model!r}")
        checkpoint, info = demo_model.ensure_demo_model(model)
        weights = f"{pretrained}: trained locally, cached as {checkpoint.parent.name}"
        description = info["description"]
        pretrained_arg = str(checkpoint)
    elif pretrained is None:
        weights = f"random initialisation (seed {seed}): scores carry no meaning"
        description = (f"{model} with RANDOM weights (pretrained=None): the scores are noise, "
                       f"useful only to test the pipeline")
        pretrained_arg = None
    else:
        is_file = os.path.isfile(os.path.expanduser(pretrained))
        if is_file:
            pretrained_arg = str(Path(pretrained).expanduser().resolve())
            weights = f"checkpoint file {Path(pretrained).name}"
        else:
            pretrained_arg = pretrained
            weights = f"open_clip pretrained tag {pretrained!r}"
            if model.startswith(("local-dir:", "hf-hub:")):
                weights = f"weights of {model}"
            elif pretrained not in open_clip.list_pretrained_tags_by_model(model):
                tags = open_clip.list_pretrained_tags_by_model(model)
                raise BackendError(
                    f"pretrained={pretrained!r} is neither a checkpoint file nor a known tag of "
                    f"{model!r} (tags: {', '.join(tags) or 'none'}); give a file path, a tag, "
                    f"or None for random weights")
        description = f"{model} with {weights}"
    if model.startswith("local-dir:"):
        folder = Path(model[len("local-dir:"):]).expanduser()
        if not folder.is_dir():
            raise BackendError(f"model folder {folder} does not exist (model={model!r})")
        model = "local-dir:" + str(folder.resolve())
        pretrained_arg = None
    elif not model.startswith("hf-hub:") and model not in open_clip.list_models():
        raise BackendError(f"unknown open_clip model {model!r}; e.g. ViT-B-32, "
                           f"{', '.join(demo_model.ARCHITECTURES)} or 'local-dir:<folder>' "
                           f"(all: open_clip.list_models())")
    torch.manual_seed(seed)
    try:
        net, _, preprocess = open_clip.create_model_and_transforms(
            model, pretrained=pretrained_arg, device="cpu")
    except RuntimeError as err:
        hint = ("" if pretrained_arg is None or os.path.isfile(str(pretrained_arg)) else
                " — no download is possible offline: put the weights in open_clip's cache "
                "(HF_HOME) on a connected machine, or pass pretrained=<checkpoint file>")
        raise BackendError(f"cannot load open_clip {model!r} with {pretrained!r}: {err}{hint}") \
            from None
    net.eval()
    if model.startswith("local-dir:"):
        sha = _files_hash(_weight_files(Path(model[len("local-dir:"):]))) or weights_hash(net)
    elif pretrained_arg is not None and os.path.isfile(pretrained_arg):
        sha = _files_hash([Path(pretrained_arg)])
    else:
        sha = weights_hash(net)
    net.to(device)
    pcfg = getattr(net.visual, "preprocess_cfg", None) or {}
    preprocess_id = json.dumps({"cfg": pcfg, "transform": _clean_repr(preprocess)},
                               sort_keys=True, default=str)
    tokenizer = open_clip.get_tokenizer(model)
    return ClipBackend("open_clip", model, weights, net, device, preprocess,
                       _OpenClipTokenize(tokenizer), preprocess_id, sha, description)


# --------------------------------------------------------------------------- HuggingFace

class HfPreprocess:
    """PIL image → pixel tensor with the folder's CLIP image processor (picklable).

    For the usual CLIP configuration (resize the shortest edge, centre crop, rescale,
    normalise) an RGB image takes a direct path that gives the processor's tensor bit for
    bit — the same PIL resize, crop and float operations in the same order — without its
    generic copies of the full-size photo (5.0 → 3.9 ms per 800×600 photo on the benchmark
    machine); anything else goes through the processor."""

    def __init__(self, processor):
        self.processor = processor
        self.direct = _direct_clip_steps(processor)

    def __call__(self, image) -> torch.Tensor:
        if self.direct is not None and getattr(image, "mode", None) == "RGB":
            x = _clip_pixels(image, **self.direct)
            if x is not None:
                return x
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]


def _direct_clip_steps(processor) -> dict[str, Any] | None:
    """The parameters of :func:`_clip_pixels` when ``processor`` is a PIL-backend CLIP image
    processor with the usual steps, else None."""
    g = lambda k: getattr(processor, k, None)  # noqa: E731
    size, crop = g("size"), g("crop_size")
    if (getattr(processor, "backend", None) != "pil" or g("do_pad")
            or not all(g(k) for k in ("do_resize", "do_center_crop", "do_rescale",
                                      "do_normalize"))
            or size is None or crop is None or not getattr(size, "shortest_edge", None)
            or any(getattr(size, k, None) for k in ("longest_edge", "height", "width",
                                                   "max_height", "max_width"))
            or not (getattr(crop, "height", None) and getattr(crop, "width", None))
            or not isinstance(g("resample"), int)
            or len(g("image_mean") or ()) != 3 or len(g("image_std") or ()) != 3):
        return None
    return {"shortest_edge": int(size.shortest_edge), "crop": (int(crop.height), int(crop.width)),
            "resample": int(g("resample")), "scale": float(g("rescale_factor")),
            "mean": np.array(g("image_mean"), dtype=np.float32),
            "std": np.array(g("image_std"), dtype=np.float32)}


def _clip_pixels(image, *, shortest_edge: int, crop: tuple[int, int], resample: int,
                 scale: float, mean: np.ndarray, std: np.ndarray) -> torch.Tensor | None:
    """Resize the shortest edge (the long one truncated, as transformers does), centre crop,
    rescale in float64 then cast to float32, normalise in float32: CHW float32 (None when
    the crop is larger than the resized image: the processor pads then)."""
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = shortest_edge, int(shortest_edge * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    ch, cw = crop
    if nh < ch or nw < cw:
        return None
    a = np.asarray(image.resize((nw, nh), resample=resample))
    top, left = (nh - ch) // 2, (nw - cw) // 2
    x = (a[top:top + ch, left:left + cw].astype(np.float64) * scale).astype(np.float32)
    x = (x - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class DraftPreprocess:
    """A preprocess whose images are decoded with JPEG draft scaling to at least
    ``jpeg_draft`` pixels a side (read by :class:`vaselib.images.ImageFileDataset`)."""

    def __init__(self, preprocess: Callable, jpeg_draft: int):
        self.preprocess, self.jpeg_draft = preprocess, int(jpeg_draft)

    def __call__(self, image) -> torch.Tensor:
        return self.preprocess(image)


class _HfTokenize:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(prompts, padding=True, truncation=True, return_tensors="pt")
        return {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask")}


def _image_processor(folder: Path):
    """The PIL-based CLIP image processor (what transformers 4 used; the original's numbers)."""
    try:
        from transformers import CLIPImageProcessorPil as cls  # transformers >= 5
    except ImportError:  # transformers 4.x: CLIPImageProcessor is the PIL one
        from transformers import CLIPImageProcessor as cls
    return cls.from_pretrained(str(folder), local_files_only=True)


def _hf_backend(model: str, device: torch.device) -> ClipBackend:
    from transformers import AutoTokenizer, CLIPModel

    folder = Path(model).expanduser()
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise BackendError(
            f"backend='hf' needs a local HuggingFace CLIP folder with config.json, weights, "
            f"tokenizer and preprocessor files (e.g. a downloaded openai/clip-vit-base-patch32); "
            f"{folder} is not one")
    try:  # a local folder: never look at a hub
        net = CLIPModel.from_pretrained(str(folder), local_files_only=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        processor = _image_processor(folder)
    except (OSError, ValueError) as err:
        raise BackendError(f"cannot load the HuggingFace CLIP folder {folder}: {err}") from None
    sha = _files_hash(_weight_files(folder)) or weights_hash(net)
    net.to(device)
    pcfg = {k: v for k, v in processor.to_dict().items()
            if k not in ("processor_class", "image_processor_type", "_processor_class")}
    preprocess_id = json.dumps({"hf_image_processor": type(processor).__name__, "cfg": pcfg},
                               sort_keys=True, default=str)
    name = getattr(net.config, "_name_or_path", "") or folder.name
    return ClipBackend("hf", folder.name if os.path.isabs(name) else name,
                       f"HuggingFace folder {folder.name}", net, device,
                       HfPreprocess(processor), _HfTokenize(tokenizer), preprocess_id, sha,
                       f"HuggingFace CLIP from the local folder {folder.name}")


# --------------------------------------------------------------------------- loading

_LOADED: "OrderedDict[tuple, ClipBackend]" = OrderedDict()
_KEEP = 2


def load_backend(backend: str, model: str, pretrained: str | None, device: torch.device,
                 seed: int = 0, precision: str = "fp32",
                 rechecked: bool = False) -> ClipBackend:
    """Load (or reuse from memory) a CLIP backend, encoding images at ``precision``
    (``rechecked``: see :meth:`ClipBackend.with_precision`)."""
    return _load(backend, model, pretrained, device, seed).with_precision(precision, rechecked)


def _load(backend: str, model: str, pretrained: str | None, device: torch.device,
          seed: int = 0) -> ClipBackend:
    if backend == "hf":
        path = Path(model).expanduser().resolve()
        stamp = (path / "config.json").stat().st_mtime_ns if (path / "config.json").exists() else 0
        key = ("hf", str(path), stamp, str(device))
    else:
        stamp = 0
        if pretrained and os.path.isfile(os.path.expanduser(pretrained)):
            stamp = os.stat(os.path.expanduser(pretrained)).st_mtime_ns
        key = ("open_clip", model, pretrained, stamp, str(device),
               seed if pretrained is None else None)
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    if backend == "hf":
        b = _hf_backend(model, device)
    elif backend == "open_clip":
        b = _open_clip_backend(model, pretrained, device, seed)
    else:
        raise BackendError(f"backend {backend!r} is not one of open_clip, hf")
    _LOADED[key] = b
    while len(_LOADED) > _KEEP:
        _LOADED.popitem(last=False)
    return b


def clear_loaded() -> None:
    """Forget the models (and their compiled image paths) kept in memory."""
    _LOADED.clear()
    _COMPILED.clear()
