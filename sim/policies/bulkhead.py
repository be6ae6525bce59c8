"""Bulkheads: admission arithmetic only; the simulator does the waiting.

* :class:`SemaphoreBulkhead` imitates Resilience4j ``bulkhead/internal/SemaphoreBulkhead``:
  ``max_concurrent_calls`` permits; a caller that finds none may wait up to
  ``max_wait_s`` (Java ``semaphore.tryAcquire(maxWaitDuration)``). The
  semaphore is fair by default (``fairCallHandlingEnabled``), so waiters are
  served first-in first-out and a newcomer never overtakes them.
* :class:`ThreadPoolBulkhead` imitates Resilience4j ``FixedThreadPoolBulkhead``:
  a ``ThreadPoolExecutor(core, max, ArrayBlockingQueue(queue))``. A task runs
  at once on a core thread if fewer than ``core`` are busy, else waits in the
  bounded queue, else (only if ``max_threads > core``) runs on an extra thread,
  else is rejected (``BulkheadFullException``). A queued task cannot be taken
  back: cancelling its future leaves it in the executor's queue.
"""
from __future__ import annotations

import math
from typing import Literal, Optional

Admission = Literal["started", "queued", "rejected"]


def _int_at_least(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class SemaphoreBulkhead:
    """At most ``max_concurrent_calls`` calls at once.

    Protocol: ``try_enter()``; if False and :attr:`may_wait`, the simulator
    may call ``start_waiting()`` and keep the caller in its own FIFO for at
    most ``max_wait_s``; a caller that gives up calls ``stop_waiting()``.
    ``release()`` ends a call; it returns True when the freed permit went to
    the longest waiter, which the simulator must then resume (it holds the
    permit now).
    """

    def __init__(self, max_concurrent_calls: int, max_wait_s: float = 0.0, fair: bool = True):
        self.max_concurrent_calls = _int_at_least("max_concurrent_calls", max_concurrent_calls, 1)
        if isinstance(max_wait_s, bool) or not isinstance(max_wait_s, (int, float)) \
                or not math.isfinite(max_wait_s) or max_wait_s < 0:
            raise ValueError(f"max_wait_s must be a finite number >= 0, got {max_wait_s!r}")
        self.max_wait_s = float(max_wait_s)
        if not isinstance(fair, bool):
            raise ValueError("fair must be a bool")
        self.fair = fair
        self.available = self.max_concurrent_calls
        self.waiting = 0

    @property
    def may_wait(self) -> bool:
        """Whether a caller refused by ``try_enter`` may wait for a permit."""
        return self.max_wait_s > 0.0

    def try_enter(self) -> bool:
        """Take a permit now if one is free (and, when fair, nobody is waiting)."""
        if self.available == 0 or (self.fair and self.waiting > 0):
            return False
        self.available -= 1
        return True

    def start_waiting(self) -> None:
        if not self.may_wait:
            raise ValueError("this bulkhead has max_wait_s == 0: callers may not wait")
        self.waiting += 1

    def stop_waiting(self) -> None:
        """A waiter gave up (its ``max_wait_s`` elapsed) without a permit."""
        if self.waiting == 0:
            raise ValueError("stop_waiting without a waiter")
        self.waiting -= 1

    def release(self) -> bool:
        """A call ended. True: its permit passed to the longest waiter."""
        if self.waiting > 0:
            self.waiting -= 1
            return True
        if self.available == self.max_concurrent_calls:
            raise ValueError("release without a matching try_enter")
        self.available += 1
        return False


class ThreadPoolBulkhead:
    """``core`` threads and a queue of ``queue`` tasks (``max_threads`` defaults to ``core``)."""

    def __init__(self, core: int, queue: int, max_threads: Optional[int] = None):
        self.core = _int_at_least("core", core, 1)
        self.queue = _int_at_least("queue", queue, 0)
        self.max_threads = core if max_threads is None else _int_at_least(
            "max_threads", max_threads, 1)
        if self.max_threads < self.core:
            raise ValueError(f"max_threads ({max_threads}) must be >= core ({core})")
        self.running = 0
        self.queued = 0

    @property
    def available_threads(self) -> int:
        return self.max_threads - self.running

    @property
    def remaining_queue_capacity(self) -> int:
        return self.queue - self.queued

    def try_submit(self) -> Admission:
        """Admit a task: ``"started"`` (runs now), ``"queued"`` or ``"rejected"``."""
        if self.running < self.core:
            self.running += 1
            return "started"
        if self.queued < self.queue:
            self.queued += 1
            return "queued"
        if self.running < self.max_threads:
            self.running += 1
            return "started"
        return "rejected"

    def on_done(self) -> bool:
        """A running task ended. True: the oldest queued task starts on its thread."""
        if self.running == 0:
            raise ValueError("on_done without a running task")
        if self.queued > 0:
            self.queued -= 1
            return True
        self.running -= 1
        return False
