"""The summary's ``cost`` block (issue 14, part 5): the run's usage at the
scenario's ``prices``, derived by hand for small deterministic runs."""
from __future__ import annotations

import pytest

import sim
from test_functions import fn_scenario


def test_pods_cost_their_requests_over_pod_seconds():
    """Two pods of 0.5 vCPU and 1 GiB requested, alive the whole hour:
    1 vCPU-hour x $0.04048 + 2 GiB-hours x $0.004445."""
    spec = {"name": "pods", "duration": "1h", "sample_interval": "1m",
            "workload": {"w": {"target": "api", "arrivals": {"rate": 1}}},
            "services": {"api": {"replicas": 2, "pod": {"cpu": 1, "cpu_request": "500m",
                                                          "memory": "1Gi", "work": "1ms"}}}}
    cost = sim.run(spec, seed=1).summary["cost"]
    assert cost["pods"] == pytest.approx(1 * 0.04048 + 2 * 0.004445)
    assert cost["nodes"] == 0.0 and cost["total"] == pytest.approx(cost["pods"])


def test_a_lambda_request_bills_its_init_and_run(tmp_path):
    """One cold request: 1 s init + 1 s work at 1 GB = 2 GB-s x $0.0000166667,
    plus one request at $0.20 per million."""
    spec = fn_scenario([1], trace_dir=tmp_path, duration=30.0)
    f = sim.run(spec, seed=1).summary["cost"]["functions"]["f"]
    assert f["compute"] == pytest.approx(2 * 0.0000166667)
    assert f["requests"] == pytest.approx(0.20 / 1e6)
    assert f["total"] == pytest.approx(f["compute"] + f["requests"])


def test_cloud_run_bills_busy_instance_time_and_prices_are_parameters(tmp_path):
    """Cloud Run billing: the instance is busy 2 s (its start and the request)
    on 1 vCPU and 1 GiB; with prices doubled the cost doubles."""
    spec = fn_scenario([1], trace_dir=tmp_path, duration=30.0)
    spec["functions"]["f"]["billing"] = "cloud_run"
    f = sim.run(spec, seed=1).summary["cost"]["functions"]["f"]
    assert f["compute"] == pytest.approx(2 * (0.000024 + 0.0000025))
    spec["prices"] = {"cloud_run_vcpu_second": 0.000048, "cloud_run_gib_second": 0.000005,
                      "cloud_run_per_million_requests": 0.80}
    doubled = sim.run(spec, seed=1).summary["cost"]["functions"]["f"]
    assert doubled["total"] == pytest.approx(2 * f["total"])


def test_sixty_million_lambda_requests_of_28_ms_at_1_gb():
    """The issue's vector, through the same arithmetic: $12 requests + $28 compute."""
    from sim.cost import lambda_cost
    c = lambda_cost(60_000_000, 0.028, 1.0)
    assert (c["requests"], c["compute"]) == (pytest.approx(12.0), pytest.approx(28.0, rel=1e-5))
