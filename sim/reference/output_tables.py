"""The tables of a run (``requests``, ``calls``, ``messages``, ``timeseries``,
``events``): their real columns, read from a tiny run, and what each means.

The columns are those of the frames :mod:`sim.record.tables` builds, listed by
running :data:`TINY_SCENARIO` (a second of traffic on one service) rather than
copied; the meanings are :data:`COLUMNS`. :func:`undescribed` and
:func:`stale` say where the two disagree.
"""
from __future__ import annotations

from functools import lru_cache

from .markdown import code, table

TABLES = ("requests", "calls", "messages", "timeseries", "events")

TINY_SCENARIO = {
    "name": "reference-tables", "duration": "4s", "sample_interval": "1s", "seed": 1,
    "workload": {"clients": {"target": "api", "arrivals": {"rate": 20},
                             "client": {"timeout": "1s", "retry": {"max_attempts": 2}}}},
    "services": {"api": {"replicas": 1, "pod": {"cpu": 1, "work": "5ms"},
                         "calls": [{"to": "db", "timeout": "100ms"}, {"publish": "orders"}]},
                 "db": {"replicas": 1, "pod": {"cpu": 1, "work": "2ms"}},
                 "mailer": {"pod": {"cpu": 1, "work": "1ms"}, "consumes": {"topic": "orders"}}},
    "faults": [{"kind": "slowdown", "service": "db", "at": "1s", "for": "1s", "factor": 2}],
    "topics": {"orders": {"kind": "kafka", "partitions": 2, "rebalance_pause": "0s"}},
}
"""A scenario small enough to run in well under a second, with a call between
services, so every table has rows and every column its real type."""

COLUMNS = {
    "requests": {
        "request_id": "dense id of the external request, from 0 in arrival order",
        "workload": "the workload that sent it",
        "arrival_s": "simulated time it arrived (s)",
        "end_s": "simulated time its caller saw the final outcome (s); NaN if unfinished",
        "status": "final status after retries (section 4)",
        "attempts": "attempts the client made (retries and hedges included); 0 if unfinished",
        "latency_s": "end_s - arrival_s (s), whatever the status; NaN if unfinished",
    },
    "calls": {
        "request_id": "the external request this attempt serves",
        "caller": "the calling service, or the workload for a client's attempt",
        "service": "the callee (a service or an external dependency)",
        "endpoint": "the callee's endpoint; missing for a service without endpoints",
        "attempt": "1 for the first try, 2 for the first retry or hedge, …",
        "pod": "the pod that got the attempt; missing if it reached none",
        "sent_s": "the caller sent it (s)",
        "arrived_s": "it reached the callee's pod (s); NaN if it never did",
        "started_s": "a worker took it (s); NaN if it never started",
        "done_s": "the server's side closed: served, failed, killed (s); NaN if still open",
        "ended_s": "the caller's side closed: answer, timeout, gave up (s); NaN if still open",
        "status": "the outcome as the caller saw it (section 4)",
        "reason": "why it ended so (section 4); empty when the status says it all",
        "code": "the gRPC code family of the outcome as the caller saw it (section 4)",
    },
    "messages": {
        "message_id": "the message, from 0 in publish order over every topic",
        "topic": "the topic it was delivered from",
        "group": "the consumer group it was delivered to (a queue's consumers: their service's group)",
        "partition": "its Kafka partition; -1 for a queue",
        "delivery": "1 for the first delivery to the group, 2 for the first redelivery, …",
        "pod": "the consumer pod that processed it",
        "published_s": "the broker acknowledged the publish (s)",
        "delivered_s": "handed to the consumer pod (s)",
        "ended_s": "its processing ended (s)",
        "status": "how the processing ended (section 4); `ok` acknowledges",
        "reason": "why (section 4)",
        "acked": "this delivery acknowledged the message (the first ok one)",
    },
    "timeseries": {
        "t_s": "end of the sample interval (s); each row covers the interval before it",
        "service": "the service",
        "arrivals": "attempts that reached the service's pods in the interval",
        "ok": "attempts that ended ok in the interval",
        "failed": "attempts that ended with any other status in the interval",
        "latency_p50_s": "median latency of the interval's ok attempts, caller's view (s)",
        "latency_p99_s": "p99 latency of the interval's ok attempts, caller's view (s)",
        "replicas": "pods that exist (any phase) at t_s",
        "ready_replicas": "Ready pods at t_s",
        "desired_replicas": "the replica count the ReplicaSet aims at (HPA's last decision)",
        "cpu_utilization": "CPU used over CPU requested by running pods in the interval (fraction)",
        "queue_length": "requests waiting for a worker, over all pods, at t_s",
        "in_flight": "requests holding a worker, over all pods, at t_s",
        "breakers_open": "callers' circuit breakers to this service open at t_s",
        "breakers_half_open": "callers' circuit breakers to this service half-open at t_s",
        "throttled_periods": "CFS periods in the interval in which the pods stalled on their quota",
        "throttled_s": "seconds the pods' threads stalled on their CFS quota in the interval",
        "lag": "a consumer service: messages of its group not yet acknowledged (Kafka: not "
               "committed) at t_s; NaN for other services",
        "oldest_age_s": "a consumer service: age of its group's oldest unacknowledged message at "
                        "t_s (s); NaN for other services",
        "channel_length": "a service with `channels`: events held in its pods' channels at t_s; "
                          "NaN for other services",
    },
    "events": {
        "t_s": "simulated time (s)",
        "service": "the service; missing for a cluster-wide event (nodes)",
        "pod": "the pod; missing for a service-wide event",
        "kind": "what happened (section 4)",
        "detail": "why, in `key=value` words (a scaling decision: current, desired, limiting reason)",
    },
}


@lru_cache(maxsize=1)
def real_columns() -> dict[str, list[tuple[str, str]]]:
    """Table -> [(column, dtype)] of a run of :data:`TINY_SCENARIO`."""
    from ..runner import run
    result = run(TINY_SCENARIO)
    return {name: [(str(c), str(t)) for c, t in getattr(result, name).dtypes.items()]
            for name in TABLES}


def undescribed() -> list[str]:
    """``table.column`` a run writes that :data:`COLUMNS` does not describe."""
    real = real_columns()
    return [f"{t}.{c}" for t in TABLES for c, _ in real[t] if c not in COLUMNS.get(t, {})]


def stale() -> list[str]:
    """``table.column`` described in :data:`COLUMNS` that a run no longer writes."""
    real = {t: {c for c, _ in cols} for t, cols in real_columns().items()}
    return [f"{t}.{c}" for t, cols in COLUMNS.items() for c in cols if c not in real.get(t, set())]


INTRO = {
    "requests": "one row per external request.",
    "calls": "one row per attempt on any hop (client to entry service, and service to service), "
             "written once both the caller's and the server's sides have closed.",
    "timeseries": "one row per service per sample interval (`sample_interval`).",
    "events": "one row per event of the control plane: pods, scaling, breakers, faults, nodes, rollouts.",
    "messages": "one row per delivery of a message to a consumer pod (scenarios with `topics`, "
                "`record: full` only), written when its processing ends.",
}


def section() -> str:
    """Section 2: the files of ``podsim run --out DIR`` and their columns."""
    parts = ["## 2. Output files and their columns",
             "`podsim run SCENARIO --out DIR` (and `Result.write(DIR)`) writes `summary.json` "
             "(section 3), the tables below as Parquet, and `scenario.yaml`, the scenario "
             "as resolved (defaults filled, overrides applied, durations in seconds, CPU in cores). "
             "The same tables are `Result.requests`, `.calls`, `.messages`, `.timeseries` and `.events` "
             "(pandas DataFrames). Times are simulated seconds from the start of the run."]
    for name, cols in real_columns().items():
        parts.append(f"### `{name}.parquet`")
        parts.append(INTRO[name][:1].upper() + INTRO[name][1:])
        parts.append(table(["column", "type", "meaning"],
                           [(code(c), code(t), COLUMNS.get(name, {}).get(c, "")) for c, t in cols]))
    return "\n\n".join(parts)
