"""The offline demo's CLIP: a small open_clip model trained here on synthetic renders.

No pretrained CLIP can be downloaded offline, and random weights give meaningless scores.
So vaselib trains a small open_clip ``CLIP`` (a small ResNet image tower on 64 px images and a small
text transformer, architecture ``vase-tiny-rn``, registered with open_clip) with the usual
contrastive loss on a *training* corpus rendered by :mod:`vaselib.synth` from its own seed
and folder, separate from the demo corpus the stages score.  Each image is paired with a
caption stating its completeness, its view and the vase's attributes ("an intact
red-figure hydria viewed from the front", "broken black-figure pottery fragments", "a
lekythos seen from above" …); the captions use the everyday words of the original prompts
(complete, whole, undamaged … broken, shattered, shards …).

The weights are cached under ``<data>/cache/models/`` in open_clip's ``local-dir`` layout
(``open_clip_config.json`` + ``open_clip_model.safetensors`` + ``training.json``), keyed by a
hash of the training configuration, so the model is trained once per data folder
(≈ 1–2 minutes on two CPU cores) and reused.  It is a demonstration model: its scores mean
something on the synthetic renders only.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaselib import runs

PRETRAINED_TAG = "vaselib-synthetic"
MODEL_FORMAT = 2    # bump when the training code changes what a config produces
# 2: the anchor term averages raw prompt features (the original's formula, as scored)

# Small open_clip architectures (open_clip model configs).  ``vase-tiny-rn`` is the demo
# model; ``vase-micro-vit`` (a one-layer ViT on 32 px) is for fast tests.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    # open_clip's ModifiedResNet image tower (a small conv net with attention pooling) at
    # 64 px learned the completeness cue far better than a same-cost tiny ViT in our sweeps
    "vase-tiny-rn": {
        "embed_dim": 128,
        "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 16,
                       "head_width": 32},
        "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 128, "heads": 4,
                     "layers": 2, "mlp_ratio": 2.0},
    },
    "vase-micro-vit": {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 32, "layers": 1,
                       "head_width": 16, "mlp_ratio": 2.0},
        "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2,
                     "layers": 1, "mlp_ratio": 2.0},
    },
}


def _config_folder() -> Path:
    return runs.cache_dir("models") / "open_clip_configs"


def register_configs() -> None:
    """Make vaselib's small architectures known to open_clip (``open_clip.list_models()``)."""
    import open_clip

    if all(name in open_clip.list_models() for name in ARCHITECTURES):
        return
    folder = _config_folder()
    folder.mkdir(parents=True, exist_ok=True)
    for name, cfg in ARCHITECTURES.items():
        path = folder / f"{name}.json"
        text = json.dumps(cfg, indent=2, sort_keys=True)
        if not path.is_file() or path.read_text() != text:
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(text)
            tmp.replace(path)
    open_clip.add_model_config(folder)


# --------------------------------------------------------------------------- captions

INTACT_WORDS = ("complete", "intact", "whole", "undamaged", "perfect", "full", "unbroken",
                "entire", "pristine")
VESSEL_WORDS = ("vase", "ceramic vase", "pottery vase", "decorative vase", "flower vase",
                "vessel", "pot")
VIEW_PHRASES = {
    "front": ("viewed from the front", "in frontal view", "facing forward", "front view",
              "shown frontally", "from the front angle", "facing the camera",
              "in front perspective"),
    "three_quarter": ("seen from a three-quarter angle", "in three-quarter view",
                      "turned slightly from the front", "from an oblique front angle"),
    "side": ("seen from the side", "in side view", "in profile", "shown from the side"),
    "back": ("seen from the back", "in back view", "shown from behind", "from the rear"),
    "top": ("seen from above", "viewed from the top looking down into the mouth",
            "top view", "from directly above"),
    "bottom": ("seen from below", "viewed from underneath showing the foot",
               "bottom view of the underside", "from directly below"),
}
VIEWS = tuple(VIEW_PHRASES)
BROKEN_WORDS = ("broken", "shattered", "cracked", "damaged", "fragmentary", "incomplete",
                "fragmented", "partial", "chipped")
PIECE_WORDS = ("fragments", "pieces", "shards", "debris", "sherds", "parts", "chips",
               "fragments and pieces", "broken pieces")
# attribute slots of a label: condition (0 intact, 1 fragment), view, technique, shape
N_SLOTS = 4


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def caption_for(label: dict, rng: np.random.Generator) -> tuple[str, dict]:
    """A caption for an image with ``label`` (condition, view, technique, shape) and what it
    states: the slots the caption does not mention stay None (any image matches them)."""
    pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
    technique = label["technique"] if rng.random() < 0.6 else None
    shape = label["shape"] if rng.random() < 0.5 else None
    noun = shape or pick(VESSEL_WORDS)
    tech = f"{technique} " if technique else ""
    if label["condition"] == "fragment":
        broken, pieces = pick(BROKEN_WORDS), pick(PIECE_WORDS)
        text = pick((
            f"{broken} {tech}{noun} {pieces}",
            f"{pieces} of a {broken} {tech}{noun}",
            f"{_article(broken)} {broken} {tech}{noun} with missing pieces",
            f"{_article(broken)} {broken} {tech}{noun} with cracks and breaks",
            f"{broken} {tech}pottery {pieces}",
        ))
        return text, {"condition": "fragment", "view": None, "technique": technique,
                      "shape": shape}
    head = f"{pick(INTACT_WORDS)} {tech}{noun}"
    if rng.random() < 0.4:      # completeness alone: true of every view of an intact vase
        text = pick((f"{_article(head)} {head}", f"{_article(head)} {head} in one piece",
                     f"{_article(head)} {head} with no damage"))
        return text, {"condition": "intact", "view": None, "technique": technique,
                      "shape": shape}
    text = f"{_article(head)} {head} {pick(VIEW_PHRASES[label['view']])}"
    return text, {"condition": "intact", "view": label["view"], "technique": technique,
                  "shape": shape}


# --------------------------------------------------------------------------- training

@dataclass(frozen=True)
class DemoTrainConfig:
    """Everything that decides the demo model's weights (its hash names the cache entry)."""

    arch: str = "vase-tiny-rn"
    n_vases: int = 150              # vases of the training corpus (its own seed)
    fragments_per_vase: int = 4     # fragment renders per vase (besides 6 intact views)
    shards_every: int = 4           # one "shard" photo (a small broken piece) per N vases
    render_size: int = 96           # renders are made at this size, then preprocessed
    steps: int = 450
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup: int = 30
    anchor_weight: float = 1.0      # weight of the prompt-anchored term (see ``train``)
    anchor_margin: float = 0.1      # its hinge margin around score 0
    corpus_seed: int = 20240917     # differs from the demo corpus' seed: honest evaluation
    seed: int = 0
    threads: int = 1                # torch CPU threads while training (see ``train``)

    def key(self) -> str:
        blob = json.dumps({**asdict(self), "format": MODEL_FORMAT,
                           "arch_cfg": ARCHITECTURES[self.arch]}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


DEFAULT_CONFIG = DemoTrainConfig()
TEST_CONFIG = DemoTrainConfig(arch="vase-micro-vit", n_vases=8, fragments_per_vase=1,
                              render_size=48, steps=10, batch_size=32, warmup=2)


def model_folder(config: DemoTrainConfig = DEFAULT_CONFIG) -> Path:
    return runs.cache_dir("models") / f"clip-{config.arch}-{config.key()}"


def training_images(config: DemoTrainConfig, seed: int | None = None,
                    size: int | None = None) -> tuple[list, list[dict]]:
    """Render a training (or, with another seed, held-out) set: PIL images and labels.

    Per vase: its six views intact, ``fragments_per_vase`` broken renders from random views
    and, every ``shards_every`` vases, a small shard.  Saved through JPEG like the corpus.
    """
    import io

    from PIL import Image

    from vaselib import synth

    rng = np.random.default_rng(config.corpus_seed if seed is None else seed)
    size = size or config.render_size
    images, labels = [], []

    def add(img, label):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=synth.GOOD_JPEG_QUALITY)
        images.append(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        labels.append(label)

    for i in range(config.n_vases):
        attrs = synth.sample_attributes(rng)
        base = {"technique": attrs["technique"], "shape": attrs["shape"]}
        for kind in synth.VIEW_KINDS:
            add(synth.render_vase(attrs, kind, size, rng, "intact"),
                {**base, "condition": "intact", "view": kind})
        for _ in range(config.fragments_per_vase):
            kind = synth.VIEW_KINDS[int(rng.integers(len(synth.VIEW_KINDS)))]
            add(synth.render_vase(attrs, kind, size, rng, "fragment"),
                {**base, "condition": "fragment", "view": kind})
        if config.shards_every and i % config.shards_every == 0:
            kind = synth.VIEW_KINDS[int(rng.integers(4))]
            img = synth.degrade(synth.render_vase(attrs, kind, size, rng, "intact"), "shard", rng)
            add(img, {**base, "condition": "fragment", "view": kind})
    return images, labels


class _Vocab:
    """Integer codes of label values (-1 = not stated) for the consistency targets."""

    def __init__(self):
        self.codes: list[dict] = [{} for _ in range(N_SLOTS)]

    def encode(self, d: dict) -> list[int]:
        out = []
        for slot, key in enumerate(("condition", "view", "technique", "shape")):
            v = d.get(key)
            out.append(-1 if v is None else self.codes[slot].setdefault(v, len(self.codes[slot])))
        return out


def consistency(stated: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``[captions, images]`` mask: caption j is true of image i (every stated slot agrees)."""
    s, lab = stated[:, None, :], labels[None, :, :]
    return ((s == -1) | (s == lab)).all(-1)


def contrastive_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor,
                     match: torch.Tensor) -> torch.Tensor:
    """Symmetric CLIP loss whose targets are every caption/image pair that agrees, not only
    the diagonal (several images of a batch may fit one caption)."""
    logits = scale * img @ txt.T                        # [images, captions]
    m = match.T.float()                                 # [images, captions]
    li = -(m / m.sum(1, keepdim=True) * torch.log_softmax(logits, 1)).sum(1).mean()
    mt = match.float()
    lt = -(mt / mt.sum(1, keepdim=True) * torch.log_softmax(logits.T, 1)).sum(1).mean()
    return (li + lt) / 2


def anchor_loss(img: torch.Tensor, prompt_emb: torch.Tensor, n_high: int,
                intact: torch.Tensor, margin: float = 0.1) -> torch.Tensor:
    """Hinge loss on the stage-03 score with the original prompts, boundary at 0.

    score = cos(img, H) − cos(img, L) with H, L the normalised means of the prompts' *raw*
    text features (the original's formula, as stage 03 scores); intact images are
    pushed above +margin and fragments below −margin (and then left alone), so "closer to
    the high prompts than to the low ones" (threshold 0) is what the demo model learns to
    mean, while the contrastive term alone decides which view looks most "frontal".
    """
    hi = torch.nn.functional.normalize(prompt_emb[:n_high].mean(0), dim=0)
    lo = torch.nn.functional.normalize(prompt_emb[n_high:].mean(0), dim=0)
    score = img @ hi - img @ lo
    sign = intact.float() * 2 - 1
    return torch.relu(margin - sign * score).mean()


def train(config: DemoTrainConfig = DEFAULT_CONFIG, *, device: str = "cpu",
          progress: bool = False) -> tuple[torch.nn.Module, dict]:
    """Train the demo model from scratch; return it (on the CPU, eval mode) and a record.

    The loss is CLIP's symmetric contrastive loss, with every caption/image pair that
    agrees counted as positive (:func:`contrastive_loss`), plus ``anchor_weight`` times
    :func:`anchor_loss`, which ties the original 8 + 8 prompts to the intact/fragment
    distinction at score 0 on the *training* renders.

    On the CPU it trains with ``config.threads`` torch threads (1): the result then does not
    depend on the machine's core count, and on a shared machine one busy neighbour cannot
    stall every step (two OpenMP threads waiting for each other ran 4× slower there).
    """
    register_configs()
    threads = torch.get_num_threads()
    if str(device) == "cpu":
        torch.set_num_threads(config.threads)
    try:
        return _train(config, device, progress)
    finally:
        torch.set_num_threads(threads)


def _train(config: DemoTrainConfig, device: str, progress: bool) -> tuple[torch.nn.Module, dict]:
    import open_clip
    from tqdm.auto import tqdm

    from vaselib.clip.params import HIGH_PROMPTS, LOW_PROMPTS

    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    model, _, preprocess = open_clip.create_model_and_transforms(config.arch, pretrained=None)
    tokenizer = open_clip.get_tokenizer(config.arch)
    images, labels = training_images(config)
    t_render = time.perf_counter() - t0
    x = torch.stack([preprocess(im) for im in images])           # eval transform, as scored
    del images
    vocab = _Vocab()
    lab = torch.tensor([vocab.encode(lb) for lb in labels])
    model.to(device)
    model.token_embedding.requires_grad_(False)                    # random fixed token table
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": [q for q in params if q.ndim >= 2], "weight_decay": config.weight_decay},
         {"params": [q for q in params if q.ndim < 2], "weight_decay": 0.0}], lr=config.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / config.warmup)
        * 0.5 * (1 + np.cos(np.pi * min(1.0, s / config.steps))))
    gen = torch.Generator().manual_seed(config.seed)
    cap_rng = np.random.default_rng(config.seed)
    prompt_tokens = tokenizer(list(HIGH_PROMPTS) + list(LOW_PROMPTS)).to(device)
    intact_all = torch.tensor([lb["condition"] == "intact" for lb in labels])
    model.train()
    losses = []
    n = x.shape[0]
    for _ in tqdm(range(config.steps), desc="train demo CLIP", disable=not progress):
        idx = torch.randperm(n, generator=gen)[:config.batch_size]
        xb = x[idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5
        xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        texts, stated = [], []
        for i in idx.tolist():
            t, st = caption_for(labels[i], cap_rng)
            texts.append(t)
            stated.append(vocab.encode(st))
        match = consistency(torch.tensor(stated), lab[idx]).to(device)
        img = model.encode_image(xb.to(device), normalize=True)
        txt = model.encode_text(tokenizer(texts).to(device), normalize=True)
        loss = contrastive_loss(img, txt, model.logit_scale.exp().clamp(max=100), match)
        if config.anchor_weight:
            pe = model.encode_text(prompt_tokens)   # raw: stage 03 averages raw features
            loss = loss + config.anchor_weight * anchor_loss(
                img, pe, len(HIGH_PROMPTS), intact_all[idx].to(device), config.anchor_margin)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    model.eval().to("cpu")
    kinds: dict[str, int] = {}
    for lb in labels:
        k = f"intact/{lb['view']}" if lb["condition"] == "intact" else "fragment"
        kinds[k] = kinds.get(k, 0) + 1
    examples = [caption_for(labels[i], np.random.default_rng(i))[0]
                for i in range(0, min(40, len(labels)), 4)]
    info = {
        "config": asdict(config), "key": config.key(), "architecture": ARCHITECTURES[config.arch],
        "training_images": len(labels), "images_by_kind": kinds, "example_captions": examples,
        "loss_first": float(np.mean(losses[:10])), "loss_last": float(np.mean(losses[-10:])),
        "device": str(device), "torch_threads": torch.get_num_threads(),
        "seconds_render": round(t_render, 1),
        "seconds_total": round(time.perf_counter() - t0, 1),
        "description": (
            f"{config.arch}: a small open_clip CLIP trained locally ({config.steps} steps) on "
            f"{len(labels)} synthetic renders of {config.n_vases} vases from a training corpus "
            f"(seed {config.corpus_seed}, separate from the demo corpus it scores), each paired "
            f"with captions stating completeness, view, technique and shape (plus a term tying "
            f"the original 8 + 8 prompts to intact vs broken); a demonstration model, not a "
            f"pretrained CLIP"),
    }
    return model, info


def ensure_demo_model(arch: str = "vase-tiny-rn", config: DemoTrainConfig | None = None,
                      *, progress: bool = False) -> tuple[Path, dict]:
    """The cached demo checkpoint for ``arch`` (trained first when missing) and its record.

    One process trains it at a time: another that needs it meanwhile waits for that run.
    """
    from vaselib.files import build_lock

    if config is None:
        config = DEFAULT_CONFIG if arch == DEFAULT_CONFIG.arch else replace(TEST_CONFIG, arch=arch)
    folder = model_folder(config)
    with build_lock(folder):
        return _ensure(config, folder, progress)


def _ensure(config: DemoTrainConfig, folder: Path, progress: bool) -> tuple[Path, dict]:
    from safetensors.torch import save_file

    ckpt = folder / "open_clip_model.safetensors"
    record = folder / "training.json"
    if ckpt.is_file() and record.is_file():
        return ckpt, json.loads(record.read_text())
    model, info = train(config, progress=progress)
    tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(tmp / "open_clip_model.safetensors"))
    (tmp / "open_clip_config.json").write_text(json.dumps(
        {"model_cfg": ARCHITECTURES[config.arch], "preprocess_cfg": {}}, indent=2))
    (tmp / "training.json").write_text(json.dumps(info, indent=2))
    if folder.exists():           # another process finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.replace(folder)
    return ckpt, json.loads(record.read_text())
