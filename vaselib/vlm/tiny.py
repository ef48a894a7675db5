"""A tiny, random, offline Qwen2.5-VL checkpoint for the demo and the tests.

Real runs fine-tune Qwen2.5-VL-3B/7B-Instruct; this machine has no GPU and no model hub.
:func:`ensure_tiny_model` builds, once, a checkpoint with exactly Qwen2.5-VL's layout
(``Qwen2_5_VLForConditionalGeneration``, its processor, chat template and special-token
ids) but a few hundred thousand useful parameters, so ms-swift's ``qwen2_5_vl`` template,
LoRA, GRPO, merge and export run through the same code paths as for the real model.

- Tokenizer: a byte-level BPE trained here (``tokenizers``) on vase-caption text made from
  :mod:`vaselib.vocabulary`, padded with unreachable filler entries so that Qwen's special
  tokens keep their real ids (``<|endoftext|>`` 151643, ``<|im_start|>`` 151644,
  ``<|im_end|>`` 151645, ``<|vision_start|>`` 151652, ``<|image_pad|>`` 151655,
  ``<|video_pad|>`` 151656 …) and the vocabulary has Qwen2.5-VL-3B's 151,936 rows.
- Model: text hidden 64, 2 layers; vision depth 2, patch 14, spatial merge 2, temporal
  patch 2, ``out_hidden_size`` = text hidden.  The language-model head is untied; its rows
  for ids no text can produce are zero, and every token embedding carries a constant
  feature that the rows of real tokens read, so a random model still samples real tokens
  (caption fragments and ``<|im_end|>``), not filler ids.
- Deterministic from ``seed``; cached under ``runs.cache_dir("models")/tiny-qwen2.5-vl``;
  built into a temporary folder and renamed, so a half-written model is never used.

The weights are random: captions it writes before training are word salad.  The point is
to exercise the pipeline, not to describe vases.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from vaselib import runs, vocabulary

NAME = "tiny-qwen2.5-vl"
VOCAB_SIZE = 151936
FIRST_SPECIAL_ID = 151643
# Qwen2.5's special tokens in id order from 151643.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)
SPECIAL_IDS: dict[str, int] = {t: FIRST_SPECIAL_ID + i for i, t in enumerate(SPECIAL_TOKENS)}
TEXT_HIDDEN = 64
BPE_VOCAB = 2048
# The size of the stored image side used by the demo (pixels); images are resized by the
# processor / qwen_vl_utils to multiples of 28 within MAX_PIXELS.
DEMO_MAX_PIXELS = 224 * 224
HEAD_SCALE = 25.0  # real-token head rows: std 0.02 * 25 = 0.5 outside the constant feature
BUILD_VERSION = 2  # bump when the recipe changes: cached models are rebuilt

# Qwen2-VL / Qwen2.5-VL chat template (the public one, without tool calls).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def default_dir(seed: int = 0) -> Path:
    """Where the tiny model for ``seed`` is cached."""
    name = NAME if seed == 0 else f"{NAME}-seed{seed}"
    return runs.cache_dir("models") / name


def is_tiny(model_dir: str | Path) -> bool:
    """True when ``model_dir`` holds a model built by this module."""
    return (Path(model_dir) / "vaselib_tiny.json").is_file()


def training_text(seed: int = 0, n: int = 3000) -> list[str]:
    """Caption-like sentences from the domain vocabulary (the tokenizer's training text)."""
    rng = random.Random(seed)
    v = vocabulary
    lines = [vocabulary.CAPTION_PROMPT, "You are a helpful assistant.",
             " ".join(v.FABRICS), " ".join(v.TECHNIQUES), " ".join(v.SHAPES),
             " ".join(v.PAINTERS), " ".join(v.FIND_SPOTS), " ".join(v.COLLECTIONS),
             " ".join(v.ORNAMENTS), " ".join(v.SUBJECTS)]
    for _ in range(n):
        start = -rng.randrange(300, 800, 25)
        end = start + rng.choice((25, 50, 75))
        era = f"c. {-start}–{-end} BCE" if end < 0 else f"c. {-start} BCE–{end} CE"
        where = rng.choice(v.FIND_SPOTS + v.COLLECTIONS)
        lines.append(
            f"{rng.choice(list(v.FABRICS))} {rng.choice(list(v.TECHNIQUES))} "
            f"{rng.choice(list(v.SHAPES))}, {era}, depicting {rng.choice(v.SUBJECTS)} "
            f"with {rng.choice(v.ORNAMENTS)}; attributed to the {rng.choice(v.PAINTERS)}; "
            f"{where}.")
    return lines


def build_tokenizer(seed: int = 0, extra_text: Sequence[str] = (), vocab_size: int = BPE_VOCAB):
    """A ``Qwen2Tokenizer`` with a locally trained BPE and Qwen's special-token ids.

    The BPE learns from :func:`training_text` plus ``extra_text`` (the pretrained demo model
    adds its generic descriptions, :mod:`vaselib.vlm.base_model`)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import AddedToken, Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(training_text(seed) + list(extra_text), trainer=trainer)
    spec = json.loads(bpe.to_str())["model"]
    vocab: dict[str, int] = dict(spec["vocab"])
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in spec["merges"]]
    n_real = len(vocab)
    # Filler entries no merge can produce keep the special tokens at their real ids.
    for i in range(n_real, FIRST_SPECIAL_ID):
        vocab[f"<|vaselib_unused_{i}|>"] = i
    for tok, idx in SPECIAL_IDS.items():
        vocab[tok] = idx
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None,
                         eos_token="<|im_end|>", pad_token="<|endoftext|>",
                         model_max_length=32768, errors="replace")
    tok.add_special_tokens({"additional_special_tokens": [
        AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS
        if t not in ("<|im_end|>", "<|endoftext|>")]})
    tok.chat_template = CHAT_TEMPLATE
    for t, idx in SPECIAL_IDS.items():
        got = tok.convert_tokens_to_ids(t)
        if got != idx:
            raise RuntimeError(f"tiny tokenizer: {t} has id {got}, expected {idx}")
    return tok, n_real


def build_config(n_real: int | None = None, *, text_hidden: int = TEXT_HIDDEN,
                 text_intermediate: int = 128, text_layers: int = 2, text_heads: int = 4,
                 text_kv_heads: int = 2, vision_hidden: int = 32, vision_intermediate: int = 64,
                 vision_depth: int = 2, vision_heads: int = 2):
    """Qwen2.5-VL's configuration at tiny sizes (the defaults: the random test model)."""
    from transformers import Qwen2_5_VLConfig

    # rotary pairs per head, split time / height / width 1 : 1.5 : 1.5 like Qwen's [16, 24, 24]
    half = text_hidden // text_heads // 2
    rest = half - half // 4
    mrope = [half // 4, rest - rest // 2, rest // 2]
    text = dict(
        vocab_size=VOCAB_SIZE, hidden_size=text_hidden, intermediate_size=text_intermediate,
        num_hidden_layers=text_layers, num_attention_heads=text_heads,
        num_key_value_heads=text_kv_heads,
        max_position_embeddings=32768, max_window_layers=text_layers, rms_norm_eps=1e-6,
        hidden_act="silu", use_sliding_window=False, sliding_window=None,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                         "mrope_section": mrope},
        bos_token_id=SPECIAL_IDS["<|endoftext|>"], eos_token_id=SPECIAL_IDS["<|im_end|>"],
        pad_token_id=SPECIAL_IDS["<|endoftext|>"], tie_word_embeddings=False,
        initializer_range=0.02)
    vision = dict(
        depth=vision_depth, hidden_size=vision_hidden, intermediate_size=vision_intermediate,
        num_heads=vision_heads, in_channels=3,
        out_hidden_size=text_hidden, patch_size=14, spatial_merge_size=2,
        temporal_patch_size=2, window_size=112,
        fullatt_block_indexes=list(range(1, vision_depth, 2)),
        tokens_per_second=2, hidden_act="silu", initializer_range=0.02)
    return Qwen2_5_VLConfig(
        text_config=text, vision_config=vision,
        image_token_id=SPECIAL_IDS["<|image_pad|>"], video_token_id=SPECIAL_IDS["<|video_pad|>"],
        vision_start_token_id=SPECIAL_IDS["<|vision_start|>"],
        vision_end_token_id=SPECIAL_IDS["<|vision_end|>"],
        tie_word_embeddings=False, architectures=["Qwen2_5_VLForConditionalGeneration"])


def usable_token_ids(n_real: int) -> list[int]:
    """Ids a sampled caption may contain: the trained BPE tokens and ``<|im_end|>``."""
    return list(range(n_real)) + [SPECIAL_IDS["<|im_end|>"]]


def build_model(n_real: int, seed: int = 0):
    """The random model: Qwen2.5-VL layout, zero head rows for ids no text produces."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(seed)
    config = build_config(n_real)
    model = Qwen2_5_VLForConditionalGeneration(config).to(torch.float32).eval()
    with torch.no_grad():
        emb = model.get_input_embeddings().weight
        head = model.get_output_embeddings().weight
        # A constant "bias" feature in dimension 0 of every token embedding survives the
        # (small, random) layers and the final RMSNorm as a large positive activation; the
        # head rows of usable tokens read it, the other rows are zero.  Real tokens thus
        # score ~+15 above filler ids and sampling at temperature 1 yields real text.
        emb[:, 0] = 1.0
        keep = torch.zeros(VOCAB_SIZE, dtype=torch.bool)
        keep[usable_token_ids(n_real)] = True
        head[~keep] = 0.0
        head[keep, 1:] *= HEAD_SCALE  # room for training to prefer some tokens over others
        head[keep, 0] = 2.0
    return model


def build_processor(tokenizer, max_pixels: int = DEMO_MAX_PIXELS):
    from transformers import (Qwen2_5_VLProcessor, Qwen2VLImageProcessor,
                              Qwen2VLVideoProcessor)

    size = {"shortest_edge": 56 * 56, "longest_edge": max_pixels}
    image = Qwen2VLImageProcessor(size=size, patch_size=14, temporal_patch_size=2, merge_size=2)
    video = Qwen2VLVideoProcessor(size=size, patch_size=14, temporal_patch_size=2, merge_size=2)
    return Qwen2_5_VLProcessor(image_processor=image, tokenizer=tokenizer,
                               video_processor=video, chat_template=CHAT_TEMPLATE)


def _write(folder: Path, seed: int) -> None:
    from transformers import GenerationConfig

    tok, n_real = build_tokenizer(seed)
    model = build_model(n_real, seed)
    model.generation_config = GenerationConfig(
        bos_token_id=SPECIAL_IDS["<|endoftext|>"], pad_token_id=SPECIAL_IDS["<|endoftext|>"],
        eos_token_id=[SPECIAL_IDS["<|im_end|>"], SPECIAL_IDS["<|endoftext|>"]], do_sample=False)
    model.save_pretrained(folder)
    build_processor(tok).save_pretrained(folder)
    tok.save_pretrained(folder)
    runs.write_json(folder / "vaselib_tiny.json", {
        "name": NAME, "seed": seed, "build_version": BUILD_VERSION,
        "bpe_tokens": n_real, "vocab_size": VOCAB_SIZE, "text_hidden": TEXT_HIDDEN,
        "note": "random weights; built by vaselib.vlm.tiny for the offline demo and tests",
    })


def ensure_tiny_model(seed: int = 0, folder: str | Path | None = None) -> Path:
    """The tiny model's folder, built on first use (atomically: temp folder + rename)."""
    folder = Path(folder) if folder is not None else default_dir(seed)
    marker = folder / "vaselib_tiny.json"
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        if info.get("build_version") == BUILD_VERSION and info.get("seed") == seed:
            return folder
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        _write(tmp, seed)
        try:
            tmp.rename(folder)
        except OSError:  # another process finished first: use its copy
            if not (folder / "vaselib_tiny.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def is_small(model: str | Path) -> bool:
    """True for a local model folder whose language model is tiny (this module's, or one
    merged/trained from it): such models run fastest on one CPU thread."""
    cfg = runs.resolve(model) / "config.json"
    if not cfg.is_file():
        return False
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    hidden = (data.get("text_config") or {}).get("hidden_size", data.get("hidden_size"))
    return isinstance(hidden, int) and hidden <= 256


def thread_env(model: str | Path) -> dict[str, str]:
    """``OMP_NUM_THREADS=1`` for a tiny model unless the environment chose a value.

    On a small shared CPU, OpenMP threads of a tiny model's many small matrix products spin
    against other processes: measured here, 20 demo SFT steps took 27 s with 2 threads under
    load and 4.5 s with 1 (identical losses).
    """
    if os.environ.get("OMP_NUM_THREADS") or not is_small(model):
        return {}
    return {"OMP_NUM_THREADS": "1"}
