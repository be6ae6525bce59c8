"""Every key of the scenario format, walked from the pydantic models of
:mod:`sim.spec`, starting at :class:`sim.spec.Scenario`.

For each model (a block of the YAML): where it appears (dotted paths, with
``NAME`` for a mapping's keys and ``I`` for a list's positions), its
docstring, and per key its type (units shown: a duration is seconds or a
string with a unit; CPU is cores or a Kubernetes quantity), its default and
its meaning (:data:`sim.reference.scenario_notes.NOTES`; a ``Field``
description given in the spec wins). Distributions are one family, listed
once. :func:`undescribed` and :func:`stale` say where the notes and the
models disagree.
"""
from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Iterator, Literal, Union

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .markdown import code, rst_to_markdown, table
from .scenario_notes import NOTES


def _unwrap(tp: Any) -> tuple[Any, list]:
    """(type, metadata) with every ``Annotated`` layer peeled off."""
    meta: list = []
    while typing.get_origin(tp) is typing.Annotated:
        args = typing.get_args(tp)
        tp, meta = args[0], [*args[1:], *meta]
    return tp, meta


def _union_args(tp: Any) -> list:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return list(typing.get_args(tp))
    return [tp]


def _is_model(tp: Any) -> bool:
    return inspect.isclass(tp) and issubclass(tp, BaseModel)


def _is_dist(tp: Any) -> bool:
    from ..spec.distributions import _Dist
    members = [_unwrap(a)[0] for a in _union_args(_unwrap(tp)[0])]
    return all(_is_model(m) and issubclass(m, _Dist) for m in members) and bool(members)


def _models_in(tp: Any) -> list[type]:
    """The models a field's value may be (through Optional, unions, lists, dicts)."""
    tp, _ = _unwrap(tp)
    if _is_model(tp):
        return [tp]
    origin = typing.get_origin(tp)
    if origin in (list, tuple, dict):
        return _models_in(typing.get_args(tp)[-1])
    out: list[type] = []
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            out += _models_in(arg)
    return out


def _container_suffix(tp: Any) -> str:
    """``.NAME`` for a mapping of blocks, ``.I`` for a list, else ''."""
    tp, _ = _unwrap(tp)
    for arg in _union_args(tp):
        arg, _ = _unwrap(arg)
        origin = typing.get_origin(arg)
        if origin is dict:
            return ".NAME"
        if origin in (list, tuple):
            return ".I"
    return ""


def key_of(name: str, info: FieldInfo) -> str:
    """The YAML key of a field (its alias when it has one)."""
    return info.alias or name


_BOUNDS = ((at.Ge, "≥", "ge"), (at.Gt, ">", "gt"), (at.Le, "≤", "le"), (at.Lt, "<", "lt"))
_WORDS = {"Any": "any", "str": "string", "float": "number", "int": "integer", "bool": "boolean"}


def _flat_meta(meta: list) -> list:
    """Metadata with the ``Field(...)`` of nested ``Annotated`` types opened up."""
    out = []
    for m in meta:
        out += _flat_meta(m.metadata) if isinstance(m, FieldInfo) else [m]
    return out


def _constraint(meta: list) -> str:
    words = []
    for m in _flat_meta(meta):
        for cls, sign, attr in _BOUNDS:
            if isinstance(m, cls):
                words.append(f"{sign} {getattr(m, attr):g}")
        if isinstance(m, at.MinLen) and m.min_length:
            words.append(f"at least {m.min_length}")
    return ", ".join(words)


def _unit(meta: list) -> str:
    from ..units import parse_cpu, parse_duration
    funcs = {getattr(m, "func", None) for m in meta}
    if parse_duration in funcs:
        return "duration (s)"
    if parse_cpu in funcs:
        return "CPU (cores)"
    if any(getattr(f, "__name__", "") == "parse_quantity" for f in funcs):
        return "quantity"
    return ""


def render_type(tp: Any, meta: list | None = None) -> str:
    """A field's type in words: units, bounds, choices, nested blocks."""
    tp, inner = _unwrap(tp)
    meta = [*(meta or []), *inner]
    if _is_dist(tp):
        return "distribution"
    args = [a for a in _union_args(tp) if a is not type(None)]
    if len(args) > 1:
        return " or ".join(render_type(a) for a in args)
    if len(args) == 1 and args[0] is not tp:
        return render_type(args[0], meta)
    origin = typing.get_origin(tp)
    if origin is Literal and len(typing.get_args(tp)) == 1:
        return f"`{typing.get_args(tp)[0]}`"
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in typing.get_args(tp))
    if origin is dict:
        return f"mapping of {render_type(typing.get_args(tp)[1])}"
    if origin in (list, tuple):
        return f"list of {render_type(typing.get_args(tp)[0])}"
    if _is_model(tp):
        return f"block [{tp.__name__}](#{tp.__name__.lower()})"
    name = _unit(meta) or getattr(tp, "__name__", str(tp)).replace("NoneType", "null")
    name = _WORDS.get(name, name)
    bound = _constraint(meta)
    return f"{name} ({bound})" if bound else name


def render_default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()
    else:
        value = info.default
    if value is None:
        return "none"
    if isinstance(value, BaseModel):
        dumped = value.model_dump(mode="json", by_alias=True, exclude_none=True)
        return code(_compact(dumped))
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return code(_compact([v.model_dump(mode="json", by_alias=True, exclude_none=True) for v in value]))
    return code(_compact(value))


def _compact(value: Any) -> str:
    """YAML-flow-like text of a default value."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def walk(root: type | None = None) -> dict[type, list[str]]:
    """Model -> the dotted paths where it appears, in the order first met
    (distributions are not entered: see :func:`dist_models`)."""
    from ..spec import Scenario
    found: dict[type, list[str]] = {}

    def visit(model: type, path: str, inside: tuple) -> None:
        found.setdefault(model, [])
        if path not in found[model]:
            found[model].append(path)
        if model in inside:  # a block inside itself (none today): list it once
            return
        for name, info in model.model_fields.items():
            if any(_is_dist(a) for a in [info.annotation, *_union_args(_unwrap(info.annotation)[0])]):
                continue  # a distribution: listed once, under Distributions
            child = f"{path}.{key_of(name, info)}".lstrip(".") + _container_suffix(info.annotation)
            for sub in _models_in(info.annotation):
                visit(sub, child, (*inside, model))

    visit(root or Scenario, "", ())
    return found


def dist_models() -> list[type]:
    """The distribution blocks, in :data:`sim.spec.distributions.DIST_TYPES` order."""
    from ..spec.distributions import DIST_TYPES
    return list(DIST_TYPES.values())


def all_models() -> list[type]:
    return [*walk(), *dist_models()]


def fields(model: type) -> Iterator[tuple[str, FieldInfo]]:
    for name, info in model.model_fields.items():
        yield key_of(name, info), info


def note(model: type, key: str, info: FieldInfo) -> str:
    return info.description or NOTES.get(f"{model.__name__}.{key}", "")


def undescribed() -> list[str]:
    """``Model.key`` of the format with no meaning in the notes or the spec."""
    return [f"{m.__name__}.{k}" for m in all_models() for k, info in fields(m) if not note(m, k, info)]


def stale() -> list[str]:
    """Notes of ``Model.key`` that the format no longer has."""
    real = {f"{m.__name__}.{k}" for m in all_models() for k, _ in fields(m)}
    return sorted(set(NOTES) - real)


def _block(model: type, paths: list[str]) -> str:
    where = ", ".join(code(p) for p in paths) if paths and paths != [""] else "the top level of the file"
    doc = inspect.cleandoc(model.__dict__.get("__doc__") or "")
    rows = [(code(k), render_type(info.annotation, info.metadata), render_default(info), note(model, k, info))
            for k, info in fields(model)]
    parts = [f"### {model.__name__}", f"At {where}."]
    if doc:
        parts.append(rst_to_markdown(doc))
    parts.append(table(["key", "type", "default", "meaning"], rows))
    return "\n\n".join(parts)


def section() -> str:
    """Section 5: every key of the scenario format."""
    parts = ["## 5. Scenario keys",
             "Walked from the pydantic models of `sim.spec` (the only validator). Unknown keys are "
             "errors; every problem is reported at once as `path: problem (got VALUE)` (exit 2). "
             "Units: a duration is a number of seconds or a string with a unit (`250us`, `20ms`, "
             "`15s`, `5m`, `2h`, `1h30m`); CPU is cores or a Kubernetes quantity (`500m`); rates are "
             "requests per second. `NAME` stands for a key of a mapping (a service, a workload, a "
             "window), `I` for a position in a list (from 0): the same dotted paths work in "
             "`--set`, `sim.load(overrides=...)` and experiments. Where a key may be one of "
             "several blocks (`type:`, `kind:`, `dist:`), each block is listed."]
    for model, paths in walk().items():
        parts.append(_block(model, paths))
    parts.append("### Distributions")
    parts.append("Every key of type *distribution* takes a bare duration (a constant) or a mapping "
                 "with `dist:`, one of the blocks below (a `mixture`'s components take `weight`).")
    for model in dist_models():
        block = _block(model, [])
        parts.append(block.replace("At the top level of the file.", f"`dist: {_dist_name(model)}`."))
    return "\n\n".join(parts)


def _dist_name(model: type) -> str:
    from ..spec.distributions import DIST_TYPES
    return next(name for name, cls in DIST_TYPES.items() if cls is model)
