"""Rendering: z-buffered splats of the surface of revolution and its handles, shaded."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vaselib.synth.common import VIEW_KINDS
from vaselib.synth.geometry import (
    _DENSE_STEP,
    FLOOR,
    INNER,
    LIP,
    OUTER,
    UNDER,
    _Profile,
)
from vaselib.synth.texture import _Design


_VIEW_AZIMUTH = {"front": 0.0, "three_quarter": 45.0, "side": 90.0, "back": 180.0}
_SPACING = 0.7          # distance between surface samples, in output pixels


@dataclass
class _Camera:
    """Orthographic camera: azimuth/elevation (radians), pixels per unit, image centre."""
    az: float
    el: float
    scale: float
    cx: float
    cy: float
    light: np.ndarray


def _to_camera(x, y, z, az: float, el: float):
    """Rotate vase-frame coordinates (y up, azimuth 0 towards +z) into camera space."""
    ca, sa, ce, se = math.cos(az), math.sin(az), math.cos(el), math.sin(el)
    x1 = x * ca - z * sa
    z1 = x * sa + z * ca
    return x1, y * ce - z1 * se, y * se + z1 * ce


def _view_angles(view_kind: str, rng) -> tuple[float, float]:
    """(azimuth, elevation) in degrees for a view kind, with photographer's jitter."""
    if view_kind in _VIEW_AZIMUTH:
        az = _VIEW_AZIMUTH[view_kind] + rng.normal(0.0, 5.0)
        if view_kind in ("three_quarter", "side") and rng.random() < 0.5:
            az = -az
        return az, rng.uniform(3.0, 14.0)
    if view_kind == "top":
        return rng.uniform(0.0, 360.0), rng.uniform(70.0, 88.0)
    if view_kind == "bottom":
        return rng.uniform(0.0, 360.0), -rng.uniform(70.0, 88.0)
    raise ValueError(f"unknown view kind {view_kind!r}; expected one of {VIEW_KINDS}")


def _fit_camera(design: _Design, view_kind: str, size: int, rng) -> _Camera:
    """Place the vase in the frame: fill 65–85 % of it, slightly off-centre."""
    az, el = (math.radians(a) for a in _view_angles(view_kind, rng))
    prof = design.profile
    outer = np.flatnonzero(prof.region == OUTER)[::6]
    phi = np.linspace(0, 2 * math.pi, 36, endpoint=False)
    r, h = prof.r[outer][:, None], prof.h[outer][:, None] - 0.5
    xs = [(r * np.sin(phi)).ravel()]
    ys = [np.broadcast_to(h, (len(outer), len(phi))).ravel()]
    zs = [(r * np.cos(phi)).ravel()]
    for pts, rad in design.handles:
        xs.append(pts[:, 0]), ys.append(pts[:, 1] - 0.5), zs.append(pts[:, 2])
    x, y, _ = _to_camera(np.concatenate(xs), np.concatenate(ys), np.concatenate(zs), az, el)
    fill = rng.uniform(0.65, 0.85)
    scale = fill * size / max(np.ptp(x), np.ptp(y))
    jitter = rng.uniform(-0.04, 0.04, 2) * size
    cx = size / 2 - (x.max() + x.min()) / 2 * scale + jitter[0]
    cy = size / 2 + (y.max() + y.min()) / 2 * scale + jitter[1]
    light = np.array([-0.55 + rng.normal(0, 0.1), 0.55 + rng.normal(0, 0.1), 0.7])
    return _Camera(az, el, scale, cx, cy, light / np.linalg.norm(light))


@dataclass
class _Samples:
    """Surface points in camera space, with what is needed to colour the visible ones."""
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    n: np.ndarray            # (m, 3) camera-space normals
    region: np.ndarray       # UNDER…FLOOR, or -1 for handles
    v: np.ndarray            # outer texture coordinate
    phi: np.ndarray          # azimuth in the vase frame
    r: np.ndarray
    h: np.ndarray


def _body_samples(prof: _Profile, cam: _Camera) -> _Samples:
    """Points of the revolved cross-section facing the camera and possibly visible."""
    ce, se = math.cos(cam.el), math.sin(cam.el)
    # Step along the profile by its projected length: walls seen end-on (top and bottom
    # views) need far fewer rings than walls seen square-on.
    speed = np.abs(prof.nr) * abs(ce) + np.abs(prof.nh) + 0.05
    screen = np.concatenate([[0.0], np.cumsum(speed[:-1])]) * _DENSE_STEP
    n = int(screen[-1] * cam.scale / _SPACING) + 2
    base = np.arange(len(prof.r))
    fi = np.interp(np.linspace(0.0, screen[-1], n), screen, base)
    r, h, nr, nh, v = (np.interp(fi, base, a).astype(np.float32)
                       for a in (prof.r, prof.h, prof.nr, prof.nh, prof.v))
    reg = prof.region[np.rint(fi).astype(int)]
    centre, half = _visible_arcs(nr * ce, nh * se)
    rings = _ring_visible(prof, reg, r, h, cam) & (half > 0)
    k = np.where(rings, np.ceil(2 * half * r * cam.scale / _SPACING) + 1, 0).astype(np.int64)
    i = np.repeat(np.arange(n), k)
    j = np.arange(int(k.sum()), dtype=np.float32) - np.repeat(np.cumsum(k) - k, k)
    t = (j + 0.5) / k[i]
    phi = cam.az + centre[i] + (2.0 * t - 1.0) * half[i]
    sin_p, cos_p = np.sin(phi), np.cos(phi)
    ri = r[i]
    x, y, z = _to_camera(ri * sin_p, h[i] - 0.5, ri * cos_p, cam.az, cam.el)
    nri = nr[i]
    n_cam = np.stack(_to_camera(nri * sin_p, nh[i], nri * cos_p, cam.az, cam.el), axis=1)
    s = _Samples(x, y, z, n_cam, reg[i], v[i], phi, ri, h[i])
    return _cull_inside(s, prof, cam)


def _visible_arcs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per ring, the arc of azimuths (centre, half-width, relative to the camera) where
    the normal faces the camera: ``a·cos(ψ) + b > -0.03`` (back-face culling)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (-0.03 - b) / a
    front = a > 1e-6
    back = a < -1e-6
    flat = ~front & ~back
    half = np.zeros_like(a)
    half[front] = np.arccos(np.clip(c[front], -1.0, 1.0))
    half[back] = math.pi - np.arccos(np.clip(c[back], -1.0, 1.0))
    half[flat] = np.where(b[flat] > -0.03, math.pi, 0.0)
    centre = np.where(back, np.float32(math.pi), np.float32(0.0)).astype(np.float32)
    return centre, half.astype(np.float32)


def _ring_visible(prof: _Profile, reg, r, h, cam: _Camera) -> np.ndarray:
    """False for inner rings that cannot show through the mouth (seen from the side or
    below, or lying wholly below the mouth's outline on screen)."""
    inside = (reg == INNER) | (reg == FLOOR)
    if cam.el <= 0:
        return ~inside
    ce, se = math.cos(cam.el), math.sin(cam.el)
    mouth_low = 0.5 * ce - prof.rim_r * se - 2.0 / cam.scale
    ring_top = (h - 0.5) * ce + r * se
    return ~inside | (ring_top >= mouth_low)


def _cull_inside(s: _Samples, prof: _Profile, cam: _Camera) -> _Samples:
    """Drop inner-wall points that could only be seen through the wall, not the mouth."""
    mx, my, _ = _to_camera(0.0, 1.0 - 0.5, 0.0, cam.az, cam.el)
    a = prof.rim_r + 1.5 / cam.scale
    b = prof.rim_r * abs(math.sin(cam.el)) + 1.5 / cam.scale
    inside = (s.region == INNER) | (s.region == FLOOR)
    in_mouth = ((s.x - mx) / a) ** 2 + ((s.y - my) / b) ** 2 <= 1.0
    keep = ~inside | in_mouth
    return _Samples(*(getattr(s, f)[keep] for f in ("x", "y", "z", "n", "region", "v", "phi",
                                                      "r", "h")))


def _handle_samples(design: _Design, cam: _Camera) -> _Samples | None:
    """Points on the handles' tubes."""
    parts = []
    for pts, rad in design.handles:
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        ns = max(8, int(cum[-1] * cam.scale / _SPACING))
        t = np.linspace(0.0, cum[-1], ns)
        p = np.stack([np.interp(t, cum, pts[:, c]) for c in range(3)], axis=1)
        tan = np.gradient(p, axis=0)
        tan /= np.linalg.norm(tan, axis=1, keepdims=True) + 1e-12
        plane = np.cross(pts[len(pts) // 2] - pts[0], pts[-1] - pts[0])
        if np.linalg.norm(plane) < 1e-9:
            plane = np.array([0.0, 1.0, 0.0])
        n1 = plane - (tan @ plane)[:, None] * tan
        n1 /= np.linalg.norm(n1, axis=1, keepdims=True) + 1e-12
        n2 = np.cross(tan, n1)
        m = max(6, int(2 * math.pi * rad * cam.scale / _SPACING) + 1)
        psi = np.linspace(0, 2 * math.pi, m, endpoint=False)
        nrm = (np.cos(psi)[None, :, None] * n1[:, None] + np.sin(psi)[None, :, None] * n2[:, None])
        pos = p[:, None] + rad * nrm
        parts.append((pos.reshape(-1, 3), nrm.reshape(-1, 3)))
    if not parts:
        return None
    pos = np.concatenate([q[0] for q in parts])
    nrm = np.concatenate([q[1] for q in parts])
    x, y, z = _to_camera(pos[:, 0], pos[:, 1] - 0.5, pos[:, 2], cam.az, cam.el)
    n_cam = np.stack(_to_camera(nrm[:, 0], nrm[:, 1], nrm[:, 2], cam.az, cam.el), axis=1)
    m = len(x)
    zeros = np.zeros(m)
    return _Samples(x, y, z, n_cam, np.full(m, -1, np.int8), zeros, zeros, zeros, zeros)


def _zbuffer(s: _Samples, cam: _Camera, size: int) -> tuple[np.ndarray, np.ndarray]:
    """For each covered pixel, the nearest sample: (pixel indices, sample indices)."""
    px = np.floor(cam.cx + s.x * cam.scale).astype(np.int64)
    py = np.floor(cam.cy - s.y * cam.scale).astype(np.int64)
    ok = np.flatnonzero((px >= 0) & (px < size) & (py >= 0) & (py < size))
    pix = py[ok] * size + px[ok]
    z = s.z[ok]
    z0, z1 = float(z.min(initial=0.0)), float(z.max(initial=1.0))
    depth = ((z - z0) * ((2**22 - 1) / max(z1 - z0, 1e-9))).astype(np.int64)
    order = np.argsort((pix << 22) | depth, kind="stable")   # by pixel, then depth
    pix_sorted = pix[order]
    last = np.ones(len(order), bool)
    last[:-1] = pix_sorted[1:] != pix_sorted[:-1]
    return pix_sorted[last], ok[order[last]]


def _albedo(design: _Design, s: _Samples, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Base colour (m, 3) and shininess (m,) of the chosen samples."""
    plan, prof = design.plan, design.profile
    reg, m = s.region[idx], len(idx)
    col = np.empty((m, 3), np.float32)
    gl = np.full(m, 0.9, np.float32)
    th, tw = design.texture.shape[:2]

    def put(mask, color, shine):
        col[mask] = np.asarray(color, np.float32) / 255.0
        gl[mask] = shine

    outer = reg == OUTER
    ty = np.clip(((1.0 - s.v[idx][outer]) * (th - 1)).astype(int), 0, th - 1)
    u = ((s.phi[idx][outer] + math.pi / 2) % (2 * math.pi)) / (2 * math.pi)
    tx = np.clip((u * tw).astype(int), 0, tw - 1)
    col[outer] = design.texture[ty, tx]
    gl[outer] = design.gloss[ty, tx]
    put(reg == LIP, plan.lip, 0.9)
    put(reg == -1, plan.handle, 0.9 if sum(plan.handle) < 300 else 0.3)
    inside = (reg == INNER) | (reg == FLOOR)
    put(inside, plan.interior, 0.8 if sum(plan.interior) < 300 else 0.2)
    if design.tondo is not None:
        _apply_tondo(design, s, idx, inside, col)
    under = reg == UNDER
    rho = s.r[idx][under] / max(prof.foot_r, 1e-6)
    ring = ((rho > 0.22) & (rho < 0.3)) | ((rho > 0.55) & (rho < 0.62))
    ucol = np.where(ring[:, None], np.asarray(plan.under_rings, np.float32),
                    np.asarray(plan.under, np.float32)) / 255.0
    ucol[rho > 0.8] = np.asarray(plan.clay, np.float32) / 255.0
    col[under] = ucol
    gl[under] = 0.3
    return col, gl


def _apply_tondo(design, s, idx, inside, col):
    """Look up the inside picture of a cup or plate (seen from above)."""
    radius = 0.42 * design.profile.rim_r
    sub = np.flatnonzero(inside)
    r, phi = s.r[idx][sub], s.phi[idx][sub]
    near = r < radius
    size = design.tondo.shape[0]
    tx = ((r[near] * np.sin(phi[near]) / radius) * 0.5 + 0.5) * (size - 1)
    ty = ((r[near] * np.cos(phi[near]) / radius) * 0.5 + 0.5) * (size - 1)
    col[sub[near]] = design.tondo[np.clip(ty.astype(int), 0, size - 1),
                                  np.clip(tx.astype(int), 0, size - 1)]


def _shade(design: _Design, s: _Samples, idx: np.ndarray, cam: _Camera) -> np.ndarray:
    """Lambert + Blinn-Phong shading of the chosen samples; cavities are darker."""
    albedo, gloss = _albedo(design, s, idx)
    n = s.n[idx]
    n = n / (np.linalg.norm(n, axis=1, keepdims=True) + 1e-9)
    fill_light = np.array([0.6, 0.15, 0.78])
    fill_light /= np.linalg.norm(fill_light)
    diffuse = np.clip(n @ cam.light, 0, None)
    fill = np.clip(n @ fill_light, 0, None)
    half = cam.light + np.array([0.0, 0.0, 1.0])
    half /= np.linalg.norm(half)
    spec = gloss * (0.55 * np.clip(n @ half, 0, None) ** 40
                    + 0.12 * np.clip(n @ fill_light, 0, None) ** 12)
    light = 0.3 + 0.72 * diffuse + 0.22 * fill
    reg = s.region[idx]
    prof = design.profile
    depth = (1.0 - s.h[idx]) / max(2.0 * prof.rim_r, 1e-3)
    ao = np.where((reg == INNER) | (reg == FLOOR), np.clip(1.0 - depth, 0.15, 1.0), 1.0)
    warm = np.array([1.0, 0.98, 0.94], np.float32)
    return (albedo * light[:, None] * warm + spec[:, None]) * ao[:, None]


def _render_layer(design: _Design, view_kind: str, size: int, rng):
    """The vase alone: colour (size, size, 3) float, coverage mask (size, size) bool."""
    cam = _fit_camera(design, view_kind, size, rng)
    s = _body_samples(design.profile, cam)
    hs = _handle_samples(design, cam)
    if hs is not None:
        s = _Samples(*(np.concatenate([getattr(s, f), getattr(hs, f)])
                       for f in ("x", "y", "z", "n", "region", "v", "phi", "r", "h")))
    pix, idx = _zbuffer(s, cam, size)
    colour = np.zeros((size * size, 3), np.float32)
    mask = np.zeros(size * size, bool)
    colour[pix] = _shade(design, s, idx, cam)
    mask[pix] = True
    return colour.reshape(size, size, 3), mask.reshape(size, size)
