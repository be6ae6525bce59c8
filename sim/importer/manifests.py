"""Reading Kubernetes manifests: a file or a directory of ``.yaml``/``.yml``.

Every YAML document of every file (multi-document files, ``---``) becomes a
:class:`Manifest` holding the object with its source file and its index in
that file; empty documents are skipped and ``kind: List`` (what ``kubectl get
-o yaml`` writes) is opened into its items. Anything wrong (no such path, a
YAML syntax error, a document that is not a mapping) is a
:class:`~sim.errors.ScenarioError` naming ``file:line``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import yaml

from ..errors import Problem, ScenarioError

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object and where it came from."""

    obj: dict
    file: str
    index: int  # the document's position in its file, from 0

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def metadata(self) -> dict:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "default")

    @property
    def where(self) -> str:
        """``file`` or ``file#N`` (the N-th document, from 1) for multi-document files."""
        return f"{self.file}#{self.index + 1}" if self.index else self.file

    def label(self) -> str:
        return f"{self.kind} {self.name}".strip()


def manifest_files(path: Union[str, os.PathLike]) -> list[Path]:
    """``path`` itself, or every .yaml/.yml file under the directory ``path``
    (sorted, hidden folders skipped)."""
    path = Path(path)
    if not path.exists():
        from ..spec.loader import _closest
        raise ScenarioError([Problem(str(path), f"no such file or directory{_closest(path)}")],
                            source="podsim import")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise ScenarioError([Problem(str(path), "holds no .yaml or .yml files; give the directory of "
                                                "your manifests or one manifest file")], source="podsim import")
    return files


def read_manifests(path: Union[str, os.PathLike]) -> tuple[list[Manifest], list[str]]:
    """Every object in ``path`` (a file or a directory), and notes on what was skipped."""
    manifests: list[Manifest] = []
    notes: list[str] = []
    problems: list[Problem] = []
    for file in manifest_files(path):
        try:
            found, skipped = _read_file(file)
        except ScenarioError as exc:
            problems += exc.problems
            continue
        manifests += found
        notes += skipped
    if problems:
        raise ScenarioError(problems, source="podsim import")
    return manifests, notes


def _read_file(file: Path) -> tuple[list[Manifest], list[str]]:
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([Problem(str(file), "not a text file; manifests are YAML text")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(str(file), f"cannot read: {exc.strerror}")]) from None
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
        reason = getattr(exc, "problem", None) or str(exc)
        if "{{" in text:
            reason += " (a Helm template? render it first: helm template ... > manifests.yaml)"
        elif "\t" in text:
            reason += " (YAML indents with spaces, never tabs)"
        raise ScenarioError([Problem(where, f"YAML syntax error: {reason}")]) from None
    found: list[Manifest] = []
    skipped: list[str] = []
    for index, doc in enumerate(docs):
        where = f"{file}#{index + 1}" if index else str(file)
        if doc is None:
            continue  # an empty document (a trailing '---', comments only)
        if not isinstance(doc, dict):
            raise ScenarioError([Problem(where, f"a manifest is a mapping (apiVersion, kind, metadata, "
                                                f"spec), not a {type(doc).__name__}", doc)])
        if not doc.get("kind"):
            skipped.append(f"{where}: not a Kubernetes object (no 'kind'), skipped")
            continue
        if doc["kind"] == "List" or str(doc["kind"]).endswith("List") and isinstance(doc.get("items"), list):
            for item in doc.get("items") or []:
                if isinstance(item, dict) and item.get("kind"):
                    found.append(Manifest(item, str(file), index))
            continue
        found.append(Manifest(doc, str(file), index))
    return found, skipped
