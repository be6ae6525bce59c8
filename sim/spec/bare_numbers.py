"""Warnings for bare numbers that are probably a forgotten unit.

A bare number for a duration is seconds. For the fields that are usually a
few milliseconds that is a trap: ``timeout: 300`` is five minutes, not
300 ms. A field opts in by carrying :class:`~sim.spec.base.BareSecondsAbove`
in its type; a bare number (not a string with a unit) above its limit earns a
warning. Thresholds, per kind of field:

================================================  ========  =================================
field                                             warn if   why
================================================  ========  =================================
``timeout``, ``deadline``, ``hedge.delay``        > 60 s    request timeouts are ms..s
(a client's or a call's)
``network.latency``, a call's ``latency``         > 1 s     one-way hops are us..ms
a latency fault's ``add``                         > 60 s    injected delays are ms..s
``pod.scheduler.quantum``, ``pod.overhead_cpu``   > 1 s     Go's slice, HTTP handling: us..ms
================================================  ========  =================================

For a distribution the limit applies to its duration parameters (``value``,
``mean``, ``low``, ``high``, ``median``, ``p99``, ``sd``, ``values``, and a
mixture's components). Strings with a unit (``300s``, ``5m``) never warn: the
unit says it was meant. A warning never changes whether a scenario is valid.
"""
from __future__ import annotations

import typing
import warnings
from typing import Any, Iterator

from pydantic import BaseModel

from ..errors import Problem, join_path
from .base import BareSecondsAbove

DIST_DURATION_KEYS = ("value", "mean", "low", "high", "median", "p99", "sd")


class ScenarioWarning(UserWarning):
    """A scenario is valid but probably does not say what its author meant."""


def _walk_types(annotation: Any) -> Iterator[Any]:
    """``annotation`` and everything nested in it (Optional, Union, Annotated, list, dict)."""
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _walk_types(arg)


def _markers(field) -> list[BareSecondsAbove]:
    found = [m for m in field.metadata if isinstance(m, BareSecondsAbove)]
    return found + [t for t in _walk_types(field.annotation) if isinstance(t, BareSecondsAbove)]


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [t for t in _walk_types(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]


def _containers(annotation: Any) -> list[Any]:
    """Item types of the lists and mappings an annotation may hold."""
    items = []
    for t in _walk_types(annotation):
        if typing.get_origin(t) in (list, dict) and typing.get_args(t):
            items.append(typing.get_args(t)[-1])
    return items


def _is_bare(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bare_values(value: Any, path: str) -> Iterator[tuple[str, float]]:
    """(path, number) of every bare duration in a duration or distribution value."""
    if _is_bare(value):
        yield path, value
    elif isinstance(value, dict):
        for key in DIST_DURATION_KEYS:
            if _is_bare(value.get(key)):
                yield join_path(path, key), value[key]
        for i, item in enumerate(value.get("values") if isinstance(value.get("values"), list) else []):
            if _is_bare(item):
                yield join_path(path, "values", i), item
        components = value.get("components")
        for i, component in enumerate(components if isinstance(components, list) else []):
            yield from _bare_values(component, join_path(path, "components", i))


def _warn_field(marker: BareSecondsAbove, value: Any, path: str) -> list[Problem]:
    return [Problem(where, f"{number:g} is read as {number:g} s, long for a {marker.kind}: "
                           f"write {number:g}ms if you meant milliseconds "
                           f"({number:g}s keeps seconds and silences this)")
            for where, number in _bare_values(value, path) if number > marker.limit_s]


def scan(annotation: Any, raw: Any, path: str = "") -> list[Problem]:
    """Bare-number warnings in ``raw`` read as ``annotation`` (a model or container type)."""
    found: list[Problem] = []
    if isinstance(raw, list):
        for item_type in _containers(annotation):
            for i, item in enumerate(raw):
                found += scan(item_type, item, join_path(path, i))
    if not isinstance(raw, dict):
        return found
    for item_type in _containers(annotation):
        if typing.get_origin(item_type) is None and not _models(item_type):
            continue
        for key, item in raw.items():
            found += scan(item_type, item, join_path(path, key))
    for model in _models(annotation):
        fields = {f.alias or name: f for name, f in model.model_fields.items()}
        fields.update({name: f for name, f in model.model_fields.items()})
        for key, value in raw.items():
            field = fields.get(key)
            if field is None:
                continue
            for marker in _markers(field)[:1]:
                found += _warn_field(marker, value, join_path(path, key))
            found += scan(field.annotation, value, join_path(path, key))
    return _unique(found)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, unique = set(), []
    for problem in problems:
        if problem.path not in seen:
            seen.add(problem.path)
            unique.append(problem)
    return unique


def bare_number_warnings(raw: Any) -> list[Problem]:
    """Every bare duration in a raw scenario mapping that is probably a forgotten unit."""
    from .scenario import Scenario
    return scan(Scenario, raw)


def warn_bare_numbers(raw: Any) -> None:
    """Emit a :class:`ScenarioWarning` for each of :func:`bare_number_warnings`."""
    for problem in bare_number_warnings(raw):
        warnings.warn(str(problem), ScenarioWarning, stacklevel=3)
