"""A service: its pods (worker pool, CPU), load balancer, downstream calls,
probes and autoscaler."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BeforeValidator, Field, model_validator

from .base import Cores, NonNegDuration, PosDuration, Spec
from .control import HPASpec, ProbeSpec, check_probe
from .distributions import Dist, constant
from .policy import CallStep


class PodSpec(Spec):
    """One pod: a worker pool in front of processor-shared CPU.

    A request holds one worker from start to finish, including the time it
    waits on downstream calls. ``work`` is CPU demand in core-seconds, served
    processor-shared: computing requests each get ``min(1, cpu / computing)``
    of a core. ``io`` holds the worker without using CPU.
    """

    cpu: Cores = 1.0
    cpu_request: Optional[Cores] = None
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
        return self.cpu_request if self.cpu_request is not None else self.cpu


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
    choice_count: int = Field(2, ge=1)


def _lb_shorthand(value):
    return {"type": value} if isinstance(value, str) else value


class ServiceSpec(Spec):
    replicas: int = Field(1, ge=0)
    load_balancer: Annotated[LoadBalancerSpec, BeforeValidator(_lb_shorthand)] = LoadBalancerSpec()
    pod: PodSpec
    calls: list[CallStep] = Field(default_factory=list)
    outlier_detection: Optional[OutlierSpec] = None
    readinessProbe: Optional[ProbeSpec] = None
    livenessProbe: Optional[ProbeSpec] = None
    startupProbe: Optional[ProbeSpec] = None
    hpa: Optional[HPASpec] = None

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

    def called_services(self) -> list[str]:
        """Names of the services this one calls, in order, fan-outs flattened."""
        names = []
        for step in self.calls:
            names += [c.to for c in step.parallel] if hasattr(step, "parallel") else [step.to]
        return names
