"""Ground-truth attributes of a vase: fabric, technique, shape, date, decoration, painter
and provenance, sampled consistently with one another."""
from __future__ import annotations

import math

from vaselib import vocabulary as voc
from vaselib.synth.common import _np_rng, _pick


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
