"""The offline demo CLIP: captions, the training loss, caching, and (slow) its quality."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from vaselib.clip import demo_model as dm
from vaselib.clip.backends import load_backend


pytestmark = pytest.mark.usefixtures("isolated_clip")


def test_captions_state_completeness_and_only_true_attributes():
    rng = np.random.default_rng(0)
    label = {"condition": "intact", "view": "top", "technique": "red-figure", "shape": "hydria"}
    for _ in range(50):
        text, st = dm.caption_for(label, rng)
        assert st["condition"] == "intact" and st["view"] in (None, "top")
        assert any(w in text for w in dm.INTACT_WORDS)
        if st["technique"]:
            assert "red-figure" in text
        if st["view"] == "top":
            assert any(p in text for p in dm.VIEW_PHRASES["top"])
    frag = {**label, "condition": "fragment"}
    for _ in range(50):
        text, st = dm.caption_for(frag, rng)
        assert st["view"] is None and st["condition"] == "fragment"
        assert any(w in text for w in dm.BROKEN_WORDS + dm.PIECE_WORDS)


def test_consistency_targets_and_loss():
    v = dm._Vocab()
    labels = torch.tensor([v.encode({"condition": "intact", "view": "front", "technique": "a",
                                     "shape": "x"}),
                           v.encode({"condition": "intact", "view": "top", "technique": "b",
                                     "shape": "x"}),
                           v.encode({"condition": "fragment", "view": "front", "technique": "a",
                                     "shape": "y"})])
    stated = torch.tensor([v.encode({"condition": "intact"}),              # fits 0 and 1
                           v.encode({"condition": "intact", "view": "top"}),  # fits 1
                           v.encode({"condition": "fragment", "technique": "a"})])  # fits 2
    m = dm.consistency(stated, labels)
    assert m.tolist() == [[True, True, False], [False, True, False], [False, False, True]]
    img = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    good = dm.contrastive_loss(img, img.clone(), torch.tensor(20.0), torch.eye(3, dtype=bool))
    bad = dm.contrastive_loss(img, img.flip(0), torch.tensor(20.0), torch.eye(3, dtype=bool))
    assert good < bad


def test_tiny_demo_training_is_cached_and_loadable(monkeypatch):
    ckpt, info = dm.ensure_demo_model("vase-micro-vit")
    assert ckpt.is_file() and info["config"]["arch"] == "vase-micro-vit"
    assert (ckpt.parent / "open_clip_config.json").is_file()
    assert "not a pretrained CLIP" in info["description"]
    monkeypatch.setattr(dm, "train", lambda *a, **k: pytest.fail("retrained a cached model"))
    again, _ = dm.ensure_demo_model("vase-micro-vit")
    assert again == ckpt
    b = load_backend("open_clip", "vase-micro-vit", dm.PRETRAINED_TAG, torch.device("cpu"))
    assert "trained locally" in b.weights and "synthetic renders" in b.description
    # the cache entry is also plain open_clip: loadable with its local-dir schema
    import open_clip

    m, _, _ = open_clip.create_model_and_transforms(f"local-dir:{ckpt.parent}")
    x = torch.zeros(1, 3, 32, 32)
    with torch.no_grad():
        np.testing.assert_allclose(m.encode_image(x).numpy(),
                                   b.model.encode_image(x).numpy(), atol=1e-6)


def test_training_config_key_changes_with_the_config():
    from dataclasses import replace

    assert dm.DEFAULT_CONFIG.key() == dm.DemoTrainConfig().key()
    assert replace(dm.DEFAULT_CONFIG, steps=1).key() != dm.DEFAULT_CONFIG.key()
    assert dm.model_folder(dm.DEFAULT_CONFIG).name.startswith("clip-vase-tiny-rn-")


def test_demo_weights_only_exist_for_vaselib_architectures():
    from vaselib.clip.backends import BackendError

    with pytest.raises(BackendError, match="exists only for"):
        load_backend("open_clip", "ViT-B-32", dm.PRETRAINED_TAG, torch.device("cpu"))
