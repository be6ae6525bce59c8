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
"""The statuses a retry policy's ``retry_on`` may name."""

# ------------------------------------------------------------------- reasons
(NONE, QUEUE_FULL, NO_ENDPOINT, DOWNSTREAM, POD_KILLED, DEADLINE, CANCELLED, FAULT_ERROR,
 FAULT_OUTAGE, SHED, BULKHEAD_FULL, GRACE_EXPIRED, ABANDONED, HEDGE_LOST, NOT_SERVING) = range(15)
REASON_NAMES = ("", "queue_full", "no_endpoint", "downstream", "pod_killed", "deadline",
                "cancelled", "fault_error", "fault_outage", "shed", "bulkhead_full",
                "grace_expired", "abandoned", "hedge_lost", "not_serving")
"""Why an attempt ended as it did (``calls.reason``). ``abandoned``: the
server finished work its caller had given up on; ``not_serving``: the
container runs but the app is not listening yet (connection refused);
``hedge_lost``: another attempt answered."""

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
