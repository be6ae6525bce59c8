"""What travels: an external :class:`Request` and the :class:`Attempt` of a call.

An attempt is one try on one hop. It is also the unit of work at the pod that
serves it: it holds a worker there, computes, and may make downstream calls.
It has two sides: the caller's (sent, ended, status as the caller saw it) and
the server's (arrived, started, done). Its row in the ``calls`` table is
written once, when both sides are closed.
"""
from __future__ import annotations

from .status import NONE, OK, UNFINISHED

NAN = float("nan")


class Request:
    """An external request from a workload; ends exactly once via its source."""

    __slots__ = ("id", "source", "arrival_s")

    def __init__(self, request_id: int, source, arrival_s: float):
        self.id = request_id
        self.source = source
        self.arrival_s = arrival_s

    def child_done(self, call) -> None:
        self.source.request_done(self, call)


class Attempt:
    """One try of a :class:`~sim.engine.caller.Call` on one hop."""

    __slots__ = ("call", "no", "pod", "program", "sent_s", "arrived_s", "started_s",
                 "done_s", "ended_s", "status", "reason", "work_s", "step", "pending",
                 "failed", "cpu_seq", "open_sides", "timer", "children", "abandoned",
                 "deadline_s")

    def __init__(self, call, no: int, sent_s: float, deadline_s: float):
        self.call = call
        self.no = no
        self.pod = None
        self.sent_s = sent_s
        self.arrived_s = NAN
        self.started_s = NAN
        self.done_s = NAN
        self.ended_s = NAN
        self.status = UNFINISHED
        self.reason = NONE
        self.cpu_seq = 0
        self.open_sides = 2
        self.timer = None
        self.children = None
        self.abandoned = False
        self.deadline_s = deadline_s

    def child_done(self, call) -> None:
        """A downstream call made by this attempt's work has ended."""
        self.pending -= 1
        if call.status != OK and call.site.fail_on_error:
            self.failed = True
        if self.pending == 0:
            self.program.children_done(self)
