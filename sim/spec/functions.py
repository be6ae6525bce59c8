"""Serverless functions (AWS Lambda, Google Cloud Run): instances started
per demand, each serving ``concurrency`` requests at once.

A request that finds no instance with room starts a new one and waits its
``cold_start`` (runtime init plus the handler's init) before it runs; an
instance idle for ``keep_alive`` is reclaimed; beyond ``max_instances`` (the
account's concurrency) a request is throttled; ``min_instances`` are kept
warm (provisioned concurrency, Cloud Run min instances). The work is the same
program as a pod's: ``work`` on the instance's ``cpu``, ``io``, ``calls``.
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BeforeValidator, Field, model_validator

from .base import Cores, NonNegDuration, Spec
from .distributions import Dist, constant
from .policy import CallStep
from ..units import parse_memory_gb


class FunctionSpec(Spec):
    """One function (its defaults are Lambda's: one request per instance)."""

    concurrency: int = Field(1, ge=1, le=1000)
    keep_alive: NonNegDuration = 600.0
    cold_start: Dist = constant(0.4)
    memory: Annotated[float, BeforeValidator(parse_memory_gb), Field(gt=0, le=1024)] = 1.0
    cpu: Optional[Cores] = None
    billing: Literal["lambda", "cloud_run"] = "lambda"
    max_instances: int = Field(1000, ge=1, le=1_000_000)
    min_instances: int = Field(0, ge=0)
    work: Dist = constant(0.0)
    io: Dist = constant(0.0)
    calls: list[CallStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bounds(self):
        if self.min_instances > self.max_instances:
            raise ValueError(f"min_instances ({self.min_instances}) exceeds max_instances "
                             f"({self.max_instances})")
        return self

    @property
    def cpu_cores(self) -> float:
        """The instance's CPU: ``cpu``, else Lambda's rule (1 vCPU per 1,769 MB, at most 6)."""
        if self.cpu is not None:
            return self.cpu
        return min(6.0, self.memory * 1024 / 1769)
