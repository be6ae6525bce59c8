"""The request and per-service blocks of ``summary.json``, over [warmup, duration].

The whole summary is assembled by :mod:`sim.record.run_summary` (which adds
``latency_all_s`` and ``slo`` from :mod:`sim.record.outcomes` and the
``windows`` of :mod:`sim.record.windows`); its key set is
:func:`sim.record.keys.summary_keys`.

- ``requests``: external requests that *arrived* in the window, by final status
  (plus ``unfinished``: still in flight when the run ended).
- ``latency_s``: end to end over successful external requests (retries and
  backoff included).
- per service, over the attempts *sent* to it in the window: arrivals (those
  that reached it), statuses as the caller saw them (``breaker_open``,
  ``throttled`` and ``bulkhead_full``, a ``rejected`` by the caller's own
  bulkhead, never left the caller), ``waited_ratio`` (share
  of arrivals at a pod that found every worker busy), queue wait, latency of
  successful attempts (caller's view, network included), CPU used over CPU
  requested (as the HPA sees it), replicas (time-weighted), pod-seconds.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ..status import (ABANDONED, BULKHEAD_FULL, FAULT_ERROR, FAULT_OUTAGE, NOT_SERVING, OK,
                             STATUS_NAMES, UNFINISHED)
from ..status import SCALE_UP, SCALED, scaled_direction
from .pods import PodIntervals, overlap_s, step_levels

REQUEST_STATUSES = ("ok", "timeout", "rejected", "error", "breaker_open", "throttled",
                    "budget_exhausted")


def _num(x: Any) -> Optional[float]:
    """JSON-safe float: NaN/inf become None."""
    x = float(x)
    return x if math.isfinite(x) else None


def _quantiles(values: np.ndarray, qs: dict[str, float]) -> dict[str, Optional[float]]:
    if len(values) == 0:
        return {k: None for k in qs}
    vals = np.quantile(values, list(qs.values()))
    return {k: _num(v) for k, v in zip(qs, vals)}


def latency_block(values: np.ndarray, full: bool = True) -> dict[str, Optional[float]]:
    qs = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999} if full \
        else {"p50": 0.5, "p99": 0.99}
    block = {"mean": _num(values.mean()) if len(values) else None}
    block.update(_quantiles(values, qs))
    if full:
        block["max"] = _num(values.max()) if len(values) else None
    return block


def _status_counts(status: np.ndarray) -> dict[str, int]:
    counts = np.bincount(status.astype(np.int64), minlength=len(STATUS_NAMES))
    return {name: int(counts[i]) for i, name in enumerate(STATUS_NAMES)}


def request_summary(req: dict[str, np.ndarray], warmup_s: float, end_s: float) -> dict:
    """Requests that arrived in ``[warmup_s, end_s)``: counts by final status,
    rates over the interval's length (None for an empty interval), success
    ratio, attempts per finished request, latency of the successful ones."""
    window = end_s - warmup_s
    mask = (req["arrival_s"] >= warmup_s) & (req["arrival_s"] < end_s)
    status = req["status"][mask]
    counts = _status_counts(status)
    total = int(mask.sum())
    ok = counts["ok"]
    requests = {"total": total, "ok": ok, "failed": total - ok - counts["unfinished"]}
    requests.update({k: counts[k] for k in REQUEST_STATUSES if k != "ok"})
    requests["unfinished"] = counts["unfinished"]
    good = mask & (req["status"] == OK)
    latency = req["end_s"][good] - req["arrival_s"][good]
    done = mask & (req["status"] != UNFINISHED)
    attempts = req["attempts"][done]
    return {
        "requests": requests,
        "offered_rps": total / window if window > 0 else None,
        "goodput_rps": ok / window if window > 0 else None,
        "success_ratio": _num(ok / total) if total else None,
        "attempts_per_request": _num(attempts.mean()) if len(attempts) else None,
        "latency_s": latency_block(latency),
    }


def _cpu_used_in_window(samples: dict, service: int, warmup_s: float, end_s: float,
                        column: str = "cpu_used_s") -> float:
    """Increase over the window of a cumulative sampled level (CPU seconds by default)."""
    rows = samples["service"] == service
    t, used = samples["t_s"][rows], samples[column][rows]

    def at(x: float) -> float:
        hit = np.nonzero(np.isclose(t, x))[0]
        return float(used[hit[-1]]) if len(hit) else 0.0

    return at(end_s) - (at(warmup_s) if warmup_s > 0 else 0.0)


def service_summary(index: int, calls: dict, samples: dict, pods: PodIntervals, events,
                    cpu_request: float, warmup_s: float, end_s: float, requests_in_window: int) -> dict:
    sel = (calls["service"] == index) & (calls["sent_s"] >= warmup_s) & (calls["sent_s"] < end_s)
    status, arrived = calls["status"][sel], calls["arrived_s"][sel]
    started, pod = calls["started_s"][sel], calls["pod"][sel]
    reached = ~np.isnan(arrived)
    at_pod = reached & (pod >= 0)
    reason = calls["reason"][sel]
    turned_away = np.isin(reason, (FAULT_ERROR, FAULT_OUTAGE, NOT_SERVING))  # never queued
    busy = at_pod & ((started > arrived) | (np.isnan(started) & ~turned_away))
    waits = (started - arrived)[~np.isnan(started)]
    ok = status == OK
    latency = (calls["ended_s"][sel] - calls["sent_s"][sel])[ok]
    counts = _status_counts(status)

    mine = pods.of_service(index)
    running = overlap_s(pods.started_s[mine], pods.deleted_s[mine], warmup_s, end_s).sum()
    used = _cpu_used_in_window(samples, index, warmup_s, end_s)
    alive = overlap_s(pods.created_s[mine], pods.deleted_s[mine], warmup_s, end_s).sum()
    kinds = _event_counts(events, index, warmup_s, end_s)
    arrivals = int(reached.sum())
    attempts = int(sel.sum())
    return {
        "arrivals": arrivals, "ok": counts["ok"], "rejected": counts["rejected"],
        "timeout": counts["timeout"], "error": counts["error"],
        "breaker_open": counts["breaker_open"], "throttled": counts["throttled"],
        "attempts": attempts, "retries": int((calls["attempt"][sel] > 1).sum()),
        "abandoned": int((reason == ABANDONED).sum()),
        "bulkhead_full": int((reason == BULKHEAD_FULL).sum()),
        "attempts_per_request": _num(attempts / requests_in_window) if requests_in_window else None,
        "waited_ratio": _num(busy.sum() / at_pod.sum()) if at_pod.any() else None,
        "queue_wait_s": {"mean": _num(waits.mean()) if len(waits) else None,
                         "p99": _num(np.quantile(waits, 0.99)) if len(waits) else None},
        "latency_s": latency_block(latency, full=False),
        "cpu_utilization": _num(used / (cpu_request * running)) if running > 0 else None,
        # CFS throttling of pod.cpu_limit (sim.policies.cfs): periods with a stall, stalled seconds
        "throttled_periods": int(round(_cpu_used_in_window(samples, index, warmup_s, end_s,
                                                           "throttled_periods"))),
        "throttled_s": _cpu_used_in_window(samples, index, warmup_s, end_s, "throttled_s"),
        "replicas": step_levels(pods.created_s[mine], pods.live_until_s[mine], warmup_s, end_s),
        "pod_seconds": float(alive),
        "restarts": kinds.get("pod_restarted", 0),
        "scale_ups": kinds.get("scale_up", 0),
        "scale_downs": kinds.get("scale_down", 0),
    }


def _event_counts(events, service: int, warmup_s: float, end_s: float) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t, svc, _pod, kind, detail in events.rows():
        if svc == service and warmup_s <= t <= end_s:
            key = kind
            if kind == SCALED:
                key = "scale_up" if scaled_direction(detail) == SCALE_UP else "scale_down"
            counts[key] = counts.get(key, 0) + 1
    return counts
