"""Degradations: the low-quality photographs the ResNet stage learns to reject."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from vaselib.synth.common import DEGRADATIONS, _np_rng
from vaselib.synth.photograph import (
    _background,
    _jagged_polygon,
    _mask_image,
    _polygon_mask,
)
from vaselib.synth.texture import _erode


def _deg_blur(img, rng):
    return img.filter(ImageFilter.GaussianBlur(img.width * rng.uniform(0.03, 0.045)))


def _deg_noise(img, rng):
    arr = np.asarray(img, np.float32) / 255.0
    arr = arr + rng.normal(0.0, rng.uniform(0.18, 0.28), arr.shape)
    salt = rng.random(arr.shape[:2])
    arr[salt < 0.02] = 0.0
    arr[salt > 0.98] = 1.0
    return Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8))


def _deg_lowres(img, rng):
    w, h = img.size
    f = rng.uniform(8.0, 11.0)
    small = img.resize((max(4, round(w / f)), max(4, round(h / f))), Image.BILINEAR)
    return small.resize((w, h), Image.NEAREST)


def _deg_jpeg(img, rng):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(rng.integers(1, 4)))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _deg_sketch(img, rng):
    """A line drawing: the photograph's edges, dark on white paper."""
    gray = img.convert("L").filter(ImageFilter.GaussianBlur(0.8))
    edges = ImageOps.autocontrast(gray.filter(ImageFilter.FIND_EDGES), cutoff=1)
    lines = edges.point(lambda v: 255 if v > 70 else 0)
    if img.width >= 160:
        lines = lines.filter(ImageFilter.MaxFilter(3))
    ink = np.asarray(lines, np.float32)[:, :, None] / 255.0
    paper = np.asarray([0.97, 0.96, 0.93], np.float32) + rng.uniform(-0.02, 0.01)
    pencil = np.asarray([0.18, 0.17, 0.16], np.float32)
    arr = paper * (1 - ink) + pencil * ink
    return Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8))


def _deg_exposure(img, rng):
    if rng.random() < 0.5:
        img = ImageEnhance.Brightness(img).enhance(rng.uniform(2.2, 3.0))
        return ImageEnhance.Contrast(img).enhance(rng.uniform(0.55, 0.75))
    return ImageEnhance.Brightness(img).enhance(rng.uniform(0.1, 0.22))


def _foreground(img: Image.Image) -> np.ndarray:
    """Pixels that differ clearly from the backdrop (estimated from the side borders)."""
    arr = np.asarray(img, np.float32) / 255.0
    border = np.concatenate([arr[:, :3], arr[:, -3:]], axis=1)
    bg = np.median(border, axis=1)
    return np.abs(arr - bg[:, None, :]).max(axis=2) > 0.2


def _deg_shard(img, rng):
    """A single small broken piece of the vase lying on an empty backdrop."""
    size = img.width
    radius = size * rng.uniform(0.11, 0.17)
    core = _mask_image(_foreground(img))
    for _ in range(max(1, int(radius * 0.6) // 2)):
        core = core.filter(ImageFilter.MinFilter(5))
    candidates = np.flatnonzero(np.asarray(core).ravel() > 127)
    if len(candidates):
        p = int(rng.choice(candidates))
        cx, cy = p % size, p // size
    else:
        cx = cy = size // 2
    alpha = _mask_image(_polygon_mask(size, _jagged_polygon(cx, cy, radius, rng)))
    piece = img.convert("RGBA")
    piece.putalpha(alpha)
    piece = piece.crop(alpha.getbbox() or (0, 0, size, size))
    scale = rng.uniform(1.2, 1.8)
    piece = piece.resize((max(2, int(piece.width * scale)), max(2, int(piece.height * scale))),
                         Image.BILINEAR)
    piece = piece.rotate(rng.uniform(0, 360), resample=Image.BICUBIC, expand=True)
    a = np.asarray(piece.getchannel("A")) > 127
    rgb = np.asarray(piece.convert("RGB"), np.float32) / 255.0
    edge = a & ~_erode(a)
    rgb[edge] = np.asarray([0.80, 0.60, 0.45], np.float32) * rng.uniform(0.9, 1.05)
    bg = _background(size, rng)
    x0 = int(np.clip(size / 2 - piece.width / 2 + rng.uniform(-0.15, 0.15) * size, 0,
                     max(0, size - piece.width)))
    y0 = int(np.clip(size / 2 - piece.height / 2 + rng.uniform(-0.15, 0.15) * size, 0,
                     max(0, size - piece.height)))
    h, w = min(piece.height, size - y0), min(piece.width, size - x0)
    full = np.zeros((size, size), bool)
    full[y0:y0 + h, x0:x0 + w] = a[:h, :w]
    shadow = np.asarray(_mask_image(full).filter(ImageFilter.GaussianBlur(size * 0.015)),
                        np.float32) / 255.0
    bg *= (1.0 - 0.35 * np.roll(np.roll(shadow, 3, axis=0), 3, axis=1))[:, :, None]
    region = bg[y0:y0 + h, x0:x0 + w]
    region[a[:h, :w]] = rgb[:h, :w][a[:h, :w]]
    return Image.fromarray((np.clip(bg, 0, 1) * 255 + 0.5).astype(np.uint8))


_DEGRADERS = {"blur": _deg_blur, "noise": _deg_noise, "lowres": _deg_lowres, "jpeg": _deg_jpeg,
              "sketch": _deg_sketch, "shard": _deg_shard, "exposure": _deg_exposure}
assert set(_DEGRADERS) == set(DEGRADATIONS)


def degrade(img: Image.Image, kind: str, rng) -> Image.Image:
    """A low-quality version of a photograph (one of :data:`DEGRADATIONS`).

    ``blur`` strong Gaussian blur; ``noise`` heavy sensor noise; ``lowres`` ~1/8–1/11 resolution
    blown up blocky; ``jpeg`` quality 1–3 artefacts; ``sketch`` a line drawing on white;
    ``shard`` a small broken piece cut from the vase on an empty backdrop; ``exposure``
    badly over- or under-exposed.
    """
    if kind not in _DEGRADERS:
        raise ValueError(f"unknown degradation {kind!r}; expected one of {DEGRADATIONS}")
    return _DEGRADERS[kind](img.convert("RGB"), _np_rng(rng))
