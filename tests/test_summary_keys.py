"""One source of truth for metric names: :func:`sim.record.keys.summary_keys`.

The key set comes from the function that writes ``summary.json``, applied to
the empty logs of a run that never started; these tests hold it to the keys
real runs write, on every shipped model and on a scenario with windows,
faults of every shape and nodes.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import sim
from sim.record.keys import PER_RUN_ONLY, closest, flatten_summary, metric_names, summary_keys

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "models").glob("*.yaml"))


def _short(path: Path) -> sim.Scenario:
    return sim.load(path, overrides={"duration": "20s", "warmup": "5s"})


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_the_keys_of_a_real_run_are_exactly_the_declared_ones(model):
    scenario = _short(model)
    summary = json.loads(json.dumps(sim.run(scenario, seed=3).summary))   # as written to disk
    assert list(flatten_summary(summary)) == summary_keys(scenario)


def test_keys_follow_the_scenario_windows_faults_workloads_and_nodes():
    raw = {
        "name": "shape", "duration": 40, "warmup": 5,
        "workload": {"web": {"target": "a", "arrivals": {"rate": 5}},
                     "batch": {"target": "a", "arrivals": {"rate": 1}}},
        "services": {"a": {"pod": {"work": "5ms"}, "calls": [{"to": "b"}]}, "b": {"pod": {"work": "1ms"}}},
        "faults": [{"kind": "crash", "service": "b", "at": 10},
                   {"kind": "errors", "service": "b", "at": 20, "for": 5, "probability": 0.5}],
        "windows": {"peak": {"from": 8, "to": 12}},
        "cluster": {"nodes": {"count": 2, "cpu": 4}},
    }
    scenario = sim.load(raw)
    keys = summary_keys(scenario)
    summary = json.loads(json.dumps(sim.run(scenario, seed=1).summary))
    assert list(flatten_summary(summary)) == keys
    windows = [k[:-len(".goodput_rps")] for k in keys if k.endswith(".goodput_rps")]
    assert windows == ["windows.peak", "windows.after.fault.0", "windows.fault.1",
                       "windows.after.fault.1"]                        # a crash has no fault.0
    for prefix in ("", "windows.peak.", "windows.after.fault.1."):
        for key in ("latency_all_s.p999", "slo.good_ratio", "slo.error_budget_burn",
                    "slo.workload.web.bad", "slo.workload.batch.good_ratio", "requests.ok"):
            assert prefix + key in keys
    assert {"cluster.node_hours", "hops_per_request", "pod_seconds", "services.b.bulkhead_full"} <= set(keys)


def test_metric_names_leave_out_what_the_run_record_carries_itself():
    names = metric_names(_short(ROOT / "models" / "mmc.yaml"))
    assert not set(PER_RUN_ONLY) & set(names)
    assert "hops_per_request" in names and "latency_all_s.p99" in names


def test_closest_names_for_did_you_mean():
    names = metric_names(_short(ROOT / "models" / "reference.yaml"))
    assert closest("latency_s.p9", names) == ["latency_s.p90", "latency_s.p95", "latency_s.p99"]
    assert closest("hops", names) == ["hops_per_request"]
    assert closest("services.frontnd.pod_seconds", names)[0] == "services.frontend.pod_seconds"
    assert closest("slo.nonsense_entirely", names) == ["slo.latency_s", "slo.target", "slo.requests"]
    assert closest("zzz", names) == []
