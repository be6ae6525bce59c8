"""An external dependency: answers after a sampled response time, fails at
its baseline rate, refuses beyond its concurrency or rate limit. No pods,
no CPU, no pod-seconds (see :class:`sim.spec.external.ExternalSpec`)."""
from __future__ import annotations

from ..policies.rate_limit import TokenBucketLimiter
from ..status import (APP_ERROR, CANCELLED, CONCURRENCY_LIMIT, ERROR, FAILURE_CODES, NONE, OK,
                      RATE_LIMITED, REJECTED, TIMEOUT)
from .clock import Clock


class External:
    """The callee side of calls to one external dependency.

    Exposes what a :class:`~sim.engine.caller.CallSite` needs of a callee
    (``index``, ``name``, ``receive``, ``outlier``, ``edges``). A caller that
    gives up does not stop the provider: the attempt keeps its place in
    ``in_progress`` until the provider answers (into the void).
    """

    __slots__ = ("index", "name", "clock", "env", "latency", "errors", "error_rate",
                 "error_code", "concurrency", "in_progress", "limiter", "rejection_code",
                 "outlier", "edges", "_done")

    def __init__(self, index: int, name: str, spec, clock: Clock, streams):
        self.index = index
        self.name = name
        self.clock = clock
        self.env = clock.env
        self.latency = streams.sampler(spec.latency, f"external/{name}")
        self.errors = streams.uniforms(f"errors/{name}")
        self.error_rate = spec.error_rate
        self.error_code = FAILURE_CODES[spec.error_status]
        self.concurrency = spec.concurrency
        self.in_progress = 0
        self.limiter = None
        if spec.rate_limit is not None:
            self.limiter = TokenBucketLimiter(spec.rate_limit.rate, spec.rate_limit.burst, 0.0)
        self.rejection_code = FAILURE_CODES[spec.rejection_status]
        self.outlier = None  # no pods to eject
        self.edges: list = []
        self._done = (self._answer,)

    def receive(self, att) -> None:
        """An attempt arrives: refuse it, or answer it after a response time."""
        now = self.env._now
        att.arrived_s = now
        if att.halt:
            att.call.respond(att, TIMEOUT, CANCELLED)
            return
        if self.concurrency is not None and self.in_progress >= self.concurrency:
            self._refuse(att, CONCURRENCY_LIMIT)
            return
        if self.limiter is not None and not self.limiter.allow(now):
            self._refuse(att, RATE_LIMITED)
            return
        self.in_progress += 1
        att.started_s = now
        att.callbacks = self._done
        self.clock.event_in(next(self.latency), att)

    def _refuse(self, att, reason: int) -> None:
        att.code = self.rejection_code
        att.call.respond(att, REJECTED, reason)

    def _answer(self, att) -> None:
        self.in_progress -= 1
        att.done_s = self.env._now
        if self.error_rate > 0 and next(self.errors) < self.error_rate:
            att.code = self.error_code
            att.call.respond(att, ERROR, APP_ERROR)
        else:
            att.call.respond(att, OK, NONE)
