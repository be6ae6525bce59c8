"""A scenario's ``CallPolicy`` block compiled for the engine.

The same block describes an external client's calls and each call between
services: timeouts and deadlines, retries (attempts, which statuses, backoff,
budget), circuit breaker, bulkhead, hedging and adaptive throttling. Compiled
once per edge; the per-caller state it asks for lives in
:class:`~sim.engine.clients.Clients` and the behaviour in
:class:`~sim.engine.resilience.ResilientCall`.
"""
from __future__ import annotations

from typing import Optional

from ..policies.backoff import make_backoff
from ..status import FAILURE_CODES, REJECTED, RETRYABLE_NAMES, resolve_code


RETRYABLE_STATUSES = frozenset(RETRYABLE_NAMES.values())


class CallPolicy:
    """The policy of one edge (times in seconds; None = not asked for)."""

    def __init__(self, spec):
        self.spec = spec
        self.timeout_s: Optional[float] = spec.timeout
        self.deadline_s: Optional[float] = spec.deadline
        self.propagate: bool = spec.propagate_deadline
        retry = spec.retry
        self.max_attempts = retry.max_attempts if retry else 1
        names = retry.retry_on if retry else ()
        self.retry_statuses = frozenset(RETRYABLE_NAMES[n] for n in names if n in RETRYABLE_NAMES)
        self.retry_codes = frozenset(FAILURE_CODES[n] for n in names if n in FAILURE_CODES)
        self.idempotent: bool = spec.idempotent
        self.backoff = make_backoff(retry.backoff.model_dump()) if retry else None
        self.budget_spec = retry.budget if retry else None
        self.breaker_spec = spec.circuit_breaker
        self.bulkhead_spec = spec.bulkhead
        self.hedge = spec.hedge
        self.throttle_spec = spec.throttle
        self.gated = (self.throttle_spec is not None or self.breaker_spec is not None
                      or self.bulkhead_spec is not None)
        """Whether an attempt passes a throttle, breaker or bulkhead before it is sent."""
        self.has_state = self.gated or self.budget_spec is not None
        """Whether a caller keeps policy state (:class:`~sim.engine.clients.Clients`);
        the call path skips every policy hook on an edge without."""

    def retries(self, att, status: int) -> bool:
        """Whether a failed attempt may be retried (attempts and budget aside).

        Only ``timeout``, ``rejected`` and ``error`` are; then the status must
        be named in ``retry_on`` (a legacy name) or the attempt's code family
        be. A non-idempotent call retries only a refusal (``rejected``: the
        server did no work), never a timeout or an error.
        """
        if status not in RETRYABLE_STATUSES:
            return False
        if not self.idempotent and status != REJECTED:
            return False
        return status in self.retry_statuses or \
            resolve_code(att.code, status, att.reason) in self.retry_codes

    @staticmethod
    def is_plain(spec) -> bool:
        """True if the block asks for nothing (a plain call is faster)."""
        return (spec.timeout is None and spec.deadline is None and not spec.propagate_deadline
                and spec.retry is None and spec.circuit_breaker is None and spec.bulkhead is None
                and spec.hedge is None and spec.throttle is None)
