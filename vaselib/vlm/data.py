"""Training data for stages 05 and 06: vase images + captions in ms-swift's messages format.

Three sources, one result (:class:`VaseDataset`: good records + bad records with reasons):

- :func:`from_original_records`: the original module's JSON list of
  ``{"images": [paths], "caption": "...", "conversations": [...]}``; relative image paths
  are taken from the JSON file's folder (then from the workbook root);
- :func:`from_best_views`: a ``best_views/`` folder of stage 04 (``<UUID>_<view>_ac001001.jpg``)
  plus captions (the corpus' ``vases.json`` or a JSON mapping vase id → caption), matched by
  the UUID in the file name;
- :func:`demo_records`: one intact front view per vase of the demo corpus, with its caption;
- with no input at all, the offline demo's training vases (:func:`vaselib.vlm.demo_data.train_set`,
  hundreds of rendered vases in the original's record format).

A record is *bad* (kept out of training, listed in ``bad_records.json`` with its reason)
when an image is missing or cannot be decoded, when it has no caption, or when a file name
does not match the pattern or has no caption.  Nothing is dropped silently.

:func:`sft_row` makes the supervised row (user turn = image(s) + the caption prompt of
:data:`vaselib.vocabulary.CAPTION_PROMPT`, assistant turn = caption); :func:`grpo_row` the
GRPO row (the user turn only, plus ``reference_caption`` and the six attribute columns the
reward reads).  :func:`write_datasets` writes both as JSON lines for ms-swift.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from vaselib import runs
from vaselib.images import ImageLoadError, discover_images, open_image
from vaselib.vocabulary import CAPTION_PROMPT

# The six dimensions of the reward, written as extra GRPO columns.
ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "fabric", "technique", "shape", "decoration", "dating", "attribution")
VIEW_PATTERN = (
    r"^(?P<vase_id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"_(?P<view>[^_]+)_ac001001\.(?i:png|jpe?g|bmp|tiff?|webp)$")
SFT_FILE, GRPO_FILE, BAD_FILE = "sft.jsonl", "grpo.jsonl", "bad_records.json"
_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
          "system": "system", "bot": "assistant", "model": "assistant"}


@dataclass
class BadRecord:
    """A record kept out of training: which one (file or record number) and why."""

    source: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason}


@dataclass
class VaseRecord:
    """One good training example: its image(s), caption and what is known about the vase."""

    images: list[Path]
    caption: str
    vase_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, str]] | None = None  # the original's own conversation, if used


@dataclass
class VaseDataset:
    records: list[VaseRecord]
    bad: list[BadRecord]
    source: str

    def __len__(self) -> int:
        return len(self.records)


@dataclass
class DataFiles:
    folder: Path
    sft: Path
    grpo: Path
    bad: Path
    records: int
    bad_records: int
    source: str


# ---------------------------------------------------------------------------- checking
def check_image(path: Path) -> str | None:
    """None when ``path`` is a decodable image, else the reason it is not."""
    if not path.is_file():
        return f"missing image: {runs.display_path(path)}"
    try:
        open_image(path)
    except ImageLoadError as err:
        return f"unreadable image: {runs.display_path(path)}: {err.reason}"
    return None


def _resolve_image(path: str, base: Path | None) -> Path:
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    if base is not None and (base / p).exists():
        return base / p
    root = runs.resolve(p)
    return root if root.exists() or base is None else base / p


def _content_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # [{"type": "text", "text": ...}, {"type": "image"}]
        parts = []
        for item in value:
            if isinstance(item, dict) and item.get("type") in ("image", "image_url"):
                parts.append("<image>")
            elif isinstance(item, dict):
                parts.append(str(item.get("text", "")))
            else:
                parts.append(str(item))
        return "".join(parts)
    return "" if value is None else str(value)


def conversation_messages(conversations: Any) -> list[dict[str, str]] | None:
    """The original's ``conversations`` (ShareGPT ``from``/``value`` or ``role``/``content``)
    as ms-swift messages; None when there is no assistant turn with text."""
    if not isinstance(conversations, list):
        return None
    out = []
    for turn in conversations:
        if not isinstance(turn, dict):
            return None
        role = _ROLES.get(str(turn.get("from", turn.get("role", ""))).lower())
        if role is None:
            return None
        out.append({"role": role,
                    "content": _content_text(turn.get("value", turn.get("content")))})
    if not any(m["role"] == "assistant" and m["content"].strip() for m in out):
        return None
    return out


def caption_attributes(caption: str) -> dict[str, Any]:
    """The six reward dimensions of a caption, parsed by :mod:`vaselib.vlm.captions`."""
    try:
        from vaselib.vlm.captions import parse_caption
    except ImportError:  # pragma: no cover - the module ships with vaselib
        return {}
    try:
        return dict(parse_caption(caption).dimensions())
    except Exception:  # a caption the parser cannot read keeps empty attributes
        return {}


def format_dating(date: Any) -> str | None:
    """``[-525, -475]`` → ``c. 525–475 BCE`` (the caption style); None when unknown."""
    if not isinstance(date, (list, tuple)) or len(date) != 2:
        return None if date is None else str(date)
    a, b = int(date[0]), int(date[1])
    if a < 0 and b < 0:
        return f"c. {-a}–{-b} BCE"
    if a < 0:
        return f"c. {-a} BCE–{b} CE"
    return f"c. {a}–{b} CE"


def vase_attributes(vase: dict[str, Any]) -> dict[str, Any]:
    """The six reward dimensions from a corpus vase record (parsed caption fills gaps)."""
    parsed = caption_attributes(vase.get("caption") or "")
    a = vase.get("attributes") if isinstance(vase.get("attributes"), dict) else vase
    out = {
        "fabric": a.get("fabric"),
        "technique": a.get("technique"),
        "shape": a.get("shape"),
        "decoration": a.get("decoration"),
        "dating": format_dating(a.get("date")) if a.get("date") is not None else None,
        "attribution": a.get("attribution") or a.get("provenance"),
    }
    return {k: (v if v not in (None, "") else parsed.get(k)) for k, v in out.items()}


# ---------------------------------------------------------------------------- sources
def from_original_records(path: str | Path, check_images: bool = True) -> VaseDataset:
    """Read the original module's JSON list of records."""
    path = runs.resolve(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"dataset {runs.display_path(path)} does not exist; pass a JSON file holding a "
            f"list of {{\"images\": [...], \"caption\": \"...\", \"conversations\": [...]}}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"dataset {runs.display_path(path)} is not valid JSON: {err}") from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise ValueError(f"dataset {runs.display_path(path)} must hold a JSON list of records")
    base = path.parent
    good, bad = [], []
    for i, rec in enumerate(data):
        src = f"{path.name}[{i}]"
        if not isinstance(rec, dict):
            bad.append(BadRecord(src, "not a JSON object"))
            continue
        images = rec.get("images", rec.get("image"))
        if isinstance(images, str):
            images = [images]
        if not images or not all(isinstance(x, str) and x.strip() for x in images):
            bad.append(BadRecord(src, "no image paths"))
            continue
        paths = [_resolve_image(x, base) for x in images]
        problems = [r for r in (check_image(p) if check_images else None for p in paths) if r]
        if problems:
            bad.append(BadRecord(src, "; ".join(problems)))
            continue
        caption = rec.get("caption")
        caption = caption.strip() if isinstance(caption, str) else ""
        messages = None
        if not caption:
            messages = conversation_messages(rec.get("conversations"))
            if messages is None:
                bad.append(BadRecord(src, "empty caption and no assistant turn in "
                                          "conversations"))
                continue
            caption = [m["content"] for m in messages if m["role"] == "assistant"][-1].strip()
        attrs = {k: rec[k] for k in ATTRIBUTE_COLUMNS if rec.get(k)}
        attrs = {**caption_attributes(caption), **attrs}
        good.append(VaseRecord(paths, caption, rec.get("id") or rec.get("vase_id"), attrs,
                               messages))
    return VaseDataset(good, bad, runs.display_path(path))


def load_captions(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{vase id: vase record with at least "caption"}`` from vases.json or an id→caption map."""
    path = runs.resolve(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"captions file {runs.display_path(path)} does not exist; pass the corpus' "
            f"vases.json or a JSON mapping vase id -> caption")
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("vases"), list):
        data = data["vases"]
    out: dict[str, dict[str, Any]] = {}
    if isinstance(data, list):
        for v in data:
            if isinstance(v, dict) and v.get("id") is not None:
                out[str(v["id"]).lower()] = v
    elif isinstance(data, dict):
        for k, v in data.items():
            out[str(k).lower()] = v if isinstance(v, dict) else {"id": k, "caption": v}
    else:
        raise ValueError(f"captions file {runs.display_path(path)} must hold a list of vases "
                         f"or a mapping vase id -> caption")
    return out


def from_best_views(images_dir: str | Path, captions: str | Path | dict | None = None,
                    pattern: str = VIEW_PATTERN, check_images: bool = True) -> VaseDataset:
    """Pair the images of a best_views/ folder with their vase's caption (by UUID)."""
    folder = runs.resolve(images_dir)
    files = discover_images(folder)
    if captions is None:
        vases = {str(v["id"]).lower(): v for v in _demo_corpus().vases}
    elif isinstance(captions, dict):
        vases = {str(k).lower(): (v if isinstance(v, dict) else {"caption": v})
                 for k, v in captions.items()}
    else:
        vases = load_captions(captions)
    rx = re.compile(pattern)
    good, bad = [], []
    for f in files:
        src = runs.display_path(f)
        m = rx.match(f.name)
        if not m:
            bad.append(BadRecord(src, "file name does not match <UUID>_<view>_ac001001.jpg"))
            continue
        vid = m.group("vase_id")
        vase = vases.get(vid.lower())
        caption = (vase or {}).get("caption")
        if not isinstance(caption, str) or not caption.strip():
            bad.append(BadRecord(src, f"no caption for vase {vid}" if vase is None
                                 else f"empty caption for vase {vid}"))
            continue
        problem = check_image(f) if check_images else None
        if problem:
            bad.append(BadRecord(src, problem))
            continue
        good.append(VaseRecord([f], caption.strip(), vid, vase_attributes(vase)))
    if not files:
        raise FileNotFoundError(f"no images in {runs.display_path(folder)}; pass the "
                                f"best_views/ folder of stage 04")
    return VaseDataset(good, bad, runs.display_path(folder))


def _demo_corpus():
    from vaselib import demo

    return demo.corpus()


_VIEW_ORDER = {"front": 0, "three_quarter": 1, "side": 2, "back": 3, "top": 4, "bottom": 5}


def demo_records(corpus=None) -> VaseDataset:
    """One intact, good-quality view per demo vase (the front one when there is one)."""
    c = corpus if corpus is not None else _demo_corpus()
    by_vase: dict[str, list[dict]] = {}
    for rec in c.images:
        by_vase.setdefault(str(rec["vase_id"]), []).append(rec)
    good, bad = [], []
    for vase in c.vases:
        vid = str(vase["id"])
        views = [r for r in by_vase.get(vid, [])
                 if r.get("condition") == "intact" and r.get("quality") == 1]
        if not views:
            why = ("a fragment: no intact view" if vase.get("condition") == "fragment"
                   else "no intact good-quality view")
            bad.append(BadRecord(vid, why))
            continue
        best = min(views, key=lambda r: (_VIEW_ORDER.get(r.get("view_kind"), 9), r["file"]))
        path = Path(c.raw_dir) / best["file"]
        problem = check_image(path)
        if problem:
            bad.append(BadRecord(vid, problem))
            continue
        caption = (vase.get("caption") or "").strip()
        if not caption:
            bad.append(BadRecord(vid, "empty caption"))
            continue
        good.append(VaseRecord([path], caption, vid, vase_attributes(vase)))
    return VaseDataset(good, bad, "demo corpus")


def load_records(dataset: str | None = None, images_dir: str | None = None,
                 captions: str | None = None) -> VaseDataset:
    """The records of stage 05/06's inputs: dataset, else images_dir + captions, else the
    demo's training vases (rendered on first use)."""
    if dataset is not None:
        return from_original_records(dataset)
    if images_dir is not None:
        return from_best_views(images_dir, captions)
    if captions is not None:
        raise ValueError("captions is given without images_dir: pass images_dir (a best_views/ "
                         "folder) too, or pass dataset")
    from vaselib.vlm import demo_data

    return from_original_records(demo_data.train_set().records_file)


# ---------------------------------------------------------------------------- rows
def user_turn(n_images: int) -> dict[str, str]:
    return {"role": "user", "content": "<image>" * n_images + CAPTION_PROMPT}


def sft_row(rec: VaseRecord) -> dict[str, Any]:
    """ms-swift's messages row: user = image(s) + caption prompt, assistant = caption."""
    if rec.messages is not None:
        messages = [dict(m) for m in rec.messages]
        tags = sum(m["content"].count("<image>") for m in messages)
        if tags < len(rec.images):  # the original put the image outside the text
            first = next(m for m in messages if m["role"] == "user")
            first["content"] = "<image>" * (len(rec.images) - tags) + first["content"]
    else:
        messages = [user_turn(len(rec.images)), {"role": "assistant", "content": rec.caption}]
    return {"messages": messages, "images": [str(p) for p in rec.images]}


def grpo_row(rec: VaseRecord) -> dict[str, Any]:
    """GRPO row: the user turn only, the reference caption and the six attribute columns."""
    row: dict[str, Any] = {"messages": [user_turn(len(rec.images))],
                           "images": [str(p) for p in rec.images],
                           "reference_caption": rec.caption,
                           "vase_id": rec.vase_id or ""}
    for k in ATTRIBUTE_COLUMNS:
        v = rec.attributes.get(k)
        row[k] = "" if v is None else str(v)
    return row


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)


def write_datasets(ds: VaseDataset, folder: str | Path) -> DataFiles:
    """Write sft.jsonl, grpo.jsonl and bad_records.json into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not ds.records:
        reasons = "; ".join(f"{b.source}: {b.reason}" for b in ds.bad[:5])
        raise ValueError(f"no usable training records in {ds.source}"
                         + (f" (bad records: {reasons})" if reasons else ""))
    _write_jsonl(folder / SFT_FILE, (sft_row(r) for r in ds.records))
    _write_jsonl(folder / GRPO_FILE, (grpo_row(r) for r in ds.records))
    runs.write_json(folder / BAD_FILE, {"source": ds.source, "count": len(ds.bad),
                                        "records": [b.to_dict() for b in ds.bad]})
    return DataFiles(folder, folder / SFT_FILE, folder / GRPO_FILE, folder / BAD_FILE,
                     len(ds.records), len(ds.bad), ds.source)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def bad_records_table(bad: Sequence[BadRecord] | Sequence[dict]) -> list[dict[str, str]]:
    """Bad records as plain dicts (for display)."""
    return [b.to_dict() if isinstance(b, BadRecord) else dict(b) for b in bad]
