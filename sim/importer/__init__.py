"""``podsim import``: Kubernetes manifests -> a commented scenario with placeholders.

:func:`import_manifests` reads a file or a directory (:mod:`.manifests`),
maps Deployments, Services and HorizontalPodAutoscalers to service blocks
(:mod:`.k8s`) and writes the scenario text (:mod:`.scenario_writer`). Bad
input (no such path, a YAML syntax error, no Deployment, an annotation naming
no container) raises :class:`~sim.errors.ScenarioError`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from ..errors import Problem, ScenarioError
from .k8s import SERVING_ANNOTATION, Imported, ImportProblems, Note, import_objects, scenario_name
from .manifests import Manifest, read_manifests
from .scenario_writer import placeholder_count, write_scenario

__all__ = ["ImportResult", "Imported", "Manifest", "Note", "SERVING_ANNOTATION", "import_manifests"]


@dataclass
class ImportResult:
    text: str                 # the scenario, commented YAML
    imported: Imported
    skipped: list[str]        # documents that are not Kubernetes objects
    placeholders: int


def import_manifests(path: Union[str, os.PathLike], name: str | None = None) -> ImportResult:
    """Import the manifests at ``path`` (a file or a directory) as a scenario."""
    manifests, skipped = read_manifests(path)
    try:
        imported = import_objects(manifests)
    except ImportProblems as exc:
        raise ScenarioError([Problem(where, what) for where, what in exc.problems], source="podsim import")
    if not imported.services:
        found = ", ".join(m.label() for m in manifests) or "no Kubernetes objects"
        raise ScenarioError([Problem(str(path), f"no Deployment found (found: {found}); podsim import "
                                                "needs at least one apps/v1 Deployment")],
                            source="podsim import")
    source = str(path)
    if name is None:
        stem = Path(path).resolve().name if Path(path).is_dir() else Path(path).stem
        name = scenario_name(stem)
    text = write_scenario(imported, name, source, skipped)
    return ImportResult(text, imported, skipped, placeholder_count(text))
