"""Scenes: a subject laid out across a panel or frieze."""
from __future__ import annotations

from vaselib.synth.figures import _Painter


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
