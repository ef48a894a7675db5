"""The original data's file names: ``<vase id>_<view number>_ac001001.<ext>``.

The original's pattern is ``^([A-F0-9-]+)_(\\d+)_ac001001\\.jpg$``, matched case-insensitively
(ids are upper- or lower-case hex with dashes, not always 8-4-4-4-12 UUIDs).  vaselib's
default is the same pattern with any image extension and named groups.  A user pattern may
name its groups (``vase_id``, optional ``view``) or, like the original's, use two plain
groups (id, view).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_VIEW_PATTERN = (
    r"(?i)^(?P<vase_id>[A-F0-9-]+)_(?P<view>\d+)_ac001001\.(?:jpe?g|png|bmp|tiff?|webp)$")
ORIGINAL_PATTERN = r"^([A-F0-9-]+)_(\d+)_ac001001\.jpg$"


class PatternError(ValueError):
    """A file-name pattern that cannot group files by vase."""


def compile_pattern(pattern: str) -> re.Pattern:
    """Compile ``pattern``; it must name ``vase_id`` or have at least one plain group."""
    try:
        rx = re.compile(pattern)
    except re.error as err:
        raise PatternError(f"not a valid regular expression: {err}") from None
    if "vase_id" not in rx.groupindex and rx.groups < 1:
        raise PatternError("the pattern needs a group that identifies the vase: "
                           "(?P<vase_id>...) (and optionally (?P<view>...)), or plain "
                           "groups (id)(view) as in the original's pattern")
    return rx


@dataclass(frozen=True)
class ViewName:
    vase_id: str
    view: int | str          # an int when the view is a number (the original's case)


def _view(text: str | None, fallback: str) -> int | str:
    if text is None:
        return fallback
    return int(text) if text.isdigit() else text


def parse_view_name(name: str, rx: re.Pattern) -> ViewName | None:
    """The vase id and view of a file name (its last path part), or None when it does not
    match.  A pattern without a view group takes the file stem as the view."""
    base = Path(name).name
    m = rx.match(base)
    if not m:
        return None
    if "vase_id" in rx.groupindex:
        vid = m.group("vase_id")
        view = m.group("view") if "view" in rx.groupindex else None
    else:
        vid = m.group(1)
        view = m.group(2) if rx.groups >= 2 else None
    return ViewName(vid, _view(view, Path(base).stem))


def check_matches(names: list[str], rx: re.Pattern, param: str = "pattern") -> None:
    """Raise when no name matches: the pattern and the first names, so the fix is obvious."""
    if names and not any(parse_view_name(n, rx) for n in names):
        first = ", ".join(Path(n).name for n in names[:5])
        raise PatternError(
            f"no file name matches {param} = {rx.pattern} ; the first names are: {first}. "
            f"Give a {param} whose groups capture the vase id (and view) of these names")
