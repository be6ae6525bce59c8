"""Errors that reach users.

Bad input is never a traceback: every problem found in a scenario, an
experiment or an override is collected as a :class:`Problem` and raised at
once as a :class:`ScenarioError`. The command line prints one line per problem
(``path.to.field: what is wrong (got VALUE)``) and exits 2.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

_NO_VALUE = object()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by a dotted path."""

    path: str
    message: str
    value: Any = _NO_VALUE

    def __str__(self) -> str:
        where = self.path or "(top level)"
        if self.value is _NO_VALUE:
            return f"{where}: {self.message}"
        return f"{where}: {self.message} (got {_show(self.value)})"


class ScenarioError(ValueError):
    """A scenario, experiment or override is invalid; holds every problem."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        super().__init__(self.report())

    def report(self) -> str:
        head = f"{self.source}: " if self.source else ""
        count = len(self.problems)
        lines = [f"{head}{count} problem{'s' if count != 1 else ''} found"]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


def join_path(*parts: object) -> str:
    """Join path components into the dotted form used in messages."""
    return ".".join(str(p) for p in parts if p is not None and p != "")
