"""Helpers for the CLIP tests (imported explicitly: ``from conftest_clip import ...``)."""
from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from PIL import Image

HIGH = ["a complete intact vase viewed from the front", "a whole undamaged vase in frontal view",
        "a perfect ceramic vase facing forward"]
LOW = ["broken vase fragments and pieces", "shattered ceramic vase debris"]


def vase_name(i: int, view: int, ext: str = "jpg") -> str:
    """A file name in the original's pattern, with a deterministic UUID per vase."""
    return f"{uuid.UUID(int=10_000 + i)}_{view}_ac001001.{ext}"


def write_images(root: Path, n_vases: int = 6, views: int = 2, size: int = 40, seed: int = 0,
                 sub: str = "") -> list[Path]:
    """Small random RGB images named like the original corpus (``<UUID>_<view>_ac001001``)."""
    rng = np.random.default_rng(seed)
    folder = root / sub if sub else root
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n_vases):
        for v in range(1, views + 1):
            arr = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            p = folder / vase_name(i, v, "png")
            Image.fromarray(arr).save(p)
            out.append(p)
    return out


def _bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def make_tiny_hf_clip(folder: Path, seed: int = 0) -> Path:
    """A tiny random HuggingFace-format CLIP folder (model, tokenizer, image processor)."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    try:
        from transformers import CLIPImageProcessorPil as Proc
    except ImportError:
        from transformers import CLIPImageProcessor as Proc

    chars = list(_bytes_to_unicode().values())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    cfg = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=48,
                         num_hidden_layers=1, num_attention_heads=2,
                         max_position_embeddings=80, bos_token_id=0, eos_token_id=1,
                         pad_token_id=1),
        vision_config=dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=48,
                           num_hidden_layers=1, num_attention_heads=2),
        projection_dim=16)
    torch.manual_seed(seed)
    model = CLIPModel(cfg).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    Proc(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
