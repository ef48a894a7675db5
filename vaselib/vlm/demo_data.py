"""Caption data of the offline demo VLM: training and held-out vases, and generic descriptions.

Stages 05–07 need a demo in which the model can actually learn *image → caption*.  This
module renders, with :mod:`vaselib.synth`'s public functions, three disjoint sets of vases,
each from its own seed:

- a **training set** (:data:`TRAIN_SEED`) of clean front views, for experiments (the demo's
  stage 05 trains on what the pipeline's stage 04 selected from the demo corpus);
- the **held-out set** (:data:`HELDOUT_SEED`): only ever captioned, to measure the models;
  a vase whose attributes (hence its rendered design) equal a vase the models trained on
  (the demo corpus', the pretraining set's) is skipped, so every held-out vase is one no
  model has seen;
- the **pretraining set** (:data:`PRETRAIN_SEED`, see :mod:`vaselib.vlm.base_model`): the same
  kind of photographs paired with *generic* descriptions (:func:`generic_description`) in the
  words of everyday description — colours of figures and ground, silhouette, handles,
  proportions, what is painted, the view — and none of the domain's names of fabrics,
  techniques, shapes, painters, places or myths.  The base model learns to *see* from it; only
  SFT teaches it the domain's caption style.

Each caption set is one folder (cached under ``<data>/demo-vlm/<name>-<hash>/``, built into a
temporary folder and renamed, so a half-written set is never used) holding

- ``images/<UUID>_<view>_ac001001.jpg``: one intact, good photograph per vase (front or
  three-quarter view, what stage 04's best-view selection keeps), JPEG quality 92 like the
  corpus;
- ``records.json``: the original's training records ``[{"images": ["images/<file>"],
  "caption": "...", "conversations": [{"from": "human", ...}, {"from": "gpt", ...}]}]``
  (readable by :func:`vaselib.vlm.data.from_records_file`; relative image paths);
- ``ground_truth.json``: the evaluation format ``[{"images": ["<file>"], "caption": "..."}]``;
- ``vases.json``: every vase's attributes, view and file (what the evaluation compares to);
- ``set.json``: the configuration, its hash and the counts (written last: the set is complete).
"""
from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from vaselib import runs, synth
from vaselib.vocabulary import CAPTION_PROMPT

SET_FORMAT = 1          # bump when what a configuration produces changes
TRAIN_SEED = 51_001     # the demo corpus uses seed 0, the demo CLIP's training corpus 20240917
HELDOUT_SEED = 52_002
PRETRAIN_SEED = 53_003
IMAGE_SIZE = 112        # 4 x 4 merged 28-px patches = 16 image tokens per photograph
# Views of the caption sets: what stage 04 keeps (the most frontal good view of a vase).
CAPTION_VIEWS: tuple[tuple[str, float], ...] = (("front", 0.6), ("three_quarter", 0.4))
# Views of the pretraining set: the same (a side view hides most of what tells techniques
# apart, e.g. the panels of a black-figure amphora, and slowed the vision tower down).
PRETRAIN_VIEWS: tuple[tuple[str, float], ...] = CAPTION_VIEWS
RECORDS_FILE, GROUND_TRUTH_FILE, VASES_FILE, SET_FILE = (
    "records.json", "ground_truth.json", "vases.json", "set.json")


# ══════════════════════════════════════════════════════════════════════════ descriptions
# Everyday words for what each renderer shape looks like.  Shapes the renderer draws with
# the same silhouette (amphora = neck-amphora, krater = calyx-krater, kylix = lip cup =
# band cup, oinochoe = prochous, lebes = lebes gamikos) share a description: a description
# says only what the picture shows.  No entry contains a word of vaselib.vocabulary.
_SILHOUETTES: dict[str, str] = {
    "amphora": "a tall jar with a narrow neck and two upright handles from neck to shoulder",
    "belly-amphora": "a tall jar whose round body flows into a wide neck, with two upright "
                     "handles",
    "Panathenaic amphora": "a tall jar with broad shoulders, a very thin neck and two "
                           "upright handles",
    "pelike": "a tall jar that sags widest near the bottom, with two upright handles",
    "stamnos": "a broad-shouldered jar with a short neck and two small sideways handles",
    "hydria": "a jar with a narrow neck and three handles, two small sideways ones and a "
              "tall upright one at the back",
    "kalpis": "a jar that curves smoothly into its neck, with three handles, two small "
              "sideways ones and a tall upright one at the back",
    "loutrophoros": "a very tall thin vessel with a long narrow neck, a flaring mouth and "
                    "two long handles",
    "column-krater": "a wide jar with a broad mouth and two upright handles ending in flat "
                     "tabs over the rim",
    "volute-krater": "a wide-mouthed jar with two tall scrolled handles rising above the rim",
    "krater": "a wide deep bowl opening upwards like a flower, on a foot, with two low "
              "sideways handles",
    "bell-krater": "a wide deep bowl shaped like an upside-down bell, with two small "
                   "sideways handles",
    "dinos": "a round deep bowl without handles resting on a tall stand",
    "oinochoe": "a jug with a narrow neck and one tall handle at the back",
    "olpe": "a slender jug with a wide neck and one tall handle at the back",
    "kylix": "a very shallow wide drinking bowl on a thin stem, with two sideways handles",
    "skyphos": "a deep drinking bowl on a low ring foot, with two small sideways handles "
               "near the rim",
    "mastoid": "a deep bowl narrowing to a very small foot, with two small sideways handles "
               "near the rim",
    "kantharos": "a deep bowl on a stem with two tall upright handles rising above the rim",
    "rhyton": "a horn-shaped vessel widening upwards, with one handle",
    "lekythos": "a very tall slender bottle with a narrow neck, a small mouth and one handle",
    "squat lekythos": "a small squat bottle with a round body, a thin neck and one handle",
    "aryballos": "a small round ball-shaped flask with a tiny mouth and one small handle",
    "alabastron": "a long narrow flask with a rounded bottom and no handles",
    "askos": "a low flat vessel with a spout on one side and a handle arching over the top",
    "pyxis": "a round lidded box with straight sides and no handles",
    "lekanis": "a low wide bowl with a lid and two sideways handles",
    "lebes": "a round bowl with two upright handles resting on a tall stand",
    "psykter": "a mushroom-shaped vessel, a round body on a tall thin stem, without handles",
    "plate": "a flat round dish on a low foot",
}
_SAME_SILHOUETTE = {"neck-amphora": "amphora", "calyx-krater": "krater", "lip cup": "kylix",
                    "band cup": "kylix", "prochous": "oinochoe", "lebes gamikos": "lebes"}

# The colour of the bare clay as the renderer paints it for each fabric (4 tones).
_CLAY_TONES: dict[str, str] = {
    "Athenian": "reddish-orange", "Chalcidian": "reddish-orange", "Etruscan": "reddish-orange",
    "Apulian": "orange", "Lucanian": "orange", "Campanian": "orange", "Paestan": "orange",
    "Sicilian": "orange", "Euboean": "orange", "Laconian": "light brown",
    "Boeotian": "light brown", "Cycladic": "pale cream", "Corinthian": "pale cream",
    "East Greek": "pale cream",
}

# How each technique looks: what colour the figures are and what they stand on (after the
# clay's colour, which opens the description).
_LOOKS: dict[str, str] = {
    "black-figure": "with dark silhouettes painted on it",
    "red-figure": "under a glossy dark coat, the figures left bare",
    "white-ground": "under a glossy dark coat, with a white band of fine outline drawings",
    "bilingual": "with bare figures on dark on one side and dark silhouettes on the other",
    "Six's technique": "under a glossy dark coat, with pale pinkish figures painted over it",
    "black-gloss": "covered all over in shiny dark paint, with one small band of pattern",
    "Geometric": "with dark brown bands of zigzags, checks and lines",
    "Orientalizing": "with rows of dark brown animals and dots",
    "West Slope": "covered in shiny dark paint, with a garland in white and yellow",
    "Gnathian": "covered in shiny dark paint, with white and yellow paint on it",
}

# What the main picture shows, by the renderer's scene kinds (see synth's scene keywords).
_SCENES: tuple[tuple[str, str], ...] = (  # (substring of the subject, description); first wins
    ("Nemean lion", "a man wrestling a lion"), ("boar", "a man holding a wild pig"),
    ("Minotaur", "a man fighting a bull-headed figure"),
    ("Athena", "a woman with spear and shield between two columns"),
    ("Dionysos", "a row of walking and dancing figures"),
    ("departure", "a warrior standing among other figures"),
    ("chariot", "horses pulling a two-wheeled cart"),
    ("board game", "two crouching warriors facing each other over a block"),
    ("machy", "warriors fighting each other"), ("symposion", "men lying on couches"),
    ("athletes", "men running in a row"), ("fountain", "women beside a building with a spout"),
    ("Eros", "a woman and a small winged figure"), ("owl", "a large bird with big eyes"),
    ("animal frieze", "a row of beasts and winged creatures"),
    ("deer", "a row of grazing deer"), ("prothesis", "a body on a bed among mourners"),
    ("meander and zigzag", "bands of key pattern and zigzags"),
    ("stamped palmettes", "small stamped fan-shaped flowers"),
    ("ivy", "a garland of heart-shaped leaves"), ("tongues", "a band of short rounded strokes"),
    ("laurel", "a wreath of pointed leaves"), ("necklace", "a string of hanging drops"),
    ("vine", "a vine with bunches of grapes"),
)
_BORDERS: dict[str, str] = {  # the ornament of "<subject> with <ornament> borders"
    "meander": "key pattern", "palmettes": "fan-shaped flowers",
    "lotus-and-palmette": "buds and flowers", "rays": "pointed rays", "tongues": "rounded strokes",
    "ivy": "heart-shaped leaves", "laurel": "pointed leaves",
}
_VIEW_WORDS = {"front": "Seen from the front.", "three_quarter": "Seen at an angle.",
               "side": "Seen from the side.", "back": "Seen from the back.",
               "top": "Seen from above.", "bottom": "Seen from below."}

# Generic instructions of the pretraining set (never the domain's caption prompt).
GENERIC_PROMPTS: tuple[str, ...] = (
    "Describe the object in this photo.", "What does this picture show?",
    "Describe this image in one sentence.", "What do you see?",
)


def silhouette(shape: str) -> str:
    """Everyday words for the silhouette the renderer draws for ``shape``."""
    return _SILHOUETTES[_SAME_SILHOUETTE.get(shape, shape)]


_DEFAULT_SCENE = "a row of standing figures"


def _scene_and_border(decoration: str) -> tuple[str, str | None]:
    subject, border = decoration, None
    if decoration.endswith(" borders") and " with " in decoration:
        subject, _, rest = decoration.rpartition(" with ")
        border = _BORDERS.get(rest[: -len(" borders")])
    scene = next((words for key, words in _SCENES if key in subject), _DEFAULT_SCENE)
    return scene, border


def scene_words(decoration: str) -> str:
    """Everyday words for what the decoration ``<subject>[ with <ornament> borders]`` shows."""
    scene, border = _scene_and_border(decoration)
    return f"{scene}, framed by bands of {border}" if border else scene


# The parts of a generic description and every value each part can take.
DESCRIPTION_PARTS: dict[str, tuple] = {
    "silhouette": tuple(sorted(set(_SILHOUETTES.values()))),
    "look": tuple(_LOOKS),
    "clay": tuple(sorted(set(_CLAY_TONES.values()))),
    "scene": tuple(dict.fromkeys([w for _, w in _SCENES] + [_DEFAULT_SCENE])),
    "border": (None, *dict.fromkeys(_BORDERS.values())),
    "view": tuple(_VIEW_WORDS),
}


def description_parts(attrs: dict[str, Any], view_kind: str) -> dict[str, Any]:
    """What a generic description says, part by part (values of :data:`DESCRIPTION_PARTS`)."""
    scene, border = _scene_and_border(attrs.get("decoration") or "")
    technique = attrs.get("technique") if attrs.get("technique") in _LOOKS else "black-figure"
    return {"silhouette": silhouette(attrs.get("shape") or "amphora"), "look": technique,
            "clay": _CLAY_TONES.get(attrs.get("fabric") or "", "orange"),
            "scene": scene, "border": border, "view": view_kind}


def generic_description(attrs: dict[str, Any], view_kind: str) -> str:
    """A plain description of a photographed vase, without the domain's names.

    ``Reddish-orange clay with dark silhouettes painted on it; a tall jar with a narrow neck
    and two upright handles from neck to shoulder; the picture: a man wrestling a lion. Seen
    from the front.``  The parts come in the order of the domain's captions (clay ~ fabric,
    look ~ technique, silhouette ~ shape, picture ~ decoration), the words are everyday ones.
    """
    parts = description_parts(attrs, view_kind)
    clay = ("pale " if parts["look"] in ("Geometric", "Orientalizing") else "") + parts["clay"]
    text = f"{clay} clay {_LOOKS[parts['look']]}; {parts['silhouette']}"
    if attrs.get("decoration"):
        text += f"; the picture: {scene_words(attrs['decoration'])}"
    return text[:1].upper() + text[1:] + ". " + _VIEW_WORDS[view_kind]


# ══════════════════════════════════════════════════════════════════════════ caption sets
@dataclass(frozen=True)
class CaptionSetConfig:
    """What decides a caption set (its hash names the cache folder)."""

    name: str
    n_vases: int
    seed: int
    image_size: int = IMAGE_SIZE
    views: tuple[tuple[str, float], ...] = CAPTION_VIEWS
    # seeds and sizes of sets whose vases this one must not repeat: ((seed, n_vases), ...)
    exclude: tuple[tuple[int, int], ...] = ()
    # further designs (attribute keys) it must not repeat, e.g. the demo corpus' vases
    exclude_keys: tuple[str, ...] = ()

    def key(self) -> str:
        blob = json.dumps({**asdict(self), "format": SET_FORMAT,
                           "synth_format": synth.FORMAT_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass
class CaptionSet:
    """A caption set on disk (see the module docstring)."""

    folder: Path
    config: CaptionSetConfig
    vases: list[dict[str, Any]]
    skipped: int = 0

    @property
    def records_file(self) -> Path:
        return self.folder / RECORDS_FILE

    @property
    def ground_truth_file(self) -> Path:
        return self.folder / GROUND_TRUTH_FILE

    def images(self) -> list[Path]:
        return [self.folder / v["image"] for v in self.vases]

    def captions(self) -> list[str]:
        return [v["caption"] for v in self.vases]

    def __len__(self) -> int:
        return len(self.vases)


def attribute_key(attrs: dict[str, Any]) -> str:
    """The identity of a vase's design: its seven attributes (the renderer's design key)."""
    return json.dumps({k: attrs.get(k) for k in synth.ATTRIBUTE_KEYS}, sort_keys=True,
                      default=list)


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, random.Random]:
    """Independent streams: attributes, photographs (view + camera seed), vase ids."""
    return (np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2]),
            random.Random(f"vaselib.demo_data/{seed}"))


def sample_vases(seed: int, n: int, exclude: Iterable[str] = (),
                 views: Sequence[tuple[str, float]] = CAPTION_VIEWS
                 ) -> tuple[list[dict[str, Any]], int]:
    """``n`` vases (attributes, id, view, photo seed) from ``seed``, none whose attribute key
    is in ``exclude``; also how many draws were skipped for that reason.  Cheap: nothing is
    rendered, so the keys of any set can be recomputed from its seed."""
    excluded = set(exclude)
    attr_rng, photo_rng, ids = _streams(seed)
    names = [v for v, _ in views]
    weights = np.asarray([w for _, w in views], float)
    out, skipped, seen = [], 0, set()
    while len(out) < n:
        attrs = synth.sample_attributes(attr_rng)
        vid = str(uuid.UUID(int=ids.getrandbits(128), version=4))
        view = names[int(photo_rng.choice(len(names), p=weights / weights.sum()))]
        photo_seed = int(photo_rng.integers(0, 2**63))
        key = attribute_key(attrs)
        if key in excluded or key in seen:
            skipped += 1
            continue
        seen.add(key)
        out.append({"id": vid, "attributes": attrs, "view_kind": view,
                    "photo_seed": photo_seed})
    return out, skipped


def set_keys(seed: int, n: int, views: Sequence[tuple[str, float]] = CAPTION_VIEWS
             ) -> set[str]:
    """The attribute keys of the ``n`` vases a set with ``seed`` holds (for exclusion)."""
    vases, _ = sample_vases(seed, n, views=views)
    return {attribute_key(v["attributes"]) for v in vases}


def photograph(vase: dict[str, Any], size: int):
    """The vase's photograph as a PIL image, through JPEG (quality 92) like the corpus."""
    from PIL import Image

    img = synth.render_vase(vase["attributes"], vase["view_kind"], size,
                            np.random.default_rng(vase["photo_seed"]), "intact")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=synth.GOOD_JPEG_QUALITY)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), buf.getvalue()


def file_name(vase: dict[str, Any]) -> str:
    """``<UUID>_<view number>_ac001001.jpg`` (view number = position in synth.VIEW_KINDS)."""
    return synth.vase_file_name(vase["id"], synth.VIEW_KINDS.index(vase["view_kind"]) + 1)


def record(vase: dict[str, Any]) -> dict[str, Any]:
    """The original's training record for one vase (image path relative to the set folder)."""
    return {"images": [vase["image"]], "caption": vase["caption"],
            "conversations": [{"from": "human", "value": "<image>" + CAPTION_PROMPT},
                              {"from": "gpt", "value": vase["caption"]}],
            "id": vase["id"]}


def _excluded_keys(config: CaptionSetConfig) -> set[str]:
    keys: set[str] = set(config.exclude_keys)
    for seed, n in config.exclude:
        views = PRETRAIN_VIEWS if seed == PRETRAIN_SEED else CAPTION_VIEWS
        keys |= set_keys(seed, n, views)
    return keys


def _write_set(tmp: Path, config: CaptionSetConfig) -> tuple[list[dict[str, Any]], int]:
    vases, skipped = sample_vases(config.seed, config.n_vases, _excluded_keys(config),
                                  config.views)
    (tmp / "images").mkdir(parents=True)
    for v in vases:
        v["caption"] = synth.format_caption(v["attributes"])
        v["file"] = file_name(v)
        v["image"] = f"images/{v['file']}"
        _, jpeg = photograph(v, config.image_size)
        (tmp / v["image"]).write_bytes(jpeg)
    runs.write_json(tmp / RECORDS_FILE, [record(v) for v in vases])
    runs.write_json(tmp / GROUND_TRUTH_FILE,
                    [{"images": [v["file"]], "caption": v["caption"]} for v in vases])
    runs.write_json(tmp / VASES_FILE, vases)
    return vases, skipped


def set_folder(config: CaptionSetConfig) -> Path:
    return runs.data_dir() / "demo-vlm" / f"{config.name}-{config.key()}"


def ensure_caption_set(config: CaptionSetConfig, folder: str | Path | None = None
                       ) -> CaptionSet:
    """The caption set of ``config``, rendered on first use (atomically) and then reused."""
    folder = Path(folder) if folder is not None else set_folder(config)
    marker = folder / SET_FILE
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        if info.get("key") == config.key():
            vases = json.loads((folder / VASES_FILE).read_text(encoding="utf-8"))
            return CaptionSet(folder, config, vases, info.get("skipped", 0))
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        with runs.timer() as t:
            vases, skipped = _write_set(tmp, config)
        runs.write_json(tmp / SET_FILE, {
            "key": config.key(), "config": asdict(config), "vases": len(vases),
            "skipped_as_seen_elsewhere": skipped, "skipped": skipped,
            "seconds": round(t["seconds"], 1)})
        try:
            tmp.rename(folder)
        except OSError:  # another process finished first: use its copy
            if not (folder / SET_FILE).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return CaptionSet(folder, config, vases, skipped)


# ══════════════════════════════════════════════════════════════════════ the demo's sets
DEMO_TRAIN_VASES = 400
DEMO_HELDOUT_VASES = 256
DEMO_PRETRAIN_VASES = 3000     # the base model's (vaselib.vlm.base_model); ~40 s to render


def train_config(n_vases: int = DEMO_TRAIN_VASES, image_size: int = IMAGE_SIZE
                 ) -> CaptionSetConfig:
    return CaptionSetConfig("train", n_vases, TRAIN_SEED, image_size)


def heldout_config(n_vases: int = DEMO_HELDOUT_VASES, image_size: int = IMAGE_SIZE,
                   pretrain_vases: int = DEMO_PRETRAIN_VASES,
                   exclude_keys: Iterable[str] = ()) -> CaptionSetConfig:
    """Held-out vases: none repeats a design of the pretraining set or of ``exclude_keys``
    (the vases stage 05 trains on: the demo corpus')."""
    return CaptionSetConfig("heldout", n_vases, HELDOUT_SEED, image_size,
                            exclude=((PRETRAIN_SEED, pretrain_vases),),
                            exclude_keys=tuple(sorted(set(exclude_keys))))


def train_set(n_vases: int = DEMO_TRAIN_VASES) -> CaptionSet:
    """The demo's training vases (stage 05 / 06 data)."""
    return ensure_caption_set(train_config(n_vases))


def heldout_set(n_vases: int = DEMO_HELDOUT_VASES, exclude_keys: Iterable[str] = ()
                ) -> CaptionSet:
    """The demo's held-out vases (evaluation only), none sharing a design with
    ``exclude_keys`` or the pretraining set."""
    return ensure_caption_set(heldout_config(n_vases, exclude_keys=exclude_keys))


def pretrain_examples(n_vases: int = DEMO_PRETRAIN_VASES, seed: int = PRETRAIN_SEED,
                      image_size: int = IMAGE_SIZE, render: bool = True
                      ) -> list[dict[str, Any]]:
    """The pretraining set in memory: per vase its photograph (PIL, when ``render``), a
    generic prompt and its generic description."""
    vases, _ = sample_vases(seed, n_vases, views=PRETRAIN_VIEWS)
    prompt_rng = random.Random(f"vaselib.demo_data/{seed}/prompts")
    out = []
    for v in vases:
        ex = {"id": v["id"], "view_kind": v["view_kind"], "attributes": v["attributes"],
              "prompt": prompt_rng.choice(GENERIC_PROMPTS),
              "description": generic_description(v["attributes"], v["view_kind"])}
        if render:
            ex["image"] = photograph(v, image_size)[0]
        out.append(ex)
    return out


def generic_texts(n: int = 2000, seed: int = PRETRAIN_SEED) -> list[str]:
    """Generic descriptions and prompts (no rendering): text for the tokenizer."""
    return list(GENERIC_PROMPTS) + [e["description"]
                                    for e in pretrain_examples(n, seed, render=False)]
