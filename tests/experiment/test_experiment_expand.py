"""Expansion: cardinality, order, run ids, coupled factors, sampled designs."""
from __future__ import annotations

import numpy as np
import pytest

from sim.experiment import expand, load_experiment
from sim.experiment.spec import sample_design, DesignSpec, RangeSpec

from conftest import experiment


def test_cardinality_and_documented_order():
    exp = experiment(
        arms={"a": {}, "b": {"services.queue.replicas": 2}, "c": {"services.queue.pod.queue": 50}},
        baseline="a",
        factors={"workload.clients.arrivals.rate": [1, 2], "network.latency": [0, "1ms", "2ms"]},
        replications=2)
    plan = expand(exp)
    assert len(plan) == 3 * (2 * 3) * 2
    assert list(plan.columns) == ["run_id", "arm", "point", "replication", "seed",
                                  "workload.clients.arrivals.rate", "network.latency"]
    # arm slowest, then point (first factor slowest, last fastest), replication fastest
    assert list(plan["arm"]) == [a for a in "abc" for _ in range(12)]
    assert list(plan["replication"][:4]) == [0, 1, 0, 1]
    first_arm = plan[plan["arm"] == "a"]
    assert list(first_arm["point"]) == [p for p in range(6) for _ in range(2)]
    assert list(first_arm["workload.clients.arrivals.rate"][::2]) == [1, 1, 1, 2, 2, 2]
    assert list(first_arm["network.latency"][::2]) == ["0", "1ms", "2ms"] * 2   # mixed kinds -> text
    assert plan["run_id"].iloc[0] == "a.p000.r000" and plan["run_id"].iloc[-1] == "c.p005.r001"
    assert plan["run_id"].is_unique
    assert set(plan["seed"]) == {5}                       # common random numbers: one seed


def test_expand_is_pure_and_run_ids_survive_more_replications():
    exp = experiment(factors={"workload.clients.arrivals.rate": [1, 2]})
    one, two = expand(exp), expand(exp)
    assert one.equals(two)
    more = expand(exp, replications=5)
    assert set(one["run_id"]) < set(more["run_id"])
    merged = more.merge(one, on="run_id", suffixes=("", "_old"))
    assert (merged["point"] == merged["point_old"]).all()
    assert (merged["replication"] == merged["replication_old"]).all()


def test_no_arms_no_factors_is_one_arm_one_point():
    plan = expand(experiment(arms={}, baseline=None, replications=4))
    assert list(plan["arm"]) == ["default"] * 4
    assert list(plan["point"]) == [0] * 4
    assert list(plan["run_id"]) == [f"default.p000.r00{r}" for r in range(4)]


def test_coupled_factors_both_syntaxes_vary_together():
    mapping = experiment(arms={}, baseline=None, replications=1, factors={
        "workload.clients.arrivals.rate": [1, 2],
        "capacity": {"services.queue.pod.workers": [2, 6], "services.queue.pod.cpu": [2, 6]}})
    inline = experiment(arms={}, baseline=None, replications=1, factors={
        "workload.clients.arrivals.rate": [1, 2],
        "services.queue.pod.workers|services.queue.pod.cpu": [[2, 2], [6, 6]]})
    a, b = expand(mapping), expand(inline)
    assert len(a) == 4                                    # 2 rates x 2 coupled levels, not 2x2x2
    assert a.drop(columns="run_id").equals(b.drop(columns="run_id"))
    assert list(a["services.queue.pod.workers"]) == [2, 6, 2, 6]
    assert (a["services.queue.pod.workers"] == a["services.queue.pod.cpu"]).all()
    exp = load_experiment(mapping)
    assert exp.dimensions == ["workload.clients.arrivals.rate", "services.queue.pod.workers"]
    resolved = exp.scenario_for("default", 3).services["queue"].pod
    assert (resolved.workers, resolved.cpu) == (6, 6.0)


def test_sampled_designs_are_reproducible_and_stratified():
    ranges = {"workload.clients.arrivals.rate": RangeSpec(low=1, high=5),
              "services.queue.pod.workers": RangeSpec(low=2, high=9, integer=True),
              "network.latency": RangeSpec(low=0.001, high=0.1, log=True)}
    lhs = DesignSpec(type="latin_hypercube", n=8, ranges={k: [v.low, v.high] for k, v in ranges.items()})
    a, b = sample_design(lhs, ranges, seed=3), sample_design(lhs, ranges, seed=3)
    assert a == b
    assert sample_design(lhs, ranges, seed=4) != a
    rates = np.array([p["workload.clients.arrivals.rate"] for p in a])
    strata = np.floor((rates - 1) / (4 / 8)).astype(int)
    assert sorted(strata) == list(range(8))               # one point in each of the 8 strata
    workers = [p["services.queue.pod.workers"] for p in a]
    assert all(isinstance(w, int) and 2 <= w <= 9 for w in workers)
    lat = np.array([p["network.latency"] for p in a])
    assert ((lat >= 0.001) & (lat <= 0.1)).all()
    random = sample_design(DesignSpec(type="random", n=8, ranges=lhs.ranges), ranges, seed=3)
    assert random != a and random == sample_design(DesignSpec(type="random", n=8, ranges=lhs.ranges),
                                                   ranges, seed=3)


def test_design_crossed_with_grid_in_expansion():
    exp = experiment(replications=1, factors={"services.queue.pod.queue": [None, 100]},
                     design={"type": "latin_hypercube", "n": 3, "seed": 9,
                             "ranges": {"workload.clients.arrivals.rate": [1, 3]}})
    plan = expand(exp)
    assert len(plan) == 2 * 2 * 3
    assert list(plan.columns[-2:]) == ["services.queue.pod.queue", "workload.clients.arrivals.rate"]
    arm = plan[plan["arm"] == "c4"]
    rates = list(arm["workload.clients.arrivals.rate"])
    assert rates[:3] == rates[3:]                         # every grid point x the same samples
    assert expand(exp).equals(plan)
    other = experiment(replications=1, factors={"services.queue.pod.queue": [None, 100]},
                       design={"type": "latin_hypercube", "n": 3, "seed": 10,
                               "ranges": {"workload.clients.arrivals.rate": [1, 3]}})
    assert list(expand(other)["workload.clients.arrivals.rate"]) != list(plan["workload.clients.arrivals.rate"])


@pytest.mark.parametrize("crn", [True, False])
def test_seeds_follow_common_random_numbers(crn):
    plan = expand(experiment(common_random_numbers=crn, factors={"workload.clients.arrivals.rate": [1, 2]}))
    per_cell = plan.groupby(["arm", "point"])["seed"].nunique()
    assert (per_cell == 1).all()
    assert (plan["seed"].nunique() == 1) is crn
