"""Finding, opening and placing images safely.

- :func:`discover_images` walks a folder (recursively by default) for image files.
- :func:`open_image` decodes one file to RGB, applying EXIF orientation, and raises
  :class:`ImageLoadError` (with the file and the reason) instead of returning junk.
- :class:`ImageFileDataset` + :func:`collate_images` feed a DataLoader: decoding happens in
  workers and a file that fails is returned as a failure record, never as a score.
- :func:`place_file` copies, hard-links or symlinks a file into an output tree keeping its
  path relative to the source root, so equal names in different folders never collide.
  Source files are only ever read.
"""
from __future__ import annotations

import filecmp
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from PIL import Image, ImageOps

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
LINK_MODES = ("copy", "hardlink", "symlink")

# Refuse decompression bombs loudly but allow large scans of museum objects.
Image.MAX_IMAGE_PIXELS = 20_000 * 20_000


class ImageLoadError(Exception):
    """An image file that cannot be decoded; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def discover_images(root: str | Path, recursive: bool = True,
                    extensions: Sequence[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """Image files under ``root`` in a stable (sorted) order.

    Raises FileNotFoundError naming the folder when it does not exist.  Hidden files and
    folders (``.ipynb_checkpoints``…) are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"image folder {root} does not exist; pass an existing folder of images "
            f"({', '.join(extensions)})")
    exts = {e.lower() for e in extensions}
    pattern = root.rglob("*") if recursive else root.glob("*")
    found = [p for p in pattern
             if p.is_file() and p.suffix.lower() in exts
             and not any(part.startswith(".") for part in p.relative_to(root).parts)]
    return sorted(found)


def require_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """:func:`discover_images`, but an empty folder is an error naming what is supported."""
    paths = discover_images(root, recursive=recursive)
    if not paths:
        raise FileNotFoundError(f"no images found in {root} (recursive={recursive}); "
                                f"supported: {' '.join(IMAGE_EXTENSIONS)}")
    return paths


def check_no_overlap(src: str | Path, out: str | Path) -> None:
    """Refuse an output folder inside the input folder or around it (sources stay untouched)."""
    s, o = Path(src).resolve(), Path(out).resolve()
    if s == o or s in o.parents or o in s.parents:
        raise ValueError(f"output_dir {out} and input_dir {src} overlap; choose an output "
                         f"folder outside the input folder (the source is never written to)")


def open_image(path: str | Path) -> Image.Image:
    """Decode ``path`` to an RGB image (EXIF orientation applied) or raise ImageLoadError."""
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                background = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(background, im)
            return im.convert("RGB")
    except FileNotFoundError:
        raise ImageLoadError(path, "file not found") from None
    except Image.DecompressionBombError as err:
        raise ImageLoadError(path, f"image too large: {err}") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageLoadError(path, f"cannot decode image ({type(err).__name__}: {err})") from None


@dataclass
class Failure:
    """A file a stage could not use, and why."""
    file: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "reason": self.reason}


class ImageFileDataset:
    """A map-style dataset over image files: item ``i`` is ``(tensor_or_None, i, error)``.

    ``transform`` turns a PIL image into a tensor.  Decoding errors are caught and returned
    so that one corrupt file never stops a batch and is always reported.
    """

    def __init__(self, paths: Sequence[str | Path], transform: Callable[[Image.Image], Any]):
        self.paths = [Path(p) for p in paths]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            return self.transform(open_image(self.paths[index])), index, None
        except ImageLoadError as err:
            return None, index, err.reason
        except Exception as err:  # a transform failing on a strange image
            return None, index, f"cannot preprocess image ({type(err).__name__}: {err})"


def collate_images(batch):
    """Stack the good items; return ``(tensor|None, indices, [(index, reason), ...])``."""
    import torch

    good = [(t, i) for t, i, err in batch if err is None]
    failures = [(i, err) for t, i, err in batch if err is not None]
    tensor = torch.stack([t for t, _ in good]) if good else None
    return tensor, [i for _, i in good], failures


def same_file_content(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def place_file(src: str | Path, src_root: str | Path, dst_root: str | Path,
               mode: str = "copy") -> Path:
    """Put ``src`` under ``dst_root`` at its path relative to ``src_root``.

    ``mode`` is ``copy`` (default), ``hardlink`` or ``symlink``.  Idempotent: an identical
    file already there is left alone; a different one is replaced.  ``src`` is never changed.
    """
    if mode not in LINK_MODES:
        raise ValueError(f"link mode {mode!r} is not one of {LINK_MODES}")
    src, src_root = Path(src), Path(src_root)
    try:
        rel = src.resolve().relative_to(src_root.resolve())
    except ValueError:
        rel = Path(src.name)
    dst = Path(dst_root) / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink():
        if mode == "symlink" and Path(os.readlink(dst)) == src.resolve():
            return dst
        dst.unlink()
    elif dst.exists():
        if mode == "hardlink" and dst.samefile(src):
            return dst
        if mode == "copy" and same_file_content(src, dst):
            return dst
        dst.unlink()
    if mode == "copy":
        shutil.copy2(src, dst)
    elif mode == "hardlink":
        try:
            os.link(src, dst)
        except OSError:  # across file systems: fall back to a copy, never a move
            shutil.copy2(src, dst)
    else:
        dst.symlink_to(src.resolve())
    return dst


def clear_outputs(folder: str | Path, keep: Sequence[str] = ()) -> None:
    """Remove a stage's own output sub-folder before rewriting it (never a source folder)."""
    folder = Path(folder)
    if folder.is_dir() and folder.name not in keep:
        shutil.rmtree(folder)
