"""Faults on I/O (issue 12): a ``slowdown`` stretches the CPU work, the ``io``
time or both (``applies_to``), and a ``latency`` fault delays the legs it
names (``legs``).

Every scenario: workload ``c`` replays a trace of arrival times into service
``a`` (one core, enough workers: no request waits), constant work 10 ms then
constant io 20 ms, no network latency, and the fault on ``[2 s, 4 s)``. The
factor of a slowdown is fixed when a step starts, so a request arriving at
1.995 s computes before the fault and does its io (from 2.005 s) inside it;
one arriving at 3.995 s computes inside it and does its io after it. A
latency fault delays a leg that departs while it lasts.
"""
from __future__ import annotations

import numpy as np
import pytest

import sim

TOL = 1e-9
AT, UNTIL = 2.0, 4.0
WORK, IO = 0.010, 0.020
# arrivals: before; CPU before, io inside; inside; CPU inside, io after; after
TIMES = (1.0, 1.995, 2.5, 3.995, 5.0)


def scenario(tmp_path, faults, times=TIMES, *, replicas=1, io="20ms") -> dict:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("".join(f"{t!r}\n" for t in times))
    return {"name": "fault-io", "duration": 8.0, "sample_interval": 1.0,
            "workload": {"c": {"target": "a", "arrivals": {"trace": str(trace)}}},
            "services": {"a": {"replicas": replicas,
                               "pod": {"cpu": 1, "workers": 8, "queue": None, "work": "10ms",
                                       "io": io}}},
            "faults": faults}


def run(tmp_path, faults, times=TIMES, **kw):
    return sim.run(scenario(tmp_path, faults, times, **kw), seed=1)


def slowdown(**extra) -> dict:
    return {"kind": "slowdown", "service": "a", "at": AT, "for": UNTIL - AT, "factor": 3, **extra}


def service_times(result) -> dict:
    """arrival time -> time from taking a worker to finishing (CPU + io)."""
    calls = result.calls
    assert (calls["status"] == "ok").all()
    return dict(zip(calls["arrived_s"].round(9), calls["done_s"] - calls["started_s"]))


def check(result, expected: dict) -> None:
    took = service_times(result)
    assert sorted(took) == sorted(expected)
    for t, want in expected.items():
        assert took[t] == pytest.approx(want, abs=TOL), f"arrival at {t}"


# -------------------------------------------------------------------- slowdown
@pytest.mark.parametrize("applies_to, expected", [
    # cpu: only the 10 ms of CPU x3 (today's behaviour)
    ("cpu", {1.0: WORK + IO, 1.995: WORK + IO, 2.5: 3 * WORK + IO, 3.995: 3 * WORK + IO,
             5.0: WORK + IO}),
    # io: only the 20 ms of io x3; it counts when the io step starts
    ("io", {1.0: WORK + IO, 1.995: WORK + 3 * IO, 2.5: WORK + 3 * IO, 3.995: WORK + IO,
            5.0: WORK + IO}),
    # both: each step with the factor in force when it starts
    ("both", {1.0: WORK + IO, 1.995: WORK + 3 * IO, 2.5: 3 * WORK + 3 * IO, 3.995: 3 * WORK + IO,
              5.0: WORK + IO}),
])
def test_slowdown_stretches_the_steps_it_applies_to(tmp_path, applies_to, expected):
    check(run(tmp_path, [slowdown(applies_to=applies_to)]), expected)


def test_the_default_is_both_and_the_event_says_so_only_when_not(tmp_path):
    default = run(tmp_path, [slowdown()])
    assert sim.load(scenario(tmp_path, [slowdown()])).faults[0].applies_to == "both"
    assert service_times(default) == service_times(run(tmp_path, [slowdown(applies_to="both")]))
    def started(result) -> list:
        return list(result.events.loc[result.events["kind"] == "fault_started", "detail"])
    assert started(default) == ["slowdown a for=2.0 factor=3.0"]  # as before applies_to existed
    assert started(run(tmp_path, [slowdown(applies_to="io")])) == [
        "slowdown a for=2.0 factor=3.0 applies_to=io"]


def test_a_service_without_io_is_slowed_the_same_by_cpu_and_both(tmp_path):
    """Results of a scenario whose slowdown hits a service with no ``io`` do
    not change with the new default."""
    cpu = run(tmp_path, [slowdown(applies_to="cpu")], io=0)
    assert service_times(cpu) == service_times(run(tmp_path, [slowdown()], io=0))
    assert service_times(cpu)[2.5] == pytest.approx(3 * WORK, abs=TOL)
    io_only = service_times(run(tmp_path, [slowdown(applies_to="io")], io=0))
    assert all(v == pytest.approx(WORK, abs=TOL) for v in io_only.values())


@pytest.mark.parametrize("applies_to, slowed", [
    ("cpu", 3 * WORK + IO), ("io", WORK + 3 * IO), ("both", 3 * WORK + 3 * IO)])
def test_a_gray_slowdown_hits_only_the_first_pods(tmp_path, applies_to, slowed):
    """Two pods, ``pods: 1``: requests served by a-0 inside the window are
    slowed, a-1's never are."""
    times = (1.0, 1.25, 2.2, 2.4, 2.6, 2.8, 5.0, 5.25)
    result = run(tmp_path, [slowdown(applies_to=applies_to, pods=1)], times, replicas=2)
    calls = result.calls
    took = (calls["done_s"] - calls["started_s"]).to_numpy()
    pod = calls["pod"].astype(str).to_numpy()
    inside = ((calls["started_s"] >= AT) & (calls["started_s"] < UNTIL)).to_numpy()
    assert (inside & (pod == "a-0")).sum() == 2 and (inside & (pod == "a-1")).sum() == 2
    assert np.allclose(took[inside & (pod == "a-0")], slowed, rtol=0, atol=TOL)
    assert np.allclose(took[~inside | (pod == "a-1")], WORK + IO, rtol=0, atol=TOL)


def test_an_unknown_applies_to_names_the_field(tmp_path):
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(scenario(tmp_path, [slowdown(applies_to="disk")]))
    (problem,) = info.value.problems
    assert problem.path == "faults.0.applies_to"
    assert str(problem) == "faults.0.applies_to: must be one of 'cpu', 'io' or 'both' (got 'disk')"


# --------------------------------------------------------------------- latency
def latency(add="30ms", at=AT, until=UNTIL, **extra) -> dict:
    return {"kind": "latency", "from": "c", "to": "a", "at": at, "for": until - at, "add": add,
            **extra}


def legs(result) -> dict:
    """send time -> (request leg, response leg) delays."""
    calls = result.calls
    assert (calls["status"] == "ok").all()
    request = calls["arrived_s"] - calls["sent_s"]
    response = calls["ended_s"] - calls["done_s"]
    return {round(s, 9): (q, r) for s, q, r in zip(calls["sent_s"], request, response)}


def check_legs(result, expected: dict) -> None:
    found = legs(result)
    assert sorted(found) == sorted(expected)
    for t, (request, response) in expected.items():
        assert found[t] == pytest.approx((request, response), abs=TOL), f"sent at {t}"


D = 0.030
# sent at: 1.995 (request before, response at 2.005 inside), 2.5 (both inside),
# 3.995 (request inside, response at 4.035 after)
@pytest.mark.parametrize("which, expected", [
    ("both", {1.0: (0, 0), 1.995: (0, D), 2.5: (D, D), 3.995: (D, 0), 5.0: (0, 0)}),
    ("request", {1.0: (0, 0), 1.995: (0, 0), 2.5: (D, 0), 3.995: (D, 0), 5.0: (0, 0)}),
    ("response", {1.0: (0, 0), 1.995: (0, D), 2.5: (0, D), 3.995: (0, 0), 5.0: (0, 0)}),
])
def test_latency_delays_the_legs_it_names_when_they_depart(tmp_path, which, expected):
    check_legs(run(tmp_path, [latency(legs=which)], io=0), expected)


def test_latency_legs_default_to_both_each_drawn_afresh(tmp_path):
    """Without ``legs`` both legs are delayed (as before the key existed), each
    with its own draw of ``add``."""
    assert sim.load(scenario(tmp_path, [latency()])).faults[0].legs == "both"
    check_legs(run(tmp_path, [latency()], io=0),
               {1.0: (0, 0), 1.995: (0, D), 2.5: (D, D), 3.995: (D, 0), 5.0: (0, 0)})
    times = tuple(2.0 + 0.1 * k + 0.05 for k in range(15))  # both legs well inside
    found = legs(run(tmp_path, [latency({"dist": "exponential", "mean": "30ms"})], times, io=0))
    request, response = np.array(list(found.values())).T
    assert (request > 0).all() and (response > 0).all()
    assert not np.allclose(request, response)


def test_overlapping_latency_faults_on_one_edge(tmp_path):
    """A request-leg fault on [2, 4) (30 ms) and a response-leg fault on [3, 6)
    (50 ms) combine; on one leg, the latest fault started applies and the
    earlier one again once it ends."""
    combined = run(tmp_path, [latency(legs="request"), latency("50ms", 3.0, 6.0, legs="response")],
                   (1.0, 2.5, 3.5, 5.0, 7.0), io=0)
    check_legs(combined, {1.0: (0, 0), 2.5: (D, 0), 3.5: (D, 0.05), 5.0: (0, 0.05), 7.0: (0, 0)})
    stacked = run(tmp_path, [latency(until=6.0), latency("50ms", 3.0, 4.0)],
                  (1.0, 2.5, 3.5, 5.0, 7.0), io=0)
    check_legs(stacked, {1.0: (0, 0), 2.5: (D, D), 3.5: (0.05, 0.05), 5.0: (D, D), 7.0: (0, 0)})


def test_an_unknown_legs_names_the_field(tmp_path):
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(scenario(tmp_path, [latency(legs="round_trip")]))
    (problem,) = info.value.problems
    assert str(problem) == ("faults.0.legs: must be one of 'both', 'request' or 'response' "
                            "(got 'round_trip')")
