"""The threshold widgets of notebooks 02 and 03, working in JupyterLab in headless Chromium.

Each test copies its notebook into a temporary JupyterLab root with small parameters (03: a
random-weight micro CLIP over 30 generated photos; 02: a checkpoint trained here in seconds),
runs all cells from the Run menu, then moves the threshold slider as a user would (typing into
its readout, Home/End on its handle) and checks that the counts and the borderline gallery follow
exactly what the stage's own rule gives for the per-photo scores the run wrote to its report.

Needs selenium, JupyterLab and Debian's chromium + chromium-driver (``make test`` installs
them); skips with a message saying what to install otherwise.
"""
from __future__ import annotations

import json
import re

import browser_lab as bl
import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

WIDGET = f"{bl.NOTEBOOK} .vaselib-threshold"
COUNTS = f"{WIDGET} .vaselib-threshold-counts"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server over a temporary root, and headless Chromium; both end afterwards."""
    chromium_path, driver_path = bl.require_browser_tools()
    root = tmp_path_factory.mktemp("lab")
    server = bl.Lab(root)
    driver = None
    try:
        driver = bl.chromium(chromium_path, driver_path, tmp_path_factory.mktemp("chromium"))
        yield server, driver
    finally:
        if driver is not None:
            driver.quit()
        server.stop()


@pytest.fixture
def session(lab):
    """The shared server and browser; the test's kernel is shut down after it."""
    server, driver = lab
    yield server, driver
    try:
        bl.shutdown_kernels(server)
    except OSError:
        pass  # the server is stopped at the end of the module anyway


def _choose_threshold(values, lo_count: int, hi_count: int, decimals: int, count) -> str:
    """A threshold written with ``decimals`` decimals whose count lies strictly between
    ``hi_count`` and ``lo_count``, as near the middle of ``values`` as possible."""
    v = np.unique(np.asarray(values, dtype=float))
    middle = len(v) / 2
    candidates = []
    for i in range(len(v) - 1):
        text = f"{(v[i] + v[i + 1]) / 2:.{decimals}f}"
        n = count(float(text))
        if hi_count < n < lo_count:
            candidates.append((abs(i - middle), text))
    assert candidates, f"no {decimals}-decimal threshold splits the scores {v}"
    return min(candidates)[1]


# -- stage 03 ----------------------------------------------------------------------------------
def _photos(folder, n=30, size=40):
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(
            folder / f"photo_{i:02d}.jpg")
    return folder


def _counts_03(text: str) -> tuple[int, int, str]:
    m = re.search(r"accepted (\d+) · rejected (\d+) .* -p threshold (-?\d+\.\d{3})", text)
    assert m, f"unexpected counts line: {text!r}"
    return int(m[1]), int(m[2]), m[3]


def _captions(driver) -> tuple[list[str], list[str]]:
    return tuple(bl.text_of(driver, f"{WIDGET} .vaselib-threshold-{row} .widget-html-content")
                 for row in ("below", "above"))


def _gallery(driver, below: list[str], above: list[str]) -> dict:
    """The gallery once it shows the scores ``below`` and ``above`` (it follows the counts)."""
    seen = []

    def shows():
        seen[:] = [_captions(driver)]
        return seen[0] == (below, above)

    bl.wait_until("the borderline gallery to follow the threshold", shows, 30,
                  detail=lambda: f": expected {(below, above)}, it shows {seen}")
    return {
        "thumbs": bl.image_hashes(driver, f"{WIDGET} .vaselib-threshold-below img, "
                                          f"{WIDGET} .vaselib-threshold-above img"),
        "histogram": bl.image_hashes(driver, f"{WIDGET} img.vaselib-threshold-hist"),
    }


def test_clip_threshold_explorer_follows_the_slider(session, tmp_path):
    from vaselib.clip import scoring

    server, driver = session
    out = tmp_path / "out03"
    bl.prepare_notebook("03_clip_quality", server.root / "notebooks", {
        "input_dir": str(_photos(tmp_path / "photos")), "model": "vase-micro-vit",
        "pretrained": None, "sample_size": 30, "threshold": None, "output_dir": str(out)})
    bl.open_and_run_all(driver, server, "notebooks/03_clip_quality.ipynb")

    report = json.loads((out / "filtering_report.json").read_text())
    scores = np.asarray([r["quality_score"] for r in report["results"]], dtype=np.float32)
    total = report["scored_images"]
    assert total == len(scores) == 30 and report["failed_images"] == 0

    def expect(threshold: float) -> tuple[int, list[str], list[str]]:
        """Accepted count and the captions below/above the threshold, by the stage's rule."""
        above, below = scoring.neighbours(scores, threshold, 5)
        return (int(scoring.apply_threshold(scores, threshold).sum()),
                [f"{scores[i]:+.3f}" for i in below], [f"{scores[i]:+.3f}" for i in above])

    # as the run left it: the stage's threshold (the 25th percentile) and its counts
    acc0, rej0, shown0 = _counts_03(bl.wait_for_text(driver, COUNTS, bool, "the counts line"))
    assert (acc0, rej0) == (report["accepted_images"], report["rejected_images"])
    # the readout shows the threshold to 3 decimals (a half may round either way in the browser)
    assert abs(float(shown0) - report["threshold"]) <= 0.001, (shown0, report["threshold"])
    n_acc, below, above = expect(report["threshold"])
    start = _gallery(driver, below, above)
    assert len(start["thumbs"]) == len(below) + len(above) and len(start["histogram"]) == 1

    # a higher threshold typed into the readout: fewer accepted, the neighbours move up
    typed = _choose_threshold(scores, acc0, 0, 3,
                              lambda t: int(scoring.apply_threshold(scores, t).sum()))
    assert float(typed) > report["threshold"]
    bl.type_into_readout(driver, WIDGET, typed)
    text = bl.wait_for_text(driver, COUNTS, lambda t: f"-p threshold {typed}" in t,
                            f"the counts at threshold {typed}")
    acc1, rej1, _ = _counts_03(text)
    n_acc, below, above = expect(float(typed))
    assert (acc1, rej1) == (n_acc, total - n_acc)
    assert 0 < acc1 < acc0 and acc1 + rej1 == total
    moved = _gallery(driver, below, above)
    assert set(moved["thumbs"]) != set(start["thumbs"])
    assert moved["histogram"] != start["histogram"]

    # End and Home on the slider's handle: its maximum rejects every photo, its minimum none
    bl.press_on_handle(driver, WIDGET, bl.keys().END)
    acc2, rej2, _ = _counts_03(bl.wait_for_text(
        driver, COUNTS, lambda t: t.startswith("accepted 0 "), "the counts at the maximum"))
    assert (acc2, rej2) == (0, total)
    _gallery(driver, *expect(float("inf"))[1:])  # nothing above the maximum
    bl.press_on_handle(driver, WIDGET, bl.keys().HOME)
    acc3, rej3, _ = _counts_03(bl.wait_for_text(
        driver, COUNTS, lambda t: t.startswith(f"accepted {total} "), "the counts at the minimum"))
    assert (acc3, rej3) == (total, 0)


# -- stage 02 ----------------------------------------------------------------------------------
@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A stage-01 checkpoint trained for one epoch on 24 separable 32 px images (seconds)."""
    from test_quality import _write_separable

    from vaselib.resnet import train
    from vaselib.resnet.params import ResnetTrainParams

    data = _write_separable(tmp_path / "labelled", n=12, size=32)
    train.run(ResnetTrainParams(data_dir=str(data), output_dir=str(tmp_path / "01"),
                                arch="resnet18", image_size=32, epochs=1, batch_size=8),
              progress=False)
    return tmp_path / "01" / "best_image_quality_model.pth", data


def _counts_02(text: str) -> tuple[int, int, str]:
    m = re.search(r"(\d+) to 1/ \(high quality\), (\d+) to 0/ at threshold (\d\.\d\d)", text)
    assert m, f"unexpected counts line: {text!r}"
    return int(m[1]), int(m[2]), m[3]


def test_classify_threshold_explorer_follows_the_slider(session, tmp_path, tiny_checkpoint):
    from vaselib.resnet.widgets import counts_at

    server, driver = session
    checkpoint, data = tiny_checkpoint
    out = tmp_path / "out02"
    bl.prepare_notebook("02_classify", server.root / "notebooks", {
        "model_path": str(checkpoint), "input_dir": str(data), "threshold": 0.5,
        "output_dir": str(out)})
    bl.open_and_run_all(driver, server, "notebooks/02_classify.ipynb")

    report = json.loads((out / "classification_report.json").read_text())
    p_high = [r["prob_high"] for r in report["predictions"]]
    total = report["counts"]["total"]
    assert total == len(p_high) == 24

    def expect(threshold: float) -> tuple[int, int]:
        c = counts_at(p_high, threshold)
        return c["high_quality"], c["low_quality"]

    high0, low0, shown0 = _counts_02(bl.wait_for_text(driver, COUNTS, bool, "the counts line"))
    assert (high0, low0) == (report["counts"]["high_quality"], report["counts"]["low_quality"])
    assert shown0 == "0.50" and (high0, low0) == expect(0.5)

    # Home on the handle: threshold 0, every photo to 1/
    bl.press_on_handle(driver, WIDGET, bl.keys().HOME)
    text = bl.wait_for_text(driver, COUNTS, lambda t: "at threshold 0.00" in t,
                            "the counts at threshold 0")
    assert _counts_02(text)[:2] == (total, 0)

    # End: threshold 1, as the stage's rule gives (normally nothing reaches 1/)
    bl.press_on_handle(driver, WIDGET, bl.keys().END)
    text = bl.wait_for_text(driver, COUNTS, lambda t: "at threshold 1.00" in t,
                            "the counts at threshold 1")
    high_max = _counts_02(text)[0]
    assert (high_max, total - high_max) == expect(1.0) and high_max < total

    # a threshold typed into the readout, between 0 and 1: counts in between, as the rule says
    typed = _choose_threshold(p_high, total, high_max, 2, lambda t: expect(t)[0])
    bl.type_into_readout(driver, WIDGET, typed)
    text = bl.wait_for_text(driver, COUNTS, lambda t: f"at threshold {typed}" in t,
                            f"the counts at threshold {typed}")
    high1, low1, _ = _counts_02(text)
    assert (high1, low1) == expect(float(typed))
    assert high_max < high1 < total and high1 + low1 == total
    readout = bl.text_of(driver, f"{WIDGET} .widget-readout")
    assert readout == [typed]
