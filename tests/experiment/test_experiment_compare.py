"""Comparisons under CRN on tables with known numbers: ties in rankings,
replications to resolve them, factor effects against a reference level."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from sim.errors import ScenarioError
from sim.experiment import expand, load_experiment
from sim.experiment.compare import (ALL_ARMS, ALL_LEVELS, factor_effects, paired, rank_arms,
                                    rank_sides, replication_matrix)
from sim.experiment.stats import ranked, summarize

from conftest import experiment, mmc_scenario


def _table(values: dict[str, list[float]], point: int = 0) -> pd.DataFrame:
    rows = [{"arm": arm, "point": point, "replication": r, "status": "ok", "m": v}
            for arm, xs in values.items() for r, v in enumerate(xs)]
    return pd.DataFrame(rows)


def test_paired_difference_and_replications_to_resolve():
    table = _table({"a": [10.0, 12.0, 11.0, 13.0], "b": [10.5, 11.0, 12.0, 13.2]})
    matrix = replication_matrix(table, "m")
    d = paired(matrix, [("b", 0)], [("a", 0)])
    diffs = np.array([0.5, -1.0, 1.0, 0.2])
    half = sps.t.ppf(0.975, 3) * diffs.std(ddof=1) / 2
    assert d.n == 4 and d.mean == pytest.approx(diffs.mean())
    assert (d.ci_low, d.ci_high) == pytest.approx((diffs.mean() - half, diffs.mean() + half))
    assert not d.significant
    # the smallest n whose t half-width with this sd falls within |mean|
    n = int(d.reps_to_resolve)
    sd, mean = diffs.std(ddof=1), abs(diffs.mean())
    assert sps.t.ppf(0.975, n - 1) * sd / math.sqrt(n) <= mean < sps.t.ppf(0.975, n - 2) * sd / math.sqrt(n - 1)


def test_ranking_ties_unresolved_arms_and_separates_resolved_ones():
    # c is clearly worst (paired differences all large); a and b differ inside the noise
    table = _table({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.3, 1.8, 3.4, 4.1], "c": [5.0, 6.1, 7.0, 8.2]})
    ranking = rank_sides(replication_matrix(table, "m"), {k: [(k, 0)] for k in "abc"}, "minimize")
    assert list(ranking["key"]) == ["a", "b", "c"]
    assert list(ranking["rank"]) == [1, 1, 3] and list(ranking["tie"]) == ["", "=", ""]
    assert ranking.loc[1, "versus"] == "a" and ranking.loc[1, "reps_to_resolve"] > 4
    assert math.isnan(ranking.loc[2, "reps_to_resolve"])
    maximize = rank_sides(replication_matrix(table, "m"), {k: [(k, 0)] for k in "abc"}, "maximize")
    assert list(maximize["key"]) == ["c", "b", "a"] and list(maximize["rank"]) == [1, 2, 2]


def test_ranked_table_carries_ties_per_design_point():
    table = _table({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.3, 1.8, 3.4, 4.1], "c": [5.0, 6.1, 7.0, 8.2]})
    summary = summarize(table, metrics=["m"], baseline="a")
    plain = ranked(summary)
    assert list(plain["rank"]) == [1, 2, 3] and "tie" not in plain.columns
    tied = ranked(summary, table=table)
    assert list(tied["rank"]) == [1, 1, 3] and list(tied["tie"]) == ["", "=", ""]
    assert tied.attrs["ties"] is True


def _grid_experiment(**fields):
    return load_experiment(experiment(
        scenario=mmc_scenario(duration=60.0), replications=4,
        factors={"workload.clients.arrivals.rate": [3.0, 4.0, 5.0],
                 "services.queue.pod.queue": [None, 20]}, **fields), check_runs=False)


def _synthetic(exp, effect_rate: dict, effect_arm: float, noise: np.ndarray) -> pd.DataFrame:
    """m = 10 + effect of the rate level + effect of arm c5 + noise[replication]."""
    plan = expand(exp)
    plan["status"] = "ok"
    plan["m"] = [10.0 + effect_rate[rate] + (effect_arm if arm == "c5" else 0.0) + noise[rep]
                 + 0.01 * ((rep * 7 + point) % 3)
                 for rate, arm, rep, point in zip(plan["workload.clients.arrivals.rate"], plan["arm"],
                                                  plan["replication"], plan["point"])]
    return plan


def test_factor_effects_against_first_level_and_explicit_reference():
    exp = _grid_experiment()
    noise = np.array([0.0, 3.0, -2.0, 5.0])       # shared by every cell of a replication (CRN)
    table = _synthetic(exp, {3.0: 0.0, 4.0: 1.0, 5.0: 2.5}, effect_arm=-0.5, noise=noise)
    effects = factor_effects(table, exp, ["m"])
    main = effects[(effects["at"] == ALL_LEVELS) & (effects["factor"] == "workload.clients.arrivals.rate")]
    for arm in ("c4", "c5", ALL_ARMS):
        rows = main[main["arm"] == arm].set_index("level")
        assert rows.loc[4.0, "diff_mean"] == pytest.approx(1.0, abs=0.02)
        assert rows.loc[5.0, "diff_mean"] == pytest.approx(2.5, abs=0.02)
        assert rows.loc[5.0, "reference"] == 3.0 and bool(rows.loc[5.0, "significant"])
    # the shared noise cancels in the pairs: the interval is narrow although sd(m) is large
    assert (main["diff_ci_high"] - main["diff_ci_low"]).max() < 0.1
    # a factor that does nothing: its effect is not resolved
    queue = effects[(effects["at"] == ALL_LEVELS) & (effects["factor"] == "services.queue.pod.queue")]
    assert (queue["diff_mean"].abs() < 0.02).all()
    # at each level of the other factor too
    assert set(effects["at"]) >= {ALL_LEVELS, "services.queue.pod.queue=None", "services.queue.pod.queue=20"}
    chosen = _grid_experiment(reference={"workload.clients.arrivals.rate": 5.0})
    effects = factor_effects(table, chosen, ["m"], contexts=False)
    rows = effects[(effects["arm"] == ALL_ARMS) & (effects["factor"] == "workload.clients.arrivals.rate")]
    assert set(rows["reference"]) == {5.0}
    assert rows.set_index("level").loc[3.0, "diff_mean"] == pytest.approx(-2.5, abs=0.02)


def test_overall_arm_ranking_averages_design_points():
    exp = _grid_experiment()
    table = _synthetic(exp, {3.0: 0.0, 4.0: 1.0, 5.0: 2.5}, effect_arm=-0.5, noise=np.array([0, 3, -2, 5.0]))
    ranking = rank_arms(table, "m", "minimize", list(exp.arms), range(len(exp.points)))
    assert list(ranking["key"]) == ["c5", "c4"] and list(ranking["rank"]) == [1, 2]


def test_reference_and_labels_are_validated():
    with pytest.raises(ScenarioError) as caught:
        _grid_experiment(reference={"workload.clients.arrivals.rate": 7, "nope": 1},
                         labels={"c4": "four servers", "typo": "x"})
    text = caught.value.report()
    assert "reference.workload.clients.arrivals.rate: not one of the factor's levels" in text
    assert "reference.nope: not a grid factor" in text
    assert "labels.typo: names no arm, factor or metric" in text
    assert "labels.c4" not in text
