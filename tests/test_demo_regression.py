"""The whole offline demo, run once through its notebooks, checked stage by stage.

This is the run ``make demo`` does (``pipeline.run_demo``), into a temporary run folder.
Trained numbers move between machines (CPU kernels, thread counts), so they are checked
against bands with margin over the spread ``benchmarks/demo_spread.py`` measures; what
cannot move (file counts, failures, verification flags, the parameters that ran) is
checked exactly.  A failure says which stage, which number, and what to do.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from vaselib import demo, demo_checks, params, pipeline, runs, stages
from vaselib.images import count_files

pytestmark = [pytest.mark.slow, pytest.mark.notebook]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """Every stage's notebook, executed once with the demo's parameters."""
    run_dir = tmp_path_factory.mktemp("demo-run")
    # the base VLM is built beside this module by tests/test_demo_models.py (first on the
    # other worker), so the demo does not start a second builder that would only wait
    done, failed, index = pipeline.run_demo(run_dir, html=False, log=lambda m: None,
                                            prepare=False)
    assert failed is None, f"the demo failed: {failed}"
    return run_dir, {r.stage: r for r in done}


def summary(run_dir: Path, stage: str) -> dict:
    return runs.read_summary(run_dir / stage)


def _band(stage: str, name: str, rate: demo_checks.Rate) -> None:
    bound = demo_checks.BANDS[stage][name]
    assert rate.value >= bound, (
        f"{stage}: {name} = {rate} is below its band {bound:.2f}. If this follows a "
        f"deliberate change, re-measure with benchmarks/demo_spread.py and update "
        f"vaselib/demo_checks.BANDS; otherwise the stage regressed.")


def test_every_stage_ran_with_the_demo_profile(demo_run):
    run_dir, ran = demo_run
    assert list(ran) == stages.names()
    for stage in stages.names():
        recorded = params.load_yaml(ROOT / "params" / "demo" / f"{stage}.yaml")
        ran_with = summary(run_dir, stage)["params"]
        chained = pipeline.chained_parameters(stage, run_dir)
        filled = demo.fillable_inputs(stage, params.validate(stage, {**recorded, **chained}))
        for key, value in recorded.items():
            if key in chained:
                continue
            if key in filled:  # a demo input the profile leaves None: the demo supplied it
                assert value is None and ran_with[key], (stage, key, ran_with[key])
                continue
            assert ran_with[key] == value, (
                f"{stage} ran with {key} = {ran_with[key]!r}; the demo profile "
                f"(params/demo/{stage}.yaml) says {value!r}")


def test_01_trains_a_classifier_that_passes_its_band(demo_run):
    run_dir, _ = demo_run
    s = summary(run_dir, "01_resnet_train")
    assert s["headline"]["images"] == 400
    results = runs.read_json(run_dir / "01_resnet_train" / "training_results.json")
    assert results["counts"] == {"images": 400, "train": 320, "val": 40, "test": 40,
                                 "low_quality": 200, "high_quality": 200}
    cm = results["confusion_matrix"]
    rate = demo_checks.Rate(cm[0][0] + cm[1][1], sum(map(sum, cm)))
    assert rate.n == 40 and rate.value == pytest.approx(results["test_accuracy"])
    _band("01_resnet_train", "test_accuracy", rate)


def test_02_sorts_every_raw_photo_and_agrees_with_the_ground_truth(demo_run):
    run_dir, _ = demo_run
    out = run_dir / "02_classify"
    corpus = demo.corpus()
    h = summary(run_dir, "02_classify")["headline"]
    assert h["total"] == len(corpus.images) and h["failed"] == 0 and h["verified"]
    assert count_files(out / "0") + count_files(out / "1") == len(corpus.images)
    truth = {r["file"]: r["quality"] for r in corpus.images}
    report = runs.read_json(out / "classification_report.json")
    pairs = [(p["predicted_class"], truth[p["file"]]) for p in report["predictions"]]
    agreement = demo_checks.Rate(sum(a == b for a, b in pairs), len(pairs))
    _band("02_classify", "agreement", agreement)


def test_03_rejects_fragments_and_keeps_intact_vases(demo_run):
    run_dir, _ = demo_run
    rep = runs.read_json(run_dir / "03_clip_quality" / "filtering_report.json")
    assert rep["total_images"] == count_files(run_dir / "02_classify" / "1")
    assert rep["failed_images"] == 0 and rep["threshold"] == 0.0
    assert count_files(run_dir / "03_clip_quality" / "accepted") == rep["accepted_images"]
    truth = {r["file"]: r["condition"] for r in demo.corpus().images}
    rows = [(truth[x["filename"]], x["accepted"]) for x in rep["results"]]
    frag = [a for c, a in rows if c == "fragment"]
    intact = [a for c, a in rows if c == "intact"]
    _band("03_clip_quality", "fragment_rejection",
          demo_checks.Rate(sum(not a for a in frag), len(frag)))
    _band("03_clip_quality", "intact_acceptance", demo_checks.Rate(sum(intact), len(intact)))


def test_04_keeps_one_view_per_vase_mostly_a_profile(demo_run):
    run_dir, _ = demo_run
    rep = runs.read_json(run_dir / "04_best_view" / "best_views_report.json")
    accepted = [p.name for p in (run_dir / "03_clip_quality" / "accepted").rglob("*.jpg")]
    vases = {n.split("_")[0] for n in accepted}
    assert rep["total_vases"] == len(vases) == count_files(run_dir / "04_best_view" / "best_views")
    assert rep["total_original_images"] == len(accepted)
    kinds = {r["file"].rsplit("/", 1)[-1]: r["view_kind"] for r in demo.corpus().images}
    contested = wins = 0
    for r in rep["results"]:
        views = [kinds[v["filename"]] for v in r["all_view_scores"]]
        if any(k in demo_checks.PROFILE_VIEWS for k in views) and \
                any(k in ("top", "bottom") for k in views):
            contested += 1
            wins += kinds[r["selected_filename"]] in demo_checks.PROFILE_VIEWS
    _band("04_best_view", "profile_view_chosen", demo_checks.Rate(wins, contested))


def test_05_teaches_the_base_model_the_captions_of_stage_04s_best_views(demo_run):
    run_dir, _ = demo_run
    h = summary(run_dir, "05_sft")["headline"]
    best_views = count_files(run_dir / "04_best_view" / "best_views")
    assert h["records"] == best_views and h["bad_records"] == 0
    assert h["train_records"] + h["val_records"] == best_views and h["val_records"] > 0
    # the validation loss of the untrained base (eval_on_start) against the trained model's
    assert h["base_eval_loss"] is not None and h["final_eval_loss"] is not None
    ratio = h["final_eval_loss"] / h["base_eval_loss"]
    assert ratio <= demo_checks.BANDS["05_sft"]["eval_loss_ratio_max"], (
        f"05_sft: the validation loss fell only from {h['base_eval_loss']} to "
        f"{h['final_eval_loss']} (ratio {ratio:.2f}); SFT no longer teaches the captions")


def test_06_grpo_scores_every_step_with_a_spread_within_groups(demo_run):
    run_dir, _ = demo_run
    s = summary(run_dir, "06_grpo")
    h = s["headline"]
    assert h["train_steps"] == s["params"]["max_steps"] and h["completions"] > 0
    assert h["mean_reward"] is not None and 0.0 <= h["mean_reward"] <= 1.0
    assert h["mean_reward_std"] is not None and h["mean_reward_std"] > 0.0, (
        "06_grpo: every completion of a prompt scored the same, so GRPO had no advantage "
        "to learn from")


def test_07_merges_both_models_and_captions_with_each(demo_run):
    run_dir, _ = demo_run
    h = summary(run_dir, "07_merge")["headline"]
    assert h["grpo_model"] is True and h["models_captioned"] == 3 and not h["mcore_exported"]
    assert h["changed_tensors"] > 0   # the merged SFT model differs from its base
    captions = runs.read_json(run_dir / "07_merge" / "captions.json")["captions"]
    assert set(captions) == {"base", "merged SFT", "GRPO"}
    assert all(isinstance(c, str) and c.strip() for c in captions.values())


def test_08_evaluates_every_model_and_sft_beats_the_base(demo_run):
    run_dir, _ = demo_run
    rep = runs.read_json(run_dir / "08_evaluate" / "evaluation_report.json")
    n = len(runs.read_json(demo.heldout_set().records_file))
    assert set(rep["models"]) == {"base", "SFT", "GRPO"}
    for name, entry in rep["models"].items():
        assert entry["metadata"]["total_pairs"] == n, name
        for field in ("clip_score", "semantic_similarity", "r_at_1", "r_at_5", "r_at_10",
                      "lexical_similarity", "fid_score", "overall_score"):
            assert isinstance(entry[field], float), (name, field, entry.get("errors"))
        for field in ("clip_s", "reference_clip_s"):      # grounded in the held-out images
            assert isinstance(entry["image_grounded"][field]["value"], float), \
                (name, field, entry.get("errors"))
    reward = {m: rep["models"][m]["attributes"]["external_vase_acc"]["value"]
              for m in rep["models"]}
    bands = demo_checks.BANDS["08_evaluate"]
    assert reward["base"] <= bands["base_reward_max"], reward
    assert reward["SFT"] >= bands["sft_reward_min"], reward
    shape = rep["models"]["SFT"]["attributes"]["shape"]["value"]
    assert shape >= bands["sft_shape_min"], (
        f"SFT shape accuracy {shape}: the captioner names the common shapes, not what it sees")
    diff = next(c for c in rep["comparisons"] if (c["model_a"], c["model_b"]) == ("SFT", "base"))
    d = diff["differences"]["attributes.external_vase_acc"]
    assert d["n"] == n and d["low"] > 0, f"SFT − base reward {d}: SFT does not beat the base"
