"""The plan of each service's requests: its steps, built from the scenario.

A service without ``endpoints`` has one program: middleware before ``next()``
(outermost first), then the handler (``work``, ``io``, its ``calls``), then
the middleware's after-parts (innermost first). A service with endpoints has
one such program per endpoint, whose handler adds the endpoint's ``after``
work and its baseline error; the caller picks the endpoint (named in
``to``, or drawn by the shares), so the callee only looks it up.

Refusals by middleware end the request where they happen: the layers inside
it and the handler do not run, and neither do after-parts (Go's deferred
logging would; its cost is left out on that path).
"""
from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import Callable

from ..policies.rate_limit import TokenBucketLimiter
from ..spec.distributions import is_zero
from ..status import APP_ERROR, ERROR, FAILURE_CODES, MIDDLEWARE_REJECTED, RATE_LIMITED, REJECTED
from .channels import publish_step
from .program import (branching_parallel_step, call_step, compute_step, cpu_step, fail_step,
                      io_step, limit_step, maybe_call_step, parallel_step)


def endpoint_picker(codes: list[int], shares: list[float], uniforms) -> Callable[[], int]:
    """A draw of an endpoint code by relative ``shares`` (a share of 0 is never drawn)."""
    cumulative = list(accumulate(shares))
    total, last = cumulative[-1], len(codes) - 1

    def pick() -> int:
        i = bisect_right(cumulative, next(uniforms) * total)
        return codes[i if i <= last else last]
    return pick


class PlanBuilder:
    """Builds steps for the services of one model.

    ``make_site(service, origin, call)`` returns the call site of one call
    spec made by ``service``'s requests; ``origin`` names the edge's random
    streams (``cart`` or ``cart/get``).
    """

    def __init__(self, clock, streams, make_site):
        self.clock = clock
        self.streams = streams
        self.make_site = make_site

    # ------------------------------------------------------------ programs
    def handler(self, service, origin: str, work, io, calls, endpoint=None) -> list:
        """The handler's steps: work (sampled at arrival), io, calls and, for
        an endpoint, its after-work and baseline error."""
        steps = [] if is_zero(work) else [cpu_step]
        if not is_zero(io):
            steps.append(io_step(self.clock, self.streams.sampler(io, f"io/{origin}")))
        steps += [self.call_step(service, origin, step) for step in calls]
        if endpoint is not None:
            steps += self.after(endpoint.after, f"after/{origin}")
            if endpoint.error_rate > 0:
                steps.append(fail_step(endpoint.error_rate, self.streams.uniforms(f"errors/{origin}"),
                                       ERROR, APP_ERROR, FAILURE_CODES[endpoint.error_status]))
        return steps

    def after(self, after, stream: str) -> list:
        steps = []
        if not is_zero(after.work):
            steps.append(compute_step(self.streams.sampler(after.work, f"{stream}/work")))
        if not is_zero(after.io):
            steps.append(io_step(self.clock, self.streams.sampler(after.io, f"{stream}/io")))
        return steps

    def call_step(self, service, origin: str, step):
        if hasattr(step, "parallel"):
            sites = [self.make_site(service, origin, c) for c in step.parallel]
            branches = [None if c.probability >= 1.0 else
                        (c.probability, self.streams.uniforms(f"branch/{origin}->{c.destination}"))
                        for c in step.parallel]
            if all(b is None for b in branches):
                return parallel_step(sites)
            return branching_parallel_step(sites, branches)
        bus = service.buses.get(step.publish) if step.publish is not None else None
        if bus is not None:  # the pod's own in-process channel, not a topic
            publish = publish_step(bus)
            if step.probability >= 1.0:
                return publish
            uniforms = self.streams.uniforms(f"branch/{origin}->{step.publish}")
            return lambda att: next(uniforms) < step.probability and publish(att)
        site = self.make_site(service, origin, step)
        if step.probability >= 1.0:
            return call_step(site)
        return maybe_call_step(site, step.probability,
                               self.streams.uniforms(f"branch/{origin}->{step.destination}"))

    # ----------------------------------------------------------- middleware
    def middleware(self, name: str, layers) -> tuple[list, list]:
        """``(before, after)`` steps of a service's middleware: befores in
        order (outermost first), afters in reverse (innermost first)."""
        before, after = [], []
        for layer in layers:
            stream = f"mw/{name}/{layer.name}"
            before += self.after(layer, stream)  # work then io, as an after-part
            code = FAILURE_CODES[layer.status_name]
            if layer.reject_ratio > 0:
                before.append(fail_step(layer.reject_ratio, self.streams.uniforms(f"{stream}/reject"),
                                        REJECTED, MIDDLEWARE_REJECTED, code))
            if layer.rate_limit is not None:
                before.append(limit_step(_limiters(layer.rate_limit), REJECTED, RATE_LIMITED, code))
            after = self.after(layer.after, f"{stream}/after") + after
        return before, after


def _limiters(spec) -> Callable:
    """A per-pod token bucket (Go middleware keeps its limiter in the process),
    full when the pod serves its first request."""
    by_pod: dict[int, TokenBucketLimiter] = {}

    def limiter_of(pod) -> TokenBucketLimiter:
        limiter = by_pod.get(pod.id)
        if limiter is None:
            limiter = by_pod[pod.id] = TokenBucketLimiter(spec.rate, spec.burst, pod.env._now)
        return limiter
    return limiter_of
