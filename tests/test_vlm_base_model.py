"""The pretrained demo base VLM (vaselib.vlm.base_model) and the batched captioner."""
from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch

from vaselib.vlm import base_model as bm
from vaselib.vlm import tiny


def test_config_key_names_the_weights():
    a, b = bm.BaseModelConfig(), bm.BaseModelConfig()
    assert a.key() == b.key() and len(a.key()) == 12
    assert replace(a, steps=a.steps + 1).key() != a.key()
    assert bm.model_folder(a).name == f"{bm.NAME}-{a.key()}"
    assert set(a.dims()) <= set(a.__dataclass_fields__)


def test_neutral_rows_get_the_trained_rows_norm():
    torch.manual_seed(0)
    w = torch.randn(10, 4) * 0.02
    w[:3] = torch.tensor([[3.0, 4.0, 0, 0], [0, 0, 6.0, 8.0], [0, 5.0, 0, 0]])  # norms 5, 10, 5
    before = w.clone()
    changed = bm.neutral_input_rows(w, real_ids=range(8), seen_ids=[0, 1, 2], seed=0)
    assert changed == 5                                   # rows 3..7: real but never read
    assert torch.equal(w[:3], before[:3]) and torch.equal(w[8:], before[8:])
    assert torch.allclose(w[3:8].norm(dim=1), torch.full((5,), 20 / 3))
    assert bm.neutral_input_rows(w, range(3), [0, 1, 2]) == 0


def test_neutral_head_zeroes_the_rows_of_tokens_never_written():
    w = torch.tensor([[1.0, 2.0], [-3.0, -4.0], [5.0, 0.0], [0.0, 0.0], [-7.0, 1.0]])
    before = w.clone()
    changed = bm.neutral_head_rows(w, written_ids=[0, 2])
    assert changed == 2                                   # rows 1 and 4; row 3 was zero
    assert torch.equal(w[[0, 2]], before[[0, 2]])
    assert torch.equal(w[[1, 3, 4]], torch.zeros(3, 2))


def test_augmented_copies_keep_size_and_backdrop():
    import numpy as np
    from PIL import Image

    img = Image.new("RGB", (56, 56), (200, 190, 180))
    img.paste((20, 20, 20), (20, 10, 36, 46))
    out = bm.augmented(img, np.random.default_rng(0))
    assert out.size == img.size
    arr = np.asarray(out)
    assert tuple(arr[0, 0]) == (200, 190, 180)             # corners stay backdrop
    assert (arr.sum(2) < 150).sum() > 200                  # the dark vase is still there


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The test configuration, pretrained (seconds) into a temporary data folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VASELIB_DATA", str(tmp_path_factory.mktemp("data")))
        yield bm.ensure_base_model(bm.TEST_CONFIG)


@pytest.mark.slow
def test_exact_full_vocabulary_loss_with_a_compact_head():
    """sequence_loss over the used rows + log(n_zero) equals the plain cross-entropy of the
    full 151,936-way head (computed by transformers' own forward)."""
    from vaselib.vlm import demo_data

    cfg = bm.TEST_CONFIG
    model, tok, proc, n_real = bm.build(cfg)
    with torch.no_grad():  # non-trivial head rows for the usable ids
        head = model.get_output_embeddings().weight
        ids = torch.tensor(tiny.usable_token_ids(n_real))
        head[ids] = torch.randn(len(ids), head.shape[1]) * 0.5
    model.eval()
    ex = demo_data.pretrain_examples(3, cfg.corpus_seed, cfg.image_size)
    pixels, grid, seqs = bm.encode_examples(ex, tok, proc, cfg.image_size)
    batch = bm._batch([0, 1, 2], pixels, grid, seqs)
    emb_ids = torch.tensor(sorted(set(range(n_real)) | set(tiny.SPECIAL_IDS.values())))
    emb = bm._CompactEmbedding(model.get_input_embeddings().weight.data, emb_ids)
    n_zero = tiny.VOCAB_SIZE - len(ids)
    with torch.no_grad():
        ours = bm.sequence_loss(model, emb, head[ids], ids, n_zero, *batch)
        input_ids, mask, labels, pv, g = batch
        logits = model(input_ids=input_ids, attention_mask=mask, pixel_values=pv,
                       image_grid_thw=g).logits
        ref = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                labels[:, 1:].reshape(-1), ignore_index=-100)
    assert float(ours) == pytest.approx(float(ref), rel=1e-4)
    with bm._LinearPatchEmbed(model), torch.no_grad():  # the matrix-product patch embedding
        again = bm.sequence_loss(model, emb, head[ids], ids, n_zero, *batch)
    assert float(again) == pytest.approx(float(ours), rel=1e-4)
    assert "forward" not in vars(model.model.visual.patch_embed)  # restored
    assert math.log(tiny.VOCAB_SIZE) == pytest.approx(11.93, abs=0.01)


@pytest.mark.slow
def test_base_model_is_cached_with_its_record(small):
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    folder = small
    rec = bm.read_record(folder)
    assert rec["key"] == bm.TEST_CONFIG.key() and rec["architecture"] == \
        "Qwen2_5_VLForConditionalGeneration"
    assert "never seen the domain's caption style" in rec["description"]
    assert rec["pretraining_data"]["vases"] == bm.TEST_CONFIG.n_vases
    assert [h["phase"] for h in rec["history"]][0] == "start"
    assert tiny.is_tiny(folder) and tiny.is_small(folder)
    assert bm.ensure_base_model(bm.TEST_CONFIG) == folder          # cached
    # no build folder left behind (the lock file that serialises builds stays, empty)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".") and p.is_dir()]
    proc = AutoProcessor.from_pretrained(folder)
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(folder)
    assert model.config.text_config.vocab_size == tiny.VOCAB_SIZE
    assert proc.tokenizer.convert_tokens_to_ids("<|image_pad|>") == 151655
    head = model.get_output_embeddings().weight
    # the head rows left: the tokens of the pretraining descriptions and <|im_end|>
    from vaselib.vlm import demo_data

    config = bm.TEST_CONFIG
    texts = [e["description"] for e in demo_data.pretrain_examples(
        config.n_vases, config.corpus_seed, config.image_size, render=False)]
    written = {t for x in texts for t in proc.tokenizer(x, add_special_tokens=False)["input_ids"]}
    written.add(tiny.SPECIAL_IDS["<|im_end|>"])
    nonzero = set((head.abs().sum(1) != 0).nonzero()[:, 0].tolist())
    assert nonzero == written
    assert rec["neutral_head_rows"] > 0
    assert set(rec["text_readout_accuracy"]) == set(demo_data.DESCRIPTION_PARTS)
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["architectures"] == ["Qwen2_5_VLForConditionalGeneration"]


@pytest.mark.slow
def test_batched_greedy_captions_match_one_at_a_time(small, tmp_path):
    from vaselib.vlm import captioning, demo_data

    ex = demo_data.pretrain_examples(3, seed=4242, image_size=56)
    paths = []
    for i, e in enumerate(ex):
        paths.append(tmp_path / f"{i}.jpg")
        e["image"].save(paths[-1], quality=92)
    together = captioning.caption_batch(small, paths, max_new_tokens=12, batch_size=3,
                                        max_pixels=56 * 56)
    alone = [captioning.caption_batch(small, [p], max_new_tokens=12, batch_size=1,
                                      max_pixels=56 * 56).captions[0] for p in paths]
    assert together.captions == alone and together.threads == 1
    out = captioning.write_generated(tmp_path / "gen.json", paths, together.captions)
    assert json.loads(out.read_text())[0] == {"images": ["0.jpg"],
                                              "caption": together.captions[0]}


def test_a_second_process_waits_for_the_build_under_way(tmp_path, monkeypatch):
    """Two processes asking for the same base model: one builds, the other uses its copy."""
    import multiprocessing as mp

    from vaselib.vlm import base_model as bm

    monkeypatch.setenv("VASELIB_DATA", str(tmp_path))
    calls = tmp_path / "builds.txt"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_ensure_and_count, args=(str(tmp_path), str(calls)))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    assert calls.read_text().count("built") == 1         # one training run, not two
    assert bm.read_record(tmp_path / "m")["key"] == bm.TEST_CONFIG.key()


def _ensure_and_count(data: str, calls: str) -> None:
    import os

    os.environ["VASELIB_DATA"] = data
    from vaselib.vlm import base_model as bm

    real = bm.train

    def counted(config, progress=False):
        with open(calls, "a") as f:
            f.write("built\n")
        return real(config, progress=progress)

    bm.train = counted
    bm.ensure_base_model(bm.TEST_CONFIG, folder=os.path.join(data, "m"))
