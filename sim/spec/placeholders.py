"""Placeholders: values a person still has to fill in.

``podsim import`` writes what it could not read from the manifests (CPU time
per request, the call graph, the traffic, the duration) as a string starting
with ``TODO``, e.g. ``work: "TODO: CPU time per request, e.g. 5ms"``. Such a
value would otherwise fail validation with a confusing type error ("expected
a duration"); instead every placeholder is reported at its dotted path as
what it is, and the schema problems it causes at or under that path are
dropped. Other problems are reported with them, all at once.

Cheap by design: one recursive walk of the raw mapping before validation.
"""
from __future__ import annotations

from typing import Any, Iterator

from ..errors import Problem, join_path

MARK = "TODO"
"""A string value starting with this (after leading spaces) is a placeholder."""
FREE_TEXT = {"description"}
"""Keys whose value is prose: "TODO: ..." there is a note, not a placeholder."""


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip().startswith(MARK)


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if is_placeholder(value):
        yield path, value.strip()
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in FREE_TEXT:
                yield from _walk(item, join_path(path, key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, join_path(path, i))


def find_placeholders(raw: Any) -> list[Problem]:
    """One problem per placeholder in a raw scenario mapping, in file order."""
    return [Problem(path, f"placeholder left by podsim import: {text}; replace it with a measured value")
            for path, text in _walk(raw, "")]


def merge_placeholders(placeholders: list[Problem], problems: list[Problem]) -> list[Problem]:
    """``placeholders`` first, then ``problems`` that do not merely restate one.

    A problem at a placeholder's path or under it (a type error on the
    placeholder string) is dropped; every other problem is kept.
    """
    if not placeholders:
        return problems
    marked = [p.path for p in placeholders]

    def caused(problem: Problem) -> bool:
        return any(problem.path == m or problem.path.startswith(m + ".") for m in marked)

    return placeholders + [p for p in problems if not caused(p)]
