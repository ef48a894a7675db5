"""Geometry: the cross-section of the wall (a dense profile curve) and the handle curves."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


UNDER, OUTER, LIP, INNER, FLOOR = range(5)   # regions of the cross-section curve
_DENSE_STEP = 0.0015                          # arc-length step of the stored curve (units)


def _catmull_rom(points: np.ndarray, per_segment: int = 16) -> np.ndarray:
    """A smooth curve through ``points`` (N, 2), ``per_segment`` samples per span."""
    p = np.asarray(points, float)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0.0, 1.0, per_segment, endpoint=False)[:, None]
    spans = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        spans.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                            + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    spans.append(p[-2][None])
    return np.vstack(spans)


@dataclass
class _Profile:
    """The wall's closed cross-section (r, h), densely and evenly sampled, with normals."""
    r: np.ndarray
    h: np.ndarray
    nr: np.ndarray
    nh: np.ndarray
    region: np.ndarray
    v: np.ndarray            # texture coordinate along the outer wall (0 foot → 1 rim)
    length: float            # arc length of the whole curve
    outer_length: float
    rim_r: float             # inner radius of the mouth
    foot_r: float
    floor_h: float
    h_outer: np.ndarray      # the outer wall, for look-ups r(h) and v(h)
    r_outer: np.ndarray
    v_outer: np.ndarray

    def r_at(self, h: float) -> float:
        """Outer radius at height ``h``."""
        return float(np.interp(h, np.maximum.accumulate(self.h_outer), self.r_outer))

    def v_at(self, h: float) -> float:
        """Texture coordinate of the outer wall at height ``h``."""
        return float(np.interp(h, np.maximum.accumulate(self.h_outer), self.v_outer))


def _build_profile(spec: dict, rng: np.random.Generator) -> _Profile:
    """The closed cross-section: underside, outer wall, lip, inner wall, inside floor."""
    pts = np.array(spec["pts"], float)
    pts[:, 0] *= rng.uniform(0.93, 1.07) * (1 + rng.uniform(-0.03, 0.03, len(pts)))
    outer = _catmull_rom(pts)
    outer[:, 0] = np.maximum(outer[:, 0], 0.01)
    t = spec.get("t", 0.02)
    floor = spec.get("floor", 0.1)
    r0 = outer[0, 0]
    recess = min(0.03, floor * 0.3)
    under = np.array([[0.0, recess], [0.72 * r0, recess], [0.86 * r0, 0.0]])
    inner = outer[outer[:, 1] >= floor][::-1].copy()
    inner[:, 0] = np.maximum(inner[:, 0] - t, 0.004)
    floor_end = np.array([[0.0, inner[-1, 1]]])
    curve = np.vstack([under, outer, inner, floor_end])
    seg_region = np.concatenate([
        np.full(len(under), UNDER), np.full(len(outer) - 1, OUTER), [LIP],
        np.full(len(inner) - 1, INNER), [FLOOR]])
    return _resample_profile(curve, seg_region, len(under), len(outer), inner, floor)


def _resample_profile(curve, seg_region, n_under, n_outer, inner, floor) -> _Profile:
    """Even arc-length resampling of the polyline, with smoothed outward normals."""
    d = np.diff(curve, axis=0)
    seg_len = np.hypot(d[:, 0], d[:, 1])
    keep = seg_len > 1e-9
    d, seg_len, seg_region = d[keep], seg_len[keep], seg_region[keep]
    start = np.vstack([curve[:-1][keep]])
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    s = np.arange(0.0, cum[-1], _DENSE_STEP)
    seg = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg_len) - 1)
    frac = (s - cum[seg]) / seg_len[seg]
    pts = start[seg] + d[seg] * frac[:, None]
    normals = np.stack([d[seg, 1], -d[seg, 0]], axis=1) / seg_len[seg][:, None]
    kernel = np.ones(9) / 9.0
    nr = np.convolve(np.pad(normals[:, 0], 4, mode="edge"), kernel, mode="valid")
    nh = np.convolve(np.pad(normals[:, 1], 4, mode="edge"), kernel, mode="valid")
    norm = np.hypot(nr, nh) + 1e-9
    region = seg_region[seg]
    outer = region == OUTER
    s_outer = s[outer] - s[outer][0]
    outer_length = float(s_outer[-1])
    v = np.zeros_like(s)
    v[outer] = s_outer / outer_length
    return _Profile(
        r=pts[:, 0], h=pts[:, 1], nr=nr / norm, nh=nh / norm, region=region.astype(np.int8),
        v=v, length=float(cum[-1]), outer_length=outer_length, rim_r=float(inner[0, 0]),
        foot_r=float(curve[n_under, 0]), floor_h=float(floor), h_outer=pts[outer, 1],
        r_outer=pts[outer, 0], v_outer=v[outer])


def _handle_curves(spec: dict, prof: _Profile) -> list[tuple[np.ndarray, float]]:
    """Handles as (points (M, 3) in the vase frame, tube radius); azimuth 0 faces +z."""
    up = np.array([0.0, 1.0, 0.0])
    s = np.linspace(0.0, 1.0, 48)[:, None]
    bump = np.sin(np.pi * s)
    curves = []
    for kind, az, *args in spec.get("handles", []):
        a = math.radians(az)
        out = np.array([math.sin(a), 0.0, math.cos(a)])
        if kind == "v":
            h_a, h_b, bulge, rise, rad = args
            p_a = out * (prof.r_at(h_a) - rad * 0.6) + up * h_a
            p_b = out * (prof.r_at(h_b) - rad * 0.6) + up * min(h_b, 1.0)
            if h_b > 1.0:   # handle rising above the rim: attach to the lip
                p_b = out * (prof.rim_r + rad) + up * 1.0
        else:
            h, half, bulge, rise, rad = args
            ends = []
            for da in (-math.radians(half), math.radians(half)):
                o = np.array([math.sin(a + da), 0.0, math.cos(a + da)])
                ends.append(o * (prof.r_at(h) - rad * 0.6) + up * h)
            p_a, p_b = ends
        pts = (1 - s) * p_a + s * p_b + out * bulge * bump + up * rise * bump
        curves.append((pts, float(rad)))
    return curves
