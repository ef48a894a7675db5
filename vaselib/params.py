"""Typed, validated parameters for every stage.

Each stage has a pydantic model (its schema) that lives beside the stage's code and is
named in the stage registry (:mod:`vaselib.stages`).  Values come from three places, in this order of precedence:
the schema's defaults (= the offline demo), YAML profiles (``params/demo``, ``params/paper``)
and single ``-p key value`` overrides.  Anything unknown, mistyped or out of range fails at
once with a message naming the parameter and what is allowed; nothing is silently ignored
(papermill itself only warns about unknown parameters, so the notebooks validate here).
"""
from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vaselib import stages
from vaselib.stages import ParameterError

__all__ = [
    "StageParams", "ParameterError", "schema_for", "validate", "from_namespace",
    "load_yaml", "merge_sources", "Field",
]


def _numeric(annotation: Any) -> bool:
    """True for ``int``, ``float`` and their ``Optional`` forms."""
    if annotation in (int, float):
        return True
    args = typing.get_args(annotation)
    return bool(args) and any(a in (int, float) for a in args) and \
        all(a in (int, float, type(None)) for a in args)


class StageParams(BaseModel):
    """Base of every stage's parameters: unknown names are errors, values are checked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    output_dir: str = Field("runs/standalone", min_length=1,
                            description="where the stage writes its outputs")
    seed: int = Field(42, ge=0, description="seed for every random choice of the stage")

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_yes_no(cls, value: Any, info) -> Any:
        # pydantic would read true as 1.0 (and YAML reads yes/on as true): refuse instead
        field = cls.model_fields.get(info.field_name)
        if isinstance(value, bool) and field is not None and _numeric(field.annotation):
            raise ValueError("a number is needed, not true/false (YAML reads yes/no/on/off "
                             "as true/false)")
        return value

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def no_int8_compile(params: StageParams) -> StageParams:
    """A schema's after-validator: ``torch_compile`` cannot take ``precision: int8``, and
    ``runtime: onnxruntime`` takes neither ``torch_compile`` nor a reduced precision."""
    if getattr(params, "torch_compile", False) and getattr(params, "precision", "") == "int8":
        raise ValueError("torch_compile does not take precision int8 (dynamically quantised "
                         "layers): use fp32 or bf16 with it, or torch_compile: false")
    if getattr(params, "runtime", "torch") == "onnxruntime":
        if getattr(params, "precision", "fp32") != "fp32":
            raise ValueError("runtime: onnxruntime runs the fp32 model: set precision: fp32 "
                             "(bf16 and int8 are torch's paths), or runtime: torch")
        if getattr(params, "torch_compile", False):
            raise ValueError("runtime: onnxruntime replaces torch.compile: set "
                             "torch_compile: false, or runtime: torch")
    return params


def schema_for(stage: str) -> type[StageParams]:
    """The parameter schema of ``stage`` (e.g. ``"03_clip_quality"``)."""
    return stages.get(stage).schema


def _type_name(annotation: Any) -> str:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return " or ".join(_type_name(a) for a in inner) + " or None"
    return getattr(annotation, "__name__", None) or str(annotation)


def _describe(schema: type[StageParams], name: str) -> str:
    field = schema.model_fields.get(name)
    if field is None:
        return ""
    bits = [f"type {_type_name(field.annotation)}"]
    for meta in field.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(meta, attr, None) is not None:
                bits.append(f"{sym} {getattr(meta, attr)}")
    if field.description:
        bits.append(field.description)
    return "; ".join(str(b) for b in bits)


def _format_error(stage: str, schema: type[StageParams], err: ValidationError) -> str:
    lines = [f"invalid parameters for stage {stage}:"]
    for e in err.errors():
        name = ".".join(str(x) for x in e["loc"]) or "(parameters)"
        if e["type"] == "extra_forbidden":
            known = ", ".join(sorted(schema.model_fields))
            lines.append(f"  - unknown parameter {name!r}; known parameters: {known}")
        else:
            field = str(e["loc"][0]) if e["loc"] else ""
            lines.append(f"  - {name} = {e.get('input')!r}: {e['msg']} "
                         f"(allowed: {_describe(schema, field)})")
    return "\n".join(lines)


def validate(stage: str, values: Mapping[str, Any] | None = None, **overrides: Any) -> StageParams:
    """Validate ``values`` (plus ``overrides``) against ``stage``'s schema."""
    schema = schema_for(stage)
    data = {**(values or {}), **overrides}
    try:
        return schema(**data)
    except ValidationError as err:
        raise ParameterError(_format_error(stage, schema, err)) from None


_IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open", "display"}
# What a parameters cell or ``papermill -p`` can hold; other globals (the validated ``P``,
# a ``result``) are the notebook's own, so re-running a cell never mistakes them for input.
_PARAMETER_TYPES = (str, int, float, bool, type(None), list, tuple, dict)


def from_namespace(stage: str, namespace: Mapping[str, Any]) -> StageParams:
    """Collect and validate a notebook's parameters from its global namespace.

    Every public global holding a literal (string, number, bool, None, list, dict) is taken
    as a parameter: the parameters cell's names and those papermill injected.  A name the stage does not know (a typo in
    ``-p``) is an error, not a silent no-op.
    """
    values = {
        k: v for k, v in namespace.items()
        if not k.startswith("_") and k not in _IPYTHON_NAMES
        and not isinstance(v, types.ModuleType) and not callable(v)
        and isinstance(v, _PARAMETER_TYPES)
    }
    return validate(stage, values)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a parameter file: a flat mapping of parameter names to values."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"parameter file {path} does not exist; profiles live in "
                             f"params/demo/ and params/paper/")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ParameterError(f"parameter file {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"parameter file {path} must hold a mapping of name: value")
    return data


def merge_sources(stage: str, files: list[str | Path] = (),
                  overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge YAML files then overrides (later wins), validate, and return only what was set.

    Returns the explicitly set values (what papermill should inject), after checking that
    together with the defaults they form valid parameters for ``stage``.
    """
    merged: dict[str, Any] = {}
    for f in files:
        merged.update(load_yaml(f))
    merged.update(overrides or {})
    validate(stage, merged)
    return merged


RUNTIME_HELP = ("what runs the model: torch; or onnxruntime (fp32, CPU): the model exported "
                "once to ONNX (cached in <data>/cache/onnx) and run by ONNX Runtime, ~1.2× "
                "(ViT-B/32) to ~2× (ResNet50) torch's eager speed on a 2-core Xeon; outputs "
                "differ from torch's by fp32 rounding (~1e-6). The report records which ran")
