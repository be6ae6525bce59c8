"""Statistics: t intervals on known data, paired differences, replications
needed, analytic M/M/c columns, ranking."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import sim
from sim import theory
from sim.experiment import load_experiment
from sim.experiment.stats import (analytic_values, mean_ci, mmc_inputs, paired_differences, ranked,
                                  replications_needed, summarize)

from conftest import experiment, mmc_scenario


def test_mean_ci_on_known_data():
    mean, low, high = mean_ci([1, 2, 3, 4, 5])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)     # t(0.975, 4) * sd / sqrt(n)
    assert mean == 3 and low == pytest.approx(3 - half, rel=1e-12) and high == pytest.approx(3 + half, rel=1e-12)
    mean, low, high = mean_ci([2.0, 4.0], confidence=0.9)
    assert (low, high) == pytest.approx((3 - 6.313751514675 * 1 / 1, 3 + 6.313751514675), rel=1e-9)
    assert math.isnan(mean_ci([7.0])[1]) and mean_ci([7.0])[0] == 7.0


def _table() -> pd.DataFrame:
    base = [10.0, 12.0, 11.0, 13.0]
    plus = [1.0, 1.5, 0.5, 1.0]
    rows = [{"arm": "base", "point": 0, "replication": r, "status": "ok", "m": v, "k": 2 * v}
            for r, v in enumerate(base)]
    rows += [{"arm": "x", "point": 0, "replication": r, "status": "ok", "m": b + d, "k": 2 * b}
             for r, (b, d) in enumerate(zip(base, plus))]
    rows.append({"arm": "x", "point": 0, "replication": 4, "status": "failed", "m": np.nan, "k": np.nan})
    return pd.DataFrame(rows)


def test_summary_and_paired_differences_on_known_data():
    summary = summarize(_table(), metrics=["m", "k"], baseline="base")
    x = summary[(summary["arm"] == "x") & (summary["metric"] == "m")].iloc[0]
    values = np.array([11.0, 13.5, 11.5, 14.0])
    t3 = sps.t.ppf(0.975, 3)
    assert x["n"] == 4                                    # the failed run does not count
    assert x["mean"] == pytest.approx(values.mean())
    assert x["half_width"] == pytest.approx(t3 * values.std(ddof=1) / 2)
    d = np.array([1.0, 1.5, 0.5, 1.0])
    assert x["diff_n"] == 4 and x["diff_mean"] == pytest.approx(1.0)
    assert x["diff_ci_low"] == pytest.approx(1.0 - t3 * d.std(ddof=1) / 2)
    assert x["diff_ci_high"] == pytest.approx(1.0 + t3 * d.std(ddof=1) / 2)
    assert x["diff_rel"] == pytest.approx(1.0 / 11.5)
    assert bool(x["significant"]) is True
    k = summary[(summary["arm"] == "x") & (summary["metric"] == "k")].iloc[0]
    assert k["diff_mean"] == 0 and bool(k["significant"]) is False
    base = summary[summary["arm"] == "base"]
    assert (base["diff_n"] == 0).all() and base["diff_mean"].isna().all()
    direct = paired_differences(_table(), ["m"], "base")
    assert direct[direct["arm"] == "x"]["diff_mean"].iloc[0] == pytest.approx(1.0)


def test_replications_needed_is_the_smallest_sufficient_n():
    need = replications_needed([10], [10.0], [2.0], precision=0.05)[0]
    ok = lambda n: sps.t.ppf(0.975, n - 1) * 2.0 / math.sqrt(n) <= 0.5   # noqa: E731
    assert ok(need) and not ok(need - 1)
    assert math.isnan(replications_needed([5], [0.0], [1.0])[0])
    assert replications_needed([5], [3.0], [0.0])[0] == 2


def test_analytic_erlang_c_beside_the_simulation():
    exp = load_experiment(experiment(
        replications=2, scenario=mmc_scenario(duration=600.0),
        arms={"c4": {}, "c6": {"services.queue.pod.workers": 6, "services.queue.pod.cpu": 6},
              "bounded": {"services.queue.pod.queue": 10},
              "retrying": {"workload.clients.client.retry": {"max_attempts": 3}},
              "half-cores": {"services.queue.pod.cpu": 2}},
        factors={"workload.clients.arrivals.rate": [3.0, 6.0]}))
    theory_table = analytic_values(exp)
    assert set(theory_table["arm"]) == {"c4", "c6"}     # the others are not M/M/c
    waited = theory_table[theory_table["metric"] == "services.queue.waited_ratio"].set_index(["arm", "point"])
    for arm, c in (("c4", 4), ("c6", 6)):
        for point, rate in ((0, 3.0), (1, 6.0)):
            assert waited.loc[(arm, point), "analytic"] == pytest.approx(float(theory.erlang_c(c, rate * 0.5)))
    wait = theory_table[theory_table["metric"] == "services.queue.queue_wait_s.mean"].set_index(["arm", "point"])
    assert wait.loc[("c4", 1), "analytic"] == pytest.approx(float(theory.mmc_mean_wait_s(4, 6.0, 0.5)))
    assert set(theory_table["metric"]) >= {"latency_s.mean", "services.queue.cpu_utilization"}

    table = sim.sweep(exp, jobs=1, report=False)
    summary = summarize(table, exp)
    row = summary[(summary["arm"] == "c4") & (summary["point"] == 1)
                  & (summary["metric"] == "services.queue.waited_ratio")].iloc[0]
    assert row["analytic"] == pytest.approx(float(theory.erlang_c(4, 3.0)))
    assert abs(row["mean"] - row["analytic"]) < 0.15    # a short run, but the right ballpark
    assert summary.loc[summary["arm"] == "bounded", "analytic"].isna().all()


def test_mmc_inputs_split_a_random_balancer():
    spec = sim.load(mmc_scenario(rate=6.0), overrides={"services.queue.replicas": 3,
                                                       "services.queue.load_balancer": "random"})
    assert mmc_inputs(spec) == {"queue": (4, 2.0, 0.5, 4.0)}
    round_robin = sim.load(mmc_scenario(rate=6.0), overrides={"services.queue.replicas": 3})
    assert mmc_inputs(round_robin) == {}


def test_ranked_within_each_point_by_direction():
    rows = []
    for point, values in enumerate([{"a": 3.0, "b": 1.0, "c": 2.0}, {"a": 1.0, "b": 5.0, "c": 4.0}]):
        for arm, v in values.items():
            rows += [{"arm": arm, "point": point, "replication": r, "status": "ok", "m": v + 0.01 * r}
                     for r in range(3)]
    table = pd.DataFrame(rows)
    low = ranked(summarize(table, metrics=["m"]))
    assert list(zip(low["point"], low["arm"], low["rank"])) == [
        (0, "b", 1), (0, "c", 2), (0, "a", 3), (1, "a", 1), (1, "c", 2), (1, "b", 3)]
    high = ranked(summarize(table, metrics=["m"]), direction="maximize")
    assert list(high["arm"]) == ["a", "c", "b", "b", "c", "a"]


def test_one_arm_ranks_the_design_points():
    rows = [{"arm": "default", "point": p, "replication": r, "status": "ok", "m": v}
            for p, v in enumerate([2.0, 1.0, 3.0]) for r in range(2)]
    table = ranked(summarize(pd.DataFrame(rows), metrics=["m"]))
    assert list(table["point"]) == [1, 0, 2] and list(table["rank"]) == [1, 2, 3]
