"""The offline demo's inputs, in one place.

Stages take every input explicitly (:mod:`vaselib.stages`).  When a notebook runs on its
own with an input left ``None`` — a fresh checkout, default parameters — this module fills
it in, and nothing else does:

- generated data: the embedded synthetic corpus (:mod:`vaselib.synth`, generated into
  ``data/demo-corpus`` on first use) and folders derived from its ground truth that stand in
  for a perfect earlier stage (good photos for 03, good photos of intact vases for 04);
- demo models built here (the tiny offline Qwen2.5-VL for 05);
- outputs of earlier stages: the stage is run once with its demo parameters (its schema's
  defaults) into ``runs/standalone/<stage>``, and reused while its output is complete.

In a full run (``vase demo``) the pipeline gives each stage the previous stage's real
output instead (:mod:`vaselib.pipeline`), and only the first inputs come from here.
:func:`fill_inputs` returns the filled parameters and one note per input it filled, so
every report says where its inputs came from.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from vaselib import outputs, runs, stages
from vaselib.images import place_file

STANDALONE = "runs/standalone"


# ----------------------------------------------------------------------------- data
# Vases of the demo corpus: enough that stage 04's best views (one per vase that survives
# 02 and 03) can teach stage 05's captioner; 60 were too few to learn from.
CORPUS_VASES = 400


def corpus_config():
    from vaselib import synth

    return synth.CorpusConfig(n_vases=CORPUS_VASES)


def corpus():
    """The demo corpus (generated into ``data/demo-corpus`` on first use, then loaded)."""
    from vaselib import synth

    return synth.ensure_corpus(runs.demo_corpus_dir(), corpus_config())


def labelled_dir() -> Path:
    """The hand-labelled ``0/`` ``1/`` training folder stage 01 learns from."""
    return corpus().labelled_dir


def raw_dir() -> Path:
    """The unlabelled raw photos stage 02 sorts."""
    return corpus().raw_dir


def _derived(name: str, keep: Callable[[dict], bool]) -> Path:
    """Hard-link the raw images whose record satisfies ``keep`` into a derived folder."""
    from filelock import FileLock

    c = corpus()
    out = runs.data_dir() / "demo-derived" / name
    marker = out / ".complete"
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not marker.is_file():
            for rec in c.images:
                if keep(rec):
                    place_file(c.raw_dir / rec["file"], c.raw_dir, out, mode="hardlink")
            marker.write_text("ok\n")
    return out


def good_photos_dir() -> Path:
    """Raw photos of good photographic quality (what a perfect stage 02 puts in ``1/``)."""
    return _derived("good_photos", lambda r: r["quality"] == 1)


def intact_photos_dir() -> Path:
    """Good photos of intact vases (what a perfect stage 03 accepts)."""
    return _derived("intact_photos", lambda r: r["quality"] == 1 and r["condition"] == "intact")


def vlm_base_model() -> Path:
    """The demo's base Qwen2.5-VL: small, pretrained here once on generic descriptions of
    other synthetic vases (it sees, but has never read the domain's captions)."""
    from vaselib.vlm import base_model

    return base_model.ensure_base_model(progress=True)


def corpus_captions() -> Path:
    """The demo corpus' ground truth per vase (``vases.json``: captions and attributes)."""
    return corpus().root / "vases.json"


def heldout_set():
    """The demo's held-out vases for stage 08: rendered from their own seed, none sharing a
    design with a vase of the demo corpus (what stage 05 trains on) or of the base model's
    pretraining set."""
    from vaselib.vlm import demo_data

    keys = {demo_data.attribute_key(v["attributes"]) for v in corpus().vases}
    return demo_data.heldout_set(exclude_keys=keys)


# ----------------------------------------------------------------------------- stages
def standalone_dir(stage: str) -> Path:
    return runs.resolve(f"{STANDALONE}/{stages.get(stage).name}")


def ensure_standalone(stage: str, *, progress: bool = True) -> Path:
    """``runs/standalone/<stage>``, run there once with the demo parameters if it has no
    complete output yet.  The stage's own ``None`` inputs are filled by :func:`fill_inputs`."""
    from filelock import FileLock

    st = stages.get(stage)
    folder = standalone_dir(st.name)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if _complete(folder, st.name):
            return folder
        p = st.schema(output_dir=runs.display_path(folder))
        p, _ = fill_inputs(st.name, p, progress=progress)
        st.run(p, progress=progress)
    return folder


def _complete(folder: Path, stage: str) -> bool:
    manifest = outputs.read_manifest(folder)
    return bool(manifest and manifest.get("stage") == stage and manifest.get("complete")
                and (folder / runs.SUMMARY_FILE).is_file())


def _from_stage(stage: str, key: str, progress: bool) -> Path:
    folder = ensure_standalone(stage, progress=progress)
    return outputs.recorded_output(folder, key, stage, param="(demo)")


# ----------------------------------------------------------------------------- filling
def _fill_01(p, progress):
    return {"data_dir": ("the demo corpus' labelled photos", labelled_dir)}


def _fill_02(p, progress):
    return {
        "model_path": ("the standalone demo checkpoint of stage 01",
                       lambda: _from_stage("01_resnet_train", "checkpoint", progress)),
        "input_dir": ("the demo corpus' raw photos (synthetic renders)", raw_dir),
    }


def _fill_03(p, progress):
    return {"input_dir": ("the demo corpus' good photos (what a perfect stage 02 keeps)",
                          good_photos_dir)}


def _fill_04(p, progress):
    return {"input_dir": ("the demo corpus' good photos of intact vases (what a perfect stage "
                          "03 accepts)", intact_photos_dir)}


def _fill_05(p, progress):
    out = {"model": ("vaselib's small pretrained Qwen2.5-VL (it has seen synthetic vases "
                     "described in everyday words, never the domain's captions)",
                     vlm_base_model)}
    if p.dataset is None and p.images_dir is None:
        out["images_dir"] = ("the best views stage 04 chose from the demo corpus (its "
                             "standalone demo run)",
                             lambda: _from_stage("04_best_view", "best_views_dir", progress))
    if p.dataset is None and (p.images_dir is None or _shows_demo_vases(p.images_dir)):
        out["captions"] = ("the demo corpus' captions (vases.json)", corpus_captions)
    return out


def _shows_demo_vases(folder) -> bool:
    """True when ``folder`` holds photos of the demo corpus' vases (a full run's stage 04
    output); a user's own folder gets no demo captions."""
    from vaselib import filenames
    from vaselib.images import discover_images

    if not (runs.demo_corpus_dir() / "corpus.json").is_file():
        return False
    try:
        files = discover_images(runs.resolve(folder)).files[:20]
    except FileNotFoundError:
        return False
    rx = filenames.compile_pattern(filenames.DEFAULT_VIEW_PATTERN)
    ids = {str(v["id"]).lower() for v in corpus().vases}
    names = [filenames.parse_view_name(f.name, rx) for f in files]
    return bool(names) and all(n is not None and n.vase_id.lower() in ids for n in names)


def _fill_06(p, progress):
    if p.model is not None or p.sft_dir is not None:
        return {}
    return {"sft_dir": ("the standalone demo run of stage 05",
                        lambda: ensure_standalone("05_sft", progress=progress))}


def _fill_07(p, progress):
    out = {}
    if p.adapters is None and p.sft_dir is None:
        out["sft_dir"] = ("the standalone demo run of stage 05",
                          lambda: ensure_standalone("05_sft", progress=progress))
        out["grpo_dir"] = ("the standalone demo run of stage 06",
                           lambda: ensure_standalone("06_grpo", progress=progress))
    return out


def _fill_08(p, progress):
    out = {"ground_truth": ("the demo's held-out vases (rendered from their own seed, no "
                            "design shared with a training or pretraining vase)",
                            lambda: heldout_set().records_file)}
    if p.models is None and p.generated is None:
        out["merge_dir"] = ("the standalone demo run of stage 07 (base, SFT and GRPO models)",
                            lambda: ensure_standalone("07_merge", progress=progress))
    return out


_FILLERS: dict[str, Callable[[Any, bool], dict[str, tuple[str, Callable[[], Path]]]]] = {
    "01_resnet_train": _fill_01, "02_classify": _fill_02, "03_clip_quality": _fill_03,
    "04_best_view": _fill_04, "05_sft": _fill_05, "06_grpo": _fill_06, "07_merge": _fill_07,
    "08_evaluate": _fill_08,
}


def fillable_inputs(stage: str, p) -> set[str]:
    """The parameters :func:`fill_inputs` fills in ``p``: the demo inputs left ``None``."""
    filler = _FILLERS.get(stages.get(stage).name)
    if filler is None:
        return set()
    return {param for param in filler(p, False) if getattr(p, param) is None}


def fill_inputs(stage: str, p, *, progress: bool = True) -> tuple[Any, list[str]]:
    """``(params, notes)``: ``p`` with each demo-fillable input that is ``None`` set to the
    demo's (materialised on first use), and a note per input filled."""
    name = stages.get(stage).name
    filler = _FILLERS.get(name)
    if filler is None:
        return p, []
    updates, notes = {}, []
    for param, (what, make) in filler(p, progress).items():
        if getattr(p, param) is None:
            updates[param] = runs.display_path(make())
            notes.append(f"{param}: {what} ({updates[param]})")
    return (p.model_copy(update=updates) if updates else p), notes
