"""The offline demo's inputs, materialised on first use.

A notebook run on its own, with its default parameters, takes its inputs from here: the
embedded synthetic corpus (:mod:`vaselib.synth`) and folders derived from its ground truth
that stand in for an earlier stage's output.  In a full run (``vase demo``) each stage is
given the previous stage's real output instead.
"""
from __future__ import annotations

from pathlib import Path

from vaselib import runs
from vaselib.images import place_file


def corpus():
    """The demo corpus (generated into ``data/demo-corpus`` on first use, then loaded)."""
    from vaselib import synth

    return synth.ensure_corpus(runs.demo_corpus_dir())


def labelled_dir() -> Path:
    """The hand-labelled ``0/`` ``1/`` training folder stage 01 learns from."""
    return corpus().labelled_dir


def raw_dir() -> Path:
    """The unlabelled raw photos stage 02 sorts."""
    return corpus().raw_dir


def _derived(name: str, keep) -> Path:
    """Hard-link the raw images whose record satisfies ``keep`` into a derived folder."""
    c = corpus()
    out = runs.demo_corpus_dir().parent / "demo-derived" / name
    marker = out / ".complete"
    if marker.is_file():
        return out
    for rec in c.images:
        if keep(rec):
            place_file(c.raw_dir / rec["file"], c.raw_dir, out, mode="hardlink")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("ok\n")
    return out


def good_photos_dir() -> Path:
    """Raw photos of good photographic quality (what a perfect stage 02 puts in ``1/``)."""
    return _derived("good_photos", lambda r: r["quality"] == 1)


def intact_photos_dir() -> Path:
    """Good photos of intact vases (what a perfect stage 03 accepts)."""
    return _derived("intact_photos", lambda r: r["quality"] == 1 and r["condition"] == "intact")
