"""Stage 01: train the image-quality classifier and evaluate it on a held-out test split."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from vaselib import outputs, runs, stages
from vaselib.devices import resolve_device
from vaselib.images import collate_images
from vaselib.resnet import data as qdata
from vaselib.resnet.model import (QualityClassifier, load_checkpoint, load_imagenet_backbone,
                                   save_checkpoint)
from vaselib.resnet.params import ResnetTrainParams

STAGE = "01_resnet_train"
CHECKPOINT_NAME = "best_image_quality_model.pth"
LAST_NAME = "last_checkpoint.pth"
RESULTS_NAME = "training_results.json"


@dataclass
class TrainResult:
    checkpoint: Path
    test_accuracy: float
    precision: float
    recall: float
    f1: float
    best_epoch: int
    best_val_acc: float
    history: dict[str, list[float]]
    confusion: list[list[int]]
    counts: dict[str, int]
    failures: list[dict[str, str]] = field(default_factory=list)
    weights: str = "random initialisation"
    output_dir: Path | None = None


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _loader(ds, batch_size, shuffle, workers, generator=None) -> DataLoader:
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
                      collate_fn=collate_images, generator=generator,
                      persistent_workers=workers > 0)


def _labels_of(ds, indices) -> torch.Tensor:
    return torch.tensor([ds.labels[i] for i in indices], dtype=torch.long)


def train_one_epoch(model, loader, criterion, optimizer, device, failures, progress=False):
    """One pass over the training split; returns (mean loss, accuracy)."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for images, idx, failed in tqdm(loader, desc="train", leave=False, disable=not progress):
        failures.update({loader.dataset.paths[i]: why for i, why in failed})
        if images is None:
            continue
        labels = _labels_of(loader.dataset, idx).to(device)
        optimizer.zero_grad()
        logits = model(images.to(device))
        loss = criterion(logits, labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(idx)
        correct += (logits.argmax(1) == labels).sum().item()
        seen += len(idx)
    return total_loss / max(seen, 1), correct / max(seen, 1)


def recalibrate_batchnorm(model, loader, device) -> None:
    """Re-estimate BatchNorm statistics over the training split (precise BN).

    With few steps from random initialisation the running averages lag far behind the
    weights, and evaluation-mode predictions swing from epoch to epoch; a pass that averages
    the statistics over the whole split makes validation measure the weights.
    """
    from torch.optim.swa_utils import update_bn

    update_bn((images for images, _, _ in loader if images is not None), model, device)


@torch.no_grad()
def evaluate(model, loader, criterion, device, failures, progress=False):
    """Loss, accuracy, true labels and predictions over a split (eval mode)."""
    model.eval()
    total_loss, y_true, y_pred = 0.0, [], []
    for images, idx, failed in tqdm(loader, desc="eval", leave=False, disable=not progress):
        failures.update({loader.dataset.paths[i]: why for i, why in failed})
        if images is None:
            continue
        labels = _labels_of(loader.dataset, idx).to(device)
        logits = model(images.to(device))
        total_loss += criterion(logits, labels).item() * len(idx)
        y_true += labels.tolist()
        y_pred += logits.argmax(1).tolist()
    n = max(len(y_true), 1)
    acc = accuracy_score(y_true, y_pred) if y_true else 0.0
    return total_loss / n, acc, y_true, y_pred


def run(p: ResnetTrainParams, *, progress: bool = True) -> TrainResult:
    """Train, keep the best-validation checkpoint, test it, write the reports."""
    with runs.timer() as clock:
        generator = seed_everything(p.seed)
        device = resolve_device(p.device)
        folder = outputs.StageOutputs(STAGE, p.output_dir, stages.get(STAGE).outputs)
        out = folder.folder
        data_dir = runs.input_path(p.data_dir, "data_dir",
                                   "a folder with sub-folders 0/ (low) and 1/ (high quality)")
        resume_path, resume_note = _resume_source(p, folder)

        paths, labels = qdata.list_labelled(data_dir)
        split = qdata.split_indices(labels, p.val_fraction, p.test_fraction, p.seed)
        sets = qdata.make_datasets(paths, labels, split, p.image_size, p.augment,
                                   p.interpolation)
        loaders = {
            "train": _loader(sets["train"], p.batch_size, True, p.num_workers, generator),
            "train_eval": _loader(qdata.LabelledImages(sets["train"].paths, sets["train"].labels,
                                                      qdata.eval_transform(p.image_size, p.interpolation)),
                                  p.batch_size, False, p.num_workers),
            "val": _loader(sets["val"], p.batch_size, False, p.num_workers),
            "test": _loader(sets["test"], p.batch_size, False, p.num_workers),
        }

        model = QualityClassifier(p.arch)
        weights = "random initialisation (no pretrained weights)"
        if p.pretrained:
            weights = "ImageNet: " + load_imagenet_backbone(model, p.weights_path)
        model.to(device)
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=p.step_size, gamma=p.gamma)

        history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
        start_epoch, best_val, best_epoch, best_val_loss = 0, -1.0, -1, float("inf")
        ckpt_path = out / CHECKPOINT_NAME
        last_path = out / LAST_NAME
        folder.begin_in_place(keep_previous=resume_path is not None
                              and resume_path.parent == out)
        notes = [f"weights: {weights}"] + ([resume_note] if resume_note else [])
        if resume_path is not None:
            start_epoch, best_val, best_epoch, history = _resume(
                resume_path, model, optimizer, scheduler, device, generator)
            if 0 <= best_epoch < len(history["val_loss"]):
                best_val_loss = history["val_loss"][best_epoch]
            _carry_best_checkpoint(resume_path, ckpt_path, model, optimizer, best_val, best_epoch)

        failures: dict[Path, str] = {}
        extra = dict(image_size=p.image_size, interpolation=p.interpolation, params=p.to_dict())
        epochs = tqdm(range(start_epoch, p.epochs), desc="epochs", disable=not progress)
        for epoch in epochs:
            tl, ta = train_one_epoch(model, loaders["train"], criterion, optimizer, device,
                                     failures)  # one progress bar per run, not per epoch
            if p.precise_bn:
                recalibrate_batchnorm(model, loaders["train_eval"], device)
            vl, va, _, _ = evaluate(model, loaders["val"], criterion, device, failures)
            scheduler.step()
            for k, v in zip(history, (tl, ta, vl, va)):
                history[k].append(round(float(v), 6))
            # best validation accuracy; on a tie the lower validation loss (small validation
            # splits tie often, and the first lucky epoch is rarely the best model)
            if va > best_val or (va == best_val and vl < best_val_loss):
                best_val, best_epoch, best_val_loss = va, epoch, vl
                save_checkpoint(ckpt_path, model, optimizer, epoch, va,
                                scheduler_state_dict=scheduler.state_dict(),
                                history=history, **extra)
            # every epoch: the state to resume from after an interruption (written
            # atomically, so a kill never leaves a half checkpoint), RNG states included so
            # the resumed run continues exactly as the uninterrupted one would
            save_checkpoint(last_path, model, optimizer, epoch, va,
                            scheduler_state_dict=scheduler.state_dict(), history=history,
                            best_val_acc=best_val, best_epoch=best_epoch,
                            generator_state=generator.get_state(),
                            torch_rng_state=torch.get_rng_state(), **extra)
            epochs.set_postfix(train_loss=f"{tl:.3f}", val_acc=f"{va:.3f}")

        best, _ = load_checkpoint(ckpt_path, device)
        _, test_acc, y_true, y_pred = evaluate(best, loaders["test"], criterion, device, failures)
        prec, rec, f1, _ = precision_recall_fscore_support(
            y_true, y_pred, average="weighted", zero_division=0)
        cm = confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist()

    result = TrainResult(
        checkpoint=ckpt_path, test_accuracy=float(test_acc), precision=float(prec),
        recall=float(rec), f1=float(f1), best_epoch=best_epoch, best_val_acc=float(best_val),
        history=history, confusion=cm,
        counts={"images": len(paths), "train": len(split.train), "val": len(split.val),
                "test": len(split.test), "low_quality": labels.count(0),
                "high_quality": labels.count(1)},
        failures=[{"file": runs.display_path(f), "reason": r} for f, r in sorted(failures.items())],
        weights=weights, output_dir=out)
    _write_reports(result, p, data_dir, clock["seconds"], notes)
    folder.finish_in_place()
    return result


def _resume_source(p: ResnetTrainParams, folder: outputs.StageOutputs) -> tuple[Path | None, str]:
    """Where to resume from: ``resume`` given as a file, or with ``resume='auto'`` the last
    checkpoint of an interrupted run of the same parameters in ``output_dir``."""
    if p.resume is None:
        return None, ""
    if p.resume != "auto":
        path = runs.input_path(p.resume, "resume", "a checkpoint written by stage 01 "
                               "(last_checkpoint.pth)", kind="file")
        return path, f"resumed from {runs.display_path(path)}"
    path = folder.folder / LAST_NAME
    previous = folder.previous or {}
    if previous.get("stage") != STAGE or previous.get("complete", True) or not path.is_file():
        return None, ""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - a damaged checkpoint is not resumed from
        return None, f"not resumed: {LAST_NAME} is unreadable ({type(err).__name__})"
    same = {k: v for k, v in (ckpt.get("params") or {}).items() if k not in _RESUMABLE}
    now = {k: v for k, v in p.to_dict().items() if k not in _RESUMABLE}
    if same != now:
        return None, (f"not resumed: the interrupted run in {runs.display_path(folder.folder)} "
                      f"had other parameters; training from the start")
    return path, (f"resumed the interrupted run after epoch {int(ckpt.get('epoch', -1)) + 1} "
                  f"({runs.display_path(path)})")


# parameters that may differ between an interrupted run and the run that resumes it
_RESUMABLE = ("resume", "epochs", "num_workers", "device")


def _resume(path: Path, model, optimizer, scheduler, device, generator=None):
    ckpt = torch.load(path, map_location=device, weights_only=False)
    if generator is not None and ckpt.get("generator_state") is not None:
        generator.set_state(ckpt["generator_state"])
    if ckpt.get("torch_rng_state") is not None:
        torch.set_rng_state(ckpt["torch_rng_state"])
    model.load_state_dict(ckpt["model_state_dict"])
    if ckpt.get("optimizer_state_dict"):
        optimizer.load_state_dict(ckpt["optimizer_state_dict"])
    if ckpt.get("scheduler_state_dict"):
        scheduler.load_state_dict(ckpt["scheduler_state_dict"])
    history = ckpt.get("history") or {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best_val = ckpt.get("best_val_acc", ckpt.get("val_acc", -1.0))
    best_epoch = ckpt.get("best_epoch", ckpt.get("epoch", -1))
    return int(ckpt.get("epoch", -1)) + 1, float(best_val), int(best_epoch), history


def _carry_best_checkpoint(resume_path: Path, ckpt_path: Path, model, optimizer,
                           best_val: float, best_epoch: int) -> None:
    """Resuming into a new folder: bring the best checkpoint so far along with it."""
    if ckpt_path.is_file():
        return
    sibling = resume_path.parent / CHECKPOINT_NAME
    if sibling.is_file():
        import shutil
        shutil.copy2(sibling, ckpt_path)
    else:
        save_checkpoint(ckpt_path, model, optimizer, best_epoch, best_val)


def _write_reports(result: TrainResult, p: ResnetTrainParams, data_dir: Path, seconds: float,
                   notes: list[str]):
    from vaselib.resnet import plots

    out = result.output_dir
    results = {
        "test_accuracy": result.test_accuracy, "precision": result.precision,
        "recall": result.recall, "f1_score": result.f1, "best_epoch": result.best_epoch,
        "best_val_acc": result.best_val_acc, "confusion_matrix": result.confusion,
        "class_names": ["low_quality", "high_quality"], "counts": result.counts,
        "history": result.history, "weights": result.weights, "failures": result.failures,
        "data_dir": runs.display_path(data_dir),
    }
    runs.write_json(out / RESULTS_NAME, results)
    plots.training_history(result.history).savefig(out / "training_history.png", dpi=110)
    plots.confusion(result.confusion).savefig(out / "confusion_matrix.png", dpi=110)
    runs.write_summary(
        out, STAGE, p,
        headline={"test_accuracy": round(result.test_accuracy, 4), "f1": round(result.f1, 4),
                  "best_epoch": result.best_epoch, "images": result.counts["images"]},
        inputs={"data_dir": data_dir},
        outputs={"checkpoint": result.checkpoint, "results": out / RESULTS_NAME,
                 "history_plot": out / "training_history.png",
                 "confusion_plot": out / "confusion_matrix.png"},
        seconds=seconds, notes=notes)
