"""A service: its pods (worker pool, CPU), load balancer, downstream calls,
probes and autoscaler."""
from __future__ import annotations

import math
import re
from typing import Annotated, Literal, Optional

from pydantic import BeforeValidator, Field, field_validator, model_validator

from .base import LATENCY_WARN_S, BareSecondsAbove, Cores, Duration, NonNegDuration, PosDuration, Spec
from ..units import parse_memory_gb
from .control import ProbeSpec, check_probe
from .distributions import Dist, constant
from .hpa import HPASpec
from .policy import CallStep, CodeFamily
from .channels import ChannelSpec
from .topics import ConsumesSpec, KedaSpec
from .base import Probability


class SchedulerSpec(Spec):
    """How a pod's computing requests share its CPU.

    ``go`` (default): Go's runtime scheduler. At most ``gomaxprocs``
    goroutines compute at once; each runs until its CPU step is done or it
    has run ``quantum`` (sysmon's ``forcePreemptNS``, 10 ms), then goes to
    the back of a FIFO run queue. ``ps``: processor sharing, every computing
    request progresses at once (the limit of a zero quantum; a fair model of
    many threads with long CPU bursts under the kernel's scheduler).
    ``quantum`` is ignored by ``ps``.
    """

    type: Literal["go", "ps"] = "go"
    quantum: Annotated[PosDuration, BareSecondsAbove(LATENCY_WARN_S, "Go preemption quantum")] = 0.010


def _scheduler_shorthand(value):
    return {"type": value} if isinstance(value, str) else value


class PodSpec(Spec):
    """One pod: a worker pool in front of its CPU.

    A request holds one worker from start to finish, including the time it
    waits on downstream calls. ``work`` is CPU demand in core-seconds, served
    by ``scheduler`` on ``cpu`` cores (the logical CPUs the pod's threads may
    run on at once). ``io`` holds the worker without using CPU.

    ``cpu_limit`` is the container's ``limits.cpu``, enforced as CFS
    bandwidth control (kubelet: quota = limit x ``cfs_period`` per period;
    once the pod's running threads used the quota they all stall until the
    next period boundary). Without it there is no throttling.

    ``gomaxprocs`` defaults to Go 1.25's rule (runtime/cgroup_linux.go): with
    a CPU limit ``min(ceil(cpu), max(2, ceil(cpu_limit)))``, without one
    ``ceil(cpu)``; an explicit value overrides it, as the ``GOMAXPROCS``
    environment variable does. ``ps`` ignores it.

    ``overhead_cpu``: CPU per request on the pod outside the worker pool
    (net/http's connection goroutine reading and writing the request), run
    as its own goroutine in the same scheduler when the request arrives at
    the pod, before it takes a worker or a queue slot.

    ``cpu_request`` (what utilization is measured against, and what a node
    must have room for) defaults, as in Kubernetes, to the limit: ``cpu_limit``
    if given, else ``cpu``.
    """

    cpu: Cores = 1.0
    cpu_request: Optional[Cores] = None
    memory: Annotated[float, BeforeValidator(parse_memory_gb), Field(ge=0, le=65_536)] = 0.0
    cpu_limit: Optional[Cores] = None
    cfs_period: Annotated[Duration, Field(ge=0.001, le=1.0)] = 0.1
    gomaxprocs: Optional[int] = Field(None, ge=1)
    scheduler: Annotated[SchedulerSpec, BeforeValidator(_scheduler_shorthand)] = SchedulerSpec()
    overhead_cpu: Annotated[Dist, BareSecondsAbove(LATENCY_WARN_S, "per-request CPU overhead")] = constant(0.0)
    workers: int = Field(32, ge=1)
    queue: Optional[int] = Field(128, ge=0)
    work: Dist
    io: Dist = constant(0.0)
    startup: Dist = constant(0.0)
    image_pull: Dist = constant(0.0)
    termination_grace: NonNegDuration = 30.0
    max_queue_time: Optional[PosDuration] = None
    probe_work: Dist = constant(0.0002)
    probe_path: Literal["pool", "dedicated"] = "pool"

    @property
    def cpu_request_cores(self) -> float:
        """What utilization is measured against; defaults to the limit."""
        if self.cpu_request is not None:
            return self.cpu_request
        return self.cpu_limit if self.cpu_limit is not None else self.cpu

    @property
    def effective_gomaxprocs(self) -> int:
        """GOMAXPROCS as Go 1.25 sets it in this pod, unless given explicitly."""
        if self.gomaxprocs is not None:
            return self.gomaxprocs
        logical = max(1, math.ceil(self.cpu - 1e-9))
        if self.cpu_limit is None:
            return logical
        return min(logical, max(2, math.ceil(self.cpu_limit - 1e-9)))


class OutlierSpec(Spec):
    """Envoy outlier detection (consecutive 5xx) in the callers' load balancers."""

    consecutive_5xx: int = Field(5, ge=1)
    interval: PosDuration = 10.0
    base_ejection_time: PosDuration = 30.0
    max_ejection_percent: float = Field(10.0, ge=0, le=100)
    max_ejection_time: PosDuration = 300.0


class LoadBalancerSpec(Spec):
    """Envoy load-balancing policies over the Ready endpoints."""

    type: Literal["round_robin", "random", "least_request"] = "round_robin"
    choice_count: int = Field(2, ge=1, le=100)  # one draw per choice per request (fuzzer: 1e12 hung)


def _lb_shorthand(value):
    return {"type": value} if isinstance(value, str) else value


class AfterSpec(Spec):
    """Work after the downstream calls (render, serialize): CPU, then I/O."""

    work: Dist = constant(0.0)
    io: Dist = constant(0.0)


class EndpointSpec(Spec):
    """One operation of a service (``GET /cart``, ``POST /checkout``).

    A request runs: ``work`` (CPU), ``io``, the ``calls`` in order, then
    ``after`` (work, then io), then fails with probability ``error_rate``
    (status ``error``, reason ``app_error``, code ``error_status``: a
    baseline error of the operation, not a fault). ``work``, ``io`` and
    ``calls`` left out are the service's (``pod.work``, ``pod.io``, its
    ``calls``). ``share``: relative weight of the operation among requests
    that do not name one (normalised over the service's endpoints).
    """

    share: float = Field(1.0, ge=0)
    work: Optional[Dist] = None
    io: Optional[Dist] = None
    calls: Optional[list[CallStep]] = None
    after: AfterSpec = AfterSpec()
    error_rate: Probability = 0.0
    error_status: CodeFamily = "internal"


class RateLimitSpec(Spec):
    """A token bucket (Go's ``golang.org/x/time/rate.Limiter``, ``Allow``): ``rate``
    tokens per second, at most ``burst`` stored; a request finding no token
    is refused at once."""

    rate: float = Field(gt=0)
    burst: int = Field(1, ge=1)


class MiddlewareSpec(Spec):
    """One layer of a service's onion (the seed's logging, auth, validation,
    rate limiting): ``work`` (CPU) and ``io`` before ``next()``, then a
    refusal with probability ``reject_ratio`` (auth failures) or by a
    per-pod ``rate_limit``; ``after`` runs once the handler has succeeded.
    A refused request answers ``rejected`` with code ``status`` (default:
    ``unauthenticated`` for ``reject_ratio``, ``resource_exhausted`` for a
    rate limit), reason ``middleware_rejected`` or ``rate_limited``."""

    name: str = Field(min_length=1)
    work: Dist = constant(0.0)
    io: Dist = constant(0.0)
    after: AfterSpec = AfterSpec()
    reject_ratio: Probability = 0.0
    rate_limit: Optional[RateLimitSpec] = None
    status: Optional[CodeFamily] = None

    @model_validator(mode="after")
    def _one_refusal(self):
        if self.reject_ratio > 0 and self.rate_limit is not None:
            raise ValueError("a layer refuses by reject_ratio or by rate_limit, not both: "
                             "make them two layers")
        return self

    @property
    def status_name(self) -> str:
        """The code a refusal answers with."""
        if self.status is not None:
            return self.status
        return "resource_exhausted" if self.rate_limit is not None else "unauthenticated"


class ServiceSpec(Spec):
    replicas: int = Field(1, ge=0)
    load_balancer: Annotated[LoadBalancerSpec, BeforeValidator(_lb_shorthand)] = LoadBalancerSpec()
    pod: PodSpec
    calls: list[CallStep] = Field(default_factory=list)
    endpoints: dict[str, EndpointSpec] = Field(default_factory=dict)
    middleware: list[MiddlewareSpec] = Field(default_factory=list)
    outlier_detection: Optional[OutlierSpec] = None
    readinessProbe: Optional[ProbeSpec] = None
    livenessProbe: Optional[ProbeSpec] = None
    startupProbe: Optional[ProbeSpec] = None
    hpa: Optional[HPASpec] = None
    consumes: Optional[ConsumesSpec] = None
    keda: Optional[KedaSpec] = None
    channels: dict[str, ChannelSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _autoscaler(self):
        if self.keda is not None and self.hpa is not None:
            raise ValueError("give hpa or keda, not both: KEDA makes its own HPA")
        if self.keda is not None and self.consumes is None:
            raise ValueError("keda scales a consumer: add consumes (the topic it reads)")
        if self.keda is not None and self.replicas > self.keda.maxReplicaCount:
            raise ValueError(f"replicas ({self.replicas}) exceeds keda.maxReplicaCount "
                             f"({self.keda.maxReplicaCount})")
        if self.consumes is not None and self.endpoints:
            raise ValueError("a consumer runs one program per message: give it no endpoints")
        return self

    @model_validator(mode="after")
    def _probes(self):
        check_probe("liveness", self.livenessProbe)
        check_probe("startup", self.startupProbe)
        check_probe("readiness", self.readinessProbe)
        return self

    @model_validator(mode="after")
    def _replicas_in_hpa_bounds(self):
        if self.hpa is not None and self.replicas > self.hpa.maxReplicas:
            raise ValueError(f"replicas ({self.replicas}) exceeds hpa.maxReplicas "
                             f"({self.hpa.maxReplicas})")
        return self

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, endpoints: dict):
        bad = [n for n in endpoints if not _ENDPOINT_NAME.match(n)]
        if bad:
            raise ValueError(f"endpoint names must be letters, digits, '-', '_' or '.' (bad: {bad})")
        if endpoints and sum(e.share for e in endpoints.values()) <= 0:
            raise ValueError("at least one endpoint's share must be above 0")
        return endpoints

    @field_validator("middleware")
    @classmethod
    def _layer_names(cls, layers: list):
        names = [m.name for m in layers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"layer names must differ (twice: {twice})")
        return layers

    def all_calls(self) -> list:
        """Every call step of the service: its own, its endpoints' and its
        channel subscribers'."""
        steps = list(self.calls)
        for endpoint in self.endpoints.values():
            steps += endpoint.calls or []
        for channel in self.channels.values():
            for subscriber in channel.subscribers.values():
                steps += subscriber.calls
        return steps

    def called_services(self) -> list[str]:
        """Names of the services and externals this one calls (endpoints
        included), in order, fan-outs flattened."""
        names = []
        for step in self.all_calls():
            calls = step.parallel if hasattr(step, "parallel") else [step]
            names += [c.target for c in calls if c.publish is None]
        return names

    def published_topics(self) -> list[str]:
        """Topics this service publishes to (not its own channels), endpoints included."""
        names = []
        for step in self.all_calls():
            calls = step.parallel if hasattr(step, "parallel") else [step]
            names += [c.publish for c in calls if c.publish is not None and c.publish not in self.channels]
        return names


_ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
