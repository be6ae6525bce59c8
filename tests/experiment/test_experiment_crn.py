"""Common random numbers: arms share the offered requests within a replication,
and paired differences have a much smaller variance than with independent seeds."""
from __future__ import annotations

import numpy as np

import sim
from sim.experiment import load_experiment

from conftest import experiment, mmc_scenario


def test_arms_share_offered_requests_within_a_replication():
    exp = experiment(replications=4, arms={
        "c4": {}, "c5": {"services.queue.pod.workers": 5, "services.queue.pod.cpu": 5},
        "bounded": {"services.queue.pod.queue": 3}, "lognormal": {
            "services.queue.pod.work": {"dist": "lognormal", "mean": 0.5, "cv": 2}}})
    table = sim.sweep(exp, jobs=1, report=False)
    offered = table.pivot(index="replication", columns="arm", values="requests.total")
    assert (offered.nunique(axis=1) == 1).all()           # same count in every arm...
    assert offered["c4"].nunique() == 4                   # ...and different replications differ
    # the very same arrival instants, request by request
    loaded = load_experiment(exp)
    arrivals = [sim.run(loaded.scenario_for(arm, 0), seed=loaded.seed, replication=2).requests["arrival_s"]
                for arm in loaded.arms]
    for other in arrivals[1:]:
        np.testing.assert_array_equal(arrivals[0].to_numpy(), other.to_numpy())


def test_crn_reduces_the_variance_of_paired_differences():
    def paired(crn: bool) -> tuple[float, float]:
        exp = experiment(scenario=mmc_scenario(rate=5.0, servers=5, duration=600.0),
                         replications=10, common_random_numbers=crn,
                         arms={"c5": {}, "c6": {"services.queue.pod.workers": 6, "services.queue.pod.cpu": 6}},
                         baseline="c5", metrics=["latency_s.mean", "latency_s.p99"])
        table = sim.sweep(exp, jobs=1, report=False)
        assert (table.groupby("arm")["seed"].nunique() == 1).all()
        assert (table["seed"].nunique() == 1) is crn
        wide = table.pivot(index="replication", columns="arm", values="latency_s.mean")
        summary = sim.experiment.summarize(table, exp)
        row = summary[(summary["arm"] == "c6") & (summary["metric"] == "latency_s.mean")].iloc[0]
        return float((wide["c6"] - wide["c5"]).var(ddof=1)), row["diff_ci_high"] - row["diff_ci_low"]

    (var_crn, width_crn), (var_indep, width_indep) = paired(True), paired(False)
    assert var_crn < 0.25 * var_indep
    assert width_crn < 0.5 * width_indep
