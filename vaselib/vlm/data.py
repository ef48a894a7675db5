"""Training data for stages 05 and 06: vase images + captions in ms-swift's messages format.

Sources, one result (:class:`VaseDataset`: good records + bad records with reasons):

- :func:`from_records_file`: a JSON (or JSON-lines) file in any of the formats researchers
  already have — the original module's ``{"images", "caption", "conversations"}``;
  ms-swift's ``{"messages": [{"role", "content"}], "images"}``; LLaMA-Factory's sharegpt
  (``messages`` or ``conversations``, ``from``/``value`` or ``role``/``content``, an
  ``images`` list, ``<image>`` placeholders).  Relative image paths are taken from the
  file's folder (then from the workbook root);
- :func:`from_best_views`: a ``best_views/`` folder of stage 04 (``<id>_<view>_ac001001.jpg``)
  plus captions (the corpus' ``vases.json`` or a JSON mapping vase id → caption), matched by
  the id in the file name;
- :func:`demo_records`: one intact front view per vase of a synthetic corpus.

Every record is checked before training, and a *bad* one is kept out and listed in
``bad_records.json`` with its reason: an image missing or undecodable, no caption, the
number of ``<image>`` tags not equal to the number of images, roles that do not alternate
user/assistant, a text longer than ``max_length`` tokens (:func:`check_lengths`), a file
name off the pattern.  Nothing is dropped silently.  The GRPO set needs a reference caption
the reward can read: a record whose answer is not a vase caption (the reward's parser finds
no fabric, technique, shape or date in it) still trains SFT but is listed as "no vase
caption for the reward" and never becomes a GRPO reference.

:func:`sft_row` makes the supervised row; :func:`grpo_row` the GRPO row (the user turn only,
plus ``reference_caption`` and the six attribute columns the reward reads).
:func:`write_datasets` writes both as JSON lines for ms-swift, a LLaMA-Factory
``dataset_info.json`` entry so the same set trains there, and the set in the original's
records format (``records.json``), which stage 08 takes as its ground truth: a model is then
scored on the photographs it trained on, beside the held-out ones.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from vaselib import filenames, runs
from vaselib.images import ImageLoadError, discover_images, open_image
from vaselib.vocabulary import CAPTION_PROMPT

# The six dimensions of the reward, written as extra GRPO columns.
ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "fabric", "technique", "shape", "decoration", "dating", "attribution")
VIEW_PATTERN = filenames.DEFAULT_VIEW_PATTERN
SFT_FILE, GRPO_FILE, BAD_FILE = "sft.jsonl", "grpo.jsonl", "bad_records.json"
RECORDS_FILE = "records.json"
DATASET_INFO_FILE, DATASET_NAME = "dataset_info.json", "vaselib_vases"
NO_REWARD_CAPTION = "no vase caption for the reward"
_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
          "system": "system", "bot": "assistant", "model": "assistant"}


@dataclass
class BadRecord:
    """A record kept out of training: which one (file or record number) and why."""

    source: str
    reason: str
    scope: str = "all"          # "all": kept out of training; "grpo": out of the GRPO set only

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason, "scope": self.scope}


@dataclass
class VaseRecord:
    """One good training example: its image(s), caption and what is known about the vase."""

    images: list[Path]
    caption: str
    vase_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, str]] | None = None  # the record's own conversation, if it had one
    source: str = ""
    reward_reference: bool = True   # the caption is a vase caption the reward can score


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


def parse_turns(turns: Any) -> tuple[list[dict[str, str]] | None, str | None]:
    """A conversation in any of the supported shapes as ms-swift messages, or the reason it
    cannot be one: ShareGPT ``from``/``value`` or ``role``/``content`` turns; a leading
    system turn; then user and assistant turns alternating, ending with the assistant."""
    if not isinstance(turns, list) or not turns:
        return None, "no conversation turns"
    out = []
    for turn in turns:
        if not isinstance(turn, dict):
            return None, "a conversation turn is not a JSON object"
        raw = turn.get("from", turn.get("role"))
        role = _ROLES.get(str(raw).lower()) if raw is not None else None
        if role is None:
            return None, f"unknown role {raw!r} (expected user/assistant, human/gpt, system)"
        out.append({"role": role,
                    "content": _content_text(turn.get("value", turn.get("content")))})
    body = out[1:] if out[0]["role"] == "system" else out
    expected = ["user", "assistant"] * ((len(body) + 1) // 2)
    if [m["role"] for m in body] != expected[:len(body)] or not body \
            or body[-1]["role"] != "assistant":
        return None, ("roles do not alternate user/assistant ending with the assistant: "
                      + " → ".join(m["role"] for m in out))
    if not body[-1]["content"].strip():
        return None, "the last assistant turn is empty"
    return out, None


def conversation_messages(conversations: Any) -> list[dict[str, str]] | None:
    """:func:`parse_turns` without the reason (None when the turns are unusable)."""
    return parse_turns(conversations)[0]


def is_vase_caption(text: str) -> bool:
    """True when the reward's parser finds a fabric, technique, shape or date in ``text``."""
    from vaselib.vlm.captions import parse_caption

    parts = parse_caption(text or "")
    dims = parts.dimensions()
    return any(dims.get(k) for k in ("fabric", "technique", "shape", "dating"))


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
def _read_records(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"dataset {runs.display_path(path)} line {n} is not valid "
                                     f"JSON: {err.msg} (column {err.colno})") from None
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"dataset {runs.display_path(path)} is not valid JSON: {err.msg} "
                         f"(line {err.lineno}, column {err.colno})") from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise ValueError(f"dataset {runs.display_path(path)} must hold a JSON list of records")
    return data


def _record(rec: Any, src: str, base: Path, check_images: bool
            ) -> tuple[VaseRecord | None, list[BadRecord]]:
    """One record of any supported format, or why it is bad."""
    if not isinstance(rec, dict):
        return None, [BadRecord(src, "not a JSON object")]
    images = rec.get("images", rec.get("image"))
    if isinstance(images, str):
        images = [images]
    if isinstance(images, list):
        images = [x.get("path", x.get("image")) if isinstance(x, dict) else x for x in images]
    if not images or not all(isinstance(x, str) and x.strip() for x in images):
        return None, [BadRecord(src, "no image paths")]
    paths = [_resolve_image(x, base) for x in images]
    problems = [r for r in (check_image(p) if check_images else None for p in paths) if r]
    if problems:
        return None, [BadRecord(src, "; ".join(problems))]
    caption = rec.get("caption")
    if caption is not None and not isinstance(caption, str):
        return None, [BadRecord(src, f"caption is not text (got {type(caption).__name__} "
                                     f"{caption!r})")]
    caption = (caption or "").strip()
    turns = rec.get("messages", rec.get("conversations"))
    messages = None
    if turns is not None and not (caption and "messages" not in rec):
        # a chat record (ms-swift / sharegpt), or the original's with no caption
        messages, why = parse_turns(turns)
        if messages is None:
            if not caption:
                return None, [BadRecord(src, f"no caption, and the conversation is unusable: "
                                             f"{why}")]
        else:
            tags = sum(m["content"].count("<image>") for m in messages)
            if "messages" in rec or tags:
                if tags != len(paths):
                    return None, [BadRecord(src, f"{tags} <image> tag(s) in the conversation "
                                                 f"but {len(paths)} image(s)")]
            else:  # the original put the image outside the text: add the tags
                first = next(m for m in messages if m["role"] == "user")
                first["content"] = "<image>" * len(paths) + first["content"]
            if not caption:
                caption = messages[-1]["content"].strip()
    elif not caption:
        return None, [BadRecord(src, "no caption and no conversation")]
    attrs = {k: rec[k] for k in ATTRIBUTE_COLUMNS if rec.get(k)}
    attrs = {**caption_attributes(caption), **attrs}
    vase = is_vase_caption(caption)
    out = VaseRecord(paths, caption, rec.get("id") or rec.get("vase_id"), attrs, messages,
                     src, vase)
    return out, ([] if vase else [BadRecord(src, NO_REWARD_CAPTION, scope="grpo")])


def from_records_file(path: str | Path, check_images: bool = True) -> VaseDataset:
    """Read a JSON/JSON-lines file of records in the original's, ms-swift's or
    LLaMA-Factory's format (see the module docstring)."""
    path = runs.resolve(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"dataset {runs.display_path(path)} does not exist; pass a JSON file holding a "
            f"list of records ({{\"images\": [...], \"caption\": \"...\"}}, or ms-swift / "
            f"LLaMA-Factory messages)")
    data = _read_records(path)
    good, bad = [], []
    for i, rec in enumerate(data):
        record, problems = _record(rec, f"{path.name}[{i}]", path.parent, check_images)
        bad += problems
        if record is not None:
            good.append(record)
    return VaseDataset(good, bad, runs.display_path(path))



def load_captions(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{vase id: vase record with at least "caption"}`` from vases.json or an id→caption map."""
    path = runs.resolve(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"captions file {runs.display_path(path)} does not exist; pass the corpus' "
            f"vases.json or a JSON mapping vase id -> caption")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"captions file {runs.display_path(path)} is not valid JSON: "
                         f"{err.msg} (line {err.lineno}, column {err.colno})") from None
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
    found = discover_images(folder)
    files = found.files
    if captions is None:
        from vaselib.stages import ParameterError

        raise ParameterError("captions is not set: give the captions of the images in "
                             "images_dir (the corpus' vases.json, or a JSON mapping vase id "
                             "-> caption)")
    if isinstance(captions, dict):
        vases = {str(k).lower(): (v if isinstance(v, dict) else {"caption": v})
                 for k, v in captions.items()}
    else:
        vases = load_captions(captions)
    if not files:
        raise FileNotFoundError(f"no images in {runs.display_path(folder)}; pass the "
                                f"best_views/ folder of stage 04")
    rx = filenames.compile_pattern(pattern)
    good, bad = [], [BadRecord(s["file"], s["reason"]) for s in found.skipped]
    for f in files:
        src = runs.display_path(f)
        name = filenames.parse_view_name(f.name, rx)
        if name is None:
            bad.append(BadRecord(src, f"file name does not match the pattern {pattern!r}"))
            continue
        vid = name.vase_id
        vase = vases.get(vid.lower())
        caption = (vase or {}).get("caption")
        if vase is None:
            bad.append(BadRecord(src, f"no caption for vase {vid}"))
            continue
        if caption is not None and not isinstance(caption, str):
            bad.append(BadRecord(src, f"caption of vase {vid} is not text (got "
                                      f"{type(caption).__name__} {caption!r})"))
            continue
        if not caption or not caption.strip():
            bad.append(BadRecord(src, f"empty caption for vase {vid}"))
            continue
        problem = check_image(f) if check_images else None
        if problem:
            bad.append(BadRecord(src, problem))
            continue
        vase_caption = is_vase_caption(caption)
        good.append(VaseRecord([f], caption.strip(), vid, vase_attributes(vase), None, src,
                               vase_caption))
        if not vase_caption:
            bad.append(BadRecord(src, NO_REWARD_CAPTION, scope="grpo"))
    return VaseDataset(good, bad, runs.display_path(folder))


_VIEW_ORDER = {"front": 0, "three_quarter": 1, "side": 2, "back": 3, "top": 4, "bottom": 5}


def demo_records(c) -> VaseDataset:
    """One intact, good-quality view per vase of the synthetic corpus ``c`` (the front one
    when there is one)."""
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
    """The records of stage 05/06's inputs: ``dataset``, else ``images_dir`` + ``captions``."""
    from vaselib.stages import ParameterError

    if dataset is not None:
        return from_records_file(dataset)
    if images_dir is not None:
        return from_best_views(images_dir, captions)
    if captions is not None:
        raise ParameterError("captions is given without images_dir: pass images_dir (a "
                             "best_views/ folder) too, or pass dataset")
    raise ParameterError("no training data: give dataset (a JSON file of records) or "
                         "images_dir (a best_views/ folder) with captions")


def original_records(ds: VaseDataset, relative_to: str | Path | None = None) -> list[dict]:
    """``ds`` as the original's JSON records ``{images, caption, conversations}`` (image paths
    relative to ``relative_to`` when given), the format :func:`from_records_file` reads."""
    out = []
    for rec in ds.records:
        images = [str(Path(p).relative_to(relative_to)) if relative_to is not None
                  and Path(p).is_relative_to(relative_to) else str(p) for p in rec.images]
        out.append({"images": images, "caption": rec.caption,
                    "conversations": [{"from": "human", "value": "<image>" * len(images)
                                       + CAPTION_PROMPT},
                                      {"from": "gpt", "value": rec.caption}],
                    **({"id": rec.vase_id} if rec.vase_id else {})})
    return out


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


def dataset_info() -> dict[str, Any]:
    """A LLaMA-Factory ``dataset_info.json`` entry for ``sft.jsonl`` (sharegpt format with
    OpenAI-style role/content tags), so the same set trains there."""
    return {DATASET_NAME: {
        "file_name": SFT_FILE, "formatting": "sharegpt",
        "columns": {"messages": "messages", "images": "images"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"}}}


def write_datasets(ds: VaseDataset, folder: str | Path) -> DataFiles:
    """Write sft.jsonl, grpo.jsonl, bad_records.json, dataset_info.json and records.json (the
    set as the original's records: image paths absolute, each caption under the caption
    prompt) into ``folder``."""
    from vaselib.files import atomic_write_json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not ds.records:
        reasons = "; ".join(f"{b.source}: {b.reason}" for b in ds.bad[:5])
        raise ValueError(f"no usable training records in {ds.source}"
                         + (f" (bad records: {reasons})" if reasons else ""))
    _write_jsonl(folder / SFT_FILE, (sft_row(r) for r in ds.records))
    _write_jsonl(folder / GRPO_FILE, (grpo_row(r) for r in ds.records if r.reward_reference))
    runs.write_json(folder / BAD_FILE, {
        "source": ds.source, "count": sum(b.scope == "all" for b in ds.bad),
        "grpo_only": sum(b.scope == "grpo" for b in ds.bad),
        "records": [b.to_dict() for b in ds.bad]})
    atomic_write_json(folder / DATASET_INFO_FILE, dataset_info())
    atomic_write_json(folder / RECORDS_FILE, original_records(ds))
    return DataFiles(folder, folder / SFT_FILE, folder / GRPO_FILE, folder / BAD_FILE,
                     len(ds.records), sum(b.scope == "all" for b in ds.bad), ds.source)


def image_tokens(max_pixels: int) -> int:
    """Qwen2.5-VL's largest number of image tokens for one image within ``max_pixels``:
    one token per 28×28 pixels after ``smart_resize``."""
    return max(1, max_pixels // (28 * 28))


def check_lengths(ds: VaseDataset, model_dir: str | Path, max_length: int,
                  max_pixels: int) -> VaseDataset:
    """Move records whose chat (text tokens + image tokens + the template's markers) is
    longer than ``max_length`` to the bad records, before training."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    keep = []
    for rec in ds.records:
        messages = sft_row(rec)["messages"]
        text = "".join(m["content"].replace("<image>", "") for m in messages)
        n = (len(tok(text)["input_ids"]) + len(rec.images) * (image_tokens(max_pixels) + 2)
             + 5 * (len(messages) + 1) + 20)          # role markers and the default system
        if n > max_length:
            ds.bad.append(BadRecord(rec.source or str(rec.images[0]),
                                    f"too long: about {n} tokens > max_length {max_length}"))
        else:
            keep.append(rec)
    ds.records = keep
    return ds


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def bad_records_table(bad: Sequence[BadRecord] | Sequence[dict]) -> list[dict[str, str]]:
    """Bad records as plain dicts (for display)."""
    return [b.to_dict() if isinstance(b, BadRecord) else dict(b) for b in bad]
