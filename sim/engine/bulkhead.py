"""A bulkhead as the call path uses it: Resilience4j's two bulkheads
(:mod:`sim.policies.bulkhead`) behind one admission answer, plus the queue of
attempts waiting for a permit, which the pure policies leave to the simulator.

The waiting itself (a semaphore's ``maxWaitDuration`` timer, handing a freed
permit to the next waiter) is done by
:class:`~sim.engine.resilience.ResilientCall`.
"""
from __future__ import annotations

from collections import deque

from ..policies.bulkhead import SemaphoreBulkhead, ThreadPoolBulkhead

GO, WAIT, FULL = "go", "wait", "full"
"""Admission answers: send now, wait for a permit, or refuse (``bulkhead_full``)."""

_THREAD_POOL_ADMISSION = {"started": GO, "queued": WAIT, "rejected": FULL}


class Bulkhead:
    """A semaphore or thread-pool bulkhead with its queue of waiting attempts."""

    def __init__(self, spec):
        self.semaphore = spec.type == "semaphore"
        self.policy = (SemaphoreBulkhead(spec.max_concurrent_calls, spec.max_wait)
                       if self.semaphore else ThreadPoolBulkhead(spec.core, spec.queue))
        self.waiters: deque = deque()

    def try_enter(self) -> str:
        """:data:`GO`, :data:`WAIT` (queued for a permit) or :data:`FULL`."""
        if self.semaphore:
            if self.policy.try_enter():
                return GO
            if self.policy.may_wait:
                self.policy.start_waiting()
                return WAIT
            return FULL
        return _THREAD_POOL_ADMISSION[self.policy.try_submit()]

    def release(self) -> bool:
        """A call left; True if a waiter now holds its permit."""
        return self.policy.release() if self.semaphore else self.policy.on_done()

    def give_up(self) -> None:
        """A waiter stopped waiting (its max wait passed, or its call ended)."""
        self.policy.stop_waiting()
