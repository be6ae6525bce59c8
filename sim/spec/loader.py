"""Loading a scenario: YAML file, dict or Scenario -> validated :class:`Scenario`.

Every problem (YAML syntax, unreadable file, schema, references, overrides) is
collected and raised at once as a :class:`~sim.errors.ScenarioError`.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import yaml
from pydantic import ValidationError

from ..errors import Problem, ScenarioError
from .bare_numbers import warn_bare_numbers
from .overrides import apply_overrides_collecting
from .placeholders import find_placeholders, merge_placeholders
from .problems import problems_from
from .references import check_references
from .scenario import Scenario

Source = Union[str, os.PathLike, Mapping[str, Any], Scenario]


def read_yaml(path: Union[str, os.PathLike], what: str = "scenario") -> dict:
    """Read a YAML mapping; raise ScenarioError naming the file (and line) on failure.

    Each way a newcomer's file can be wrong gets its own sentence: not found
    (with the close name in its folder), a folder, not text, empty, a YAML
    syntax error (tabs explained), not a mapping.
    """
    path = Path(path)
    text = _read_text(path, what)
    if not text.strip():
        raise ScenarioError([Problem(str(path), f"the file is empty; {_a(what)} file is YAML, "
                                                "one 'key: value' a line")])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        reason = getattr(exc, "problem", None) or str(exc)
        if "\\t" in reason or "\t" in reason:
            reason += " (YAML indents with spaces, never tabs)"
        raise ScenarioError([Problem(where, f"YAML syntax error: {reason}")]) from None
    if data is None:
        raise ScenarioError([Problem(str(path), f"the file holds only comments; {_a(what)} file is "
                                                "YAML, one 'key: value' a line")])
    if not isinstance(data, dict):
        raise ScenarioError([Problem(str(path), f"{_a(what)} file must hold a mapping (key: value lines), "
                                                f"not a {type(data).__name__}", data)])
    return data


def _a(word: str) -> str:
    """``word`` with its indefinite article: 'a scenario', 'an experiment'."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _read_text(path: Path, what: str) -> str:
    """The file's text, or a ScenarioError saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), f"{what} file not found{_closest(path)}")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(str(path), f"is a directory, not {_a(what)} file{_yaml_in(path)}")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(str(path), f"not a text file (byte {exc.object[exc.start]:#04x} at "
                                                f"offset {exc.start} is not UTF-8); {_a(what)} file "
                                                "is YAML text")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(str(path), f"cannot read {what} file: {exc.strerror}")]) from None


def _closest(path: Path) -> str:
    """'; did you mean ...?' for the first missing part of ``path``, if one is close."""
    parts = path.parts
    for depth in range(len(parts)):
        here = Path(*parts[: depth + 1])
        if here.exists():
            continue
        parent = Path(*parts[:depth]) if depth else Path(".")
        try:
            names = [p.name for p in parent.iterdir()]
        except OSError:
            return ""
        close = difflib.get_close_matches(parts[depth], names, n=1, cutoff=0.6)
        if not close:
            return f" (no {parts[depth]!r} in {str(parent)!r})"
        suggestion = Path(*parts[:depth], close[0], *parts[depth + 1:])
        return f"; did you mean {str(suggestion)!r}?"
    return ""


def _yaml_in(folder: Path) -> str:
    try:
        names = sorted(p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    except OSError:
        return ""
    if not names:
        return ""
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    return f" (its YAML files: {shown})"


def validate(raw: Mapping[str, Any], base_dir: Union[str, os.PathLike] = ".",
             source: Optional[str] = None, earlier: Optional[list[Problem]] = None) -> Scenario:
    """Validate a raw scenario mapping; every problem (with ``earlier`` ones) at once."""
    problems = list(earlier or []) + check_references(dict(raw))
    scenario = None
    try:
        scenario = Scenario.model_validate(dict(raw), context={"base_dir": str(base_dir)})
    except ValidationError as exc:
        problems = problems_from(exc, Scenario) + problems
    problems = merge_placeholders(find_placeholders(raw), problems)  # placeholders from podsim import
    if problems:
        raise ScenarioError(problems, source=source)
    return scenario


def load(source: Source, overrides: Optional[Mapping[str, Any]] = None) -> Scenario:
    """Load and validate a scenario from a YAML path, a mapping or a Scenario.

    ``overrides`` maps dotted paths to values (``{"services.users.replicas": 4}``).
    A valid scenario whose bare numbers look like forgotten units (``timeout:
    300``) loads, with a :class:`~sim.spec.bare_numbers.ScenarioWarning` each.
    """
    if isinstance(source, Scenario):
        if not overrides:
            return source
        raw, base_dir, name = source.to_dict(), ".", source.name
    elif isinstance(source, Mapping):
        raw, base_dir, name = dict(source), ".", None
    else:
        raw = read_yaml(source)
        base_dir, name = Path(source).resolve().parent, str(source)
        _not_an_experiment(raw, name)
    earlier: list[Problem] = []
    if overrides:
        raw, earlier = apply_overrides_collecting(raw, overrides)
    scenario = validate(raw, base_dir=base_dir, source=name, earlier=earlier)
    warn_bare_numbers(raw)
    return scenario


def _not_an_experiment(raw: Mapping[str, Any], name: str) -> None:
    """An experiment file given where a scenario is expected: say so, once."""
    if "scenario" in raw and "services" not in raw:
        raise ScenarioError([Problem(name, "this is an experiment file (it has 'scenario:'), not a "
                                           f"scenario: run it with podsim sweep, or check the scenario "
                                           f"it names ({raw['scenario']!r})")])
