"""Comparisons under common random numbers: rankings with ties, and factor effects.

Every comparison here is a **paired t interval over replications**. A *side*
is a set of cells (arm, design point); its value in replication r is the mean
of the metric over its cells in that replication. Two sides A and B give
``d_r = A_r - B_r`` for the replications where every cell of both has an ok
run; under common random numbers all cells of replication r saw the same
random streams, so the pairs are as tight as the model allows, and the
replications are independent, so the t interval on ``d`` is valid whatever
the correlation.

- **Ranking with ties** (:func:`rank_sides`): sides sorted by mean; each side
  is compared with the best side of the current group: if the paired
  difference is not significant it shares that side's rank (a tie, "=");
  otherwise it opens a new group with its position as rank (1, =1, 3, ...).
  A tie carries ``reps_to_resolve``: the replications at which the observed
  difference would exclude 0, if it held (``t(n-1) * sd / sqrt(n) <= |mean|``).
- **Factor effects** (:func:`factor_effects`): for each grid factor, each
  level against the reference level (``reference:`` in the experiment, else the
  first level), within each arm and over all arms: the main effect averages
  over the levels of the other factors (the sides hold every point at that
  level); with several factors, the same difference at each combination of the
  other factors' levels (``at``).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Hashable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .spec import Experiment, canonical
from .stats import replications_needed, t_quantile, with_derived

Cell = tuple[str, int]
ALL_ARMS = "(all arms)"
ALL_LEVELS = "all"


@dataclass(frozen=True)
class Paired:
    """A paired difference ``A - B`` over replications (NaN fields when ``n < 2``)."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    base_mean: float
    reps_to_resolve: float

    @property
    def significant(self) -> bool:
        return bool(self.ci_low > 0 or self.ci_high < 0)

    @property
    def rel(self) -> float:
        return self.mean / abs(self.base_mean) if self.base_mean else math.nan


def replication_matrix(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Values of ``metric`` with one row per replication and one column per
    cell ``(arm, point)``; ok runs only (others are NaN)."""
    data = with_derived(table)
    if metric not in data.columns:
        return pd.DataFrame()
    ok = data[data["status"] == "ok"]
    return ok.pivot_table(index="replication", columns=["arm", "point"], values=metric,
                          aggfunc="first", dropna=False)


def side_values(matrix: pd.DataFrame, cells: Sequence[Cell]) -> pd.Series:
    """Per replication, the mean over ``cells`` (NaN unless every cell has a value)."""
    present = [c for c in cells if c in matrix.columns]
    if not present or len(present) < len(cells):
        return pd.Series(np.nan, index=matrix.index, dtype=float)
    return matrix[present].mean(axis=1, skipna=False)


def paired(matrix: pd.DataFrame, side_a: Sequence[Cell], side_b: Sequence[Cell],
           confidence: float = 0.95) -> Paired:
    """The paired difference of side A against side B (see the module docstring)."""
    a, b = side_values(matrix, side_a), side_values(matrix, side_b)
    both = pd.DataFrame({"a": a, "b": b}).dropna()
    d = (both["a"] - both["b"]).to_numpy(float)
    n = len(d)
    if n == 0:
        return Paired(0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    mean, base = float(d.mean()), float(both["b"].mean())
    if n < 2:
        return Paired(n, mean, math.nan, math.nan, math.nan, base, math.nan)
    sd = float(d.std(ddof=1))
    half = float(t_quantile(confidence, n)) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    resolve = math.nan
    if not (low > 0 or high < 0) and mean != 0 and sd > 0:
        resolve = float(replications_needed(n, mean, sd, precision=1.0, confidence=confidence)[0])
    return Paired(n, mean, sd, low, high, base, resolve)


def rank_sides(matrix: pd.DataFrame, sides: Mapping[Hashable, Sequence[Cell]], direction: str,
               confidence: float = 0.95) -> pd.DataFrame:
    """Rank sides best first with ties (see the module docstring).

    Columns: ``key, rank, tie`` ("=" when the side shares the rank of a better
    side), ``mean, ci_low, ci_high, n`` (the side's own t interval), ``versus``
    (the best side of its group), ``diff_mean, diff_ci_low, diff_ci_high,
    reps_to_resolve`` (its paired difference against ``versus``).
    """
    rows = []
    for key, cells in sides.items():
        values = side_values(matrix, cells).dropna().to_numpy(float)
        n = len(values)
        mean = float(values.mean()) if n else math.nan
        half = float(t_quantile(confidence, n)) * float(values.std(ddof=1)) / math.sqrt(n) if n >= 2 else math.nan
        rows.append({"key": key, "mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    sign = -1.0 if direction == "maximize" else 1.0
    frame["_order"] = sign * frame["mean"]
    frame = frame.sort_values("_order", kind="stable", na_position="last").drop(columns="_order")
    frame = frame.reset_index(drop=True)
    ranks, ties, versus, diffs = [], [], [], []
    leader, leader_rank = None, 0
    for position, key in enumerate(frame["key"], start=1):
        if leader is None or not np.isfinite(frame.at[position - 1, "mean"]):
            diff = None
        else:
            diff = paired(matrix, sides[key], sides[leader], confidence)
        if diff is not None and not diff.significant:
            ranks.append(leader_rank)
            ties.append("=")
        else:
            leader, leader_rank = key, position
            ranks.append(position)
            ties.append("")
        versus.append(leader if ties[-1] else None)
        diffs.append(diff if ties[-1] else None)
    frame.insert(1, "rank", ranks)
    frame.insert(2, "tie", ties)
    frame["versus"] = versus
    for column in ("mean", "ci_low", "ci_high", "reps_to_resolve"):
        frame[f"diff_{column}" if column != "reps_to_resolve" else column] = [
            getattr(d, column) if d is not None else math.nan for d in diffs]
    return frame


def rank_arms(table: pd.DataFrame, metric: str, direction: str, arms: Sequence[str],
              points: Sequence[int], confidence: float = 0.95) -> pd.DataFrame:
    """Arms ranked with ties on ``metric`` averaged over ``points`` (``key`` is the arm)."""
    matrix = replication_matrix(table, metric)
    if matrix.empty:
        return pd.DataFrame()
    return rank_sides(matrix, {arm: [(arm, p) for p in points] for arm in arms}, direction, confidence)


# ------------------------------------------------------------------ factor effects

def level_index(exp: Experiment, factor_index: int, point: int) -> int:
    """Which level of grid factor ``factor_index`` design point ``point`` has."""
    factor = exp.factors[factor_index]
    values = canonical([exp.points[point][p] for p in factor.paths])
    for i, level in enumerate(factor.levels):
        if canonical(list(level)) == values:
            return i
    raise ValueError(f"point {point} has no level of factor {factor.name!r}")


def reference_index(exp: Experiment, factor_index: int) -> int:
    """The reference level of a grid factor: ``reference:`` in the experiment, else 0."""
    factor = exp.factors[factor_index]
    if factor.name not in exp.spec.reference:
        return 0
    wanted = exp.spec.reference[factor.name]
    wanted = canonical(list(wanted) if factor.coupled and isinstance(wanted, (list, tuple)) else [wanted])
    return next(i for i, lv in enumerate(factor.levels) if canonical(list(lv)) == wanted)


def level_value(exp: Experiment, factor_index: int, level: int):
    """A level as written: the value, or the tuple of a coupled factor's values."""
    values = exp.factors[factor_index].levels[level]
    return values if len(values) > 1 else values[0]


def _contexts(exp: Experiment, factor_index: int) -> list[tuple[str, dict[int, int]]]:
    """``("all", {})`` and, with other factors, one ``(text, {other factor index: level index})``
    per combination of the other factors' levels (text: ``name=value, ...``)."""
    others = [j for j in range(len(exp.factors)) if j != factor_index and len(exp.factors[j].levels) > 1]
    found = [(ALL_LEVELS, {})]
    if others:
        for combo in itertools.product(*(range(len(exp.factors[j].levels)) for j in others)):
            text = ", ".join(f"{exp.factors[j].name}={level_value(exp, j, i)}" for j, i in zip(others, combo))
            found.append((text, dict(zip(others, combo))))
    return found


def factor_effects(table: pd.DataFrame, exp: Experiment, metrics: Sequence[str],
                   confidence: Optional[float] = None, contexts: bool = True) -> pd.DataFrame:
    """Long table of factor-level differences against the reference level.

    One row per (factor, level, arm, at, metric) with ``arm`` an arm or
    ``(all arms)``, ``at`` ``"all"`` (the main effect, averaged over the other
    factors' levels) or a combination of the other factors' levels (also as
    ``at_levels``, ``{factor: level}``):
    ``n, reference_mean, diff_mean, diff_ci_low, diff_ci_high, diff_rel,
    significant, reps_to_resolve``. Sampled design ranges have no levels and
    get no rows. Empty without grid factors of two or more levels.
    """
    confidence = confidence or exp.spec.confidence
    grid_points = range(len(exp.points))
    levels = {j: [level_index(exp, j, p) for p in grid_points] for j in range(len(exp.factors))}
    matrices = {m: replication_matrix(table, m) for m in metrics}
    arm_sets = [(arm, [arm]) for arm in exp.arms] + ([(ALL_ARMS, list(exp.arms))] if len(exp.arms) > 1 else [])
    rows = []
    for j, factor in enumerate(exp.factors):
        if len(factor.levels) < 2:
            continue
        ref = reference_index(exp, j)
        for at, fixed in (_contexts(exp, j) if contexts else [(ALL_LEVELS, {})]):
            chosen = [p for p in grid_points if all(levels[k][p] == v for k, v in fixed.items())]
            for level in range(len(factor.levels)):
                if level == ref:
                    continue
                for arm_key, arms in arm_sets:
                    side = [(a, p) for a in arms for p in chosen if levels[j][p] == level]
                    base = [(a, p) for a in arms for p in chosen if levels[j][p] == ref]
                    for metric, matrix in matrices.items():
                        if matrix.empty:
                            continue
                        d = paired(matrix, side, base, confidence)
                        rows.append({"factor": factor.name, "level": level_value(exp, j, level),
                                     "reference": level_value(exp, j, ref), "arm": arm_key, "at": at,
                                     "at_levels": {exp.factors[k].name: level_value(exp, k, v)
                                                   for k, v in fixed.items()},
                                     "metric": metric, "n": d.n, "reference_mean": d.base_mean,
                                     "diff_mean": d.mean, "diff_ci_low": d.ci_low, "diff_ci_high": d.ci_high,
                                     "diff_rel": d.rel, "significant": d.significant,
                                     "reps_to_resolve": d.reps_to_resolve})
    return pd.DataFrame(rows, columns=["factor", "level", "reference", "arm", "at", "at_levels", "metric", "n",
                                       "reference_mean", "diff_mean", "diff_ci_low", "diff_ci_high",
                                       "diff_rel", "significant", "reps_to_resolve"])
