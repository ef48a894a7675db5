"""Split a vase caption into the six dimensions of the reward, and parse its date.

A caption in the VaseVQA-3D style reads ``<Fabric> <technique> <shape>, c. <start>–<end>
BCE, depicting <decoration>; <find-spot or collection>.``, optionally with ``Attributed to
<painter>``; a model's output may put the parts in another order, leave some out or ramble.
:func:`split_caption` returns a dict with exactly six keys, each a string or ``None``
(``None`` = the caption does not mention that dimension):

``fabric``, ``technique``, ``shape``
    Found by matching the vocabulary of :mod:`vaselib.vocabulary` (``FABRICS`` with their
    synonyms, ``TECHNIQUES`` with ``TECHNIQUE_SYNONYMS``, ``SHAPES``). Matching ignores
    case and accents, treats a hyphen and a space alike (``red figure`` = ``red-figure``),
    accepts a trailing ``s``/``d`` (``black-figured``, ``amphoras``), and takes the longest
    match first, so ``neck-amphora`` is one shape, not ``amphora``. The value is the
    *canonical* vocabulary name (``Attic`` → ``Athenian``, ``black glaze`` →
    ``black-gloss``). ``Squat`` or ``Panathenaic`` earlier in the same clause turns
    ``lekythos``/``amphora`` into ``squat lekythos``/``Panathenaic amphora``. Words inside
    the decoration (``depicting women filling a hydria``) count only when the rest of the
    caption names nothing of that dimension. Several different names are joined with
    ``", "`` in the order they appear.
``dating``
    The first date expression, as written (``c. 525–475 BCE``). Recognised: year ranges
    (``525–475 BCE``, ``525-475 BC``, ``525 to 475 BC``, ``between 525 and 475 BC``,
    ``10 BC–AD 10``), single years (``ca. 500 BCE``, ``480 BC``, ``AD 79``) and centuries
    (``4th century BC``, ``sixth century BCE``, ``late 6th century BCE``, ``mid-5th c.
    BC``, ``second half of the 5th century``, ``6th–5th century BCE``); en dash, em dash,
    hyphen, ``to``, ``until`` or ``and`` between the two ends. A bare number counts only
    with an era (BCE, BC, B.C., CE, AD…) or, if it has 3–4 digits, a ``c.``/``ca.``/
    ``circa``/``about``/``around``/``between`` in front of it. Without an era a date is BCE
    (these are ancient Greek vases); an era written once applies to both ends. Where several
    date expressions start at the same place the longest wins. :func:`parse_date_range`
    turns it into signed years.
``decoration``
    The text after the first ``depicting`` / ``depicts`` / ``depicted`` / ``showing`` /
    ``shows`` / ``decorated with`` / ``featuring`` / ``portraying`` / ``representing`` /
    ``illustrating`` / ``with (a) scene(s) of``, up to the first ``;``, ``.``, line break,
    date, attribution or provenance, or a new clause that opens with a fabric, technique or
    shape (``…the boar, this Athenian lekythos``); connecting words at its ends (``and``,
    ``from``, ``found``…) are dropped. Without such a cue: what remains of the caption once
    every other dimension (with its lead-in: ``attributed to``, ``found at``…) is cut out,
    split into clauses at ``, ; . ( )``, keeping the clauses that hold a word other than
    filler (``vase``, ``ancient``, ``Greek``, ``this is``…), joined with ``", "``
    (``Athena and Chariot Motifs``).
``attribution``
    The painter or workshop when there is one (``PAINTERS`` in the vocabulary, or any
    ``<Name> Painter/Group/Workshop/Class`` and whatever follows ``attributed to``);
    otherwise the provenance: a find-spot or collection of the vocabulary (reported by its
    full vocabulary name: ``Marathon`` → ``Marathon, Attica``; ``Louvre`` → ``Musée du
    Louvre, Paris``), else the text after ``found at``/``from``/``now in``/
    ``provenance:``, else the last ``;``-separated part of the caption.

:func:`parse_caption` returns all of this (plus the painter and the provenance separately and
the parsed date range) as a :class:`CaptionParts`.

:func:`parse_date_range` returns ``(start, end)`` in signed years, BCE negative, ``start <=
end``: ``c. 525–475 BCE`` → ``(-525, -475)``; ``ca. 500 BCE`` → ``(-500, -500)``; ``4th
century BC`` → ``(-400, -300)``; ``late 6th century BCE`` → ``(-533, -500)`` (early / mid /
late = thirds of the century, halves and quarters likewise); ``6th–5th century BCE`` →
``(-600, -400)``; ``AD 79`` → ``(79, 79)``; ``None`` when the text holds no date.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from vaselib.vocabulary import (COLLECTIONS, FABRICS, FIND_SPOTS, PAINTERS, SHAPES,
                                TECHNIQUE_SYNONYMS, TECHNIQUES)

DIMENSIONS: tuple[str, ...] = (
    "fabric", "technique", "shape", "decoration", "dating", "attribution")

# ----------------------------------------------------------------------------- text folding

_CHAR_MAP = {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
             "\u2015": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u00a0": " "}


def fold(text: str) -> str:
    """Map dashes to ``-``, curly quotes to ``'`` and accented letters to their base letter.

    The result has exactly the length of ``text``, so spans found in it apply to ``text``.
    """
    out = []
    for ch in text:
        ch = _CHAR_MAP.get(ch, ch)
        if not ch.isascii():
            base = unicodedata.normalize("NFKD", ch)[:1]
            ch = base if base.isascii() and base else ch
        out.append(ch)
    return "".join(out)


# ----------------------------------------------------------------------------------- dates

_ERA = r"(?:b\.?\s?c\.?(?:\s?e\.?)?|c\.?\s?e\.?|a\.?\s?d\.?)(?![a-z])"
_AD = r"a\.?\s?d\.?(?=\s*\d)"
_CIRCA = (r"(?:\b(?:c|ca|circa|approx|approximately|about|around|roughly|between|dated(?:\s+to)?)"
          r"\b\.?\s*)")
_YEAR = r"(?<![\d.])\d{1,4}(?!\d)"
_SEP = r"\s*(?:-|\bto\b|\buntil\b|\band\b|/)\s*"
_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                  "ninth", "tenth", "eleventh", "twelfth")
_ORD = r"(?:\b\d{1,2}\s*(?:st|nd|rd|th)\b|\b(?:" + "|".join(_ORDINAL_WORDS) + r")\b)"
_QUAL = (r"(?:(?:the\s+)?(?:early|mid|middle|late|beginning\s+of|start\s+of|end\s+of"
         r"|(?:first|second|1st|2nd)\s+half\s+of"
         r"|(?:first|second|third|fourth|last|1st|2nd|3rd|4th)\s+quarter\s+of)[\s-]*(?:the\s+)?)")
_CENT = r"(?:centuries|century|cent\.|c\.)"

_YEAR_RANGE = re.compile(
    rf"(?P<circa>{_CIRCA})?(?:(?P<pre1>{_AD})\s*)?(?P<y1>{_YEAR})(?:\s*(?P<era1>{_ERA}))?"
    rf"{_SEP}(?:{_CIRCA})?(?:(?P<pre2>{_AD})\s*)?(?P<y2>{_YEAR})(?:\s*(?P<era2>{_ERA}))?",
    re.IGNORECASE)
_YEAR_SINGLE = re.compile(
    rf"(?P<circa>{_CIRCA})?(?:(?P<pre>{_AD})\s*)?(?P<y>{_YEAR})(?:\s*(?P<era>{_ERA}))?",
    re.IGNORECASE)
_CENTURY_RANGE = re.compile(
    rf"(?P<q1>{_QUAL})?(?P<o1>{_ORD})(?:\s*{_CENT})?(?:\s*(?P<e1>{_ERA}))?{_SEP}"
    rf"(?P<q2>{_QUAL})?(?P<o2>{_ORD})\s*{_CENT}(?:\s*(?P<e2>{_ERA}))?",
    re.IGNORECASE)
_CENTURY_SINGLE = re.compile(
    rf"(?P<q>{_QUAL})?(?P<o>{_ORD})\s*{_CENT}(?:\s*(?P<e>{_ERA}))?", re.IGNORECASE)

# Part of a century, as fractions (from, to) of it in chronological order.
_QUALIFIER_FRACTIONS = (
    ("first half", (0.0, 0.5)), ("1st half", (0.0, 0.5)),
    ("second half", (0.5, 1.0)), ("2nd half", (0.5, 1.0)),
    ("first quarter", (0.0, 0.25)), ("1st quarter", (0.0, 0.25)),
    ("second quarter", (0.25, 0.5)), ("2nd quarter", (0.25, 0.5)),
    ("third quarter", (0.5, 0.75)), ("3rd quarter", (0.5, 0.75)),
    ("fourth quarter", (0.75, 1.0)), ("4th quarter", (0.75, 1.0)),
    ("last quarter", (0.75, 1.0)),
    ("early", (0.0, 1 / 3)), ("beginning", (0.0, 1 / 3)), ("start", (0.0, 1 / 3)),
    ("mid", (1 / 3, 2 / 3)), ("late", (2 / 3, 1.0)), ("end", (2 / 3, 1.0)),
)


@dataclass(frozen=True)
class DateMatch:
    """A date expression found in a text: its span and its (start, end) signed years."""

    start: int
    end: int
    years: tuple[int, int]


def _is_bce(era: str | None, default: bool = True) -> bool:
    """True for BC/BCE, False for AD/CE, ``default`` when no era is given."""
    if not era:
        return default
    return era.lower().lstrip()[:1] == "b"


def _signed(year: int, bce: bool) -> int:
    return -year if bce else year


def _year_range(m: re.Match) -> tuple[int, int] | None:
    """(start, end) of a year-range match, or None when it is not clearly a date."""
    era1 = m["era1"] or ("AD" if m["pre1"] else None)
    era2 = m["era2"] or ("AD" if m["pre2"] else None)
    if not (era1 or era2 or m["circa"]):
        return None
    y1 = _signed(int(m["y1"]), _is_bce(era1 or era2))
    y2 = _signed(int(m["y2"]), _is_bce(era2 or era1))
    return (min(y1, y2), max(y1, y2))


def _single_year(m: re.Match) -> tuple[int, int] | None:
    """(year, year) of a single-year match, or None when it is not clearly a date."""
    era = m["era"] or ("AD" if m["pre"] else None)
    if not era and not (m["circa"] and len(m["y"]) >= 3):
        return None
    year = _signed(int(m["y"]), _is_bce(era))
    return (year, year)


def _ordinal(text: str) -> int:
    """``6th`` / ``sixth`` → 6."""
    digits = re.match(r"\d+", text.strip())
    if digits:
        return int(digits.group())
    return _ORDINAL_WORDS.index(text.strip().lower()) + 1


def _century(ordinal: int, qualifier: str | None, bce: bool) -> tuple[int, int]:
    """Signed years of (part of) a century: 6th BCE → (-600, -500), late 6th → (-533, -500)."""
    first = -ordinal * 100 if bce else (ordinal - 1) * 100
    lo, hi = 0.0, 1.0
    q = re.sub(r"[\s-]+", " ", (qualifier or "").lower())
    for key, fractions in _QUALIFIER_FRACTIONS:
        if key in q:
            lo, hi = fractions
            break
    return (round(first + lo * 100), round(first + hi * 100))


def _century_range(m: re.Match) -> tuple[int, int]:
    bce1 = _is_bce(m["e1"] or m["e2"])
    bce2 = _is_bce(m["e2"] or m["e1"])
    a = _century(_ordinal(m["o1"]), m["q1"], bce1)
    b = _century(_ordinal(m["o2"]), m["q2"], bce2)
    return (min(a[0], b[0]), max(a[1], b[1]))


def _century_single(m: re.Match) -> tuple[int, int]:
    return _century(_ordinal(m["o"]), m["q"], _is_bce(m["e"]))


_DATE_PARSERS = ((_CENTURY_RANGE, _century_range), (_CENTURY_SINGLE, _century_single),
                 (_YEAR_RANGE, _year_range), (_YEAR_SINGLE, _single_year))


def _trim_date(expression: str) -> str:
    """Drop trailing separators and a sentence-ending full stop (``480 BC.`` → ``480 BC``)."""
    expression = expression.rstrip(" ,;-")
    if re.search(r"[A-Za-z]{2}\.$", expression):
        expression = expression[:-1]
    return expression


def find_date(text: str) -> DateMatch | None:
    """The first date expression of ``text`` (the longest one where several start together)."""
    folded = fold(text)
    found: list[DateMatch] = []
    for pattern, parse in _DATE_PARSERS:
        for m in pattern.finditer(folded):
            years = parse(m)
            if years is not None:
                start, end = m.span()
                end = start + len(_trim_date(folded[start:end]))
                found.append(DateMatch(start, end, years))
                break  # the first valid match of each kind is enough
    if not found:
        return None
    return min(found, key=lambda d: (d.start, -(d.end - d.start)))


def parse_date_range(text: str) -> tuple[int, int] | None:
    """Signed ``(start, end)`` years of the first date in ``text`` (BCE negative), or None.

    >>> parse_date_range("c. 525–475 BCE")
    (-525, -475)
    >>> parse_date_range("late 6th century BCE")
    (-533, -500)
    """
    match = find_date(text)
    return match.years if match else None


# ----------------------------------------------------------------------------- vocabulary

@dataclass(frozen=True)
class Term:
    """A vocabulary entry found in a caption: span, kind and canonical name."""

    start: int
    end: int
    kind: str  # fabric | technique | shape | painter | place
    name: str


def _term_regex(phrase: str) -> str:
    """Regex for a phrase: case/space/hyphen tolerant, optional trailing ``s``/``d``."""
    words = [re.escape(w) for w in re.split(r"[\s-]+", fold(phrase).strip()) if w]
    return r"(?<!\w)" + r"[\s-]*".join(words) + r"(?:s|d)?(?!\w)"


def _place_aliases(entry: str) -> list[str]:
    """``Vulci, Etruria`` → [itself, ``Vulci``]; ``Cerveteri (Caere)`` → [… ``Caere``]."""
    aliases = [entry, re.split(r"[,(]", entry)[0].strip()]
    aliases += re.findall(r"\(([^)]+)\)", entry)
    if "," in entry:
        aliases.append(entry.replace(", ", " (") + ")")
    return aliases


_EXTRA_PLACE_ALIASES = {"Louvre": "Musée du Louvre, Paris",
                        "Metropolitan Museum": "Metropolitan Museum of Art, New York",
                        "Kerameikos": "Athens, Kerameikos", "Kameiros": "Kameiros, Rhodes"}


@lru_cache(maxsize=1)
def _vocabulary_patterns() -> tuple[tuple[re.Pattern, str, str], ...]:
    """(compiled pattern, kind, canonical name) for every vocabulary phrase."""
    entries: list[tuple[str, str, str]] = []
    for name, synonyms in FABRICS.items():
        entries += [(p, "fabric", name) for p in (name, *synonyms)]
    for name in TECHNIQUES:
        entries += [(p, "technique", name) for p in (name, *TECHNIQUE_SYNONYMS.get(name, ()))]
    entries += [(name, "shape", name) for name in SHAPES]
    entries += [(name, "painter", name) for name in PAINTERS]
    for entry in (*FIND_SPOTS, *COLLECTIONS):
        entries += [(alias, "place", entry) for alias in _place_aliases(entry)]
    entries += [(alias, "place", entry) for alias, entry in _EXTRA_PLACE_ALIASES.items()]
    unique = dict.fromkeys(entries)
    return tuple((re.compile(_term_regex(p), re.IGNORECASE), kind, name)
                 for p, kind, name in unique)


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def find_terms(text: str) -> list[Term]:
    """All vocabulary terms of ``text``, longest match first, without overlaps, in text order."""
    folded = fold(text)
    candidates = [Term(m.start(), m.end(), kind, name)
                  for pattern, kind, name in _vocabulary_patterns()
                  for m in pattern.finditer(folded)]
    candidates.sort(key=lambda t: (-(t.end - t.start), t.start))
    chosen: list[Term] = []
    for term in candidates:
        if not _overlaps((term.start, term.end), [(t.start, t.end) for t in chosen]):
            chosen.append(term)
    return sorted(chosen, key=lambda t: t.start)


# Shape names made of a modifier and another shape ("squat lekythos"): modifier → {base: name}.
_SHAPE_MODIFIERS: dict[str, dict[str, str]] = {}
for _name in SHAPES:
    _head, _, _rest = _name.partition(" ")
    if _rest in SHAPES:
        _SHAPE_MODIFIERS.setdefault(_head.lower(), {})[_rest] = _name


def _upgrade_shape(text: str, term: Term) -> Term:
    """``Squat Athenian red-figure lekythos``: ``lekythos`` → ``squat lekythos``."""
    clause_start = max(text.rfind(c, 0, term.start) for c in ",;.\n") + 1
    for modifier, bases in _SHAPE_MODIFIERS.items():
        if term.name in bases:
            m = re.search(rf"(?<!\w){modifier}(?!\w)", text[clause_start:term.start], re.I)
            if m:
                return Term(clause_start + m.start(), term.end, "shape", bases[term.name])
    return term


# ------------------------------------------------------------------ attribution, provenance

_ATTRIBUTION_LEAD = re.compile(
    r"(?:attributed\s+to|painted\s+by|signed\s+by|the\s+work\s+of|workshop\s+of|manner\s+of"
    r"|circle\s+of|near\s+the|by)\s+(?:the\s+)?$", re.IGNORECASE)
_PLACE_LEAD = re.compile(
    r"(?:found\s+(?:at|in|near)|excavated\s+(?:at|in)|discovered\s+(?:at|in)|from|now\s+in"
    r"|kept\s+in|housed\s+in|held\s+(?:at|in)|in|at|provenance:?|collection:?)\s+(?:the\s+)?$",
    re.IGNORECASE)
_ATTRIBUTED_TO = re.compile(r"\battributed\s+to\s+(?:the\s+)?(?P<who>[^,;.\n]+)", re.IGNORECASE)
_NAMED_PAINTER = re.compile(
    r"\b(?:[A-Z][\w'-]+\s+){1,3}(?:Painter|Group|Workshop|Class)\b")
_PROVENANCE_CUE = re.compile(  # case-insensitive cue, then a capitalised name
    r"(?i:\b(?:found\s+(?:at|in|near)|excavated\s+(?:at|in)|discovered\s+(?:at|in)|now\s+in"
    r"|provenance:?|from)\s+(?:the\s+)?)(?P<where>[A-Z][^;.\n]*)")


def _extend_back(text: str, start: int, lead: re.Pattern) -> int:
    """Move ``start`` back over a lead-in such as ``attributed to the`` or ``found at``."""
    m = lead.search(text[max(0, start - 40):start])
    return start - len(m.group()) if m else start


def _find_painter(text: str, folded: str,
                  terms: list[Term]) -> tuple[str | None, tuple[int, int] | None]:
    """Painter/workshop and its span (lead-in included); ``folded`` = :func:`fold` (text)."""
    for term in terms:
        if term.kind == "painter":
            return term.name, (_extend_back(folded, term.start, _ATTRIBUTION_LEAD), term.end)
    m = _ATTRIBUTED_TO.search(folded)
    if m:
        return _clean(text[m.start("who"):m.end("who")]) or None, m.span()
    m = _NAMED_PAINTER.search(folded)
    if m:
        start = _extend_back(folded, m.start(), _ATTRIBUTION_LEAD)
        return text[m.start():m.end()], (start, m.end())
    return None, None


def _find_provenance(text: str, folded: str, terms: list[Term],
                     taken: list[tuple[int, int]]) -> tuple[str | None, tuple[int, int] | None]:
    """Find-spot/collection and its span (lead-in included); ``folded`` = :func:`fold` (text)."""
    for term in terms:
        if term.kind == "place":
            return term.name, (_extend_back(folded, term.start, _PLACE_LEAD), term.end)
    m = _PROVENANCE_CUE.search(folded)
    if m and not _overlaps(m.span(), taken):
        return _clean(text[m.start("where"):m.end("where")]) or None, m.span()
    if ";" in text:
        start = text.rfind(";") + 1
        tail = _clean(text[start:])
        if tail and not _overlaps((start, len(text)), taken) and not _DECORATION_CUE.search(tail):
            return tail, (start, len(text))
    return None, None


# ------------------------------------------------------------------------------ decoration

_DECORATION_CUE = re.compile(
    r"\b(?:depicting|depicts|depicted|showing|shows|decorated\s+with|featuring|features"
    r"|portraying|portrays|representing|represents|illustrating|illustrates"
    r"|with\s+(?:a\s+|an\s+)?scenes?\s+of)\b\s*:?", re.IGNORECASE)
_FILLER = frozenset(
    "a an the this that it is was are of and or with in on at to from by for its which "
    "vase vessel pot pottery ceramic ceramics greek ancient antique object piece example "
    "made painted dated dating century centuries attributed found image photo picture "
    "shown here there".split())
_EDGE_WORDS = frozenset("a an the and or with from in on at to by of is was which that "
                        "found now attributed".split())


def _clean(fragment: str) -> str:
    """Strip punctuation and connecting words (``and``, ``from``, ``found``…) at both ends."""
    words = fragment.strip(" \t\n,;:.").split()
    while words and words[-1].lower().strip(",;:.") in _EDGE_WORDS:
        words.pop()
    while words and words[0].lower().strip(",;:.") in _EDGE_WORDS - {"a", "an", "the"}:
        words.pop(0)
    return " ".join(words).strip(" ,;:.")


_CLAUSE_OPENERS = frozenset("this these it its which the a an is was on".split())


def _clause_start(text: str, start: int, lower: int) -> int | None:
    """Where the clause that opens with the term at ``start`` begins (after ``,``/``(``/``:``).

    ``…the boar, this Athenian lekythos`` → the comma; None when the term is not the head of a
    new clause (``decorated with geometric patterns``).
    """
    sep = max(text.rfind(c, lower, start) for c in ",(:")
    if sep < 0:
        return None
    between = re.findall(r"[^\W\d_]+", text[sep + 1:start].lower())
    return sep if len(between) <= 2 and set(between) <= _CLAUSE_OPENERS else None


def _cue_decoration(text: str, stops: list[tuple[int, int]],
                    terms: list[Term]) -> tuple[str | None, tuple[int, int]]:
    """Decoration introduced by ``depicting`` & co., and the span it covers.

    It ends at the first ``;``, ``.`` or line break, at the first of ``stops`` (date,
    attribution, provenance) and at a clause that opens with a fabric, technique or shape.
    """
    cue = _DECORATION_CUE.search(text)
    if not cue:
        return None, (0, 0)
    end = len(text)
    m = re.compile(r"[;\n]|\.(?:\s|$)").search(text, cue.end())
    if m:
        end = m.start()
    for s, _ in stops:
        if cue.end() <= s < end:
            end = s
    for term in terms:
        if term.kind in ("fabric", "technique", "shape") and cue.end() <= term.start < end:
            clause = _clause_start(text, term.start, cue.end())
            if clause is not None:
                end = clause
                break
    value = _clean(text[cue.end():end])
    return (value or None), (cue.start(), end)


def _residual_decoration(text: str, taken: list[tuple[int, int]]) -> str | None:
    """What is left once every other dimension is cut out, clause by clause."""
    chars = list(text)
    for s, e in taken:
        chars[s:e] = [","] * (e - s)
    clauses = []
    for clause in re.split(r"[,;.\n()]", "".join(chars)):
        clause = _clean(clause)
        if any(w.lower() not in _FILLER for w in re.findall(r"[^\W\d_]+", clause)):
            clauses.append(clause)
    return ", ".join(clauses) or None


# --------------------------------------------------------------------------------- parsing

@dataclass(frozen=True)
class CaptionParts:
    """Everything :func:`parse_caption` found in one caption."""

    fabric: tuple[str, ...] = ()
    technique: tuple[str, ...] = ()
    shape: tuple[str, ...] = ()
    decoration: str | None = None
    dating: str | None = None
    date_range: tuple[int, int] | None = None
    painter: str | None = None
    provenance: str | None = None

    @property
    def attribution(self) -> str | None:
        """The painter/workshop, else the provenance."""
        return self.painter or self.provenance

    def dimensions(self) -> dict[str, str | None]:
        """The six dimensions as strings (several names joined with ``", "``) or None."""
        def join(names: tuple[str, ...]) -> str | None:
            return ", ".join(names) or None
        return {"fabric": join(self.fabric), "technique": join(self.technique),
                "shape": join(self.shape), "decoration": self.decoration,
                "dating": self.dating, "attribution": self.attribution}


def _names(terms: list[Term], kind: str, avoid: tuple[int, int]) -> tuple[str, ...]:
    """Distinct names of ``kind``, outside the ``avoid`` span if any is found there."""
    of_kind = [t for t in terms if t.kind == kind]
    outside = [t for t in of_kind if not _overlaps((t.start, t.end), [avoid])]
    return tuple(dict.fromkeys(t.name for t in (outside or of_kind)))


def parse_caption(text: str) -> CaptionParts:
    """Split ``text`` into its dimensions (see the module docstring for the rules)."""
    text = re.sub(r"[ \t\r\f\v]+", " ", text or "").strip()
    if not text:
        return CaptionParts()
    folded = fold(text)
    terms = [_upgrade_shape(folded, t) if t.kind == "shape" else t for t in find_terms(text)]
    date = find_date(text)
    date_span = [(date.start, date.end)] if date else []

    painter, painter_span = _find_painter(text, folded, terms)
    taken = date_span + ([painter_span] if painter_span else [])
    provenance, place_span = _find_provenance(text, folded, terms, taken)
    stops = taken + ([place_span] if place_span else [])

    decoration, deco_span = _cue_decoration(text, stops, terms)
    if decoration is None:
        vocab_spans = [(t.start, t.end) for t in terms]
        decoration = _residual_decoration(text, stops + vocab_spans)
        deco_span = (0, 0)
    return CaptionParts(
        fabric=_names(terms, "fabric", deco_span),
        technique=_names(terms, "technique", deco_span),
        shape=_names(terms, "shape", deco_span),
        decoration=decoration,
        dating=text[date.start:date.end].strip() if date else None,
        date_range=date.years if date else None,
        painter=painter,
        provenance=provenance,
    )


def split_caption(text: str) -> dict[str, str | None]:
    """The six dimensions of a caption: fabric, technique, shape, decoration, dating, attribution.

    >>> split_caption("Athenian black-figure lekythos, c. 525–475 BCE, "
    ...               "depicting Herakles and the boar; Marathon, Attica.")["decoration"]
    'Herakles and the boar'
    """
    return parse_caption(text).dimensions()
