"""A stage's output folder: what it owns, how a run's outputs appear, and when they are complete.

Three rules, for every stage:

1. **A stage removes only what a previous run of the same stage wrote and recorded.** Each
   output folder holds a manifest (:data:`MANIFEST`) naming the stage and the items it
   wrote.  Before any work, an item of the stage's output names (``0/``, ``accepted/``,
   ``best_views_report.json`` …) that is already there but not recorded by that stage is an
   error naming the folder — so pointing ``output_dir`` at a folder with your own ``0/``
   and ``1/`` never deletes them.
2. **Outputs appear atomically.** Folders of files (stages 02–04) are built in a staging
   folder inside ``output_dir`` and swapped in at the end (:meth:`StageOutputs.commit`);
   stages that write in place (training, ms-swift) mark the folder incomplete when they
   start (:meth:`StageOutputs.begin_in_place`).  After a kill at any moment the folder
   holds the previous complete run or nothing that claims to be complete.
3. **Downstream stages refuse incomplete inputs** (:func:`require_complete`), with a
   message saying which stage to re-run.

``output_dir`` is checked before any work: it must be set, must not be a file, must be
creatable and writable (:func:`check_writable_dir`).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from vaselib import runs
from vaselib.files import atomic_write_json

MANIFEST = ".vaselib-stage.json"
STAGING_PREFIX = ".vaselib-staging-"
STAGING_MARKER = ".vaselib-staging"


class OutputConflict(FileExistsError):
    """Something in ``output_dir`` is in the way and was not written by this stage."""


class OutputMismatch(RuntimeError):
    """The files a stage placed do not add up to its inputs."""


class IncompleteInput(FileNotFoundError):
    """An input folder belongs to a stage run that did not finish."""


def check_writable_dir(value: str | Path | None, name: str = "output_dir") -> Path:
    """``value`` resolved, created if missing and proven writable; else an error naming
    parameter ``name`` and the fix."""
    from vaselib.stages import ParameterError

    if value is None or not str(value).strip():
        raise ParameterError(f"{name} is empty: give a folder for the outputs, e.g. "
                             f"runs/my-run/<stage>")
    path = runs.resolve(value)
    if path == runs.workbook_root():
        raise ParameterError(f"{name} = {value!r} is the workbook itself: give a folder inside "
                             f"it (e.g. runs/my-run/<stage>) or elsewhere")
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{name} = {value!r} is a file ({runs.display_path(path)}); give "
                             f"a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".vaselib-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ParameterError(f"{name} = {value!r} cannot be written ({err.strerror or err}); "
                             f"choose a folder you can write to, or fix its permissions") from None
    return path


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of a stage output folder, or None when there is none (or it is unreadable)."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "stage" in data else None


def _summary_stage(folder: Path) -> str | None:
    try:
        return json.loads((folder / runs.SUMMARY_FILE).read_text(encoding="utf-8")).get("stage")
    except (OSError, ValueError, AttributeError):
        return None


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch(name, pat) for pat in patterns)


class StageOutputs:
    """The output folder of one run of ``stage`` (see the module docstring).

    ``owned`` are the stage's output names (glob patterns allowed, e.g. ``checkpoint-*``);
    ``summary.json`` is always owned.
    """

    def __init__(self, stage: str, output_dir: str | Path, owned: Sequence[str]):
        self.stage = stage
        self.folder = check_writable_dir(output_dir)
        self.owned = tuple(owned) + (runs.SUMMARY_FILE,)
        self.previous = read_manifest(self.folder)
        self.staging: Path | None = None
        self._check_conflicts()

    # -- before work ---------------------------------------------------------------------
    def _recorded(self) -> set[str]:
        if self.previous and self.previous.get("stage") == self.stage:
            items = set(self.previous.get("items") or [])
            if not self.previous.get("complete") and self.previous.get("in_place"):
                # an interrupted in-place run: its start made sure nothing foreign was in
                # the way, so every output name now present was written by it
                items |= {c.name for c in self.folder.iterdir() if _matches(c.name, self.owned)}
            return items
        if self.previous is None and _summary_stage(self.folder) == self.stage:
            # a folder of this stage from before manifests: its summary says whose it is
            return {c.name for c in self.folder.iterdir() if _matches(c.name, self.owned)}
        return set()

    def _check_conflicts(self) -> None:
        recorded = self._recorded()
        foreign = sorted(
            child.name for child in self.folder.iterdir()
            if _matches(child.name, self.owned) and child.name not in recorded)
        if foreign:
            by = (f"written by stage {self.previous.get('stage')}" if self.previous
                  else "not written by vaselib")
            raise OutputConflict(
                f"output_dir {runs.display_path(self.folder)} already holds "
                f"{', '.join(f + ('/' if (self.folder / f).is_dir() else '') for f in foreign)} "
                f"({by}); stage {self.stage} never removes what it did not write: choose an "
                f"empty or new output_dir, or move those away yourself")

    def stale_staging(self) -> list[Path]:
        """Staging folders of interrupted runs of this stage (safe to remove: ours)."""
        return [p for p in self.folder.glob(f"{STAGING_PREFIX}{self.stage}-*")
                if (p / STAGING_MARKER).is_file()]

    # -- staged outputs (stages that produce folders of files) ---------------------------
    def begin_staged(self) -> Path:
        """A fresh staging folder to write this run's outputs into."""
        for old in self.stale_staging():
            shutil.rmtree(old, ignore_errors=True)
        self.staging = self.folder / f"{STAGING_PREFIX}{self.stage}-{os.getpid()}"
        self.staging.mkdir()
        (self.staging / STAGING_MARKER).write_text(self.stage + "\n", encoding="utf-8")
        return self.staging

    def commit(self) -> list[str]:
        """Swap the staged outputs in (the previous run's recorded items are replaced)."""
        if self.staging is None:
            raise RuntimeError("commit() without begin_staged()")
        produced = sorted(c.name for c in self.staging.iterdir() if c.name != STAGING_MARKER)
        old = self._recorded()
        trash = self.staging / ".replaced"
        trash.mkdir()
        summary = self.folder / runs.SUMMARY_FILE
        if summary.exists() and runs.SUMMARY_FILE in old | {runs.SUMMARY_FILE}:
            os.replace(summary, trash / runs.SUMMARY_FILE)    # first: no stale claim left
        self._write_manifest(sorted(old | set(produced)), complete=False)
        for name in sorted(old | set(produced)):
            target = self.folder / name
            if (target.exists() or target.is_symlink()) and name in old | {runs.SUMMARY_FILE}:
                os.replace(target, trash / name)
        for name in produced:
            os.replace(self.staging / name, self.folder / name)
        self._write_manifest(produced, complete=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging = None
        return produced

    def abort(self) -> None:
        """Drop the staged outputs (the previous complete run stays as it was)."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None

    @contextmanager
    def staged(self) -> Iterator[Path]:
        """``with outputs.staged() as staging: write(staging)`` — committed on success,
        dropped on any error or interruption."""
        staging = self.begin_staged()
        try:
            yield staging
        except BaseException:
            self.abort()
            raise
        self.commit()

    # -- outputs written in place (training stages, ms-swift) ----------------------------
    def begin_in_place(self, *, keep_previous: bool = False) -> None:
        """Mark the folder incomplete and (unless ``keep_previous``, e.g. to resume) remove
        the previous run's recorded items."""
        old = self._recorded()
        self._write_manifest(sorted(old), complete=False, in_place=True)
        (self.folder / runs.SUMMARY_FILE).unlink(missing_ok=True)
        if not keep_previous:
            for name in sorted(old):
                target = self.folder / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
        self.previous = {"stage": self.stage, "complete": False, "in_place": True,
                         "items": [] if not keep_previous else sorted(old)}

    def finish_in_place(self) -> list[str]:
        """Record what the stage wrote (its owned names now present) and mark it complete."""
        produced = sorted(c.name for c in self.folder.iterdir()
                          if _matches(c.name, self.owned))
        self._write_manifest(produced, complete=True)
        return produced

    # -- manifest ------------------------------------------------------------------------
    def _write_manifest(self, items: Sequence[str], *, complete: bool,
                        in_place: bool = False) -> None:
        atomic_write_json(self.folder / MANIFEST, {
            "stage": self.stage, "complete": complete, "in_place": in_place,
            "items": list(items),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), "pid": os.getpid()})


def require_complete(path: str | Path, name: str) -> None:
    """Refuse ``path`` (an input) when it lies in the output folder of a stage run that did
    not finish; the message names the parameter and the stage to re-run."""
    p = runs.resolve(path)
    for folder in (p, *list(p.parents)[:2]):
        manifest = read_manifest(folder)
        if manifest is None:
            continue
        if not manifest.get("complete") or not (folder / runs.SUMMARY_FILE).is_file():
            raise IncompleteInput(
                f"{name} = {runs.display_path(p)} is the output of an unfinished run of stage "
                f"{manifest.get('stage')} (interrupted, or still running): re-run stage "
                f"{manifest.get('stage')} to completion first")
        return


def check_counts(stage: str, inputs: int, failed: int, placed: dict[str, tuple[int, int]],
                 unplaced: int = 0) -> dict[str, Any]:
    """Check that a stage accounted for every input, counted on disk.

    ``placed[folder] = (expected, found on disk)``; ``unplaced`` counts inputs deliberately
    not copied (e.g. rejected photos with ``save_rejected: false``).  Returns the
    verification record for the report; raises :class:`OutputMismatch` listing what does
    not add up (the stage then fails instead of finishing normally).
    """
    problems = [f"{name}/ holds {found} files, expected {expected}"
                for name, (expected, found) in placed.items() if expected != found]
    total = sum(found for _, found in placed.values()) + unplaced + failed
    if total != inputs:
        problems.append(f"outputs ({' + '.join(f'{n}/ {f}' for n, (_, f) in placed.items())}"
                        f"{f' + {unplaced} not copied' if unplaced else ''}) + {failed} "
                        f"failures = {total}, but there were {inputs} inputs")
    if problems:
        raise OutputMismatch(f"stage {stage}: the outputs do not add up to the inputs: "
                             + "; ".join(problems) + " (nothing was committed)")
    return {"inputs": inputs, "failures": failed, "not_copied": unplaced,
            **{f"files_in_{n}": f for n, (_, f) in placed.items()},
            "outputs_plus_failures_equal_inputs": True}


def recorded_output(folder: str | Path, key: str, stage: str, *, param: str) -> Path:
    """The output ``key`` that ``stage`` recorded in the ``summary.json`` of ``folder``.

    This is how a stage reads an earlier stage's result: through the folder and summary it
    wrote, never by importing or running it.  ``param`` names the parameter that pointed
    here, for the error messages.
    """
    folder = runs.resolve(folder)
    require_complete(folder, param)
    summary = runs.read_summary(folder)
    if summary.get("stage") != stage:
        raise FileNotFoundError(
            f"{param} = {runs.display_path(folder)} was written by {summary.get('stage')!r}, "
            f"not by {stage}: point {param} at an output folder of {stage}")
    value = (summary.get("outputs") or {}).get(key)
    if not value:
        raise FileNotFoundError(f"{runs.display_path(folder)}/{runs.SUMMARY_FILE} records no "
                                f"{key}: {stage} did not finish there")
    path = runs.resolve(value)
    if not path.exists():
        raise FileNotFoundError(f"the {key} {value} recorded by {runs.display_path(folder)} does "
                                f"not exist any more")
    return path
