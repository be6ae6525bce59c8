"""What one request does inside a pod: its steps, run by callbacks.

The default plan of a service is: compute (``work``, processor-shared CPU),
then ``io`` (holds the worker, no CPU), then each downstream call in order; a
``parallel`` step fans out and waits for all its calls. Each step either
finishes at once (returns False) or arranges for ``proceed`` to be called
when it is done (returns True).

Failures: a downstream call that fails (after its own retries) fails the
request with ``error`` unless its ``on_failure`` is ``ignore``; in a fan-out
the first failure cancels the siblings (Go's ``errgroup.WithContext``).
Cancellation (``att.halt``) is honoured at step boundaries: Go does not
preempt a computing goroutine, but its next context check returns.
"""
from __future__ import annotations

from math import isnan
from typing import Callable, Sequence

from ..status import CANCELLED, DOWNSTREAM, ERROR, NONE, OK

Step = Callable[[object], bool]


class Program:
    """The steps of one kind of request, shared by every pod of a service."""

    __slots__ = ("steps", "count")

    def __init__(self, steps: Sequence[Step] = ()):
        self.steps = tuple(steps)
        self.count = len(self.steps)

    def start(self, att) -> None:
        att.program = self
        att.step = 0
        att.pending = 0
        att.failed = False
        if att.halt:
            halt(att)
            return
        # proceed, inlined from step 0 (once per request)
        steps, count, i = self.steps, self.count, 0
        while i < count:
            att.step = i + 1
            if steps[i](att):
                return
            i += 1
        att.pod.finish(att, OK, NONE)

    def proceed(self, att) -> None:
        """Run steps until one is asynchronous or the plan is done."""
        if att.halt:
            halt(att)
            return
        steps, count, i = self.steps, self.count, att.step
        while i < count:
            att.step = i + 1
            if steps[i](att):
                return
            i += 1
        att.pod.finish(att, OK, NONE)

    def children_done(self, att) -> None:
        """The downstream calls ``att`` waited on have ended (inlined in
        :meth:`.messages.Attempt.child_done`: keep the two in step)."""
        if att.failed:
            att.pod.finish(att, ERROR, DOWNSTREAM)
        else:
            self.proceed(att)


class ComputeOnly(Program):
    """The plan of a leaf service that only computes: the same semantics as
    ``Program([cpu_step])`` in fewer calls (the M/M/c hot path)."""

    __slots__ = ()

    def __init__(self):
        super().__init__([cpu_step])

    def start(self, att) -> None:
        att.program = self
        att.step = 1
        if att.work_s > 0.0:
            att.pod.compute(att, att.work_s)
        else:
            att.pod.finish(att, OK, NONE)

    def proceed(self, att) -> None:
        if att.halt:
            halt(att)
            return
        # Pod.finish(att, OK, NONE), inlined (once per request; keep the two in step)
        pod = att.pod
        att.done_s = pod.env._now
        pod.running.discard(att)
        pod.busy -= 1
        if pod.queue:
            pod._dequeue()
        att.call.respond(att, OK, NONE)
        if pod.draining:
            pod._check_drained()


def halt(att) -> None:
    """Stop an attempt's work now: cancel what it waits on, free its worker."""
    if att.server_closed:
        return
    cancel_children(att)
    att.pod.finish(att, ERROR, CANCELLED)


def cancel_children(att) -> None:
    children = att.children
    if children:
        att.children = None
        for call in children:
            if not call.done:
                call.cancel()
        att.pending = 0


def cancel_work(att) -> None:
    """The caller of ``att`` gave up and propagates it: stop the callee's work.

    Queued work is dropped when it reaches the head of the queue (and at
    arrival if it has not arrived yet); work waiting on downstream calls
    stops now; computing work stops at the end of its CPU step.
    """
    att.halt = True
    if att.server_closed or att.pod is None or att.cpu_seq or not has_started(att):
        return  # over, travelling, computing or queued: each checks ``halt`` itself later
    if att.children and att.pending:
        halt(att)


def has_started(att) -> bool:
    """Whether the attempt has taken a worker at its pod; False while it waits
    in the pod's queue (``started_s`` stays NaN until a worker takes it)."""
    return not isnan(att.started_s)


def cpu_step(att) -> bool:
    """Compute the attempt's sampled work on its pod's shared CPU."""
    if att.work_s > 0.0:
        att.pod.compute(att, att.work_s)
        return True
    return False


def io_step(clock, sampler) -> Step:
    """Hold the worker for a sampled time without using CPU, times the pod's
    ``io_slowdown`` when the step starts (a slowdown fault; fixed for the step)."""
    def step(att) -> bool:
        delay_s = next(sampler) * att.pod.io_slowdown
        if delay_s > 0.0:
            att.callbacks = (att.program.proceed,)
            clock.event_in(delay_s, att)
            return True
        return False
    return step


def call_step(site) -> Step:
    """One downstream call; the attempt resumes when it ends."""
    def step(att) -> bool:
        att.pending = 1
        call = site.call_class(site, att, att.call.request_id, att.deadline_s)  # site.new_call, inlined
        att.children = (call,)  # a tuple: cheaper than a list, and never changed
        call.start()
        return True
    return step


def parallel_step(sites) -> Step:
    """A fan-out: all calls at once; resume when all have ended."""
    def step(att) -> bool:
        att.pending = len(sites)
        request_id, deadline_s = att.call.request_id, att.deadline_s
        calls = [site.call_class(site, att, request_id, deadline_s)  # site.new_call, inlined
                 for site in sites]
        att.children = calls
        for call in calls:
            if att.server_closed or att.failed:
                break  # an earlier sibling failed at once and cancelled the rest
            call.start()
        return True
    return step


def compute_step(sampler) -> Step:
    """Compute a freshly sampled amount of CPU work (middleware, ``after``)."""
    def step(att) -> bool:
        work_s = next(sampler)
        if work_s > 0.0:
            att.pod.compute(att, work_s)
            return True
        return False
    return step


def maybe_call_step(site, probability: float, uniforms) -> Step:
    """A call made with ``probability`` (a cache miss); skipped at once otherwise."""
    call = call_step(site)

    def step(att) -> bool:
        if next(uniforms) >= probability:
            return False
        return call(att)
    return step


def branching_parallel_step(sites, branches) -> Step:
    """A fan-out whose calls are each made with their own probability:
    ``branches[i]`` is ``(probability, uniforms)`` or None (always made)."""
    def step(att) -> bool:
        chosen = [site for site, branch in zip(sites, branches)
                  if branch is None or next(branch[1]) < branch[0]]
        if not chosen:
            return False
        return parallel_step(chosen)(att)
    return step


def fail_step(probability: float, uniforms, status: int, reason: int, code: int) -> Step:
    """With ``probability``, end the request here with ``status``/``reason``
    and the code family ``code`` (a baseline error, a middleware refusal)."""
    def step(att) -> bool:
        if next(uniforms) < probability:
            att.code = code
            att.pod.finish(att, status, reason)
            return True
        return False
    return step


def limit_step(limiter_of, status: int, reason: int, code: int) -> Step:
    """Refuse the request if its pod's rate limiter has no token now
    (``limiter_of(pod)``: that pod's limiter, made on first use)."""
    def step(att) -> bool:
        pod = att.pod
        if limiter_of(pod).allow(pod.env._now):
            return False
        att.code = code
        pod.finish(att, status, reason)
        return True
    return step
