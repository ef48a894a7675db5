"""Finding, opening and placing images; choosing devices."""
from __future__ import annotations

import os

import pytest
import torch
from PIL import Image

from vaselib.devices import DeviceError, resolve_device
from vaselib.images import (ImageFileDataset, ImageLoadError, collate_images, discover_images,
                            open_image, place_file)


def _img(path, color=(200, 100, 50), mode="RGB", size=(8, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path


def test_discover_is_recursive_sorted_and_skips_hidden(tmp_path):
    _img(tmp_path / "b.jpg")
    _img(tmp_path / "sub" / "a.PNG")
    _img(tmp_path / ".ipynb_checkpoints" / "c.jpg")
    (tmp_path / "notes.txt").write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover_images(tmp_path)]
    assert found == ["b.jpg", "sub/a.PNG"]
    assert [p.name for p in discover_images(tmp_path, recursive=False)] == ["b.jpg"]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        discover_images(tmp_path / "nowhere")


def test_open_image_converts_modes_and_applies_exif_orientation(tmp_path):
    rgba = open_image(_img(tmp_path / "a.png", (10, 20, 30, 0), "RGBA"))
    assert rgba.mode == "RGB" and rgba.getpixel((0, 0)) == (255, 255, 255)  # on white
    assert open_image(_img(tmp_path / "g.png", 128, "L")).mode == "RGB"
    im = Image.new("RGB", (8, 4))
    exif = im.getexif()
    exif[0x0112] = 6  # rotated 90°: width and height swap when applied
    im.save(tmp_path / "rot.jpg", exif=exif)
    assert open_image(tmp_path / "rot.jpg").size == (4, 8)


def test_open_image_reports_corrupt_and_truncated_files(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    with pytest.raises(ImageLoadError) as err:
        open_image(tmp_path / "bad.jpg")
    assert err.value.path.endswith("bad.jpg") and "decode" in err.value.reason
    good = _img(tmp_path / "t.jpg", size=(64, 64))
    (tmp_path / "trunc.jpg").write_bytes(good.read_bytes()[:200])
    with pytest.raises(ImageLoadError):
        open_image(tmp_path / "trunc.jpg")


def test_dataset_returns_failures_instead_of_raising(tmp_path):
    paths = [_img(tmp_path / "a.png"), tmp_path / "missing.png", _img(tmp_path / "b.png")]
    ds = ImageFileDataset(paths, lambda im: torch.zeros(3, 2, 2))
    tensor, idx, failures = collate_images([ds[i] for i in range(3)])
    assert tensor.shape == (2, 3, 2, 2) and idx == [0, 2]
    assert failures == [(1, "file not found")]


@pytest.mark.parametrize("mode", ["copy", "hardlink", "symlink"])
def test_place_file_keeps_relative_paths_and_is_idempotent(tmp_path, mode):
    src_root = tmp_path / "src"
    a = _img(src_root / "x" / "same.png", (1, 2, 3))
    b = _img(src_root / "y" / "same.png", (4, 5, 6))
    before = (a.read_bytes(), b.read_bytes(), os.stat(a).st_mtime_ns)
    out = tmp_path / "out"
    pa = place_file(a, src_root, out, mode)
    pb = place_file(b, src_root, out, mode)
    assert pa == out / "x" / "same.png" and pb == out / "y" / "same.png"
    assert open_image(pa).getpixel((0, 0)) == (1, 2, 3)
    assert open_image(pb).getpixel((0, 0)) == (4, 5, 6)
    assert place_file(a, src_root, out, mode) == pa  # second time: nothing changes
    assert (a.read_bytes(), b.read_bytes(), os.stat(a).st_mtime_ns) == before
    with pytest.raises(ValueError, match="link mode"):
        place_file(a, src_root, out, "move")


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(DeviceError, match="not one of"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda:1")


def test_require_images_names_the_empty_folder_and_overlap_is_refused(tmp_path):
    from vaselib.images import check_no_overlap, require_images

    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no images found in .*empty.*supported: .png"):
        require_images(tmp_path / "empty")
    with pytest.raises(ValueError, match="overlap"):
        check_no_overlap(tmp_path, tmp_path / "out")
    check_no_overlap(tmp_path / "a", tmp_path / "b")  # siblings are fine
