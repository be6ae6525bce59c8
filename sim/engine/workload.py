"""Traffic sources: open loop (arrival times decided in advance) and closed
loop (users who think, send one request, wait for it, and think again).

A source is the parent of the calls it starts: when one ends
(``child_done``) the request it carries (``call.request_id``) ends in the
requests log, exactly once.
"""
from __future__ import annotations

from typing import Iterator

from .clock import Clock
from .messages import INF

MIN_RETRY_THINK_S = 1e-3


class OpenLoop:
    """Requests arrive at precomputed times whatever the system does."""

    __slots__ = ("index", "name", "clock", "site", "times", "log", "issued", "callbacks",
                 "_next", "_event_at")

    _ok = True  # the source is its own SimPy event: one per arrival, no alarm

    def __init__(self, index: int, name: str, clock: Clock, site, times: Iterator[float], log):
        self.issued = 0
        self._next = (self._arrive,)
        self._event_at = clock.event_at  # bound once: runs once per arrival
        self.index = index
        self.name = name
        self.clock = clock
        self.site = site
        self.times = times
        self.log = log

    def start(self) -> None:
        first = next(self.times, None)
        if first is not None:
            self.callbacks = self._next
            self._event_at(first, self)

    def _arrive(self, _event) -> None:
        now = self.clock.env._now
        following = next(self.times, None)
        if following is not None:
            self.callbacks = self._next  # the source is the event of its next arrival
            self._event_at(following, self)
        self.issued += 1
        site = self.site
        site.call_class(site, self, self.log.arrive(self.index, now), INF).start()

    def child_done(self, call) -> None:
        """A request ended: record its end, status and attempts."""
        self.log.end(call.request_id, self.clock.env._now, call.status, call.attempts, self.index)


class ClosedLoop:
    """``users`` users, each thinking then waiting for one request at a time.

    Each user starts with a think time, so users do not arrive in lockstep.
    """

    __slots__ = ("index", "name", "clock", "site", "users", "think", "log", "issued")

    def __init__(self, index: int, name: str, clock: Clock, site, users: int,
                 think: Iterator[float], log):
        self.issued = 0
        self.index = index
        self.name = name
        self.clock = clock
        self.site = site
        self.users = users
        self.think = think
        self.log = log

    def start(self) -> None:
        for _ in range(self.users):
            self.clock.call_in(next(self.think), self._arrive, None)

    def _arrive(self, _unused) -> None:
        now = self.clock.env._now
        self.issued += 1
        self.site.new_call(self, self.log.arrive(self.index, now)).start()

    def child_done(self, call) -> None:
        """The user's request ended: record it; the user thinks, then sends the next.

        A request answered in zero simulated time (an instant rejection with
        no network latency) is followed by at least ``MIN_RETRY_THINK_S``:
        with zero think time the user would otherwise spin without time ever
        advancing. Requests that take any time are followed by the think time
        exactly.
        """
        now = self.clock.env._now
        arrived = self.log.end(call.request_id, now, call.status, call.attempts, self.index)
        think = next(self.think)
        if think < MIN_RETRY_THINK_S and arrived == now:
            think = MIN_RETRY_THINK_S
        self.clock.call_in(think, self._arrive, None)
