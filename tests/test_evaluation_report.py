"""End to end: evaluate_captions / compare_models with hand-made vectors, report and plot."""
from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from vaselib.evaluation import compare_models, evaluate_captions, original_fields
from vaselib.evaluation.encoders import (
    ClipTextFeatures,
    SentenceEmbeddings,
    encoder_name,
)
from vaselib.evaluation.intervals import Interval
from vaselib.evaluation.original import ORIGINAL_METRICS
from vaselib.evaluation.plots import metrics_bar_chart
from vaselib.evaluation.report import markdown, outside_interval_notes, write_report

GEN = ["red vase", "black-figure lekythos", "a kylix"]
REF = ["red amphora", "black-figure lekythos", "the kylix"]
# Text features: S[0] = [1/√2, 1/√2, -1/√2] (own score tied with column 1), S[1] = [0, 1, 0],
# S[2] = [-1, 0, 1].
TEXT = {"red vase": [1.0, 1.0], "black-figure lekythos": [0.0, 1.0], "a kylix": [-1.0, 0.0],
        "red amphora": [1.0, 0.0], "the kylix": [-1.0, 0.0]}
EMB = {c: np.eye(5)[i] + 0.1 * i for i, c in enumerate(sorted({*GEN, *REF}))}


def text_features(texts):
    return np.array([TEXT[t] for t in texts])


def sentence_embeddings(texts):
    return np.array([EMB[t] for t in texts])


def _records(captions, suffix):
    return [{"images": [f"vase{i}_front_{suffix}.jpg"], "caption": c}
            for i, c in enumerate(captions)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("captions")
    gen = folder / "image_test-model.json"
    gen.write_text(json.dumps(_records(GEN, 0) + [{"images": ["lost_side_1.jpg"],
                                                   "caption": "orphan"}]), encoding="utf-8")
    ref = folder / "ground_truth.json"
    ref.write_text(json.dumps(_records(REF, 9)), encoding="utf-8")
    return gen, ref


@pytest.fixture(scope="module")
def entry(files):
    gen, ref = files
    return evaluate_captions(gen, ref, text_features=text_features,
                             sentence_embeddings=sentence_embeddings, n_boot=50, seed=0)


def test_original_fields_by_hand(entry):
    clip = (1 / math.sqrt(2) + 1 + 1) / 3          # cosines of the three pairs
    lexical = (1 / 3 + 1 + 1 / 3) / 3              # {red} of 3 words, all, {kylix} of 3
    assert entry["clip_score"] == pytest.approx(clip)
    assert entry["semantic_similarity"] == entry["clip_score"]
    assert entry["r_at_1"] == 1.0                  # row 0 wins its tie by sort order
    assert entry["r_at_5"] == entry["r_at_10"] == 1.0
    assert entry["lexical_similarity"] == pytest.approx(lexical)
    assert entry["overall_score"] == pytest.approx(
        0.25 * clip + 0.25 * clip + 0.20 + 0.15 * lexical + 0.10 + 0.05)
    assert entry["tie_aware"]["r_at_1"]["value"] == pytest.approx((0.5 + 1 + 1) / 3)


def test_original_types_and_metadata(entry):
    fields = original_fields(entry)
    assert set(fields) == {*ORIGINAL_METRICS, "metadata"}
    assert all(type(entry[m]) is float for m in ORIGINAL_METRICS)
    assert entry["metadata"] == {"total_pairs": 3, "generated_file": "image_test-model.json",
                                 "ground_truth_file": "ground_truth.json",
                                 "model_name": "test-model"}
    assert type(entry["metadata"]["total_pairs"]) is int


def test_extras_n_intervals_and_unmatched(entry):
    assert entry["n"]["r_at_1"] == 3
    for metric in ORIGINAL_METRICS:
        iv = entry["intervals"][metric]
        assert iv["low"] <= entry[metric] + 1e-9 and entry[metric] - 1e-9 <= iv["high"]
    assert entry["matching"]["unmatched_count"] == 1
    assert entry["matching"]["unmatched_ids"] == ["lost_side"]
    assert entry["distinct_captions"] == {"count": 3, "of": 3}
    assert entry["encoders"] == {"text_features": "text_features",
                                 "sentence_embeddings": "sentence_embeddings",
                                 "image_features": None}
    assert entry["image_grounded"]["clip_s"]["value"] is None
    assert "no image_features" in entry["errors"]["image_grounded.clip_s"]


def test_fid_flagged_when_n_not_above_dimension(entry):
    assert entry["fid_ill_conditioned"] is True
    assert entry["fid_embedding_dim"] == 5
    assert "N = 3" in entry["fid_ill_conditioned_reason"]
    assert entry["fid_score"] is not None and entry["fid_score"] > 0


def test_fid_not_flagged_with_enough_pairs():
    gen = [f"caption {i}" for i in range(8)]
    ref = [f"reference {i}" for i in range(8)]
    rng = np.random.default_rng(0)
    table = {t: rng.normal(size=3) for t in gen + ref}
    out = evaluate_captions(_records(gen, 0), _records(ref, 1), text_features=None,
                            sentence_embeddings=lambda ts: np.array([table[t] for t in ts]),
                            n_boot=0)
    assert out["fid_ill_conditioned"] is False and out["fid_ill_conditioned_reason"] is None
    # no text encoder: its metrics are null with the reason, never 0
    assert out["clip_score"] is None and "no text_features" in out["errors"]["clip_score"]
    assert out["overall_score"] is None and "clip_score" in out["errors"]["overall_score"]


def test_failing_metric_is_null_with_error_not_zero():
    def broken(texts):
        raise RuntimeError("CLIP exploded")

    out = evaluate_captions(_records(GEN, 0), _records(REF, 1), text_features=broken,
                            sentence_embeddings=lambda ts: np.ones((len(ts), 2)), n_boot=20)
    for metric in ("clip_score", "semantic_similarity", "r_at_1", "r_at_5", "r_at_10",
                   "overall_score"):
        assert out[metric] is None, metric
        assert "CLIP exploded" in out["errors"][metric]
    assert out["intervals"]["clip_score"] is None
    assert out["tie_aware"]["r_at_1"]["value"] is None
    assert "tie_aware.r_at_1" in out["errors"]
    # the rest still computed; wrong-shaped embeddings never become a number either
    assert out["lexical_similarity"] == pytest.approx(5 / 9)
    bad = evaluate_captions(_records(GEN, 0), _records(REF, 1), text_features=text_features,
                            sentence_embeddings=lambda ts: np.ones(len(ts)), n_boot=0)
    assert bad["fid_score"] is None and "shape" in bad["errors"]["fid_score"]


def test_attribute_not_stated_anywhere_is_undefined(entry):
    # none of these references states a date: dating has N = 0 and no value
    assert entry["attributes"]["dating"]["value"] is None
    assert entry["attributes"]["dating"]["n"] == 0
    assert "undefined" in entry["errors"]["attributes.dating"]
    assert entry["attributes"]["technique"]["value"] == 1.0   # black-figure = black-figure
    assert entry["attributes"]["technique"]["n"] == 1


def test_compare_models_paired_self_difference_is_zero(files):
    gen, ref = files
    report = compare_models({"a": gen, "copy": gen, "perfect": _records(REF, 0)}, ref,
                            text_features=text_features,
                            sentence_embeddings=sentence_embeddings, n_boot=30, baseline="a")
    assert set(report["models"]) == {"a", "copy", "perfect"}
    assert [(c["model_a"], c["model_b"]) for c in report["comparisons"]] == [
        ("copy", "a"), ("perfect", "a")]
    same = report["comparisons"][0]
    assert same["n_shared"] == 3
    for name, d in same["differences"].items():
        if d["difference"] is not None:
            assert d["difference"] == 0.0 and d["low"] == d["high"] == 0.0, name
    better = report["comparisons"][1]["differences"]["lexical_similarity"]
    assert better["difference"] == pytest.approx(1 - 5 / 9)


def test_compare_models_without_a_baseline_subtracts_each_earlier_model(files):
    gen, ref = files
    report = compare_models({"base": gen, "sft": _records(REF, 0), "grpo": gen}, ref,
                            text_features=text_features,
                            sentence_embeddings=sentence_embeddings, n_boot=30)
    # later minus earlier, as a reader of "SFT − base" expects
    assert [(c["model_a"], c["model_b"]) for c in report["comparisons"]] == [
        ("sft", "base"), ("grpo", "base"), ("grpo", "sft")]
    gain = report["comparisons"][0]["differences"]["lexical_similarity"]["difference"]
    assert gain == pytest.approx(1 - 5 / 9)     # the perfect captions beat the base's
    loss = report["comparisons"][2]["differences"]["lexical_similarity"]["difference"]
    assert loss == pytest.approx(-(1 - 5 / 9))


def test_report_files_and_markdown(entry, tmp_path):
    report = {"format": "x", "models": {"test-model": entry}, "comparisons": []}
    paths = write_report(report, tmp_path)
    loaded = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert loaded["models"]["test-model"]["metadata"]["total_pairs"] == 3
    assert loaded["models"]["test-model"]["attributes"]["dating"]["value"] is None
    text = paths["markdown"].read_text(encoding="utf-8")
    assert text == markdown(report)
    assert "| Model | N | CLIP score |" in text
    assert "| test-model | 3 | 0.9024 [" in text     # (1/√2 + 2)/3 = 0.9024, with interval
    assert "²" in text and "(N=1)" in text           # FID flag; an attribute's own N


def test_bar_chart_has_error_bars_and_no_fake_zero(entry):
    broken = dict(entry, r_at_1=None)
    fig = metrics_bar_chart({"good": entry, "broken": broken},
                            metrics=("clip_score", "r_at_1", "attributes.technique"))
    assert fig.number not in plt.get_fignums()      # closed: shown only where displayed
    ax = fig.axes[0]
    assert len(ax.patches) == 5                      # 2 models × 3 metrics, one missing
    assert any(t.get_text() == "n/a" for t in ax.texts)
    assert ax.containers and any(getattr(c, "errorbar", None) for c in ax.containers)
    with pytest.raises(KeyError, match="nonsense"):
        metrics_bar_chart({"good": entry}, metrics=("nonsense",))


def test_encoder_adapters_batch_and_name():
    calls = []

    class Backend:
        kind, name = "open_clip", "ViT-B-32"

        def encode_texts(self, prompts):
            calls.append(len(prompts))
            return np.ones((len(prompts), 4), dtype=np.float32)

    clip = ClipTextFeatures(Backend(), batch_size=2)
    assert clip(["a", "b", "c", "d", "e"]).shape == (5, 4) and calls == [2, 2, 1]
    assert "ViT-B-32" in encoder_name(clip)

    class Model:
        def encode(self, texts, **kwargs):
            assert kwargs["convert_to_numpy"] is True
            return np.zeros((len(texts), 3))

    sent = SentenceEmbeddings(Model(), name="fake-mpnet")
    assert sent(["x", "y"]).shape == (2, 3) and encoder_name(sent) == "fake-mpnet"
    with pytest.raises(TypeError, match="encode_texts"):
        ClipTextFeatures(object())


def test_resample_statistic_on_all_pairs_equals_the_headline():
    # integer features give many exact ties: the bootstrap's rank counting and the
    # resample FID must reproduce the original's argsort R@k and sqrtm FID on all pairs
    from vaselib.evaluation.scoring import score_pairs

    rng = np.random.default_rng(2)
    gen = [f"g{i}" for i in range(12)]
    ref = [f"r{i}" for i in range(12)]
    feats = {t: rng.integers(0, 2, size=3).astype(float) + 0.01 for t in gen + ref}
    embs = {t: rng.normal(size=4) for t in gen + ref}
    scores = score_pairs(gen, ref, gen,
                         text_features=lambda ts: np.array([feats[t] for t in ts]),
                         sentence_embeddings=lambda ts: np.array([embs[t] for t in ts]))
    headline, errors = scores.results()
    resampled = scores.statistic(np.arange(12))
    for metric in ("r_at_1", "r_at_5", "r_at_10", "fid_score", "overall_score"):
        assert resampled[metric] == pytest.approx(headline[metric], rel=1e-9), metric
    assert "r_at_1" not in errors


def test_value_outside_its_interval_gets_a_note():
    notes = outside_interval_notes(
        {"fid_score": 0.10, "clip_score": 0.5},
        {"fid_score": Interval(0.15, 0.22, 0.95, 100),
         "clip_score": Interval(0.4, 0.6, 0.95, 100)})
    assert len(notes) == 1 and notes[0].startswith("fid_score") and "spread" in notes[0]


def test_a_resample_is_scored_once_and_a_subset_keeps_its_own_results():
    from vaselib.evaluation.scoring import score_pairs

    s = score_pairs(GEN, REF, ["a", "b", "c"], text_features=text_features,
                    sentence_embeddings=sentence_embeddings)
    j = [1 / 3, 1.0, 1 / 3]            # Jaccard of each pair, by hand
    idx = np.array([0, 0, 1])
    first = s.statistic(idx)
    assert first["lexical_similarity"] == pytest.approx((2 * j[0] + j[1]) / 3)
    first["lexical_similarity"] = -1.0                     # a caller's copy, not the cache
    assert s.statistic(idx) == s._values(idx)
    # the same indices on a reordered subset mean other pairs: its own values, not the cache
    sub = s.select([1, 0, 2])
    assert sub.statistic(idx)["lexical_similarity"] == pytest.approx((2 * j[1] + j[0]) / 3)


# Image features by id (the records' ids are vase<i>_front): cos with the normalised text
# features of GEN = [1/√2, -1, 1/√2], of REF = [1, -1, 1/√2].
IMAGES = {"vase0_front": [1.0, 0.0], "vase1_front": [0.0, -1.0], "vase2_front": [-1.0, 1.0]}


def image_features(ids):
    return np.array([IMAGES[i] for i in ids])


def test_image_grounded_clip_score_by_hand(files):
    gen, ref = files
    out = evaluate_captions(gen, ref, text_features=text_features,
                            sentence_embeddings=sentence_embeddings, n_boot=20, seed=0,
                            image_features=image_features)
    w, c = 2.5, 1 / math.sqrt(2)
    grounded = out["image_grounded"]
    assert grounded["clip_s"]["value"] == pytest.approx(w * (c + 0.0 + c) / 3)   # −1 → 0
    assert grounded["reference_clip_s"]["value"] == pytest.approx(w * (1 + 0.0 + c) / 3)
    assert grounded["clip_s"]["n"] == 3
    assert grounded["clip_s"]["low"] <= grounded["clip_s"]["value"] <= grounded["clip_s"]["high"]
    assert "image_grounded.clip_s" not in out["errors"]
    assert "Image-grounded CLIPScore" in markdown({"models": {"m": out}})


def test_image_grounded_clip_score_fails_loudly_without_an_image(files):
    gen, ref = files

    def lacking(ids):
        raise KeyError(f"no image for id {ids[1]!r}")

    out = evaluate_captions(gen, ref, text_features=text_features,
                            sentence_embeddings=sentence_embeddings, n_boot=0,
                            image_features=lacking)
    assert out["image_grounded"]["clip_s"]["value"] is None
    assert "vase1_front" in out["errors"]["image_grounded.clip_s"]
    assert out["clip_score"] is not None            # the text metrics do not depend on it


def test_a_captioner_that_writes_one_caption_shows_as_one_distinct_caption(files):
    _, ref = files
    same = [{"images": [f"vase{i}_front_0.jpg"], "caption": "a kylix"} for i in range(3)]
    out = evaluate_captions(same, ref, text_features=text_features,
                            sentence_embeddings=sentence_embeddings, n_boot=0)
    assert out["distinct_captions"] == {"count": 1, "of": 3}
    assert "1 distinct captions of 3" in markdown({"models": {"m": out}})


def test_paired_difference_of_grounded_clip_score(files):
    gen, ref = files
    report = compare_models({"gen": gen, "ref": _records(REF, 0)}, ref,
                            text_features=text_features,
                            sentence_embeddings=sentence_embeddings, n_boot=20,
                            image_features=image_features)
    d = report["comparisons"][0]["differences"]["image_grounded.clip_s"]
    w, c = 2.5, 1 / math.sqrt(2)
    # ref − gen: the reference captions' CLIP-S minus the generated ones'
    assert d["difference"] == pytest.approx(w * (1 + 0 + c) / 3 - w * (c + 0 + c) / 3)


class _CountingBackend:
    """A stand-in CLIP: an image's feature is its mean colour (two channels), normalised."""
    kind, name, embed_dim = "fake", "mean-colour", 2

    def __init__(self):
        import torch

        self.encoded = 0
        self.device = torch.device("cpu")

    def preprocess(self, im):
        import torch

        return torch.tensor(np.asarray(im, dtype=np.float32).mean(axis=(0, 1))[:2] + 1.0)

    def encode_images(self, batch):
        self.encoded += int(batch.shape[0])
        x = batch.numpy()
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_clip_image_features_encode_each_image_once_and_name_a_broken_file(tmp_path):
    from PIL import Image

    from vaselib.evaluation.encoders import ClipImageFeatures
    from vaselib.images import ImageLoadError

    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "red.jpg")
    Image.new("RGB", (8, 8), (0, 255, 0)).save(tmp_path / "green.png")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    backend = _CountingBackend()
    feats = ClipImageFeatures(backend, {"r": tmp_path / "red.jpg", "g": tmp_path / "green.png",
                                        "x": tmp_path / "broken.jpg"}, batch_size=1)
    rows = feats(["r", "g", "r"])
    assert rows.shape == (3, 2) and backend.encoded == 2
    assert rows[0] @ rows[1] < 0.1 and rows[0] @ rows[2] == pytest.approx(1.0)
    feats(["g"])
    assert backend.encoded == 2                      # remembered, not encoded again
    with pytest.raises(ImageLoadError, match="broken.jpg"):
        feats(["x"])
    with pytest.raises(KeyError, match="nowhere"):
        feats(["nowhere"])
