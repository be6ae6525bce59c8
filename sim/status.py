"""The words the engine writes and the recorders read: statuses, reasons,
event kinds, and the id that means "no pod".

This module imports nothing from the project, so every layer may use it: the
engine (``sim.engine``) writes these codes into the logs and the recorders
(``sim.record``) turn them into table columns and ``summary.json`` keys.

Statuses and reasons are small integers in the logs (one byte per row) and
their names in the tables. Event kinds are the strings of the ``kind`` column
of ``events.parquet``; :class:`~sim.record.logs.EventLog` refuses any other.
"""
from __future__ import annotations

# ------------------------------------------------------------------ statuses
OK, TIMEOUT, REJECTED, ERROR, BREAKER_OPEN, THROTTLED, BUDGET_EXHAUSTED, UNFINISHED = range(8)
STATUS_NAMES = ("ok", "timeout", "rejected", "error", "breaker_open", "throttled",
                "budget_exhausted", "unfinished")
"""What the caller saw. ``unfinished``: still in flight when the simulation
ended (not a failure)."""

RETRYABLE_NAMES = {"timeout": TIMEOUT, "rejected": REJECTED, "error": ERROR}
"""The statuses a retry policy's ``retry_on`` may name (besides code families).
Only an attempt that ended with one of these is ever retried: a refusal by
the caller's own breaker, throttle or budget would only be refused again."""

# ------------------------------------------------------------------- reasons
(NONE, QUEUE_FULL, NO_ENDPOINT, DOWNSTREAM, POD_KILLED, DEADLINE, CANCELLED, FAULT_ERROR,
 FAULT_OUTAGE, SHED, BULKHEAD_FULL, GRACE_EXPIRED, ABANDONED, HEDGE_LOST, NOT_SERVING,
 APP_ERROR, MIDDLEWARE_REJECTED, RATE_LIMITED, CONCURRENCY_LIMIT, TOPIC_FULL) = range(20)
REASON_NAMES = ("", "queue_full", "no_endpoint", "downstream", "pod_killed", "deadline",
                "cancelled", "fault_error", "fault_outage", "shed", "bulkhead_full",
                "grace_expired", "abandoned", "hedge_lost", "not_serving",
                "app_error", "middleware_rejected", "rate_limited", "concurrency_limit",
                "topic_full")
"""Why an attempt ended as it did (``calls.reason``). ``abandoned``: the
server finished work its caller had given up on; ``not_serving``: the
container runs but the app is not listening yet (connection refused);
``hedge_lost``: another attempt answered; ``app_error``: the callee's own
baseline errors (an endpoint's or an external's ``error_rate``);
``middleware_rejected``: a middleware layer refused it (e.g. auth);
``rate_limited``: a token-bucket rate limiter refused it (a middleware's or an
external's); ``concurrency_limit``: an external dependency was at its
concurrency limit; ``topic_full``: a topic held ``capacity`` messages."""

# ------------------------------------------------------------ code families
(CODE_OK, CODE_CANCELLED, CODE_INVALID_ARGUMENT, CODE_DEADLINE_EXCEEDED, CODE_UNAUTHENTICATED,
 CODE_RESOURCE_EXHAUSTED, CODE_INTERNAL, CODE_UNAVAILABLE, CODE_NONE) = range(9)
CODE_NAMES = ("ok", "cancelled", "invalid_argument", "deadline_exceeded", "unauthenticated",
              "resource_exhausted", "internal", "unavailable", "")
"""The gRPC status code family of an attempt's outcome (``calls.code``), as a
Go gRPC client would see it. ``""``: unfinished."""

FAILURE_CODES = {name: i for i, name in enumerate(CODE_NAMES) if name not in ("ok", "")}
"""The code families a scenario may name (``error_status``, ``retry_on``, ...)."""

DERIVE_CODE = -1
"""An attempt's ``code`` when it follows from its status and reason
(:func:`derived_code`); an explicit code (an endpoint's ``error_status``, a
downstream failure passed up) overrides it."""


def derived_code(status: int, reason: int) -> int:
    """The code family of an outcome without an explicit code.

    As Envoy and grpc-go report them: a timeout is ``deadline_exceeded``
    (``cancelled`` when the caller gave up or a hedge lost); a refusal for lack
    of room (bulkhead, rate limit, concurrency limit) ``resource_exhausted``;
    any other refusal, a reset connection, a killed pod, an injected error or
    an open breaker ``unavailable`` (Envoy maps 503 to UNAVAILABLE); a failure
    passed up from a downstream call with no code of its own ``internal``.
    """
    if status == OK:
        return CODE_OK
    if status == UNFINISHED:
        return CODE_NONE
    if reason in (CANCELLED, HEDGE_LOST):
        return CODE_CANCELLED
    if status == TIMEOUT or reason == DEADLINE:
        return CODE_DEADLINE_EXCEEDED
    if reason in (BULKHEAD_FULL, RATE_LIMITED, CONCURRENCY_LIMIT, TOPIC_FULL):
        return CODE_RESOURCE_EXHAUSTED
    if reason in (DOWNSTREAM, APP_ERROR):
        return CODE_INTERNAL
    return CODE_UNAVAILABLE


def resolve_code(code: int, status: int, reason: int) -> int:
    """``code`` if explicit, else the one its status and reason imply."""
    return code if code >= 0 else derived_code(status, reason)


DERIVED_CODES = tuple(tuple(derived_code(s, r) for r in range(len(REASON_NAMES)))
                      for s in range(len(STATUS_NAMES)))
"""``DERIVED_CODES[status][reason]``: :func:`derived_code` as a table (the
recorders resolve whole columns with it)."""

# ---------------------------------------------------------------- no pod
NO_POD = -1
"""The pod id of a row that concerns no pod: an external client's attempt
not routed to a pod, a service-wide or cluster-wide event. The tables show it
as a missing value."""

NO_SERVICE = -1
"""The service index of a cluster-wide event (nodes added or removed)."""

# ------------------------------------------------------------- event kinds
POD_CREATED, POD_PENDING, POD_SCHEDULED, POD_STARTED = (
    "pod_created", "pod_pending", "pod_scheduled", "pod_started")
POD_READY, POD_UNREADY, POD_RESTARTED, POD_TERMINATING, POD_DELETED = (
    "pod_ready", "pod_unready", "pod_restarted", "pod_terminating", "pod_deleted")
POD_EJECTED, POD_UNEJECTED = "pod_ejected", "pod_unejected"
"""Outlier detection took the pod out of, or put it back into, load balancing."""
SCALED = "scaled"
"""The HPA rescaled a service; the detail starts ``direction=up`` or
``direction=down`` (see :func:`scaled_detail`)."""
BREAKER_OPENED, BREAKER_HALF_OPEN, BREAKER_CLOSED = (
    "breaker_opened", "breaker_half_open", "breaker_closed")
FAULT_STARTED, FAULT_ENDED = "fault_started", "fault_ended"
NODE_PROVISIONING, NODE_ADDED, NODE_REMOVED = "node_provisioning", "node_added", "node_removed"
ROLLOUT_STARTED, ROLLOUT_FINISHED = "rollout_started", "rollout_finished"

EVENT_KINDS = frozenset({
    POD_CREATED, POD_PENDING, POD_SCHEDULED, POD_STARTED, POD_READY, POD_UNREADY,
    POD_RESTARTED, POD_TERMINATING, POD_DELETED, POD_EJECTED, POD_UNEJECTED, SCALED,
    BREAKER_OPENED, BREAKER_HALF_OPEN, BREAKER_CLOSED, FAULT_STARTED, FAULT_ENDED,
    NODE_PROVISIONING, NODE_ADDED, NODE_REMOVED, ROLLOUT_STARTED, ROLLOUT_FINISHED,
})
"""Every ``kind`` an event may have. A new kind of event is added here first."""

BREAKER_EVENTS = {"open": BREAKER_OPENED, "half_open": BREAKER_HALF_OPEN,
                  "closed": BREAKER_CLOSED}
"""The event written when a circuit breaker enters each state."""

# ------------------------------------------------------- scale directions
SCALE_UP, SCALE_DOWN = "up", "down"
"""Directions of a ``scaled`` event."""


def scaled_detail(direction: str, rest: str) -> str:
    """The detail of a ``scaled`` event: ``direction=<up|down> <rest>``."""
    if direction not in (SCALE_UP, SCALE_DOWN):
        raise ValueError(f"scale direction {direction!r} is neither {SCALE_UP!r} nor {SCALE_DOWN!r}")
    return f"direction={direction} {rest}"


def scaled_direction(detail: str) -> str:
    """The direction (:data:`SCALE_UP` or :data:`SCALE_DOWN`) of a ``scaled``
    event, read from the head of its detail."""
    head = detail.split(" ", 1)[0]
    direction = head.removeprefix("direction=")
    if head == direction or direction not in (SCALE_UP, SCALE_DOWN):
        raise ValueError(f"not the detail of a scaled event: {detail!r}")
    return direction
