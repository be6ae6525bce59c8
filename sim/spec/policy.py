"""The call policy block: what a caller does around each call.

The same block serves an external client (``workload.X.client``) and every
call between services (``services.X.calls[i]``): timeouts and an overall
deadline, deadline propagation, retries with backoff and a budget, a circuit
breaker, a bulkhead, hedging and client-side adaptive throttling.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal, Optional, Union

from pydantic import (AfterValidator, BeforeValidator, Discriminator, Field, Tag, field_validator,
                      model_validator)

from .base import Duration, NonNegDuration, PosDuration, Probability, Spec, Timeout
from .distributions import LatencyDist

RETRYABLE = ("timeout", "rejected", "error")
"""Legacy ``retry_on`` names: they select by status (every code of it)."""

def _lower_code(value):
    """gRPC writes codes in capitals (``UNAVAILABLE``, ``DEADLINE_EXCEEDED``): accept them."""
    return value.lower() if isinstance(value, str) else value


CodeFamily = Annotated[Literal["cancelled", "invalid_argument", "deadline_exceeded", "unauthenticated",
                               "resource_exhausted", "internal", "unavailable"],
                       BeforeValidator(_lower_code)]
"""A gRPC status code family (sim.status.CODE_NAMES), as scenarios name them
(gRPC's capitals accepted)."""

RetryCondition = Annotated[Literal["cancelled", "invalid_argument", "deadline_exceeded",
                                   "unauthenticated", "resource_exhausted", "internal", "unavailable",
                                   "timeout", "rejected", "error"],
                           BeforeValidator(_lower_code)]
"""What ``retry_on`` lists: a code family, or a legacy status name."""

DEFAULT_RETRY_ON = ("unavailable", "deadline_exceeded", "resource_exhausted", "internal")
"""Every transient failure: everything but a caller's mistake (``invalid_argument``,
``unauthenticated``) and its own cancellation. The same attempts as the
legacy ``[timeout, rejected, error]``, which was the default before codes."""


def _whole_seconds(seconds: float) -> float:
    if seconds < 1 or abs(seconds - round(seconds)) > 1e-9:
        raise ValueError(f"must be a whole number of seconds >= 1 (it counts in 1 s buckets; got {seconds:g} s)")
    return float(round(seconds))


WholeSeconds = Annotated[Duration, AfterValidator(_whole_seconds)]
"""A sliding window's length: counted in 1 s buckets, so whole seconds."""


MAX_BACKOFF_S = 86_400.0
"""A day: no back-off waits longer (the fuzzer's ``base: 1e308`` made ``10 x base`` infinite)."""


class NoBackoffSpec(Spec):
    type: Literal["none"]


class ConstantBackoffSpec(Spec):
    type: Literal["constant"]
    delay: Annotated[NonNegDuration, Field(le=MAX_BACKOFF_S)]


class ExponentialBackoffSpec(Spec):
    """``expo(n) = min(cap, base * multiplier**n)`` with AWS jitter (Brooker 2015).

    Defaults are Envoy's retry back-off (base 25 ms, cap 10x base) with full
    jitter, the AWS recommendation.
    """

    type: Literal["exponential"]
    base: Annotated[PosDuration, Field(le=MAX_BACKOFF_S)] = 0.025
    cap: Optional[Annotated[PosDuration, Field(le=10 * MAX_BACKOFF_S)]] = None
    multiplier: float = Field(2.0, ge=1.0)
    jitter: Literal["none", "full", "equal", "decorrelated"] = "full"

    @property
    def cap_s(self) -> float:
        return self.cap if self.cap is not None else 10 * self.base

    @model_validator(mode="after")
    def _cap_above_base(self):
        if self.cap is not None and self.cap < self.base:
            raise ValueError(f"cap ({self.cap}) must be >= base ({self.base})")
        return self


def type_tag(prefix: str, default: str | None):
    def type(value):  # named so pydantic's messages say "missing its 'type' key"
        kind = value.get("type", default) if isinstance(value, dict) else getattr(value, "type", None)
        return f"{prefix}{kind}" if isinstance(kind, str) else None
    return type


def _with_default_type(default: str):
    def fill(value):
        if isinstance(value, dict) and "type" not in value:
            return {"type": default, **value}
        return value
    return fill


_BackoffUnion = Annotated[
    Union[Annotated[NoBackoffSpec, Tag("backoff:none")],
          Annotated[ConstantBackoffSpec, Tag("backoff:constant")],
          Annotated[ExponentialBackoffSpec, Tag("backoff:exponential")]],
    Discriminator(type_tag("backoff:", "exponential")),
]
BackoffSpec = Annotated[_BackoffUnion, BeforeValidator(_with_default_type("exponential"))]


class EnvoyBudgetSpec(Spec):
    """Envoy ``retry_budget``: concurrent retries <= max(percent x active, min)."""

    type: Literal["envoy"]
    budget_percent: float = Field(20.0, ge=0, le=100)
    min_retry_concurrency: int = Field(3, ge=0)
    scope: Literal["pod", "service"] = "pod"


class TokenBucketBudgetSpec(Spec):
    """gRPC retry throttling (gRFC A6): retry while tokens > max_tokens / 2."""

    type: Literal["token_bucket"]
    max_tokens: float = Field(10.0, ge=0.001, le=1000)  # gRPC keeps thousandths
    token_ratio: float = Field(0.1, ge=0.001)
    scope: Literal["pod", "service"] = "pod"


class AwsQuotaBudgetSpec(Spec):
    """AWS SDK standard retry mode quota (botocore ``retries/quota.py``)."""

    type: Literal["aws_quota"]
    capacity: int = Field(500, ge=0)
    retry_cost: int = Field(5, ge=0)
    timeout_cost: int = Field(10, ge=0)
    scope: Literal["pod", "service"] = "pod"


class RatioBudgetSpec(Spec):
    """SRE book per-client retry budget: retries / requests <= max_ratio."""

    type: Literal["ratio"]
    max_ratio: float = Field(0.1, ge=0)
    window: WholeSeconds = 120.0
    scope: Literal["pod", "service"] = "pod"


BudgetSpec = Annotated[
    Union[Annotated[EnvoyBudgetSpec, Tag("budget:envoy")],
          Annotated[TokenBucketBudgetSpec, Tag("budget:token_bucket")],
          Annotated[AwsQuotaBudgetSpec, Tag("budget:aws_quota")],
          Annotated[RatioBudgetSpec, Tag("budget:ratio")]],
    Discriminator(type_tag("budget:", None)),
]


class RetrySpec(Spec):
    """Retries: ``max_attempts`` counts the first try; each retry is load balanced anew.

    ``retry_on`` lists the gRPC code families retried (gRPC's
    ``retryableStatusCodes``; gRPC itself has no default and its examples
    list ``[unavailable]``), or the legacy status names ``timeout``,
    ``rejected``, ``error`` (every code of that status). Only an attempt that
    ended ``timeout``, ``rejected`` or ``error`` is ever retried.
    """

    max_attempts: int = Field(3, ge=1, le=100)
    retry_on: list[RetryCondition] = Field(default_factory=lambda: list(DEFAULT_RETRY_ON), min_length=1)
    backoff: BackoffSpec = ExponentialBackoffSpec(type="exponential")
    budget: Optional[BudgetSpec] = None


class BreakerSpec(Spec):
    """Resilience4j CircuitBreakerConfig, snake_case; defaults are Resilience4j's."""

    failure_rate_threshold: float = Field(50.0, gt=0, le=100)
    slow_call_rate_threshold: float = Field(100.0, gt=0, le=100)
    slow_call_duration_threshold: PosDuration = 60.0
    wait_duration_in_open_state: Annotated[Duration, Field(ge=0.001)] = 60.0  # Resilience4j: >= 1 ms
    permitted_number_of_calls_in_half_open_state: int = Field(10, ge=1)
    minimum_number_of_calls: int = Field(100, ge=1)
    sliding_window_size: int = Field(100, ge=1)
    sliding_window_type: Literal["count_based", "time_based"] = "count_based"
    max_wait_duration_in_half_open_state: NonNegDuration = 0.0
    automatic_transition_from_open_to_half_open_enabled: bool = False
    scope: Literal["pod", "service"] = "pod"


class BulkheadSpec(Spec):
    """Resilience4j bulkheads: ``semaphore`` (max_concurrent_calls, max_wait) or
    ``thread_pool`` (core threads and a bounded queue)."""

    type: Literal["semaphore", "thread_pool"] = "semaphore"
    max_concurrent_calls: Optional[int] = Field(None, ge=1)
    max_wait: NonNegDuration = 0.0
    core: Optional[int] = Field(None, ge=1)
    queue: int = Field(0, ge=0)
    scope: Literal["pod", "service"] = "pod"

    @model_validator(mode="after")
    def _sized(self):
        if self.type == "semaphore" and self.max_concurrent_calls is None:
            raise ValueError("a semaphore bulkhead needs max_concurrent_calls")
        if self.type == "thread_pool" and self.core is None:
            raise ValueError("a thread_pool bulkhead needs core")
        return self


class HedgeSpec(Spec):
    """Hedged requests (gRPC hedging policy): after ``delay`` without a response,
    send another attempt, up to ``max`` extra attempts; the first success wins."""

    delay: Timeout
    max: int = Field(1, ge=1, le=10)


class ThrottleSpec(Spec):
    """Client-side adaptive throttling, SRE book ch. 21."""

    type: Literal["adaptive"] = "adaptive"
    k: float = Field(2.0, gt=0)
    window: WholeSeconds = 120.0


class CallPolicy(Spec):
    """Timeouts, deadline, retries, breaker, bulkhead, hedging, throttling.

    ``idempotent: false``: the operation must not run twice, so an attempt is
    retried only when it was refused before any work (status ``rejected``:
    no endpoint, queue full, shed, bulkhead, rate or concurrency limit, a
    middleware's refusal), never after a timeout or an error, where the
    server may have done it (gRPC's rule for non-idempotent methods); it may
    not be hedged.
    """

    timeout: Optional[Timeout] = None
    deadline: Optional[Timeout] = None
    propagate_deadline: bool = False
    retry: Optional[RetrySpec] = None
    circuit_breaker: Optional[BreakerSpec] = None
    bulkhead: Optional[BulkheadSpec] = None
    hedge: Optional[HedgeSpec] = None
    throttle: Optional[ThrottleSpec] = None
    idempotent: bool = True

    @model_validator(mode="after")
    def _no_hedged_side_effects(self):
        if not self.idempotent and self.hedge is not None:
            raise ValueError("a non-idempotent call (idempotent: false) may not be hedged: "
                             "a hedge sends it twice on purpose")
        return self


class CallSpec(CallPolicy):
    """One downstream call: ``to`` a service (``service/endpoint`` for one of
    its endpoints) or an external dependency, or ``publish`` to a topic (the
    broker acknowledges; the publisher does not wait for consumers), with its
    policy (timeouts, retries and breakers apply to a publish alike).

    ``probability``: the chance the call is made at all, drawn per request
    (stream ``branch/CALLER->TARGET``): a cache with hit ratio h calls its
    database with probability 1 - h. A call not made takes no time and
    cannot fail. ``name``: a label for the summary's ``call_sites.NAME``
    (logical calls whose callee did the work more than once).
    """

    to: Optional[str] = None
    publish: Optional[str] = None
    latency: Optional[LatencyDist] = None
    on_failure: Literal["fail", "ignore"] = "fail"
    probability: Probability = 1.0
    name: Optional[str] = None
    """Names the call site in the summary (``call_sites.NAME``); unique in the scenario."""

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: Optional[str]) -> Optional[str]:
        if name is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", name):
            raise ValueError("must be letters, digits, '-' or '_', starting with a letter or digit "
                             "(it becomes a summary key)")
        return name

    @model_validator(mode="after")
    def _to_or_publish(self):
        if (self.to is None) == (self.publish is None):
            raise ValueError("give either to (a service or external) or publish (a topic)")
        return self

    @property
    def destination(self) -> str:
        """What the step sends to: ``to`` or the topic of ``publish``."""
        return self.to if self.to is not None else self.publish

    @property
    def target(self) -> str:
        """The service, external or topic called (without an endpoint)."""
        return self.destination.split("/", 1)[0]

    @property
    def endpoint(self) -> Optional[str]:
        """The endpoint named in ``to`` (None: chosen by the endpoints' shares)."""
        parts = self.destination.split("/", 1)
        return parts[1] if len(parts) == 2 else None


class ParallelSpec(Spec):
    """A fan-out: all calls at once; the request waits for all of them."""

    parallel: list[CallSpec] = Field(min_length=1)


def _step_tag(value):
    if isinstance(value, dict):
        return "step:parallel" if "parallel" in value else "step:call"
    return "step:parallel" if isinstance(value, ParallelSpec) else "step:call"


CallStep = Annotated[
    Union[Annotated[CallSpec, Tag("step:call")], Annotated[ParallelSpec, Tag("step:parallel")]],
    Discriminator(_step_tag),
]
