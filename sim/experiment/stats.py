"""Statistics across replications: means, confidence intervals, paired
differences under common random numbers, replications needed, and analytic
(queueing theory) values beside the simulated ones.

Everything here takes the tidy results table (one row per run) and only
counts runs whose ``status`` is ``ok``.

- **Confidence interval** of a mean over ``n`` replications: ``mean +- t * sd / sqrt(n)``
  with ``t`` the ``(1 + confidence) / 2`` quantile of Student's t with ``n - 1``
  degrees of freedom (NaN half-width when ``n < 2``).
- **Paired difference** of an arm against the baseline: ``d_r = x_arm,r - x_base,r``
  for the replications both completed at the same design point; its mean and
  CI as above. Under common random numbers the two runs of a pair saw the
  same arrivals and work sizes, so ``Var(d)`` is usually much smaller than
  ``Var(x_arm) + Var(x_base)`` and differences are resolved with fewer runs.
- **Replications needed** for a relative precision ``p``: the smallest ``n``
  with ``t(n-1) * sd / sqrt(n) <= p * |mean|`` (sd estimated from the runs so far).

Rankings with ties and comparisons across factor levels are in
:mod:`sim.experiment.compare`; :func:`ranked` uses them when given the runs.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Union

import numpy as np
import pandas as pd

from ..spec.distributions import is_zero
from .spec import Experiment, Source, load_experiment

DERIVED = {"pod_seconds": "total pod-seconds over every service"}
SUMMARY_COLUMNS = ["arm", "point", "metric", "n", "mean", "sd", "ci_low", "ci_high", "half_width",
                   "rel_half_width", "reps_needed"]
DIFF_COLUMNS = ["diff_n", "diff_mean", "diff_ci_low", "diff_ci_high", "diff_rel", "significant"]


def t_quantile(confidence: float, n: Union[int, np.ndarray]) -> np.ndarray:
    """Two-sided Student-t quantile for ``n`` observations (NaN when ``n < 2``)."""
    from scipy import stats
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(n >= 2, stats.t.ppf(0.5 + confidence / 2.0, np.maximum(n - 1, 1)), np.nan)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, ci_low, ci_high)`` of ``values`` (NaNs dropped) with a t interval."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = float(t_quantile(confidence, len(x)) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def replications_needed(n, mean, sd, precision: float = 0.05, confidence: float = 0.95,
                        cap: int = 1_000_000) -> np.ndarray:
    """Total replications for a CI half-width within ``precision * |mean|``
    (vectorized; NaN where the mean is 0 or unknown)."""
    from scipy import stats
    n, mean, sd = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (n, mean, sd))
    n, mean, sd = np.broadcast_arrays(n, mean, sd)
    out = np.full(n.shape, np.nan)
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    for i in range(len(out)):
        target = precision * abs(mean[i])
        if not (np.isfinite(target) and np.isfinite(sd[i])) or target == 0:
            continue
        k = int(max(2, math.ceil((z * sd[i] / target) ** 2)))
        while k < cap and stats.t.ppf(0.5 + confidence / 2.0, k - 1) * sd[i] / math.sqrt(k) > target:
            k += 1
        out[i] = k
    return out


def with_derived(table: pd.DataFrame) -> pd.DataFrame:
    """The table with derived metrics added: ``pod_seconds`` (summed over services)."""
    cost = [c for c in table.columns if c.startswith("services.") and c.endswith(".pod_seconds")]
    if cost and "pod_seconds" not in table.columns:
        table = table.copy()
        table["pod_seconds"] = table[cost].sum(axis=1, min_count=1)
    return table


def _context(table: pd.DataFrame, experiment) -> dict:
    exp = None
    if isinstance(experiment, Experiment):
        exp = experiment
    elif experiment is not None:
        exp = load_experiment(experiment, check_runs=False)
    attrs = table.attrs or {}
    return {
        "exp": exp,
        "factors": exp.factor_columns if exp else list(attrs.get("factors", [])),
        "dimensions": exp.dimensions if exp else list(attrs.get("dimensions", attrs.get("factors", []))),
        "grid": [f.paths[0] for f in exp.factors] if exp else list(attrs.get("grid", [])),
        "metrics": [m.name for m in exp.metrics] if exp else list(attrs.get("metrics", [])),
        "baseline": exp.baseline if exp else attrs.get("baseline"),
        "arms": list(exp.arms) if exp else list(attrs.get("arms") or dict.fromkeys(table["arm"])),
        "confidence": exp.spec.confidence if exp else 0.95,
        "precision": exp.spec.precision if exp else 0.05,
    }


def summarize(table: pd.DataFrame, experiment: Union[Experiment, Source, None] = None, *,
              metrics: Optional[Sequence[str]] = None, baseline: Optional[str] = None,
              confidence: Optional[float] = None, precision: Optional[float] = None,
              analytic: bool = True) -> pd.DataFrame:
    """Long table: one row per (arm, point, metric) with the factor values,
    ``n, mean, sd, ci_low, ci_high, half_width, rel_half_width, reps_needed``,
    the paired difference against the baseline arm (``diff_*``, ``significant``:
    the CI excludes 0) and ``analytic`` (queueing theory, NaN where it does not apply).

    Metrics, baseline, factors and confidence come from ``experiment`` (or the
    table's ``attrs``, set by :func:`sim.sweep`) unless given here.
    """
    ctx = _context(table, experiment)
    metrics = list(metrics or ctx["metrics"])
    baseline = baseline if baseline is not None else ctx["baseline"]
    confidence = confidence or ctx["confidence"]
    precision = precision or ctx["precision"]
    factors = [f for f in ctx["factors"] if f in table.columns]
    table = with_derived(table)
    metrics = [m for m in metrics if m in table.columns]
    ok = table[table["status"] == "ok"]
    keys = ["arm", "point"]
    long = ok.melt(id_vars=keys + ["replication"], value_vars=metrics, var_name="metric",
                   value_name="value").dropna(subset=["value"])
    grouped = long.groupby(keys + ["metric"], sort=False)["value"]
    out = grouped.agg(n="count", mean="mean", sd="std").reset_index()
    t = t_quantile(confidence, out["n"].to_numpy())
    out["half_width"] = t * out["sd"].to_numpy() / np.sqrt(out["n"].to_numpy())
    out["ci_low"] = out["mean"] - out["half_width"]
    out["ci_high"] = out["mean"] + out["half_width"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rel_half_width"] = out["half_width"] / out["mean"].abs()
    out["reps_needed"] = replications_needed(out["n"], out["mean"], out["sd"], precision, confidence) \
        if len(out) else []
    out = out[SUMMARY_COLUMNS]
    if baseline is not None:
        out = out.merge(paired_differences(ok, metrics, baseline, confidence), how="left",
                        on=keys + ["metric"])
    else:
        for column in DIFF_COLUMNS:
            out[column] = np.nan
    if factors:
        levels = table.drop_duplicates("point").set_index("point")[factors]
        out = out.join(levels, on="point")
    out["analytic"] = np.nan
    if analytic and ctx["exp"] is not None and len(out):
        theory = analytic_values(ctx["exp"])
        if len(theory):
            merged = out[keys + ["metric"]].merge(theory, how="left", on=keys + ["metric"])
            out["analytic"] = merged["analytic"].to_numpy()
    order = {a: i for i, a in enumerate(ctx["arms"])}
    rank = {m: i for i, m in enumerate(metrics)}
    out = out.sort_values(by=["arm", "point", "metric"], key=lambda s: s.map(order) if s.name == "arm"
                          else (s.map(rank) if s.name == "metric" else s), kind="stable")
    columns = ["arm", "point", *factors, "metric"] + [c for c in out.columns
                                                      if c not in ("arm", "point", "metric", *factors)]
    out = out[columns].reset_index(drop=True)
    out.attrs = {"baseline": baseline, "metrics": metrics, "factors": factors,
                 "dimensions": [d for d in ctx["dimensions"] if d in factors],
                 "grid": [d for d in ctx["grid"] if d in factors],
                 "confidence": confidence, "arms": ctx["arms"],
                 "directions": dict((table.attrs or {}).get("directions", {}))}
    if ctx["exp"] is not None:
        out.attrs["directions"] = {m.name: m.direction for m in ctx["exp"].metrics}
    return out


def paired_differences(table: pd.DataFrame, metrics: Sequence[str], baseline: str,
                       confidence: float = 0.95) -> pd.DataFrame:
    """Per (arm, point, metric): the mean and CI of ``arm - baseline`` over the
    replications both have, the relative difference and whether the CI excludes 0.
    The baseline's own rows have ``diff_n == 0``."""
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    keys = ["arm", "point", "replication"]
    long = ok.melt(id_vars=keys, value_vars=list(metrics), var_name="metric", value_name="value")
    base = long[long["arm"] == baseline].drop(columns="arm").rename(columns={"value": "base"})
    pairs = long.merge(base, on=["point", "replication", "metric"], how="inner")
    pairs["d"] = pairs["value"] - pairs["base"]
    pairs = pairs.dropna(subset=["d"])
    grouped = pairs.groupby(["arm", "point", "metric"], sort=False)
    diff = grouped["d"].agg(diff_n="count", diff_mean="mean", sd="std").reset_index()
    base_mean = grouped["base"].mean().to_numpy()
    half = t_quantile(confidence, diff["diff_n"].to_numpy()) * diff["sd"].to_numpy() / np.sqrt(
        diff["diff_n"].to_numpy())
    diff["diff_ci_low"] = diff["diff_mean"] - half
    diff["diff_ci_high"] = diff["diff_mean"] + half
    with np.errstate(divide="ignore", invalid="ignore"):
        diff["diff_rel"] = diff["diff_mean"] / np.abs(base_mean)
    diff["significant"] = (diff["diff_ci_low"] > 0) | (diff["diff_ci_high"] < 0)
    is_base = diff["arm"] == baseline
    diff.loc[is_base, ["diff_mean", "diff_ci_low", "diff_ci_high", "diff_rel"]] = np.nan
    diff.loc[is_base, "diff_n"] = 0
    diff.loc[is_base, "significant"] = False
    return diff[["arm", "point", "metric", *DIFF_COLUMNS]]


# ------------------------------------------------------------------ theory

def _plain_client(policy) -> bool:
    retry = policy.retry
    return (policy.timeout is None and policy.deadline is None and policy.hedge is None
            and policy.throttle is None and policy.circuit_breaker is None and policy.bulkhead is None
            and (retry is None or retry.max_attempts == 1))


def mmc_inputs(scenario) -> dict[str, tuple[int, float, float, float]]:
    """Services of ``scenario`` that are exactly an M/M/c queue per pod, with
    ``(servers, arrival_rate_per_pod, mean_service_s, cpu_request)``.

    Conditions: Poisson arrivals at a constant rate from open-loop workloads
    whose client neither retries nor times out; the service calls no one and
    no one calls it; no HPA, probes, outlier detection, faults or rollouts on
    it; one pod, or several behind a ``random`` balancer (a random split of a
    Poisson stream is Poisson); ``workers == cpu`` (each request in service has
    a whole core, so its service time is its work); exponential work; no
    ``io``; an unbounded queue and no ``max_queue_time``.
    """
    called = {name for svc in scenario.services.values() for name in svc.called_services()}
    faulted = {getattr(f, "service", None) for f in scenario.faults}
    rolled = {getattr(r, "service", None) for r in scenario.rollouts}
    found = {}
    for name, svc in scenario.services.items():
        pod = svc.pod
        if (svc.calls or name in called or name in faulted or name in rolled or svc.hpa is not None
                or svc.readinessProbe or svc.livenessProbe or svc.startupProbe
                or svc.outlier_detection is not None or svc.replicas < 1
                or (svc.replicas > 1 and svc.load_balancer.type != "random")
                or float(pod.workers) != float(pod.cpu) or pod.queue is not None
                or getattr(pod.work, "dist", None) != "exponential" or not is_zero(pod.io)
                or pod.max_queue_time is not None):
            continue
        sources = [w for w in scenario.workload.values() if w.target_service == name]
        if not sources or scenario.cluster is not None:
            continue
        if not all(w.arrivals is not None and w.arrivals.rate is not None
                   and w.arrivals.process == "poisson" and _plain_client(w.client) for w in sources):
            continue
        rate = sum(w.arrivals.rate * w.arrivals.scale for w in sources)
        found[name] = (int(pod.workers), rate / svc.replicas, float(pod.work.mean()),
                       float(pod.cpu_request_cores))
    return found


def analytic_values(exp: Experiment) -> pd.DataFrame:
    """Long table ``arm, point, metric, analytic`` of the M/M/c values of every
    qualifying service at every (arm, design point), computed in one vectorized
    call per formula (:mod:`sim.theory`). Metric names match the simulated ones:
    ``services.S.waited_ratio`` (Erlang C), ``services.S.queue_wait_s.mean``,
    ``services.S.latency_s.mean``, ``services.S.cpu_utilization`` and, when S is
    the only service and the network adds no latency, ``latency_s.mean``."""
    from .. import theory
    rows: list[tuple[str, int, str, bool]] = []
    inputs: list[tuple[int, float, float, float]] = []
    for arm in exp.arms:
        for point in range(len(exp.points)):
            scenario = exp.scenario_for(arm, point)
            alone = len(scenario.services) == 1 and is_zero(scenario.network.latency)
            for service, values in mmc_inputs(scenario).items():
                rows.append((arm, point, service, alone))
                inputs.append(values)
    if not rows:
        return pd.DataFrame(columns=["arm", "point", "metric", "analytic"])
    c, lam, mean_s, request = (np.array(col, dtype=float) for col in zip(*inputs))
    load = lam * mean_s
    waited = np.asarray(theory.erlang_c(c, load), dtype=float)
    wait = np.asarray(theory.mmc_mean_wait_s(c, lam, mean_s), dtype=float)
    sojourn = np.asarray(theory.mmc_mean_sojourn_s(c, lam, mean_s), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        utilization = np.where(load < c, load / request, np.nan)
    out: list[dict[str, Any]] = []
    for i, (arm, point, service, alone) in enumerate(rows):
        prefix = f"services.{service}."
        values = {prefix + "waited_ratio": waited[i], prefix + "queue_wait_s.mean": wait[i],
                  prefix + "latency_s.mean": sojourn[i], prefix + "cpu_utilization": utilization[i]}
        if alone:
            values["latency_s.mean"] = sojourn[i]
        out += [{"arm": arm, "point": point, "metric": m, "analytic": float(v)} for m, v in values.items()]
    return pd.DataFrame(out)


# ------------------------------------------------------------------ ranking

def ranked(summary: pd.DataFrame, metric: Optional[str] = None,
           direction: Optional[str] = None, table: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """One row per (arm, point), best first by ``metric`` (default: the first):
    with several arms, design points in order and the arms ranked within each
    (``rank`` restarts at 1); with one arm, the design points ranked against each other;
    with ``rank``, the factor values and, per metric, ``mean`` and ``half_width``
    (columns ``METRIC`` and ``METRIC ±``), plus the paired difference of the
    ranking metric against the baseline.

    With ``table`` (the runs), only resolved differences rank: a row whose
    paired difference against the best row of its group is not significant
    shares its rank (``tie`` is "=", ``versus`` names that row's arm or point,
    ``reps_to_resolve`` the replications that would resolve it; see
    :mod:`sim.experiment.compare`). Without it, ranks follow the means alone.
    """
    metrics = list(summary.attrs.get("metrics") or dict.fromkeys(summary["metric"]))
    metric = metric or metrics[0]
    direction = direction or summary.attrs.get("directions", {}).get(metric, "minimize")
    factors = list(summary.attrs.get("factors", []))
    keys = ["arm", "point", *factors]
    wide = summary.pivot_table(index=["arm", "point"], columns="metric",
                               values=["mean", "half_width"], aggfunc="first", dropna=False)
    base = summary.drop_duplicates(["arm", "point"])[keys].set_index(["arm", "point"])
    frame = base.copy()
    for m in metrics:
        if ("mean", m) in wide.columns:
            frame[m] = wide[("mean", m)]
            frame[f"{m} ±"] = wide[("half_width", m)]
    first = summary[summary["metric"] == metric].set_index(["arm", "point"])
    for column in ("n", "diff_mean", "diff_ci_low", "diff_ci_high", "diff_rel", "significant", "analytic"):
        if column in first.columns:
            frame[f"{column}" if column == "n" else f"{metric} {column}"] = first[column]
    frame = frame.reset_index()
    ascending = direction != "maximize"
    several_arms = frame["arm"].nunique() > 1
    if several_arms:                   # arms compete within each design point
        frame = frame.sort_values(["point", metric], ascending=[True, ascending], kind="stable",
                                  na_position="last")
        frame.insert(0, "rank", frame.groupby("point").cumcount() + 1)
    else:                              # one arm: the design points compete
        frame = frame.sort_values(metric, ascending=ascending, kind="stable", na_position="last")
        frame.insert(0, "rank", range(1, len(frame) + 1))
    frame = frame.reset_index(drop=True)
    if table is not None:
        frame = _with_ties(frame, table, metric, direction, several_arms,
                           summary.attrs.get("confidence", 0.95))
    frame.attrs = {"metric": metric, "direction": direction, "metrics": metrics, "factors": factors,
                   "dimensions": list(summary.attrs.get("dimensions", factors)),
                   "grid": list(summary.attrs.get("grid", [])),
                   "baseline": summary.attrs.get("baseline"), "ties": table is not None}
    return frame


def _with_ties(frame: pd.DataFrame, table: pd.DataFrame, metric: str, direction: str,
               several_arms: bool, confidence: float) -> pd.DataFrame:
    """Replace ``rank`` by ranks with ties (:func:`sim.experiment.compare.rank_sides`)."""
    from .compare import rank_sides, replication_matrix
    matrix = replication_matrix(table, metric)
    if matrix.empty:
        return frame
    groups = frame.groupby("point", sort=False) if several_arms else [(None, frame)]
    parts = []
    for _, part in groups:
        cells = {(r.arm, r.point): [(r.arm, r.point)] for r in part.itertuples()}
        ranking = rank_sides(matrix, cells, direction, confidence).set_index("key")
        part = part.copy()
        index = list(zip(part["arm"], part["point"]))
        part["rank"] = [int(ranking.at[k, "rank"]) for k in index]
        part["tie"] = [ranking.at[k, "tie"] for k in index]
        part["versus"] = [(v[0] if several_arms else v[1]) if isinstance(v, tuple) else None
                          for v in (ranking.at[k, "versus"] for k in index)]
        part["reps_to_resolve"] = [ranking.at[k, "reps_to_resolve"] for k in index]
        parts.append(part.sort_values("rank", kind="stable"))
    return pd.concat(parts).reset_index(drop=True)
