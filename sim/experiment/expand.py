"""Expansion: an experiment -> the table of its runs (a pure function).

Order (documented and stable): arms in file order, then design points (the
factor grid with the first factor varying slowest and the last fastest, each
grid point crossed with the sampled points in sample order), then
replications ``0..R-1`` innermost. ``run_id`` is ``ARM.pNNN.rNNN`` (point
and replication zero-padded to at least three digits): it depends only on the
run's own coordinates, so it stays the same on resume and when replications
are added.
"""
from __future__ import annotations

import json
from typing import Any, Optional, Union

import pandas as pd

from .spec import Experiment, Source, load_experiment


def run_id(arm: str, point: int, replication: int) -> str:
    """The stable identifier of one run."""
    return f"{arm}.p{point:03d}.r{replication:03d}"


def column_value(value: Any) -> Any:
    """A factor level as a table cell: scalars as they are, blocks as compact JSON."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def expand(experiment: Union[Experiment, Source], replications: Optional[int] = None) -> pd.DataFrame:
    """One row per run: ``run_id, arm, point, replication, seed`` and one column
    per varied path (grid factors, then sampled ranges), in the documented order.

    Under common random numbers every row has the experiment's seed: the
    replication number is what separates the random streams.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(
        experiment, check_runs=False)
    reps = int(replications if replications is not None else exp.replications)
    columns = exp.factor_columns
    rows = []
    for arm in exp.arms:
        for p, point in enumerate(exp.points):
            seed = exp.seed_for(arm, p)
            levels = {c: column_value(point[c]) for c in columns}
            for r in range(reps):
                rows.append({"run_id": run_id(arm, p, r), "arm": arm, "point": p,
                             "replication": r, "seed": seed, **levels})
    frame = pd.DataFrame(rows, columns=["run_id", "arm", "point", "replication", "seed", *columns])
    for name in ("point", "replication", "seed"):
        frame[name] = frame[name].astype("int64")
    return _tidy_factor_columns(frame, columns)


def _tidy_factor_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A factor column of mixed kinds (numbers and strings) becomes text, so it stores."""
    for column in columns:
        kinds = {type(v) for v in frame[column]}
        numeric = kinds <= {int, float, bool}
        if not numeric and not kinds <= {str}:
            frame[column] = frame[column].map(str)
    return frame


def execution_order(plan: pd.DataFrame) -> list[int]:
    """Row positions in the order runs are started: replication first, then
    point, then arm, so an interrupted sweep holds every arm at the same replications."""
    keyed = plan.reset_index(drop=True)
    arm_rank = {arm: i for i, arm in enumerate(dict.fromkeys(keyed["arm"]))}
    order = sorted(range(len(keyed)), key=lambda i: (int(keyed.at[i, "replication"]),
                                                     int(keyed.at[i, "point"]),
                                                     arm_rank[keyed.at[i, "arm"]]))
    return order
