"""Exact logs of small deterministic scenarios.

Arrivals are deterministic (the k-th arrival at ``Lambda^{-1}(k)``, so at a
constant rate R: 1/R, 2/R, ...), work and network latency are constants, so
every timestamp can be derived by hand; each test states its derivation. Rows
are compared field by field, times to 1e-9 s (NaN must match NaN). Row order
within a table is an implementation detail: calls are compared sorted by
(request, send time, service).

Scenarios avoid ties (two events at the same instant) whose order the
semantics leave open, and end the run between events (SimPy stops before
events at ``duration`` itself).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim

NAN = math.nan
TOL = 1e-9
CALL_FIELDS = ("request_id", "caller", "service", "attempt", "pod", "sent_s", "arrived_s",
               "started_s", "done_s", "ended_s", "status", "reason")
REQUEST_FIELDS = ("request_id", "workload", "arrival_s", "end_s", "status", "latency_s")


# ----------------------------------------------------------------------------- helpers
def base(duration: float, services: dict, *, arrivals=None, users=None, think=None,
         latency=None, target: str = "a") -> dict:
    workload = {"target": target}
    if users is not None:
        workload.update(users=users, think_time=think)
    else:
        workload["arrivals"] = arrivals
    spec = {"name": "exact", "duration": duration, "sample_interval": 1.0,
            "workload": {"clients": workload}, "services": services}
    if latency is not None:
        spec["network"] = {"latency": latency}
    return spec


def pod(work, *, workers=1, cpu=1, queue=None, **extra) -> dict:
    return {"cpu": cpu, "workers": workers, "queue": queue, "work": work, **extra}


def rate(r: float) -> dict:
    return {"rate": r, "process": "deterministic"}


def between(start: float, stop: float, r: float) -> dict:
    """Deterministic arrivals at rate r on [start, stop), none elsewhere."""
    return {"profile": [{"at": 0, "rate": 0}, {"at": start, "rate": r}, {"at": stop, "rate": 0}],
            "process": "deterministic"}


def _plain(value):
    """Python scalars: numpy numbers become int/float, pandas' missing values None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _same(a, b) -> bool:
    if b is None:
        return a is None
    if isinstance(b, float):
        if math.isnan(b):
            return isinstance(a, float) and math.isnan(a)
        return isinstance(a, (int, float)) and abs(a - b) <= TOL
    if isinstance(b, int) and isinstance(a, float):
        return abs(a - b) <= TOL
    return a == b


def table_rows(frame: pd.DataFrame, fields, sort=None) -> list[tuple]:
    if sort:
        frame = frame.sort_values(list(sort), kind="stable")
    return [tuple(_plain(v) for v in record)
            for record in frame[list(fields)].astype(object).itertuples(index=False)]


def assert_rows(actual: list[tuple], expected: list[tuple], fields) -> None:
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}:\n" + \
        "\n".join(map(str, actual))
    for i, (got, want) in enumerate(zip(actual, expected)):
        for name, a, b in zip(fields, got, want):
            assert _same(a, b), f"row {i} field {name}: got {a!r}, expected {b!r}\nrow: {got}"


def calls_of(result) -> list[tuple]:
    frame = result.calls.copy()
    frame["pod"] = frame["pod"].astype(object).where(frame["pod"].notna(), None)
    for col in ("caller", "service", "status", "reason"):
        frame[col] = frame[col].astype(str)
    return table_rows(frame, CALL_FIELDS, sort=("request_id", "sent_s", "service"))


def requests_of(result) -> list[tuple]:
    frame = result.requests.copy()
    for col in ("workload", "status"):
        frame[col] = frame[col].astype(str)
    return table_rows(frame, REQUEST_FIELDS, sort=("request_id",))


def call(rid, caller, service, pod_name, sent, arrived, started, done, ended, status="ok",
         reason="", attempt=1):
    return (rid, caller, service, attempt, pod_name, sent, arrived, started, done, ended, status, reason)


def req(rid, arrival, end, status="ok"):
    latency = end - arrival if not math.isnan(end) else NAN
    return (rid, "clients", arrival, end, status, latency)


def events_of(result) -> list[tuple]:
    ev = result.events
    return [(float(t), str(s), None if pd.isna(p) else str(p), str(k), d)
            for t, s, p, k, d in ev[["t_s", "service", "pod", "kind", "detail"]].itertuples(index=False)]


def ready_events(service: str, pod_name: str, created: float, ready: float) -> list[tuple]:
    """A pod's lifecycle without a cluster or probes: created, scheduled (no
    node named), its first container started, and Ready at once (no readiness
    probe: Kubernetes counts a running container as Ready)."""
    return [(created, service, pod_name, "pod_created", pod_name),
            (created, service, pod_name, "pod_scheduled", ""),
            (created, service, pod_name, "pod_started", "container 1"),
            (ready, service, pod_name, "pod_ready", "")]


def run(spec: dict):
    return sim.run(spec, seed=1)


# ----------------------------------------------------------------------------- worker pool
def test_fifo_queue_with_one_worker():
    """Arrivals at 1, 2, ..., 6; 1 worker; work 2.25 s; run ends at 6.5.

    r0: starts 1, done 3.25. r1 (t=2) and r2 (t=3) wait; at 3.25 the first
    in line, r1, starts (done 5.5); r3 (t=4) and r4 (t=5) join the queue; at
    5.5 r2 starts (it would be done at 7.75, after the end); r3, r4 and r5
    (t=6) are still queued when the run ends.
    """
    spec = base(6.5, {"a": {"pod": pod(2.25)}}, arrivals=rate(1))
    spec["sample_interval"] = 0.75  # samples at 0.75, 1.5, ... (not at arrival instants but 3, 6)
    result = run(spec)
    assert_rows(calls_of(result), [
        call(0, "clients", "a", "a-0", 1, 1, 1, 3.25, 3.25),
        call(1, "clients", "a", "a-0", 2, 2, 3.25, 5.5, 5.5),
        call(2, "clients", "a", "a-0", 3, 3, 5.5, NAN, NAN, "unfinished"),
        call(3, "clients", "a", "a-0", 4, 4, NAN, NAN, NAN, "unfinished"),
        call(4, "clients", "a", "a-0", 5, 5, NAN, NAN, NAN, "unfinished"),
        call(5, "clients", "a", "a-0", 6, 6, NAN, NAN, NAN, "unfinished"),
    ], CALL_FIELDS)
    assert_rows(requests_of(result), [req(0, 1, 3.25), req(1, 2, 5.5)] + [
        req(i, i + 1, NAN, "unfinished") for i in range(2, 6)], REQUEST_FIELDS)
    assert list(result.requests["attempts"][:2]) == [1, 1]
    assert events_of(result) == ready_events("a", "a-0", 0.0, 0.0)
    s = result.summary
    assert s["requests"] == {"total": 6, "ok": 2, "failed": 0, "timeout": 0, "rejected": 0,
                             "error": 0, "breaker_open": 0, "throttled": 0, "budget_exhausted": 0,
                             "unfinished": 4}
    assert s["latency_s"]["mean"] == pytest.approx((2.25 + 3.5) / 2)
    a = s["services"]["a"]
    # r1..r5 found the worker busy; the waits of those started: 0, 1.25, 2.5
    assert a["waited_ratio"] == pytest.approx(5 / 6)
    assert a["queue_wait_s"]["mean"] == pytest.approx(1.25)
    # the core is busy from 1 to 6.5: 5.5 core-seconds over 6.5 s of one core
    assert a["cpu_utilization"] == pytest.approx(5.5 / 6.5)
    # time series: levels at the samples that fall between events
    ts = result.timeseries.set_index("t_s")
    levels = {0.75: (0, 0), 1.5: (1, 0), 2.25: (2, 1), 3.75: (2, 1), 4.5: (3, 2), 5.25: (4, 3),
              6.5: (4, 3)}
    for t_s, (in_flight, queued) in levels.items():
        assert (ts.loc[t_s, "in_flight"], ts.loc[t_s, "queue_length"]) == (in_flight, queued), t_s


def test_rejection_when_the_queue_is_full():
    """``queue: 1``; arrivals at 1..5; work 2.5 s; run ends at 5.5.

    r0 runs 1 -> 3.5. r1 (t=2) takes the one queue slot. r2 (t=3) finds the
    queue full: rejected at once. At 3.5 r1 starts (done would be 6.0). r3
    (t=4) queues in the freed slot; r4 (t=5) is rejected.
    """
    result = run(base(5.5, {"a": {"pod": pod(2.5, queue=1)}}, arrivals=rate(1)))
    assert_rows(calls_of(result), [
        call(0, "clients", "a", "a-0", 1, 1, 1, 3.5, 3.5),
        call(1, "clients", "a", "a-0", 2, 2, 3.5, NAN, NAN, "unfinished"),
        call(2, "clients", "a", "a-0", 3, 3, NAN, NAN, 3, "rejected", "queue_full"),
        call(3, "clients", "a", "a-0", 4, 4, NAN, NAN, NAN, "unfinished"),
        call(4, "clients", "a", "a-0", 5, 5, NAN, NAN, 5, "rejected", "queue_full"),
    ], CALL_FIELDS)
    assert_rows(requests_of(result), [
        req(0, 1, 3.5), req(1, 2, NAN, "unfinished"), req(2, 3, 3, "rejected"),
        req(3, 4, NAN, "unfinished"), req(4, 5, 5, "rejected"),
    ], REQUEST_FIELDS)
    assert result.summary["requests"]["rejected"] == 2
    assert result.summary["requests"]["failed"] == 2


def test_processor_sharing_two_workers_one_core():
    """2 workers, 1 core, work 1 s; A arrives at 1.0, B at 1.5.

    A alone for 0.5 s: 0.5 done. Both then get half a core: A's remaining 0.5
    takes 1 s, so A is done at 2.5, when B has 0.5 done; B alone finishes its
    remaining 0.5 at 3.0. Nobody waits for a worker.
    """
    result = run(base(5, {"a": {"pod": pod(1.0, workers=2, scheduler="ps")}},
                      arrivals=between(0.5, 1.75, 2)))
    assert_rows(calls_of(result), [
        call(0, "clients", "a", "a-0", 1.0, 1.0, 1.0, 2.5, 2.5),
        call(1, "clients", "a", "a-0", 1.5, 1.5, 1.5, 3.0, 3.0),
    ], CALL_FIELDS)
    a = result.summary["services"]["a"]
    assert a["waited_ratio"] == 0.0
    # the core is busy from 1.0 to 3.0: 2 core-seconds (= the total work) in 5 s
    assert a["cpu_utilization"] == pytest.approx(2 / 5)


def test_processor_sharing_three_jobs_two_cores():
    """3 workers, 2 cores, work 1 s; arrivals at 1.0, 1.5, 2.0 (rate 2 on [0.5, 2.25)).

    1.0-1.5: A alone (full core): A has 0.5. 1.5-2.0: A, B each a full core
    (2 <= 2 cores): A done at 2.0 exactly, B has 0.5. C arrives at 2.0 as A
    leaves (no time passes between the two events, so their order does not
    matter): B and C each a full core: B done 2.5, C done 3.0.
    """
    result = run(base(5, {"a": {"pod": pod(1.0, workers=3, cpu=2, scheduler="ps")}},
                      arrivals=between(0.5, 2.25, 2)))
    assert_rows(calls_of(result), [
        call(0, "clients", "a", "a-0", 1.0, 1.0, 1.0, 2.0, 2.0),
        call(1, "clients", "a", "a-0", 1.5, 1.5, 1.5, 2.5, 2.5),
        call(2, "clients", "a", "a-0", 2.0, 2.0, 2.0, 3.0, 3.0),
    ], CALL_FIELDS)


def test_io_holds_a_worker_without_cpu():
    """work 0.5 s then io 1 s; arrivals at 1.0 and 1.5.

    One worker: A computes 1.0-1.5, does io 1.5-2.5 holding the worker; B
    (t=1.5) waits until 2.5, computes 2.5-3.0, io until 4.0.
    Two workers, one core: B starts at 1.5 and computes at full speed while A
    does io (io uses no CPU): B computes 1.5-2.0, io until 3.0.
    """
    one = run(base(5, {"a": {"pod": pod(0.5, io=1.0)}}, arrivals=between(0.5, 1.75, 2)))
    assert_rows(calls_of(one), [
        call(0, "clients", "a", "a-0", 1.0, 1.0, 1.0, 2.5, 2.5),
        call(1, "clients", "a", "a-0", 1.5, 1.5, 2.5, 4.0, 4.0),
    ], CALL_FIELDS)
    two = run(base(5, {"a": {"pod": pod(0.5, io=1.0, workers=2)}}, arrivals=between(0.5, 1.75, 2)))
    assert_rows(calls_of(two), [
        call(0, "clients", "a", "a-0", 1.0, 1.0, 1.0, 2.5, 2.5),
        call(1, "clients", "a", "a-0", 1.5, 1.5, 1.5, 3.0, 3.0),
    ], CALL_FIELDS)
    # CPU used is the work only: 1 core-second over 5 s
    assert two.summary["services"]["a"]["cpu_utilization"] == pytest.approx(1 / 5)


# ----------------------------------------------------------------------------- call graph
def test_sequential_chain_adds_latency_each_way():
    """clients -> a -> b, 10 ms one way on every hop; one arrival at t=1.

    Sent 1.00, at a 1.01, a computes 0.1 s to 1.11, calls b: sent 1.11, at b
    1.12, b computes 0.2 s to 1.32, the reply reaches a at 1.33, a is done at
    1.33, the reply reaches the client at 1.34.
    """
    services = {"a": {"pod": pod(0.1), "calls": [{"to": "b"}]}, "b": {"pod": pod(0.2)}}
    result = run(base(1.9, services, arrivals=rate(1), latency="10ms"))
    assert_rows(calls_of(result), [
        call(0, "clients", "a", "a-0", 1.0, 1.01, 1.01, 1.33, 1.34),
        call(0, "a", "b", "b-0", 1.11, 1.12, 1.12, 1.32, 1.33),
    ], CALL_FIELDS)
    assert_rows(requests_of(result), [req(0, 1.0, 1.34)], REQUEST_FIELDS)
    assert events_of(result) == ready_events("a", "a-0", 0.0, 0.0) + ready_events("b", "b-0", 0.0, 0.0)


def test_parallel_fan_out_waits_for_the_slowest():
    """a computes 0.1 s, then calls b (0.2 s) and c (0.5 s) at once; one arrival at 1.

    Both calls leave at 1.1; b is done at 1.3, c at 1.6; a resumes when the
    last one answers and, with nothing left to do, is done at 1.6.
    """
    services = {"a": {"pod": pod(0.1), "calls": [{"parallel": [{"to": "b"}, {"to": "c"}]}]},
                "b": {"pod": pod(0.2)}, "c": {"pod": pod(0.5)}}
    result = run(base(1.9, services, arrivals=rate(1)))
    assert_rows(calls_of(result), [
        call(0, "clients", "a", "a-0", 1.0, 1.0, 1.0, 1.6, 1.6),
        call(0, "a", "b", "b-0", 1.1, 1.1, 1.1, 1.3, 1.3),
        call(0, "a", "c", "c-0", 1.1, 1.1, 1.1, 1.6, 1.6),
    ], CALL_FIELDS)
    assert_rows(requests_of(result), [req(0, 1.0, 1.6)], REQUEST_FIELDS)


def test_fan_out_then_sequential_call():
    """One arrival at 2.0 (rate 1/2). a: work 0.1 (to 2.1), parallel(b 0.2, c 0.5)
    until the slowest answers at 2.6, then d (0.3): d is called at 2.6, after
    the slowest branch, and a is done at 2.9."""
    services = {"a": {"pod": pod(0.1), "calls": [{"parallel": [{"to": "b"}, {"to": "c"}]},
                                                 {"to": "d"}]},
                "b": {"pod": pod(0.2)}, "c": {"pod": pod(0.5)}, "d": {"pod": pod(0.3)}}
    result = run(base(3.5, services, arrivals=rate(1 / 2)))
    rows = calls_of(result)
    assert_rows(rows, [
        call(0, "clients", "a", "a-0", 2.0, 2.0, 2.0, 2.9, 2.9),
        call(0, "a", "b", "b-0", 2.1, 2.1, 2.1, 2.3, 2.3),
        call(0, "a", "c", "c-0", 2.1, 2.1, 2.1, 2.6, 2.6),
        call(0, "a", "d", "d-0", 2.6, 2.6, 2.6, 2.9, 2.9),
    ], CALL_FIELDS)


def test_downstream_failure_fails_the_caller_unless_ignored():
    """a (work 0.1) calls b, which has no pods: b rejects with ``no_endpoint`` at
    1.1. With the default ``on_failure: fail`` a ends at once with ``error``
    (reason ``downstream``); with ``ignore`` a carries on and succeeds."""
    def services(on_failure):
        call_spec = {"to": "b"} if on_failure is None else {"to": "b", "on_failure": on_failure}
        return {"a": {"pod": pod(0.1), "calls": [call_spec]},
                "b": {"replicas": 0, "pod": pod(0.2)}}

    failing = run(base(1.9, services(None), arrivals=rate(1)))
    assert_rows(calls_of(failing), [
        call(0, "clients", "a", "a-0", 1.0, 1.0, 1.0, 1.1, 1.1, "error", "downstream"),
        call(0, "a", "b", None, 1.1, 1.1, NAN, NAN, 1.1, "rejected", "no_endpoint"),
    ], CALL_FIELDS)
    assert_rows(requests_of(failing), [req(0, 1.0, 1.1, "error")], REQUEST_FIELDS)
    assert failing.summary["requests"]["error"] == 1

    ignoring = run(base(1.9, services("ignore"), arrivals=rate(1)))
    assert_rows(calls_of(ignoring), [
        call(0, "clients", "a", "a-0", 1.0, 1.0, 1.0, 1.1, 1.1),
        call(0, "a", "b", None, 1.1, 1.1, NAN, NAN, 1.1, "rejected", "no_endpoint"),
    ], CALL_FIELDS)
    assert_rows(requests_of(ignoring), [req(0, 1.0, 1.1)], REQUEST_FIELDS)
    # a service with no replicas has no pod events at all
    assert [e for e in events_of(ignoring) if e[1] == "b"] == []


# ----------------------------------------------------------------------------- endpoints
def test_no_ready_endpoint_rejects_with_no_endpoint():
    """The entry service has ``replicas: 0``: every request is rejected at once
    (Envoy's "no healthy upstream"), on the hop, with no pod."""
    result = run(base(3.5, {"a": {"replicas": 0, "pod": pod(0.1)}}, arrivals=rate(1)))
    assert_rows(calls_of(result), [
        call(i, "clients", "a", None, t, t, NAN, NAN, t, "rejected", "no_endpoint")
        for i, t in enumerate([1.0, 2.0, 3.0])
    ], CALL_FIELDS)
    assert_rows(requests_of(result), [req(i, t, t, "rejected") for i, t in enumerate([1.0, 2.0, 3.0])],
                REQUEST_FIELDS)
    assert result.events.empty
    assert result.summary["services"]["a"]["replicas"] == {"mean": 0.0, "min": 0, "max": 0, "final": 0}


def test_requests_before_the_app_listens_are_refused():
    """startup 2.5 s and no readiness probe: as in Kubernetes the container counts
    as Ready as soon as it runs (t=0), so the pod is an endpoint at once, but the
    app only listens from 2.5: arrivals at 1 and 2 are refused by the pod
    (``not_serving``); those at 3 and 4 are served (work 0.5 s)."""
    result = run(base(4.75, {"a": {"pod": pod(0.5, startup=2.5)}}, arrivals=rate(1)))
    assert_rows(calls_of(result), [
        call(0, "clients", "a", "a-0", 1, 1, NAN, NAN, 1, "rejected", "not_serving"),
        call(1, "clients", "a", "a-0", 2, 2, NAN, NAN, 2, "rejected", "not_serving"),
        call(2, "clients", "a", "a-0", 3, 3, 3, 3.5, 3.5),
        call(3, "clients", "a", "a-0", 4, 4, 4, 4.5, 4.5),
    ], CALL_FIELDS)
    assert events_of(result) == ready_events("a", "a-0", 0.0, 0.0)
    a = result.summary["services"]["a"]
    assert a["replicas"] == {"mean": 1.0, "min": 1, "max": 1, "final": 1}
    assert a["pod_seconds"] == pytest.approx(4.75)
    assert result.summary["requests"]["rejected"] == 2


def test_requests_before_the_pod_is_ready_find_no_endpoint():
    """startup 2.5 s with a readiness probe every second (from t=0, no initial
    delay): the probes at 0, 1 and 2 are refused, the one at 3 is answered
    after its 0.2 ms of CPU, so the pod is Ready at 3.0002. Arrivals at 1, 2
    and 3 find no Ready endpoint (``no_endpoint``, no pod); those at 4 and 5
    are served. Two workers and two cores: probes never delay requests."""
    service = {"pod": pod(0.5, startup=2.5, workers=2, cpu=2), "readinessProbe": {"periodSeconds": 1}}
    result = run(base(5.75, {"a": service}, arrivals=rate(1)))
    assert_rows(calls_of(result), [
        call(0, "clients", "a", None, 1, 1, NAN, NAN, 1, "rejected", "no_endpoint"),
        call(1, "clients", "a", None, 2, 2, NAN, NAN, 2, "rejected", "no_endpoint"),
        call(2, "clients", "a", None, 3, 3, NAN, NAN, 3, "rejected", "no_endpoint"),
        call(3, "clients", "a", "a-0", 4, 4, 4, 4.5, 4.5),
        call(4, "clients", "a", "a-0", 5, 5, 5, 5.5, 5.5),
    ], CALL_FIELDS)
    events = events_of(result)
    expected = ready_events("a", "a-0", 0.0, 3.0002)
    assert [e[1:] for e in events] == [e[1:] for e in expected]
    np.testing.assert_allclose([e[0] for e in events], [e[0] for e in expected], rtol=0, atol=TOL)


# ----------------------------------------------------------------------------- workloads
def test_closed_loop_users_with_constant_think_time():
    """2 users, think 1 s, work 0.3 s on 2 workers and 2 cores (no contention).

    Each user thinks first: both send at 1.0, are answered at 1.3, think until
    2.3, are answered at 2.6, send again at 3.6, answered at 3.9; the next
    sends would be at 4.9, after the end (4.5). Six requests, all ok.
    """
    result = run(base(4.5, {"a": {"pod": pod(0.3, workers=2, cpu=2)}}, users=2, think=1.0))
    expected = []
    for k, t in enumerate([1.0, 2.3, 3.6]):
        expected += [req(2 * k, t, t + 0.3), req(2 * k + 1, t, t + 0.3)]
    assert_rows(requests_of(result), expected, REQUEST_FIELDS)
    assert result.summary["requests"]["total"] == 6


def test_closed_loop_throughput_follows_the_response_time():
    """1 user, think 1 s, work 0.5 s: one request every 1.5 s (not every 1 s, as
    an open loop would send): arrivals at 1.0, 2.5, 4.0, 5.5; the last is still
    in service when the run ends at 5.75."""
    result = run(base(5.75, {"a": {"pod": pod(0.5)}}, users=1, think=1.0))
    assert_rows(requests_of(result), [req(0, 1.0, 1.5), req(1, 2.5, 3.0), req(2, 4.0, 4.5),
                                      req(3, 5.5, NAN, "unfinished")], REQUEST_FIELDS)


def test_deterministic_arrivals_follow_a_piecewise_profile():
    """Rate 1 on [0, 3.5), 4 on [3.5, 5), 0 after: Lambda(t) = t up to 3.5, then
    3.5 + 4 (t - 3.5) up to Lambda(5) = 9.5. The k-th arrival is at
    Lambda^{-1}(k): 1, 2, 3, then 3.5 + (k - 3.5) / 4 = 3.625, 3.875, 4.125,
    4.375, 4.625, 4.875; nothing after (the cumulative rate stops at 9.5)."""
    arrivals = {"profile": [{"at": 0, "rate": 1}, {"at": 3.5, "rate": 4}, {"at": 5, "rate": 0}],
                "process": "deterministic"}
    result = run(base(10, {"a": {"pod": pod(0.01, workers=4)}}, arrivals=arrivals))
    expected = [1, 2, 3, 3.625, 3.875, 4.125, 4.375, 4.625, 4.875]
    np.testing.assert_allclose(result.requests["arrival_s"], expected, rtol=0, atol=TOL)
    assert (result.requests["status"] == "ok").all()


def test_deterministic_arrivals_follow_a_linear_ramp():
    """``linear: true`` from rate 0 at t=0 to 2 at t=4, then 2: Lambda(t) = t^2 / 4
    up to 4, then 4 + 2 (t - 4). Arrivals at 2 sqrt(k) for k <= 4 (2, 2.83,
    3.46, 4), then 4 + (k - 4) / 2: 4.5, 5.0, 5.5 before the end at 5.7."""
    arrivals = {"profile": [{"at": 0, "rate": 0}, {"at": 4, "rate": 2}], "linear": True,
                "process": "deterministic"}
    result = run(base(5.7, {"a": {"pod": pod(0.01, workers=4)}}, arrivals=arrivals))
    expected = [2, 2 * math.sqrt(2), 2 * math.sqrt(3), 4, 4.5, 5.0, 5.5]
    np.testing.assert_allclose(result.requests["arrival_s"], expected, rtol=0, atol=TOL)
    # the same times come out of the cumulative rate in closed form
    lam = np.array(expected)
    cumulative = np.where(lam <= 4, lam**2 / 4, 4 + 2 * (lam - 4))
    np.testing.assert_allclose(cumulative, np.arange(1, 8), atol=1e-9)


def test_constant_rate_deterministic_arrivals_and_timeseries_counts():
    """Rate 4/s for 3 s: arrivals at 0.25, 0.5, ..., 2.75 (11 of them: the 12th
    would be at 3.0, the end). With 1 s samples the time series counts 3, 4, 4
    arrivals per interval (0.25-0.75, 1.0-1.75, 2.0-2.75) and, with work 0.1 s
    on 1 worker, never more than one in flight."""
    result = run(base(3.0, {"a": {"pod": pod(0.1)}}, arrivals=rate(4)))
    np.testing.assert_allclose(result.requests["arrival_s"], np.arange(1, 12) / 4, atol=TOL)
    ts = result.timeseries
    assert list(ts["t_s"]) == [1.0, 2.0, 3.0]
    assert list(ts["arrivals"]) == [3, 4, 4]
    assert list(ts["ok"]) == [3, 4, 4]
    assert ts["in_flight"].max() <= 1
