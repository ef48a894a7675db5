"""Read the caption files of the original evaluation script and pair generated with reference.

Both files are JSON lists of records ``{"images": [name, ...], "caption": "..."}``. A record
is identified by :func:`image_id` of its *first* image; each generated record is paired with
the ground-truth record of the same id. Generated records without a ground-truth partner are
skipped and counted (as the original did), never silently dropped.

Hard errors (a :class:`RecordsError`, always naming the file and the fix): a missing file,
invalid JSON (with line and column), a top level that is not a list, a record that is not an
object, a record without images, and a caption that is not a string. Softer findings (an
empty caption, an id found twice) are kept as ``problems`` beside the pairs.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from vaselib.runs import display_path


class RecordsError(ValueError):
    """A caption file (or list of records) the evaluation cannot read."""


@dataclass(frozen=True)
class Record:
    """One caption record: the id of its first image, the caption and where it came from."""

    image_id: str
    caption: str
    position: int  # index in its list


@dataclass(frozen=True)
class Pair:
    """A generated caption with the reference caption of the same image id."""

    generated: str
    reference: str
    image_id: str


@dataclass
class MatchedRecords:
    """The outcome of pairing a generated list with a ground-truth list.

    ``pairs`` are in the order of the generated list; ``unmatched`` holds the ids of generated
    records that have no ground-truth partner (skipped, as in the original script);
    ``problems`` lists softer findings in words.
    """

    pairs: list[Pair]
    unmatched: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    generated_source: str = "<records>"
    ground_truth_source: str = "<records>"

    @property
    def generated(self) -> list[str]:
        return [p.generated for p in self.pairs]

    @property
    def references(self) -> list[str]:
        return [p.reference for p in self.pairs]

    @property
    def ids(self) -> list[str]:
        return [p.image_id for p in self.pairs]

    def __len__(self) -> int:
        return len(self.pairs)


def image_id(name: str) -> str:
    """The id of an image name, by the original's rule.

    Of the file's base name: the first two ``_``-separated parts joined by ``_`` when there are
    at least three parts (``<UUID>_<view>_<n>.jpg`` → ``<UUID>_<view>``), else the name
    without a trailing ``.jpg``. Folders in front of the name (``/`` or ``\\``) are ignored.
    """
    base = PureWindowsPath(PurePosixPath(str(name)).name).name
    parts = base.split("_")
    if len(parts) >= 3:
        return "_".join(parts[:2])
    return base.removesuffix(".jpg")


def source_name(source: str | Path | Sequence[Any]) -> str:
    """How a source is named in messages and metadata: the path as shown, or ``<records>``."""
    return display_path(source) if isinstance(source, (str, Path)) else "<records>"


def load_json_list(path: str | Path) -> list[Any]:
    """The JSON list stored in ``path``, with errors that name the file and the fix."""
    path = Path(path)
    where = display_path(path)
    if not path.is_file():
        raise RecordsError(f"{where} does not exist: pass the path of a JSON caption file "
                           f"(a list of {{\"images\": [...], \"caption\": \"...\"}} records)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecordsError(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno} (character {exc.pos}); fix the file or "
                           f"re-export it") from exc
    except UnicodeDecodeError as exc:
        raise RecordsError(f"{where} is not UTF-8 text ({exc}); re-save it as UTF-8") from exc
    if not isinstance(data, list):
        raise RecordsError(f"{where} holds a JSON {type(data).__name__}, not a list: the file "
                           f"must be a list of {{\"images\": [...], \"caption\": \"...\"}} "
                           f"records")
    return data


def parse_records(data: Sequence[Any], source: str = "<records>") -> tuple[list[Record],
                                                                             list[str]]:
    """Check each record of ``data`` and return them with the problems found.

    Raises :class:`RecordsError` naming ``source`` and the record's position for a record that
    is not an object, has no images, or has a caption that is not a string.
    """
    if not isinstance(data, (list, tuple)):
        raise RecordsError(f"{source}: expected a list of records, got "
                           f"{type(data).__name__}")
    records: list[Record] = []
    problems: list[str] = []
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise RecordsError(f"{source}: record {i} is a {type(rec).__name__}, not an object "
                               f"with \"images\" and \"caption\"")
        images = rec.get("images")
        if isinstance(images, str):
            images = [images]
        if not isinstance(images, (list, tuple)) or not images:
            raise RecordsError(f"{source}: record {i} has no images (\"images\" is "
                               f"{images!r}); every record needs a non-empty list of image "
                               f"names to be matched by")
        if not isinstance(images[0], str) or not images[0].strip():
            raise RecordsError(f"{source}: record {i}: the first image name is "
                               f"{images[0]!r}, not a file name")
        if "caption" not in rec:
            raise RecordsError(f"{source}: record {i} has no \"caption\" key")
        caption = rec["caption"]
        if not isinstance(caption, str):
            raise RecordsError(f"{source}: record {i}: the caption is not a string but a "
                               f"{type(caption).__name__} ({caption!r}); captions must be "
                               f"text")
        rid = image_id(images[0])
        if not caption.strip():
            problems.append(f"{source}: record {i} ({rid}) has an empty caption")
        records.append(Record(rid, caption, i))
    return records, problems


def read_records(source: str | Path | Sequence[Any]) -> tuple[list[Record], list[str], str]:
    """Records, problems and the source's name, from a file path or an in-memory list."""
    name = source_name(source)
    data = load_json_list(source) if isinstance(source, (str, Path)) else source
    records, problems = parse_records(data, name)
    return records, problems, name


def match_records(generated: str | Path | Sequence[Any],
                  ground_truth: str | Path | Sequence[Any]) -> MatchedRecords:
    """Pair each generated record with the ground-truth record of the same image id.

    A ground-truth id found twice keeps its last record (a dict lookup, as the original
    built it) and is reported in ``problems``; a generated id found twice is scored twice and
    reported.
    """
    gen, gen_problems, gen_name = read_records(generated)
    ref, ref_problems, ref_name = read_records(ground_truth)
    problems = gen_problems + ref_problems
    by_id: dict[str, Record] = {}
    for rec in ref:
        if rec.image_id in by_id:
            problems.append(f"{ref_name}: id {rec.image_id} appears more than once "
                            f"(records {by_id[rec.image_id].position} and {rec.position}); "
                            f"the last one is used")
        by_id[rec.image_id] = rec
    seen: dict[str, int] = {}
    pairs: list[Pair] = []
    unmatched: list[str] = []
    for rec in gen:
        if rec.image_id in seen:
            problems.append(f"{gen_name}: id {rec.image_id} appears more than once (records "
                            f"{seen[rec.image_id]} and {rec.position}); both are scored")
        seen.setdefault(rec.image_id, rec.position)
        partner = by_id.get(rec.image_id)
        if partner is None:
            unmatched.append(rec.image_id)
        else:
            pairs.append(Pair(rec.caption, partner.caption, rec.image_id))
    if unmatched:
        problems.append(f"{gen_name}: {len(unmatched)} generated record(s) have no "
                        f"ground-truth record with the same image id and were skipped")
    return MatchedRecords(pairs, unmatched, problems, gen_name, ref_name)
