"""The caller's side of a call: a :class:`CallSite` per (caller, callee) edge
and a :class:`Call` per logical call, which sends one attempt.

The call path is: the caller sends an attempt over the network, the callee's
load balancer routes it to a pod, the pod serves, rejects or fails it, and the
answer travels back. A call with a policy (timeouts, retries, breaker, ...) is
a :class:`~sim.engine.resilience.ResilientCall`; a plain call has none of
that cost. The model picks the class per edge and hands it to the site.

Every attempt is registered with the calls log when sent
(``CallLog.opened``) and its two sides are closed through the log
(``close_caller`` / ``close_server``), which writes its row once both are.
"""
from __future__ import annotations

from heapq import heappush
from typing import Iterator, Optional

from simpy.core import NORMAL

from ..status import ABANDONED, CANCELLED, DERIVE_CODE, DOWNSTREAM, NONE, OK, TIMEOUT
from .clock import Clock
from .messages import INF, Attempt


class CallSite:
    """One edge of the call graph as seen by the caller.

    ``caller_index`` and ``service_index`` name the edge in the ``calls`` table;
    ``latency`` is the one-way network delay sampler (None = no delay);
    ``extra_latency`` / ``extra_reply_latency`` are the injected delay of the
    request / response leg while a latency fault hits the edge (an unhit leg
    of a hit edge draws zeros: the fast paths test ``extra_latency`` alone);
    ``call_class`` is what :meth:`new_call` makes (:class:`Call`, or
    ``ResilientCall`` when the edge has a ``policy``). ``endpoint``: the
    callee's endpoint code every call of the edge asks for (-1: the callee has
    none), unless ``pick_endpoint`` draws one per call by the endpoints'
    shares. ``duplicate(service_index, label, t_s)`` records a logical call its
    callee processed a second time; ``label`` is the code of the call's
    ``name`` (-1: unnamed).
    """

    __slots__ = ("clock", "caller_index", "service", "service_index", "latency", "log",
                 "fail_on_error", "extra_latency", "extra_reply_latency", "call_class", "policy",
                 "clients", "uniforms", "caller_name", "timeouts", "opened", "observe", "env",
                 "_queue", "_eid", "_to_service", "_to_caller", "endpoint", "pick_endpoint",
                 "duplicate", "label")

    def __init__(self, clock: Clock, caller_index: int, service, latency: Optional[Iterator[float]],
                 log, fail_on_error: bool = True, policy=None, clients=None,
                 uniforms: Optional[Iterator[float]] = None, call_class: type = None):
        self.clock = clock
        self.caller_index = caller_index
        self.service = service
        self.service_index = service.index
        self.latency = latency
        self.log = log
        self.fail_on_error = fail_on_error
        self.extra_latency = None
        self.extra_reply_latency = None
        self.policy = policy
        self.clients = clients
        self.uniforms = uniforms
        self.call_class = call_class if call_class is not None else Call
        if policy is not None and self.call_class is Call:
            raise ValueError("an edge with a call policy needs a call class that applies it")
        self.caller_name = ""
        self.timeouts = None
        self.endpoint = -1
        self.pick_endpoint = None
        self.duplicate = _not_recorded
        self.label = -1
        self.opened = log.opened
        # outlier detection is fixed when the service is built: a caller asks once here
        self.observe = service.observe_result if service.outlier is not None else None
        # a hop with latency is Clock.event_in inlined (twice per hop): these three are its state
        self.env, self._queue, self._eid = clock.env, clock._queue, clock._eid
        # the attempt is its own event in transit: shared callbacks, none made per hop
        self._to_service = (service.receive,)
        self._to_caller = (self.call_class.on_reply,)  # on_reply takes the attempt alone

    def new_call(self, parent, request_id: int, deadline_s: float = INF) -> "Call":
        return self.call_class(self, parent, request_id, deadline_s)

    def send(self, att: Attempt) -> None:
        """Register ``att`` open in the calls log, then :meth:`transmit` it."""
        self.opened(att)
        self.transmit(att)

    def transmit(self, att: Attempt) -> None:
        """Deliver an attempt to the callee after one network hop (the edge's
        latency plus any injected latency; sampled inline, as in :meth:`reply`)."""
        latency, extra = self.latency, self.extra_latency
        if latency is None and extra is None:
            self.service.receive(att)
            return
        delay = next(latency) if latency is not None else 0.0
        if extra is not None:
            delay += next(extra)
        if delay > 0.0:
            att.callbacks = self._to_service
            # Clock.event_in, inlined: SimPy's (time, NORMAL, event id, event) entry
            heappush(self._queue, (self.env._now + delay, NORMAL, next(self._eid), att))
        else:
            self.service.receive(att)

    def reply(self, att: Attempt) -> None:
        """Carry the callee's answer back to the caller after one network hop."""
        latency, extra = self.latency, self.extra_reply_latency
        if latency is None and extra is None:
            att.call.on_reply(att)
            return
        delay = next(latency) if latency is not None else 0.0
        if extra is not None:
            delay += next(extra)
        if delay > 0.0:
            att.callbacks = self._to_caller
            heappush(self._queue, (self.env._now + delay, NORMAL, next(self._eid), att))  # event_in
        else:
            att.call.on_reply(att)


def _not_recorded(service_index: int, label: int, t_s: float) -> None:
    """A site's ``duplicate`` until the model gives it the recorder's."""


def late_reason(server_status: int, server_reason: int) -> int:
    """Reason recorded when the server side closes after the caller gave up:
    ``abandoned`` if the server did its work for nobody (the waste that
    sustains retry storms), else why it stopped (cancelled, deadline, killed)."""
    if server_status == OK or server_reason in (NONE, DOWNSTREAM):
        return ABANDONED
    return server_reason


class Call:
    """A plain logical call: one attempt, no policy; reports to its parent once."""

    __slots__ = ("site", "parent", "request_id", "deadline_s", "attempts", "status",
                 "reason", "done", "live", "endpoint", "code")

    def __init__(self, site: CallSite, parent, request_id: int, deadline_s: float):
        self.site = site
        self.parent = parent
        self.request_id = request_id
        self.deadline_s = deadline_s
        self.attempts = 0
        self.done = False
        self.live = None
        self.endpoint = site.endpoint if site.pick_endpoint is None else site.pick_endpoint()
        # ``code`` is set with the outcome (on_reply, respond, _end), before anyone reads it

    def start(self) -> None:
        """Send the attempt over the network to the callee."""
        self.attempts = 1
        site = self.site
        att = self.live = Attempt(self, 1, site.env._now, INF)
        if site.latency is None and site.extra_latency is None:
            site.opened(att)  # CallSite.send without network delay, inlined (the M/M/c hot path)
            site.service.receive(att)
        else:
            site.send(att)

    def respond(self, att: Attempt, status: int, reason: int) -> None:
        """The server side of ``att`` is over (served, rejected, failed)."""
        site = self.site
        if att.caller_closed:
            # nobody waits: the row says what became of the work (a cancel or
            # a lost hedge set its own reason; a timeout left NONE)
            att.code = DERIVE_CODE  # the row's code is the caller's view (it gave up)
            if att.reason == NONE:
                att.reason = late_reason(status, reason)
            site.log.close_server(att)
            return
        att.status, att.reason = status, reason
        site.log.close_server(att)  # the caller still waits: its close writes the row
        if site.latency is not None or site.extra_latency is not None:
            site.reply(att)
            return
        # no network delay: on_reply(att), inlined (the M/M/c hot path; keep the two
        # in step; ResilientCall has its own on_reply, hence its own respond)
        site.log.close_caller(att, site.env._now)
        if site.observe is not None and att.pod is not None:
            site.observe(att.pod, status == OK)
        self.status = status
        self.reason = reason
        self.code = att.code
        self.done = True
        self.live = None
        self.parent.child_done(self)

    @staticmethod
    def on_reply(att: Attempt) -> None:
        """The answer to ``att`` reached the caller (``att.call``).

        A function of the attempt alone (a static method): an attempt coming
        back over the network has it as its SimPy callback, one tuple per site
        (``CallSite._to_caller``) instead of a bound method and a tuple per reply."""
        if att.caller_closed:
            return
        call = att.call
        site = call.site
        site.log.close_caller(att, site.env._now)
        if site.observe is not None and att.pod is not None:
            site.observe(att.pod, att.status == OK)
        call.status = att.status
        call.reason = att.reason
        call.code = att.code
        call.done = True
        # only cancel() reads ``live``, and not once done: dropping it breaks the
        # call <-> attempt cycle, so both are freed at once rather than by the GC
        call.live = None
        call.parent.child_done(call)

    def cancel(self) -> None:
        """The caller's own work stopped: stop waiting (no propagation on a plain edge)."""
        if self.done:
            return
        self.done = True
        self.status, self.reason = TIMEOUT, CANCELLED
        att, self.live = self.live, None
        if att is not None and not att.caller_closed:
            att.status, att.reason = TIMEOUT, CANCELLED
            self.site.log.close_caller(att, self.site.env._now)
