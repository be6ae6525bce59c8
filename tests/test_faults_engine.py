"""Fault injection through the engine: each kind acts on ``[at, at + for)`` and
not outside it, and is recorded as ``fault_started`` / ``fault_ended`` events.

Every scenario: one service ``a`` behind a client ``c``, Poisson arrivals (so
no arrival coincides with a fault boundary), constant work, no network
latency unless stated, and a fault on ``[2 s, 4 s)`` of an 8 s run. Which
window an attempt falls in is decided by the instant the fault acts on it:
arrival at the pod for errors and outages, the start of its CPU step for a
slowdown (the multiplier is fixed when the work starts), the send (and the
reply) for network latency.
"""
from __future__ import annotations

import numpy as np
import pytest

import sim

TOL = 1e-9
AT, UNTIL = 2.0, 4.0


def run(fault: dict, *, work="10ms", client=None, rate=50.0, replicas=1, cpu=64, workers=64,
        seed=1):
    pod = {"cpu": cpu, "workers": workers, "queue": None, "work": work}
    workload = {"target": "a", "arrivals": {"rate": rate}}
    if client:
        workload["client"] = client
    spec = {"name": "faults", "duration": 8.0, "sample_interval": 1.0,
            "workload": {"c": workload},
            "services": {"a": {"replicas": replicas, "pod": pod}},
            "faults": [{"service": "a", "at": AT, **fault}] if "from" not in fault
            else [{"at": AT, **fault}]}
    return sim.run(spec, seed=seed)


def inside(t) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    return (t >= AT) & (t < UNTIL)


def check_events(result, kind: str, ends: bool = True) -> None:
    ev = result.events
    started = ev[ev["kind"] == "fault_started"]
    ended = ev[ev["kind"] == "fault_ended"]
    assert list(started["t_s"]) == [AT]
    assert list(started["service"].astype(str)) == ["a"]
    assert str(started["detail"].iloc[0]).startswith(kind)
    if ends:
        assert list(ended["t_s"]) == [UNTIL]
        assert list(ended["service"].astype(str)) == ["a"]
    else:
        assert ended.empty


def finished_calls(result):
    calls = result.calls
    return calls[calls["status"] != "unfinished"]


def test_slowdown_multiplies_work_started_in_the_window():
    result = run({"kind": "slowdown", "factor": 5, "for": UNTIL - AT})
    check_events(result, "slowdown")
    calls = finished_calls(result)
    in_window = inside(calls["started_s"])
    took = (calls["done_s"] - calls["started_s"]).to_numpy()
    assert in_window.sum() > 50 and (~in_window).sum() > 150
    assert np.allclose(took[in_window], 0.05, rtol=0, atol=TOL)
    assert np.allclose(took[~in_window], 0.01, rtol=0, atol=TOL)
    assert (calls["status"] == "ok").all()


@pytest.mark.parametrize("kind, extra, reason", [
    ("errors", {"probability": 1.0}, "fault_error"),
    ("outage", {"mode": "fail"}, "fault_outage"),
])
def test_errors_and_outage_fail_fast_only_in_the_window(kind, extra, reason):
    result = run({"kind": kind, "for": UNTIL - AT, **extra})
    check_events(result, kind)
    calls = finished_calls(result)
    hit = inside(calls["arrived_s"])
    assert hit.sum() > 50 and (~hit).sum() > 150
    failed = calls[hit]
    assert (failed["status"] == "error").all() and (failed["reason"] == reason).all()
    assert (failed["ended_s"] == failed["arrived_s"]).all()  # fail fast
    assert failed["started_s"].isna().all()  # never took a worker
    assert (calls[~hit]["status"] == "ok").all()


def test_errors_with_a_probability_hit_that_share_of_arrivals():
    """probability 0.3 over ~100 arrivals in the window: the failed share is
    within 4 binomial standard errors of 0.3; none fail outside."""
    result = run({"kind": "errors", "for": UNTIL - AT, "probability": 0.3}, rate=200.0)
    calls = finished_calls(result)
    hit = inside(calls["arrived_s"])
    share = (calls[hit]["status"] == "error").mean()
    n = hit.sum()
    assert abs(share - 0.3) <= 4 * np.sqrt(0.3 * 0.7 / n)
    assert (calls[~hit]["status"] == "ok").all()


def test_outage_hang_accepts_and_never_answers_in_the_window():
    """mode hang: an attempt arriving in the window is accepted and never
    answered; the caller's 500 ms timeout ends it. Outside, all is served."""
    result = run({"kind": "outage", "mode": "hang", "for": UNTIL - AT},
                 client={"timeout": "500ms"})
    check_events(result, "outage")
    calls = result.calls
    hit = inside(calls["arrived_s"])
    hung = calls[hit]
    assert len(hung) > 50
    assert (hung["status"] == "timeout").all()
    assert hung["started_s"].isna().all() and hung["done_s"].isna().all()
    assert np.allclose(hung["ended_s"] - hung["sent_s"], 0.5, rtol=0, atol=TOL)
    assert (hung["pod"].astype(str) == "a-0").all()
    assert (calls[~hit & (calls["sent_s"] < 7.5)]["status"] == "ok").all()


def test_crash_kills_in_flight_work_at_its_instant():
    """crash at 2 s (no duration): the pod's in-flight attempts end at 2 s with
    error / pod_killed; the container restarts (event ``pod_restarted``) and
    serves again. There is no ``fault_ended``."""
    result = run({"kind": "crash", "pods": 1}, work="300ms", rate=20.0)
    check_events(result, "crash", ends=False)
    ev = result.events
    restarted = ev[ev["kind"] == "pod_restarted"]
    assert list(restarted["t_s"]) == [AT]
    calls = result.calls
    killed = calls[calls["reason"] == "pod_killed"]
    running = calls[(calls["started_s"] < AT) & (calls["started_s"] > AT - 0.3)]
    assert len(killed) > 0
    assert sorted(killed["request_id"]) == sorted(running["request_id"])
    assert (killed["status"] == "error").all()
    assert (killed["done_s"] == AT).all() and (killed["ended_s"] == AT).all()
    others = calls[(calls["reason"] != "pod_killed") & (calls["status"] != "unfinished")]
    assert (others["status"] == "ok").all()
    assert (others["done_s"] - others["started_s"] > 0.3 - TOL).all()


def test_capacity_drop_slows_cpu_only_in_the_window():
    """One worker, 10 ms of CPU, cpu 1 -> 0.25 on [2, 4): work proceeds at rate 1
    outside and 0.25 inside, so time outside + 0.25 x time inside = 10 ms for
    every request, whichever boundary it straddles."""
    result = run({"kind": "capacity", "cpu": "250m", "for": UNTIL - AT}, rate=10.0,
                 cpu=1, workers=1)
    check_events(result, "capacity")
    calls = finished_calls(result)
    start, done = calls["started_s"].to_numpy(), calls["done_s"].to_numpy()
    overlap = np.clip(np.minimum(done, UNTIL) - np.maximum(start, AT), 0, None)
    work = (done - start - overlap) + 0.25 * overlap
    assert np.allclose(work, 0.01, rtol=0, atol=1e-9)
    full = (start >= AT) & (done <= UNTIL)
    assert full.sum() > 10
    assert np.allclose((done - start)[full], 0.04, rtol=0, atol=TOL)


def test_latency_fault_adds_delay_on_the_hop_only_in_the_window():
    """+100 ms one way on c -> a during [2, 4): an attempt sent in the window
    arrives 100 ms later; a reply sent in the window takes 100 ms back."""
    result = run({"kind": "latency", "from": "c", "to": "a", "add": "100ms",
                  "for": UNTIL - AT})
    check_events(result, "latency")
    calls = finished_calls(result)
    sent_in = inside(calls["sent_s"])
    there = (calls["arrived_s"] - calls["sent_s"]).to_numpy()
    back = (calls["ended_s"] - calls["done_s"]).to_numpy()
    assert sent_in.sum() > 50
    assert np.allclose(there[sent_in], 0.1, rtol=0, atol=TOL)
    assert np.allclose(there[~sent_in], 0.0, rtol=0, atol=TOL)
    replied_in = inside(calls["done_s"])
    assert np.allclose(back[replied_in], 0.1, rtol=0, atol=TOL)
    assert np.allclose(back[~replied_in], 0.0, rtol=0, atol=TOL)
