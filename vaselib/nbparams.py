"""Each notebook's ``parameters`` cell, written from the stage's schema.

The schema (a pydantic model beside the stage's code) is the one source of the defaults:
``vase sync-parameters`` rewrites every notebook's parameters cell from it, and a test
checks they agree.  The cell holds one annotated literal per line with its description as
a comment, the form ``papermill --help-notebook`` documents.
"""
from __future__ import annotations

import typing
from pathlib import Path

from vaselib import params as vparams

_CELL_HEAD = "# Parameters (papermill -p NAME VALUE overrides them; vaselib validates them).\n"


def _annotation(ann) -> str:
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Literal:
        return type(args[0]).__name__
    if origin is typing.Union and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return f"Optional[{_annotation(inner[0])}]" if len(inner) == 1 else "object"
    if origin in (list, tuple):
        return origin.__name__
    return getattr(ann, "__name__", "object")


def _literal(value) -> str:
    if isinstance(value, (list, tuple)) and value:
        inner = ",\n".join(f"    {v!r}" for v in value)
        return f"[\n{inner},\n]"
    return repr(value)


def parameters_source(stage: str) -> str:
    """The parameters cell of ``stage``'s notebook, from its schema's defaults."""
    schema = vparams.schema_for(stage)
    base = ("output_dir", "seed")  # the stage's own inputs first, then where it writes
    names = [n for n in schema.model_fields if n not in base] + list(base)
    lines = []
    for name in names:
        field = schema.model_fields[name]
        # papermill's parser takes a second '=' on a line for a syntax it cannot read
        help_text = (field.description or "").replace(" = ", ": ").replace("=", ":")
        lines.append(f"{name}: {_annotation(field.annotation)} = {_literal(field.default)}"
                     f"  # {help_text}")
    return _CELL_HEAD + "\n".join(lines)


def parameters_cell(nb):
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell
    raise ValueError("notebook has no cell tagged 'parameters'")


def sync_notebook(path: str | Path, stage: str) -> bool:
    """Rewrite the notebook's parameters cell from the schema; True when it changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cell = parameters_cell(nb)
    new = parameters_source(stage)
    if cell.source == new:
        return False
    cell.source = new
    nbformat.write(nb, path)
    return True
