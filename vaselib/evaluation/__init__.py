"""Stage 08: caption evaluation, reproducing the original ``eval/compare.py`` and doing better.

Modules, one job each: ``records`` (read and pair the caption files), ``original`` (the
original's metrics, exactly), ``fid`` (FID of bootstrap resamples), ``intervals`` (seeded
bootstrap, single and paired), ``attributes`` (per-attribute accuracy and the GRPO reward),
``text_metrics`` (BLEU-4, ROUGE-L, CIDEr-D), ``encoders`` (CLIP / sentence-transformers
adapters), ``scoring`` (one model's pairs scored once, any resample re-scored), ``report``
(JSON and Markdown), ``plots`` and ``evaluate`` (the entry points below).
"""
from vaselib.evaluation.evaluate import (
           compare_models,
           evaluate_captions,
           paired_comparison,
)
from vaselib.evaluation.records import RecordsError, image_id, match_records
from vaselib.evaluation.report import markdown, original_fields, write_report

__all__ = [
           "RecordsError",
           "compare_models",
           "evaluate_captions",
           "image_id",
           "markdown",
           "match_records",
           "original_fields",
           "paired_comparison",
           "write_report",
]
