"""Every problem of an experiment is reported before anything runs, exit 2."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.errors import ScenarioError
from sim.experiment import load_experiment

from conftest import experiment, mmc_scenario


def _problems(spec) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_experiment(spec)
    return [str(p) for p in info.value.problems]


def test_bad_paths_and_values_are_located_at_their_entry():
    found = _problems(experiment(
        arms={"ok": {}, "broken": {"services.queue.pod.queue": -1, "services.nosuch.replicas": 2,
                                   "services.queue.pod.wrokers": 3}},
        baseline="ok",
        factors={"workload.clients.arrivals.rate": [1, -2],
                 "capacity": {"services.queue.pod.workers": [1, 0], "services.queue.pod.cpu": [1, 1]}}))
    assert "factors.workload.clients.arrivals.rate: must be >= 0.0 (got -2)" in found
    assert "factors.capacity.services.queue.pod.workers: must be >= 1 (got 0)" in found
    assert "arms.broken.services.queue.pod.queue: must be >= 0 (got -1)" in found
    assert any(p.startswith("arms.broken.services.queue.pod.wrokers: unknown key; did you mean 'workers'")
               for p in found)
    assert any(p.startswith("arms.broken.services.nosuch.replicas: no service named 'nosuch'") for p in found)
    assert len(found) == len(set(found))                   # each distinct problem once


def test_experiment_schema_problems_all_at_once():
    found = _problems({"name": "x", "scenario": mmc_scenario(), "replications": 0, "colour": "red",
                       "design": {"type": "sobol", "n": 4, "ranges": {}}})
    assert "replications: must be >= 1 (got 0)" in found
    assert any(p.startswith("colour: unknown key") for p in found)
    assert any(p.startswith("design.type: must be one of") for p in found)
    assert any(p.startswith("design.ranges: needs at least 1 item") for p in found)


def test_semantic_problems_all_at_once():
    found = _problems(experiment(
        baseline="nope",
        arms={"c4": {"workload.clients.arrivals.rate": 3}, "bad name!": {}},
        factors={"workload.clients.arrivals.rate": [1, 1],
                 "services.queue.pod.cpu|services.queue.pod.workers": [[1, 1], [2]]},
        design={"type": "random", "n": 2, "ranges": {"network.latency": [2, 1]}},
        metrics=["latency_s.p99", "foo.bar", "services.nosuch.ok"]))
    text = "\n".join(found)
    assert "factors.workload.clients.arrivals.rate.1: repeats level 0 (got [1])" in found
    assert "factors.services.queue.pod.cpu|services.queue.pod.workers.1: each level" in text
    assert "arms.c4.workload.clients.arrivals.rate: path also varies in factors" in text
    assert "arms.bad name!: arm names" in text
    assert "baseline: no arm named so" in text
    assert "design.ranges.network.latency: needs finite low < high (got [2.0, 1.0])" in found
    assert "metrics.1: not a summary.json key" in text
    assert "metrics.2: expected services.NAME.KEY" in text


def test_scenario_file_relative_to_experiment(tmp_path: Path):
    (tmp_path / "models").mkdir()
    (tmp_path / "exps").mkdir()
    (tmp_path / "models" / "q.yaml").write_text(yaml.safe_dump(mmc_scenario()))
    spec = experiment(scenario="../models/q.yaml")
    (tmp_path / "exps" / "e.yaml").write_text(yaml.safe_dump(spec))
    exp = load_experiment(tmp_path / "exps" / "e.yaml")
    assert exp.base.name == "tiny-mmc"
    spec["scenario"] = "../models/missing.yaml"
    (tmp_path / "exps" / "e.yaml").write_text(yaml.safe_dump(spec))
    found = _problems(tmp_path / "exps" / "e.yaml")
    assert len(found) == 1 and found[0].startswith("scenario: scenario file not found")
    assert found[0].endswith("(got '../models/missing.yaml')")


def test_cli_exits_2_before_running_anything(tmp_path: Path, capsys):
    spec = experiment(arms={"c4": {}, "broken": {"services.queue.pod.workers": 0}},
                      factors={"services.queue.pod.nope": [1, 2]})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "arms.broken.services.queue.pod.workers: must be >= 1 (got 0)" in err
    assert "factors.services.queue.pod.nope: unknown key" in err
    assert not out.exists()                               # nothing ran, nothing written


def test_cli_unreadable_experiment_exits_2(tmp_path: Path, capsys):
    assert main(["sweep", str(tmp_path / "none.yaml"), "--no-progress"]) == 2
    assert "experiment file not found" in capsys.readouterr().err


def test_metric_typos_are_all_reported_with_did_you_mean():
    found = _problems(experiment(metrics=["latency_s.p99", "latency_s.p9", "goodput_rps",
                                          "services.queue.pod_secs", "slo.god_ratio"]))
    assert found == [
        "metrics.1: not a summary.json key of this scenario; did you mean 'latency_s.p90' or "
        "'latency_s.p95' or 'latency_s.p99'? (got 'latency_s.p9')",
        "metrics.3: not a summary.json key of this scenario; did you mean "
        "'services.queue.pod_seconds'? (got 'services.queue.pod_secs')",
        "metrics.4: not a summary.json key of this scenario; did you mean 'slo.good_ratio'? "
        "(got 'slo.god_ratio')"]


def test_every_documented_key_is_a_metric_and_every_metric_is_in_a_real_run():
    """Metric names come from the summary writer itself (sim.record.keys): the
    new keys, windows declared through ``overrides`` and ``hops_per_request``
    are accepted, and each one is a column of the sweep's table."""
    from sim.experiment import sweep
    metrics = ["hops_per_request", "latency_all_s.p999", "slo.error_budget_burn",
               "slo.workload.clients.good_ratio", "windows.busy.goodput_rps",
               "windows.busy.slo.bad", "services.queue.bulkhead_full", "pod_seconds", "wall_s"]
    spec = experiment(scenario=mmc_scenario(duration=60.0), replications=1, arms={"c4": {}},
                      overrides={"windows.busy": {"from": "10s", "to": "30s"}}, metrics=metrics)
    exp = load_experiment(spec)
    assert [m.name for m in exp.metrics] == metrics
    assert {m.name: m.direction for m in exp.metrics}["slo.workload.clients.good_ratio"] == "maximize"
    table = sweep(exp)
    row = table.iloc[0]
    for name in metrics:
        assert name in table.columns, name
    assert row["windows.busy.slo.bad"] >= 0 and row["hops_per_request"] == 1.0
    assert row["windows.busy.goodput_rps"] > 0


def test_a_metric_of_a_window_the_scenario_lacks_is_refused():
    found = _problems(experiment(metrics=["windows.spike.goodput_rps"]))
    assert found[0].startswith("metrics.0: not a summary.json key of this scenario")


def test_cli_metric_typo_exits_2_before_any_run(tmp_path: Path, capsys):
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(experiment(metrics=["latency_s.p99", "goodput_rps", "latency_s.p9"])))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "metrics.2: not a summary.json key of this scenario; did you mean 'latency_s.p90' or " \
        "'latency_s.p95' or 'latency_s.p99'? (got 'latency_s.p9')" in err
    assert "Traceback" not in err and not out.exists()
