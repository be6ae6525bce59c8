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

from ..status import STATUS_NAMES
from ..status import SCALE_UP, SCALED, scaled_direction
from .pods import PodIntervals, overlap_s, step_levels
from .tallies import RequestTally, ServiceTally

REQUEST_STATUSES = ("ok", "timeout", "rejected", "error", "breaker_open", "throttled",
                    "budget_exhausted")


def _num(x: Any) -> Optional[float]:
    """JSON-safe float: NaN/inf become None."""
    x = float(x)
    return x if math.isfinite(x) else None


def latency_block(dist, full: bool = True) -> dict[str, Optional[float]]:
    """Mean and percentiles (and max when ``full``) of a distribution
    (:mod:`sim.record.distribution`); None where there are no values."""
    qs = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999} if full \
        else {"p50": 0.5, "p99": 0.99}
    block = {"mean": _opt(dist.mean())}
    block.update(zip(qs, (_opt(v) for v in dist.quantiles(list(qs.values())))))
    if full:
        block["max"] = _opt(dist.max())
    return block


def _opt(x: Optional[float]) -> Optional[float]:
    return None if x is None else _num(x)


def request_summary(tally: RequestTally) -> dict:
    """Requests that arrived in the tally's interval: counts by final status,
    rates over the interval's length (None for an empty interval), success
    ratio, attempts per finished request, latency of the successful ones."""
    window = tally.end_s - tally.start_s
    counts = {name: int(tally.status[i]) for i, name in enumerate(STATUS_NAMES)}
    total = tally.total
    ok = counts["ok"]
    requests = {"total": total, "ok": ok, "failed": total - ok - counts["unfinished"]}
    requests.update({k: counts[k] for k in REQUEST_STATUSES if k != "ok"})
    requests["unfinished"] = counts["unfinished"]
    return {
        "requests": requests,
        "offered_rps": total / window if window > 0 else None,
        "goodput_rps": ok / window if window > 0 else None,
        "success_ratio": _num(ok / total) if total else None,
        "attempts_per_request": _opt(tally.attempts_mean()),
        "latency_s": latency_block(tally.latency_ok),
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


def endpoints_block(tally: ServiceTally) -> dict:
    """``services.NAME.endpoints.EP``: attempts that reached the endpoint,
    those that ended ok (and their latency, the caller's view) or failed."""
    return {name: {"arrivals": t.arrivals, "ok": t.ok, "failed": t.failed,
                   "latency_s": latency_block(t.latency_ok, full=False)}
            for name, (_code, t) in tally.endpoints.items()}


def external_summary(tally: ServiceTally, duplicates: int) -> dict:
    """``external.NAME``: attempts sent to the dependency in the window, as
    their callers saw them, and the latency of the ok ones."""
    counts = {name: int(tally.status[i]) for i, name in enumerate(STATUS_NAMES)}
    return {"attempts": tally.attempts, "ok": counts["ok"], "errors": counts["error"],
            "rejected": counts["rejected"], "timeout": counts["timeout"],
            "retries": tally.retries, "abandoned": tally.abandoned, "duplicates": duplicates,
            "latency_s": latency_block(tally.latency_ok, full=False)}


def channels_block(recorder, service: str, spec) -> dict:
    """``services.NAME.channels.CH``: events published in the window to the
    channel, dropped (full, ``on_full: drop``), blocked (their publisher
    waited for room), lost with a dead container, and per subscriber those
    processed ok or failed."""
    out = {}
    for name in spec.channels:
        c = recorder.channel_counts[(service, name)]
        out[name] = {"published": c.published, "dropped": c.dropped, "blocked": c.blocked,
                     "lost": c.lost,
                     "subscribers": {sub: {"processed": c.processed[sub], "failed": c.failed[sub]}
                                     for sub in c.processed}}
    return out


def functions_block(tally, spec, window_s: float) -> dict:
    """``functions.NAME``: invocations (arrived in the window), cold starts
    and their ratio, throttled, instances (time-weighted mean and max), busy
    instances (mean), idle instance-seconds, the latency at the function of
    warm and of cold requests, billed seconds and GB-seconds."""
    n = tally.invocations
    return {"invocations": n, "cold_starts": tally.cold_starts,
            "cold_start_ratio": _num(tally.cold_starts / n) if n else None,
            "throttled": tally.throttled,
            "instances_mean": tally.instance_s / window_s if window_s > 0 else None,
            "instances_max": tally.instances_max,
            "busy_instances_mean": tally.busy_instance_s / window_s if window_s > 0 else None,
            "busy_instance_seconds": tally.busy_instance_s,
            "idle_instance_seconds": tally.instance_s - tally.busy_instance_s,
            "latency_warm_s": latency_block(tally.latency_warm, full=False),
            "latency_cold_s": latency_block(tally.latency_cold, full=False),
            "billed_s": tally.billed_s, "billed_gb_seconds": tally.billed_s * spec.memory}


def topics_summary(scenario, recorder, samples: dict) -> dict:
    """``topics.NAME``: publishes acknowledged by the broker (``published``)
    or refused (``rejected``) in the window; deliveries, acknowledgements,
    redeliveries and dead letters of the messages published in it, in all
    and per consumer ``groups.GROUP`` (with the group's largest sampled lag
    and oldest-message age, end-to-end latency and wait)."""
    groups = scenario.consumer_groups()
    out = {}
    for j, (name, tally) in enumerate(zip(scenario.topics, recorder.topic_tallies)):
        mine = {g: recorder.group_tallies[i] for i, (t, g) in enumerate(groups) if t == name}
        block = {"published": int(tally.status[0]), "rejected": int(tally.status[2]),
                 "delivered": sum(t.delivered for t in mine.values()),
                 "acked": sum(t.acked for t in mine.values()),
                 "redelivered": sum(t.redelivered for t in mine.values()),
                 "dead_lettered": recorder.messages.dead_letters.get(tally.index, 0),
                 "groups": {g: _group_block(t, scenario, name, g, samples) for g, t in mine.items()}}
        out[name] = block
    return out


def _group_block(tally, scenario, topic: str, group: str, samples: dict) -> dict:
    services = [i for i, (n, s) in enumerate(scenario.services.items())
                if s.consumes is not None and s.consumes.topic == topic
                and (s.consumes.group or n) == group]
    rows = np.isin(samples["service"], services) & (samples["t_s"] >= scenario.warmup)
    lag, age = samples["lag"][rows], samples["oldest_age_s"][rows]
    return {"delivered": tally.delivered, "acked": tally.acked, "redelivered": tally.redelivered,
            "failed": tally.failed,
            "lag_max": _opt(float(np.nanmax(lag))) if len(lag) and not np.isnan(lag).all() else None,
            "oldest_age_max_s": _opt(float(np.nanmax(age))) if len(age) and not np.isnan(age).all()
            else None,
            "end_to_end_s": latency_block(tally.end_to_end, full=False),
            "wait_s": {"mean": _opt(tally.wait_mean())}}


def service_summary(tally: ServiceTally, samples: dict, pods: PodIntervals, events,
                    cpu_request: float, requests_in_window: int, duplicates: int = 0,
                    channels: Optional[dict] = None) -> dict:
    """One service's block over the tally's interval (see the module docstring)."""
    index, warmup_s, end_s = tally.index, tally.start_s, tally.end_s
    counts = {name: int(tally.status[i]) for i, name in enumerate(STATUS_NAMES)}
    mine = pods.of_service(index)
    running = overlap_s(pods.started_s[mine], pods.deleted_s[mine], warmup_s, end_s).sum()
    used = _cpu_used_in_window(samples, index, warmup_s, end_s)
    alive = overlap_s(pods.created_s[mine], pods.deleted_s[mine], warmup_s, end_s).sum()
    kinds = _event_counts(events, index, warmup_s, end_s)
    attempts = tally.attempts
    wait_p99 = tally.queue_wait.quantiles([0.99])[0]
    return {
        "arrivals": tally.arrivals, "ok": counts["ok"], "rejected": counts["rejected"],
        "timeout": counts["timeout"], "error": counts["error"],
        "breaker_open": counts["breaker_open"], "throttled": counts["throttled"],
        "attempts": attempts, "retries": tally.retries,
        "abandoned": tally.abandoned, "duplicates": duplicates,
        "bulkhead_full": tally.bulkhead_full,
        "attempts_per_request": _num(attempts / requests_in_window) if requests_in_window else None,
        "waited_ratio": _num(tally.busy / tally.at_pod) if tally.at_pod else None,
        "queue_wait_s": {"mean": _opt(tally.queue_wait.mean()), "p99": _opt(wait_p99)},
        "latency_s": latency_block(tally.latency_ok, full=False),
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
        "endpoints": endpoints_block(tally),
        "channels": channels or {},
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
