"""Figures: silhouettes drawn into three masks (fill, detail lines, added colour)."""
from __future__ import annotations

import math

from PIL import Image, ImageDraw


class _Painter:
    """Draws figures as masks: ``fill`` (the figure), ``det`` (incised/relief lines inside
    it) and ``acc`` (added colour).  The technique decides their colours afterwards."""

    def __init__(self, size: tuple[int, int], geometric: bool = False):
        self.masks = {k: Image.new("L", size, 0) for k in ("fill", "det", "acc")}
        self.f, self.d, self.a = (ImageDraw.Draw(self.masks[k]) for k in ("fill", "det", "acc"))
        self.geo = geometric

    # primitives ---------------------------------------------------------------------
    @staticmethod
    def ell(draw, cx, cy, rx, ry=None):
        ry = rx if ry is None else ry
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)

    @staticmethod
    def ring(draw, cx, cy, rx, ry, w):
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), outline=255, width=max(1, int(w)))

    @staticmethod
    def line(draw, pts, w):
        draw.line([(float(x), float(y)) for x, y in pts], fill=255, width=max(1, int(round(w))),
                  joint="curve")

    @staticmethod
    def poly(draw, pts):
        draw.polygon([(float(x), float(y)) for x, y in pts], fill=255)

    # people -------------------------------------------------------------------------
    def human(self, x, base, H, f=1, kind="man", pose="walk"):
        """A standing/striding figure ``H`` tall at ``x`` facing ``f`` (±1)."""
        if self.geo:
            return self._geo_human(x, base, H, f, pose)
        F, D, A, u = self.f, self.d, self.a, H
        hip = base - 0.48 * u
        hx, hy, hr = x + 0.03 * u * f, base - 0.9 * u, 0.068 * u
        robed = kind in ("woman", "youth", "athena", "dionysos", "maenad")
        if robed:
            self.poly(F, [(x - 0.08 * u, base - 0.62 * u), (x + 0.08 * u, base - 0.62 * u),
                          (x + 0.15 * u, base), (x - 0.13 * u, base)])
            for k in (-0.05, 0.02, 0.08):
                self.line(D, [(x + k * u, base - 0.5 * u), (x + k * 1.6 * u, base - 0.04 * u)],
                          0.018 * u)
            self.line(A, [(x - 0.14 * u, base - 0.05 * u), (x + 0.15 * u, base - 0.05 * u)],
                      0.04 * u)
        else:
            self._legs(x, base, hip, u, f, pose)
        self.poly(F, [(x - 0.09 * u, base - 0.80 * u), (x + 0.09 * u, base - 0.80 * u),
                      (x + 0.065 * u, hip), (x - 0.065 * u, hip)])
        self.line(F, [(hx, hy), (x, base - 0.78 * u)], 0.06 * u)
        self.ell(F, hx, hy, hr, hr * 1.1)
        self.line(D, [(x - 0.06 * u, base - 0.56 * u), (x + 0.06 * u, base - 0.56 * u)], 0.02 * u)
        self.ell(D, hx + 0.03 * u * f, hy - 0.01 * u, 0.012 * u)   # the eye
        self._arms(x, base, u, f, pose)
        self._attributes(x, base, u, f, kind, hx, hy, hr)

    def _legs(self, x, base, hip, u, f, pose):
        F = self.f
        stride = {"stand": 0.06, "walk": 0.14, "fight": 0.2, "run": 0.22, "crouch": 0.16}.get(
            pose, 0.12)
        if pose == "run":
            self.line(F, [(x, hip), (x + 0.14 * u * f, base - 0.24 * u),
                          (x + 0.26 * u * f, base - 0.02 * u)], 0.055 * u)
            self.line(F, [(x, hip), (x - 0.06 * u * f, base - 0.22 * u),
                          (x - 0.24 * u * f, base - 0.16 * u)], 0.055 * u)
        elif pose == "crouch":
            self.line(F, [(x, hip), (x + 0.18 * u * f, base - 0.3 * u),
                          (x + 0.1 * u * f, base)], 0.06 * u)
            self.line(F, [(x, hip), (x - 0.12 * u * f, base - 0.02 * u)], 0.06 * u)
        else:
            self.line(F, [(x, hip), (x + stride * u * f, base)], 0.055 * u)
            self.line(F, [(x, hip), (x - stride * u * f, base)], 0.055 * u)
        self.ell(F, x, hip, 0.075 * u, 0.06 * u)

    def _arms(self, x, base, u, f, pose):
        F, w = self.f, 0.045 * u
        sh_f = (x + 0.06 * u * f, base - 0.77 * u)
        sh_b = (x - 0.05 * u * f, base - 0.77 * u)
        if pose == "raise":
            self.line(F, [sh_f, (x + 0.2 * u * f, base - 1.02 * u)], w)
            self.line(F, [sh_b, (x - 0.17 * u * f, base - 1.02 * u)], w)
        elif pose == "fight":
            self.line(F, [sh_f, (x + 0.3 * u * f, base - 0.7 * u)], w)
            self.line(F, [sh_b, (x - 0.12 * u * f, base - 1.0 * u)], w)
        elif pose == "run":
            self.line(F, [sh_f, (x + 0.22 * u * f, base - 0.92 * u)], w)
            self.line(F, [sh_b, (x - 0.2 * u * f, base - 0.55 * u)], w)
        else:
            self.line(F, [sh_f, (x + 0.16 * u * f, base - 0.6 * u),
                          (x + 0.27 * u * f, base - 0.64 * u)], w)
            self.line(F, [sh_b, (x - 0.1 * u * f, base - 0.46 * u)], w)

    def _attributes(self, x, base, u, f, kind, hx, hy, hr):
        F, D, A = self.f, self.d, self.a
        if kind in ("warrior", "athena", "amazon"):
            self.poly(F, [(hx - 0.05 * u * f, hy - 0.06 * u), (hx - 0.22 * u * f, hy - 0.02 * u),
                          (hx - 0.15 * u * f, hy - 0.16 * u), (hx + 0.03 * u * f, hy - 0.12 * u)])
            sx, sy, sr = x + 0.15 * u * f, base - 0.6 * u, 0.17 * u
            self.ell(F, sx, sy, sr)
            self.ring(D, sx, sy, sr * 0.8, sr * 0.8, 0.02 * u)
            self.ell(A, sx, sy, sr * 0.35)
            self.line(F, [(x - 0.3 * u * f, base - 0.1 * u), (x + 0.42 * u * f, base - 1.05 * u)],
                      0.025 * u)
        elif kind == "hero":
            self.line(F, [(x + 0.26 * u * f, base - 0.63 * u), (x + 0.4 * u * f, base - 0.98 * u)],
                      0.07 * u)
            self.poly(A, [(x - 0.09 * u, base - 0.8 * u), (x + 0.08 * u, base - 0.8 * u),
                          (x + 0.02 * u, base - 0.5 * u)])
        elif kind == "satyr":
            self.line(F, [(x - 0.06 * u * f, base - 0.5 * u), (x - 0.24 * u * f, base - 0.42 * u)],
                      0.04 * u)
            self.poly(F, [(hx - 0.02 * u, hy - hr), (hx - 0.07 * u * f, hy - 0.17 * u),
                          (hx - 0.06 * u * f, hy - 0.03 * u)])
            self.ell(F, hx + 0.04 * u * f, hy + 0.07 * u, 0.05 * u, 0.06 * u)
        elif kind == "minotaur":
            self.ell(F, hx + 0.03 * u * f, hy, hr * 1.4, hr * 1.2)
            for sgn in (-1, 1):
                self.line(F, [(hx + sgn * 0.06 * u, hy - 0.06 * u),
                              (hx + sgn * 0.13 * u, hy - 0.16 * u)], 0.03 * u)
        elif kind == "eros":
            self.poly(F, [(x, base - 0.78 * u), (x - 0.34 * u * f, base - 1.05 * u),
                          (x - 0.38 * u * f, base - 0.8 * u), (x - 0.2 * u * f, base - 0.58 * u)])
            self.line(D, [(x - 0.05 * u * f, base - 0.78 * u), (x - 0.3 * u * f, base - 0.85 * u)],
                      0.015 * u)
        elif kind == "dionysos":
            self.ell(F, hx + 0.04 * u * f, hy + 0.08 * u, 0.06 * u, 0.07 * u)
            cx, cy = x + 0.3 * u * f, base - 0.7 * u
            self.poly(F, [(cx - 0.07 * u, cy - 0.06 * u), (cx + 0.07 * u, cy - 0.06 * u),
                          (cx + 0.03 * u, cy + 0.04 * u), (cx - 0.03 * u, cy + 0.04 * u)])
            self.ring(A, hx, hy - 0.02 * u, hr * 1.1, hr * 0.8, 0.025 * u)
        elif kind in ("woman", "maenad"):
            self.ell(F, hx - 0.07 * u * f, hy - 0.01 * u, 0.045 * u)
            self.ring(A, hx, hy, hr, hr * 1.1, 0.02 * u)

    def _geo_human(self, x, base, H, f, pose):
        """A Geometric stick figure: dot head, triangle torso, thin limbs."""
        F, u = self.f, H
        self.ell(F, x, base - 0.9 * u, 0.06 * u)
        self.poly(F, [(x - 0.13 * u, base - 0.82 * u), (x + 0.13 * u, base - 0.82 * u),
                      (x, base - 0.48 * u)])
        self.line(F, [(x, base - 0.5 * u), (x - 0.1 * u, base)], 0.04 * u)
        self.line(F, [(x, base - 0.5 * u), (x + 0.1 * u, base)], 0.04 * u)
        up = 1.05 if pose in ("raise", "fight") else 0.6
        self.line(F, [(x - 0.12 * u, base - 0.8 * u), (x - 0.16 * u, base - up * u)], 0.035 * u)
        self.line(F, [(x + 0.12 * u, base - 0.8 * u), (x + 0.16 * u, base - up * u)], 0.035 * u)

    # animals ------------------------------------------------------------------------
    def beast(self, x, base, L, f=1, kind="lion"):
        """A quadruped (or sphinx/siren) about ``L`` long standing on ``base``."""
        if kind == "siren":
            return self._siren(x, base, L, f)
        F, D, A = self.f, self.d, self.a
        tall = {"boar": 0.5, "horse": 0.68, "deer": 0.66}.get(kind, 0.6)
        top, bottom = base - tall * L, base - (tall - 0.3) * L
        leg_w = (0.035 if kind == "deer" else 0.06) * L
        self.ell(F, x, (top + bottom) / 2, 0.38 * L, (bottom - top) / 2)
        for dx, lean in ((-0.28, -0.04), (-0.2, 0.05), (0.18, -0.03), (0.27, 0.06)):
            self.line(F, [(x + dx * L * f, bottom - 0.04 * L), (x + (dx + lean) * L * f, base)],
                      leg_w)
        hx, hy = x + 0.45 * L * f, top + 0.03 * L
        if kind in ("horse", "deer", "goat"):
            hx, hy = x + 0.5 * L * f, top - 0.2 * L
        self.poly(F, [(x + 0.25 * L * f, top + 0.02 * L), (hx, hy - 0.05 * L),
                      (hx, hy + 0.09 * L), (x + 0.3 * L * f, bottom - 0.05 * L)])
        self.ell(F, hx + 0.05 * L * f, hy, 0.12 * L, 0.08 * L)
        self.line(F, [(x - 0.36 * L * f, top + 0.06 * L), (x - 0.5 * L * f, top + 0.12 * L),
                      (x - 0.55 * L * f, bottom + 0.05 * L)], 0.03 * L)
        self.line(D, [(x - 0.28 * L, bottom - 0.07 * L), (x + 0.26 * L, bottom - 0.07 * L)],
                  0.015 * L)
        self._beast_parts(x, base, L, f, kind, hx, hy, top, bottom)

    def _beast_parts(self, x, base, L, f, kind, hx, hy, top, bottom):
        F, D, A = self.f, self.d, self.a
        if kind == "lion":
            self.ell(F, x + 0.36 * L * f, top + 0.08 * L, 0.17 * L, 0.16 * L)
            self.ring(D, x + 0.36 * L * f, top + 0.08 * L, 0.13 * L, 0.12 * L, 0.015 * L)
            self.ell(A, x + 0.33 * L * f, top + 0.12 * L, 0.09 * L)
        elif kind == "boar":
            pts = [(x + (k / 8 - 0.45) * L, top + (0.0 if k % 2 else 0.05) * L - 0.04 * L)
                   for k in range(9)]
            self.poly(F, pts + [(x + 0.55 * L, top + 0.08 * L), (x - 0.45 * L, top + 0.08 * L)])
            self.line(D, [(hx + 0.1 * L * f, hy + 0.03 * L), (hx + 0.05 * L * f, hy - 0.05 * L)],
                      0.015 * L)
        elif kind in ("bull", "goat"):
            for sgn in (0, 1):
                tip = (hx - (0.12 + 0.06 * sgn) * L * f, hy - 0.18 * L)
                self.line(F, [(hx, hy - 0.05 * L), tip], 0.03 * L)
        elif kind == "deer":
            for k in range(3):
                self.line(F, [(hx - 0.02 * L * f, hy - 0.06 * L),
                              (hx - (0.05 + 0.07 * k) * L * f, hy - (0.2 + 0.05 * k) * L)],
                          0.02 * L)
        elif kind == "horse":
            self.line(A, [(x + 0.3 * L * f, top), (hx - 0.02 * L * f, hy - 0.06 * L)], 0.04 * L)
        elif kind == "sphinx":
            self.ell(F, hx + 0.03 * L * f, hy - 0.12 * L, 0.08 * L, 0.09 * L)
            self.poly(F, [(x, top + 0.05 * L), (x - 0.35 * L * f, top - 0.45 * L),
                          (x - 0.15 * L * f, top - 0.4 * L), (x + 0.2 * L * f, top)])
            for k in range(3):
                self.line(D, [(x - 0.05 * k * L * f, top), (x - (0.2 + 0.05 * k) * L * f,
                                                             top - 0.32 * L)], 0.012 * L)

    def _siren(self, x, base, L, f):
        F, D = self.f, self.d
        self.ell(F, x, base - 0.35 * L, 0.25 * L, 0.16 * L)
        self.ell(F, x + 0.28 * L * f, base - 0.6 * L, 0.08 * L, 0.09 * L)
        self.line(F, [(x + 0.15 * L * f, base - 0.4 * L), (x + 0.27 * L * f, base - 0.55 * L)],
                  0.06 * L)
        self.poly(F, [(x - 0.3 * L * f, base - 0.35 * L), (x - 0.5 * L * f, base - 0.25 * L),
                      (x - 0.45 * L * f, base - 0.42 * L)])
        for dx in (-0.05, 0.05):
            self.line(F, [(x + dx * L, base - 0.22 * L), (x + dx * L, base)], 0.03 * L)
        self.line(D, [(x - 0.2 * L, base - 0.38 * L), (x + 0.12 * L, base - 0.38 * L)],
                  0.015 * L)

    # objects ------------------------------------------------------------------------
    def chariot(self, x, base, H, f=1):
        """A quadriga: two overlapping horses, a wheel and a charioteer."""
        L = 0.9 * H
        for k in range(2):
            self.beast(x + (0.25 + 0.08 * k) * H * f, base, L, f, "horse")
        wx, wr = x - 0.28 * H * f, 0.26 * H
        self.ring(self.f, wx, base - wr, wr, wr, 0.05 * H)
        for ang in range(0, 180, 45):
            a = math.radians(ang)
            self.line(self.f, [(wx - math.cos(a) * wr, base - wr - math.sin(a) * wr),
                               (wx + math.cos(a) * wr, base - wr + math.sin(a) * wr)], 0.025 * H)
        self.poly(self.f, [(wx - 0.2 * H, base - 0.62 * H), (wx + 0.22 * H, base - 0.62 * H),
                           (wx + 0.18 * H, base - 0.42 * H), (wx - 0.15 * H, base - 0.42 * H)])
        self.human(wx, base - 0.3 * H, 0.75 * H, f, "man", "stand")
        self.line(self.d, [(wx + 0.15 * H * f, base - 0.8 * H), (x + 0.6 * H * f,
                                                                 base - 0.72 * H)], 0.015 * H)

    def owl(self, x, base, H):
        F, D, A = self.f, self.d, self.a
        self.ell(F, x, base - 0.38 * H, 0.22 * H, 0.36 * H)
        self.ell(F, x, base - 0.78 * H, 0.2 * H, 0.16 * H)
        for sgn in (-1, 1):
            self.poly(F, [(x + sgn * 0.06 * H, base - 0.9 * H), (x + sgn * 0.2 * H, base - 1.0 * H),
                          (x + sgn * 0.18 * H, base - 0.82 * H)])
            self.ring(D, x + sgn * 0.08 * H, base - 0.8 * H, 0.06 * H, 0.06 * H, 0.02 * H)
        for k in range(3):
            self.line(D, [(x - 0.12 * H, base - (0.45 - 0.1 * k) * H),
                          (x + 0.12 * H, base - (0.45 - 0.1 * k) * H)], 0.015 * H)
        self.line(F, [(x + 0.25 * H, base - 0.3 * H), (x + 0.5 * H, base - 0.6 * H)], 0.02 * H)
        for k in range(3):
            self.ell(A, x + (0.3 + 0.07 * k) * H, base - (0.38 + 0.09 * k) * H, 0.04 * H, 0.02 * H)

    def couch(self, x, base, H, f=1):
        """A banqueter reclining on a kline."""
        F, D = self.f, self.d
        self.line(F, [(x - 0.45 * H, base - 0.35 * H), (x + 0.45 * H, base - 0.35 * H)], 0.05 * H)
        for dx in (-0.4, 0.4):
            self.line(F, [(x + dx * H, base - 0.35 * H), (x + dx * H, base)], 0.04 * H)
        self.ell(F, x, base - 0.45 * H, 0.35 * H, 0.09 * H)
        self.poly(F, [(x - 0.25 * H * f, base - 0.45 * H), (x - 0.2 * H * f, base - 0.8 * H),
                      (x - 0.02 * H * f, base - 0.78 * H), (x + 0.02 * H * f, base - 0.45 * H)])
        self.ell(F, x - 0.12 * H * f, base - 0.9 * H, 0.07 * H, 0.075 * H)
        self.line(D, [(x - 0.3 * H, base - 0.45 * H), (x + 0.3 * H, base - 0.42 * H)], 0.015 * H)
        self.ell(F, x + 0.12 * H * f, base - 0.7 * H, 0.07 * H, 0.025 * H)

    def fountain(self, x, base, H):
        F, D = self.f, self.d
        for dx in (-0.3, 0.3):
            self.f.rectangle((x + dx * H - 0.03 * H, base - 0.85 * H, x + dx * H + 0.03 * H, base),
                             fill=255)
        self.f.rectangle((x - 0.4 * H, base - 0.98 * H, x + 0.4 * H, base - 0.85 * H), fill=255)
        self.poly(F, [(x - 0.42 * H, base - 0.98 * H), (x, base - 1.12 * H),
                      (x + 0.42 * H, base - 0.98 * H)])
        self.line(D, [(x, base - 0.85 * H), (x, base - 0.3 * H)], 0.02 * H)
        self.ell(F, x, base - 0.2 * H, 0.1 * H, 0.1 * H)

    def bier(self, x, base, H):
        F = self.f
        self.f.rectangle((x - 0.4 * H, base - 0.45 * H, x + 0.4 * H, base - 0.38 * H), fill=255)
        for dx in (-0.35, 0.35):
            self.line(F, [(x + dx * H, base - 0.4 * H), (x + dx * H, base)], 0.04 * H)
        self.ell(F, x, base - 0.52 * H, 0.32 * H, 0.06 * H)
        self.ell(F, x + 0.34 * H, base - 0.56 * H, 0.06 * H)

    def rosettes(self, x0, x1, y0, y1, rng, n):
        """Filler rosettes (Orientalizing style)."""
        for _ in range(n):
            cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
            r = (y1 - y0) * 0.25
            self.ell(self.f, cx, cy, r)
            self.ell(self.d, cx, cy, r * 0.35)
