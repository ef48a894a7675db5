"""Where vaselib differs from the original VaseVQA-3D scripts on purpose.

One entry per deliberate difference; the README's "Differences from the original scripts"
section has one item per entry (marked ``<!-- difference: <id> -->``), and a test checks
both that the lists agree and that each behaviour still holds.  Where vaselib *matches* the
original on purpose (its CLIP formula, its report keys, its file-name pattern) the entry
says so too, with the option that departs from it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    id: str
    original: str
    vaselib: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference("exif-orientation",
               "images are read as stored; EXIF orientation is ignored",
               "EXIF orientation is applied before scoring (a rotated phone photo is upright)"),
    Difference("transparency-and-bit-depth",
               "PIL's plain convert('RGB'): transparent pixels become black-ish, 16-bit scans "
               "clip to white",
               "transparency is composited on white; 16-bit, 32-bit and float images are "
               "scaled to 8 bits"),
    Difference("recursive-input",
               "03 and 04 read only the top folder; 02 walks sub-folders but files with equal "
               "names overwrite each other in 0/ and 1/",
               "every stage reads sub-folders (symlinked folders once) and keeps each file's "
               "relative path in its outputs; filename fields hold that relative path"),
    Difference("failures-listed",
               "an image that fails to load is printed and forgotten (02) or scored -1.0 and "
               "filed as rejected (03)",
               "it is listed with its reason under failures, never scored; accepted + rejected "
               "+ failed = total_images"),
    Difference("batched-inference",
               "02 'batches' but predicts one image at a time; 03 and 04 encode one image at "
               "a time",
               "images are decoded in workers and encoded in batches; CLIP embeddings are "
               "cached by file content"),
    Difference("classify-threshold",
               "02 defines a confidence threshold (0.5) and never uses it",
               "02's threshold is the minimum P(high quality) for 1/"),
    Difference("augmentation-train-only",
               "01's three splits share one dataset object, so the evaluation transform "
               "replaced the augmentation: none ever ran",
               "the augmentation reaches the training split only"),
    Difference("no-prompts",
               "03 without a threshold analyses, proposes the 25th percentile and asks at a "
               "prompt",
               "threshold None takes the 25th percentile of the seeded analysis sample and "
               "records it; nothing asks"),
    Difference("view-pattern",
               "04's pattern only warns about names it does not match",
               "the original's pattern, case-insensitive and with any image extension; "
               "non-matching names are listed, and a pattern matching nothing is an error"),
    Difference("clip-prompt-average",
               "a prompt set's raw text features are averaged, then normalised",
               "the same by default (prompt_average: original); prompt_average: normalised "
               "normalises each prompt first and reports say which ran"),
    Difference("owned-outputs",
               "outputs are written over whatever is in the output folder",
               "a stage removes only what it wrote before, builds its outputs aside and swaps "
               "them in complete; downstream stages refuse incomplete inputs"),
    Difference("image-size-limit",
               "PIL's defaults: a warning above ~89 MP, an error above ~179 MP",
               "images above max_image_pixels (default ~89 MP) are failures with their reason, "
               "before decoding"),
    Difference("sft-data-formats",
               "05 reads its own records {images, caption, conversations}",
               "also ms-swift's messages and LLaMA-Factory's sharegpt, checked before training "
               "(image tags, roles, length), bad records listed"),
    Difference("reward-definition",
               "the paper defines R = Σ w_i·r_i − P + B with τ = 0.7 but never published its "
               "plugin",
               "vaselib's external_vase_acc: the paper's weights, τ and penalty weights; "
               "vaselib's own caption split, penalty forms, bonus and date overlap"),
    Difference("evaluation-errors-and-intervals",
               "compare.py turns a failing metric into 0.0 and reports no sample size or "
               "uncertainty; FID uses all-mpnet-base-v2",
               "a failing metric is null with its error; N and a 95 % bootstrap interval for "
               "each metric; FID flagged when N ≤ the embedding size; the sentence model is a "
               "parameter (offline default all-MiniLM-L6-v2)"),
)


def ids() -> list[str]:
    return [d.id for d in DIFFERENCES]
