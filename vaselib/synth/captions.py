"""Dates and captions in the VaseVQA-3D style, written from a vase's attributes."""
from __future__ import annotations

from vaselib import vocabulary as voc


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
