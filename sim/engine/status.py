"""Outcome codes shared by the engine and the recorders.

A *status* is what the caller saw (interfaces.md lists them); a *reason* says
why, for the tables (``calls.reason``) and for explanations.
"""
from __future__ import annotations

OK, TIMEOUT, REJECTED, ERROR, BREAKER_OPEN, THROTTLED, BUDGET_EXHAUSTED, UNFINISHED = range(8)
STATUS_NAMES = ("ok", "timeout", "rejected", "error", "breaker_open", "throttled",
                "budget_exhausted", "unfinished")
"""``unfinished``: still in flight when the simulation ended (not a failure)."""

(NONE, QUEUE_FULL, NO_ENDPOINT, DOWNSTREAM, POD_KILLED, DEADLINE, CANCELLED, FAULT_ERROR,
 FAULT_OUTAGE, SHED, BULKHEAD_FULL, GRACE_EXPIRED, ABANDONED, HEDGE_LOST, NOT_SERVING) = range(15)
REASON_NAMES = ("", "queue_full", "no_endpoint", "downstream", "pod_killed", "deadline",
                "cancelled", "fault_error", "fault_outage", "shed", "bulkhead_full",
                "grace_expired", "abandoned", "hedge_lost", "not_serving")
"""Why an attempt ended as it did. ``abandoned``: the server finished work its
caller had given up on; ``not_serving``: the container runs but the app is not
listening yet (connection refused); ``hedge_lost``: another attempt answered."""

RETRYABLE_NAMES = {"timeout": TIMEOUT, "rejected": REJECTED, "error": ERROR}
