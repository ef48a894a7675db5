"""The offline demo's base VLM: a small Qwen2.5-VL that vaselib pretrains once to *see*.

No pretrained Qwen2.5-VL can be downloaded offline, and a random one learns nothing from a
few hundred vases on a CPU.  So, like the demo CLIP (:mod:`vaselib.clip.demo_model`), vaselib
builds its own base model: exactly Qwen2.5-VL's layout (``Qwen2_5_VLForConditionalGeneration``,
Qwen's special-token ids, chat template and processor, 151,936 vocabulary rows; see
:mod:`vaselib.vlm.tiny`) at a small size, and trains it here on a **pretraining corpus** of
synthetic vase photographs from its own seed (:data:`vaselib.vlm.demo_data.PRETRAIN_SEED`),
each paired with a generic prompt ("What does this picture show?") and a *generic*
description (:func:`vaselib.vlm.demo_data.generic_description`): colours of figures and
ground, silhouette, handles, proportions, what is painted, the view — never the domain's
names of fabrics, techniques, shapes, painters, places or myths.  The result sees technique
colours, silhouettes and pictures, and describes them in plain words; it does not know the
caption style of VaseVQA-3D.  Stage 05 (SFT) teaches that.

Training (in-process, plain torch; ms-swift is for stages 05–07):

- everything trains (vision tower, merger, language model); AdamW, warm-up then cosine decay;
- phase 1 trains the vision tower alone through linear read-outs of the description parts
  (silhouette, look, clay, picture, border, view) from the pooled image tokens; phase 2 the
  language model, which writes the descriptions and, through a second set of read-outs, keeps
  those parts linearly readable from its last state at every answer token.  Fine-tuning on
  the domain's captions then has to learn new *words* for what the model already sees, not a
  new way to see it (see ``BaseModelConfig.text_readout``); the read-outs are not saved;
- the head rows of tokens it never wrote (the domain's words) are zeroed at the end
  (:func:`neutral_head_rows`), their input rows given the trained rows' scale
  (:func:`neutral_input_rows`): the base model's own behaviour is unchanged;
- the embedding and head rows outside the tokenizer's real tokens are neither used nor
  updated: the step reads and writes compact copies of the used rows, and the softmax over
  the full 151,936-entry vocabulary is computed exactly — the head rows of ids no text
  produces are zero, so their logits are 0 and enter the partition function as a constant
  ``log(n_zero)``.  A step costs what a 3,000-token vocabulary costs, and the saved model
  gives the same probabilities under ms-swift's full head;
- one torch thread (see :func:`vaselib.vlm.tiny.thread_env`), deterministic from the seeds.

The model is cached under ``runs.cache_dir("models")/vase-qwen2.5-vl-base-<hash>`` (the hash of
:class:`BaseModelConfig`), built in a temporary folder and renamed.  Its ``training.json``
says what it is: architecture, pretraining data, steps, losses, time, example outputs.
"""
from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vaselib import runs
from vaselib.vlm import demo_data, tiny

NAME = "vase-qwen2.5-vl-base"
MODEL_FORMAT = 2        # bump when the code changes what a configuration produces
RECORD_FILE = "training.json"
DEFAULT_SYSTEM = "You are a helpful assistant."  # the chat template's and ms-swift's default


@dataclass(frozen=True)
class BaseModelConfig:
    """Everything that decides the base model's weights (its hash names the cache entry)."""

    # language model
    text_hidden: int = 64
    text_layers: int = 4
    text_heads: int = 4
    text_kv_heads: int = 2
    text_intermediate: int = 256
    # vision tower (patch 14, 2 x 2 merge, like Qwen2.5-VL)
    vision_hidden: int = 64
    vision_depth: int = 3
    vision_heads: int = 2
    vision_intermediate: int = 128
    image_size: int = demo_data.IMAGE_SIZE
    # tokenizer
    bpe_vocab: int = 3072
    tokenizer_texts: int = 2000       # generic descriptions added to the BPE's training text
    # pretraining corpus and schedule
    n_vases: int = demo_data.DEMO_PRETRAIN_VASES
    corpus_seed: int = demo_data.PRETRAIN_SEED
    flip: bool = True                 # mirrored copies of the photographs as augmentation
    augment_copies: int = 2           # shifted / rescaled copies of every photograph
    # phase 1: vision tower + part read-outs only (~2.5 min). Measured (one run each, SFT
    # as stage 05's demo profile, 256 held-out vases): 1,000 vases with 300 + 300 steps ->
    # read-outs silhouette 0.58, look 0.70, SFT technique 0.51, reward 0.25; 3,000 vases
    # with 2,000 + 1,000 steps -> 0.93, 0.83, SFT technique 0.63, reward 0.31 (2 epochs)
    vision_steps: int = 2000
    vision_batch: int = 32
    vision_lr: float = 3e-3
    steps: int = 1000                 # phase 2: the language model writes descriptions (~2 min)
    batch_size: int = 16
    lr: float = 3e-3
    min_lr_ratio: float = 0.05
    # phase 2 also trains linear read-outs of the description parts from the language model's
    # last states at every answer token, with this weight (0 = none): what the picture shows
    # stays linearly readable wherever the model writes, so that fine-tuning can learn new
    # words for it. Stage 05 through ms-swift, 3 epochs, 256 held-out vases, one run each:
    # shape accuracy 0.28 without them, 0.60 with them (reward 0.35 -> 0.44), both with
    # modules_to_save_lr; at one learning rate 0.11 and 0.07
    text_readout: float = 1.0
    # zero the head rows of tokens pretraining never wrote (the domain's words), which its
    # softmax had pushed far down: fine-tuning starts them at a neutral logit
    neutral_head: bool = True
    warmup: int = 20
    weight_decay: float = 0.01
    seed: int = 0
    threads: int = 1

    def key(self) -> str:
        blob = json.dumps({**asdict(self), "format": MODEL_FORMAT,
                           "data_format": demo_data.SET_FORMAT}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def dims(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in (
            "text_hidden", "text_layers", "text_heads", "text_kv_heads", "text_intermediate",
            "vision_hidden", "vision_depth", "vision_heads", "vision_intermediate")}


DEFAULT_CONFIG = BaseModelConfig()
# A seconds-long configuration for tests (still the same code path).
TEST_CONFIG = BaseModelConfig(text_hidden=32, text_layers=1, text_intermediate=64,
                              vision_hidden=32, vision_depth=1, vision_heads=2,
                              vision_intermediate=64, image_size=56, bpe_vocab=1024,
                              tokenizer_texts=100, n_vases=24, vision_steps=3, vision_batch=4, augment_copies=1,
                              steps=6, batch_size=4, warmup=2)


def model_folder(config: BaseModelConfig = DEFAULT_CONFIG) -> Path:
    return runs.cache_dir("models") / f"{NAME}-{config.key()}"


def read_record(folder: str | Path) -> dict[str, Any]:
    """The ``training.json`` of a base-model folder."""
    return json.loads((Path(folder) / RECORD_FILE).read_text(encoding="utf-8"))


# ═══════════════════════════════════════════════════════════════════════════ building
def build(config: BaseModelConfig):
    """``(model, tokenizer, processor, n_real)``: the untrained model in Qwen2.5-VL's layout.

    Default initialisation (std 0.02) except the head rows of ids no text can produce
    (fillers and special tokens other than ``<|im_end|>``), which are zero.
    """
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    tok, n_real = tiny.build_tokenizer(
        config.seed, extra_text=demo_data.generic_texts(config.tokenizer_texts,
                                                        config.corpus_seed + 1),
        vocab_size=config.bpe_vocab)
    torch.manual_seed(config.seed)
    model_config = tiny.build_config(n_real, **config.dims())
    model = Qwen2_5_VLForConditionalGeneration(model_config).to(torch.float32)
    with torch.no_grad():
        head = model.get_output_embeddings().weight
        keep = torch.zeros(tiny.VOCAB_SIZE, dtype=torch.bool)
        keep[tiny.usable_token_ids(n_real)] = True
        head[~keep] = 0.0
    processor = tiny.build_processor(tok, max_pixels=config.image_size ** 2)
    return model, tok, processor, n_real


def _prefix_ids(tok, prompt: str, n_image_tokens: int, system: str = DEFAULT_SYSTEM
                ) -> list[int]:
    """Token ids of the conversation up to the assistant's answer, as ms-swift's qwen2_5_vl
    template writes it (the image placeholder expanded to ``n_image_tokens``)."""
    text = (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n<|vision_start|>"
            f"{'<|image_pad|>' * n_image_tokens}<|vision_end|>{prompt}<|im_end|>\n"
            f"<|im_start|>assistant\n")
    return tok(text, add_special_tokens=False)["input_ids"]


def encode_examples(examples: list[dict[str, Any]], tok, processor, image_size: int):
    """Pixel patches (one tensor, float16, ``[n, patches, 1176]``), grid and token sequences."""
    import torch

    out = processor.image_processor(images=[e["image"] for e in examples], return_tensors="pt")
    grid = out["image_grid_thw"]
    if not bool((grid == grid[0]).all()):
        raise ValueError("pretraining images must all have one size")
    per = int(grid[0].prod())
    pixels = out["pixel_values"].reshape(len(examples), per, -1).to(torch.float16)
    n_tokens = per // 4  # spatial merge 2 x 2
    end = tiny.SPECIAL_IDS["<|im_end|>"]
    prefixes: dict[str, list[int]] = {}
    seqs = []
    for e in examples:
        if e["prompt"] not in prefixes:
            prefixes[e["prompt"]] = _prefix_ids(tok, e["prompt"], n_tokens)
        pre = prefixes[e["prompt"]]
        answer = tok(e["description"], add_special_tokens=False)["input_ids"] + [end]
        seqs.append((pre, answer))
    return pixels, grid[0], seqs


# ═══════════════════════════════════════════════════════════════════════════ training
class _CompactEmbedding:
    """Read the used rows of a full embedding through an id → row table (and write back)."""

    def __init__(self, full: "torch.Tensor", ids: "torch.Tensor"):
        import torch

        self.ids = ids
        self.table = torch.full((full.shape[0],), -1, dtype=torch.long)
        self.table[ids] = torch.arange(len(ids))
        self.weight = torch.nn.Parameter(full[ids].clone())

    def __call__(self, input_ids):
        rows = self.table[input_ids]
        if bool((rows < 0).any()):
            raise ValueError("an input id outside the compact vocabulary")
        return self.weight[rows]


def _schedule(step: int, steps: int, config: BaseModelConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio``."""
    if step < config.warmup:
        return (step + 1) / config.warmup
    t = min(1.0, (step - config.warmup) / max(1, steps - config.warmup))
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def _batch(idx, pixels, grid, seqs):
    import torch

    pad = tiny.SPECIAL_IDS["<|endoftext|>"]
    length = max(len(seqs[i][0]) + len(seqs[i][1]) for i in idx)
    ids = torch.full((len(idx), length), pad, dtype=torch.long)
    mask = torch.zeros((len(idx), length), dtype=torch.long)
    labels = torch.full((len(idx), length), -100, dtype=torch.long)
    for r, i in enumerate(idx):
        pre, ans = seqs[i]
        n = len(pre) + len(ans)
        ids[r, :n] = torch.tensor(pre + ans)
        mask[r, :n] = 1
        labels[r, len(pre):n] = torch.tensor(ans)
    pv = pixels[idx].reshape(-1, pixels.shape[-1]).to(torch.float32)
    return ids, mask, labels, pv, grid.repeat(len(idx), 1)


def sequence_loss(model, emb: _CompactEmbedding, head_w, head_ids, n_zero: int, ids, mask,
                  labels, pv, grid, reduction: str = "mean", encoder_outputs=None):
    """Cross-entropy of the answer tokens under the full vocabulary (see the module doc).

    ``head_w`` are the head rows of ``head_ids`` (all other rows are zero: logit 0 each).
    """
    import torch

    inputs_embeds = emb(ids)
    extra = ({"mm_encoder_outputs": {"image": encoder_outputs}} if encoder_outputs is not None
             else {"pixel_values": pv})
    out = model.model(input_ids=ids, inputs_embeds=inputs_embeds, attention_mask=mask,
                      image_grid_thw=grid, use_cache=False, **extra)
    hidden = out.last_hidden_state[:, :-1]
    target = labels[:, 1:]
    sel = target != -100
    logits = hidden[sel] @ head_w.T
    const = torch.full((logits.shape[0], 1), math.log(n_zero), dtype=logits.dtype)
    lse = torch.logsumexp(torch.cat([logits, const], 1), 1)
    table = torch.full((tiny.VOCAB_SIZE,), -1, dtype=torch.long)
    table[head_ids] = torch.arange(len(head_ids))
    tgt = table[target[sel]]
    nll = lse - logits.gather(1, tgt[:, None])[:, 0]
    if reduction == "none":
        return nll, sel
    if reduction == "states":       # also the states that predicted them, and their rows
        return nll.mean(), hidden[sel], sel.nonzero()[:, 0]
    return nll.mean()


class _LinearPatchEmbed:
    """The vision tower's patch embedding (a Conv3d whose kernel equals its stride) computed
    as the equivalent matrix product: same weights, same numbers, and a backward pass that
    is ~5x faster on a CPU than the convolution's."""

    def __init__(self, model):
        self.embed = model.model.visual.patch_embed

    def __enter__(self):
        import torch.nn.functional as F

        e = self.embed
        w = e.proj.weight
        e.forward = lambda x: F.linear(x.reshape(-1, w[0].numel()).to(w.dtype),
                                       w.reshape(w.shape[0], -1))
        return self

    def __exit__(self, *exc):
        del self.embed.forward  # back to the class's forward


def train(config: BaseModelConfig = DEFAULT_CONFIG, *, progress: bool = False):
    """Build and pretrain the base model; ``(model, tokenizer, processor, record)``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(config, progress)
    finally:
        torch.set_num_threads(threads)


def neutral_input_rows(weight, real_ids, seen_ids, seed: int = 0) -> int:
    """Give the input embeddings of real tokens that pretraining never read (the domain's
    words: the base model never writes them) random directions with the typical norm of the
    trained rows, in place; returns how many rows changed.

    Untrained rows keep their tiny initial values (std 0.02), which a fine-tuned model could
    hardly tell apart as context; at the trained rows' scale they are as distinct as any
    other token from the first SFT step on.  Nothing the base model does changes: it never
    reads a token it never writes.
    """
    import torch

    seen = torch.zeros(weight.shape[0], dtype=torch.bool)
    seen[torch.as_tensor(seen_ids)] = True
    target = torch.zeros_like(seen)
    target[torch.as_tensor(real_ids)] = True
    target &= ~seen
    if not bool(target.any()) or not bool(seen.any()):
        return 0
    norm = weight[seen].norm(dim=1).mean()
    g = torch.Generator().manual_seed(seed + 11)
    fresh = torch.randn(int(target.sum()), weight.shape[1], generator=g)
    weight[target] = fresh / fresh.norm(dim=1, keepdim=True) * norm
    return int(target.sum())


def _part_labels(examples: list[dict[str, Any]]):
    """``[n, parts]`` indices of each example's description parts (see demo_data)."""
    import torch

    names = list(demo_data.DESCRIPTION_PARTS)
    rows = []
    for e in examples:
        parts = demo_data.description_parts(e["attributes"], e["view_kind"])
        rows.append([demo_data.DESCRIPTION_PARTS[k].index(parts[k]) for k in names])
    return torch.tensor(rows), names


class _PartReadout:
    """Linear read-outs of the description parts, one per part (training only).

    Phase 1 reads them from the pooled image tokens: a direct signal to the vision tower for
    what the descriptions say (silhouette, colours, picture, view) while the language model
    is still learning to write.  Phase 2 reads them from the language model's last states at
    every answer token (``text_readout``).  They are dropped when the model is saved.
    """

    def __init__(self, in_dim: int, seed: int):
        import torch

        g = torch.Generator().manual_seed(seed)
        sizes = [len(v) for v in demo_data.DESCRIPTION_PARTS.values()]
        self.sizes = sizes
        self.weight = torch.nn.Parameter(torch.randn(sum(sizes), in_dim, generator=g) * 0.02)
        self.bias = torch.nn.Parameter(torch.zeros(sum(sizes)))

    def parameters(self) -> list:
        return [self.weight, self.bias]

    def loss(self, x, labels):
        """Mean cross-entropy over the parts and each part's accuracy; ``x`` ``[n, in_dim]``,
        ``labels`` ``[n, parts]``."""
        import torch
        import torch.nn.functional as F

        logits = F.linear(x, self.weight, self.bias).split(self.sizes, 1)
        losses = [F.cross_entropy(lg, labels[:, i]) for i, lg in enumerate(logits)]
        accs = [(lg.argmax(1) == labels[:, i]).float().mean() for i, lg in enumerate(logits)]
        return torch.stack(losses).mean(), torch.stack(accs)


def _pooled(feats):
    """Mean and max over the image tokens: ``[b, tokens, hidden]`` -> ``[b, 2 * hidden]``."""
    import torch

    return torch.cat([feats.mean(1), feats.amax(1)], 1)


def neutral_head_rows(weight, written_ids) -> int:
    """Zero the head rows of the tokens pretraining never wrote, in place; returns how many
    rows changed.

    Every step of pretraining lowers the logits of tokens that are never the answer, so their
    rows end far below the others (the base model's validation loss on the domain's captions
    starts near 17 nats per token).  At zero, their logit is 0 whatever the state: below the
    words the model writes, above nothing, and a fine-tuning step moves them as easily as any
    other row.  Nothing the base model writes changes.
    """
    import torch

    written = torch.zeros(weight.shape[0], dtype=torch.bool)
    written[torch.as_tensor(written_ids)] = True
    changed = int((weight[~written] != 0).any(1).sum())
    weight[~written] = 0.0
    return changed


def _image_features(model, pv, grid):
    """Merged image tokens ``[b, tokens, hidden]`` and the encoder output to pass on."""
    import torch

    out = model.model.get_image_features(pv, grid, return_dict=True)
    return torch.stack(list(out.pooler_output)), out


def augmented(image, rng):
    """A shifted (±8 %), rescaled (±12 %) and maybe mirrored copy of a photograph, the
    backdrop's corner colour filling what moves into view."""
    from PIL import Image

    w = image.width
    s = float(rng.uniform(0.88, 1.12))
    dx, dy = (float(v) for v in rng.uniform(-0.07, 0.07, 2) * w)
    a, c = 1.0 / s, w / 2.0
    out = image.transform(image.size, Image.AFFINE,
                          (a, 0.0, c - a * c - dx, 0.0, a, c - a * c - dy),
                          resample=Image.BILINEAR, fillcolor=image.getpixel((1, 1)))
    return out.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else out


def _train(config: BaseModelConfig, progress: bool):
    import types

    import numpy as np
    import torch
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    model, tok, processor, n_real = build(config)
    t_build = time.perf_counter() - t0
    examples = demo_data.pretrain_examples(config.n_vases, config.corpus_seed, config.image_size)
    t_render = time.perf_counter() - t0 - t_build
    n_val = max(1, len(examples) // 20)
    pixels, grid, seqs = encode_examples(examples, tok, processor, config.image_size)
    # variants of every photograph: as rendered, mirrored, and shifted/rescaled copies
    variants = [pixels]
    aug_rng = np.random.default_rng([config.seed, 7])
    if config.flip:
        variants.append(encode_examples([{**e, "image": e["image"].transpose(0)}
                                         for e in examples], tok, processor,
                                        config.image_size)[0])
    for _ in range(config.augment_copies):
        variants.append(encode_examples([{**e, "image": augmented(e["image"], aug_rng)}
                                         for e in examples], tok, processor,
                                        config.image_size)[0])
    variants = torch.stack(variants)            # [variants, n, patches, 1176] float16
    part_labels, part_names = _part_labels(examples)
    t_encode = time.perf_counter() - t0 - t_build - t_render

    head_ids = torch.tensor(tiny.usable_token_ids(n_real))
    emb_ids = torch.tensor(sorted(set(range(n_real)) | set(tiny.SPECIAL_IDS.values())))
    n_zero = tiny.VOCAB_SIZE - len(head_ids)
    full_emb = model.get_input_embeddings().weight
    full_head = model.get_output_embeddings().weight
    emb = _CompactEmbedding(full_emb.data, emb_ids)
    head_w = torch.nn.Parameter(full_head.data[head_ids].clone())
    full_emb.requires_grad_(False)
    full_head.requires_grad_(False)
    readout = _PartReadout(2 * config.text_hidden, config.seed)
    vision = [p for p in model.model.visual.parameters() if p.requires_grad]
    vision_ids = {id(p) for p in vision}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in vision_ids]

    def groups(params, lr):
        return [{"params": [q for q in params if q.ndim >= 2], "weight_decay": config.weight_decay,
                 "lr": lr},
                {"params": [q for q in params if q.ndim < 2], "weight_decay": 0.0, "lr": lr}]

    gen = torch.Generator().manual_seed(config.seed)
    train_idx = torch.arange(n_val, len(examples))
    val_idx = list(range(n_val))
    patch = _LinearPatchEmbed(model).__enter__()
    n_var = variants.shape[0]

    def batches(size):
        perm, pos = train_idx[torch.randperm(len(train_idx), generator=gen)], 0
        while True:
            if pos + size > len(perm):
                perm, pos = train_idx[torch.randperm(len(train_idx), generator=gen)], 0
            idx = perm[pos:pos + size].tolist()
            pos += size
            yield idx, torch.randint(0, n_var, (len(idx),), generator=gen)

    def pixels_of(idx, var):
        return variants[var, idx].reshape(-1, pixels.shape[-1]).to(torch.float32)

    def evaluate() -> dict[str, float]:
        model.eval()
        with torch.no_grad():
            tot, cnt, accs = 0.0, 0, []
            for s in range(0, len(val_idx), 32):
                b = val_idx[s:s + 32]
                ids, mask, labels, pv, g = _batch(b, pixels, grid, seqs)
                feats, enc = _image_features(model, pv, g)
                accs.append(readout.loss(_pooled(feats), part_labels[b])[1] * len(b))
                nll, _ = sequence_loss(model, emb, head_w, head_ids, n_zero, ids, mask, labels,
                                       None, g, reduction="none", encoder_outputs=enc)
                tot, cnt = tot + float(nll.sum()), cnt + nll.numel()
        model.train()
        acc = (torch.stack(accs).sum(0) / len(val_idx)).tolist()
        return {"val_loss": round(tot / cnt, 4),
                **{f"val_acc_{k}": round(a, 3) for k, a in zip(part_names, acc)}}

    history = [{"phase": "start", "step": 0, **evaluate()}]
    model.train()

    # phase 1: the vision tower alone, through the read-outs (cheap steps, many images)
    t_vision = time.perf_counter()
    if config.vision_steps:
        opt = torch.optim.AdamW(groups(vision + readout.parameters(),
                                       config.vision_lr), betas=(0.9, 0.98))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: _schedule(s, config.vision_steps, config))
        it = batches(config.vision_batch)
        vlosses = []
        for step in tqdm(range(config.vision_steps), desc="pretrain vision",
                         disable=not progress):
            idx, var = next(it)
            feats, _ = _image_features(model, pixels_of(idx, var), grid.repeat(len(idx), 1))
            loss, _ = readout.loss(_pooled(feats), part_labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(vision, 1.0)
            opt.step()
            sched.step()
            vlosses.append(float(loss.detach()))
            if (step + 1) % max(1, config.vision_steps // 3) == 0:
                history.append({"phase": "vision", "step": step + 1,
                                "train_part_loss": round(float(np.mean(vlosses[-20:])), 4),
                                **evaluate()})
    t_vision = time.perf_counter() - t_vision

    # phase 2: the language model writes the descriptions; the vision tower is frozen, so
    # every variant's image tokens are computed once
    t_train = time.perf_counter()
    for q in vision:
        q.requires_grad_(False)
    with torch.no_grad():
        model.eval()
        cached = torch.cat([
            _image_features(model, variants[v, s:s + 64].reshape(-1, pixels.shape[-1]).float(),
                            grid.repeat(len(range(s, min(s + 64, len(examples)))), 1))[0][None]
            for v in range(n_var) for s in range(0, len(examples), 64)], 1)
        cached = cached.reshape(n_var, len(examples), *cached.shape[2:])
        model.train()
    text_readout = _PartReadout(config.text_hidden, config.seed + 1)
    extra = text_readout.parameters() if config.text_readout else []
    opt = torch.optim.AdamW(groups(body + [emb.weight, head_w] + extra, config.lr),
                            betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _schedule(s, config.steps, config))
    it = batches(config.batch_size)
    losses, ro_accs = [], []
    trained = body + [emb.weight, head_w]
    for step in tqdm(range(config.steps), desc="pretrain demo VLM", disable=not progress):
        idx, var = next(it)
        ids, mask, labels, _, g = _batch(idx, pixels, grid, seqs)
        enc = types.SimpleNamespace(pooler_output=list(cached[var, idx]))
        loss, states, rows = sequence_loss(model, emb, head_w, head_ids, n_zero, ids, mask,
                                           labels, None, g, encoder_outputs=enc,
                                           reduction="states")
        losses.append(float(loss.detach()))
        if config.text_readout:
            ro_loss, ro_acc = text_readout.loss(states, part_labels[idx][rows])
            ro_accs.append(ro_acc.detach())
            loss = loss + config.text_readout * ro_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        sched.step()
        if (step + 1) % max(1, config.steps // 4) == 0 or step + 1 == config.steps:
            history.append({"phase": "language", "step": step + 1,
                            "train_loss": round(float(np.mean(losses[-20:])), 4), **evaluate()})
    for q in vision:
        q.requires_grad_(True)
    t_train = time.perf_counter() - t_train
    patch.__exit__(None, None, None)
    with torch.no_grad():  # write the compact rows back into the full matrices
        full_emb[emb_ids] = emb.weight.detach()
        full_head[head_ids] = head_w.detach()
        seen = sorted({t for pre, ans in seqs for t in pre + ans})
        neutral_input_rows(full_emb, emb_ids, seen, config.seed)
        neutral_rows = (neutral_head_rows(full_head, sorted({t for _, ans in seqs for t in ans}))
                        if config.neutral_head else 0)
    model.eval()
    seen_epochs = config.steps * config.batch_size / len(train_idx)
    vision_epochs = config.vision_steps * config.vision_batch / len(train_idx)
    record = {
        "name": NAME, "key": config.key(), "config": asdict(config),
        "architecture": "Qwen2_5_VLForConditionalGeneration",
        "parameters": sum(p.numel() for p in model.parameters()),
        "parameters_used": sum(p.numel() for n, p in model.named_parameters()
                               if "embed_tokens" not in n and "lm_head" not in n)
        + emb.weight.numel() + head_w.numel(),
        "bpe_tokens": n_real, "vocab_size": tiny.VOCAB_SIZE,
        "pretraining_data": {
            "vases": len(examples), "validation_vases": n_val, "seed": config.corpus_seed,
            "image_size": config.image_size, "views": dict(demo_data.PRETRAIN_VIEWS),
            "mirrored": config.flip, "augmented_copies": config.augment_copies, "prompts": list(demo_data.GENERIC_PROMPTS),
            "description_parts": part_names,
            "example_descriptions": [e["description"] for e in examples[:5]]},
        "epochs": {"vision": round(vision_epochs, 2), "language": round(seen_epochs, 2)},
        "history": history,
        "loss_first": round(float(np.mean(losses[:10])), 4),
        "loss_last": round(float(np.mean(losses[-20:])), 4),
        # the language model's read-outs on its last 50 training batches (answer tokens)
        "text_readout_accuracy": ({k: round(a, 3) for k, a in zip(
            part_names, torch.stack(ro_accs[-50:]).mean(0).tolist())} if ro_accs else None),
        "neutral_head_rows": neutral_rows,
        "torch_threads": torch.get_num_threads(),
        "seconds": {"build": round(t_build, 1), "render": round(t_render, 1),
                    "encode": round(t_encode, 1), "vision": round(t_vision, 1),
                    "language": round(t_train, 1), "total": round(time.perf_counter() - t0, 1)},
        "description": (
            f"{NAME}: a small Qwen2.5-VL (text {config.text_layers} x {config.text_hidden}, "
            f"vision {config.vision_depth} x {config.vision_hidden}, {config.image_size} px "
            f"images = {int(grid.prod()) // 4} image tokens) pretrained by vaselib on this "
            f"machine on {len(examples)} synthetic vase photographs (seed "
            f"{config.corpus_seed}, disjoint from the demo's training and held-out vases) "
            f"with generic descriptions of colours, silhouette, handles, picture and view "
            f"({config.vision_steps} steps of the vision tower on the description parts, "
            f"then {config.steps} steps = {seen_epochs:.1f} epochs of description writing); it has "
            f"never seen the domain's caption style or names (fabrics, techniques, shapes, "
            f"painters). A demonstration model, not Qwen2.5-VL-Instruct."),
    }
    return model, tok, processor, record


def _save(folder: Path, model, tok, processor, record: dict[str, Any]) -> None:
    from transformers import GenerationConfig

    S = tiny.SPECIAL_IDS
    model.generation_config = GenerationConfig(
        bos_token_id=S["<|endoftext|>"], pad_token_id=S["<|endoftext|>"],
        eos_token_id=[S["<|im_end|>"], S["<|endoftext|>"]], do_sample=False)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    tok.save_pretrained(folder)
    runs.write_json(folder / RECORD_FILE, record)
    # the marker of vaselib's small models (tiny.is_tiny / thread_env)
    runs.write_json(folder / "vaselib_tiny.json", {
        "name": NAME, "key": record["key"], "bpe_tokens": record["bpe_tokens"],
        "vocab_size": tiny.VOCAB_SIZE, "text_hidden": record["config"]["text_hidden"],
        "note": "pretrained by vaselib.vlm.base_model on generic descriptions; see training.json"})


def ensure_base_model(config: BaseModelConfig = DEFAULT_CONFIG, folder: str | Path | None = None,
                      *, progress: bool = False) -> Path:
    """The cached base model of ``config`` (pretrained first when missing).

    One process builds it at a time: another that needs the same folder meanwhile waits for
    that build and uses it (a second build beside the first would double the cost on a
    small machine).
    """
    from vaselib.files import build_lock

    folder = Path(folder) if folder is not None else model_folder(config)
    with build_lock(folder):
        return _ensure(config, folder, progress)


def _ensure(config: BaseModelConfig, folder: Path, progress: bool) -> Path:
    rec = folder / RECORD_FILE
    if rec.is_file() and (folder / "config.json").is_file():
        if json.loads(rec.read_text(encoding="utf-8")).get("key") == config.key():
            return folder
        shutil.rmtree(folder)
    model, tok, processor, record = train(config, progress=progress)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        _save(tmp, model, tok, processor, record)
        try:
            tmp.rename(folder)
        except OSError:  # another process finished first: use its copy
            if not (folder / RECORD_FILE).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder
