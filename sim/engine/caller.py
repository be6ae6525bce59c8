"""The caller's side of a call: a :class:`CallSite` per (caller, callee) edge
and a :class:`Call` per logical call, which sends one attempt.

The call path is: the caller sends an attempt over the network, the callee's
load balancer routes it to a pod, the pod serves, rejects or fails it, and the
answer travels back. A call with a policy (timeouts, retries, breaker, ...) is
a :class:`~sim.engine.resilience.ResilientCall`; a plain call has none of
that cost.
"""
from __future__ import annotations

from heapq import heappush
from typing import Iterator, Optional

from .clock import Clock
from .messages import INF, Attempt
from .status import ABANDONED, CANCELLED, DOWNSTREAM, NONE, OK, TIMEOUT


class CallSite:
    """One edge of the call graph as seen by the caller.

    ``caller_index`` and ``service_index`` name the edge in the ``calls`` table;
    ``latency`` is the one-way network delay sampler (None = no delay);
    ``extra_latency`` is set while a latency fault hits the edge.
    """

    __slots__ = ("clock", "caller_index", "service", "service_index", "latency", "log",
                 "fail_on_error", "extra_latency", "call_class", "policy", "clients", "uniforms",
                 "caller_name", "timeouts", "opened", "_to_service")

    def __init__(self, clock: Clock, caller_index: int, service, latency: Optional[Iterator[float]],
                 log, fail_on_error: bool = True, policy=None, clients=None,
                 uniforms: Optional[Iterator[float]] = None):
        self.clock = clock
        self.caller_index = caller_index
        self.service = service
        self.service_index = service.index
        self.latency = latency
        self.log = log
        self.fail_on_error = fail_on_error
        self.extra_latency = None
        self.policy = policy
        self.clients = clients
        self.uniforms = uniforms
        self.caller_name = ""
        self.timeouts = None
        self.opened = log.opened
        self._to_service = (service.receive,)
        if policy is None:
            self.call_class = Call
        else:
            from .resilience import ResilientCall
            self.call_class = ResilientCall

    def new_call(self, parent, request_id: int, deadline_s: float = INF) -> "Call":
        return self.call_class(self, parent, request_id, deadline_s)

    def send(self, att: Attempt) -> None:
        """Deliver an attempt to the callee after one network hop."""
        self.opened(att)
        if self.latency is None and self.extra_latency is None:
            self.service.receive(att)
            return
        delay = next(self.latency) if self.latency is not None else 0.0
        if self.extra_latency is not None:
            delay += next(self.extra_latency)
        if delay > 0.0:
            att.callbacks = self._to_service
            clock = self.clock
            heappush(clock._queue, (clock.env._now + delay, 1, next(clock._eid), att))
        else:
            self.service.receive(att)

    def reply(self, att: Attempt) -> None:
        """Carry the callee's answer back to the caller after one network hop."""
        if self.latency is None and self.extra_latency is None:
            att.call.on_reply(att)
            return
        delay = next(self.latency) if self.latency is not None else 0.0
        if self.extra_latency is not None:
            delay += next(self.extra_latency)
        if delay > 0.0:
            att.callbacks = (att.call.on_reply,)
            clock = self.clock
            heappush(clock._queue, (clock.env._now + delay, 1, next(clock._eid), att))
        else:
            att.call.on_reply(att)


def late_reason(server_status: int, server_reason: int) -> int:
    """Reason recorded when the server side closes after the caller gave up:
    ``abandoned`` if the server did its work for nobody (the waste that
    sustains retry storms), else why it stopped (cancelled, deadline, killed)."""
    if server_status == OK or server_reason in (NONE, DOWNSTREAM):
        return ABANDONED
    return server_reason


def record_late_answer(att: Attempt, status: int, reason: int) -> None:
    """The server answered an attempt whose caller had already given up:
    nobody is waiting; write its row, saying what became of the work."""
    if att.reason == NONE:  # the caller timed out (a cancel or lost hedge says so itself)
        att.reason = late_reason(status, reason)
    site = att.call.site
    site.log.closed(att, site.caller_index, site.service_index)


class Call:
    """A plain logical call: one attempt, no policy; reports to its parent once."""

    __slots__ = ("site", "parent", "request_id", "deadline_s", "attempts", "status",
                 "reason", "done", "live")

    def __init__(self, site: CallSite, parent, request_id: int, deadline_s: float):
        self.site = site
        self.parent = parent
        self.request_id = request_id
        self.deadline_s = deadline_s
        self.attempts = 0
        self.done = False

    def start(self) -> None:
        """Send the attempt over the network to the callee."""
        self.attempts = 1
        site = self.site
        att = self.live = Attempt(self, 1, site.clock.env._now, INF)
        if site.latency is None and site.extra_latency is None:
            site.opened(att)
            site.service.receive(att)
        else:
            site.send(att)

    def respond(self, att: Attempt, status: int, reason: int) -> None:
        """The server side of ``att`` is over (served, rejected, failed)."""
        att.server_closed = True
        if att.caller_closed:
            record_late_answer(att, status, reason)
            return
        att.status, att.reason = status, reason
        self.site.reply(att)  # over the network, or straight to on_reply without latency

    def on_reply(self, att: Attempt) -> None:
        """The answer to ``att`` reached the caller."""
        if att.caller_closed:
            return
        site = self.site
        att.ended_s = site.clock.env._now
        att.caller_closed = True
        site.log.closed(att, site.caller_index, site.service_index)
        if site.service.outlier is not None and att.pod is not None:
            site.service.observe_result(att.pod, att.status == OK)
        self.status = att.status
        self.reason = att.reason
        self.done = True
        self.parent.child_done(self)

    def cancel(self) -> None:
        """The caller's own work stopped: stop waiting (no propagation on a plain edge)."""
        if self.done:
            return
        self.done = True
        self.status, self.reason = TIMEOUT, CANCELLED
        att = getattr(self, "live", None)
        if att is not None and not att.caller_closed:
            att.ended_s = self.site.clock.env._now
            att.caller_closed = True
            att.status, att.reason = TIMEOUT, CANCELLED
            if att.server_closed:
                self.site.log.closed(att, self.site.caller_index, self.site.service_index)
