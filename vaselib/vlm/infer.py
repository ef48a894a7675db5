"""Caption vase images with a Qwen2.5-VL model folder (base, merged SFT or GRPO).

:func:`caption_images` loads the model with transformers (no ms-swift, so it runs in the
notebook's kernel), resizes each image the way Qwen2.5-VL's training did (``smart_resize``
to multiples of 28 within ``max_pixels``), asks the caption prompt of
:data:`vaselib.vocabulary.CAPTION_PROMPT` and decodes greedily by default, so the same
model and image always give the same caption.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from vaselib import runs
from vaselib.images import open_image
from vaselib.vocabulary import CAPTION_PROMPT


def _resize(image, max_pixels: int, min_pixels: int = 56 * 56):
    from qwen_vl_utils.vision_process import smart_resize

    h, w = smart_resize(image.height, image.width, factor=28, min_pixels=min_pixels,
                        max_pixels=max_pixels)
    return image.resize((w, h))


def load_model(model_dir: str | Path, device: str = "auto", torch_dtype: str | None = None):
    """``(model, processor, device)`` for a local Qwen2.5-VL folder."""
    import torch
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    from vaselib.devices import resolve_device

    path = runs.resolve(model_dir)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{runs.display_path(path)} is not a model folder (no "
                                f"config.json)")
    dev = resolve_device(device)
    dtype = getattr(torch, torch_dtype) if torch_dtype else (
        torch.bfloat16 if dev.type == "cuda" else torch.float32)
    processor = AutoProcessor.from_pretrained(path)
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(path, dtype=dtype).to(dev).eval()
    return model, processor, dev


def caption_images(model_dir: str | Path, images: Sequence[str | Path], max_new_tokens: int = 40,
                   seed: int = 42, *, max_pixels: int = 224 * 224, do_sample: bool = False,
                   prompt: str = CAPTION_PROMPT, device: str = "auto") -> list[str]:
    """One caption per image from the model in ``model_dir`` (greedy unless ``do_sample``)."""
    import torch

    from vaselib.vlm.tiny import is_small

    model, processor, dev = load_model(model_dir, device)
    out = []
    threads = torch.get_num_threads()
    if dev.type == "cpu" and is_small(model_dir):
        torch.set_num_threads(1)  # see vaselib.vlm.tiny.thread_env
    try:
        for img_path in images:
            image = _resize(open_image(img_path), max_pixels)
            messages = [{"role": "user", "content": [{"type": "image"},
                                                     {"type": "text", "text": prompt}]}]
            text = processor.apply_chat_template(messages, add_generation_prompt=True,
                                                 tokenize=False)
            inputs = processor(text=[text], images=[image], return_tensors="pt").to(dev)
            torch.manual_seed(seed)
            with torch.no_grad():
                ids = model.generate(**inputs, max_new_tokens=max_new_tokens,
                                     do_sample=do_sample, temperature=1.0 if do_sample else None,
                                     top_p=None, top_k=None)
            new = ids[0, inputs["input_ids"].shape[1]:]
            out.append(processor.decode(new, skip_special_tokens=True).strip())
    finally:
        torch.set_num_threads(threads)
        del model
    return out
