"""Texture: the outer wall unrolled (rows: rim → foot; columns: azimuth, front at u = 0.25)."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter

from vaselib.synth.common import ATTRIBUTE_KEYS
from vaselib.synth.decoration import _make_plan, _Plan, _Scheme
from vaselib.synth.figures import _Painter
from vaselib.synth.geometry import _build_profile, _handle_curves, _Profile
from vaselib.synth.ornaments import _ornament_band
from vaselib.synth.palette import _palette
from vaselib.synth.scenes import _draw_scene
from vaselib.synth.shapes import _shape_spec


def _erode(mask: np.ndarray) -> np.ndarray:
    """Binary erosion by one pixel (3 × 3)."""
    im = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MinFilter(3))
    return np.asarray(im) > 127


def _colourise(masks: dict, scheme: _Scheme, out: np.ndarray) -> None:
    """Paint a region's figure masks into ``out`` (H, W, 3) in the scheme's colours."""
    fill = np.asarray(masks["fill"]) > 127
    det = (np.asarray(masks["det"]) > 127) & fill
    acc = (np.asarray(masks["acc"]) > 127) & fill
    out[...] = scheme.ground
    if scheme.outline:
        out[acc] = scheme.accent
        out[(fill & ~_erode(fill)) | det] = scheme.detail
    else:
        out[fill] = scheme.fig
        out[acc] = scheme.accent
        out[det] = scheme.detail


def _figure_band(w: int, h: int, payload, geometric: bool, rng) -> Image.Image:
    """A figured frieze or pair of panels, ``w × h`` pixels."""
    regions, outside, fillers = payload
    arr = np.empty((h, w, 3), np.uint8)
    arr[...] = outside
    for a, b, scene, scheme in regions:
        x0, x1 = int(a * w), int(b * w)
        if x1 - x0 < 4:
            continue
        painter = _Painter((x1 - x0, h), geometric)
        if scene.startswith("ornament:"):
            strip = _ornament_band(scene.split(":", 1)[1], x1 - x0, h, scheme.fig, scheme.ground)
            arr[:, x0:x1] = np.asarray(strip)
            continue
        if fillers:
            painter.rosettes(0, x1 - x0, 0.05 * h, 0.3 * h, rng, max(1, (x1 - x0) // h))
        _draw_scene(painter, scene, 0.0, float(x1 - x0), h, rng)
        _colourise(painter.masks, scheme, arr[:, x0:x1])
    return Image.fromarray(arr)


def _tondo_image(scene: str, scheme: _Scheme, outside, size: int, rng) -> np.ndarray:
    """The round picture inside a cup or plate: one figure in a meander ring."""
    arr = np.empty((size, size, 3), np.uint8)
    painter = _Painter((size, size))
    _draw_scene(painter, scene, 0.18 * size, 0.82 * size, int(0.8 * size), rng)
    _colourise(painter.masks, scheme, arr)
    yy, xx = np.mgrid[0:size, 0:size]
    rr = np.hypot(xx - size / 2, yy - size / 2) / (size / 2)
    arr[(rr > 0.82) & (rr <= 0.95)] = scheme.detail if scheme.ground != scheme.detail else outside
    arr[(rr > 0.86) & (rr <= 0.91)] = scheme.ground
    arr[rr > 0.95] = outside
    return arr


def _paint_texture(prof: _Profile, plan: _Plan, tex_h: int, rng) -> np.ndarray:
    """The outer wall's texture (tex_h, W, 3) uint8, each band drawn at its true aspect."""
    k = tex_h / prof.outer_length                 # texture pixels per unit of length
    width = int(np.clip(round(2 * math.pi * prof.r_outer.max() * k), 64, 4096))
    img = Image.new("RGB", (width, tex_h), plan.base)

    def row(h):
        return int(round((1.0 - prof.v_at(h)) * tex_h))

    for h0, h1, kind, payload in plan.bands:
        h0, h1 = max(0.0, h0), min(1.0, h1)
        y0, y1 = row(h1), row(h0)
        if y1 - y0 < 1:
            continue
        w_loc = max(8, int(round(2 * math.pi * prof.r_at((h0 + h1) / 2) * k)))
        if kind == "fill":
            strip = Image.new("RGB", (w_loc, y1 - y0), payload)
        elif kind == "orn":
            name, fg, bg, alt = payload
            strip = _ornament_band(name, w_loc, y1 - y0, fg, bg, alt)
        else:
            strip = _figure_band(w_loc, y1 - y0, payload, plan.geometric, rng)
        img.paste(strip.resize((width, y1 - y0), Image.BILINEAR), (0, y0))
    return np.asarray(img)


@dataclass
class _Design:
    """A vase's geometry and decoration: the same for all its photographs."""
    family: str
    profile: _Profile
    handles: list
    plan: _Plan
    texture: np.ndarray          # (th, tw, 3) float32 0–1
    gloss: np.ndarray            # (th, tw) float32 shininess
    tondo: np.ndarray | None     # (s, s, 3) float32 or None


def _attrs_key(attrs: dict) -> str:
    """The design's cache key: the seven attributes only (extra keys change nothing)."""
    return json.dumps({k: attrs.get(k) for k in ATTRIBUTE_KEYS}, sort_keys=True, default=list)


@lru_cache(maxsize=32)
def _design(key: str, tex_h: int) -> _Design:
    """Build (and cache) the design of the vase whose attributes serialise to ``key``."""
    attrs = json.loads(key)
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
    family, spec = _shape_spec(attrs.get("shape") or "amphora")
    prof = _build_profile(spec, rng)
    pal = _palette(attrs.get("fabric") or "Athenian", attrs.get("technique") or "", rng)
    plan = _make_plan(attrs, family, spec, pal, rng)
    tex = _paint_texture(prof, plan, tex_h, rng).astype(np.float32) / 255.0
    lum = tex.mean(axis=2)
    gloss = np.clip((0.42 - lum) / 0.25, 0.0, 1.0) * 0.85 + 0.15
    tondo = None
    if plan.tondo:
        tondo = _tondo_image(*plan.tondo, plan.interior, 256, rng).astype(np.float32) / 255.0
    return _Design(family, prof, _handle_curves(spec, prof), plan, tex, gloss.astype(np.float32),
                   tondo)
