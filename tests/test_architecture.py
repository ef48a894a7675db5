"""The package's shape: stages are siblings over shared foundations, with no cycle.

Imports are read from the source (module level and inside functions alike), so a lazy
import that runs backwards counts as much as a top-level one.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from vaselib import stages

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "vaselib"

# above the stages: they run them, or check the demo's results of them
ORCHESTRATORS = {"vaselib.cli", "vaselib.pipeline", "vaselib.notebooks", "vaselib.reports",
                 "vaselib.clip.demo_check"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for a in node.names:   # `from vaselib.resnet import predict` names a module
                sub = f"{module}.{a.name}"
                found.add(sub if sub in MODULES else module)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}
STAGE_MODULES = {s.run_ref.partition(":")[0]: s.name for s in stages.STAGES}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_import_reader_sees_lazy_and_relative_imports(tmp_path):
    fake = tmp_path / "fake.py"   # as if it were vaselib/resnet/fake.py
    fake.write_text("from . import data\nfrom ..clip import scoring\n"
                    "import numpy\n"
                    "def f():\n    from vaselib.resnet import predict\n")
    assert _imports("vaselib.resnet.fake", fake) == {
        "vaselib.resnet.data", "vaselib.clip.scoring", "vaselib.resnet.predict"}


def test_there_is_no_import_cycle():
    cycles = sorted(m for m in GRAPH if m in _reachable(m))
    assert not cycles, f"modules that import themselves through others: {cycles}"


def test_no_stage_reaches_another_stage():
    for module, stage in STAGE_MODULES.items():
        others = {STAGE_MODULES[m] for m in _reachable(module) if m in STAGE_MODULES}
        assert not others, f"stage {stage} ({module}) imports stage(s) {sorted(others)}"


def test_the_foundations_never_import_a_stage():
    for module in GRAPH:
        if module in STAGE_MODULES or module in ORCHESTRATORS:
            continue
        reached = {STAGE_MODULES[m] for m in _reachable(module) if m in STAGE_MODULES}
        # a stage's own widgets and plots may use its result types
        own = {STAGE_MODULES[m] for m in STAGE_MODULES if m.rpartition(".")[0] ==
               module.rpartition(".")[0]} if module.endswith(("widgets", "plots")) else set()
        assert reached <= own, f"{module} imports stage(s) {sorted(reached - own)}"


def test_the_readme_layout_names_every_module_and_only_real_ones():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## How the code is laid out\n(.*?)(?=^## )", text, re.M | re.S)
    assert m, "README.md has no 'How the code is laid out' section"
    section = m.group(1)
    rows = re.findall(r"^\| `vaselib/([a-z_/]+?)(?:\.py)?/?`(.*?)\|", section, re.M)
    named: set[str] = set()
    for first, rest in rows:
        paths = [first] + re.findall(r"`vaselib/([a-z_/]+?)(?:\.py)?/?`", rest)
        for path in paths:
            module = "vaselib." + path.strip("/").replace("/", ".")
            assert module in MODULES, f"README names {module}, which does not exist"
            named.add(module)
    # a package row names its modules in backticks: `train.py` or `model`
    for line in section.splitlines():
        pkg = re.match(r"^\| `vaselib/([a-z_]+)/`", line)
        if pkg:
            for word in re.findall(r"`([a-z_]+)(?:\.py)?`", line.split("|")[2]):
                module = f"vaselib.{pkg.group(1)}.{word}"
                assert module in MODULES, f"README names {module}, which does not exist"
                named.add(module)
            named.add(f"vaselib.{pkg.group(1)}")
    missing = sorted(m for m in MODULES if m != "vaselib" and m not in named)
    assert not missing, f"the README's layout section does not mention {missing}"


def test_the_package_version_is_the_one_pyproject_declares():
    """vaselib.__version__ (part of cache keys) names the release pyproject.toml builds."""
    import tomllib

    import vaselib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert vaselib.__version__ == declared
