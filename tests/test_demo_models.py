"""The demo's own models, as the demo uses them: the CLIP stage 03 scores with and the
pretrained base Qwen2.5-VL stage 05 starts from (built once into ``data/cache/models``).

With two pytest workers these run first on the worker beside the whole-demo module
(tests/conftest.py), so on a fresh clone they build the caches while the demo runs its
first stages.  The base VLM comes first: it takes longest (~5 min) and the demo needs it
last (stage 05); the demo's stage 03 trains the CLIP meanwhile, and the CLIP test then
finds it built (one process builds a model at a time, the other waits).  The bands have
margin over what one machine measured; CPU kernels and thread counts move trained numbers.
"""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counting half (Mann-Whitney)."""
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def test_demo_base_vlm_learnt_to_see_and_to_describe():
    from vaselib.vlm import base_model as bm

    rec = bm.read_record(bm.ensure_base_model())
    assert rec["key"] == bm.DEFAULT_CONFIG.key()
    start, end = rec["history"][0], rec["history"][-1]
    n_val = rec["pretraining_data"]["validation_vases"]
    assert end["val_loss"] < 0.1 * start["val_loss"], (start, end)
    # read-outs of the vision tower on the validation vases, far above their start (chance)
    for part, band in (("look", 0.5), ("clay", 0.45), ("silhouette", 0.35)):
        assert end[f"val_acc_{part}"] >= band, \
            f"{part} read-out {end[f'val_acc_{part}']:.2f} on {n_val} validation vases"


def test_auc_by_hand():
    assert _auc(np.array([3.0, 2.0]), np.array([1.0, 2.0])) == pytest.approx((1 + 1 + 1 + .5) / 4)


def test_demo_clip_scores_unseen_intact_vases_above_their_fragments():
    import torch

    from vaselib.clip import demo_model as dm
    from vaselib.clip.backends import load_backend
    from vaselib.clip.params import HIGH_PROMPTS, LOW_PROMPTS

    _, record = dm.ensure_demo_model()
    assert record["key"] == dm.DEFAULT_CONFIG.key()
    assert record["loss_last"] < 0.75 * record["loss_first"], record
    backend = load_backend("open_clip", "vase-tiny-rn", "vaselib-synthetic",
                           torch.device("cpu"))
    # vases the CLIP never saw (another seed than its training corpus'), rendered like it
    config = dm.DemoTrainConfig(n_vases=12, fragments_per_vase=4, shards_every=0)
    images, labels = dm.training_images(config, seed=config.corpus_seed + 1)
    feats = backend.encode_images(torch.stack([backend.preprocess(im) for im in images]))

    def centre(prompts):   # stage 03's formula: the normalised mean of the raw features
        m = backend.text_features(list(prompts)).mean(0)
        return m / np.linalg.norm(m)

    score = feats @ centre(HIGH_PROMPTS) - feats @ centre(LOW_PROMPTS)
    fragment = np.array([lab["condition"] == "fragment" for lab in labels])
    profile = np.array([lab["view"] in ("front", "three_quarter", "side", "back")
                        for lab in labels])
    auc = _auc(score[~fragment & profile], score[fragment])
    n = int((~fragment & profile).sum()), int(fragment.sum())
    assert auc >= 0.90, f"intact-vs-fragment AUC {auc:.3f} on {n} held-out renders"
