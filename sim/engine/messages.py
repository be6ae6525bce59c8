"""What travels: the :class:`Attempt` of a call (an external request is the
workload's call, see :mod:`sim.engine.workload`).

An attempt is one try on one hop. It is also the unit of work at the pod that
serves it: it holds a worker there, computes, and may make downstream calls.
It has two sides, each closed exactly once: the caller's (sent, ended, status
as the caller saw it) and the server's (arrived, started, done). Its row in
the ``calls`` table is written when both are closed.

``halt`` is raised when the attempt's work must stop: its caller gave up and
propagated the cancellation (Go's context), or its pod was killed. Work stops
at the next step boundary; downstream calls it waits on are cancelled at once.
"""
from __future__ import annotations

from ..status import DERIVE_CODE, DOWNSTREAM, ERROR, NONE, OK, UNFINISHED, resolve_code

NAN = float("nan")
INF = float("inf")


class Attempt:
    """One try of a :class:`~sim.engine.caller.Call` on one hop."""

    __slots__ = ("call", "no", "pod", "program", "sent_s", "arrived_s", "started_s",
                 "done_s", "ended_s", "status", "reason", "work_s", "step", "pending",
                 "failed", "cpu_seq", "caller_closed", "server_closed", "timer", "children",
                 "halt", "deadline_s", "is_retry", "callbacks", "code")

    _ok = True  # an attempt in transit is its own SimPy event (see Clock.event_in)

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
        self.caller_closed = False
        self.server_closed = False
        self.timer = None
        self.children = None
        self.halt = False
        self.deadline_s = deadline_s
        self.code = DERIVE_CODE

    def child_done(self, call) -> None:
        """A downstream call made by this attempt's work has ended."""
        if self.server_closed:
            return  # this attempt was cancelled or killed meanwhile
        self.pending -= 1
        if call.status != OK and call.site.fail_on_error:
            self.failed = True
            self.code = resolve_code(call.code, call.status, call.reason)  # passed up, as grpc-go does
            if self.pending:
                # errgroup.WithContext: the first failure cancels the siblings
                for sibling in self.children:
                    if not sibling.done:
                        sibling.cancel()
                self.pending = 0
        if self.pending == 0:  # Program.children_done, inlined (once per step of calls)
            # every child is done: drop them, which breaks the attempt <-> call
            # cycles (``call.parent``) so they are freed at once, not by the GC
            self.children = None
            if self.failed:
                self.pod.finish(self, ERROR, DOWNSTREAM)
            else:
                self.program.proceed(self)
