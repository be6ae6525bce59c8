"""Traffic sources: open loop (arrival times decided in advance) and closed
loop (users who think, send one request, wait for it, and think again)."""
from __future__ import annotations

from typing import Iterator

from .clock import Clock
from .messages import INF, ClosedLoopRequest, Request


class OpenLoop:
    """Requests arrive at precomputed times whatever the system does."""

    __slots__ = ("index", "name", "clock", "site", "times", "log", "issued", "callbacks", "_next")

    _ok = True  # the source is its own SimPy event: one per arrival, no alarm

    def __init__(self, index: int, name: str, clock: Clock, site, times: Iterator[float], log):
        self.issued = 0
        self._next = (self._arrive,)
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
            self.clock.event_in(first - self.clock.env._now, self)

    def _arrive(self, _event) -> None:
        now = self.clock.env._now
        following = next(self.times, None)
        if following is not None:
            self.callbacks = self._next
            self.clock.event_in(following - now, self)
        self.issued += 1
        request = Request(self.log.arrive(self.index, now), self, now)
        site = self.site
        site.call_class(site, request, request.id, INF).start()


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
        request = ClosedLoopRequest(self.log.arrive(self.index, now), self, now)
        self.site.new_call(request, request.id).start()

    def think_again(self) -> None:
        self.clock.call_in(next(self.think), self._arrive, None)
