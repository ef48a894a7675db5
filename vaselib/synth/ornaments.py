"""Ornament bands (meander, rays, tongues, palmettes, ivy …), drawn with PIL at the band's
true aspect ratio."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from vaselib import vocabulary as voc


def _units(w: int, h: int, aspect: float = 1.2) -> tuple[int, float]:
    """How many repeats of a motif about ``aspect × h`` wide fit in ``w``, and their width."""
    n = max(2, int(round(w / max(1.0, aspect * h))))
    return n, w / n


def _orn_meander(d, w, h, fg, alt):
    n, p = _units(w, h, 1.1)
    lw = max(1, int(round(h * 0.11)))
    m = h * 0.14
    for i in range(n):
        x = i * p
        key = [(0.0, 1.0), (0.0, 0.0), (0.78, 0.0), (0.78, 0.68), (0.36, 0.68), (0.36, 0.34)]
        pts = [(x + m + u * (p - 2 * m), m + v * (h - 2 * m)) for u, v in key]
        d.line(pts, fill=fg, width=lw)
        d.line([(x + m, h - m), (x + p + m, h - m)], fill=fg, width=lw)


def _orn_rays(d, w, h, fg, alt):
    n, p = _units(w, h, 0.45)
    for i in range(n):
        x = i * p
        d.polygon([(x + 0.08 * p, h), (x + 0.5 * p, 0.05 * h), (x + 0.92 * p, h)], fill=fg)


def _orn_tongues(d, w, h, fg, alt):
    n, p = _units(w, h, 0.5)
    for i in range(n):
        x = i * p
        d.ellipse((x + 0.1 * p, -h, x + 0.9 * p, 0.88 * h), fill=alt if (alt and i % 2) else fg)


def _palmette(d, cx, base, hh, fg, up=True):
    """A fan of leaves on a small heart; ``up`` False hangs it from the top."""
    sgn = -1 if up else 1
    for k in range(7):
        ang = math.radians(-60 + 20 * k)
        tip = (cx + math.sin(ang) * 0.42 * hh, base + sgn * math.cos(ang) * 0.78 * hh)
        d.line([(cx, base), tip], fill=fg, width=max(1, int(hh * 0.09)))
    r = hh * 0.12
    d.ellipse((cx - r, base - r, cx + r, base + r), fill=fg)


def _orn_palmettes(d, w, h, fg, alt, lotus=False):
    n, p = _units(w, h, 0.9)
    for i in range(n):
        cx = (i + 0.5) * p
        if lotus and i % 2:
            d.polygon([(cx, 0.08 * h), (cx - 0.22 * p, 0.7 * h), (cx, 0.9 * h),
                       (cx + 0.22 * p, 0.7 * h)], fill=alt or fg)
            d.line([(cx - 0.3 * p, 0.55 * h), (cx, 0.9 * h), (cx + 0.3 * p, 0.55 * h)],
                   fill=fg, width=max(1, int(h * 0.06)))
        else:
            _palmette(d, cx, 0.9 * h, 0.95 * h, fg, up=True)
        d.arc((cx - 0.5 * p, 0.75 * h, cx + 0.5 * p, 1.25 * h), 180, 360, fill=fg,
              width=max(1, int(h * 0.05)))


def _orn_lotus(d, w, h, fg, alt):
    _orn_palmettes(d, w, h, fg, alt, lotus=True)


def _orn_ivy(d, w, h, fg, alt, leaf=None):
    n, p = _units(w, h, 0.9)
    xs = np.linspace(0, w, max(8, 4 * n))
    ys = h * (0.5 + 0.12 * np.sin(xs / p * 2 * np.pi))
    d.line(list(zip(xs.tolist(), ys.tolist())), fill=fg, width=max(1, int(h * 0.07)))
    for i in range(2 * n):
        cx = (i + 0.5) * p / 2
        cy = h * (0.25 if i % 2 else 0.75)
        r = h * 0.17
        d.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r * 1.2), (cx - r, cy)],
                  fill=leaf or alt or fg)


def _orn_laurel(d, w, h, fg, alt):
    n, p = _units(w, h, 0.5)
    d.line([(0, h / 2), (w, h / 2)], fill=fg, width=max(1, int(h * 0.06)))
    for i in range(n):
        cx = (i + 0.5) * p
        for sgn in (-1, 1):
            d.polygon([(cx - 0.35 * p, h / 2), (cx + 0.1 * p, h / 2 + sgn * 0.38 * h),
                       (cx + 0.35 * p, h / 2 + sgn * 0.1 * h)], fill=alt or fg)


def _orn_zigzag(d, w, h, fg, alt):
    n, p = _units(w, h, 0.6)
    pts = [(i * p / 2, 0.15 * h if i % 2 else 0.85 * h) for i in range(2 * n + 1)]
    d.line(pts, fill=fg, width=max(1, int(h * 0.13)))


def _orn_checker(d, w, h, fg, alt):
    n, p = _units(w, h / 2, 1.0)
    for i in range(n):
        for row in (0, 1):
            if (i + row) % 2 == 0:
                d.rectangle((i * p, row * h / 2, (i + 1) * p, (row + 1) * h / 2), fill=fg)


def _orn_dots(d, w, h, fg, alt):
    n, p = _units(w, h, 0.8)
    r = h * 0.2
    for i in range(n):
        cx = (i + 0.5) * p
        d.ellipse((cx - r, h / 2 - r, cx + r, h / 2 + r), fill=fg)


def _orn_lines(d, w, h, fg, alt):
    lw = max(1, int(h * 0.12))
    for y in (0.2, 0.5, 0.8):
        d.line([(0, y * h), (w, y * h)], fill=fg, width=lw)


def _orn_net(d, w, h, fg, alt):
    n, p = _units(w, h, 0.7)
    for i in range(n):
        cx = (i + 0.5) * p
        d.polygon([(cx, 0.08 * h), (cx + 0.45 * p, h / 2), (cx, 0.92 * h), (cx - 0.45 * p, h / 2)],
                  outline=fg, width=max(1, int(h * 0.08)))
        d.ellipse((cx - 0.08 * p, h / 2 - 0.08 * p, cx + 0.08 * p, h / 2 + 0.08 * p), fill=fg)


def _orn_necklace(d, w, h, fg, alt):
    n, p = _units(w, h, 1.1)
    for i in range(n):
        x = i * p
        d.arc((x, -0.6 * h, x + p, 0.7 * h), 20, 160, fill=fg, width=max(1, int(h * 0.07)))
        cx, r = x + 0.5 * p, h * 0.09
        d.ellipse((cx - r, 0.72 * h - r, cx + r, 0.72 * h + 1.6 * r), fill=alt or fg)


def _orn_vine(d, w, h, fg, alt):
    _orn_ivy(d, w, h, fg, None, leaf=fg)
    n, p = _units(w, h, 1.6)
    for i in range(n):
        cx = (i + 0.5) * p
        for k, (dx, dy) in enumerate(((0, 0), (-1, -1), (1, -1), (0, -2), (-1, -3), (1, -3))):
            r = h * 0.06
            y = 0.85 * h + dy * r * 1.4 - 0.1 * h
            d.ellipse((cx + dx * r * 1.2 - r, y - r, cx + dx * r * 1.2 + r, y + r), fill=alt or fg)


def _orn_ribbing(d, w, h, fg, alt):
    n, p = _units(w, h, 0.12)
    for i in range(n):
        d.line([(i * p, 0), (i * p, h)], fill=fg, width=max(1, int(p * 0.3)))


_ORNAMENTS = {
    "meander": _orn_meander, "rays": _orn_rays, "tongues": _orn_tongues,
    "palmettes": _orn_palmettes, "lotus-and-palmette": _orn_lotus, "ivy": _orn_ivy,
    "laurel": _orn_laurel, "zigzag": _orn_zigzag, "checker": _orn_checker, "dots": _orn_dots,
    "lines": _orn_lines, "net": _orn_net, "necklace": _orn_necklace, "vine": _orn_vine,
    "ribbing": _orn_ribbing,
}
assert set(voc.ORNAMENTS) <= set(_ORNAMENTS)


def _ornament_band(name: str, w: int, h: int, fg, bg, alt=None) -> Image.Image:
    """An RGB strip ``w × h`` of the named ornament, ``fg`` on ``bg``."""
    im = Image.new("RGB", (max(1, w), max(1, h)), bg)
    if h >= 2:
        _ORNAMENTS[name](ImageDraw.Draw(im), w, h, fg, alt)
    return im
