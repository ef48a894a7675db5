"""Notebooks 05 → 06 → 07 through papermill on the tiny model, chained by their output folders."""
from __future__ import annotations

import pytest

from conftest import cell_text
from conftest_vlm import write_best_views, write_captions
from vaselib.vlm import tiny

pytestmark = [pytest.mark.slow, pytest.mark.notebook]


def test_sft_grpo_merge_notebooks_chain(run_notebook, tmp_path, monkeypatch):
    monkeypatch.setenv("VASELIB_DATA", str(tmp_path / "data"))
    folder, caps = write_best_views(tmp_path, n=5)
    captions = write_captions(tmp_path / "captions.json", caps)

    nb5 = run_notebook("05_sft", images_dir=str(folder), captions=str(captions),
                       model=str(tiny.ensure_tiny_model()),
                       num_train_epochs=1, max_steps=2, gradient_accumulation_steps=1,
                       split_dataset_ratio=0.0)
    text5 = cell_text(nb5)
    assert "records: 5\n" in text5 and "bad records: 0\n" in text5
    assert "train steps: 2\n" in text5 and "final train loss: " in text5

    nb6 = run_notebook("06_grpo", sft_dir=str(tmp_path / "05_sft"), max_steps=1,
                       gradient_accumulation_steps=1,
                       max_completion_length=8, reward_similarity="lexical")
    text6 = cell_text(nb6)
    assert "prompts: 5\n" in text6 and "train steps: 1\n" in text6
    assert "completions logged: 4\n" in text6 and "mean reward: " in text6

    nb7 = run_notebook("07_merge", sft_dir=str(tmp_path / "05_sft"),
                       grpo_dir=str(tmp_path / "06_grpo"), max_new_tokens=6)
    text7 = cell_text(nb7)
    assert "weight tensors changed by the merge: 25\n" in text7
    assert "models captioned: 3\n" in text7
    assert "Megatron checkpoint written: False\n" in text7
