"""Statuses, reasons, code families and event kinds: the words of
:mod:`sim.status`, explained.

The names come from :mod:`sim.status` (``STATUS_NAMES``, ``REASON_NAMES``,
``CODE_NAMES``, ``EVENT_KINDS``); the meanings are here. :func:`undescribed` and
:func:`stale` say where the two disagree (the reference test fails on either).
"""
from __future__ import annotations

from .. import status
from ..spec.policy import DEFAULT_RETRY_ON
from .markdown import code, table

STATUSES = {
    "ok": "the callee answered with success",
    "timeout": "no answer before the attempt's timeout or the call's deadline",
    "rejected": "refused: a full queue or bulkhead, no endpoint, an app not yet listening, "
                "shed by `max_queue_time` (a 503)",
    "error": "failed: a downstream call failed, the pod was killed, an injected fault (a 500)",
    "breaker_open": "the caller's circuit breaker refused the attempt; it was never sent",
    "throttled": "the caller's adaptive throttle refused the attempt; it was never sent",
    "budget_exhausted": "a retry was due but the retry budget refused it",
    "unfinished": "still in flight when the run ended (not a failure; 0 attempts)",
}

REASONS = {
    "": "no particular reason (the status says it all)",
    "queue_full": "the pod's worker pool and queue were full",
    "no_endpoint": "the service had no Ready pod",
    "not_serving": "the container runs but the app is not listening yet (connection refused)",
    "downstream": "a downstream call of the request failed",
    "pod_killed": "the pod was restarted or deleted with the request in it",
    "deadline": "the propagated deadline passed",
    "cancelled": "the caller cancelled (gave up, or a sibling in a fan-out failed)",
    "fault_error": "an `errors` fault failed the request",
    "fault_outage": "an `outage` fault refused or swallowed the request",
    "shed": "dropped after queueing longer than `max_queue_time`",
    "bulkhead_full": "the caller's bulkhead was full (status `rejected`, never sent)",
    "grace_expired": "termination grace ran out before the work finished",
    "abandoned": "the server finished work its caller had given up on",
    "hedge_lost": "another attempt of the same call answered first",
    "app_error": "the callee's own baseline error (an endpoint's or an external's `error_rate`)",
    "middleware_rejected": "a middleware layer refused it (`reject_ratio`, e.g. auth)",
    "rate_limited": "a token-bucket rate limiter had no token (a middleware's or an external's)",
    "concurrency_limit": "the external dependency had `concurrency` calls in progress",
    "topic_full": "a publish found its topic holding `capacity` messages",
}

CODES = {
    "ok": "success",
    "cancelled": "the caller gave up or a hedge lost (never retried: the call is over)",
    "invalid_argument": "the caller's mistake (e.g. an endpoint's `error_status`); retrying "
                        "cannot help",
    "deadline_exceeded": "a timeout, or work dropped past its propagated deadline",
    "unauthenticated": "refused by an auth middleware (its default status)",
    "resource_exhausted": "refused for lack of room: bulkhead, rate limit, concurrency limit, "
                          "a full topic",
    "internal": "a downstream failure passed up without a code of its own, or an endpoint's "
                "default `error_status`",
    "unavailable": "no endpoint, a full queue, a reset connection, a killed pod, an injected "
                   "fault, an open breaker (Envoy's 503)",
    "": "unfinished",
}

EVENT_KINDS = {
    "pod_created": "the ReplicaSet created a pod",
    "pod_pending": "the pod waits for room on a node",
    "pod_scheduled": "the pod was bound to a node",
    "pod_started": "the container started (image pulled)",
    "pod_ready": "the pod joined the service's endpoints",
    "pod_unready": "the pod left the service's endpoints (readiness failed)",
    "pod_restarted": "the container was restarted (liveness or startup probe failed, or a crash)",
    "pod_terminating": "the pod left the endpoints and drains its in-flight work",
    "pod_deleted": "the pod is gone",
    "pod_ejected": "outlier detection took the pod out of load balancing",
    "pod_unejected": "outlier detection put the pod back into load balancing",
    "scaled": "the HPA rescaled the service; detail: `direction=up|down`, current, desired and "
              "the limiting reason",
    "breaker_opened": "a circuit breaker opened",
    "breaker_half_open": "a circuit breaker let trial calls through",
    "breaker_closed": "a circuit breaker closed again",
    "fault_started": "an injected fault began",
    "fault_ended": "an injected fault ended",
    "node_provisioning": "the cluster autoscaler asked for a node",
    "node_added": "a node joined the cluster",
    "node_removed": "the cluster autoscaler removed a node",
    "rollout_started": "a rolling update began",
    "rollout_finished": "a rolling update finished",
}


def vocabularies() -> dict[str, tuple[set[str], dict[str, str]]]:
    """Name -> (the words :mod:`sim.status` defines, their meanings here)."""
    return {"status": (set(status.STATUS_NAMES), STATUSES),
            "reason": (set(status.REASON_NAMES), REASONS),
            "code": (set(status.CODE_NAMES), CODES),
            "event kind": (set(status.EVENT_KINDS), EVENT_KINDS)}


def undescribed() -> list[str]:
    """Words the code writes that have no meaning here."""
    return [f"{what} {word!r}" for what, (words, meant) in vocabularies().items()
            for word in sorted(words - set(meant))]


def stale() -> list[str]:
    """Meanings here of words the code no longer writes."""
    return [f"{what} {word!r}" for what, (words, meant) in vocabularies().items()
            for word in sorted(set(meant) - words)]


def section() -> str:
    """Section 4: statuses, reasons and event kinds."""
    reasons = [(code(r) if r else "(empty)", REASONS.get(r, "")) for r in status.REASON_NAMES]
    return "\n\n".join([
        "## 4. Statuses, reasons and event kinds",
        "From `sim.status`. Statuses are the `status` column of `requests.parquet` and "
        "`calls.parquet` and the status keys of `summary.json`. Every outcome also has a gRPC "
        "code family (`calls.code`): an explicit one (an endpoint's `error_status`, a downstream "
        "call's code passed up as grpc-go passes a returned status) or the one its status and "
        "reason imply. `retry.retry_on` names code families, or the statuses "
        + ", ".join(code(s) for s in sorted(status.RETRYABLE_NAMES)) + "; its default, "
        + ", ".join(code(c) for c in DEFAULT_RETRY_ON) + ", retries every transient failure "
        "(the same attempts as the earlier default `[timeout, rejected, error]`).",
        "### Statuses",
        table(["status", "meaning"], [(code(s), STATUSES.get(s, "")) for s in status.STATUS_NAMES]),
        "### Reasons (`calls.reason`)",
        table(["reason", "meaning"], reasons),
        "### Code families (`calls.code`)",
        table(["code", "meaning"], [(code(c) if c else "(empty)", CODES.get(c, ""))
                                    for c in status.CODE_NAMES]),
        "### Event kinds (`events.kind`)",
        table(["kind", "meaning"], [(code(k), EVENT_KINDS.get(k, "")) for k in sorted(status.EVENT_KINDS)]),
    ])
