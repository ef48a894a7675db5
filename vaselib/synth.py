"""The embedded synthetic corpus: procedurally rendered photographs of ancient Greek vases.

Nothing can be downloaded in the offline demo, so the pipeline runs on vases this module
generates, deterministically from a seed.  Each vase has ground-truth attributes (fabric,
technique, shape, date, decoration, attribution, provenance) and a caption in the
VaseVQA-3D style; it is photographed from several views (front, three-quarter, side, back,
top, bottom), some vases broken (``condition = "fragment"``) and some photographs degraded
(blur, noise, low resolution, JPEG artefacts, sketches, shards, bad exposure).

Rendering: every vase is a surface of revolution of a real shape's profile (plus handles as
tubes), splatted into a z-buffer with numpy from any azimuth and elevation, shaded with a
Lambert + Blinn-Phong model (the black gloss shines), and textured with bands of ornament
and a figured frieze or panels drawn with PIL in the colours of its technique.

Caption format (see :func:`format_caption`)::

    <Fabric> <technique> <shape>, c. <start>–<end> BCE, depicting <decoration>; <provenance>.
    [Attributed to <painter>.]

Public API: :class:`CorpusConfig`, :class:`Corpus`, :func:`generate_corpus`,
:func:`load_corpus`, :func:`ensure_corpus`, :func:`render_vase`, :func:`degrade`,
:func:`format_caption`, :func:`format_date`, :func:`sample_attributes`.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import random
import re
import shutil
import sys
import uuid
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from vaselib import vocabulary as voc

__all__ = [
    "DEFAULT_SEED", "FORMAT_VERSION", "VIEW_KINDS", "GOOD_VIEW_KINDS", "DEGRADATIONS",
    "CONDITIONS", "FILE_NAME_RE", "CorpusConfig", "Corpus", "generate_corpus", "load_corpus",
    "ensure_corpus", "render_vase", "degrade", "format_caption", "format_date",
    "sample_attributes", "vase_file_name", "ATTRIBUTE_KEYS",
]

DEFAULT_SEED = 0
FORMAT_VERSION = 2  # 2: lowres and jpeg strong enough to see at the demo's 96 px
VIEW_KINDS = ("front", "three_quarter", "side", "back", "top", "bottom")
GOOD_VIEW_KINDS = ("front", "three_quarter", "side", "back")
DEGRADATIONS = ("blur", "noise", "lowres", "jpeg", "sketch", "shard", "exposure")
CONDITIONS = ("intact", "fragment")
FILE_NAME_RE = re.compile(r"^([0-9a-f-]{36})_(\d+)_ac001001\.jpg$")
GOOD_JPEG_QUALITY = 92
RAW_FOLDERS = ("batch_01", "batch_02", "batch_03/scans")
# The ground truth of a vase, in caption order (the six reward dimensions + provenance).
ATTRIBUTE_KEYS = ("fabric", "technique", "shape", "date", "decoration", "attribution",
                  "provenance")


# ════════════════════════════════════════════════════════════════════════════════════════
# Random generators
# ════════════════════════════════════════════════════════════════════════════════════════

def _np_rng(rng) -> np.random.Generator:
    """A numpy Generator from a Generator, a ``random.Random``, an int seed or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, random.Random):
        return np.random.default_rng(rng.getrandbits(64))
    return np.random.default_rng(rng)


def _pick(rng: np.random.Generator, options, weights=None):
    """One element of ``options`` (optionally weighted)."""
    options = list(options)
    if weights is None:
        return options[int(rng.integers(len(options)))]
    w = np.asarray(weights, float)
    return options[int(rng.choice(len(options), p=w / w.sum()))]


# ════════════════════════════════════════════════════════════════════════════════════════
# Attributes, dates and captions
# ════════════════════════════════════════════════════════════════════════════════════════

_TECHNIQUE_WEIGHTS = {
    "black-figure": 5.0, "red-figure": 6.0, "white-ground": 1.5, "bilingual": 0.5,
    "Six's technique": 0.4, "black-gloss": 1.8, "Geometric": 1.5, "Orientalizing": 1.5,
    "West Slope": 0.6, "Gnathian": 0.6,
}
_TECHNIQUE_FABRICS = {
    "black-figure": {"Athenian": 8, "Corinthian": 1.5, "Laconian": 1, "Boeotian": 1,
                     "Chalcidian": 1, "Euboean": 0.5, "East Greek": 0.7, "Etruscan": 1},
    "red-figure": {"Athenian": 7, "Apulian": 2, "Lucanian": 1, "Campanian": 1, "Paestan": 1,
                   "Sicilian": 0.5, "Etruscan": 0.7, "Boeotian": 0.3},
    "white-ground": {"Athenian": 1},
    "bilingual": {"Athenian": 1},
    "Six's technique": {"Athenian": 1},
    "black-gloss": {"Athenian": 4, "Campanian": 1.5, "Etruscan": 1, "Corinthian": 0.5,
                    "Boeotian": 0.5},
    "Geometric": {"Athenian": 4, "Boeotian": 1, "Corinthian": 1, "Euboean": 0.7,
                  "Cycladic": 0.7, "Laconian": 0.5},
    "Orientalizing": {"Corinthian": 4, "East Greek": 2, "Cycladic": 1, "Athenian": 1,
                      "Laconian": 0.5, "Etruscan": 0.5},
    "West Slope": {"Athenian": 1},
    "Gnathian": {"Apulian": 1},
}
_FIGURED_SHAPES = ("amphora", "neck-amphora", "belly-amphora", "hydria", "kalpis", "pelike",
                   "stamnos", "calyx-krater", "bell-krater", "column-krater", "volute-krater",
                   "kylix", "oinochoe", "olpe", "lekythos", "squat lekythos", "skyphos",
                   "loutrophoros", "lebes gamikos", "psykter", "dinos", "kantharos",
                   "pyxis", "alabastron", "aryballos")
_TECHNIQUE_SHAPES = {
    "black-figure": _FIGURED_SHAPES[:-2] + ("Panathenaic amphora", "lip cup", "band cup"),
    "red-figure": _FIGURED_SHAPES[:-2] + ("lekanis", "askos", "rhyton", "plate"),
    "white-ground": ("lekythos", "lekythos", "lekythos", "kylix", "calyx-krater", "pyxis",
                     "alabastron"),
    "bilingual": ("belly-amphora", "kylix", "neck-amphora"),
    "Six's technique": ("neck-amphora", "lekythos", "kylix", "oinochoe"),
    "black-gloss": ("kylix", "skyphos", "kantharos", "oinochoe", "squat lekythos", "stamnos",
                    "olpe", "askos", "pyxis", "plate", "lekanis", "mastoid"),
    "Geometric": ("amphora", "neck-amphora", "krater", "oinochoe", "skyphos", "pyxis",
                  "kantharos", "lekythos"),
    "Orientalizing": ("aryballos", "alabastron", "olpe", "oinochoe", "pyxis", "column-krater",
                      "skyphos", "amphora", "lekythos", "dinos"),
    "West Slope": ("kantharos", "amphora", "skyphos", "plate", "oinochoe", "lekythos"),
    "Gnathian": ("oinochoe", "skyphos", "kantharos", "pelike", "squat lekythos", "lekythos"),
}
# Activity of each painter: techniques, fabric, (start, end).
_PAINTERS = {
    "Exekias": (("black-figure",), "Athenian", (-550, -525)),
    "Amasis Painter": (("black-figure",), "Athenian", (-560, -515)),
    "Lydos": (("black-figure",), "Athenian", (-560, -540)),
    "Sophilos": (("black-figure",), "Athenian", (-590, -570)),
    "Kleitias": (("black-figure",), "Athenian", (-575, -560)),
    "Andokides Painter": (("bilingual", "red-figure"), "Athenian", (-530, -515)),
    "Antimenes Painter": (("black-figure",), "Athenian", (-530, -510)),
    "Leagros Group": (("black-figure",), "Athenian", (-520, -500)),
    "Edinburgh Painter": (("black-figure",), "Athenian", (-510, -490)),
    "Euphronios": (("red-figure",), "Athenian", (-520, -500)),
    "Euthymides": (("red-figure",), "Athenian", (-515, -500)),
    "Kleophrades Painter": (("red-figure", "black-figure"), "Athenian", (-505, -475)),
    "Berlin Painter": (("red-figure",), "Athenian", (-500, -460)),
    "Douris": (("red-figure",), "Athenian", (-500, -460)),
    "Makron": (("red-figure",), "Athenian", (-495, -475)),
    "Brygos Painter": (("red-figure",), "Athenian", (-495, -470)),
    "Onesimos": (("red-figure",), "Athenian", (-505, -480)),
    "Pan Painter": (("red-figure",), "Athenian", (-480, -460)),
    "Niobid Painter": (("red-figure",), "Athenian", (-470, -450)),
    "Achilles Painter": (("red-figure", "white-ground"), "Athenian", (-460, -430)),
    "Meidias Painter": (("red-figure",), "Athenian", (-420, -400)),
    "Darius Painter": (("red-figure",), "Apulian", (-340, -320)),
    "Python": (("red-figure",), "Paestan", (-360, -320)),
    "Asteas": (("red-figure",), "Paestan", (-360, -330)),
}
assert set(_PAINTERS) == set(voc.PAINTERS)
# South Italian and Sicilian figured wares are later than their techniques' full periods.
_FABRIC_PERIODS = {"Apulian": (-440, -300), "Lucanian": (-440, -300), "Campanian": (-400, -300),
                   "Paestan": (-370, -300), "Sicilian": (-440, -300)}
_REGIONAL_FIND_SPOTS = {
    "Apulian": ("Taranto", "Nola", "Capua"), "Lucanian": ("Taranto", "Nola"),
    "Campanian": ("Capua", "Nola"), "Paestan": ("Capua", "Nola"), "Sicilian": ("Gela, Sicily",),
    "Etruscan": ("Vulci, Etruria", "Cerveteri (Caere)", "Tarquinia"),
    "East Greek": ("Kameiros, Rhodes",),
}
# Subjects of techniques whose decoration is not a figured scene from voc.SUBJECTS.
_TECHNIQUE_SUBJECTS = {
    "Geometric": ("a prothesis scene", "a chariot procession", "a frieze of grazing deer",
                  "meander and zigzag bands"),
    "Orientalizing": ("an animal frieze of lions, goats, sphinxes and sirens",
                      "an animal frieze of lions, goats, sphinxes and sirens", "an owl",
                      "Herakles and the Nemean lion", "a chariot race"),
    "black-gloss": ("stamped palmettes", "an ivy wreath", "a band of tongues",
                    "a laurel wreath"),
    "West Slope": ("an ivy garland", "a laurel wreath", "a necklace of pendant drops"),
    "Gnathian": ("a vine with grapes", "an ivy garland", "a woman and Eros", "an owl"),
}
_NO_BORDER_TECHNIQUES = ("Geometric", "black-gloss", "West Slope", "Gnathian")


def _floor25(year: float) -> int:
    return int(math.floor(year / 25.0) * 25)


def _ceil25(year: float) -> int:
    return int(math.ceil(year / 25.0) * 25)


def _sample_date(rng, technique: str, fabric: str, painter: str | None) -> list[int]:
    """A [start, end] range, multiples of 25, span 25–75, inside the technique's period.

    Narrowed to the fabric's period (South Italian red-figure is later) and the painter's
    activity when those leave at least 25 years.
    """
    t0, t1 = voc.TECHNIQUES[technique]
    lo, hi = _ceil25(t0), _floor25(t1)
    narrowing = [_FABRIC_PERIODS.get(fabric)]
    if painter:
        narrowing.append(_PAINTERS[painter][2])
    for period in narrowing:
        if period is None:
            continue
        lo2, hi2 = max(lo, _floor25(period[0])), min(hi, _ceil25(period[1]))
        if hi2 - lo2 >= 25:
            lo, hi = lo2, hi2
    spans = [s for s in (25, 50, 75) if s <= hi - lo]
    span = _pick(rng, spans, [{25: 3, 50: 5, 75: 2}[s] for s in spans])
    start = lo + 25 * int(rng.integers(0, (hi - lo - span) // 25 + 1))
    return [start, start + span]


def _sample_painter(rng, technique: str, fabric: str) -> str | None:
    """A painter who worked in this technique and fabric, or None (not attributed)."""
    candidates = [p for p, (techs, fab, _) in _PAINTERS.items()
                  if technique in techs and fab == fabric]
    if not candidates or rng.random() > 0.45:
        return None
    return _pick(rng, sorted(candidates))


def _sample_decoration(rng, technique: str) -> str:
    """A subject, sometimes followed by ``with <ornament> borders``."""
    subjects = _TECHNIQUE_SUBJECTS.get(technique, voc.SUBJECTS)
    subject = _pick(rng, subjects)
    if technique not in _NO_BORDER_TECHNIQUES and rng.random() < 0.4:
        return f"{subject} with {_pick(rng, voc.ORNAMENTS)} borders"
    return subject


def _sample_provenance(rng, fabric: str) -> str:
    """A find-spot (plausible for the fabric) or a museum collection."""
    if rng.random() < 0.5:
        return _pick(rng, _REGIONAL_FIND_SPOTS.get(fabric, voc.FIND_SPOTS))
    return _pick(rng, voc.COLLECTIONS)


def sample_attributes(rng) -> dict:
    """Draw a plausible vase: fabric, technique, shape, date, decoration, attribution, provenance.

    ``rng`` is a numpy Generator (a ``random.Random`` or an int seed also work).  The date is
    a ``[start, end]`` list of signed years (BCE negative), multiples of 25, 25–75 years
    long and inside ``vocabulary.TECHNIQUES[technique]``.
    """
    rng = _np_rng(rng)
    technique = _pick(rng, _TECHNIQUE_WEIGHTS, list(_TECHNIQUE_WEIGHTS.values()))
    fabrics = _TECHNIQUE_FABRICS[technique]
    fabric = _pick(rng, fabrics, list(fabrics.values()))
    shape = _pick(rng, _TECHNIQUE_SHAPES[technique])
    painter = _sample_painter(rng, technique, fabric)
    return {
        "fabric": fabric,
        "technique": technique,
        "shape": shape,
        "date": _sample_date(rng, technique, fabric, painter),
        "decoration": _sample_decoration(rng, technique),
        "attribution": painter,
        "provenance": _sample_provenance(rng, fabric),
    }


def _era_year(year: int, era_if_zero: str) -> tuple[int, str]:
    """(displayed number, era) for a signed year; year 0 counts as 1 of the given era."""
    if year < 0:
        return -year, "BCE"
    if year > 0:
        return year, "CE"
    return 1, era_if_zero


def format_date(start: int, end: int) -> str:
    """``c. 525–475 BCE`` for (-525, -475); ``c. 25 BCE–50 CE`` across the era boundary.

    Signed years, BCE negative.  Ranges within one era carry the era once at the end; a
    single year gives ``c. 500 BCE``.  The dash is an en-dash (U+2013).
    """
    start, end = int(start), int(end)
    if start > end:
        start, end = end, start
    n0, era0 = _era_year(start, "BCE" if end <= 0 else "CE")
    n1, era1 = _era_year(end, era0)
    if (n0, era0) == (n1, era1):
        return f"c. {n0} {era0}"
    if era0 == era1:
        return f"c. {n0}\u2013{n1} {era1}"
    return f"c. {n0} {era0}\u2013{n1} {era1}"


def _painter_phrase(painter: str) -> str:
    """``the Berlin Painter``, ``the Leagros Group``, but ``Exekias``."""
    if painter.endswith(("Painter", "Group")) and not painter.startswith("the "):
        return f"the {painter}"
    return painter


def format_caption(attrs: dict) -> str:
    """The caption of a vase in the VaseVQA-3D style.

    ``<Fabric> <technique> <shape>, c. <start>–<end> BCE, depicting <decoration>;
    <provenance>.`` followed, when attributed, by a second sentence
    ``Attributed to <the painter>.``  Example::

        Athenian red-figure neck-amphora, c. 500–475 BCE, depicting a warrior's departure;
        Vulci, Etruria. Attributed to the Berlin Painter.

    Missing parts are left out (no date → no date clause, and so on).
    """
    head = " ".join(str(attrs[k]) for k in ("fabric", "technique", "shape") if attrs.get(k))
    parts = [head[:1].upper() + head[1:]]
    if attrs.get("date"):
        parts.append(format_date(*attrs["date"]))
    if attrs.get("decoration"):
        parts.append(f"depicting {attrs['decoration']}")
    text = ", ".join(p for p in parts if p)
    if attrs.get("provenance"):
        text += f"; {attrs['provenance']}"
    text += "."
    if attrs.get("attribution"):
        text += f" Attributed to {_painter_phrase(attrs['attribution'])}."
    return text


def _split_decoration(decoration: str) -> tuple[str, str | None]:
    """(subject, ornament or None) from ``"<subject> with <ornament> borders"``."""
    if decoration.endswith(" borders") and " with " in decoration:
        subject, ornament = decoration[: -len(" borders")].rsplit(" with ", 1)
        if ornament in voc.ORNAMENTS:
            return subject, ornament
    return decoration, None


# ════════════════════════════════════════════════════════════════════════════════════════
# Shapes: outer profiles r(h), handles and decoration zones
# ════════════════════════════════════════════════════════════════════════════════════════
# Units: the vase's height is 1, radii in the same unit.  ``pts`` are (r, h) control points
# of the outer wall from the resting edge of the foot (h = 0) to the rim (h = 1), smoothed
# with a Catmull-Rom spline.  ``floor`` is the height of the inside floor.
# Handles: ("v", azimuth°, h_low, h_high, bulge, rise, tube radius) loops in a vertical
# plane; ("h", azimuth°, h, half span°, bulge, rise, tube radius) horizontal loops.
# Zones (heights) tell the painter where to put the foot, rays, figures, shoulder and neck
# ornament and the lip.

def _two(kind, *args):
    """A pair of handles on opposite sides (azimuth ±90°)."""
    return [(kind, 90.0, *args), (kind, -90.0, *args)]


_FAMILIES: dict[str, dict] = {
    "amphora": dict(
        pts=[(.150, 0), (.152, .020), (.118, .045), (.100, .070), (.140, .120), (.215, .230),
             (.268, .380), (.282, .500), (.262, .615), (.200, .705), (.128, .760),
             (.104, .800), (.098, .880), (.112, .930), (.140, .965), (.138, 1)],
        handles=_two("v", .70, .90, .10, .03, .017),
        zones=dict(foot=.07, lower=(.09, .24), panel=(.28, .62), shoulder=(.64, .73),
                   neck=(.80, .92), lip=.93)),
    "pelike": dict(
        pts=[(.170, 0), (.172, .025), (.150, .055), (.200, .120), (.275, .250), (.292, .350),
             (.265, .500), (.210, .660), (.160, .780), (.140, .870), (.165, .950), (.165, 1)],
        handles=_two("v", .74, .94, .08, .02, .016),
        zones=dict(foot=.06, lower=(.08, .20), panel=(.24, .66), shoulder=(.68, .76),
                   neck=None, lip=.92)),
    "stamnos": dict(
        pts=[(.150, 0), (.155, .030), (.115, .070), (.160, .140), (.260, .320), (.330, .560),
             (.320, .660), (.240, .770), (.150, .830), (.145, .920), (.165, .970), (.165, 1)],
        handles=_two("h", .60, 20, .07, .05, .017),
        zones=dict(foot=.07, lower=(.09, .25), panel=(.28, .60), shoulder=(.66, .78),
                   neck=(.84, .93), lip=.94)),
    "hydria": dict(
        pts=[(.150, 0), (.155, .025), (.110, .060), (.140, .120), (.230, .280), (.300, .480),
             (.300, .560), (.250, .660), (.150, .730), (.100, .770), (.095, .860),
             (.120, .940), (.160, .980), (.160, 1)],
        handles=_two("h", .50, 22, .07, .03, .016) + [("v", 180.0, .66, .96, .13, .05, .02)],
        zones=dict(foot=.06, lower=(.08, .22), panel=(.26, .50), shoulder=(.55, .70),
                   neck=(.78, .90), lip=.93)),
    "loutrophoros": dict(
        pts=[(.130, 0), (.130, .025), (.090, .050), (.070, .080), (.130, .140), (.180, .240),
             (.190, .330), (.150, .420), (.080, .480), (.055, .520), (.050, .620),
             (.050, .800), (.070, .880), (.130, .950), (.130, 1)],
        handles=_two("v", .44, .86, .06, 0.0, .012),
        zones=dict(foot=.05, lower=(.10, .16), panel=(.18, .40), shoulder=(.42, .47),
                   neck=(.56, .85), lip=.90)),
    "krater": dict(  # calyx-krater
        pts=[(.200, 0), (.205, .035), (.150, .065), (.100, .100), (.110, .160), (.220, .240),
             (.300, .340), (.330, .460), (.350, .720), (.380, .920), (.400, .970), (.400, 1)],
        handles=_two("h", .30, 25, .10, .12, .020),
        zones=dict(foot=.08, lower=(.18, .34), panel=(.42, .85), shoulder=None,
                   neck=(.87, .95), lip=.96), floor=.2),
    "dinos": dict(
        pts=[(.200, 0), (.200, .030), (.090, .060), (.080, .300), (.120, .340), (.250, .420),
             (.360, .600), (.330, .780), (.240, .900), (.220, .950), (.240, 1)],
        handles=[], floor=.36,
        zones=dict(foot=.30, lower=(.36, .46), panel=(.50, .80), shoulder=(.82, .90),
                   neck=None, lip=.94)),
    "oinochoe": dict(
        pts=[(.130, 0), (.135, .030), (.110, .060), (.170, .150), (.240, .320), (.255, .450),
             (.220, .580), (.130, .700), (.085, .760), (.080, .840), (.100, .930),
             (.125, .980), (.120, 1)],
        handles=[("v", 180.0, .55, .97, .09, .10, .018)],
        zones=dict(foot=.06, lower=(.08, .22), panel=(.26, .58), shoulder=(.60, .68),
                   neck=None, lip=.88)),
    "kylix": dict(
        pts=[(.400, 0), (.400, .035), (.300, .060), (.100, .120), (.070, .250), (.070, .400),
             (.120, .500), (.350, .580), (.700, .700), (.980, .860), (1.12, .970), (1.14, 1)],
        handles=_two("h", .76, 25, .60, .10, .035), floor=.52, t=.03,
        zones=dict(foot=.12, lower=None, panel=(.62, .90), shoulder=None, neck=None, lip=.93)),
    "skyphos": dict(
        pts=[(.260, 0), (.265, .040), (.240, .070), (.280, .120), (.360, .300), (.420, .600),
             (.450, .850), (.460, 1)],
        handles=_two("h", .86, 18, .12, .02, .025),
        zones=dict(foot=.08, lower=(.10, .22), panel=(.30, .84), shoulder=None, neck=None,
                   lip=.93)),
    "kantharos": dict(
        pts=[(.200, 0), (.200, .030), (.080, .100), (.065, .250), (.120, .320), (.280, .400),
             (.310, .500), (.270, .620), (.280, .800), (.310, 1)],
        handles=_two("v", .42, 1.0, .20, .25, .020), floor=.35,
        zones=dict(foot=.30, lower=None, panel=(.38, .60), shoulder=None, neck=(.66, .95),
                   lip=.96)),
    "rhyton": dict(
        pts=[(.050, 0), (.080, .060), (.110, .200), (.150, .450), (.200, .750), (.240, 1)],
        handles=[("v", 180.0, .70, .98, .08, .04, .015)],
        zones=dict(foot=.05, lower=(.10, .40), panel=(.50, .90), shoulder=None, neck=None,
                   lip=.95)),
    "lekythos": dict(
        pts=[(.110, 0), (.115, .025), (.090, .045), (.125, .090), (.145, .160), (.150, .520),
             (.148, .580), (.120, .630), (.060, .665), (.040, .690), (.037, .800),
             (.045, .850), (.070, .900), (.072, .950), (.050, .980), (.055, 1)],
        handles=[("v", 180.0, .62, .80, .045, .01, .011)],
        zones=dict(foot=.05, lower=(.07, .14), panel=(.17, .54), shoulder=(.57, .65),
                   neck=None, lip=.85)),
    "aryballos": dict(
        pts=[(.100, 0), (.200, .050), (.330, .180), (.400, .380), (.370, .580), (.250, .720),
             (.100, .800), (.075, .850), (.160, .920), (.180, .970), (.170, 1)],
        handles=[("v", 180.0, .74, .93, .07, .02, .020)],
        zones=dict(foot=.04, lower=(.05, .20), panel=(.22, .56), shoulder=(.60, .74),
                   neck=None, lip=.90)),
    "alabastron": dict(
        pts=[(.050, 0), (.120, .060), (.165, .200), (.180, .450), (.170, .700), (.130, .820),
             (.065, .880), (.050, .920), (.120, .975), (.125, 1)],
        handles=[],
        zones=dict(foot=.04, lower=(.05, .18), panel=(.22, .72), shoulder=(.74, .84),
                   neck=None, lip=.93)),
    "askos": dict(
        pts=[(.300, 0), (.320, .030), (.440, .150), (.460, .320), (.360, .450), (.120, .550),
             (.070, .650), (.070, .880), (.100, .950), (.100, 1)],
        handles=[("v", 180.0, .45, .90, .18, .10, .022)],
        zones=dict(foot=.04, lower=None, panel=(.08, .40), shoulder=(.42, .52), neck=None,
                   lip=.90)),
    "pyxis": dict(
        pts=[(.300, 0), (.310, .030), (.280, .060), (.280, .680), (.310, .700), (.320, .760),
             (.300, .800), (.160, .860), (.060, .900), (.045, .940), (.080, .970), (.070, 1)],
        handles=[],
        zones=dict(foot=.06, lower=None, panel=(.12, .64), shoulder=(.72, .82), neck=None,
                   lip=.90)),
    "lekanis": dict(
        pts=[(.250, 0), (.260, .040), (.240, .080), (.360, .220), (.420, .380), (.430, .480),
             (.400, .520), (.250, .720), (.100, .860), (.050, .900), (.100, .960), (.100, 1)],
        handles=_two("h", .42, 18, .10, .05, .020),
        zones=dict(foot=.08, lower=(.12, .36), panel=(.54, .84), shoulder=None, neck=None,
                   lip=.90)),
    "lebes": dict(
        pts=[(.180, 0), (.185, .030), (.100, .080), (.080, .300), (.120, .360), (.260, .460),
             (.330, .580), (.300, .720), (.200, .820), (.140, .860), (.130, .940), (.160, 1)],
        handles=_two("v", .74, .98, .08, .06, .015), floor=.38,
        zones=dict(foot=.33, lower=None, panel=(.44, .72), shoulder=(.74, .84), neck=None,
                   lip=.90)),
    "psykter": dict(
        pts=[(.090, 0), (.100, .030), (.090, .080), (.090, .160), (.240, .320), (.360, .520),
             (.350, .660), (.260, .800), (.120, .880), (.100, .930), (.120, .980), (.120, 1)],
        handles=[], floor=.2,
        zones=dict(foot=.14, lower=None, panel=(.36, .72), shoulder=(.74, .86), neck=None,
                   lip=.92)),
    "plate": dict(
        pts=[(.280, 0), (.290, .150), (.260, .300), (.500, .450), (1.60, .750), (2.20, .950),
             (2.25, 1)],
        handles=[], floor=.42, t=.10,
        zones=dict(foot=.30, lower=None, panel=(.50, .90), shoulder=None, neck=None,
                   lip=.95)),
}

# Shapes whose silhouette differs from their family's default.
_SHAPE_OVERRIDES: dict[str, dict] = {
    "belly-amphora": dict(
        pts=[(.150, 0), (.152, .020), (.120, .045), (.105, .070), (.160, .140), (.250, .280),
             (.290, .450), (.270, .600), (.200, .740), (.140, .840), (.125, .900),
             (.145, .960), (.145, 1)],
        handles=_two("v", .72, .90, .09, .03, .017),
        zones=dict(foot=.07, lower=(.09, .24), panel=(.30, .70), shoulder=None,
                   neck=(.82, .92), lip=.94)),
    "Panathenaic amphora": dict(
        pts=[(.130, 0), (.132, .020), (.100, .050), (.090, .080), (.140, .140), (.230, .280),
             (.275, .450), (.265, .600), (.200, .700), (.100, .760), (.080, .800),
             (.078, .890), (.100, .940), (.120, .970), (.118, 1)]),
    "bell-krater": dict(
        pts=[(.170, 0), (.175, .030), (.130, .070), (.160, .120), (.240, .240), (.280, .380),
             (.300, .550), (.340, .780), (.390, .940), (.400, 1)],
        handles=_two("h", .38, 20, .06, .06, .016),
        zones=dict(foot=.07, lower=(.10, .20), panel=(.25, .82), shoulder=None,
                   neck=(.84, .94), lip=.95)),
    "column-krater": dict(
        pts=[(.190, 0), (.195, .030), (.150, .060), (.180, .120), (.280, .260), (.340, .440),
             (.330, .600), (.270, .720), (.230, .780), (.240, .900), (.340, .940), (.340, 1)],
        handles=_two("v", .68, .96, .10, 0.0, .020),
        zones=dict(foot=.07, lower=(.09, .20), panel=(.25, .62), shoulder=(.64, .74),
                   neck=(.80, .92), lip=.94)),
    "volute-krater": dict(
        pts=[(.190, 0), (.195, .030), (.130, .070), (.180, .130), (.270, .270), (.310, .420),
             (.290, .550), (.220, .660), (.200, .720), (.220, .860), (.280, .950), (.280, 1)],
        handles=_two("v", .60, 1.05, .12, .05, .020),
        zones=dict(foot=.07, lower=(.09, .22), panel=(.26, .56), shoulder=(.57, .65),
                   neck=(.72, .92), lip=.94)),
    "squat lekythos": dict(
        pts=[(.130, 0), (.135, .030), (.160, .080), (.240, .200), (.270, .320), (.230, .460),
             (.130, .560), (.060, .620), (.045, .700), (.045, .820), (.080, .920), (.070, 1)],
        handles=[("v", 180.0, .55, .78, .06, .02, .014)],
        zones=dict(foot=.05, lower=None, panel=(.12, .46), shoulder=(.48, .58), neck=None,
                   lip=.85)),
    "olpe": dict(
        pts=[(.140, 0), (.145, .030), (.160, .100), (.200, .300), (.210, .500), (.180, .750),
             (.140, .900), (.150, .970), (.150, 1)],
        handles=[("v", 180.0, .55, 1.0, .08, .06, .018)],
        zones=dict(foot=.05, lower=(.07, .18), panel=(.20, .70), shoulder=None, neck=None,
                   lip=.90)),
    "kalpis": dict(
        pts=[(.150, 0), (.155, .025), (.110, .060), (.150, .120), (.240, .280), (.300, .450),
             (.290, .580), (.220, .720), (.140, .820), (.120, .900), (.150, .970), (.150, 1)],
        zones=dict(foot=.06, lower=(.08, .22), panel=(.30, .68), shoulder=None,
                   neck=(.84, .92), lip=.94)),
    "mastoid": dict(
        pts=[(.080, 0), (.090, .030), (.150, .100), (.300, .400), (.400, .700), (.440, 1)],
        zones=dict(foot=.04, lower=(.06, .25), panel=(.35, .85), shoulder=None, neck=None,
                   lip=.93)),
}


def _shape_spec(shape: str) -> tuple[str, dict]:
    """(family, spec) of a shape name; unknown names fall back to the amphora."""
    family = voc.SHAPES.get(shape, shape if shape in _FAMILIES else "amphora")
    spec = dict(_FAMILIES.get(family, _FAMILIES["amphora"]))
    spec.update(_SHAPE_OVERRIDES.get(shape, {}))
    return family, spec


# ════════════════════════════════════════════════════════════════════════════════════════
# Geometry: the cross-section of the wall and the handles
# ════════════════════════════════════════════════════════════════════════════════════════

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


# ════════════════════════════════════════════════════════════════════════════════════════
# Colours
# ════════════════════════════════════════════════════════════════════════════════════════

_CLAY = {
    "Athenian": (198, 108, 60), "Corinthian": (226, 196, 146), "Laconian": (206, 150, 98),
    "Boeotian": (210, 160, 112), "Euboean": (205, 140, 95), "Chalcidian": (190, 105, 65),
    "East Greek": (224, 200, 160), "Cycladic": (215, 175, 130), "Apulian": (200, 120, 75),
    "Lucanian": (205, 130, 85), "Campanian": (212, 140, 90), "Paestan": (205, 125, 80),
    "Sicilian": (200, 130, 85), "Etruscan": (185, 115, 75),
}


@dataclass
class _Palette:
    """The colours of one vase (RGB 0–255)."""
    clay: tuple
    gloss: tuple
    purple: tuple = (122, 40, 42)
    white: tuple = (236, 228, 208)
    slip: tuple = (238, 232, 214)
    wash: tuple = (178, 112, 72)
    line: tuple = (45, 34, 28)
    yellow: tuple = (222, 184, 92)


def _jitter(color, rng, amount=8) -> tuple:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)


def _mix(a, b, t: float) -> tuple:
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


def _palette(fabric: str, technique: str, rng) -> _Palette:
    """Clay of the fabric, gloss of the technique (brown paint for early wares)."""
    clay = _jitter(_CLAY.get(fabric, _CLAY["Athenian"]), rng)
    if technique in ("Geometric", "Orientalizing"):
        gloss = _jitter((62, 40, 28), rng, 6)
        clay = _mix(clay, (230, 205, 160), 0.35)
    else:
        gloss = _jitter((26, 22, 20), rng, 4)
    return _Palette(clay=clay, gloss=gloss)


# ════════════════════════════════════════════════════════════════════════════════════════
# Ornament bands (drawn with PIL at the band's true aspect ratio)
# ════════════════════════════════════════════════════════════════════════════════════════

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


# ════════════════════════════════════════════════════════════════════════════════════════
# Figures: silhouettes drawn into three masks (fill, detail lines, added colour)
# ════════════════════════════════════════════════════════════════════════════════════════

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


# ════════════════════════════════════════════════════════════════════════════════════════
# Scenes: a subject laid out across a panel
# ════════════════════════════════════════════════════════════════════════════════════════

_SCENE_KEYWORDS = (  # first match wins
    ("Nemean lion", "lion"), ("boar", "boar"), ("Minotaur", "minotaur"), ("Athena", "athena"),
    ("Dionysos", "procession"), ("departure", "departure"), ("chariot", "chariot"),
    ("board game", "boardgame"), ("machy", "battle"), ("symposion", "symposion"),
    ("athletes", "athletes"), ("fountain", "fountain"), ("Eros", "eros"), ("owl", "owl"),
    ("animal frieze", "animals"), ("deer", "deer"), ("prothesis", "prothesis"),
)
_ORNAMENTAL_SUBJECTS = {  # decoration without figures → the ornament that shows it
    "meander and zigzag bands": "meander", "stamped palmettes": "palmettes",
    "an ivy wreath": "ivy", "a band of tongues": "tongues", "a laurel wreath": "laurel",
    "an ivy garland": "ivy", "a necklace of pendant drops": "necklace",
    "a vine with grapes": "vine",
}


def _scene_kind(subject: str) -> str:
    """The scene the renderer draws for a subject (``ornament:<name>`` for no figures)."""
    if subject in _ORNAMENTAL_SUBJECTS:
        return "ornament:" + _ORNAMENTAL_SUBJECTS[subject]
    for key, scene in _SCENE_KEYWORDS:
        if key in subject:
            return scene
    return "procession"


def _spread(n: int, x0: float, x1: float) -> list[float]:
    step = (x1 - x0) / n
    return [x0 + step * (i + 0.5) for i in range(n)]


def _draw_scene(P: _Painter, scene: str, x0: float, x1: float, h: int, rng) -> None:
    """Lay out ``scene`` between ``x0`` and ``x1`` on a band ``h`` pixels high."""
    H, base = 0.84 * h, 0.96 * h
    xc, width = (x0 + x1) / 2, x1 - x0
    n = max(1, min(7, int(width / (0.42 * H))))
    if scene in ("lion", "boar", "minotaur"):
        P.human(xc - 0.2 * H, base, H, 1, "hero" if scene != "minotaur" else "man", "fight")
        if scene == "minotaur":
            P.human(xc + 0.22 * H, base, H, -1, "minotaur", "walk")
        else:
            P.beast(xc + 0.3 * H, base, 0.75 * H, -1, scene)
        _flankers(P, x0, x1, xc, 0.55 * H, base, H, "youth")
    elif scene == "athena":
        P.human(xc, base, H, 1, "athena", "fight")
        for sx in (xc - 0.45 * H, xc + 0.45 * H):
            if x0 < sx - 0.05 * H and sx + 0.05 * H < x1:
                P.f.rectangle((sx - 0.03 * H, base - 0.9 * H, sx + 0.03 * H, base), fill=255)
                P.ell(P.f, sx, base - 0.97 * H, 0.06 * H, 0.05 * H)
    elif scene == "chariot":
        for xi in _spread(max(1, int(width / (1.3 * H))), x0, x1):
            P.chariot(xi - 0.1 * H, base, H, 1)
    elif scene == "owl":
        P.owl(xc - 0.1 * H, base, 0.9 * H)
    elif scene in ("animals", "deer"):
        kinds = ("deer",) if scene == "deer" else ("lion", "goat", "sphinx", "siren", "bull")
        m = max(1, int(width / (0.85 * H)))
        for i, xi in enumerate(_spread(m, x0, x1)):
            P.beast(xi, base, 0.7 * H, 1 if i % 2 == 0 else -1, kinds[i % len(kinds)])
    elif scene == "symposion":
        for xi in _spread(max(1, int(width / (1.0 * H))), x0, x1):
            P.couch(xi, base, H, -1)
    elif scene == "prothesis":
        P.bier(xc, base, H)
        for xi in _spread(max(2, n), x0, x1):
            if abs(xi - xc) > 0.5 * H:
                P.human(xi, base, 0.9 * H, 1, "man", "raise")
    elif scene == "fountain":
        P.fountain(xc, base, H)
        _flankers(P, x0, x1, xc, 0.55 * H, base, H, "woman")
    elif scene == "boardgame":
        for sgn in (-1, 1):
            P.human(xc + sgn * 0.28 * H, base, 0.8 * H, -sgn, "warrior", "crouch")
        P.f.rectangle((xc - 0.08 * H, base - 0.3 * H, xc + 0.08 * H, base), fill=255)
    elif scene == "eros":
        P.human(xc - 0.15 * H, base, H, 1, "woman", "stand")
        P.human(xc + 0.25 * H, base - 0.35 * H, 0.5 * H, -1, "eros", "walk")
    else:
        _people(P, scene, _spread(n, x0, x1), base, H)


def _flankers(P, x0, x1, xc, gap, base, H, kind):
    """Onlookers at the panel's edges when there is room."""
    for sgn in (-1, 1):
        xi = xc + sgn * (gap + 0.4 * H)
        if x0 + 0.15 * H < xi < x1 - 0.15 * H:
            P.human(xi, base, 0.95 * H, -sgn, kind, "stand")


def _people(P, scene, xs, base, H):
    """Rows of people: processions, departures, battles, athletes, mantle youths."""
    for i, xi in enumerate(xs):
        f = 1 if i % 2 == 0 else -1
        if scene == "procession":
            kind = ("dionysos", "satyr", "maenad")[i % 3]
            P.human(xi, base, H, 1, kind, "walk" if kind != "dionysos" else "stand")
        elif scene == "battle":
            P.human(xi, base, H, f, "warrior", "fight")
        elif scene == "athletes":
            P.human(xi, base, H, 1, "man", "run")
        elif scene == "departure":
            kind = "warrior" if i == len(xs) // 2 else ("woman" if i % 2 else "youth")
            P.human(xi, base, H, f, kind, "stand")
        else:  # mantle figures, the usual back side
            P.human(xi, base, H, f, "youth", "stand")


# ════════════════════════════════════════════════════════════════════════════════════════
# Decoration plans: which band goes where, in the technique's colours
# ════════════════════════════════════════════════════════════════════════════════════════

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


# ════════════════════════════════════════════════════════════════════════════════════════
# Texture: the outer wall unrolled (rows: rim → foot; columns: azimuth, front at u = 0.25)
# ════════════════════════════════════════════════════════════════════════════════════════

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


# ════════════════════════════════════════════════════════════════════════════════════════
# Rendering: z-buffered splats of the surface of revolution and its handles
# ════════════════════════════════════════════════════════════════════════════════════════

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


# ════════════════════════════════════════════════════════════════════════════════════════
# Photograph: background, shadow, anti-aliased edges, broken vases
# ════════════════════════════════════════════════════════════════════════════════════════

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


# ════════════════════════════════════════════════════════════════════════════════════════
# Degradations: the low-quality photographs the ResNet50 stage learns to reject
# ════════════════════════════════════════════════════════════════════════════════════════

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


# ════════════════════════════════════════════════════════════════════════════════════════
# The corpus on disk
# ════════════════════════════════════════════════════════════════════════════════════════

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


class _Progress:
    """Minimal progress lines on stderr (every ~10 %)."""

    def __init__(self, total: int, enabled: bool, label: str):
        self.total, self.enabled, self.label, self.done, self.next = total, enabled, label, 0, 0

    def step(self) -> None:
        self.done += 1
        if self.enabled and (self.done >= self.next or self.done == self.total):
            print(f"[synth] {self.label}: {self.done}/{self.total}", file=sys.stderr, flush=True)
            self.next = self.done + max(1, self.total // 10)


def _generate_raw(raw_dir: Path, cfg: CorpusConfig, progress: bool):
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
    bar = _Progress(len(shots), progress, "raw photographs")
    records = []
    for j, (vi, view, kind, seed) in enumerate(shots):
        vase = vases[vi]
        degradation = deg_kind.get(j)
        img = _photo(vase["attributes"], kind, cfg.image_size, seed, vase["condition"],
                     degradation)
        rel = vase["files"][view - 1]
        _save_jpeg(img, raw_dir / rel)
        records.append({"file": rel, "vase_id": vase["id"], "view": view, "view_kind": kind,
                        "quality": 0 if degradation else 1, "degradation": degradation,
                        "condition": vase["condition"]})
        bar.step()
    return records, vases


def _generate_labelled(lab_dir: Path, cfg: CorpusConfig, progress: bool) -> list[dict]:
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
    bar = _Progress(len(jobs), progress, "labelled photographs")
    records = []
    for label, attrs, vid, view, kind, degradation, seed in jobs:
        rel = f"{label}/{vase_file_name(vid, view)}"
        _save_jpeg(_photo(attrs, kind, cfg.image_size, seed, "intact", degradation),
                   lab_dir / rel)
        records.append({"file": rel, "vase_id": vid, "view": view, "view_kind": kind,
                        "quality": label, "label": label, "degradation": degradation,
                        "condition": "intact"})
        bar.step()
    return records


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _corpus_meta(cfg: CorpusConfig, images, labelled, vases) -> dict:
    return {"format_version": FORMAT_VERSION, "generator": "vaselib.synth",
            "config": asdict(cfg),
            "counts": {"vases": len(vases), "raw_images": len(images),
                       "labelled_images": len(labelled),
                       "labelled_1": sum(r["label"] for r in labelled),
                       "labelled_0": sum(1 - r["label"] for r in labelled)}}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _remove_stale_partials(root: Path) -> None:
    """Delete temporary folders left by interrupted generations (their process is gone)."""
    for tmp in root.parent.glob(f".{root.name}.partial*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not _pid_alive(int(pid)):
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


def generate_corpus(root, config: CorpusConfig = CorpusConfig(), *, progress: bool = False
                    ) -> Corpus:
    """Generate the corpus into ``root`` (replacing an older corpus there).

    Writes ``labelled/{0,1}/*.jpg``, ``raw/<batch>/…/*.jpg``, ``vases.json``,
    ``images.json``, ``labelled.json`` and ``corpus.json``.  Everything is first written
    to a sibling temporary folder and moved into place at the end, so an interrupted run
    never leaves a half corpus at ``root``.
    """
    config.validate()
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(root)
    tmp = root.with_name(f".{root.name}.partial-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    (tmp / "raw").mkdir()
    for label in ("0", "1"):
        (tmp / "labelled" / label).mkdir(parents=True)
    images, vases = _generate_raw(tmp / "raw", config, progress)
    labelled = _generate_labelled(tmp / "labelled", config, progress)
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


def ensure_corpus(root, config: CorpusConfig = CorpusConfig(), *, progress: bool = False
                  ) -> Corpus:
    """Load the corpus at ``root`` if it was generated from ``config``; else generate it."""
    root = Path(root)
    meta_path = root / "corpus.json"
    if meta_path.is_file():
        try:
            meta = _read_json(meta_path)
            if (meta.get("format_version") == FORMAT_VERSION
                    and meta.get("config") == asdict(config)):
                return load_corpus(root)
        except (OSError, ValueError):
            pass   # unreadable or stale: regenerate below
    return generate_corpus(root, config, progress=progress)
