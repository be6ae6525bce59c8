"""Every key of ``summary.json``, with its unit and meaning.

The keys come from :func:`sim.record.keys.empty_run_summary`, the summary the
one writer (:func:`sim.record.run_summary.run_summary`) gives a run of a
scenario that has not started: which keys a run writes depends only on its
scenario. Names that come from the scenario become placeholders (``SERVICE``,
``ENDPOINT``, ``CHANNEL``, ``SUBSCRIBER``, ``EXTERNAL``, ``FUNCTION``, ``CALL``, ``TOPIC``, ``GROUP``,
``WORKLOAD``, ``WINDOW``); the keys under ``windows.WINDOW`` repeat the
request metrics and are described once. :data:`KEYS` holds the meanings;
:func:`undescribed` and :func:`stale` say where it and the code disagree.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from .markdown import code, table

EXAMPLE_SCENARIO = {
    "name": "reference-keys", "duration": "10m", "warmup": "1m",
    "workload": {"clients": {"target": "api", "arrivals": {"rate": 10}}},
    "services": {"api": {"pod": {"work": "5ms"},
                         "endpoints": {"get": {"calls": [{"to": "payment", "name": "charge",
                                                          "retry": {}}]}}},
                 "mailer": {"pod": {"work": "1ms"}, "consumes": {"topic": "orders"},
                            "channels": {"events": {"subscribers": {"log": {}}}}}},
    "external": {"payment": {"latency": "100ms"}},
    "functions": {"fraud": {"work": "20ms"}},
    "topics": {"orders": {"kind": "kafka"}},
    "cluster": {"nodes": {"count": 2, "cpu": 4}},
    "windows": {"spike": {"from": "2m", "to": "3m"}},
    "faults": [{"kind": "slowdown", "service": "api", "at": "4m", "for": "1m", "factor": 2}],
}
"""A scenario with every optional block that adds keys: nodes (``cluster``),
a named window and a fault with a length (its ``fault.0`` and ``after.fault.0``),
an endpoint, an external dependency, a named call, a topic with a consumer
and a function."""

_LAT = {"mean": "mean", "p50": "median", "p90": "90th percentile", "p95": "95th percentile",
        "p99": "99th percentile", "p999": "99.9th percentile", "max": "maximum"}
_SLO = {
    "requests": ("requests", "external requests that arrived"),
    "good": ("requests", "those that ended ok within `slo.latency`"),
    "bad": ("requests", "all the others, unfinished included (good + bad = requests)"),
    "good_ratio": ("fraction", "good / requests; null without requests"),
    "error_budget_burn": ("ratio", "(bad / requests) / (1 - target): 1 spends the error budget "
                                   "exactly; null without requests"),
}

KEYS: dict[str, tuple[str, str]] = {
    "scenario": ("text", "the scenario's `name`"),
    "seed": ("integer", "the seed the run used"),
    "duration_s": ("s", "simulated time of the run"),
    "warmup_s": ("s", "start of the measured interval `[warmup, duration)`"),
    "wall_s": ("s", "wall-clock time the simulation took"),
    "events": ("events", "SimPy events processed"),
    "requests.total": ("requests", "external requests that arrived in the measured interval"),
    "requests.ok": ("requests", "of those, ended ok"),
    "requests.failed": ("requests", "ended with any other status (unfinished excluded)"),
    **{f"requests.{s}": ("requests", f"ended with status `{s}`")
       for s in ("timeout", "rejected", "error", "breaker_open", "throttled", "budget_exhausted")},
    "requests.unfinished": ("requests", "still in flight when the run ended"),
    "offered_rps": ("requests/s", "arrivals per second of the interval; null for an empty interval"),
    "goodput_rps": ("requests/s", "ok requests per second of the interval; null for an empty interval"),
    "success_ratio": ("fraction", "ok / total; null without requests"),
    "attempts_per_request": ("attempts", "the client's attempts per finished external request"),
    **{f"latency_s.{k}": ("s", f"{v} end-to-end latency of **successful** external requests "
                               "(retries and backoff included); null without one")
       for k, v in _LAT.items()},
    **{f"latency_all_s.{k}": ("s", f"{v} end-to-end latency of every finished external request, "
                                   "whatever its status; null without one")
       for k, v in _LAT.items()},
    "slo.latency_s": ("s", "the SLO's latency (`slo.latency`)"),
    "slo.target": ("fraction", "the SLO's target (`slo.target`)"),
    **{f"slo.{k}": v for k, v in _SLO.items()},
    **{f"slo.workload.WORKLOAD.{k}": (u, m + ", of this workload") for k, (u, m) in _SLO.items()},
    "services.SERVICE.arrivals": ("attempts", "attempts sent to the service in the interval that reached it"),
    "services.SERVICE.ok": ("attempts", "attempts on the service that ended ok (caller's view)"),
    **{f"services.SERVICE.{s}": ("attempts", f"attempts on the service that ended `{s}` (caller's view)")
       for s in ("rejected", "timeout", "error")},
    "services.SERVICE.breaker_open": ("attempts", "refused by the callers' circuit breakers (never sent)"),
    "services.SERVICE.throttled": ("attempts", "refused by the callers' adaptive throttles (never sent)"),
    "services.SERVICE.attempts": ("attempts", "every attempt sent to the service in the interval"),
    "services.SERVICE.retries": ("attempts", "of those, retries and hedges (attempt > 1)"),
    "services.SERVICE.abandoned": ("attempts", "work the service finished after its caller gave up"),
    "services.SERVICE.duplicates": ("calls", "logical calls the service answered ok more than once "
                                             "(a retry or hedge after work that was done)"),
    "services.SERVICE.endpoints.ENDPOINT.arrivals": ("attempts", "attempts that reached the endpoint"),
    "services.SERVICE.endpoints.ENDPOINT.ok": ("attempts", "of those, ended ok (caller's view)"),
    "services.SERVICE.endpoints.ENDPOINT.failed": ("attempts", "of those, ended timeout, rejected or "
                                                               "error (the rest were unfinished)"),
    **{f"services.SERVICE.endpoints.ENDPOINT.latency_s.{k}": (
        "s", f"{_LAT[k]} latency of the endpoint's ok attempts, caller's view") for k in ("mean", "p50", "p99")},
    "external.EXTERNAL.attempts": ("attempts", "attempts sent to the external dependency in the interval"),
    "external.EXTERNAL.ok": ("attempts", "of those, ended ok (caller's view)"),
    "external.EXTERNAL.errors": ("attempts", "ended `error` (its `error_rate`)"),
    "external.EXTERNAL.rejected": ("attempts", "refused by its concurrency or rate limit"),
    "external.EXTERNAL.timeout": ("attempts", "the caller's timeout or deadline passed first"),
    "external.EXTERNAL.retries": ("attempts", "retries and hedges (attempt > 1)"),
    "external.EXTERNAL.abandoned": ("attempts", "answered after the caller gave up"),
    "external.EXTERNAL.duplicates": ("calls", "logical calls it answered ok more than once"),
    **{f"external.EXTERNAL.latency_s.{k}": ("s", f"{_LAT[k]} latency of ok attempts, caller's view")
       for k in ("mean", "p50", "p99")},
    "services.SERVICE.channels.CHANNEL.published": ("events", "events published to the channel in "
                                                             "the interval, over its pods"),
    "services.SERVICE.channels.CHANNEL.dropped": ("events", "dropped: the channel was full (`on_full: drop`)"),
    "services.SERVICE.channels.CHANNEL.blocked": ("events", "sends that waited for room (`on_full: block`)"),
    "services.SERVICE.channels.CHANNEL.lost": ("events", "held or being processed when their "
                                                        "container died"),
    "services.SERVICE.channels.CHANNEL.subscribers.SUBSCRIBER.processed": ("events", "processed ok"),
    "services.SERVICE.channels.CHANNEL.subscribers.SUBSCRIBER.failed": ("events", "processing failed"),
    "topics.TOPIC.published": ("messages", "publishes the broker acknowledged in the interval"),
    "topics.TOPIC.rejected": ("attempts", "publishes refused (`capacity`) in the interval"),
    "topics.TOPIC.delivered": ("deliveries", "deliveries to consumers of messages published in the "
                                             "interval (every group)"),
    "topics.TOPIC.acked": ("messages", "of those, acknowledged (processed ok)"),
    "topics.TOPIC.redelivered": ("deliveries", "deliveries after the first (retries, visibility "
                                               "timeouts, crashes)"),
    "topics.TOPIC.dead_lettered": ("messages", "messages published in the interval moved to the "
                                               "dead-letter queue, or dropped without one"),
    "topics.TOPIC.groups.GROUP.delivered": ("deliveries", "the group's deliveries"),
    "topics.TOPIC.groups.GROUP.acked": ("messages", "the group's acknowledgements"),
    "topics.TOPIC.groups.GROUP.redelivered": ("deliveries", "the group's redeliveries"),
    "topics.TOPIC.groups.GROUP.failed": ("deliveries", "processings that did not end ok"),
    "topics.TOPIC.groups.GROUP.lag_max": ("messages", "largest sampled lag of the group (Kafka: "
                                                      "uncommitted; queue: unacknowledged)"),
    "topics.TOPIC.groups.GROUP.oldest_age_max_s": ("s", "largest sampled age of its oldest "
                                                        "unacknowledged message"),
    **{f"topics.TOPIC.groups.GROUP.end_to_end_s.{k}": ("s", f"{_LAT[k]} time from publish to "
                                                            "acknowledgement") for k in ("mean", "p50", "p99")},
    "topics.TOPIC.groups.GROUP.wait_s.mean": ("s", "mean time from publish to first delivery"),
    "functions.FUNCTION.invocations": ("requests", "requests that arrived at the function in the interval"),
    "functions.FUNCTION.cold_starts": ("instances", "instances started on demand (each one a cold start)"),
    "functions.FUNCTION.cold_start_ratio": ("fraction", "cold starts / invocations; null without invocations"),
    "functions.FUNCTION.throttled": ("requests", "refused at `max_instances`"),
    "functions.FUNCTION.instances_mean": ("instances", "time-weighted mean of the instances alive"),
    "functions.FUNCTION.instances_max": ("instances", "most instances alive at once"),
    "functions.FUNCTION.busy_instances_mean": ("instances", "time-weighted mean of the instances serving "
                                                            "or starting for a request"),
    "functions.FUNCTION.busy_instance_seconds": ("instance·s", "time instances served or started for "
                                                                 "a request (Cloud Run bills it)"),
    "functions.FUNCTION.idle_instance_seconds": ("instance·s", "time instances were alive with nothing to do"),
    **{f"functions.FUNCTION.latency_{w}_s.{k}": ("s", f"{_LAT[k]} time at the function of {w} requests"
                                                     + (" (cold start included)" if w == "cold" else ""))
       for w in ("warm", "cold") for k in ("mean", "p50", "p99")},
    "functions.FUNCTION.billed_s": ("s", "billed duration: each request's run (and a cold start's "
                                         "init) rounded up to 1 ms, summed (Lambda's rule)"),
    "functions.FUNCTION.billed_gb_seconds": ("GB·s", "billed_s × memory"),
    "cost.total": ("USD", "what the run would cost at `prices`: the nodes if priced, else the pods, "
                          "plus every function"),
    "cost.pods": ("USD", "pods by request: cpu_request × vCPU-hour + memory × GiB-hour, over pod-seconds"),
    "cost.nodes": ("USD", "node_hours × `cluster.node_cost_per_hour` (0 without a cluster)"),
    "cost.functions.FUNCTION.requests": ("USD", "the function's requests (Lambda or Cloud Run price)"),
    "cost.functions.FUNCTION.compute": ("USD", "Lambda: billed GB-seconds; Cloud Run: vCPU- and "
                                               "GiB-seconds of busy instances"),
    "cost.functions.FUNCTION.total": ("USD", "requests + compute"),
    "call_sites.CALL.duplicates": ("calls", "logical calls of the named call (`name`) that the callee "
                                            "answered ok more than once; 0 where idempotency holds"),
    "services.SERVICE.bulkhead_full": ("attempts", "refused by the callers' bulkheads "
                                                   "(status rejected, never sent)"),
    "services.SERVICE.attempts_per_request": ("attempts", "attempts on the service per external "
                                              "request (amplification); null without requests"),
    "services.SERVICE.waited_ratio": ("fraction", "share of arrivals at a pod that found every worker busy"),
    "services.SERVICE.queue_wait_s.mean": ("s", "mean wait for a worker"),
    "services.SERVICE.queue_wait_s.p99": ("s", "99th percentile wait for a worker"),
    **{f"services.SERVICE.latency_s.{k}": ("s", f"{_LAT[k]} latency of ok attempts, caller's view "
                                                "(network included)") for k in ("mean", "p50", "p99")},
    "services.SERVICE.cpu_utilization": ("fraction", "CPU used over CPU requested by running pods, "
                                         "as the HPA sees it"),
    "services.SERVICE.throttled_periods": ("periods", "CFS periods in which the pods stalled on their "
                                           "quota (`pod.cpu_limit`)"),
    "services.SERVICE.throttled_s": ("s", "time the pods' threads stalled on their CFS quota"),
    "services.SERVICE.replicas.mean": ("pods", "time-weighted mean of the pods that exist"),
    "services.SERVICE.replicas.min": ("pods", "fewest pods at once"),
    "services.SERVICE.replicas.max": ("pods", "most pods at once"),
    "services.SERVICE.replicas.final": ("pods", "pods at the end of the run"),
    "services.SERVICE.pod_seconds": ("pod·s", "time the service's pods existed, summed over pods (cost)"),
    "services.SERVICE.restarts": ("events", "container restarts (`pod_restarted`)"),
    "services.SERVICE.scale_ups": ("events", "HPA decisions to scale up"),
    "services.SERVICE.scale_downs": ("events", "HPA decisions to scale down"),
    "cluster.node_hours": ("node·h", "time nodes existed, summed over nodes (with `cluster` only)"),
    "cluster.nodes_final": ("nodes", "nodes at the end of the run (with `cluster` only)"),
    "cluster.cost": ("currency", "node_hours × `cluster.node_cost_per_hour` (with `cluster` only)"),
    "pod_seconds": ("pod·s", "pod-seconds summed over services"),
    "hops_per_request": ("attempts", "attempts on every service per external request; null without requests"),
    "windows.WINDOW.from_s": ("s", "start of the window, clipped to the measured interval"),
    "windows.WINDOW.to_s": ("s", "end of the window, clipped to the measured interval"),
    "memory.request_bytes": ("bytes", "request rows kept at the end (`record: full`: every "
                                      "request; `sample`: the sampled and failed; `summary`: 0)"),
    "memory.call_bytes": ("bytes", "attempt rows kept at the end (as `memory.request_bytes`)"),
}
"""Placeholder key -> (unit, meaning). Keys under ``windows.WINDOW.`` other
than its bounds are the request metrics over the window (see :func:`pattern`)."""

WINDOW_METRIC = "windows.WINDOW.*"


def flatten(summary: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every leaf key of ``summary`` (any type), dotted, in the file's order."""
    for key, value in summary.items():
        if isinstance(value, Mapping):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def _names(scenario) -> list[tuple[str, str]]:
    """(prefix, placeholder) of every scenario-named part of a key, longest first."""
    from ..record.windows import measurement_windows
    pairs = [(f"services.{s}.", "services.SERVICE.") for s in scenario.services]
    pairs += [(f"services.{s}.endpoints.{e}.", "services.SERVICE.endpoints.ENDPOINT.")
              for s, spec in scenario.services.items() for e in spec.endpoints]
    pairs += [(f"external.{x}.", "external.EXTERNAL.") for x in scenario.external]
    pairs += [(f"functions.{f}.", "functions.FUNCTION.") for f in scenario.functions]
    pairs += [(f"cost.functions.{f}.", "cost.functions.FUNCTION.") for f in scenario.functions]
    pairs += [(f"services.{s}.channels.{c}.subscribers.{b}.",
               "services.SERVICE.channels.CHANNEL.subscribers.SUBSCRIBER.")
              for s, spec in scenario.services.items() for c, ch in spec.channels.items()
              for b in ch.subscribers]
    pairs += [(f"services.{s}.channels.{c}.", "services.SERVICE.channels.CHANNEL.")
              for s, spec in scenario.services.items() for c in spec.channels]
    pairs += [(f"call_sites.{c}.", "call_sites.CALL.") for c in scenario.call_site_names()]
    pairs += [(f"topics.{t}.groups.{g}.", "topics.TOPIC.groups.GROUP.") for t, g in scenario.consumer_groups()]
    pairs += [(f"topics.{t}.", "topics.TOPIC.") for t in scenario.topics]
    pairs += [(f"windows.{w.name}.", "windows.WINDOW.") for w in measurement_windows(scenario)]
    return sorted(pairs, key=lambda p: -len(p[0]))


def pattern(key: str, scenario) -> str:
    """``key`` with scenario names as placeholders (``services.api.ok`` ->
    ``services.SERVICE.ok``); a window's request metric becomes the metric's
    own top-level key prefixed with ``windows.WINDOW.``."""
    for prefix, placeholder in _names(scenario):
        if key.startswith(prefix):
            key = placeholder + key[len(prefix):]
            break
    for workload in scenario.workload:
        key = key.replace(f"slo.workload.{workload}.", "slo.workload.WORKLOAD.")
    return key


def written_patterns(scenario) -> list[str]:
    """The placeholder keys a run of ``scenario`` writes, in the file's order, once each."""
    from ..record.keys import empty_run_summary
    seen: dict[str, None] = {}
    for key in flatten(empty_run_summary(scenario)):
        seen.setdefault(pattern(key, scenario), None)
    return list(seen)


def _described(key: str) -> bool:
    if key in KEYS:
        return True
    head = "windows.WINDOW."
    return key.startswith(head) and key[len(head):] in KEYS and not key[len(head):].startswith(
        ("services.", "windows.", "cluster.", "memory."))


def undescribed(scenario) -> list[str]:
    """Placeholder keys a run of ``scenario`` writes that :data:`KEYS` does not describe."""
    return [k for k in written_patterns(scenario) if not _described(k)]


def example_scenario():
    from ..spec import load
    return load(EXAMPLE_SCENARIO)


def stale() -> list[str]:
    """Keys of :data:`KEYS` that a run of :data:`EXAMPLE_SCENARIO` (which has
    every optional block) no longer writes."""
    written = set(written_patterns(example_scenario()))
    return [k for k in KEYS if k not in written]


def window_metrics(scenario) -> list[str]:
    """The request metrics repeated under each ``windows.WINDOW.``."""
    head = "windows.WINDOW."
    return [k[len(head):] for k in written_patterns(scenario)
            if k.startswith(head) and k[len(head):] not in ("from_s", "to_s")]


def section() -> str:
    """Section 3: every ``summary.json`` key."""
    scenario = example_scenario()
    rows, windowed = [], window_metrics(scenario)
    for key in written_patterns(scenario):
        if key.startswith("windows.WINDOW.") and key[len("windows.WINDOW."):] in windowed:
            continue
        unit, meaning = KEYS.get(key, ("", ""))
        rows.append((code(key), unit, meaning))
        if key == "windows.WINDOW.to_s":
            tops = list(dict.fromkeys(k.split(".")[0] for k in windowed))
            rows.append((code(WINDOW_METRIC), "as above",
                         "the request metrics " + ", ".join(code(t) for t in tops)
                         + " over the window (requests counted by arrival)"))
    return "\n\n".join([
        "## 3. `summary.json`",
        "Everything is measured over `[warmup, duration)`; requests are counted by their "
        "arrival time, with their final outcome. A `null` means \"not measured\" (no request, "
        "an empty interval). Placeholders: `SERVICE` is each service's name, `WORKLOAD` each "
        "workload's, `WINDOW` each window's: the scenario's `windows` and, for fault `I` (from 0), "
        "`fault.I` (while it lasts; not for a crash) and `after.fault.I` (from its end to the end "
        "of the run). `cluster` is there only when the scenario has a `cluster`.",
        "`latency_s` covers successful requests only: a run that fails fast looks fast. Never "
        "rank or decide on it alone; read it with `success_ratio`, `latency_all_s` and `slo`.",
        "Experiments (`results.parquet`, `metrics:`) use these keys flattened with dots, numeric "
        "leaves only (`scenario` is dropped, `null` becomes NaN); an experiment's own `wall_s` and "
        "`seed` are its record's.",
        table(["key", "unit", "meaning"], rows),
    ])
