"""Decoration plans: which band goes where, in the technique's colours."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vaselib.synth.captions import _split_decoration
from vaselib.synth.common import _pick
from vaselib.synth.palette import _mix, _Palette
from vaselib.synth.scenes import _scene_kind


@dataclass
class _Scheme:
    """Colours of a figured area: ground, figure, detail lines, added colour."""
    ground: tuple
    fig: tuple
    detail: tuple
    accent: tuple
    outline: bool = False      # white-ground: figures drawn in outline


@dataclass
class _Plan:
    """Everything the painter and renderer need to colour a vase."""
    base: tuple
    bands: list = field(default_factory=list)   # (h0, h1, kind, payload)
    lip: tuple = (26, 22, 20)
    interior: tuple = (26, 22, 20)
    handle: tuple = (26, 22, 20)
    under: tuple = (198, 108, 60)
    under_rings: tuple = (26, 22, 20)
    clay: tuple = (198, 108, 60)                 # the bare clay (resting surface, breaks)
    tondo: tuple | None = None                   # (scene, scheme) inside open cups/plates
    geometric: bool = False

    def fill(self, h0, h1, color):
        self.bands.append((h0, h1, "fill", color))

    def orn(self, h0, h1, name, fg, bg, alt=None):
        self.bands.append((h0, h1, "orn", (name, fg, bg, alt)))

    def figs(self, h0, h1, regions, outside, fillers=False):
        """``regions``: [(x0, x1, scene, scheme)] as fractions of the circumference."""
        self.bands.append((h0, h1, "figs", (regions, outside, fillers)))


_PANEL_FAMILIES = ("amphora", "pelike", "hydria", "krater", "oinochoe", "stamnos", "lekythos",
                   "skyphos", "kantharos", "lebes", "psykter", "loutrophoros")
_BACK_SCENES = ("mantle", "mantle", "procession", "departure", "battle", "athletes")


def _regions(panels: bool, front, back) -> list:
    """Front panel centred on azimuth 0 (u = 0.25), back on 180° (u = 0.75)."""
    if panels:
        return [(0.10, 0.40, *front), (0.60, 0.90, *back)]
    return [(0.01, 0.49, *front), (0.51, 0.99, *back)]


def _back_scene(scene: str, rng) -> str:
    return scene if rng.random() < 0.4 else _pick(rng, _BACK_SCENES)


def _plan_black_figure(p, z, scene, orn, pal, rng, family):
    panels = family in _PANEL_FAMILIES and rng.random() < 0.55
    p.base = pal.gloss if panels else pal.clay
    bf = _Scheme(pal.clay, pal.gloss, pal.clay, pal.purple)
    p.fill(0, z["foot"], pal.gloss)
    if z["lower"]:
        p.orn(*z["lower"], "rays", pal.gloss, pal.clay)
    p0, p1 = z["panel"]
    p.fill(p0 - 0.015, p0, pal.gloss)
    p.figs(p0, p1, _regions(panels, (scene, bf), (_back_scene(scene, rng), bf)), pal.gloss)
    if orn:
        p.orn(p1, p1 + 0.04, orn, pal.gloss, pal.clay, pal.purple)
    if z["shoulder"]:
        p.orn(*z["shoulder"], orn or "tongues", pal.gloss, pal.clay, pal.purple)
    if z["neck"]:
        p.orn(*z["neck"], orn or _pick(rng, ("palmettes", "lotus-and-palmette")), pal.gloss,
              pal.clay, pal.purple)
    p.fill(z["lip"], 1.0, pal.gloss)


def _plan_red_figure(p, z, scene, orn, pal, rng, family, *, front=None, back=None,
                     panels=None):
    p.base = pal.gloss
    rf = _Scheme(pal.gloss, pal.clay, pal.line, _mix(pal.clay, pal.gloss, 0.35))
    if panels is None:
        panels = family in _PANEL_FAMILIES and rng.random() < 0.45
    p.fill(z["foot"] * 0.55, z["foot"] * 0.55 + 0.012, pal.clay)
    p0, p1 = z["panel"]
    front = front or (scene, rf)
    back = back or (_back_scene(scene, rng), rf)
    p.figs(p0, p1, _regions(panels, front, back), pal.gloss)
    p.orn(p0 - 0.04, p0, orn or "meander", pal.gloss, pal.clay)
    if orn or rng.random() < 0.5:
        p.orn(p1, p1 + 0.035, orn or "tongues", pal.gloss, pal.clay)
    if z["neck"] and rng.random() < 0.7:
        p.orn(*z["neck"], _pick(rng, ("palmettes", "lotus-and-palmette")), pal.gloss, pal.clay)
    if z["shoulder"] and rng.random() < 0.5:
        p.orn(*z["shoulder"], "tongues", pal.gloss, pal.clay)


def _plan_white_ground(p, z, scene, orn, pal, rng, family):
    p.base = pal.gloss
    wg = _Scheme(pal.slip, pal.slip, pal.line, pal.wash, outline=True)
    p0, p1 = z["panel"]
    p.fill(p0 - 0.03, p1 + 0.01, pal.slip)
    p.figs(p0, p1, _regions(False, (scene, wg), (_back_scene(scene, rng), wg)), pal.slip)
    p.orn(p1, p1 + 0.035, orn or "meander", pal.gloss, pal.slip)
    if z["shoulder"]:
        p.orn(*z["shoulder"], "palmettes", pal.gloss, pal.clay)


def _plan_bilingual(p, z, scene, orn, pal, rng, family):
    bf = _Scheme(pal.clay, pal.gloss, pal.clay, pal.purple)
    rf = _Scheme(pal.gloss, pal.clay, pal.line, _mix(pal.clay, pal.gloss, 0.35))
    _plan_red_figure(p, z, scene, orn, pal, rng, family, front=(scene, rf),
                     back=(scene, bf), panels=True)


def _plan_six(p, z, scene, orn, pal, rng, family):
    six = _Scheme(pal.gloss, _mix(pal.clay, pal.white, 0.35), pal.gloss, pal.purple)
    _plan_red_figure(p, z, scene, orn, pal, rng, family, front=(scene, six),
                     back=(_back_scene(scene, rng), six))


def _garland_zone(z) -> tuple:
    """Where a single ornamental band goes: the shoulder, the neck or the top of the body."""
    if z["shoulder"]:
        return z["shoulder"]
    if z["neck"]:
        return z["neck"]
    p0, p1 = z["panel"]
    return (p1 - min(0.12, (p1 - p0) / 2), p1)


def _plan_black_gloss(p, z, scene, orn, pal, rng, family):
    p.base = pal.gloss
    p.under, p.under_rings = pal.gloss, pal.clay
    p.fill(z["foot"] * 0.5, z["foot"] * 0.5 + 0.012, pal.clay)
    name = scene.split(":", 1)[1] if scene.startswith("ornament:") else "palmettes"
    fg = _mix(pal.gloss, (110, 100, 92), 0.3) if name == "palmettes" else pal.clay
    p.orn(*_garland_zone(z), name, fg, pal.gloss)


def _plan_west_slope(p, z, scene, orn, pal, rng, family):
    p.base = pal.gloss
    p.under, p.under_rings = pal.gloss, pal.clay
    name = scene.split(":", 1)[1] if scene.startswith("ornament:") else "ivy"
    h0, h1 = _garland_zone(z)
    p.orn(h0, h1, name, pal.white, pal.gloss, pal.yellow)
    p.orn(h0 - 0.03, h0, "dots", pal.white, pal.gloss)


def _plan_gnathian(p, z, scene, orn, pal, rng, family):
    p.base = pal.gloss
    p.under, p.under_rings = pal.gloss, pal.clay
    name = scene.split(":", 1)[1] if scene.startswith("ornament:") else "vine"
    p.orn(*_garland_zone(z), name, pal.white, pal.gloss, pal.yellow)
    p0, p1 = z["panel"]
    if not scene.startswith("ornament:"):
        gn = _Scheme(pal.gloss, pal.white, pal.purple, pal.yellow)
        p.figs(p0, p0 + (p1 - p0) * 0.75, _regions(True, (scene, gn), ("owl", gn)), pal.gloss)
    if z["lower"]:
        p.orn(*z["lower"], "ribbing", _mix(pal.gloss, pal.white, 0.12), pal.gloss)


def _stack(p, h0, h1, names, fg, bg, rng):
    """Fill [h0, h1] with alternating thin lines and ornament bands (Geometric style)."""
    n = max(1, int((h1 - h0) / 0.07))
    edges = np.linspace(h0, h1, n + 1)
    for i in range(n):
        a, b = edges[i], edges[i + 1]
        p.orn(a, a + (b - a) * 0.3, "lines", fg, bg)
        p.orn(a + (b - a) * 0.35, b, _pick(rng, names), fg, bg)


def _plan_geometric(p, z, scene, orn, pal, rng, family):
    p.base, p.geometric = pal.clay, True
    p.interior = p.under = _mix(pal.clay, (0, 0, 0), 0.15)
    geo = _Scheme(pal.clay, pal.gloss, pal.gloss, pal.gloss)
    p.fill(0, z["foot"], pal.gloss)
    p0, p1 = z["panel"]
    names = ("zigzag", "meander", "checker", "dots", "net", "lines")
    _stack(p, z["foot"], p0 - 0.01, names, pal.gloss, pal.clay, rng)
    _stack(p, p1 + 0.01, z["lip"], names, pal.gloss, pal.clay, rng)
    if scene.startswith("ornament:"):
        p.orn(p0, p1, "meander", pal.gloss, pal.clay)
    else:
        p.figs(p0, p1, _regions(False, (scene, geo), (scene, geo)), pal.clay)
    p.fill(z["lip"], 1.0, pal.gloss)


def _plan_orientalizing(p, z, scene, orn, pal, rng, family):
    p.base = pal.clay
    p.interior = p.under = _mix(pal.clay, (0, 0, 0), 0.15)
    sch = _Scheme(pal.clay, pal.gloss, pal.clay, pal.purple)
    p.fill(0, z["foot"], pal.gloss)
    if z["lower"]:
        p.orn(*z["lower"], "rays", pal.gloss, pal.clay)
    p0, p1 = z["panel"]
    mid = (p0 + p1) / 2
    upper = scene if scene not in ("animals",) else "animals"
    p.figs(p0, mid - 0.01, _regions(False, ("animals", sch), ("animals", sch)), pal.clay, True)
    p.orn(mid - 0.012, mid + 0.012, "lines", pal.gloss, pal.clay)
    p.figs(mid + 0.01, p1, _regions(False, (upper, sch), ("animals", sch)), pal.clay, True)
    if z["shoulder"]:
        p.orn(*z["shoulder"], "tongues", pal.gloss, pal.clay, pal.purple)
    if z["neck"]:
        p.orn(*z["neck"], "dots", pal.gloss, pal.clay)
    p.fill(z["lip"], 1.0, pal.gloss)


_PLANNERS = {
    "black-figure": _plan_black_figure, "red-figure": _plan_red_figure,
    "white-ground": _plan_white_ground, "bilingual": _plan_bilingual,
    "Six's technique": _plan_six, "black-gloss": _plan_black_gloss,
    "Geometric": _plan_geometric, "Orientalizing": _plan_orientalizing,
    "West Slope": _plan_west_slope, "Gnathian": _plan_gnathian,
}
_TONDO_FAMILIES = ("kylix", "plate")


def _make_plan(attrs: dict, family: str, spec: dict, pal: _Palette, rng) -> _Plan:
    """The decoration plan of a vase from its technique, subject and ornament."""
    subject, orn = _split_decoration(attrs.get("decoration") or "")
    scene = _scene_kind(subject)
    technique = attrs.get("technique") if attrs.get("technique") in _PLANNERS else "black-figure"
    plan = _Plan(base=pal.clay, lip=pal.gloss, interior=pal.gloss, handle=pal.gloss,
                 under=pal.clay, under_rings=pal.gloss, clay=pal.clay)
    _PLANNERS[technique](plan, spec["zones"], scene, orn, pal, rng, family)
    if family in _TONDO_FAMILIES:
        figured = [b for b in plan.bands if b[2] == "figs"]
        if figured:
            plan.tondo = figured[-1][3][0][0][2:4]   # (scene, scheme) of the front region
    return plan
