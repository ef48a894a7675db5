"""The workbook's contracts: parameters, profiles, notebooks, environment files, CLI."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import nbformat
import papermill as pm
import pytest
import yaml

from vaselib import nbparams, params, runs, stages
from vaselib.cli import main as vase

ROOT = Path(__file__).resolve().parents[1]
STAGES = stages.names()


def test_unknown_and_mistyped_parameters_name_the_parameter():
    with pytest.raises(params.ParameterError) as err:
        params.validate("02_classify", {"treshold": 0.4})
    assert "unknown parameter 'treshold'" in str(err.value) and "threshold" in str(err.value)
    with pytest.raises(params.ParameterError, match=r"batch_size = 'many'"):
        params.validate("02_classify", {"batch_size": "many"})
    with pytest.raises(params.ParameterError, match="device"):
        params.validate("02_classify", {"device": "gpu7"})
    with pytest.raises(params.ParameterError, match="unknown stage"):
        params.validate("08_nothing", {})


def test_from_namespace_rejects_injected_unknown_names():
    ns = {"threshold": 0.6, "params": params, "In": [], "_hidden": 1}
    assert params.from_namespace("02_classify", ns).threshold == 0.6
    with pytest.raises(params.ParameterError, match="unknown parameter 'thresold'"):
        params.from_namespace("02_classify", {**ns, "thresold": 0.7})


@pytest.mark.parametrize("profile", ["demo", "paper"])
@pytest.mark.parametrize("stage", STAGES)
def test_every_profile_file_is_valid(profile, stage):
    path = ROOT / "params" / profile / f"{stage}.yaml"
    params.validate(stage, params.load_yaml(path))


def test_paper_profile_of_stage_01_is_the_original():
    p = params.validate("01_resnet_train", params.load_yaml(ROOT / "params/paper/01_resnet_train.yaml"))
    assert (p.arch, p.pretrained, p.image_size, p.batch_size, p.epochs) == ("resnet50", True, 224, 256, 200)
    assert (p.lr, p.weight_decay, p.step_size, p.gamma, p.seed) == (1e-3, 1e-4, 10, 0.1, 42)


def test_demo_profiles_equal_the_schema_defaults():
    for stage in STAGES:
        values = params.load_yaml(ROOT / "params" / "demo" / f"{stage}.yaml")
        defaults = params.schema_for(stage)().to_dict()
        assert {k: defaults[k] for k in values} == values, stage


@pytest.mark.parametrize("stage", STAGES)
def test_notebook_structure(stage):
    path = ROOT / "notebooks" / f"{stage}.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    cell = nbparams.parameters_cell(nb)
    assert cell.source == nbparams.parameters_source(stage), \
        f"{path.name}: run `vase sync-parameters` after changing the schema"
    inspected = pm.inspect_notebook(str(path))
    assert set(inspected) == set(params.schema_for(stage).model_fields)
    assert any(c.source.startswith("# NBVAL_CHECK_OUTPUT") for c in nb.cells if c.cell_type == "code")
    text = json.dumps(nb)
    for machine_path in ("/work/", "/tmp/", "/root/", "/home/"):
        assert machine_path not in text, f"{path.name} stores a machine path ({machine_path})"


@pytest.mark.parametrize("stage", STAGES)
def test_committed_notebook_is_a_whole_executed_report(stage):
    """Every code cell ran, and every cell nbval compares holds the output it compares: a
    cell edited in without a refresh shows no headline in the report, and nbval would compare
    nothing there."""
    path = ROOT / "notebooks" / f"{stage}.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    not_run = [i for i, c in code if c.execution_count is None]
    assert not not_run, (f"{path.name}: cells {not_run} were never executed; run "
                         f"`vase refresh-notebooks --stages {stage}` and commit the notebook")
    counts = [c.execution_count for _, c in code]
    assert counts == sorted(counts) and len(set(counts)) == len(counts), (
        f"{path.name}: cells ran out of order ({counts}); refresh it in one run")
    unchecked = [i for i, c in code
                 if c.source.startswith("# NBVAL_CHECK_OUTPUT") and not c.outputs]
    assert not unchecked, (f"{path.name}: checked cells {unchecked} store no output for "
                           f"nbval to compare; run `vase refresh-notebooks --stages {stage}`")


def test_environment_yml_and_make_install_the_same_locked_project():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    make = (ROOT / "Makefile").read_text()
    extras = re.search(r"^EXTRAS\s*:=\s*([a-z,]+)$", make, re.M).group(1)
    assert '-e ".[$(EXTRAS)]"' in make
    assert pip == ["-c requirements-lock.txt", f"-e .[{extras}]"]
    assert "-c requirements-lock.txt" in make
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(extras.split(",")) == set(declared["optional-dependencies"])
    # every runtime and extra dependency is pinned in the lock file CI installs with
    lock = {re.split(r"[=<>\[ ]", line)[0].lower().replace("_", "-")
            for line in (ROOT / "requirements-lock.txt").read_text().splitlines()
            if line and not line.startswith("#")}
    names = declared["dependencies"] + sum(declared["optional-dependencies"].values(), [])
    for req in names:
        name = re.split(r"[=<>~\[ ;]", req)[0].lower().replace("_", "-")
        assert name in lock, f"{name} is not pinned in requirements-lock.txt"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme


def test_readme_states_every_demo_band_as_the_code_checks_it():
    """The README's paragraph on the demo's bands names each band of
    vaselib.demo_checks.BANDS with its value: changing one without the other fails here."""
    from vaselib import demo_checks

    text = " ".join((ROOT / "README.md").read_text().split())
    stated = {
        ("01_resnet_train", "test_accuracy"): r"01 test accuracy ≥ ([\d.]+)",
        ("02_classify", "agreement"): r"02 agreement with the ground truth ≥ ([\d.]+)",
        ("03_clip_quality", "fragment_rejection"): r"03 fragment rejection ≥ ([\d.]+)",
        ("03_clip_quality", "intact_acceptance"): r"and intact acceptance ≥ ([\d.]+)",
        ("04_best_view", "profile_view_chosen"): r"04 profile view chosen ≥ ([\d.]+)",
        ("05_sft", "eval_loss_ratio_max"): r"05 final / base validation loss ≤ ([\d.]+)",
        ("08_evaluate", "base_reward_max"): r"08 base reward ≤ ([\d.]+)",
        ("08_evaluate", "sft_reward_min"): r"SFT reward ≥ ([\d.]+) and",
        ("08_evaluate", "sft_shape_min"): r"SFT shape accuracy ≥ ([\d.]+)",
    }
    bands = {(stage, name) for stage, named in demo_checks.BANDS.items() for name in named}
    assert bands == set(stated), "a band without its README sentence, or the reverse"
    for (stage, name), pattern in stated.items():
        found = re.findall(pattern, text)
        assert found, f"README: no sentence states {stage} {name}"
        assert {float(v.rstrip(".")) for v in found} == {demo_checks.BANDS[stage][name]}, \
            (stage, name, found)


def test_relative_paths_resolve_against_the_workbook_root(monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    assert runs.workbook_root() == ROOT
    assert runs.resolve("runs/x") == ROOT / "runs" / "x"
    assert runs.display_path(ROOT / "runs" / "x") == "runs/x"


def test_cli_rejects_a_bad_parameter_before_running(capsys):
    code = vase(["run", "02_classify", "-p", "treshold", "0.3", "--run-id", "never"])
    assert code == 2
    assert "unknown parameter 'treshold'" in capsys.readouterr().err
    assert not (ROOT / "runs" / "never").exists()


def test_cli_lists_every_stage(capsys):
    assert vase(["list"]) == 0
    out = capsys.readouterr().out
    assert all(s in out for s in STAGES)
