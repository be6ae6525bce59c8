"""Dotted-path overrides: ``services.frontend.replicas=4``.

The same paths serve ``podsim run --set``, ``sim.load(..., overrides=...)`` and
experiment arms and factors. List items are addressed by number
(``services.frontend.hpa.metrics.0.resource.target.averageUtilization``).
Overrides edit the raw mapping before validation, so a value the scenario
would reject is reported exactly as if it had been written in the file.
"""
from __future__ import annotations

import copy
import difflib
from typing import Any, Iterable, Mapping

import yaml

from ..errors import Problem, ScenarioError

NAMED_COLLECTIONS = {"services": "service", "workload": "workload"}


def parse_assignment(text: str, next_word: str | None = None) -> tuple[str, Any]:
    """Split ``KEY=VALUE``; the value is read as YAML (``4``, ``50ms``, ``[1, 2]``).

    Without ``=`` it raises a ScenarioError saying "use KEY=VALUE"; when the
    command line had the value as a separate word (``--set duration 10``),
    ``next_word`` is that word and the message shows the fixed form.
    """
    if "=" not in text:
        example = f"--set {text}={next_word}" if next_word is not None else \
            f"--set {text or 'services.NAME.replicas'}=4"
        raise ScenarioError([Problem(text or "(empty)", f"use KEY=VALUE, e.g. {example}")],
                            source="--set")
    path, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path.strip(), value


def _step(container: Any, key: str, path: str, create: bool) -> tuple[Any, Problem | None]:
    if isinstance(container, list):
        if not key.lstrip("-").isdigit():
            return None, Problem(path, "a list item needs a number", key)
        index = int(key)
        if not -len(container) <= index < len(container):
            return None, Problem(path, f"no item {index}; the list has {len(container)}")
        return container[index], None
    if not isinstance(container, dict):
        return None, Problem(path, "cannot descend into a value that is not a mapping", container)
    if key not in container:
        if not create:
            return None, Problem(path, "no such key")
        container[key] = {}
    return container[key], None


def _missing_name(parts: list[str], raw: Mapping[str, Any]) -> Problem | None:
    """A path into ``services.NAME`` or ``workload.NAME`` must name an existing one."""
    if len(parts) >= 2 and parts[0] in NAMED_COLLECTIONS:
        existing = raw.get(parts[0]) if isinstance(raw.get(parts[0]), dict) else {}
        if parts[1] not in existing:
            kind = NAMED_COLLECTIONS[parts[0]]
            close = difflib.get_close_matches(parts[1], list(existing), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return Problem(".".join(parts[:2]),
                           f"no {kind} named {parts[1]!r}{hint} (known: {', '.join(existing) or 'none'})")
    return None


def set_path(raw: dict, path: str, value: Any) -> Problem | None:
    """Set ``value`` at dotted ``path`` in ``raw`` in place; return a problem or None.

    Missing mapping keys are created (the validator then rejects unknown ones
    with the full path), but a path never invents a service or a workload.
    """
    parts = [p for p in path.split(".")]
    if not path or any(p == "" for p in parts):
        return Problem(path or "(empty)", "not a dotted path")
    problem = _missing_name(parts, raw)
    if problem:
        return problem
    node: Any = raw
    for depth, key in enumerate(parts[:-1]):
        node, problem = _step(node, key, ".".join(parts[: depth + 1]), create=True)
        if problem:
            return problem
    last = parts[-1]
    if isinstance(node, list):
        _, problem = _step(node, last, path, create=False)
        if problem:
            return problem
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        return Problem(".".join(parts[:-1]), "cannot set a key inside a value that is not a mapping", node)
    return None


def apply_overrides_collecting(raw: Mapping[str, Any],
                               overrides: Mapping[str, Any] | Iterable[tuple[str, Any]]
                               ) -> tuple[dict, list[Problem]]:
    """A deep copy of ``raw`` with every good override applied, and the bad ones' problems."""
    result = copy.deepcopy(dict(raw))
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    problems = [p for p in (set_path(result, str(path), copy.deepcopy(value))
                            for path, value in items) if p]
    return result, problems


def apply_overrides(raw: Mapping[str, Any], overrides: Mapping[str, Any] | Iterable[tuple[str, Any]],
                    source: str = "overrides") -> dict:
    """Return a deep copy of ``raw`` with every override applied.

    Raises :class:`ScenarioError` listing every bad path at once.
    """
    result, problems = apply_overrides_collecting(raw, overrides)
    if problems:
        raise ScenarioError(problems, source=source)
    return result


def get_path(raw: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (KeyError/IndexError if absent)."""
    node: Any = raw
    for key in path.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node
