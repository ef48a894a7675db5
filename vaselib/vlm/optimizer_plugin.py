"""Register ms-swift's optimiser ``vaselib_modules_to_save_lr`` (stage 05's ``modules_to_save_lr``).

LoRA fine-tuning trains two kinds of parameters: the low-rank adapters, which should move
the pretrained weights little, and the modules trained in full beside them
(``--modules_to_save``, e.g. ``lm_head``).  ms-swift gives both one learning rate.  The
demo's small base model has never written a domain word, so its head must learn those
words' rows from scratch while its body should keep what pretraining taught it to see:
measured on the demo's held-out vases, one rate for both left the captioner naming the most
common shape (shape accuracy 0.07–0.16), while a slow body and a fast head learn it.

Importing this module, as ``vaselib.vlm.optimizer_plugin`` or as a file, registers the
optimiser::

    swift sft ... --external_plugins <this file> --optimizer vaselib_modules_to_save_lr

with the learning rate of the ``modules_to_save`` copies in the environment variable
``VASELIB_MODULES_TO_SAVE_LR``; every other trainable parameter keeps ``--learning_rate``.

How ms-swift 4.6.0 gets there: ``--external_plugins FILE`` is imported while the arguments
are parsed (``BaseArguments._import_external_plugins``); the trainer then takes its
optimiser callback from ``swift.optimizers.optimizers_map[--optimizer]``
(``SwiftMixin.__init__``), whose ``create_optimizer`` builds the optimiser of ``--optim``
(AdamW) over the parameter groups it returns.  Groups split as the Trainer's default does
(weight decay on weights, none on biases and norms); the learning-rate schedule scales every
group alike.
"""
from __future__ import annotations

import os
from pathlib import Path

from swift.optimizers import OptimizerCallback, optimizers_map

from vaselib.vlm.swift_run import MODULES_TO_SAVE_LR_ENV as LR_ENV
from vaselib.vlm.swift_run import MODULES_TO_SAVE_OPTIMIZER as OPTIMIZER_NAME

# peft names the trained copy of a module listed in modules_to_save
# ``<module>.modules_to_save.<adapter>.<parameter>``
SAVED_MARK = ".modules_to_save."


def modules_to_save_lr() -> float:
    """The learning rate of the ``modules_to_save`` copies, from :data:`LR_ENV`."""
    value = os.environ.get(LR_ENV)
    if value is None:
        raise RuntimeError(f"--optimizer {OPTIMIZER_NAME} needs the environment variable "
                           f"{LR_ENV} (the learning rate of the modules_to_save copies)")
    lr = float(value)
    if not lr > 0:
        raise ValueError(f"{LR_ENV} must be a positive learning rate, got {value!r}")
    return lr


def parameter_groups(model, learning_rate: float, saved_lr: float, weight_decay: float,
                     decay_names: set[str]) -> list[dict]:
    """AdamW groups: ``modules_to_save`` copies at ``saved_lr``, the rest at
    ``learning_rate``; weight decay only on the parameters named in ``decay_names``."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups.setdefault((SAVED_MARK in name, name in decay_names), []).append(param)
    return [{"params": params, "lr": saved_lr if saved else learning_rate,
             "weight_decay": weight_decay if decay else 0.0}
            for (saved, decay), params in groups.items()]


class ModulesToSaveLr(OptimizerCallback):
    """ms-swift's default optimiser with its own learning rate for ``modules_to_save``."""

    def create_optimizer(self, model=None):
        from transformers import Trainer

        args = self.args
        model = self.trainer.model if model is None else model
        decay = set(Trainer.get_decay_parameter_names(None, model))
        groups = parameter_groups(model, args.learning_rate, modules_to_save_lr(),
                                  args.weight_decay, decay)
        optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
        return optimizer_cls(groups, **kwargs)


def plugin_path() -> Path:
    """This file, for ``swift sft --external_plugins``."""
    return Path(__file__).resolve()


optimizers_map[OPTIMIZER_NAME] = ModulesToSaveLr
