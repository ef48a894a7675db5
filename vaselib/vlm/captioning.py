"""Batched greedy captions from a Qwen2.5-VL model folder (stage 08's generation step).

:func:`caption_batch` loads a model folder once (base, merged SFT, GRPO checkpoint) with
plain transformers, asks every image the same prompt in the chat format ms-swift trained it
with (system turn, image, prompt), pads on the left and decodes greedily in batches, so a
model and an image always give the same caption whatever the batch.  Images are resized the
way training saw them (``smart_resize`` to multiples of 28 within ``max_pixels``).
:func:`write_generated` writes the evaluation's generated-records file
``[{"images": [name], "caption": "..."}]``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from vaselib import runs
from vaselib.images import open_image
from vaselib.vocabulary import CAPTION_PROMPT

DEFAULT_SYSTEM = "You are a helpful assistant."   # ms-swift's qwen2_5_vl default system


@dataclass
class Captions:
    model: str
    images: list[Path]
    captions: list[str]
    seconds: float
    batch_size: int
    threads: int


def _resize(image, max_pixels: int, min_pixels: int = 56 * 56):
    from qwen_vl_utils.vision_process import smart_resize

    h, w = smart_resize(image.height, image.width, factor=28, min_pixels=min_pixels,
                        max_pixels=max_pixels)
    return image if (image.height, image.width) == (h, w) else image.resize((w, h))


def prompt_text(processor, prompt: str = CAPTION_PROMPT, system: str | None = DEFAULT_SYSTEM
                ) -> str:
    """The conversation up to the assistant's turn, through the model's chat template."""
    messages = [] if system is None else [{"role": "system", "content": system}]
    messages.append({"role": "user", "content": [{"type": "image"},
                                                 {"type": "text", "text": prompt}]})
    return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def caption_batch(model_dir: str | Path, images: Sequence[str | Path], *,
                  max_new_tokens: int = 64, batch_size: int = 32, max_pixels: int = 112 * 112,
                  prompt: str = CAPTION_PROMPT, system: str | None = DEFAULT_SYSTEM,
                  threads: int | None = None, progress: bool = False) -> Captions:
    """Greedy captions of ``images`` by the model in ``model_dir``, ``batch_size`` at a time.

    ``threads``: torch CPU threads while generating (None: 1 for vaselib's small models,
    else torch's default).
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    from vaselib.vlm.tiny import is_small

    path = runs.resolve(model_dir)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{runs.display_path(path)} is not a model folder (no "
                                f"config.json)")
    old_threads = torch.get_num_threads()
    if threads is None and is_small(path):
        threads = 1
    if threads:
        torch.set_num_threads(threads)
    try:
        with runs.timer() as t:
            processor = AutoProcessor.from_pretrained(path, local_files_only=True)
            processor.tokenizer.padding_side = "left"
            model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
                path, dtype=torch.float32, local_files_only=True).eval()
            text = prompt_text(processor, prompt, system)
            out: list[str] = []
            paths = [runs.resolve(p) for p in images]
            for s in tqdm(range(0, len(paths), batch_size), disable=not progress,
                          desc=f"captions {path.name}"):
                chunk = [_resize(open_image(p), max_pixels) for p in paths[s:s + batch_size]]
                inputs = processor(text=[text] * len(chunk), images=chunk, return_tensors="pt",
                                   padding=True)
                with torch.no_grad():
                    ids = model.generate(**inputs, max_new_tokens=max_new_tokens,
                                         do_sample=False, temperature=None, top_p=None,
                                         top_k=None)
                new = ids[:, inputs["input_ids"].shape[1]:]
                out.extend(c.strip() for c in processor.batch_decode(
                    new, skip_special_tokens=True))
            del model
    finally:
        torch.set_num_threads(old_threads)
    return Captions(runs.display_path(path), paths, out, t["seconds"], batch_size,
                    threads or old_threads)


def write_generated(path: str | Path, images: Sequence[str | Path], captions: Sequence[str]
                    ) -> Path:
    """The generated-records file of the evaluation: ``[{"images": [name], "caption": ...}]``."""
    return runs.write_json(path, [{"images": [Path(i).name], "caption": c}
                                  for i, c in zip(images, captions)])
