"""Loading a scenario: YAML file, dict or Scenario -> validated :class:`Scenario`.

Every problem (YAML syntax, unreadable file, schema, references, overrides) is
collected and raised at once as a :class:`~sim.errors.ScenarioError`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import yaml
from pydantic import ValidationError

from ..errors import Problem, ScenarioError
from .overrides import apply_overrides_collecting
from .problems import problems_from
from .references import check_references
from .scenario import Scenario

Source = Union[str, os.PathLike, Mapping[str, Any], Scenario]


def read_yaml(path: Union[str, os.PathLike], what: str = "scenario") -> dict:
    """Read a YAML mapping; raise ScenarioError naming the file and line on failure."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), f"{what} file not found")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(str(path), f"cannot read {what} file: {exc.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([Problem(where, f"YAML syntax error: {reason}")]) from None
    if not isinstance(data, dict):
        raise ScenarioError([Problem(str(path), f"a {what} file must hold a mapping", type(data).__name__)])
    return data


def validate(raw: Mapping[str, Any], base_dir: Union[str, os.PathLike] = ".",
             source: Optional[str] = None, earlier: Optional[list[Problem]] = None) -> Scenario:
    """Validate a raw scenario mapping; every problem (with ``earlier`` ones) at once."""
    problems = list(earlier or []) + check_references(dict(raw))
    scenario = None
    try:
        scenario = Scenario.model_validate(dict(raw), context={"base_dir": str(base_dir)})
    except ValidationError as exc:
        problems = problems_from(exc, Scenario) + problems
    if problems:
        raise ScenarioError(problems, source=source)
    return scenario


def load(source: Source, overrides: Optional[Mapping[str, Any]] = None) -> Scenario:
    """Load and validate a scenario from a YAML path, a mapping or a Scenario.

    ``overrides`` maps dotted paths to values (``{"services.users.replicas": 4}``).
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
    earlier: list[Problem] = []
    if overrides:
        raw, earlier = apply_overrides_collecting(raw, overrides)
    return validate(raw, base_dir=base_dir, source=name, earlier=earlier)
