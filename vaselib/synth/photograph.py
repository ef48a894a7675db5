"""Photographs: background, shadow, anti-aliased edges, and broken vases."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vaselib.synth.common import CONDITIONS, _np_rng, _pick
from vaselib.synth.decoration import _Plan
from vaselib.synth.palette import _mix
from vaselib.synth.render import _render_layer
from vaselib.synth.texture import _attrs_key, _design, _erode


_BACKDROPS = ((0.86, 0.85, 0.83), (0.88, 0.85, 0.79), (0.80, 0.80, 0.80), (0.90, 0.88, 0.84),
              (0.77, 0.75, 0.71), (0.84, 0.81, 0.75))


def _background(size: int, rng) -> np.ndarray:
    """A studio backdrop: light grey/beige, vertical gradient, soft vignette, grain."""
    base = np.asarray(_pick(rng, _BACKDROPS), np.float32) + rng.uniform(-0.03, 0.03)
    t = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    grad = 1.0 + rng.uniform(-0.07, 0.07) * t[:, None]
    yy, xx = np.meshgrid(t, t, indexing="ij")
    vignette = 1.0 - rng.uniform(0.08, 0.16) * (xx ** 2 + yy ** 2) / 2
    bg = base[None, None, :] * (grad * vignette)[:, :, None]
    return bg + rng.normal(0.0, 0.006, bg.shape).astype(np.float32)


def _blur3(a: np.ndarray) -> np.ndarray:
    """A 3 × 3 binomial blur (edge-padded), for 2-D or 3-D arrays."""
    pad = [(1, 1), (1, 1)] + [(0, 0)] * (a.ndim - 2)
    p = np.pad(a, pad, mode="edge")
    p = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    return 0.25 * p[:, :-2] + 0.5 * p[:, 1:-1] + 0.25 * p[:, 2:]


def _mask_image(mask: np.ndarray) -> Image.Image:
    return Image.fromarray(mask.astype(np.uint8) * 255)


def _composite(colour: np.ndarray, mask: np.ndarray, rng) -> Image.Image:
    """Put the vase on a backdrop with a soft shadow and anti-aliased outline."""
    size = mask.shape[0]
    bg = _background(size, rng)
    shadow = _mask_image(mask).filter(ImageFilter.GaussianBlur(max(1.0, size * 0.03)))
    dx, dy = int(size * 0.025), int(size * 0.03)
    sh = np.asarray(shadow, np.float32) / 255.0
    sh = np.roll(np.roll(sh, dy, axis=0), dx, axis=1)
    bg *= (1.0 - 0.35 * sh)[:, :, None]
    alpha = mask.astype(np.float32)
    soft_a = _blur3(alpha)
    soft_c = _blur3(colour * alpha[:, :, None])
    sharp = np.where(mask[:, :, None], colour, bg)
    edge = ((soft_a > 0.01) & (soft_a < 0.99))[:, :, None]
    out = np.where(edge, soft_c + bg * (1.0 - soft_a[:, :, None]), sharp)
    out += rng.normal(0.0, 0.008, out.shape).astype(np.float32)
    return Image.fromarray((np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def _jagged_polygon(cx, cy, radius, rng, n=None) -> list[tuple[float, float]]:
    """An irregular, broken-edge polygon around (cx, cy)."""
    n = int(n or rng.integers(9, 15))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = radius * rng.uniform(0.5, 1.1, n)
    pts = []
    for k in range(n):   # a small notch between consecutive corners makes the edge jagged
        a0, a1 = angles[k], angles[(k + 1) % n] + (2 * math.pi if k == n - 1 else 0)
        pts.append((cx + radii[k] * math.cos(a0), cy + radii[k] * math.sin(a0)))
        am, rm = (a0 + a1) / 2, radius * rng.uniform(0.45, 1.0)
        pts.append((cx + rm * math.cos(am), cy + rm * math.sin(am)))
    return pts


def _polygon_mask(size: int, pts) -> np.ndarray:
    im = Image.new("L", (size, size), 0)
    ImageDraw.Draw(im).polygon(pts, fill=255)
    return np.asarray(im) > 127


def _boundary_point(mask, cy, cx, angle) -> tuple[float, float]:
    """Where a ray from (cx, cy) at ``angle`` leaves the object."""
    size = mask.shape[0]
    y, x = cy, cx
    for _ in range(2 * size):
        ny, nx = y + math.sin(angle), x + math.cos(angle)
        if not (0 <= int(ny) < size and 0 <= int(nx) < size) or not mask[int(ny), int(nx)]:
            break
        y, x = ny, nx
    return x, y


def _break_vase(colour, mask, plan: _Plan, rng) -> tuple[np.ndarray, np.ndarray]:
    """A broken vase: a large missing part, a hole into the inside, cracks, loose sherds."""
    size = mask.shape[0]
    ys, xs = np.nonzero(mask)
    if len(ys) < 30:
        return colour, mask
    cy, cx = ys.mean(), xs.mean()
    extent = max(np.ptp(ys), np.ptp(xs)) + 1
    colour, mask = colour.copy(), mask.copy()
    clay = np.asarray(_mix(plan.clay, (255, 255, 255), 0.25), np.float32) / 255.0
    inner = np.asarray(plan.interior, np.float32) / 255.0 * 0.35
    # 1. a large missing part of the outline (front and back walls gone)
    bx, by = _boundary_point(mask, cy, cx, rng.uniform(-math.pi, 0.2))
    missing = _polygon_mask(size, _jagged_polygon(bx, by, extent * rng.uniform(0.22, 0.36), rng))
    before = colour.copy()
    mask &= ~missing
    # 2. a hole through the front wall showing the dark inside
    hole = np.zeros_like(mask)
    if rng.random() < 0.7:
        core = np.flatnonzero(_erode(_erode(_erode(mask))).ravel())
        if len(core):
            p = int(rng.choice(core))
            hole = _polygon_mask(size, _jagged_polygon(p % size, p // size,
                                                       extent * rng.uniform(0.07, 0.13), rng))
            hole &= mask
            colour[hole] = inner
    # 3. the broken edges show the clay body
    broken = missing | hole
    near = np.asarray(_mask_image(broken).filter(ImageFilter.MaxFilter(5))) > 127
    edge = mask & near & (~_erode(mask | hole) | _erode_ring(hole))
    colour[edge] = clay
    # 4. cracks running from the break
    _draw_cracks(colour, mask & ~hole, missing, extent, rng)
    # 5. loose sherds lying beside the foot
    if rng.random() < 0.6:
        _loose_sherds(colour, mask, before, missing, ys.max(), extent, clay, rng)
    return colour, mask


def _erode_ring(hole: np.ndarray) -> np.ndarray:
    """Pixels just outside a hole (its rim, one pixel wide)."""
    grown = np.asarray(_mask_image(hole).filter(ImageFilter.MaxFilter(3))) > 127
    return grown & ~hole


def _draw_cracks(colour, region, missing, extent, rng) -> None:
    """2–4 dark zig-zag cracks starting at the missing part."""
    size = region.shape[0]
    starts = np.flatnonzero((np.asarray(_mask_image(missing).filter(ImageFilter.MaxFilter(3)))
                             > 127).ravel() & region.ravel())
    if not len(starts):
        return
    im = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(2, 5))):
        p = int(rng.choice(starts))
        x, y = float(p % size), float(p // size)
        heading = rng.uniform(0, 2 * math.pi)
        pts = [(x, y)]
        for _ in range(int(rng.integers(5, 10))):
            heading += rng.normal(0, 0.6)
            x += math.cos(heading) * extent * 0.05
            y += math.sin(heading) * extent * 0.05
            pts.append((x, y))
        d.line(pts, fill=255, width=max(1, size // 160))
    crack = (np.asarray(im) > 127) & region
    colour[crack] *= 0.25


def _loose_sherds(colour, mask, before, missing, bottom, extent, clay, rng) -> None:
    """Move one or two pieces of the missing part onto the floor beside the vase."""
    size = mask.shape[0]
    src = np.flatnonzero((missing & ~mask & (before.sum(axis=2) > 0)).ravel())
    for _ in range(int(rng.integers(1, 3))):
        if not len(src):
            return
        p = int(rng.choice(src))
        sx, sy = p % size, p // size
        piece = _polygon_mask(size, _jagged_polygon(sx, sy, extent * rng.uniform(0.05, 0.09), rng))
        piece &= missing & (before.sum(axis=2) > 0)
        py, px = np.nonzero(piece)
        if not len(py):
            continue
        ty = min(size - 3, int(bottom - rng.uniform(0, 0.06) * extent)) - (py.max() - sy)
        tx = int(sx + rng.choice([-1, 1]) * rng.uniform(0.35, 0.6) * extent)
        ny, nx = py - sy + ty, px - sx + tx
        ok = (ny >= 0) & (ny < size) & (nx >= 0) & (nx < size)
        ok &= ~mask[np.clip(ny, 0, size - 1), np.clip(nx, 0, size - 1)]
        colour[ny[ok], nx[ok]] = before[py[ok], px[ok]] * 0.9
        mask[ny[ok], nx[ok]] = True
        rim = (np.asarray(_mask_image(mask).filter(ImageFilter.MinFilter(3))) <= 127) & mask
        sel = np.zeros_like(mask)
        sel[ny[ok], nx[ok]] = True
        colour[rim & sel] = clay


def render_vase(attrs: dict, view_kind: str, size: int, rng, condition: str = "intact"
                ) -> Image.Image:
    """Photograph a vase with the given attributes from ``view_kind``; an RGB image.

    The vase's shape, colours and decoration follow from ``attrs`` alone (the same vase in
    every view); ``rng`` (numpy Generator, ``random.Random`` or int) sets the camera,
    lighting, backdrop and, for ``condition="fragment"``, how it is broken.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; expected one of {CONDITIONS}")
    rng = _np_rng(rng)
    design = _design(_attrs_key(attrs), int(np.clip(size * 1.5, 96, 1024)))
    colour, mask = _render_layer(design, view_kind, int(size), rng)
    if condition == "fragment":
        colour, mask = _break_vase(colour, mask, design.plan, rng)
    return _composite(colour, mask, rng)
