"""The estimate before a run (:mod:`sim.estimate`) against what runs produce.

Requests: the arrival rate integrated over the duration is the mean of a
Poisson count, so a run's ``requests.total`` lies within a few standard
deviations (sqrt of the mean) of it; deterministic arrivals and a trace of
timestamps are counted exactly. Hops per request: one attempt per call, which
is what a run without retries, timeouts or failures makes (only requests
still in flight at the end have fewer). Memory available: read from fake
/proc and cgroup files.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest

import sim
from sim.estimate import (BYTES_PER_HOP, BYTES_PER_REQUEST, MEMORY_SAFETY, Estimate, available_memory_bytes,
                          cgroup_available_bytes, count, estimate, human_bytes, human_seconds,
                          meminfo_available_bytes)
from sim.spec import load

ROOT = Path(__file__).resolve().parents[1]
Z = 4.0
"""Standard deviations allowed between a Poisson count and its mean (a 6e-5 false alarm)."""


def _scenario(arrivals: dict, *, duration: float = 60.0, services: dict | None = None, **extra) -> dict:
    spec = {"name": "est", "duration": duration, "sample_interval": 5,
            "workload": {"load": {"target": "web", "arrivals": arrivals}},
            "services": services or {"web": {"replicas": 2, "pod": {"cpu": 4, "workers": 64, "work": "1ms"}}}}
    spec.update(extra)
    return spec


def _poisson_close(actual: float, mean: float) -> bool:
    return abs(actual - mean) <= Z * math.sqrt(mean)


# ----------------------------------------------------------------------------- requests


@pytest.mark.parametrize("arrivals, mean", [
    ({"rate": 200}, 200 * 60),
    ({"profile": [{"at": 0, "rate": 100}, {"at": 20, "rate": 300}, {"at": 40, "rate": 50}]},
     100 * 20 + 300 * 20 + 50 * 20),
    ({"profile": [{"at": 0, "rate": 0}, {"at": 30, "rate": 400}], "linear": True},  # ramp, then holds
     400 * 30 / 2 + 400 * 30),
    ({"rate": 100, "scale": 2.5}, 250 * 60),
])
def test_requests_are_the_rate_integrated_within_poisson_noise(arrivals, mean):
    spec = load(_scenario(arrivals))
    expected = estimate(spec).requests
    assert expected == pytest.approx(mean)
    actual = sim.run(spec, seed=3).summary["requests"]["total"]
    assert _poisson_close(actual, expected), (actual, expected)


def test_deterministic_arrivals_are_counted_exactly():
    spec = load(_scenario({"rate": 37, "process": "deterministic"}, duration=10.5))
    assert estimate(spec).requests == sim.run(spec).summary["requests"]["total"] == 388


def test_a_trace_of_timestamps_is_counted(tmp_path):
    trace = tmp_path / "stamps.csv"
    trace.write_text("t\n" + "\n".join(str(0.01 * k) for k in range(3000)))   # 0 .. 29.99 s
    spec = load(_scenario({"trace": str(trace)}, duration=20))
    assert estimate(spec).requests == 2000 == sim.run(spec).summary["requests"]["total"]


def test_a_trace_of_rates_is_integrated(tmp_path):
    trace = tmp_path / "rates.csv"
    trace.write_text("t,rate\n0,100\n10,300\n")
    spec = load(_scenario({"trace": str(trace)}, duration=30))
    expected = estimate(spec).requests
    assert expected == pytest.approx(100 * 10 + 300 * 20)
    assert _poisson_close(sim.run(spec, seed=1).summary["requests"]["total"], expected)


def test_a_closed_loop_is_an_upper_bound_and_says_so():
    spec = load({"name": "closed", "duration": 120, "sample_interval": 5,
                 "workload": {"people": {"target": "web", "users": 20,
                                         "think_time": {"dist": "exponential", "mean": "1s"}}},
                 "services": {"web": {"replicas": 1, "pod": {"cpu": 2, "workers": 8, "work": "50ms"}}}})
    guess = estimate(spec)
    actual = sim.run(spec, seed=2).summary["requests"]["total"]
    assert guess.requests_bound and "at most" in str(guess) and "<=" in guess.one_line()
    assert guess.requests == pytest.approx(20 * 120 / 1.05)
    # a bound on the mean count (each user's cycle is at least think + service), not a wild one
    assert 0.5 * guess.requests <= actual <= guess.requests + Z * math.sqrt(guess.requests)


# ----------------------------------------------------------------------------- hops


FAN_OUT = {
    "front": {"replicas": 2, "pod": {"cpu": 4, "workers": 64, "work": "1ms"},
              "calls": [{"to": "auth"},
                        {"parallel": [{"to": "a"}, {"to": "b"}, {"to": "c", "on_failure": "ignore"}]},
                        {"to": "a"}]},
    "auth": {"replicas": 2, "pod": {"cpu": 4, "workers": 64, "work": "1ms"}, "calls": [{"to": "db"}]},
    "a": {"replicas": 2, "pod": {"cpu": 4, "workers": 64, "work": "1ms"}, "calls": [{"to": "db"}]},
    "b": {"replicas": 2, "pod": {"cpu": 4, "workers": 64, "work": "1ms"}},
    "c": {"replicas": 2, "pod": {"cpu": 4, "workers": 64, "work": "1ms"}},
    "db": {"replicas": 2, "pod": {"cpu": 4, "workers": 64, "work": "1ms"}},
}
"""front, auth -> db, then a -> db, b and c at once, then a -> db again: 1 + 2 + 4 + 2 = 9 hops."""


def test_hops_per_request_follow_the_call_graph_as_a_run_without_retries_does():
    spec = load({**_scenario({"rate": 100}, duration=60, services=FAN_OUT),
                 "workload": {"load": {"target": "front", "arrivals": {"rate": 100}}}})
    guess = estimate(spec)
    assert guess.hops_per_request == 9 and not guess.retries
    assert "retries" not in str(guess)
    summary = sim.run(spec, seed=4).summary
    assert summary["requests"]["failed"] == 0
    # requests still in flight at the end made fewer attempts: a handful in 6,000
    assert summary["hops_per_request"] == pytest.approx(guess.hops_per_request, rel=2e-3)


def test_two_workloads_weight_their_hops_by_their_requests():
    spec = load({**_scenario({"rate": 1}, services=FAN_OUT),
                 "workload": {"deep": {"target": "front", "arrivals": {"rate": 100}},
                              "shallow": {"target": "b", "arrivals": {"rate": 300}}}})
    guess = estimate(spec)
    assert guess.requests == pytest.approx(400 * 60)
    assert guess.hops_per_request == pytest.approx((100 * 9 + 300 * 1) / 400)


def test_retries_are_mentioned_as_adding_more():
    spec = load(ROOT / "models" / "reference.yaml")
    guess = estimate(spec)
    assert guess.hops_per_request == 5 and guess.retries
    assert "retries and hedges can add more" in str(guess)


# ----------------------------------------------------------------------------- memory and levels


def test_memory_is_linear_in_requests_and_hops_and_the_guard_keeps_a_margin():
    spec = load(_scenario({"rate": 1000}, duration=3600))
    need = 3.6e6 * (BYTES_PER_REQUEST + BYTES_PER_HOP)
    assert estimate(spec, available_bytes=10**12).full_memory_bytes == pytest.approx(need)
    assert not estimate(spec, available_bytes=int(need / MEMORY_SAFETY) + 1).too_big
    assert estimate(spec, available_bytes=int(need / MEMORY_SAFETY) - 1).too_big
    assert not estimate(spec, record="summary", available_bytes=1).too_big      # bounded
    assert estimate(spec, record="sample:10", available_bytes=1).too_big        # its share is rows too
    assert not estimate(spec, record="sample:100", available_bytes=1).too_big   # 11 MB: never refused
    assert estimate(spec, record="sample:10").memory_bytes == pytest.approx(need / 10)
    assert "bounded with record: summary" in str(estimate(spec, record="summary"))


def test_a_small_run_is_never_refused():
    spec = load(_scenario({"rate": 10}))
    assert not estimate(spec, available_bytes=0).too_big   # an odd reading must not stop small runs


def test_the_scenarios_level_is_used_unless_overridden():
    spec = load(_scenario({"rate": 1}, record="summary"))
    assert estimate(spec).level == "summary" and estimate(spec, record="full").level == "full"


def test_the_huge_scenario_of_the_issue():
    spec = load(_scenario({"rate": 1e7}, duration=3600))
    guess = estimate(spec, available_bytes=8 * 10**9)
    assert guess.requests == pytest.approx(3.6e10) and guess.too_big
    text = guess.refusal()
    assert "3.6e10 requests" in text and "8 GB available" in text and "record: summary" in text
    assert "--record summary" in text and "days" in text   # even bounded, it would take days


# ----------------------------------------------------------------------------- memory available


def test_meminfo(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text("MemTotal:       32000000 kB\nMemFree:  100 kB\nMemAvailable:   24000000 kB\n")
    assert meminfo_available_bytes(str(path)) == 24000000 * 1024
    assert meminfo_available_bytes(str(tmp_path / "absent")) is None


@pytest.mark.parametrize("files, expected", [
    ({"memory.max": "max\n", "memory.current": "1000\n"}, None),                       # v2, no limit
    ({"memory.max": "8000000000\n", "memory.current": "3000000000\n"}, 5_000_000_000),  # v2
    ({"memory/memory.limit_in_bytes": "9223372036854771712\n",
      "memory/memory.usage_in_bytes": "5\n"}, None),                                    # v1, no limit
    ({"memory/memory.limit_in_bytes": "4000000000\n",
      "memory/memory.usage_in_bytes": "1000000000\n"}, 3_000_000_000),                  # v1
    ({"memory.max": "8000000000\n", "memory.current": "3000000000\n",
      "memory.stat": "anon 1000000000\ninactive_file 1500000000\n"}, 6_500_000_000),  # v2, page cache
    ({"memory/memory.limit_in_bytes": "4000000000\n", "memory/memory.usage_in_bytes": "3000000000\n",
      "memory/memory.stat": "inactive_file 1\ntotal_inactive_file 2500000000\n"}, 3_500_000_000),  # v1
    ({}, None),                                                                         # no cgroup
])
def test_cgroup_limits(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_available_bytes(str(tmp_path)) == expected


def test_available_is_the_smallest_known(monkeypatch):
    monkeypatch.setattr("sim.estimate.meminfo_available_bytes", lambda: 20 * 10**9)
    monkeypatch.setattr("sim.estimate.cgroup_available_bytes", lambda: 3 * 10**9)
    monkeypatch.setattr("sim.estimate.rlimit_available_bytes", lambda: None)
    assert available_memory_bytes() == 3 * 10**9
    monkeypatch.setattr("sim.estimate.cgroup_available_bytes", lambda: None)
    monkeypatch.setattr("sim.estimate.meminfo_available_bytes", lambda: None)
    assert available_memory_bytes() is None
    guess = Estimate(60, 1e9, False, 1, False, "full", 100, None)
    assert not guess.too_big and "unknown available" in str(guess)   # unknown: never refused


def test_this_machine_reports_some_memory():
    assert available_memory_bytes() > 0


# ----------------------------------------------------------------------------- human units


@pytest.mark.parametrize("n, text", [(12, "12"), (340_000.4, "340,000"), (3.6e10, "3.6e10"), (1e6, "1e6"),
                                     (1.62e6, "1.6e6"), (float("inf"), "inf")])
def test_counts(n, text):
    assert count(n) == text


@pytest.mark.parametrize("n, text", [(1.2e9, "1.2 GB"), (292e6, "292 MB"), (1.15e13, "12 TB"), (512, "512 bytes"),
                                     (None, "unknown")])
def test_bytes(n, text):
    assert human_bytes(n) == text


@pytest.mark.parametrize("s, text", [(0.5, "0.5 s"), (25, "25 s"), (90, "1.5 min"), (7200, "2 h"),
                                     (5 * 86400, "5 days"), (36 * 3600, "36 h")])
def test_durations(s, text):
    assert human_seconds(s) == text
