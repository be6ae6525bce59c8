"""Nodes, Pending pods and the cluster autoscaler, through ``sim.run``.

Deterministic scenarios (deterministic arrivals starting 1 ms after a multiple
of 15 s, constant work, no network latency). Rules imitated:

* kube-scheduler: a pod fits a node when its CPU request is at most the node's
  allocatable CPU minus the requests already bound there; otherwise it stays
  Pending.
* cluster-autoscaler: every ``scan_interval`` it bin-packs the Pending pods
  onto new nodes, which join after ``provisioning_delay``; a node whose
  requested CPU is under half its allocatable and whose pods fit elsewhere is
  removed once it has been unneeded for ``scale_down_unneeded_time`` (outside
  ``scale_down_delay_after_add`` after a scale-up request).
* HPA as in ``test_control_plane``: the first sync with a metric is at 30 s.

The autoscaler scans every 4 s here, so its scans (4, 8, ..., 28, 32, ...) never
coincide with an HPA sync (15, 30, ...) and ordering within an instant does not
matter.
"""
from __future__ import annotations

import pytest

import sim

from scenario_helpers import CPU50, event_times

DURATION = 400.0


def cluster_scenario(points, *, max_nodes=3, cost=None) -> dict:
    # Pods request 500m on nodes of 1 CPU: two pods per node. One pod starts on
    # one node. 100 requests/s of 10.003 ms = 1.0003 cores = 200 % of the request
    # -> int 200, ratio 4, ceil(4 * 1) = 4 replicas at t=30 (limit max(1+4, 2)).
    cluster = {"nodes": {"count": 1, "cpu": 1},
               "autoscaler": {"max_nodes": max_nodes, "provisioning_delay": "90s",
                              "scan_interval": 4, "scale_down_unneeded_time": 60,
                              "scale_down_delay_after_add": 60}}
    if cost is not None:
        cluster["node_cost_per_hour"] = cost
    return {
        "name": "nodes", "duration": DURATION, "sample_interval": 5,
        "workload": {"load": {"target": "web", "arrivals": {
            "profile": [{"at": 0, "rate": 0}] + [{"at": a, "rate": r} for a, r in points],
            "process": "deterministic"}}},
        "services": {"web": {
            "replicas": 1,
            "pod": {"cpu": 2, "cpu_request": "500m", "workers": 16, "queue": None,
                    "work": 0.010003},
            "hpa": {"minReplicas": 1, "maxReplicas": 6, "metrics": [CPU50],
                    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}}},
        "cluster": cluster}


def rows(result, kind) -> list[tuple]:
    ev = result.events[result.events["kind"] == kind]
    return [(t, None if p != p else str(p), d) for t, p, d in zip(ev["t_s"], ev["pod"], ev["detail"])]


def node_seconds_from_events(result, duration: float) -> float:
    ev = result.events
    total = 0.0
    added = dict(zip(ev.loc[ev["kind"] == "node_added", "detail"],
                     ev.loc[ev["kind"] == "node_added", "t_s"]))
    removed = dict(zip(ev.loc[ev["kind"] == "node_removed", "detail"],
                       ev.loc[ev["kind"] == "node_removed", "t_s"]))
    for node, start in added.items():
        total += removed.get(node, duration) - start
    return total


def test_pending_pods_wait_for_a_node_that_joins_after_the_provisioning_delay():
    # Load drops to 1/s at 300.001: the sync at 315 sees 0 % and (window 0)
    # scales to 1.
    result = sim.run(cluster_scenario([(0.001, 100), (300.001, 1)], cost=0.5))
    # t=30: 1 -> 4. web-1 fits next to web-0 on node-0; web-2 and web-3 do not.
    assert rows(result, "scaled")[0][0] == 30.0
    assert rows(result, "pod_scheduled")[:2] == [(0.0, "web-0", "node-0"), (30.0, "web-1", "node-0")]
    assert [(t, p) for t, p, _ in rows(result, "pod_pending")] == [(30.0, "web-2"), (30.0, "web-3")]
    # first scan after 30 is at 32: both pods (2 x 500m) fit one new node
    assert [t for t, _, _ in rows(result, "node_provisioning")] == [32.0]
    # the node joins 90 s later and the Pending pods bind to it at once
    assert rows(result, "node_added") == [(0.0, None, "node-0"), (122.0, None, "node-1")]
    assert rows(result, "pod_scheduled")[2:] == [(122.0, "web-2", "node-1"),
                                                 (122.0, "web-3", "node-1")]
    for pod in ("web-2", "web-3"):
        assert event_times(result, "pod_started", pod) == [122.0]
        assert event_times(result, "pod_ready", pod) == [122.0]
    # while Pending they are replicas (the HPA counted them) but not ready
    ts = result.timeseries
    waiting = ts[(ts["t_s"] > 30) & (ts["t_s"] < 122)]
    assert set(waiting["replicas"]) == {4} and set(waiting["ready_replicas"]) == {2}
    # nothing else scaled up meanwhile: Pending pods count as unready (0 on a scale-up)
    assert [r[0] for r in rows(result, "scaled")] == [30.0, 315.0]

    # Scale-down at 315 (4 -> 1) deletes the pods ready for the shortest time
    # first: web-2 and web-3 on node-1 (ready 193 s: log2 bucket 37, in ns). The
    # third victim: web-0 (ready 315 s) and
    # web-1 (285 s) share the bucket floor(log2(age in ns)) = 38 for their ready
    # and creation times, so the UID tie-break (here the name) picks web-0.
    assert [(t, p) for t, p, _ in rows(result, "pod_terminating")] == \
        [(315.0, "web-2"), (315.0, "web-3"), (315.0, "web-0")]
    # node-1 is empty from 315: first scan 316, unneeded for 60 s -> removed at
    # the scan at 376.
    assert rows(result, "node_removed") == [(376.0, None, "node-1")]
    # node-hours: node-0 for the whole run, node-1 from 122 to 376
    cluster = result.summary["cluster"]
    expected_s = DURATION + (376.0 - 122.0)
    assert node_seconds_from_events(result, DURATION) == pytest.approx(expected_s)
    assert cluster["node_hours"] == pytest.approx(expected_s / 3600.0, abs=1e-12)
    assert cluster["cost"] == pytest.approx(0.5 * expected_s / 3600.0, abs=1e-12)
    assert cluster["nodes_final"] == 1


def test_max_nodes_reached_leaves_pods_pending():
    result = sim.run(cluster_scenario([(0.001, 100)], max_nodes=1))
    assert [p for _, p, _ in rows(result, "pod_pending")] == ["web-2", "web-3"]
    assert rows(result, "node_provisioning") == []
    assert rows(result, "node_added") == [(0.0, None, "node-0")]
    for pod in ("web-2", "web-3"):
        assert event_times(result, "pod_scheduled", pod) == []
        assert event_times(result, "pod_started", pod) == []
    ts = result.timeseries
    late = ts[ts["t_s"] > 30]
    assert set(late["replicas"]) == {4} and set(late["ready_replicas"]) == {2}
    assert result.summary["cluster"]["node_hours"] == pytest.approx(DURATION / 3600.0)


def test_scale_down_deletes_pending_pods_first_and_the_late_node_is_removed():
    # Load drops at 45.001; the sync at 60 sees [45, 60] at ~0 % -> 4 -> 1. The
    # ReplicaSet deletes unscheduled pods first (web-2, web-3, still Pending),
    # then of the two ready pods the one ready for less time (web-1: 30 s against
    # 60 s, another log2 bucket). The node requested at 32 still joins at 122,
    # empty; first scan with it at 124, unneeded for 60 s -> removed at 184.
    result = sim.run(cluster_scenario([(0.001, 100), (45.001, 1)]))
    assert [(t, p) for t, p, _ in rows(result, "pod_terminating")] == \
        [(60.0, "web-2"), (60.0, "web-3"), (60.0, "web-1")]
    for pod in ("web-2", "web-3"):
        assert event_times(result, "pod_scheduled", pod) == []
        assert event_times(result, "pod_deleted", pod) == [60.0]
    assert rows(result, "node_added") == [(0.0, None, "node-0"), (122.0, None, "node-1")]
    assert rows(result, "node_removed") == [(184.0, None, "node-1")]
    assert result.summary["cluster"]["node_hours"] == \
        pytest.approx((DURATION + 184.0 - 122.0) / 3600.0, abs=1e-12)
    # nothing was scheduled on the late node
    assert [n for _, _, n in rows(result, "pod_scheduled")] == ["node-0", "node-0"]


def test_without_a_cluster_block_capacity_is_unlimited():
    spec = cluster_scenario([(0.001, 100)])
    del spec["cluster"]
    result = sim.run(spec)
    assert rows(result, "pod_pending") == []
    assert event_times(result, "pod_scheduled") == [0.0, 30.0, 30.0, 30.0]
    assert event_times(result, "pod_ready") == [0.0, 30.0, 30.0, 30.0]
    assert "cluster" not in result.summary


def test_an_underused_node_is_drained_and_its_pod_replaced_elsewhere():
    # Two nodes of 2 CPU, two pods of 500m: the scheduler spreads them (node-1
    # scores higher once web-0 is on node-0). Both nodes are at 25 % < 50 %; the
    # autoscaler (scan every 10 s) finds node-0 removable first (same utilization,
    # name order) and then node-1 not (its pod has nowhere left to go). node-0 is
    # unneeded from the scan at 10, removed at the scan at 10 + 60 = 70; its pod
    # is evicted and the ReplicaSet replaces it on node-1.
    spec = {"name": "evict", "duration": 120, "sample_interval": 5,
            "workload": {"load": {"target": "web", "arrivals": steps_at(0.1, 5)}},
            "services": {"web": {"replicas": 2, "pod": {"cpu": 1, "cpu_request": 0.5, "workers": 4,
                                                       "queue": None, "work": 0.01}}},
            "cluster": {"nodes": {"count": 2, "cpu": 2},
                        "autoscaler": {"min_nodes": 1, "max_nodes": 2,
                                       "scale_down_unneeded_time": 60}}}
    result = sim.run(spec)
    assert rows(result, "pod_scheduled") == [(0.0, "web-0", "node-0"), (0.0, "web-1", "node-1"),
                                             (70.0, "web-2", "node-1")]
    assert rows(result, "node_removed") == [(70.0, None, "node-0")]
    assert rows(result, "pod_terminating") == [(70.0, "web-0", "evicted: node scale-down")]
    assert event_times(result, "pod_created", "web-2") == [70.0]
    assert result.summary["services"]["web"]["replicas"]["final"] == 2
    assert result.summary["cluster"]["node_hours"] == pytest.approx((120 + 70) / 3600, abs=1e-12)
    assert set(result.requests["status"].astype(str)) == {"ok"}


def steps_at(start: float, rate: float) -> dict:
    return {"profile": [{"at": 0, "rate": 0}, {"at": start, "rate": rate}],
            "process": "deterministic"}
