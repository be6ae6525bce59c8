"""The caller's side of a call: a :class:`CallSite` per (caller, callee) edge
and a :class:`Call` per logical call, which sends one or more attempts.

The call path is arrival -> network -> callee's load balancer -> pod -> back
over the network. Policies (timeouts, retries, breaker, ...) wrap this path in
``sim.engine.resilience``; a plain site uses none of them.
"""
from __future__ import annotations

from typing import Iterator, Optional

from .clock import Clock
from .messages import Attempt

INF = float("inf")


class CallSite:
    """One edge of the call graph as seen by the caller.

    ``caller_index`` and ``service_index`` name the edge in the ``calls`` table;
    ``latency`` is the one-way network delay sampler (None = no delay).
    """

    __slots__ = ("clock", "caller_index", "service", "service_index", "latency", "log",
                 "fail_on_error", "extra_latency")

    def __init__(self, clock: Clock, caller_index: int, service, latency: Optional[Iterator[float]],
                 log, fail_on_error: bool = True):
        self.clock = clock
        self.caller_index = caller_index
        self.service = service
        self.service_index = service.index
        self.latency = latency
        self.log = log
        self.fail_on_error = fail_on_error
        self.extra_latency = None

    def new_call(self, parent, request_id: int, deadline_s: float = INF) -> "Call":
        return Call(self, parent, request_id, deadline_s)

    def _delay(self) -> float:
        delay = next(self.latency) if self.latency is not None else 0.0
        if self.extra_latency is not None:
            delay += next(self.extra_latency)
        return delay

    def send(self, att: Attempt) -> None:
        """Deliver an attempt to the callee after one network hop."""
        self.log.opened(att)
        if self.latency is None and self.extra_latency is None:
            self.service.receive(att)
            return
        delay = self._delay()
        if delay > 0.0:
            self.clock.call_in(delay, self.service.receive, att)
        else:
            self.service.receive(att)

    def reply(self, att: Attempt) -> None:
        """Carry the callee's answer back to the caller after one network hop."""
        if self.latency is None and self.extra_latency is None:
            att.call.on_reply(att)
            return
        delay = self._delay()
        if delay > 0.0:
            self.clock.call_in(delay, att.call.on_reply, att)
        else:
            att.call.on_reply(att)

    def record(self, att: Attempt) -> None:
        self.log.closed(att, self.caller_index, self.service_index)


class Call:
    """A logical call: its attempts, its outcome, and the parent it reports to."""

    __slots__ = ("site", "parent", "request_id", "deadline_s", "attempts", "status",
                 "reason", "done")

    def __init__(self, site: CallSite, parent, request_id: int, deadline_s: float):
        self.site = site
        self.parent = parent
        self.request_id = request_id
        self.deadline_s = deadline_s
        self.attempts = 0
        self.done = False

    def start(self) -> None:
        self.send_attempt()

    def send_attempt(self) -> Attempt:
        """Send one more attempt over the network to the callee."""
        self.attempts += 1
        att = Attempt(self, self.attempts, self.site.clock.env._now, self.deadline_s)
        self.site.send(att)
        return att

    def respond(self, att: Attempt, status: int, reason: int) -> None:
        """The server side of ``att`` is over (served, rejected, failed)."""
        att.status = status
        att.reason = reason
        att.open_sides -= 1
        site = self.site
        if site.latency is None and site.extra_latency is None:
            self.on_reply(att)
        else:
            site.reply(att)

    def on_reply(self, att: Attempt) -> None:
        """The answer to ``att`` reached the caller."""
        site = self.site
        att.ended_s = site.clock.env._now
        att.open_sides -= 1
        site.log.closed(att, site.caller_index, site.service_index)
        self.status = att.status
        self.reason = att.reason
        self.done = True
        self.parent.child_done(self)

    def finish(self, status: int, reason: int) -> None:
        self.status = status
        self.reason = reason
        self.done = True
        self.parent.child_done(self)
