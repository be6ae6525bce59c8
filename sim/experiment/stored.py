"""Reopen a sweep's result directory: the experiment from ``manifest.json`` and
the table from ``runs/`` (the per-run records are the truth), so the report and
figures can be rebuilt without running anything (``podsim report DIR``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import pandas as pd

from ..errors import Problem, ScenarioError
from .expand import expand
from .spec import Experiment, load_experiment
from .store import ResultStore, build_table, table_attrs


def experiment_from_manifest(manifest: dict) -> Experiment:
    """The experiment as the sweep ran it: the manifest's experiment with its
    scenario taken from the resolved base scenario recorded there (so an edited
    scenario file does not change the report), else from the scenario file."""
    spec = dict(manifest["experiment"])
    base = manifest.get("base_scenario")
    if isinstance(base, dict):
        try:
            return load_experiment({**spec, "scenario": base, "overrides": {}}, check_runs=False)
        except ScenarioError:
            pass                        # fall back on the file the sweep read
    if isinstance(spec.get("scenario"), str) and manifest.get("scenario_source"):
        spec["scenario"] = manifest["scenario_source"]
    return load_experiment(spec, check_runs=False)


def open_results(out: Union[str, os.PathLike]) -> tuple[Experiment, pd.DataFrame]:
    """``(experiment, table)`` of the sweep stored in ``out``.

    Raises :class:`ScenarioError` (exit 2) when ``out`` holds no readable sweep.
    """
    store = ResultStore(out)
    manifest = store.read_manifest()
    if manifest is None:
        raise ScenarioError([Problem(str(out), "no sweep here (no readable manifest.json); "
                                     "give the --out directory of a sweep")], source="report")
    try:
        exp = experiment_from_manifest(manifest)
    except ScenarioError as exc:
        raise ScenarioError([Problem(f"manifest.json: {p.path}", p.message, p.value) for p in exc.problems],
                            source=str(Path(out) / "manifest.json")) from None
    exp.scenario_source = manifest.get("scenario_source") or exp.scenario_source   # as the sweep read it
    records = store.load_records()
    stored_reps = max((int(r["run_id"].rsplit(".r", 1)[1]) for r in records.values()), default=-1) + 1
    reps = max(exp.replications, stored_reps, 1)
    exp = load_experiment(exp, replications=reps)
    table = build_table(expand(exp), records, table_attrs(exp))
    return exp, table
