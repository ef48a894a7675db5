"""Batched prediction of the image-quality classifier over image files (stage 02's step).

Kept apart from the stage so that the engines (this process or Ray Data) can call it
without importing the stage.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from vaselib.images import DEFAULT_MAX_PIXELS, ImageFileDataset, collate_images, single_threaded
from vaselib.resnet.data import eval_transform


def predict_files(model, paths, image_size: int, device, batch_size: int = 32,
                  num_workers: int = 0, progress: bool = False,
                  interpolation: str = "bilinear", max_pixels: int = DEFAULT_MAX_PIXELS,
                  precision: str = "fp32", torch_compile: bool = False,
                  runtime: str = "torch", model_key: str | None = None):
    """Softmax probabilities for each file: ``({index: (p_low, p_high)}, {index: reason})``.

    Batched, in inference mode, in channels-last memory format (oneDNN's fast layout for
    convolutions on the CPU), at ``precision`` (already resolved: fp32, bf16 or int8),
    through ``torch.compile`` when asked (:mod:`vaselib.compiled`; compiled before any image
    is read), or by ONNX Runtime (``runtime: onnxruntime``, fp32; exported once, cached by
    ``model_key``, the checkpoint file's SHA-256: :func:`checkpoint_sha256`).
    """
    from vaselib import precision as prec

    ds = ImageFileDataset(paths, eval_transform(image_size, interpolation), max_pixels)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=collate_images, worker_init_fn=single_threaded,
                        persistent_workers=False)
    probs, failures = {}, {}
    model = prec.prepare(model.eval().to(memory_format=torch.channels_last), precision)
    if runtime == "onnxruntime":
        if precision != "fp32" or torch_compile:
            raise ValueError("runtime: onnxruntime runs the fp32 model: use it with precision "
                             "fp32 and torch_compile: false")
        if model_key is None:
            raise ValueError("runtime: onnxruntime needs model_key (the checkpoint file's "
                             "SHA-256: checkpoint_sha256)")
        forward = onnx_forward(model, image_size, model_key, device)
    elif torch_compile:
        forward = compiled_forward(model, image_size, batch_size, device, precision)
    else:
        forward = model
    with torch.inference_mode(), prec.autocast(precision, device):
        for images, idx, failed in tqdm(loader, desc="classify", disable=not progress):
            failures.update(dict(failed))
            if images is None:
                continue
            x = images.to(device)
            if runtime == "torch":
                x = x.contiguous(memory_format=torch.channels_last)
            p = torch.softmax(forward(x).float(), dim=1).cpu()
            for i, (lo, hi) in zip(idx, p.tolist()):
                probs[i] = (lo, hi)
    return probs, failures


def compiled_forward(model, image_size: int, batch_size: int, device, precision: str):
    """``model`` compiled for channels-last batches of ``batch_size`` (smaller ones padded)."""
    from vaselib import compiled
    from vaselib import precision as prec

    if precision == "int8":
        raise ValueError("torch_compile does not take dynamically quantised (int8) models: "
                         "use precision fp32 or bf16 with it")
    example = torch.zeros((batch_size, 3, image_size, image_size), device=device
                          ).contiguous(memory_format=torch.channels_last)
    fn, _ = compiled.compile_module(model, example, what="the quality classifier",
                                    context=lambda: prec.autocast(precision, device))
    return lambda x: compiled.run_padded(fn, x, batch_size)


def checkpoint_sha256(path) -> str:
    """The SHA-256 of the checkpoint file at ``path``, remembered by path, size and time in
    the data folder's weights cache: what keys the checkpoint's ONNX export, here and on the
    Ray workers alike, so one checkpoint is exported once."""
    from vaselib import runs
    from vaselib.files import remembered_file_sha256

    return remembered_file_sha256(path, runs.cache_dir("weights") / "sha256.json")


def onnx_forward(model, image_size: int, model_key: str, device):
    """``model`` run by ONNX Runtime (fp32, CPU), exported once and cached by
    ``model_key``, the checkpoint file's SHA-256 (:func:`checkpoint_sha256`;
    :mod:`vaselib.onnx_runtime`); loaded before any image is read."""
    from vaselib import onnx_runtime

    onnx_runtime.require(device)
    example = torch.zeros((2, 3, image_size, image_size))
    return onnx_runtime.load(model.eval(), example, f"quality-classifier|{model_key}",
                             what="the quality classifier")
