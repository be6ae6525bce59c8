"""Turn pydantic's validation errors into ``path: problem (got VALUE)`` lines."""
from __future__ import annotations

import difflib
import re
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Problem, join_path

_TAG_PREFIXES = ("dist:", "step:", "fault:", "backoff:", "budget:", "topic:", "trigger:")
_UNION_KIND = {"dist:": "distribution (dist)", "step:": "call step", "fault:": "fault kind",
               "backoff:": "backoff type", "budget:": "budget type", "topic:": "topic kind",
               "trigger:": "trigger type"}


def _is_tag(part: Any) -> bool:
    return isinstance(part, str) and part.startswith(_TAG_PREFIXES)


def _strip(tag: str) -> str:
    for prefix in _TAG_PREFIXES:
        if tag.startswith(prefix):
            return tag[len(prefix):]
    return tag


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (through Optional/Union/Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _container_items(annotation: Any) -> list[Any]:
    """For list[X] / dict[str, X] (possibly wrapped) return [X]."""
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return [typing.get_args(annotation)[-1]]
    items: list[Any] = []
    for arg in typing.get_args(annotation):
        if not isinstance(arg, (str, int, float)):
            items += _container_items(arg)
    return items


def _tagged(model: type[BaseModel], value: str) -> bool:
    """Whether one of ``model``'s fields is a Literal that admits ``value``
    (its discriminator: ``kind: latency``, ``dist: exponential``)."""
    return any(typing.get_origin(f.annotation) is typing.Literal and value in typing.get_args(f.annotation)
               for f in model.model_fields.values())


def _field_names_at(root: type[BaseModel], loc: tuple) -> set[str]:
    """Field names (aliases) of the model(s) at ``loc``, for 'did you mean'."""
    candidates: list[Any] = [root]
    for part in loc:
        if _is_tag(part):  # a union's member chosen by its tag: only its fields count
            value = part.split(":", 1)[1]
            chosen = [m for cand in candidates for m in _models_in(cand) if _tagged(m, value)]
            candidates = chosen or candidates
            continue
        nxt: list[Any] = []
        for cand in candidates:
            models = _models_in(cand)
            for model in models:
                for name, field in model.model_fields.items():
                    if part in (name, field.alias):
                        nxt.append(field.annotation)
            nxt += _container_items(cand)
        candidates = nxt
    names: set[str] = set()
    for cand in candidates:
        for model in _models_in(cand):
            names |= {f.alias or n for n, f in model.model_fields.items()}
    return names


def _message(error: dict, root: type[BaseModel], loc: tuple) -> str:
    kind, ctx, msg = error["type"], error.get("ctx") or {}, error["msg"]
    if kind == "extra_forbidden":
        known = _field_names_at(root, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else \
            (f"; allowed: {', '.join(sorted(known))}" if known else "")
        return f"unknown key{hint}"
    if kind == "missing":
        return "required"
    if kind == "union_tag_invalid":
        expected = [_strip(t.strip(" '")) for t in str(ctx.get("expected_tags", "")).split(",")]
        prefix = next((p for p in _TAG_PREFIXES if str(ctx.get("tag", "")).startswith(p)), "")
        what = _UNION_KIND.get(prefix, "kind")
        return f"unknown {what} {_strip(str(ctx.get('tag')))!r}; expected one of {', '.join(expected)}"
    if kind == "union_tag_not_found":
        return f"missing its '{ctx.get('discriminator', 'type').rstrip('()')}' key"
    if kind in ("value_error", "assertion_error"):
        return msg.split(", ", 1)[1] if msg.startswith(("Value error, ", "Assertion failed, ")) else msg
    bounds = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
              "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}
    if kind in bounds:
        key, op = bounds[kind]
        return f"must be {op} {ctx.get(key)}"
    simple = {"int_type": "must be a whole number", "int_parsing": "must be a whole number",
              "int_from_float": "must be a whole number",
              "int_parsing_size": "must be a whole number of a sensible size", "float_type": "must be a number",
              "float_parsing": "must be a number", "bool_type": "must be true or false",
              "bool_parsing": "must be true or false", "string_type": "must be a string",
              "dict_type": "must be a mapping", "list_type": "must be a list",
              "model_type": "must be a mapping", "model_attributes_type": "must be a mapping"}
    if kind in simple:
        return simple[kind]
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        given = error.get("input")
        close = difflib.get_close_matches(given, allowed, n=1) if isinstance(given, str) else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"must be one of {ctx.get('expected')}{hint}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s)"
    return msg


def problems_from(error: ValidationError, root: type[BaseModel], prefix: str = "") -> list[Problem]:
    """One :class:`Problem` per pydantic error, located by dotted path."""
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        if len(loc) >= 2 and loc[-2] == "dist:constant" and loc[-1] == "value" \
                and not isinstance(item.get("input"), dict):
            loc = loc[:-2]  # a bare duration: point at the field, not its inner 'value'
        path = join_path(prefix, *[p for p in loc if not _is_tag(p)])
        message = _message(item, root, loc)
        if item["type"] in ("missing",):
            problems.append(Problem(path, message))
        else:
            problems.append(Problem(path, message, item.get("input")))
    return _dedupe(problems)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, unique = set(), []
    for p in problems:
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique
