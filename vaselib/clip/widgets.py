"""Interactive threshold explorer for stage 03 (ipywidgets; the notebook only displays it).

:class:`ThresholdExplorer` shows a threshold slider over the score histogram, the live
accepted/rejected counts and the images just above and just below the threshold.  It works
on scores already computed (from cached embeddings), so each move answers in milliseconds;
:meth:`ThresholdExplorer.update` can be called without a browser (tests do).  Counting uses
:func:`vaselib.clip.scoring.apply_threshold`, the function the stage files with, so the
threshold found here reproduces exactly in a headless run
(``papermill … -p threshold <value>``).
"""
from __future__ import annotations

import io
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vaselib.clip import scoring

_THUMB = 112



def slider_range(scores) -> tuple[float, float, float]:
    """``(min, max, step)`` of the threshold slider: a round step (a power of ten, about
    1/500 of the score range or finer) and ends on multiples of it, a little past the
    scores, so a typed round threshold such as 0.042 is the slider's value exactly."""
    import math

    lo, hi = float(np.min(scores)), float(np.max(scores))
    step = 10.0 ** math.floor(math.log10(max(1e-4, (hi - lo) / 500)))
    pad = max(step, (hi - lo) * 0.02)
    return (round(math.floor((lo - pad) / step) * step, 10),
            round(math.ceil((hi + pad) / step) * step, 10), step)

class ThresholdExplorer:
    """Slider + histogram + counts + neighbours gallery over precomputed scores."""

    def __init__(self, scores: Sequence[float], paths: Sequence[str | Path], threshold: float,
                 *, labels: Sequence[str] | None = None, bins: int = 40, k: int = 5):
        self.scores = np.asarray(scores, dtype=np.float32)
        self.paths = [Path(p) for p in paths]
        self.labels = list(labels) if labels is not None else [p.name for p in self.paths]
        self.k = k
        self.bins = bins
        self.threshold = float(threshold)
        self._thumbs: "OrderedDict[Path, bytes]" = OrderedDict()
        self._fig = None
        self._ui = None
        self.last: dict[str, Any] = {}

    @classmethod
    def from_result(cls, result, **kw) -> "ThresholdExplorer":
        """An explorer over a stage-03 result (its scores and files)."""
        sc = result.scored
        return cls(sc.score, sc.paths, result.threshold, labels=sc.files, **kw)

    # -- logic (no browser needed) -------------------------------------------------------
    def counts(self, threshold: float) -> tuple[int, int]:
        acc = int(scoring.apply_threshold(self.scores, threshold).sum())
        return acc, len(self.scores) - acc

    def update(self, threshold: float) -> dict[str, Any]:
        """Move the threshold: recount, pick the neighbours and refresh the widgets."""
        self.threshold = float(threshold)
        acc, rej = self.counts(self.threshold)
        above, below = scoring.neighbours(self.scores, self.threshold, self.k)
        self.last = {
            "threshold": self.threshold, "accepted": acc, "rejected": rej,
            "acceptance_rate": acc / max(1, len(self.scores)),
            "just_above": [self.labels[i] for i in above],
            "just_below": [self.labels[i] for i in below],
            "_above": above, "_below": below,
        }
        if self._ui is not None:
            self._refresh()
        return {k: v for k, v in self.last.items() if not k.startswith("_")}

    # -- drawing -------------------------------------------------------------------------
    def _histogram_png(self) -> bytes:
        from matplotlib.figure import Figure

        if self._fig is None:
            fig = Figure(figsize=(6.5, 2.6), dpi=90)
            ax = fig.add_subplot(111)
            counts, edges = np.histogram(self.scores, bins=self.bins)
            self._centres = (edges[:-1] + edges[1:]) / 2
            self._bars = ax.bar(self._centres, counts, width=np.diff(edges), linewidth=0)
            self._line = ax.axvline(self.threshold, color="black", ls="--", lw=1.5)
            ax.set(xlabel="quality score (cos high − cos low)", ylabel="images")
            fig.tight_layout()
            self._fig, self._ax = fig, ax
        from vaselib.clip.plots import ACCEPT, REJECT

        for bar, c in zip(self._bars, self._centres):
            bar.set_color(ACCEPT if c >= self.threshold else REJECT)
        self._line.set_xdata([self.threshold, self.threshold])
        self._ax.set_title(f"threshold {self.threshold:.3f}: accepted {self.last['accepted']}"
                           f" · rejected {self.last['rejected']}", fontsize=10)
        buf = io.BytesIO()
        self._fig.savefig(buf, format="png")
        return buf.getvalue()

    def _thumb(self, path: Path) -> bytes:
        if path not in self._thumbs:
            from vaselib.images import ImageLoadError, open_image

            try:
                im = open_image(path)
                im.thumbnail((_THUMB, _THUMB))
                buf = io.BytesIO()
                im.save(buf, format="PNG")
                self._thumbs[path] = buf.getvalue()
            except ImageLoadError:
                self._thumbs[path] = b""
            while len(self._thumbs) > 200:
                self._thumbs.popitem(last=False)
        return self._thumbs[path]

    def _tiles(self, indices, colour: str):
        import ipywidgets as w

        tiles = []
        for i in indices:
            img = w.Image(value=self._thumb(self.paths[i]), format="png",
                          layout=w.Layout(width=f"{_THUMB}px", height=f"{_THUMB}px",
                                          border=f"3px solid {colour}"))
            cap = w.HTML(f"<div style='font-size:11px;text-align:center;width:{_THUMB}px'>"
                         f"{self.scores[i]:+.3f}</div>")
            tiles.append(w.VBox([img, cap]))
        return tiles

    def _refresh(self) -> None:
        from vaselib.clip.plots import ACCEPT, REJECT

        ui = self._ui
        ui["hist"].value = self._histogram_png()
        ui["counts"].value = (f"<b>accepted {self.last['accepted']}</b> · rejected "
                              f"{self.last['rejected']} · acceptance "
                              f"{100 * self.last['acceptance_rate']:.1f} % · run headless with "
                              f"<code>-p threshold {round(self.threshold, 6)!r}</code>")
        ui["below"].children = self._tiles(self.last["_below"], REJECT)
        ui["above"].children = self._tiles(self.last["_above"], ACCEPT)

    def widget(self):
        """The ipywidgets box to display."""
        import ipywidgets as w

        if self._ui is None:
            lo, hi, step = slider_range(self.scores)
            slider = w.FloatSlider(value=min(max(self.threshold, lo), hi),
                                   min=lo, max=hi, step=step,
                                   readout_format=".3f", description="threshold",
                                   continuous_update=True, layout=w.Layout(width="600px"))
            self._ui = {
                "slider": slider, "hist": w.Image(format="png"), "counts": w.HTML(),
                "below": w.HBox(), "above": w.HBox(),
            }
            for name, part in self._ui.items():  # stable hooks for styling and browser tests
                part.add_class(f"vaselib-threshold-{name}")
            slider.observe(lambda ch: self.update(ch["new"]), names="value")
            self.update(self.threshold)
        ui = self._ui
        box = w.VBox([ui["slider"], ui["counts"], ui["hist"],
                      w.HTML("<b>just below the threshold (rejected)</b>"), ui["below"],
                      w.HTML("<b>just above the threshold (accepted)</b>"), ui["above"]])
        return box.add_class("vaselib-threshold")

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget())
