"""The HPA, the metrics pipeline and the kubelet's probes, through ``sim.run``.

Every scenario is deterministic: arrivals are deterministic (the k-th arrival
of a constant-rate step starting at ``a`` is at ``a + k / rate``), work is a
constant, there is no network latency. Load steps start 1 ms after a multiple
of 15 s, so no request straddles a metrics-server scrape and each 15 s window
holds a whole number of arrivals. Expected values are derived in the comments
from the rules the simulator imitates:

* metrics-server: every pod is scraped every 15 s; its CPU metric is the rate
  between its last two scrapes, so a pod has a metric only from its second
  scrape on (scrapes at 15, 30, 45, ... and they run before the HPA sync at
  the same instant).
* HPA (pkg/controller/podautoscaler): sync every 15 s; ``utilization =
  int(sum(usage) * 100 / sum(request))``; ``desired = ceil(ratio * pods)``
  unless ``0.9 <= ratio <= 1.1``; on a scale-up pods without a metric count as
  0 and the proposal is dropped if the direction flips; behavior defaults:
  scale up ``max(Pods 4, Percent 100)`` per 15 s, events counted strictly
  after ``now - period``; scale down 300 s window.
* kubelet prober: probes every ``periodSeconds`` from the container start; a
  result is published after ``failureThreshold`` failures in a row; a failed
  liveness probe restarts the container after the CrashLoopBackOff delay
  (first restart immediate, then 10, 20, 40, ... capped at 300 s, reset after
  10 minutes without a crash; ``sim.policies.probes.CrashLoopBackOff``).
"""
from __future__ import annotations

import re

import pytest

import sim

from scenario_helpers import CPU50, approx, event_times, scenario, steps


# ----------------------------------------------------------------------------- helpers
def fields(detail: str) -> dict:
    return dict(re.findall(r"(\w+)=(\S+)", detail))


def scaled(result) -> list[tuple]:
    """``(t, current, desired, proposed, reason)`` of every ``scaled`` event."""
    ev = result.events
    rows = []
    for t, detail in zip(ev.loc[ev["kind"] == "scaled", "t_s"], ev.loc[ev["kind"] == "scaled", "detail"]):
        f = fields(detail)
        rows.append((t, int(f["current"]), int(f["desired"]), int(f["proposed"]), f["reason"]))
    return rows


def scaled_metrics(result) -> list[str]:
    ev = result.events
    return [re.search(r"metrics=\[(.*)\]", d).group(1)
            for d in ev.loc[ev["kind"] == "scaled", "detail"]]


def desired_between(result, lo: float, hi: float) -> set:
    """Desired replicas sampled strictly inside (lo, hi)."""
    ts = result.timeseries
    return set(ts.loc[(ts["t_s"] > lo) & (ts["t_s"] < hi), "desired_replicas"])


# ----------------------------------------------------------------- 1. the walkthrough
def walkthrough(behavior) -> dict:
    # One pod requesting 100m; 305 requests/s of 1.003 ms of CPU each = 0.3059
    # cores = 305.9 % of the request, against a 50 % target (the HPA walkthrough
    # of the Kubernetes docs shows "cpu: 305%/50%"). The CPU limit (4 cores) never
    # binds, and round robin splits the steady load evenly over the pods.
    hpa = {"minReplicas": 1, "maxReplicas": 10, "metrics": [CPU50]}
    if behavior != "legacy":
        hpa["behavior"] = behavior
    return scenario("walkthrough", 150, steps((0.001, 305)),
                    {"replicas": 1, "hpa": hpa,
                     "pod": {"cpu": 4, "cpu_request": "100m", "workers": 64, "queue": None,
                             "work": 0.001003}})


def test_walkthrough_one_pod_at_305_percent_goes_1_5_7_under_default_v2_behavior():
    result = sim.run(walkthrough({}))
    # t=15: first scrape, no pod has a metric yet -> no valid metric, no sync.
    # t=30: the pod's metric covers [15, 30]: int(305.9) = 305 %, ratio 6.1,
    #   ceil(6.1 * 1) = 7; default scale-up limit max(1 + 4, ceil(1 * 2)) = 5.
    # t=45: the 4 new pods (created at 30) were scraped once, no metric: the old
    #   pod shows 61 % > target, missing pods count as 0 -> 61 / 5 = 12 %: the
    #   direction flips, the proposal is the current 5.
    # t=60: every pod at 305.9 / 5 = 61.18 % -> int 61, ratio 1.22,
    #   ceil(1.22 * 5) = ceil(6.1) = 7; the scale-up at 30 is not after the
    #   period's cutoff 60 - 15, so the limit is max(5 + 4, 10) = 9: 7 stands.
    # then 305.9 / 7 = 43.7 % -> 43, ratio 0.86, ceil(0.86 * 7) = ceil(6.02) = 7.
    assert scaled(result) == [(30.0, 1, 5, 7, "ScaleUpLimit"),
                              (60.0, 5, 7, 7, "DesiredWithinRange")]
    assert scaled_metrics(result) == ["cpu 305%/50%", "cpu 61%/50%"]
    assert desired_between(result, 0, 30) == {1}
    assert desired_between(result, 30, 60) == {5}
    assert desired_between(result, 60, 150) == {7}
    created = event_times(result, "pod_created")
    assert created == [0.0] + [30.0] * 4 + [60.0] * 2


def test_walkthrough_scale_up_policy_period_delays_the_second_step():
    # Pods 4 per 60 s only: at 30 -> 5 (1 + 4). At 45, 60 and 75 the scale-up of
    # 4 at t=30 is inside (now - 60, now], so the period started at 5 - 4 = 1 and
    # allows 1 + 4 = 5. At 90 the event is at the cutoff (not after it): 5 + 4 = 9
    # allows the 7 the metrics ask for.
    behavior = {"scaleUp": {"policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]}}
    result = sim.run(walkthrough(behavior))
    assert scaled(result) == [(30.0, 1, 5, 7, "ScaleUpLimit"),
                              (90.0, 5, 7, 7, "DesiredWithinRange")]
    assert desired_between(result, 30, 90) == {5}


def test_walkthrough_with_a_16s_sync_period_lags_behind_the_metrics():
    # Syncs at 16, 32, 48, 64 against scrapes at 15, 30, 45, 60 (no instant in
    # common before 240 s). At 16 the pod has been scraped once: no metric. At 32
    # the latest metric is the one scraped at 30: 1 -> 5. The new pods are
    # scraped at 45 (no metric yet) and 60; the sync at 48 sees them missing
    # (direction flips, keep 5), the sync at 64 sees all five: 5 -> 7.
    spec = walkthrough({})
    spec["services"]["web"]["hpa"]["sync_period"] = "16s"
    result = sim.run(spec)
    assert scaled(result) == [(32.0, 1, 5, 7, "ScaleUpLimit"),
                              (64.0, 5, 7, 7, "DesiredWithinRange")]


def test_walkthrough_legacy_path_without_behavior_goes_1_4_7():
    # No behavior: Kubernetes' legacy normalizer. Scale-up limit max(2 * 1, 4) = 4
    # at t=30. At 45 the metrics propose 4 (the direction flips with 3 pods
    # missing metrics) but the legacy stabilization takes the max of the
    # recommendations of the last 300 s, which holds the 7 recorded at 30; the
    # limit max(2 * 4, 4) = 8 lets 7 through.
    result = sim.run(walkthrough("legacy"))
    assert scaled(result) == [(30.0, 1, 4, 7, "ScaleUpLimit"),
                              (45.0, 4, 7, 4, "ScaleDownStabilized")]


# ------------------------------------------------------- 2. downscale stabilization
def dip(window, *, recover=True) -> dict:
    # 4 pods requesting 1 core; 40 requests/s of 50 ms = 2 cores = 50 % each (the
    # target). From 300.001 the rate drops to 10/s (12.5 % each -> int 12, ratio
    # 0.24, ceil(0.24 * 4) = 1); with ``recover`` it is back at 40/s from 420.001.
    points = [(0.001, 40), (300.001, 10)] + ([(420.001, 40)] if recover else [])
    return scenario("dip", 700, steps(*points), {
        "replicas": 4,
        "pod": {"cpu": 4, "cpu_request": 1, "workers": 64, "queue": None, "work": 0.05},
        "hpa": {"minReplicas": 1, "maxReplicas": 10, "metrics": [CPU50],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": window}}}},
        sample_interval=15)


def test_300s_stabilization_window_holds_replicas_through_a_two_minute_dip():
    # Every recommendation of 4 made before the dip stays inside the 300 s window
    # during the whole dip (300 -> 420): max(4, 1) = 4, no scale-down at all.
    result = sim.run(dip(300))
    assert scaled(result) == []
    assert set(result.timeseries["desired_replicas"]) == {4}


def test_zero_stabilization_window_follows_the_dip_down_and_up():
    # The first window showing the dip is [300, 315] -> 1 pod at 315 (Percent 100
    # per 15 s allows it). The first window after it is [420, 435]: 1 pod at
    # 2 cores over 14.999 s = 199.99 % -> int 199, ceil(3.98) = 4 <= max(1 + 4, 2).
    result = sim.run(dip(0))
    assert scaled(result) == [(315.0, 4, 1, 1, "DesiredWithinRange"),
                              (435.0, 1, 4, 4, "DesiredWithinRange")]
    assert desired_between(result, 315, 435) == {1}
    assert desired_between(result, 435, 700) == {4}


def test_300s_stabilization_window_releases_a_lasting_drop_after_exactly_300s():
    # The last recommendation of 4 is the sync at 300 (window [285, 300]). The
    # scale-down window keeps recommendations strictly after now - 300, so 4
    # stays in it until the sync at 600, which scales down to 1.
    result = sim.run(dip(300, recover=False))
    assert scaled(result) == [(600.0, 4, 1, 1, "DesiredWithinRange")]


# --------------------------------------------- 3. outage: readiness, then CrashLoopBackOff
OUTAGE_AT, OUTAGE_FOR = 101.0, 400.0
LIVENESS_PERIOD, LIVENESS_FAILURES, TIMEOUT = 10, 3, 1
READINESS_PERIOD, READINESS_FAILURES = 5, 3


def outage(mode: str) -> dict:
    # arrivals at 0.05 + k / 10: never at the instant of a probe result
    return scenario("outage", 700, steps((0.05, 10)), {
        "replicas": 2,
        "pod": {"cpu": 1, "workers": 8, "queue": 16, "work": 0.01},
        "readinessProbe": {"periodSeconds": READINESS_PERIOD,
                           "failureThreshold": READINESS_FAILURES, "timeoutSeconds": TIMEOUT},
        "livenessProbe": {"periodSeconds": LIVENESS_PERIOD,
                          "failureThreshold": LIVENESS_FAILURES, "timeoutSeconds": TIMEOUT}},
        faults=[{"kind": "outage", "service": "web", "at": OUTAGE_AT, "for": OUTAGE_FOR,
                 "mode": mode}])


def expected_crash_loop(lag: float):
    """Exit and start times of the containers of one pod under the outage.

    Probes run every period from each container start (0, 10, ... for the first
    container). A probe fails when sent during the outage, ``lag`` after it is
    sent (0: refused at once; 1: timeoutSeconds for a hung app). The
    ``failureThreshold``-th failure in a row kills the container; the kubelet
    restarts it after the back-off: 0 for the first crash, then 10 s doubling.
    """
    first_failing = LIVENESS_PERIOD * -(-OUTAGE_AT // LIVENESS_PERIOD)  # first probe >= 101: 110
    exit_s = first_failing + (LIVENESS_FAILURES - 1) * LIVENESS_PERIOD + lag
    exits, starts, delays = [], [], []
    delay = None
    while True:
        delay = 0.0 if delay is None else (10.0 if delay == 0.0 else min(2 * delay, 300.0))
        exits.append(exit_s)
        delays.append(delay)
        start = exit_s + delay
        starts.append(start)
        if start >= OUTAGE_AT + OUTAGE_FOR:
            return exits, delays, starts
        # the new container's probes at start, start + 10, start + 20 all fail
        exit_s = start + (LIVENESS_FAILURES - 1) * LIVENESS_PERIOD + lag


@pytest.mark.parametrize("mode,lag", [("fail", 0.0), ("hang", float(TIMEOUT))])
def test_outage_empties_endpoints_through_readiness_and_restarts_follow_crashloop_backoff(mode, lag):
    result = sim.run(outage(mode))
    exits, delays, starts = expected_crash_loop(lag)
    # fail: exits 130, 150, 180, 220, 280, 380; restarts after 0, 10, 20, 40, 80,
    # 160 s; the 7th container starts at 540, after the outage (ends at 501).
    assert len(exits) == 6 and delays == [0, 10, 20, 40, 80, 160]
    # Readiness probes at 0, 5, 10, ...: the ones at 105, 110, 115 fail, the third
    # publishes Failure (at 115 + lag) and the pod leaves the endpoints.
    unready_at = 105.0 + (READINESS_FAILURES - 1) * READINESS_PERIOD + lag
    # Back after the outage: the readiness probe runs when the container starts
    # (the kubelet's trigger once a container is started) and succeeds; the
    # liveness and readiness probes of the same instant share the core (2 x 0.2 ms
    # of probe work; liveness first under Go's run queue, or both at half a core
    # under processor sharing): 0.4 ms either way.
    ready_again = starts[-1] + 0.0004
    for pod in ("web-0", "web-1"):
        assert approx(event_times(result, "pod_ready", pod), [0.0004, ready_again])
        # the restarts make the pod unready too, but it already is
        assert event_times(result, "pod_unready", pod) == [unready_at]
        assert event_times(result, "pod_restarted", pod) == exits
        assert event_times(result, "pod_started", pod) == [0.0] + starts
    ev = result.events
    details = ev.loc[(ev["kind"] == "pod_restarted") & (ev["pod"].astype(str) == "web-0"), "detail"]
    assert [float(re.search(r"in (\S+)s$", d).group(1)) for d in details] == delays
    assert all(d.startswith("liveness probe failed") for d in details)
    assert result.summary["services"]["web"]["restarts"] == 2 * len(exits)

    ts = result.timeseries
    assert set(ts.loc[ts["t_s"] < unready_at, "ready_replicas"]) == {2}
    assert set(ts.loc[(ts["t_s"] > unready_at) & (ts["t_s"] < ready_again), "ready_replicas"]) == {0}
    assert set(ts.loc[ts["t_s"] > ready_again, "ready_replicas"]) == {2}
    # with no endpoint, every request in the gap is rejected at once
    calls = result.calls
    gap = (calls["sent_s"] > unready_at) & (calls["sent_s"] < ready_again)
    assert gap.sum() > 0
    assert (calls.loc[gap, "status"] == "rejected").all()
    assert (calls.loc[gap, "reason"] == "no_endpoint").all()
    assert (calls.loc[~gap, "reason"] != "no_endpoint").all()
    healthy = (calls["sent_s"] < OUTAGE_AT) | (calls["sent_s"] > ready_again)
    assert (calls.loc[healthy, "status"] == "ok").all()


def test_crashloop_backoff_doubles_and_resets_after_ten_minutes_running():
    # Crash faults kill the container at 100, 200, 300, 1000 and 1100. Restarts:
    # 100 at once (first crash), 200 + 10, 300 + 20; at 1000 the container has
    # run 680 s > 600 s since its last restart (320): the back-off is forgotten,
    # restart at once; 1100 -> +10 again.
    crashes = [100, 200, 300, 1000, 1100]
    result = sim.run(scenario(
        "crashes", 1200, {"rate": 1, "process": "deterministic"},
        {"replicas": 1, "pod": {"cpu": 1, "workers": 2, "queue": 4, "work": 0.01}},
        faults=[{"kind": "crash", "service": "web", "at": at} for at in crashes]))
    assert event_times(result, "pod_restarted") == crashes
    assert event_times(result, "pod_started") == [0, 100, 210, 320, 1000, 1110]
    # no readiness probe: Ready whenever the container runs
    assert event_times(result, "pod_ready") == [0, 100, 210, 320, 1000, 1110]
    assert event_times(result, "pod_unready") == crashes
    assert result.summary["services"]["web"]["restarts"] == 5


def test_startup_probe_shorter_than_the_app_startup_crash_loops():
    # Image pull 5 s, the app listens 3.5 s after the container starts. A startup
    # probe every 1 s with failureThreshold 3 fails at start, +1, +2 and kills the
    # container at start + 2; the app never gets to listen.
    result = sim.run(scenario(
        "startup", 60, steps((0.25, 2)),
        {"replicas": 1, "pod": {"cpu": 1, "workers": 4, "queue": None, "work": 0.01,
                                "image_pull": 5, "startup": 3.5},
         "startupProbe": {"periodSeconds": 1, "failureThreshold": 3},
         "readinessProbe": {"periodSeconds": 3}, "livenessProbe": {"periodSeconds": 4}}))
    # starts 5, 7 (+0), 9 + 10 = 19, 21 + 20 = 41; exits start + 2
    assert event_times(result, "pod_started") == [5, 7, 19, 41]
    assert event_times(result, "pod_restarted") == [7, 9, 21, 43]
    assert all(d.startswith("startup probe failed") for d in
               result.events.loc[result.events["kind"] == "pod_restarted", "detail"])
    assert event_times(result, "pod_ready") == []
    assert set(result.calls["reason"].astype(str)) == {"no_endpoint"}


def test_startup_probe_gates_readiness_and_liveness():
    # Same app with failureThreshold 30: startup probes at 5, 6, 7, 8 fail (the
    # app listens at 8.5), the one at 9 succeeds at 9.0002 (0.2 ms of probe work).
    # Only then do readiness and liveness run: readiness at once (the kubelet's
    # trigger when a container becomes started) -> Ready at 9.0004.
    result = sim.run(scenario(
        "startup", 60, steps((0.25, 2)),
        {"replicas": 1, "pod": {"cpu": 1, "workers": 4, "queue": None, "work": 0.01,
                                "image_pull": 5, "startup": 3.5},
         "startupProbe": {"periodSeconds": 1, "failureThreshold": 30},
         "readinessProbe": {"periodSeconds": 3}, "livenessProbe": {"periodSeconds": 4}}))
    assert event_times(result, "pod_started") == [5.0]
    assert approx(event_times(result, "pod_ready"), [9.0004])
    assert event_times(result, "pod_restarted") == []
    calls = result.calls
    assert (calls.loc[calls["sent_s"] < 9.0004, "reason"] == "no_endpoint").all()
    assert (calls.loc[calls["sent_s"] > 9.0004, "status"] == "ok").all()


# --------------------------------------------------------------- 4. the death spiral
def overload(liveness: bool, probe_path: str = "pool") -> dict:
    # One pod, 4 workers sharing 1 core, 10 ms per request: capacity 100/s.
    # 150/s arrive: the unbounded queue grows by 50/s.
    service = {"replicas": 1, "pod": {"cpu": 1, "workers": 4, "queue": None, "work": 0.01,
                                      "probe_path": probe_path}}
    if liveness:
        service["livenessProbe"] = {"periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 1}
    return scenario("spiral", 120, {"rate": 150, "process": "deterministic"}, service)


def test_overload_fails_liveness_through_the_worker_pool_and_restarts_the_pod():
    result = sim.run(overload(True))
    # Probe at 0 on an empty pod: ok. At 10 the probe queues behind ~500 requests
    # (5 s of work): it times out at 11; 21 and 31 too -> restart at 31 (the first
    # restart is immediate). The new container's probe at 31 finds the pod empty
    # (its queue died with the old container) and passes; 41, 51, 61 time out ->
    # exit at 62, back-off 10 s -> start 72; 82, 92, 102 -> exit at 103.
    assert event_times(result, "pod_restarted") == [31.0, 62.0, 103.0]
    assert event_times(result, "pod_started") == [0.0, 31.0, 72.0]
    calls = result.calls
    killed = calls["reason"] == "pod_killed"
    assert killed.sum() > 0 and (calls.loc[killed, "status"] == "error").all()
    assert set(calls.loc[killed, "ended_s"]) == {31.0, 62.0, 103.0}
    assert result.summary["services"]["web"]["restarts"] == 3


@pytest.mark.parametrize("liveness,path", [(False, "pool"), (True, "dedicated")])
def test_same_overload_without_pooled_liveness_never_restarts(liveness, path):
    result = sim.run(overload(liveness, path))
    assert event_times(result, "pod_restarted") == []
    assert result.summary["services"]["web"]["restarts"] == 0
    calls = result.calls
    assert (calls["reason"] != "pod_killed").all()
    # the pod keeps serving at capacity: 100/s for 120 s (less the last request)
    assert (calls["status"] == "ok").sum() == pytest.approx(12000, abs=5)


# --------------------------------------------------------------------- 8. metrics
RPS = "requests_per_second"


def pods_metric(target) -> dict:
    return {"type": "Pods", "pods": {"metric": {"name": RPS},
                                     "target": {"type": "AverageValue", "averageValue": target}}}


def metrics_scenario(metrics, *, replicas=1, rate=35, behavior=None, cpu_request=0.25) -> dict:
    hpa = {"minReplicas": 1, "maxReplicas": 10, "metrics": metrics,
           "behavior": behavior if behavior is not None else {}}
    return scenario("metrics", 100, steps((0.001, rate)), {
        "replicas": replicas, "hpa": hpa,
        "pod": {"cpu": 4, "cpu_request": cpu_request, "workers": 16, "queue": None,
                "work": 0.010003}})


def test_pods_metric_requests_per_second_average_value_scales_to_total_over_target():
    # 35 requests/s on one pod, target 10 per pod: ratio 3.5, ceil(3.5 * 1) = 4 =
    # ceil(35 / 10) (within the default scale-up limit 5). Then 8.75 per pod:
    # ratio 0.875, ceil(3.5) = 4, no change.
    result = sim.run(metrics_scenario([pods_metric(10)]))
    assert scaled(result) == [(30.0, 1, 4, 4, "DesiredWithinRange")]
    assert scaled_metrics(result) == [f"{RPS} 35/10"]
    assert desired_between(result, 30, 100) == {4}


@pytest.mark.parametrize("rps_target,expected", [(10, 4), (20, 3)])
def test_several_metrics_the_largest_proposal_wins(rps_target, expected):
    # CPU: 35/s x 10.003 ms = 0.35 cores = 140 % of 250m -> ratio 2.8 -> 3.
    # requests/s: ceil(35 / 10) = 4 or ceil(35 / 20) = 2. The largest wins.
    result = sim.run(metrics_scenario([CPU50, pods_metric(rps_target)]))
    assert scaled(result)[0] == (30.0, 1, expected, expected, "DesiredWithinRange")
    assert scaled_metrics(result)[0] == f"cpu 140%/50%; {RPS} 35/{rps_target}"


UNKNOWN_EXTERNAL = {"type": "External", "external": {
    "metric": {"name": "nosuch.requests_per_second"},
    "target": {"type": "AverageValue", "averageValue": 10}}}


def test_an_invalid_metric_does_not_block_scale_up():
    result = sim.run(metrics_scenario([CPU50, UNKNOWN_EXTERNAL]))
    assert scaled(result)[0] == (30.0, 1, 3, 3, "DesiredWithinRange")
    assert "invalid" in scaled_metrics(result)[0]


def test_an_invalid_metric_blocks_scale_down():
    # 1 request/s of 10 ms over 4 pods of 250m: 1 % each, ratio 0.02, ceil(0.08) = 1.
    # CPU alone scales down to 1 at the first sync with
    # metrics (window 0); with an invalid metric beside it Kubernetes never scales
    # down (computeReplicasForMetrics returns an error, the sync stops).
    quiet = {"scaleDown": {"stabilizationWindowSeconds": 0}}
    control = sim.run(metrics_scenario([CPU50], replicas=4, rate=1, behavior=quiet))
    assert scaled(control) == [(30.0, 4, 1, 1, "DesiredWithinRange")]
    blocked = sim.run(metrics_scenario([CPU50, UNKNOWN_EXTERNAL], replicas=4, rate=1,
                                       behavior=quiet))
    assert scaled(blocked) == []
    assert set(blocked.timeseries["desired_replicas"]) == {4}


def test_pods_metric_target_may_be_a_kubernetes_quantity():
    # "10000m" is 10: the same decision as test_pods_metric_requests_per_second_...
    result = sim.run(metrics_scenario([pods_metric("10000m")]))
    assert scaled(result) == [(30.0, 1, 4, 4, "DesiredWithinRange")]
    assert scaled_metrics(result) == [f"{RPS} 35/10"]


def test_scale_up_tolerance_from_behavior_holds_a_scale_up_the_default_would_make():
    # tolerancesForHpa: scaleUp.tolerance 3 -> no scale-up while ratio <= 1 + 3;
    # 35/s against 10 per pod is ratio 3.5 (the default 0.1 scales to 4).
    result = sim.run(metrics_scenario([pods_metric(10)], behavior={"scaleUp": {"tolerance": 3}}))
    assert scaled(result) == []
    assert set(result.timeseries["desired_replicas"]) == {1}


def test_pods_metric_average_is_truncated_in_milli_units_as_kubernetes_does():
    # GetMetricReplicas divides milli-values. 10 pods, 88 requests/s round robin:
    # 132 per pod per 15 s window, 8.8/s = 8800m each; int(88000m / 10) = 8800m,
    # ratio 0.88 against 10 -> ceil(0.88 * 10) = 9. (Truncating whole requests/s
    # would give 8, ratio 0.8 -> 8 pods.) Then 1320 / 9 / 15 = 9.78/s per pod is
    # within tolerance.
    quiet = {"scaleDown": {"stabilizationWindowSeconds": 0}}
    result = sim.run(metrics_scenario([pods_metric(10)], replicas=10, rate=88, behavior=quiet))
    assert scaled(result) == [(30.0, 10, 9, 9, "DesiredWithinRange")]
    assert scaled_metrics(result) == [f"{RPS} 8.8/10"]
