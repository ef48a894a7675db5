"""The tiny offline Qwen2.5-VL: Qwen's token ids, vocabulary, untied head, loads and generates."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from vaselib.vlm import tiny


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VASELIB_DATA", str(tmp_path_factory.mktemp("data")))
        yield tiny.ensure_tiny_model()


@pytest.fixture(scope="module")
def loaded(tiny_dir):
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    return (AutoProcessor.from_pretrained(tiny_dir),
            Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_dir).eval())


def test_tokenizer_keeps_qwen_special_ids():
    tok, n_real = tiny.build_tokenizer(seed=0)
    expected = {t: 151643 + i for i, t in enumerate(tiny.SPECIAL_TOKENS)}
    assert {t: tok.convert_tokens_to_ids(t) for t in expected} == expected
    assert len(tok) == 151643 + len(tiny.SPECIAL_TOKENS)
    assert 256 < n_real < tiny.FIRST_SPECIAL_ID
    ids = tok("<|im_start|>user\nAttic red-figure kylix<|im_end|>")["input_ids"]
    assert ids[0] == 151644 and ids[-1] == 151645 and max(ids[1:-1]) < n_real


@pytest.mark.slow
def test_saved_processor_keeps_qwen_ids(loaded):
    proc, _ = loaded
    tok = proc.tokenizer
    expected = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
                "<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|image_pad|>": 151655,
                "<|video_pad|>": 151656}
    assert {t: tok.convert_tokens_to_ids(t) for t in expected} == expected
    assert tok.eos_token == "<|im_end|>" and tok.pad_token_id == 151643
    text = "Athenian black-figure lekythos, c. 525–475 BCE; Marathon, Attica."
    ids = tok(text)["input_ids"]
    assert tok.decode(ids) == text
    assert max(ids) < tiny.FIRST_SPECIAL_ID  # ordinary text never hits filler or special ids


@pytest.mark.slow
def test_config_vocab_and_untied_head_with_zero_rows(tiny_dir, loaded):
    _, model = loaded
    cfg = model.config
    assert cfg.text_config.vocab_size == tiny.VOCAB_SIZE == 151936
    assert cfg.text_config.hidden_size == 64 and cfg.text_config.num_hidden_layers == 2
    v = cfg.vision_config
    assert (v.depth, v.patch_size, v.spatial_merge_size, v.temporal_patch_size) == (2, 14, 2, 2)
    assert v.out_hidden_size == cfg.text_config.hidden_size
    assert (cfg.image_token_id, cfg.video_token_id, cfg.vision_start_token_id) == (
        151655, 151656, 151652)
    head = model.get_output_embeddings().weight
    assert not cfg.tie_word_embeddings
    assert head.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    n_real = json.loads((tiny_dir / "vaselib_tiny.json").read_text())["bpe_tokens"]
    zero = head.abs().sum(1) == 0
    usable = torch.tensor(tiny.usable_token_ids(n_real))
    assert not zero[usable].any()
    assert int(zero.sum()) == tiny.VOCAB_SIZE - len(usable)
    assert zero[tiny.SPECIAL_IDS["<|image_pad|>"]] and zero[n_real]


@pytest.mark.slow
def test_chat_template_and_sampling_yield_real_tokens(tiny_dir, loaded):
    proc, model = loaded
    n_real = json.loads((tiny_dir / "vaselib_tiny.json").read_text())["bpe_tokens"]
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (112, 112, 3),
                                                            dtype=np.uint8))
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe"}]}]
    text = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>")
    assert "<|vision_start|><|image_pad|><|vision_end|>Describe<|im_end|>" in text
    inputs = proc(text=[text], images=[img], return_tensors="pt")
    assert int((inputs["input_ids"] == 151655).sum()) == 16  # 112 px: 8x8 patches / 2x2 merge
    torch.manual_seed(0)
    out = model.generate(**inputs, max_new_tokens=24, do_sample=True, temperature=1.0)
    new = out[0, inputs["input_ids"].shape[1]:]
    assert len(new) > 0
    assert all(int(t) < n_real or int(t) == 151645 for t in new)


@pytest.mark.slow
def test_build_is_cached_and_deterministic(tiny_dir, tmp_path):
    again = tiny.ensure_tiny_model()
    assert again == tiny_dir  # cached: returned without rebuilding
    assert not [p for p in tiny_dir.parent.iterdir() if p.name.startswith(".")]  # no temp dirs
    other = tiny.ensure_tiny_model(folder=tmp_path / "copy")
    from safetensors.torch import load_file

    a, b = load_file(tiny_dir / "model.safetensors"), load_file(other / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tiny_dir / "tokenizer.json").read_text() == (other / "tokenizer.json").read_text()
    assert tiny.is_small(tiny_dir) and tiny.is_tiny(tiny_dir)
