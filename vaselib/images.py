"""Finding, opening and placing images safely.

- :func:`discover_images` walks a folder (recursively by default) for image files and
  returns a :class:`Discovery`: the files found, each at its path *as discovered* under the
  folder, and the entries it skipped or could not use, with the reason.  Symlinked files
  are inputs like any other (a dangling one is an input that fails, with its reason);
  symlinked folders are followed, with loop protection (a folder already visited through
  another path is listed as skipped).
- :func:`open_image` decodes one file to 8-bit RGB: EXIF orientation applied, transparency
  composited on white, high bit depths (16-bit scans, 32-bit integer and float images)
  scaled to 8 bits rather than clipped; it raises :class:`ImageLoadError` (with the file
  and the reason) instead of returning junk, and refuses images larger than
  ``max_pixels`` before decoding them (decompression bombs).
- :class:`ImageFileDataset` + :func:`collate_images` feed a DataLoader: decoding happens in
  workers and a file that fails is returned as a failure record, never as a score.
- :func:`place_file` copies, hard-links or symlinks a file into an output tree at its path
  relative to the input folder as discovered, so equal names in different folders, or many
  links to one stored blob, never collide.  Source files are only ever read.
"""
from __future__ import annotations

import filecmp
import os
import shutil
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
LINK_MODES = ("copy", "hardlink", "symlink")
# PIL's own warning limit (about 89.5 million pixels): larger images are refused unless a
# stage's max_image_pixels says otherwise.
DEFAULT_MAX_PIXELS = 89_478_485
_PIL_LIMIT_LOCK = threading.Lock()


class ImageLoadError(Exception):
    """An image file that cannot be decoded; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass
class Discovery:
    """What :func:`discover_images` found under ``root``."""

    root: Path
    files: list[Path]                                   # as discovered (links not resolved)
    skipped: list[dict[str, str]] = field(default_factory=list)   # {"file", "reason"}

    def __iter__(self):
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))


def _hidden(name: str) -> bool:
    return name.startswith(".")


def discover_images(root: str | Path, recursive: bool = True,
                    extensions: Sequence[str] = IMAGE_EXTENSIONS) -> Discovery:
    """Image files under ``root`` in a stable (sorted) order, with what was skipped.

    Raises FileNotFoundError naming the folder when it does not exist.  Hidden files and
    folders (``.ipynb_checkpoints``, vaselib's own staging folders …) are not inputs.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"image folder {root} does not exist; pass an existing folder of images "
            f"({', '.join(extensions)})")
    exts = {e.lower() for e in extensions}
    files: list[Path] = []
    skipped: list[dict[str, str]] = []
    seen_dirs = {os.path.realpath(root)}

    def walk(folder: Path) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            skipped.append({"file": str(folder.relative_to(root)) or ".",
                            "reason": f"cannot list folder ({err.strerror or err})"})
            return
        for entry in entries:
            if _hidden(entry.name):
                continue
            path = folder / entry.name
            rel = str(path.relative_to(root))
            is_link = entry.is_symlink()
            try:
                is_dir = entry.is_dir()           # follows links
            except OSError:
                is_dir = False
            if is_dir:
                if not recursive:
                    continue
                real = os.path.realpath(path)
                if real in seen_dirs:
                    skipped.append({"file": rel, "reason": "symlinked folder already visited "
                                                           "(a link loop or a second link to it)"})
                    continue
                seen_dirs.add(real)
                walk(path)
            elif Path(entry.name).suffix.lower() in exts:
                # a file, a link to a file, or a dangling link: all inputs (failures are
                # reported when the file is opened)
                files.append(path)
            elif is_link and not os.path.exists(path):
                continue                      # a dangling link without an image name

    walk(root)
    return Discovery(root, sorted(files), skipped)


def require_images(root: str | Path, recursive: bool = True) -> Discovery:
    """:func:`discover_images`, but an empty folder is an error naming what is supported."""
    found = discover_images(root, recursive=recursive)
    if not found.files:
        raise FileNotFoundError(f"no images found in {root} (recursive={recursive}); "
                                f"supported: {' '.join(IMAGE_EXTENSIONS)}")
    return found


def check_no_overlap(src: str | Path, out: str | Path) -> None:
    """Refuse an output folder inside the input folder or around it (sources stay untouched)."""
    s, o = Path(src).resolve(), Path(out).resolve()
    if s == o or s in o.parents or o in s.parents:
        raise ValueError(f"output_dir {out} and input_dir {src} overlap; choose an output "
                         f"folder outside the input folder (the source is never written to)")


# ------------------------------------------------------------------------------- decoding
def _scale_to_uint8(arr: np.ndarray, bits: int | None) -> np.ndarray:
    """Integer or float pixels → uint8: by the stated bit depth, else by the value range."""
    a = arr.astype(np.float64)
    if bits is not None:
        a = a * (255.0 / (2 ** bits - 1))
    elif np.issubdtype(arr.dtype, np.floating):
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        if lo >= 0.0 and hi <= 1.0:
            a = a * 255.0                      # a 0..1 float image
        elif hi > lo:
            a = (a - lo) * (255.0 / (hi - lo))
    else:
        hi = float(a.max()) if a.size else 0.0
        if hi > 65535:
            a = a * (255.0 / hi)
        elif hi > 255:
            a = a * (255.0 / 65535.0)          # 16-bit data carried in a 32-bit mode
    return np.clip(np.rint(np.nan_to_num(a)), 0, 255).astype(np.uint8)


def to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL image → 8-bit RGB: transparency on white, high bit depths scaled, not clipped."""
    mode = im.mode
    if mode.startswith("I;16"):
        return Image.fromarray(_scale_to_uint8(np.asarray(im), 16), "L").convert("RGB")
    if mode == "I":
        return Image.fromarray(_scale_to_uint8(np.asarray(im), None), "L").convert("RGB")
    if mode == "F":
        return Image.fromarray(_scale_to_uint8(np.asarray(im), None), "L").convert("RGB")
    if mode == "P" and "transparency" in im.info or mode in ("PA", "LA", "RGBA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "RGB":
        return im
    return im.convert("RGB")      # L, 1, P, CMYK, YCbCr, LAB, HSV


def _open_checked(path: str | Path, max_pixels: int) -> Image.Image:
    """Open lazily (the header only) and refuse an image over ``max_pixels`` before
    decoding it.  PIL's own bomb check is replaced by this one for the call (under a lock;
    the process-wide setting is restored at once)."""
    with _PIL_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            im = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise ImageLoadError(path, f"image too large: {w}×{h} = {w * h:,} pixels > "
                                   f"max_image_pixels {max_pixels:,} (a decompression bomb, or "
                                   f"a huge scan: raise max_image_pixels to read it)")
    return im


def open_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS,
               jpeg_draft: int = 0) -> Image.Image:
    """Decode ``path`` to 8-bit RGB (EXIF orientation applied) or raise ImageLoadError.

    ``jpeg_draft`` > 0: a JPEG is decoded at the smallest of libjpeg's 1/2, 1/4, 1/8 scales
    that keeps both sides ≥ ``jpeg_draft`` pixels (PIL's ``draft``): faster, but the pixels
    differ from a full decode resized down."""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        raise ImageLoadError(path, f"dangling symlink (points to {os.readlink(p)}, which does "
                                   f"not exist)")
    try:
        with _open_checked(path, max_pixels) as im:
            if jpeg_draft and im.format == "JPEG":
                im.draft(None, (jpeg_draft, jpeg_draft))
            with warnings.catch_warnings():   # checked above against max_pixels
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im.load()
            im = ImageOps.exif_transpose(im)
            return to_rgb(im)
    except ImageLoadError:
        raise
    except FileNotFoundError:
        raise ImageLoadError(path, "file not found") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied (cannot read the file)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageLoadError(path, f"image too large: {err}") from None
    except (OSError, ValueError, SyntaxError, TypeError) as err:
        raise ImageLoadError(path, f"cannot decode image ({type(err).__name__}: {err})") from None


def unreadable_reason(path: str | Path) -> str:
    """Why the bytes of ``path`` cannot be read."""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        return f"dangling symlink (points to {os.readlink(p)}, which does not exist)"
    if not p.exists():
        return "file not found"
    if not os.access(p, os.R_OK):
        return "permission denied (cannot read the file)"
    return "cannot read file"


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

    def __init__(self, paths: Sequence[str | Path], transform: Callable[[Image.Image], Any],
                 max_pixels: int = DEFAULT_MAX_PIXELS):
        self.paths = [Path(p) for p in paths]
        self.transform = transform
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            # a transform may ask for JPEG draft decoding (its ``jpeg_draft`` size)
            image = open_image(self.paths[index], self.max_pixels,
                               getattr(self.transform, "jpeg_draft", 0))
            return self.transform(image), index, None
        except ImageLoadError as err:
            return None, index, err.reason
        except Exception as err:  # a transform failing on a strange image
            return None, index, f"cannot preprocess image ({type(err).__name__}: {err})"


def preprocessed_shape(transform) -> tuple[int, ...]:
    """What ``transform`` makes of an image (fixed for CLIP and the classifier)."""
    return tuple(np.asarray(transform(Image.new("RGB", (64, 48), (128, 128, 128)))).shape)


def single_threaded(_worker_id: int = 0) -> None:
    """A DataLoader ``worker_init_fn``: decode with one thread, leave the cores to the model."""
    import torch

    torch.set_num_threads(1)


def collate_images(batch):
    """Stack the good items; return ``(tensor|None, indices, [(index, reason), ...])``."""
    import torch

    good = [(t, i) for t, i, err in batch if err is None]
    failures = [(i, err) for t, i, err in batch if err is not None]
    tensor = torch.stack([t for t, _ in good]) if good else None
    return tensor, [i for _, i in good], failures


# ------------------------------------------------------------------------------- placing
def same_file_content(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def place_file(src: str | Path, src_root: str | Path, dst_root: str | Path,
               mode: str = "copy") -> Path:
    """Put ``src`` under ``dst_root`` at its path relative to ``src_root`` *as discovered*.

    A symlinked input keeps its own name and folder (never its target's).  ``mode`` is
    ``copy`` (default; copies the content), ``hardlink`` (falls back to a copy across file
    systems) or ``symlink`` (a link to the source's final target).  Idempotent: an identical
    file already there is left alone; a different one is replaced.  ``src`` is never
    changed.
    """
    if mode not in LINK_MODES:
        raise ValueError(f"link mode {mode!r} is not one of {LINK_MODES}")
    src, src_root = Path(src), Path(src_root)
    try:
        rel = src.relative_to(src_root)
    except ValueError:
        try:
            rel = src.resolve().relative_to(src_root.resolve())
        except ValueError:
            rel = Path(src.name)
    dst = Path(dst_root) / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    target = src.resolve()
    if dst.is_symlink():
        if mode == "symlink" and Path(os.readlink(dst)) == target:
            return dst
        dst.unlink()
    elif dst.exists():
        if mode == "hardlink" and dst.samefile(target):
            return dst
        if mode == "copy" and same_file_content(target, dst):
            return dst
        dst.unlink()
    if mode == "copy":
        shutil.copy2(target, dst)
    elif mode == "hardlink":
        try:
            os.link(target, dst)
        except OSError:  # across file systems: fall back to a copy, never a move
            shutil.copy2(target, dst)
    else:
        dst.symlink_to(target)
    return dst


def count_files(folder: str | Path) -> int:
    """Files (and links) under ``folder``, recursively, hidden ones excluded."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not _hidden(d)]
        n += sum(1 for f in filenames if not _hidden(f))
    return n
