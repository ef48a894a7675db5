"""The run index: one HTML page linking every stage's report with its headline numbers."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

from vaselib import stages
from vaselib.notebooks import StageRun

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:980px;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:.45rem .6rem;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}th{background:#f4efe8}code{font-size:.9em}
.fail{color:#b00020}.muted{color:#777}
"""


_MODEL_OUTPUTS = ("checkpoint", "final_checkpoint", "merged", "final_model")


def _headline(summary: dict | None) -> str:
    if not summary:
        return '<span class="muted">no summary.json</span>'
    items = dict(summary.get("headline", {}))
    outputs = summary.get("outputs", {})
    for key in _MODEL_OUTPUTS:  # where the models a later step needs are
        if outputs.get(key):
            items[key] = outputs[key]
    return "<br>".join(f"{html.escape(str(k))}: <b>{html.escape(str(v))}</b>"
                       for k, v in items.items())


def write_index(run_dir: str | Path, stage_runs: Sequence[StageRun], title: str,
                failed: str | None = None, notes: Sequence[str] = ()) -> Path:
    """Write ``index.html`` in ``run_dir`` (links are relative, so the folder can be shared)."""
    run_dir = Path(run_dir)
    rows = []
    for r in stage_runs:
        link = (r.html or r.notebook).relative_to(run_dir)
        rows.append(
            f"<tr><td><a href='{html.escape(str(link))}'>{html.escape(r.stage)}</a><br>"
            f"<span class='muted'>{html.escape(stages.get(r.stage).title)}</span></td>"
            f"<td>{_headline(r.summary)}</td><td>{r.seconds:.0f} s</td>"
            f"<td><a href='{html.escape(r.notebook.name)}'>notebook</a></td></tr>")
    total = sum(r.seconds for r in stage_runs)
    failure = f"<p class='fail'>{html.escape(failed)}</p>" if failed else ""
    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{failure}
<table><tr><th>stage</th><th>headline numbers</th><th>run time</th><th></th></tr>
{''.join(rows)}
<tr><td><b>total</b></td><td></td><td><b>{total:.0f} s</b></td><td></td></tr></table>
<ul>{note_html}</ul></body></html>
"""
    out = run_dir / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
