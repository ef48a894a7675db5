"""A corpus of broken and unusual image files, the way scraped museum collections come.

``make_bad_corpus(root)`` writes it and returns what a stage must report: the files that are
inputs, the ones that must fail (with a word their reason must contain) and the ones that
must be skipped.  ``snapshot(root)`` records every file's sha256, size, mtime and mode so a
test can prove the source tree was not touched.
"""
from __future__ import annotations

import hashlib
import io
import os
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


def vid(i: int) -> str:
    return str(uuid.UUID(int=77_000 + i)).upper()


def name(i: int, view: int = 1, ext: str = "jpg") -> str:
    return f"{vid(i)}_{view}_ac001001.{ext}"


def _rgb(seed: int, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


def png_bomb(width: int, height: int) -> bytes:
    """A valid, tiny PNG of width × height black grey pixels (compresses to kilobytes)."""
    raw = zlib.compress(b"".join(b"\x00" + bytes(width) for _ in range(height)), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@dataclass
class BadCorpus:
    root: Path
    good: list[str] = field(default_factory=list)           # relative paths that must score
    failing: dict[str, str] = field(default_factory=dict)   # relative path -> reason word
    skipped: dict[str, str] = field(default_factory=dict)   # relative path -> reason word

    @property
    def inputs(self) -> int:
        return len(self.good) + len(self.failing)


def make_bad_corpus(root: Path) -> BadCorpus:
    c = BadCorpus(Path(root))
    root = c.root
    root.mkdir(parents=True, exist_ok=True)

    def good(rel: str, img: Image.Image, **save) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, **save)
        c.good.append(rel)

    def failing(rel: str, data: bytes, why: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        c.failing[rel] = why

    good(name(0), Image.fromarray(_rgb(0)))                                      # plain RGB
    good(name(0, 2), Image.fromarray(_rgb(1)))
    good("cmyk/" + name(1), Image.fromarray(_rgb(2)).convert("CMYK"))
    good("palette/" + name(2, 1, "png"), Image.fromarray(_rgb(3)).convert("P"))
    pal = Image.fromarray(_rgb(4)).convert("P")
    pal.info["transparency"] = 0
    good("palette/" + name(2, 2, "png"), pal, transparency=0)
    grey16 = (np.linspace(0, 65535, 32 * 32).reshape(32, 32)).astype(np.uint16)
    good("scans/" + name(3, 1, "png"), Image.fromarray(grey16))                  # 16-bit scan
    good("scans/" + name(3, 2, "tif"), Image.fromarray(grey16))
    exif = Image.fromarray(_rgb(5, 40)[:, :20])
    ex = exif.getexif()
    ex[0x0112] = 6                                                               # rotated 90°
    good("exif/" + name(4), exif, exif=ex.tobytes())
    good("ünïcode/façade é/" + name(5), Image.fromarray(_rgb(6)))                 # unicode
    good("a/" + name(6), Image.fromarray(_rgb(7)))                              # equal names
    good("b/" + name(6), Image.fromarray(_rgb(8)))
    good("d1/d2/d3/d4/d5/d6/" + name(7), Image.fromarray(_rgb(9)))                # deep
    good(name(8, 1, "webp"), Image.fromarray(_rgb(10)), format="WEBP")
    la = Image.fromarray(_rgb(11)).convert("LA")
    good(name(8, 2, "png"), la)

    failing(name(9), b"", "cannot decode")                                        # zero bytes
    buf = io.BytesIO()
    Image.fromarray(_rgb(12, 64)).save(buf, "JPEG")
    failing(name(10), buf.getvalue()[: len(buf.getvalue()) // 3], "decode")      # truncated
    failing(name(11), b"<html>not an image</html>", "cannot decode")             # fake .jpg
    failing("bombs/" + name(12, 1, "png"), png_bomb(12_000, 8_000), "too large")  # 96 MP
    # symlinks: five names linked to one stored blob (DVC / git-annex style), one dangling
    blobs = root.parent / f"{root.name}-blobs"
    blobs.mkdir(exist_ok=True)
    blob = blobs / hashlib.sha256(b"blob").hexdigest()
    Image.fromarray(_rgb(13)).save(blob, format="PNG")
    for k in range(5):
        link = root / "linked" / f"vase{k}" / name(20 + k, 1, "png")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(blob)
        c.good.append(str(link.relative_to(root)))
    dangling = root / "linked" / name(30, 1, "png")
    dangling.symlink_to(blobs / "gone")
    c.failing[str(dangling.relative_to(root))] = "dangling symlink"
    # a symlinked folder (followed) and a loop back to the root (skipped)
    real = root.parent / f"{root.name}-elsewhere"
    real.mkdir(exist_ok=True)
    Image.fromarray(_rgb(14)).save(real / name(31))
    (root / "elsewhere").symlink_to(real, target_is_directory=True)
    c.good.append("elsewhere/" + name(31))
    (root / "linked" / "loop").symlink_to(root, target_is_directory=True)
    c.skipped["linked/loop"] = "already visited"
    (root / "notes.txt").write_text("not an image")                              # not an input
    (root / ".hidden.jpg").write_bytes(b"hidden")                                # not an input
    return c


def snapshot(root: Path) -> dict[str, tuple]:
    """sha256, size, mtime and mode of every file (and link) under ``root``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for f in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / f
            st = os.lstat(p)
            digest = (hashlib.sha256(p.read_bytes()).hexdigest()
                      if p.is_file() and not p.is_symlink() else os.readlink(p))
            out[str(p.relative_to(root))] = (digest, st.st_size, st.st_mtime_ns, st.st_mode)
    return out
