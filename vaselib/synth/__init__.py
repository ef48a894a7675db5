"""The embedded synthetic corpus: procedurally rendered photographs of ancient Greek vases.

Nothing can be downloaded in the offline demo, so the pipeline runs on vases this module
generates, deterministically from a seed.  Each vase has ground-truth attributes (fabric,
technique, shape, date, decoration, attribution, provenance) and a caption in the
VaseVQA-3D style; it is photographed from several views (front, three-quarter, side, back,
top, bottom), some vases broken (``condition = "fragment"``) and some photographs degraded
(blur, noise, low resolution, JPEG artefacts, sketches, shards, bad exposure).

Rendering: every vase is a surface of revolution of a real shape's profile (plus handles as
tubes), splatted into a z-buffer with numpy from any azimuth and elevation, shaded with a
Lambert + Blinn-Phong model (the black gloss shines), and textured with bands of ornament
and a figured frieze or panels drawn with PIL in the colours of its technique.

Caption format (see :func:`format_caption`)::

    <Fabric> <technique> <shape>, c. <start>–<end> BCE, depicting <decoration>; <provenance>.
    [Attributed to <painter>.]

Modules, one job each: :mod:`~vaselib.synth.attributes` (ground truth),
:mod:`~vaselib.synth.captions`, :mod:`~vaselib.synth.shapes` and
:mod:`~vaselib.synth.geometry` (profiles, handles), :mod:`~vaselib.synth.palette`,
:mod:`~vaselib.synth.ornaments`, :mod:`~vaselib.synth.figures`, :mod:`~vaselib.synth.scenes`,
:mod:`~vaselib.synth.decoration` (plans), :mod:`~vaselib.synth.texture`,
:mod:`~vaselib.synth.render`, :mod:`~vaselib.synth.photograph` (and broken vases),
:mod:`~vaselib.synth.degrade`, :mod:`~vaselib.synth.corpus` (on disk).

Public API (re-exported here): :class:`CorpusConfig`, :class:`Corpus`,
:func:`generate_corpus`, :func:`load_corpus`, :func:`ensure_corpus`, :func:`render_vase`,
:func:`degrade`, :func:`format_caption`, :func:`format_date`, :func:`sample_attributes`,
:func:`vase_file_name` and the constants below.
"""
from __future__ import annotations

from vaselib.synth.attributes import sample_attributes
from vaselib.synth.captions import format_caption, format_date
from vaselib.synth.common import (ATTRIBUTE_KEYS, CONDITIONS, DEFAULT_SEED, DEGRADATIONS,
                                  FILE_NAME_RE, FORMAT_VERSION, GOOD_JPEG_QUALITY,
                                  GOOD_VIEW_KINDS, VIEW_KINDS)
from vaselib.synth.corpus import (Corpus, CorpusConfig, ensure_corpus, generate_corpus,
                                  load_corpus, vase_file_name)
from vaselib.synth.degrade import degrade
from vaselib.synth.photograph import render_vase

__all__ = [
    "DEFAULT_SEED", "FORMAT_VERSION", "VIEW_KINDS", "GOOD_VIEW_KINDS", "DEGRADATIONS",
    "CONDITIONS", "FILE_NAME_RE", "GOOD_JPEG_QUALITY", "ATTRIBUTE_KEYS", "CorpusConfig",
    "Corpus", "generate_corpus", "load_corpus", "ensure_corpus", "render_vase", "degrade",
    "format_caption", "format_date", "sample_attributes", "vase_file_name",
]
