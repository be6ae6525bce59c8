"""Pod lifecycle, termination, scale-down victims, rolling updates, the
summary's replica bookkeeping and a property test over random control-plane
scenarios, all through ``sim.run``.

Deterministic scenarios: deterministic arrivals (the k-th arrival of a step of
rate r starting at a is at a + k / r), constant work, no network latency; a
probe costs 0.2 ms of CPU (``pod.probe_work`` default) and answers when that
work is done, so a probe sent at t on an idle 1-core pod succeeds at t + 0.0002.
Rules imitated (Kubernetes):

* kubelet: the container starts after the image pull; a pod without a
  readiness probe is Ready as soon as its container runs (before the app
  listens, so early traffic is refused); a readiness probe ticks every
  ``periodSeconds`` from the container start, skipping ticks before
  ``initialDelaySeconds``.
* termination: out of the endpoints at once, in-flight work drains, whatever is
  left at ``terminationGracePeriodSeconds`` is cut.
* ReplicaSet scale-down (``ActivePodsWithRanks``): unscheduled, then not ready,
  then ready for less time (log2 buckets of the age), ... newest first.
* Deployment rolling update: at most ``desired + maxSurge`` pods, at least
  ``desired - maxUnavailable`` available (surge rounds up, unavailable down).
"""
from __future__ import annotations

import math
import re
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sim
from sim.engine.arrivals import arrival_times
from sim.engine.rng import Streams
from sim.record import logs as record_logs

from scenario_helpers import CPU50, approx, event_times, scenario, steps

STATUSES = {"ok", "timeout", "rejected", "error", "breaker_open", "throttled", "budget_exhausted",
            "unfinished"}


# ----------------------------------------------------------------------------- helpers
def pods_of(result, kind) -> list[tuple]:
    ev = result.events[result.events["kind"] == kind]
    return list(zip(ev["t_s"], ev["pod"].astype(str)))


def calls_view(result) -> list[tuple]:
    c = result.calls.sort_values(["sent_s"])
    return [(str(p) if p == p else None, s, e, str(st_), str(r))
            for p, s, e, st_, r in zip(c["pod"], c["sent_s"], c["ended_s"], c["status"], c["reason"])]


# ------------------------------------------------------------ 6. lifecycle, exact logs
def slow_start(**probes) -> dict:
    # image pull 5 s (container starts at 5), the app listens 3.5 s later (8.5);
    # 2 requests/s from 0.75 (0.75, 1.25, ...), 10 ms each.
    service = {"replicas": 1, "pod": {"cpu": 1, "workers": 4, "queue": None, "work": 0.01,
                                      "image_pull": 5, "startup": 3.5}}
    service.update(probes)
    return scenario("life", 15, steps((0.25, 2)), service)


def test_pod_lifecycle_event_times_with_image_pull_startup_and_readiness_probe():
    # readinessProbe initialDelaySeconds 2, periodSeconds 3: ticks at 5, 8, 11 from
    # the container start; 5 is before the initial delay (5 + 2), 8 is refused
    # (the app listens at 8.5), 11 succeeds at 11.0002 -> Ready.
    result = sim.run(slow_start(readinessProbe={"initialDelaySeconds": 2, "periodSeconds": 3}))
    ev = result.events
    assert ev["kind"].astype(str).tolist() == ["pod_created", "pod_scheduled", "pod_started",
                                               "pod_ready"]
    assert approx(ev["t_s"].tolist(), [0.0, 0.0, 5.0, 11.0002])
    assert ev["pod"].astype(str).tolist() == ["web-0"] * 4
    # not an endpoint before it is Ready: rejected with no_endpoint, then served
    for pod, sent, ended, status, reason in calls_view(result):
        if sent < 11.0002:
            assert (pod, ended, status, reason) == (None, sent, "rejected", "no_endpoint")
        else:
            assert (pod, status) == ("web-0", "ok") and ended == pytest.approx(sent + 0.01)


def test_without_readiness_probe_a_pod_is_ready_before_its_app_listens():
    # Ready at 5 (container running), listening at 8.5: requests in [5, 8.5) reach
    # the pod and are refused (connection refused: rejected, not_serving).
    result = sim.run(slow_start())
    assert event_times(result, "pod_started") == [5.0]
    assert event_times(result, "pod_ready") == [5.0]
    seen = defaultdict(list)
    for pod, sent, ended, status, reason in calls_view(result):
        if sent < 5.0:
            seen["before"].append((pod, status, reason))
        elif sent < 8.5:
            seen["gap"].append((pod, status, reason, ended == sent))
        else:
            seen["after"].append((pod, status, reason))
    assert set(seen["before"]) == {(None, "rejected", "no_endpoint")}
    assert set(seen["gap"]) == {("web-0", "rejected", "not_serving", True)}
    assert len(seen["gap"]) == 7  # 5.25, 5.75, ..., 8.25
    assert set(seen["after"]) == {("web-0", "ok", "")}


def drain(io: float, grace: float) -> dict:
    # 2 pods doing no CPU work (only ``io``), so the HPA sees 0 % CPU: the first
    # sync with metrics (t=30) scales 2 -> 1 (window 0). Requests at 26.5, 27.5,
    # ..., 30.5 alternate between the pods (round robin, web-0 first).
    return scenario("drain", 60, steps((25.5, 1), (31, 0)), {
        "replicas": 2,
        "pod": {"cpu": 1, "workers": 4, "queue": None, "work": 0, "io": io,
                "termination_grace": grace},
        "hpa": {"minReplicas": 1, "maxReplicas": 2, "metrics": [CPU50],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}})


def test_termination_drains_in_flight_work_before_deletion():
    # io 3 s, grace 30 s: web-0 (same age as web-1, the name breaks the tie)
    # leaves the endpoints at 30 and is deleted when its last request (28.5 ->
    # 31.5) is done; 30.5 goes to web-1.
    result = sim.run(drain(3, 30))
    assert pods_of(result, "pod_terminating") == [(30.0, "web-0")]
    assert pods_of(result, "pod_unready") == [(30.0, "web-0")]
    assert pods_of(result, "pod_deleted") == [(31.5, "web-0")]
    assert [(p, s, st_) for p, s, _, st_, _ in calls_view(result)] == [
        ("web-0", 26.5, "ok"), ("web-1", 27.5, "ok"), ("web-0", 28.5, "ok"),
        ("web-1", 29.5, "ok"), ("web-1", 30.5, "ok")]


def test_termination_cuts_what_is_left_at_the_grace_period():
    # io 20 s, grace 5 s: web-0's two requests are cut at 35 with grace_expired
    result = sim.run(drain(20, 5))
    assert pods_of(result, "pod_terminating") == [(30.0, "web-0")]
    assert pods_of(result, "pod_deleted") == [(35.0, "web-0")]
    assert calls_view(result) == [
        ("web-0", 26.5, 35.0, "error", "grace_expired"), ("web-1", 27.5, 47.5, "ok", ""),
        ("web-0", 28.5, 35.0, "error", "grace_expired"), ("web-1", 29.5, 49.5, "ok", ""),
        ("web-1", 30.5, 50.5, "ok", "")]
    assert result.requests["status"].astype(str).tolist() == ["error", "ok", "error", "ok", "ok"]


def test_termination_of_a_hung_pod_cuts_its_requests_at_the_grace_period():
    # An outage (mode hang) from 20: the app accepts requests and never answers
    # (no probes, so the pod stays an endpoint). Requests at 21.5 ... 24.5 hang
    # on web-0. A rolling update at 30 terminates web-0: the connections stay
    # open until the grace period (10 s) ends, then the pod is killed and the
    # requests end with an error (grace_expired) at 40 -- not left unanswered.
    spec = scenario("hung", 100, steps((20.5, 1), (25, 0)), {
        "replicas": 1, "pod": {"cpu": 1, "workers": 4, "queue": None, "work": 0.01,
                               "termination_grace": 10}},
        faults=[{"kind": "outage", "service": "web", "at": 20, "mode": "hang"}],
        rollouts=[{"service": "web", "at": 30, "maxSurge": 1, "maxUnavailable": 0}])
    result = sim.run(spec)
    assert pods_of(result, "pod_terminating") == [(30.0, "web-0")]
    assert pods_of(result, "pod_deleted") == [(40.0, "web-0")]
    assert calls_view(result) == [("web-0", t, 40.0, "error", "grace_expired")
                                  for t in (21.5, 22.5, 23.5, 24.5)]


def victims(fault: bool) -> dict:
    # One pod requesting 1 core; 10 ms per request. 50/s (50 %) until 100, 100/s
    # until 200, 150/s until 300, then nothing. The HPA (target 50 %) adds one
    # pod at 105 (window [90, 105]: 66 % -> ceil(1.33) = 2) and one at 210
    # (66 % -> 3); from the sync at 315 it removes one pod per sync (Pods 1 per
    # 15 s, window 0): 315 and 330.
    spec = scenario("victims", 360, steps((0.001, 50), (100.001, 100), (200.001, 150),
                                          (300.001, 0)), {
        "replicas": 1,
        "pod": {"cpu": 2, "cpu_request": 1, "workers": 16, "queue": None, "work": 0.01},
        "readinessProbe": {"periodSeconds": 5},
        "hpa": {"minReplicas": 1, "maxReplicas": 5, "metrics": [CPU50],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0, "policies": [
                    {"type": "Pods", "value": 1, "periodSeconds": 15}]}}}},
        sample_interval=5)
    if fault:
        # the oldest pod only: its readiness probes at 255, 260, 265 fail -> unready
        spec["faults"] = [{"kind": "outage", "service": "web", "at": 251, "pods": 1,
                           "mode": "fail"}]
    return spec


def test_scale_down_removes_the_newest_ready_pod_first():
    # At 315 the pods have been ready ~315, ~210, ~105 s: log2 buckets 38, 37, 36
    # (nanoseconds): web-2 goes first; at 330 web-1 (37) before web-0 (38).
    result = sim.run(victims(False))
    assert [t for t, _ in pods_of(result, "pod_created")] == [0.0, 105.0, 210.0]
    assert pods_of(result, "pod_terminating") == [(315.0, "web-2"), (330.0, "web-1")]


def test_scale_down_removes_a_not_ready_pod_before_ready_ones():
    # web-0 is the oldest but not ready since 265: it goes first, then the newest.
    result = sim.run(victims(True))
    assert pods_of(result, "pod_unready")[0] == (265.0, "web-0")
    assert pods_of(result, "pod_terminating") == [(315.0, "web-0"), (330.0, "web-2")]


# ------------------------------------------------------------- 7. rolling updates
REPLICAS = 4


def rolling(surge, unavailable, *, rollout_at=50.5) -> dict:
    # 4 pods; image pull 2 s, app listening 3.5 s after the container starts;
    # readiness every 2 s from the container start: a new pod created at c starts
    # at c + 2, is refused at c + 2 and c + 4 and Ready at c + 6.0002.
    return scenario("rolling", 120, {"rate": 20, "process": "deterministic"}, {
        "replicas": REPLICAS,
        "pod": {"cpu": 1, "workers": 4, "queue": None, "work": 0.01, "startup": 3.5,
                "image_pull": 2},
        "readinessProbe": {"periodSeconds": 2}},
        rollouts=[{"service": "web", "at": rollout_at, "maxSurge": surge,
                   "maxUnavailable": unavailable}])


def replay(result):
    """Live (not terminating) and ready pods after each instant of the event log."""
    live, ready = set(), set()
    states = []
    ev = result.events
    for t, group in ev.groupby("t_s", sort=True):
        for kind, pod in zip(group["kind"].astype(str), group["pod"].astype(str)):
            if kind == "pod_created":
                live.add(pod)
            elif kind in ("pod_terminating", "pod_deleted"):
                live.discard(pod)
            if kind == "pod_ready":
                ready.add(pod)
            elif kind in ("pod_unready", "pod_deleted"):
                ready.discard(pod)
        states.append((t, set(live), set(ready)))
    return states


@pytest.mark.parametrize("surge,unavailable,max_pods,min_ready", [
    (1, 0, 5, 4), (0, 1, 4, 3), ("25%", "25%", 5, 3), ("50%", 0, 6, 4)])
def test_rolling_update_replaces_every_pod_within_surge_and_unavailable(
        surge, unavailable, max_pods, min_ready):
    result = sim.run(rolling(surge, unavailable))
    started = event_times(result, "rollout_started")
    finished = event_times(result, "rollout_finished")
    assert started == [50.5] and len(finished) == 1 and finished[0] > 50.5
    old = {f"web-{i}" for i in range(REPLICAS)}
    for t, live, ready in replay(result):
        if started[0] <= t <= finished[0]:
            assert len(live) <= max_pods, (t, live)
            assert len(ready) >= min_ready, (t, ready)
    t_end, live, ready = replay(result)[-1]
    # every old pod is gone, replaced by REPLICAS new-revision pods, all ready
    assert set(p for _, p in pods_of(result, "pod_deleted")) == old
    assert len(live) == REPLICAS and live == ready
    assert all(re.fullmatch(r"web-1-\d+", p) for p in live)
    # all ready at the end of the rollout, never more than desired afterwards
    ts = result.timeseries
    assert set(ts.loc[ts["t_s"] > finished[0], "replicas"]) == {REPLICAS}
    assert set(ts.loc[ts["t_s"] > finished[0], "ready_replicas"]) == {REPLICAS}
    # a rolling update loses no request: once the first pods are Ready (6.0002)
    # every request is served
    req = result.requests
    assert set(req.loc[req["arrival_s"] < 6.0002, "status"].astype(str)) == {"rejected"}
    assert set(req.loc[req["arrival_s"] > 6.0002, "status"].astype(str)) <= {"ok", "unfinished"}


def test_rolling_update_one_pod_at_a_time_exact_times():
    # maxSurge 1, maxUnavailable 0: one new pod (created at c, Ready at
    # c + 6.0002), then one old pod deleted and the next new pod created at the
    # same instant: four rounds, finished at 50.5 + 4 x 6.0002.
    result = sim.run(rolling(1, 0))
    created = [(t, p) for t, p in pods_of(result, "pod_created") if t > 0]
    rounds = [50.5 + k * 6.0002 for k in range(4)]
    assert [p for _, p in created] == ["web-1-4", "web-1-5", "web-1-6", "web-1-7"]
    assert approx([t for t, _ in created], rounds)
    assert approx([t for t, _ in pods_of(result, "pod_terminating")], rounds[1:] + [74.5008])
    assert [p for _, p in pods_of(result, "pod_terminating")] == ["web-0", "web-1", "web-2", "web-3"]
    assert approx(event_times(result, "rollout_finished"), [74.5008])


def test_rolling_update_converges_while_the_hpa_scales():
    # 2 pods requesting 500m at 40/s (0.4 cores); the load quadruples at 60; the
    # rollout begins at 70.5 and the HPA scales 2 -> 6 at 75 in the middle of it.
    spec = scenario("rolling-hpa", 200, steps((0.001, 40), (60.001, 160)), {
        "replicas": 2,
        "pod": {"cpu": 2, "cpu_request": 0.5, "workers": 16, "queue": None, "work": 0.01,
                "startup": 4, "image_pull": 3},
        "readinessProbe": {"periodSeconds": 2},
        "hpa": {"minReplicas": 2, "maxReplicas": 10, "metrics": [CPU50]}},
        sample_interval=5,
        rollouts=[{"service": "web", "at": 70.5, "maxSurge": "25%", "maxUnavailable": "25%"}])
    result = sim.run(spec)
    finished = event_times(result, "rollout_finished")
    scaled = event_times(result, "scaled")
    assert len(finished) == 1 and any(70.5 < t < finished[0] for t in scaled)
    t_end, live, ready = replay(result)[-1]
    desired = int(result.timeseries["desired_replicas"].iloc[-1])
    assert desired > 2
    assert len(live) == desired and live == ready
    assert all(re.fullmatch(r"web-1-\d+", p) for p in live)
    assert {"web-0", "web-1"} <= {p for _, p in pods_of(result, "pod_deleted")}


# ------------------------------------------------------------ 9. summary bookkeeping
def busy_scenario() -> dict:
    # HPA up and down, a crash of one pod, a rolling update, probes, a warm-up.
    return scenario("books", 400, steps((0.001, 20), (60.001, 80), (200.001, 10)), {
        "replicas": 2,
        "pod": {"cpu": 2, "cpu_request": 0.25, "workers": 8, "queue": 32, "work": 0.01,
                "startup": 1.5, "termination_grace": 5},
        "readinessProbe": {"periodSeconds": 2}, "livenessProbe": {"periodSeconds": 5},
        "hpa": {"minReplicas": 2, "maxReplicas": 8, "metrics": [CPU50],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}},
        sample_interval=3.7, warmup=40,
        faults=[{"kind": "crash", "service": "web", "at": 150.3, "pods": 1}],
        rollouts=[{"service": "web", "at": 250.5, "maxSurge": 1, "maxUnavailable": 1}])


def level_at(changes, t, initial=0, *, inclusive=True):
    """Value of a step function given as sorted (time, value) changes."""
    value = initial
    for when, v in changes:
        if when < t or (inclusive and when == t):
            value = v
    return value


def test_summary_and_timeseries_agree_with_the_events():
    result = sim.run(busy_scenario())
    warmup, duration = 40.0, 400.0
    s = result.summary["services"]["web"]
    ev = result.events
    in_window = ev[(ev["t_s"] >= warmup) & (ev["t_s"] <= duration)]
    kinds = in_window["kind"].astype(str)
    assert s["restarts"] == int((kinds == "pod_restarted").sum()) >= 1
    directions = in_window.loc[kinds == "scaled", "detail"].str.extract(r"direction=(\w+)")[0]
    assert s["scale_ups"] == int((directions == "up").sum()) >= 1
    assert s["scale_downs"] == int((directions == "down").sum()) >= 1
    assert len(event_times(result, "rollout_finished")) == 1

    # per pod: created, end of replica life (terminating), deleted
    created, live_end, deleted = {}, {}, {}
    for t, kind, pod in zip(ev["t_s"], ev["kind"].astype(str), ev["pod"].astype(str)):
        if kind == "pod_created":
            created[pod] = t
        elif kind == "pod_terminating":
            live_end.setdefault(pod, t)
        elif kind == "pod_deleted":
            deleted[pod] = t
            live_end.setdefault(pod, t)

    def overlap(a, b):
        return max(0.0, min(b, duration) - max(a, warmup))

    pod_seconds = sum(overlap(created[p], deleted.get(p, math.inf)) for p in created)
    assert s["pod_seconds"] == pytest.approx(pod_seconds, abs=1e-6)
    # replicas: pods created and not yet terminating, time-weighted over the window
    points = sorted({warmup, duration, *[t for t in [*created.values(), *live_end.values()]
                                         if warmup < t < duration]})

    def live_count(t):  # just after every event at t
        return sum(1 for p in created if created[p] <= t < live_end.get(p, math.inf))

    levels = [live_count(t) for t in points[:-1]]
    mean = sum(l * (b - a) for l, a, b in zip(levels, points[:-1], points[1:])) / (duration - warmup)
    assert s["replicas"]["mean"] == pytest.approx(mean, abs=1e-9)
    assert s["replicas"]["min"] == min(levels)
    assert s["replicas"]["max"] == max(levels)
    assert s["replicas"]["final"] == live_count(duration)

    # the time series, sample by sample (either side of an event at the same instant)
    desired_changes = [(t, int(re.search(r"desired=(\d+)", d).group(1)))
                       for t, d in zip(ev.loc[ev["kind"] == "scaled", "t_s"],
                                       ev.loc[ev["kind"] == "scaled", "detail"])]
    ready_changes = defaultdict(list)
    for t, kind, pod in zip(ev["t_s"], ev["kind"].astype(str), ev["pod"].astype(str)):
        if kind in ("pod_ready", "pod_unready", "pod_deleted"):
            ready_changes[pod].append((t, kind == "pod_ready"))

    def ready_count(t, inclusive):
        return sum(1 for changes in ready_changes.values()
                   if level_at(changes, t, False, inclusive=inclusive))

    def live_before(t):
        return sum(1 for p in created if created[p] < t <= live_end.get(p, math.inf))

    ts = result.timeseries
    assert len(ts) == len(set(ts["t_s"]))
    for row in ts.itertuples():
        t = row.t_s
        assert row.replicas in (live_count(t), live_before(t)), t
        assert row.ready_replicas in (ready_count(t, True), ready_count(t, False)), t
        assert row.desired_replicas in (level_at(desired_changes, t, 2),
                                        level_at(desired_changes, t, 2, inclusive=False)), t
    assert ts["replicas"].iloc[-1] == s["replicas"]["final"]


# ------------------------------------------------- 10. property: no request lost or doubled
@st.composite
def control_scenarios(draw):
    duration = draw(st.integers(45, 120))
    pod = {"cpu": draw(st.sampled_from([0.5, 1, 2])),
           "cpu_request": draw(st.sampled_from(["250m", "500m", 1])),
           "workers": draw(st.integers(1, 4)),
           "queue": draw(st.sampled_from([0, 2, 8, None])),
           "work": {"dist": "exponential", "mean": f"{draw(st.integers(5, 80))}ms"},
           "startup": draw(st.sampled_from([0, 0.5, 2.5])),
           "image_pull": draw(st.sampled_from([0, 1])),
           "termination_grace": draw(st.sampled_from([0, 1, 5])),
           "probe_path": draw(st.sampled_from(["pool", "dedicated"]))}
    if draw(st.booleans()):
        pod["io"] = {"dist": "constant", "value": f"{draw(st.integers(10, 1500))}ms"}
    web = {"pod": pod, "replicas": draw(st.integers(1, 3))}
    if draw(st.booleans()):
        web["readinessProbe"] = {"periodSeconds": draw(st.integers(1, 5)),
                                 "failureThreshold": draw(st.integers(1, 3))}
    if draw(st.booleans()):
        web["livenessProbe"] = {"periodSeconds": draw(st.integers(1, 5)),
                                "failureThreshold": draw(st.integers(1, 3))}
    if draw(st.integers(0, 3)) == 0:
        web["startupProbe"] = {"periodSeconds": 1, "failureThreshold": draw(st.integers(1, 5))}
    if draw(st.integers(0, 3)) > 0:
        low = draw(st.integers(1, 2))
        high = draw(st.integers(low, 5))
        web["replicas"] = draw(st.integers(low, high))
        hpa = {"minReplicas": low, "maxReplicas": high, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": draw(st.integers(20, 90))}}}]}
        behavior = draw(st.sampled_from(["legacy", {}, {"scaleDown": {"stabilizationWindowSeconds": 0}}]))
        if behavior != "legacy":
            hpa["behavior"] = behavior
        web["hpa"] = hpa
    services = {"web": web}
    if draw(st.booleans()):
        services["db"] = {"replicas": draw(st.integers(1, 2)),
                          "pod": {"cpu": 1, "workers": 2, "queue": 4, "work": "5ms"}}
        call = {"to": "db"}
        if draw(st.booleans()):
            call["timeout"] = f"{draw(st.integers(50, 1000))}ms"
        web["calls"] = [call]
    faults = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["crash", "outage", "outage", "slowdown", "errors"]))
        fault = {"kind": kind, "service": draw(st.sampled_from(sorted(services))),
                 "at": draw(st.integers(1, duration - 1)) + 0.37}
        if kind != "crash":
            fault["for"] = draw(st.integers(1, 40))
        if kind == "outage":
            fault["mode"] = draw(st.sampled_from(["fail", "hang"]))
        if kind == "slowdown":
            fault["factor"] = draw(st.sampled_from([2, 10]))
        if kind == "errors":
            fault["probability"] = 0.5
        if draw(st.booleans()):
            fault["pods"] = 1
        faults.append(fault)
    rollouts = []
    for _ in range(draw(st.integers(0, 2))):
        surge, unavailable = draw(st.sampled_from([(1, 0), (0, 1), ("25%", "25%"), (2, 1)]))
        rollouts.append({"service": "web", "at": draw(st.integers(1, duration - 1)) + 0.61,
                         "maxSurge": surge, "maxUnavailable": unavailable})
    arrivals = {"rate": draw(st.integers(2, 40)),
                "process": draw(st.sampled_from(["poisson", "deterministic"]))}
    workload = {"target": "web", "arrivals": arrivals}
    if draw(st.integers(0, 2)) == 0:
        workload["client"] = {"timeout": f"{draw(st.integers(200, 3000))}ms"}
        if draw(st.booleans()):
            workload["client"]["retry"] = {"max_attempts": draw(st.integers(2, 3)),
                                           "backoff": {"type": "constant", "delay": "100ms"}}
    spec = {"name": "prop", "duration": duration, "sample_interval": 2.5,
            "warmup": draw(st.sampled_from([0, 10])),
            "workload": {"w": workload}, "services": services,
            "faults": faults, "rollouts": rollouts}
    if draw(st.booleans()):
        cluster = {"nodes": {"count": draw(st.integers(1, 2)), "cpu": draw(st.sampled_from([1, 2]))}}
        if draw(st.booleans()):
            cluster["autoscaler"] = {"max_nodes": draw(st.integers(2, 3)),
                                     "provisioning_delay": draw(st.integers(5, 30)),
                                     "scan_interval": 5, "scale_down_unneeded_time": 20,
                                     "scale_down_delay_after_add": 10}
        spec["cluster"] = cluster
    return spec


class Ledger:
    """Counts how often the engine ends each request and closes each attempt."""

    def __init__(self):
        self.ended: list[int] = []
        self.closed: list = []

    def __enter__(self):
        self._end, self._closed = record_logs.RequestLog.end, record_logs.CallLog._write_row
        ledger, end, closed = self, self._end, self._closed

        def counting_end(log, rid, now, status, attempts, workload):
            ledger.ended.append(rid)
            return end(log, rid, now, status, attempts, workload)

        def counting_closed(log, att):
            ledger.closed.append(att)
            closed(log, att)

        record_logs.RequestLog.end = counting_end
        record_logs.CallLog._write_row = counting_closed
        return self

    def __exit__(self, *exc):
        record_logs.RequestLog.end, record_logs.CallLog._write_row = self._end, self._closed
        return False


PROPERTY = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def deleted_at(result) -> dict:
    ev = result.events
    sel = ev["kind"] == "pod_deleted"
    return dict(zip(ev.loc[sel, "pod"].astype(str), ev.loc[sel, "t_s"]))


@PROPERTY
@given(spec=control_scenarios(), seed=st.integers(0, 2**31 - 1))
def test_every_request_once_through_restarts_rollouts_and_scale_downs(spec, seed):
    scenario_ = sim.load(spec)
    with Ledger() as ledger:
        result = sim.run(scenario_, seed=seed)
    req, calls, summary = result.requests, result.calls, result.summary

    # the engine ends each request at most once and closes each attempt once
    assert len(ledger.ended) == len(set(ledger.ended))
    assert len({id(a) for a in ledger.closed}) == len(ledger.closed)

    # every arrival is one row, with one status
    times_ = list(arrival_times(scenario_.workload["w"].arrivals,
                                Streams(seed, 0).generator("arrivals/w"), scenario_.duration))
    assert req["request_id"].tolist() == list(range(len(times_)))
    np.testing.assert_allclose(req["arrival_s"].to_numpy(), times_, rtol=0, atol=1e-12)
    assert set(req["status"].astype(str)) <= STATUSES
    ended = req["status"].astype(str) != "unfinished"
    assert req.loc[ended, "end_s"].notna().all() and req.loc[~ended, "end_s"].isna().all()
    assert set(req.loc[ended, "request_id"]) == set(ledger.ended)

    # attempts: one row each; a request's attempts at the entry service match it
    key = ["request_id", "caller", "service", "attempt", "sent_s"]
    assert not calls.duplicated(key).any()
    entry = calls[calls["caller"].astype(str) == "w"]
    per_request = entry.groupby("request_id").size()
    done = req[ended].set_index("request_id")
    assert (per_request.reindex(done.index, fill_value=0) == done["attempts"]).all()
    oks = entry[entry["status"] == "ok"].groupby("request_id").size()
    assert (oks <= 1).all()
    assert set(oks.index) == set(done.index[done["status"].astype(str) == "ok"])

    # the books add up
    r = summary["requests"]
    assert r["total"] == r["ok"] + r["failed"] + r["unfinished"]
    in_window = req[req["arrival_s"] >= scenario_.warmup]
    assert r["total"] == len(in_window)
    assert r["unfinished"] == int((in_window["status"].astype(str) == "unfinished").sum())

    # pod event logs are well formed
    ev = result.events
    for pod, group in ev[ev["pod"].notna()].groupby(ev["pod"].astype(str), observed=True):
        kinds = group["kind"].astype(str).tolist()
        assert kinds[0] == "pod_created"
        if "pod_deleted" in kinds:
            assert kinds[-1] == "pod_deleted" and kinds.count("pod_deleted") == 1
            assert "pod_terminating" in kinds
        flips = [k for k in kinds if k in ("pod_ready", "pod_unready")]
        assert all(a != b for a, b in zip(flips, flips[1:])) and flips[:1] in ([], ["pod_ready"])
    if scenario_.warmup == 0:
        assert sum(s["restarts"] for s in summary["services"].values()) == \
            int((ev["kind"] == "pod_restarted").sum())

    # the HPA keeps desired replicas within its bounds
    hpa = scenario_.services["web"].hpa
    if hpa is not None:
        desired = result.timeseries.loc[result.timeseries["service"] == "web", "desired_replicas"]
        assert desired.between(hpa.minReplicas, hpa.maxReplicas).all()

    # the same seed gives the same run
    again = sim.run(scenario_, seed=seed)
    for table in ("requests", "calls", "timeseries", "events"):
        pd.testing.assert_frame_equal(getattr(result, table), getattr(again, table))


# no shrinking: a failure is reported as found, without minutes of shrinking
@settings(PROPERTY, max_examples=100, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(spec=control_scenarios(), seed=st.integers(0, 2**31 - 1))
def test_no_attempt_is_left_unanswered_at_a_deleted_pod(spec, seed):
    """Work accepted by a pod ends (with some status) no later than the pod's
    deletion: a deleted pod cannot answer later, so an attempt still open at the
    end of the run on a pod deleted before then was lost."""
    result = sim.run(spec, seed=seed)
    gone = deleted_at(result)
    calls = result.calls
    at_pod = calls[calls["pod"].notna()]
    for pod, status, done in zip(at_pod["pod"].astype(str), at_pod["status"].astype(str),
                                 at_pod["done_s"]):
        if pod in gone:
            assert status != "unfinished", (pod, gone[pod])
            if done == done:
                assert done <= gone[pod] + 1e-9, (pod, done, gone[pod])
