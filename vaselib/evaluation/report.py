"""``evaluation_report.json`` and its Markdown twin, in the original's layout plus extras.

Per model, the original script's fields come first, with the original's names and types:
``clip_score`` … ``overall_score`` are floats (``None``/``null`` only where a metric failed:
the original wrote 0.0 there) and ``metadata`` holds ``total_pairs`` (int), the two file
names and ``model_name``. Everything vaselib adds sits under its own keys, so a reader of the
original's files can ignore them:

``n``, ``intervals``
    N and the bootstrap interval of each original metric.
``errors``
    Why a metric has no value (any metric, original or extra), by its qualified name.
``fid_ill_conditioned``, ``fid_ill_conditioned_reason``, ``fid_embedding_dim``
    Whether N ≤ the embedding dimension (the covariances are singular but for the ridge).
``tie_aware``, ``attributes``, ``text_metrics``, ``image_grounded``
    Extra metrics, each ``{"value", "n", "low", "high"}``. ``image_grounded`` is the
    CLIPScore of the caption against its image (Hessel et al. 2021) with the evaluation's
    CLIP: ``clip_s`` for the generated caption, ``reference_clip_s`` for the reference (the
    most this CLIP gives a right caption).
``distinct_captions``
    How many different captions the model wrote for its pairs (``{"count", "of"}``): a
    captioner that ignores the image writes the same few captions for every vase.
``matching``, ``encoders``, ``settings``, ``notes``
    How the pairs were formed, which models encoded the captions, and the evaluation's
    parameters.

The whole report is ``{"format", "models": {name: ...}, "comparisons": [...], "notes"}``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vaselib.evaluation.intervals import Difference, Interval
from vaselib.evaluation.original import ORIGINAL_METRICS, fid_condition
from vaselib.evaluation.records import MatchedRecords
from vaselib.evaluation.scoring import (
    ATTRIBUTE_METRICS,
    CLIP_S_WEIGHT,
    IMAGE_GROUNDED,
    TEXT_METRICS,
    TIE_AWARE,
    ModelScores,
)
from vaselib.runs import write_json

FORMAT = "vaselib-caption-evaluation/1"
REPORT_JSON = "evaluation_report.json"
REPORT_MD = "evaluation_report.md"
GROUPS: dict[str, tuple[str, ...]] = {"tie_aware": TIE_AWARE, "attributes": ATTRIBUTE_METRICS,
                                      "text_metrics": TEXT_METRICS,
                                      "image_grounded": IMAGE_GROUNDED}
_CLIP_S_SCALE = f"0-{CLIP_S_WEIGHT:g} (w·max(cos, 0), w = {CLIP_S_WEIGHT:g})"
SCALES = {"text_metrics.bleu_4": "0-100 (sacrebleu)", "text_metrics.cider_d": "0-10",
          "image_grounded.clip_s": _CLIP_S_SCALE,
          "image_grounded.reference_clip_s": _CLIP_S_SCALE}
NOTES: tuple[str, ...] = (
    ("semantic_similarity is computed exactly as clip_score (the original counts the same "
     "quantity twice, and overall_score weights it twice)."),
    ("r_at_k follows the original's tie handling read as a stable sort (a tied reference of "
     "a smaller index ranks first); tie_aware.r_at_k is the expected hit under random "
     "tie-breaking."),
    "A metric that fails is null with its error in 'errors', never 0.0.",
    ("Intervals: seeded percentile bootstrap over pairs (resampled with replacement; R@k, "
     "FID and BLEU recomputed on each resample); CIDEr-D keeps the IDF of the full set. "
     "FID is biased under resampling (repeated pairs shrink the covariances), so its "
     "interval may not contain its value."),
)


def _interval_dict(interval: Interval | None) -> dict[str, Any] | None:
    return None if interval is None else interval.to_dict()


def _entry(name: str, value: float | None, n: int,
           interval: Interval | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": value, "n": n,
                             "low": None if interval is None else interval.low,
                             "high": None if interval is None else interval.high}
    if name in SCALES:
        entry["scale"] = SCALES[name]
    return entry


def metadata(matched: MatchedRecords, model: str) -> dict[str, Any]:
    """The original's ``metadata``: total_pairs, the two file names and the model name."""
    return {"total_pairs": len(matched),
            "generated_file": Path(matched.generated_source).name,
            "ground_truth_file": Path(matched.ground_truth_source).name,
            "model_name": model}


def model_report(scores: ModelScores, matched: MatchedRecords, model: str,
                 intervals: Mapping[str, Interval] | None,
                 settings: Mapping[str, Any]) -> dict[str, Any]:
    """One model's entry of the report (module docstring)."""
    values, errors = scores.results()
    sizes = scores.sizes()
    # a metric without a value has no interval either
    intervals = {k: v for k, v in (intervals or {}).items() if values.get(k) is not None}
    out: dict[str, Any] = {name: values[name] for name in ORIGINAL_METRICS}
    out["metadata"] = metadata(matched, model)
    out["n"] = {name: sizes[name] for name in ORIGINAL_METRICS}
    out["intervals"] = {name: _interval_dict(intervals.get(name)) for name in ORIGINAL_METRICS}
    out["errors"] = errors
    dim = scores.embedding_dim
    if dim is None:
        flagged, reason = None, "FID was not computed (no sentence embeddings)"
    else:
        flagged, reason = fid_condition(scores.n, dim)
    out.update(fid_ill_conditioned=flagged, fid_ill_conditioned_reason=reason,
               fid_embedding_dim=dim)
    for group, names in GROUPS.items():
        out[group] = {name.split(".", 1)[1]: _entry(name, values[name], sizes[name],
                                                    intervals.get(name)) for name in names}
    out["distinct_captions"] = {"count": len(set(scores.generated)), "of": scores.n}
    out["matching"] = {"matched": len(matched), "unmatched_count": len(matched.unmatched),
                       "unmatched_ids": list(matched.unmatched),
                       "problems": list(matched.problems),
                       "generated_source": matched.generated_source,
                       "ground_truth_source": matched.ground_truth_source}
    out["encoders"] = dict(scores.encoders)
    out["settings"] = dict(settings)
    out["notes"] = list(NOTES) + outside_interval_notes(values, intervals)
    return out


def outside_interval_notes(values: Mapping[str, float | None],
                            intervals: Mapping[str, Interval]) -> list[str]:
    """A note for each metric whose value lies outside its own percentile interval.

    That happens for statistics biased under resampling with replacement: FID above all
    (repeated pairs shrink the sample covariances), and set-level R@k a little (a resample has
    fewer distinct distractors). Their interval then shows the spread, not a confidence
    interval around the value.
    """
    notes = []
    for name, interval in intervals.items():
        value = values.get(name)
        if value is None or interval.low is None or interval.high is None:
            continue
        if not interval.low <= value <= interval.high:
            notes.append(f"{name}: the value {value:.4g} lies outside its bootstrap interval "
                         f"[{interval.low:.4g}, {interval.high:.4g}]: the statistic is biased "
                         f"under resampling with replacement, so read the interval as its "
                         f"spread, not as a confidence interval around the value.")
    return notes


def original_fields(model_entry: Mapping[str, Any]) -> dict[str, Any]:
    """Only the original script's fields of a model entry (metrics and ``metadata``)."""
    return {k: model_entry[k] for k in (*ORIGINAL_METRICS, "metadata")}


def comparison_entry(model_a: str, model_b: str, n_shared: int, only_a: int, only_b: int,
                     differences: Mapping[str, Difference] | None,
                     error: str | None = None) -> dict[str, Any]:
    """A paired comparison A − B on the ids both models were scored on."""
    return {"model_a": model_a, "model_b": model_b, "n_shared": n_shared,
            "ids_only_in_a": only_a, "ids_only_in_b": only_b,
            "differences": {k: d.to_dict() for k, d in (differences or {}).items()},
            "error": error}


def assemble(models: Mapping[str, Mapping[str, Any]],
             comparisons: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The whole report: every model's entry and the paired comparisons."""
    return {"format": FORMAT, "models": dict(models), "comparisons": list(comparisons),
            "notes": list(NOTES)}


# ---------------------------------------------------------------------------- Markdown

def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _cell(value: float | None, low: float | None, high: float | None,
          n: int | None = None) -> str:
    text = _fmt(value)
    if value is not None and low is not None and high is not None:
        text += f" [{_fmt(low)}, {_fmt(high)}]"
    if n is not None:
        text += f" (N={n})"
    return text


_ORIGINAL_HEADERS = {"clip_score": "CLIP score", "semantic_similarity": "Semantic sim.¹",
                     "r_at_1": "R@1", "r_at_5": "R@5", "r_at_10": "R@10",
                     "lexical_similarity": "Lexical", "fid_score": "FID ↓",
                     "overall_score": "Overall"}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows)]


def markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown: the original's metric table (with N and intervals) and extras."""
    models: Mapping[str, Mapping[str, Any]] = report["models"]
    first = next(iter(models.values()), None)
    lines = ["# Caption evaluation report", ""]
    if first is not None:
        s = first.get("settings", {})
        lines += [(f"Ground truth: `{first['metadata']['ground_truth_file']}`. Values with "
                   f"{int(s.get('level', 0.95) * 100)} % percentile-bootstrap intervals "
                   f"({s.get('n_boot')} resamples of the pairs, seed {s.get('seed')})."), ""]

    lines += ["## Original metrics", ""]
    rows = []
    for name, m in models.items():
        cells = [name, str(m["metadata"]["total_pairs"])]
        for metric in ORIGINAL_METRICS:
            iv = m["intervals"].get(metric) or {}
            cell = _cell(m[metric], iv.get("low"), iv.get("high"))
            if metric == "fid_score" and m.get("fid_ill_conditioned"):
                cell += " ²"
            cells.append(cell)
        rows.append(cells)
    lines += _table(["Model", "N", *(_ORIGINAL_HEADERS[k] for k in ORIGINAL_METRICS)], rows)
    lines += ["", "¹ Equal to the CLIP score by construction (the original computes it twice).",
              "² FID ill-conditioned: N ≤ embedding dimension (singular covariances).",
              "R@k breaks ties as a stable sort, as the original; see the tie-aware table.", ""]

    lines += ["## Tie-aware R@k (expected hit under random tie-breaking)", ""]
    lines += _table(["Model", "R@1", "R@5", "R@10"], [
        [name, *(_cell(e["value"], e["low"], e["high"]) for e in m["tie_aware"].values())]
        for name, m in models.items()])
    lines.append("")

    if first is not None:
        attrs = list(first["attributes"])
        lines += ["## Attributes (the reward's caption parser)", "",
                  ("Accuracy over the references that state the attribute (N each); "
                   "`external_vase_acc` is the mean GRPO reward."), ""]
        lines += _table(["Model", *attrs], [
            [name, *(_cell(e["value"], e["low"], e["high"], e["n"])
                     for e in m["attributes"].values())] for name, m in models.items()])
        lines += ["", "## Standard caption metrics", ""]
        lines += _table(["Model", "BLEU-4 (0–100)", "ROUGE-L F", "CIDEr-D (0–10)"], [
            [name, *(_cell(e["value"], e["low"], e["high"]) for e in m["text_metrics"].values())]
            for name, m in models.items()])
        lines += ["", "## Image-grounded CLIPScore (caption against its image)", "",
                  (f"CLIP-S = {CLIP_S_WEIGHT:g}·max(cos(image, caption), 0) with the "
                   "evaluation's CLIP (Hessel et al. 2021); the reference column is what the "
                   "ground-truth caption gets, the most this CLIP gives a right caption."), ""]
        lines += _table(["Model", "CLIP-S", "CLIP-S of the reference"], [
            [name, *(_cell(e["value"], e["low"], e["high"])
                     for e in m.get("image_grounded", {}).values())]
            for name, m in models.items()])
        lines.append("")

    if report.get("comparisons"):
        lines += ["## Paired comparisons (A − B on shared ids)", ""]
        rows = []
        for c in report["comparisons"]:
            if c.get("error"):
                rows.append([c["model_a"], c["model_b"], str(c["n_shared"]), "—",
                             c["error"]])
                continue
            for metric, d in c["differences"].items():
                rows.append([c["model_a"], c["model_b"], str(c["n_shared"]), metric,
                             _cell(d["difference"], d["low"], d["high"])])
        lines += _table(["A", "B", "N", "Metric", "Difference [interval]"], rows)
        lines.append("")

    lines += ["## Matching, encoders and problems", ""]
    for name, m in models.items():
        match = m["matching"]
        enc = ", ".join(f"{k}: {v}" for k, v in m.get("encoders", {}).items()) or "none"
        distinct = m.get("distinct_captions") or {}
        lines.append(f"- **{name}**: {match['matched']} pairs, {match['unmatched_count']} "
                     f"generated record(s) without ground truth skipped; "
                     f"{distinct.get('count', '?')} distinct captions of "
                     f"{distinct.get('of', '?')}; encoders: {enc}.")
        if m.get("fid_ill_conditioned"):
            lines.append(f"  - FID: {m['fid_ill_conditioned_reason']}")
        lines += [f"  - {p}" for p in match["problems"]]
        lines += [f"  - note: {n}" for n in m.get("notes", [])[len(NOTES):]]
        lines += [f"  - error in `{k}`: {v}" for k, v in m["errors"].items()]
    lines.append("")
    return "\n".join(lines)


def write_report(report: Mapping[str, Any], output_dir: str | Path) -> dict[str, Path]:
    """Write ``evaluation_report.json`` (via :func:`vaselib.runs.write_json`) and ``.md``."""
    out = Path(output_dir)
    json_path = write_json(out / REPORT_JSON, report)
    md_path = out / REPORT_MD
    md_path.write_text(markdown(report), encoding="utf-8")
    return {"json": json_path, "markdown": md_path}
