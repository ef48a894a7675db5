"""Register the ``external_vase_acc`` reward in ms-swift's reward registry (GRPO, stage 06).

Importing this module, as ``vaselib.vlm.reward_plugin`` or as a file, registers the reward::

    PLUGIN=$(python -c "from vaselib.vlm.reward_plugin import plugin_path; print(plugin_path())")
    swift rlhf --rlhf_type grpo ... --external_plugins "$PLUGIN" --reward_funcs external_vase_acc

How ms-swift 4.6.0 gets there:

- ``--external_plugins FILE`` is handled in ``BaseArguments.__post_init__`` →
  ``_import_external_plugins`` → :func:`swift.utils.import_external_file`, which puts the
  file's folder on ``sys.path`` and executes the file as a module named
  ``_swift_external_<sha256 of its path>`` (dataloader workers replay it).
- The registry is the dict ``swift.rewards.orms`` (defined in ``swift/rewards/orm.py``, base
  class ``swift.rewards.ORM``). ``GRPOTrainer._prepare_rewards`` (and
  ``swift.rlhf_trainers.utils.resolve_reward_funcs`` for Megatron) turn each
  ``--reward_funcs`` name found in ``orms`` into ``orms[name](args=training_args)``.
- Each step, ``swift.rl_core.grpo_algorithm.compute_rewards_per_func`` calls
  ``reward(completions, **kwargs)``, where ``kwargs`` are the dataset columns batched by
  ``RowPreprocessor.rows_to_batched`` (extra columns such as ``caption`` survive because GRPO
  sets ``remove_unused_columns=False``), plus ``messages``, ``trainer_state`` and a few more.
  :class:`~vaselib.vlm.reward.VaseAccuracyReward` reads the reference from
  ``reference_caption``, else ``caption``, else ``solution``.

The plugin imports vaselib, which must be importable where ms-swift runs (installed, or on
``PYTHONPATH``; vaselib's stage 06 passes its own location to the ms-swift child process).

The environment variable ``VASELIB_REWARD_SIMILARITY`` (``semantic``, the default, or
``lexical``) chooses the similarity backend inside training.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from swift.rewards import ORM, orms

from vaselib.vlm.reward import VaseAccuracyReward

REWARD_NAME = "external_vase_acc"
SIMILARITY_ENV = "VASELIB_REWARD_SIMILARITY"


class ExternalVaseAccuracy(ORM):
    """ms-swift ORM wrapper of :class:`~vaselib.vlm.reward.VaseAccuracyReward`."""

    def __init__(self, args: Any = None, similarity: str | None = None, **kwargs: Any):
        super().__init__(args, **kwargs)
        self.reward = VaseAccuracyReward(
            similarity=similarity or os.environ.get(SIMILARITY_ENV, "semantic"))

    def __call__(self, completions: list[Any], **kwargs: Any) -> list[float | None]:
        return self.reward(completions, **kwargs)


def register(name: str = REWARD_NAME) -> type[ExternalVaseAccuracy]:
    """Put the reward into ``swift.rewards.orms`` under ``name``; returns the class."""
    orms[name] = ExternalVaseAccuracy
    return ExternalVaseAccuracy


def plugin_path() -> Path:
    """This file, for ``swift rlhf --external_plugins``."""
    return Path(__file__).resolve()


register()
