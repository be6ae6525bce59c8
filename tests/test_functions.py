"""Serverless functions (issue 14, part 1): cold starts, keep-alive, routing
to the newest idle instance, throttling, provisioned instances.

Exact times from hand-placed arrivals (deterministic arrivals: the k-th at
k / rate), and the SimFaaS vectors of the semantics notes
(``shared/design/semantics-next.md`` section 5): T=10, warm 1, cold 2,
arrivals 0, 5, 20 -> cold, warm, cold (the instance expires at 16); max
concurrency 1, arrivals 0, 1 (cold 2) -> the second is throttled.
"""
from __future__ import annotations

import math

import pytest

import sim


def fn_scenario(arrival_times, *, keep_alive="10s", cold="1s", work="1s", max_instances=1000,
                min_instances=0, concurrency=1, duration=60.0, trace_dir=None) -> dict:
    """A workload replaying ``arrival_times`` (a timestamps trace written to
    ``trace_dir``) against function ``f`` (one core, constant work and cold start)."""
    arrivals = {"rate": 0.0001}
    if arrival_times:
        path = trace_dir / "arrivals.csv"
        path.write_text("t\n" + "".join(f"{t}\n" for t in arrival_times))
        arrivals = {"trace": str(path)}
    return {"name": "fn", "duration": duration, "sample_interval": 1.0,
            "workload": {"calls": {"target": "f", "arrivals": arrivals}},
            "services": {"unused": {"replicas": 0, "pod": {"work": "1ms"}}},
            "functions": {"f": {"concurrency": concurrency, "keep_alive": keep_alive,
                                "cold_start": cold, "work": work, "cpu": 1,
                                "max_instances": max_instances, "min_instances": min_instances}}}


def latencies(result) -> list[tuple[float, float, str]]:
    req = result.requests.sort_values("arrival_s")
    return [(round(a, 6), round(e - a, 6) if not math.isnan(e) else None, str(s))
            for a, e, s in zip(req["arrival_s"], req["end_s"], req["status"])]


def test_cold_then_warm_then_expired_and_cold(tmp_path):
    """SimFaaS's vector with cold = cold start 1 s + work 1 s: arrivals at 1,
    6, 21 (shifted by 1 s so the first is not at 0): cold (2 s), warm (1 s:
    the instance is idle from 3 s, expires at 3 + 10 = 13? no: it served the
    6 s request until 7, so it expires at 17), then cold again at 21."""
    r = sim.run(fn_scenario([1, 6, 21], trace_dir=tmp_path), seed=1)
    assert latencies(r) == [(1.0, 2.0, "ok"), (6.0, 1.0, "ok"), (21.0, 2.0, "ok")]
    f = r.summary["functions"]["f"]
    assert (f["invocations"], f["cold_starts"]) == (3, 2)
    assert f["cold_start_ratio"] == pytest.approx(2 / 3)
    assert f["latency_cold_s"]["p50"] == pytest.approx(2.0) and f["latency_warm_s"]["p50"] == pytest.approx(1.0)


def test_keep_alive_expiry_is_exact(tmp_path):
    """Idle from 3 s (the first request, 1 s + 2 s), keep-alive 10 s: an
    arrival at 12.9 s finds it warm; one at 13.1 s would not."""
    warm = sim.run(fn_scenario([1, 12.9], trace_dir=tmp_path), seed=1)
    assert [s for _a, s, _st in latencies(warm)] == [2.0, 1.0]
    cold = sim.run(fn_scenario([1, 13.1], trace_dir=tmp_path), seed=1)
    assert [s for _a, s, _st in latencies(cold)] == [2.0, 2.0]


def test_the_newest_idle_instance_gets_the_request(tmp_path):
    """Two requests at once start two instances (A then B); both idle from 3 s.
    A request at 10 s goes to B, the newest; A, idle since 3 s, expires at 13;
    B, busy until 11, at 21: a request at 15 finds only B (warm)."""
    r = sim.run(fn_scenario([1, 1, 10, 15], trace_dir=tmp_path), seed=1)
    assert [s for _a, s, _st in latencies(r)] == [2.0, 2.0, 1.0, 1.0]
    f = r.summary["functions"]["f"]
    assert f["cold_starts"] == 2 and f["instances_max"] == 2


def test_throttled_beyond_max_instances(tmp_path):
    """max_instances 1, requests at 1 and 1.5 s (cold start 1 s): the second
    finds the only instance starting and full: throttled at once."""
    r = sim.run(fn_scenario([1, 1.5], trace_dir=tmp_path, max_instances=1), seed=1)
    assert latencies(r) == [(1.0, 2.0, "ok"), (1.5, 0.0, "rejected")]
    calls = r.calls
    row = calls[calls["request_id"] == 1].iloc[0]
    assert (str(row["reason"]), str(row["code"])) == ("concurrency_limit", "resource_exhausted")
    assert r.summary["functions"]["f"]["throttled"] == 1


def test_provisioned_instances_are_warm_and_never_reclaimed(tmp_path):
    r = sim.run(fn_scenario([1, 30], trace_dir=tmp_path, min_instances=1, keep_alive="5s"), seed=1)
    assert [s for _a, s, _st in latencies(r)] == [1.0, 1.0]
    f = r.summary["functions"]["f"]
    assert f["cold_starts"] == 0
    assert f["instances_mean"] == pytest.approx(1.0)   # one instance the whole run


def test_instance_seconds_and_billing_add_up(tmp_path):
    """One cold request at 1 s (1 s start, 1 s work), keep-alive 10 s: the
    instance lives 1 .. 13 s (12 s), busy 1 .. 3 s (2 s); Lambda bills the
    init and the run: 2 s x 1 GB."""
    r = sim.run(fn_scenario([1], trace_dir=tmp_path, duration=30.0), seed=1)
    f = r.summary["functions"]["f"]
    assert f["instances_mean"] * 30.0 == pytest.approx(12.0)
    assert f["busy_instances_mean"] * 30.0 == pytest.approx(2.0)
    assert f["idle_instance_seconds"] == pytest.approx(10.0)
    assert f["billed_gb_seconds"] == pytest.approx(2.0)
    assert r.summary["pod_seconds"] == 0.0   # no pods


def test_cloud_run_concurrency_shares_a_starting_instance(tmp_path):
    """Concurrency 2: requests at 1 and 1.5 s share the one instance starting
    at 1 s; both start at 2 s and share its one core in Go's 10 ms slices:
    the first is done at 2.99 s, the second at 3.0 s."""
    r = sim.run(fn_scenario([1, 1.5], trace_dir=tmp_path, concurrency=2, work="500ms"), seed=1)
    f = r.summary["functions"]["f"]
    assert f["cold_starts"] == 1 and f["instances_max"] == 1
    ended = [a + s for a, s, _st in latencies(r)]
    assert ended == pytest.approx([2.99, 3.0])


def test_low_rate_poisson_cold_start_probability_is_exp_minus_lambda_t(tmp_path):
    """A request is cold iff the last one ended more than T before (one
    instance suffices at low load): with Poisson arrivals at rate l and a
    service time s << T, P(cold) = P(gap > T + s) ~ exp(-l (T + s))."""
    lam, keep_s, work_s = 0.05, 20.0, 0.1
    spec = fn_scenario([], keep_alive=f"{keep_s}s", cold="0s", work=f"{work_s}s", duration=40_000.0)
    spec["workload"]["calls"]["arrivals"] = {"rate": lam}
    f = sim.run(spec, seed=4, record="summary").summary["functions"]["f"]
    n, p = f["invocations"], math.exp(-lam * (keep_s + work_s))
    assert abs(f["cold_starts"] - n * p) <= 4 * math.sqrt(n * p * (1 - p))
