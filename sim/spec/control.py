"""Kubernetes-shaped blocks: probes, the cluster and rolling updates (the HPA
is in :mod:`.hpa`).

These mirror Kubernetes objects and take their field names verbatim
(camelCase), so a user can paste from a real manifest. Simulator knobs that
are controller or autoscaler flags rather than object fields are snake_case.
"""
from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import Field, field_validator, model_validator

from .base import Cores, NonNegDuration, PosDuration, Spec


class ProbeSpec(Spec):
    """A kubelet probe (core/v1 Probe). Defaults are the kubelet's.

    The handler (``httpGet``, ``tcpSocket``, ``grpc``, ``exec``) is accepted so
    that manifests paste cleanly; it does not change the simulation: a probe is
    a small request to the pod (see ``pod.probe_work`` and ``pod.probe_path``).
    """

    initialDelaySeconds: int = Field(0, ge=0)
    periodSeconds: int = Field(10, ge=1)
    timeoutSeconds: int = Field(1, ge=1)
    successThreshold: int = Field(1, ge=1)
    failureThreshold: int = Field(3, ge=1)
    terminationGracePeriodSeconds: Optional[int] = Field(None, ge=1)
    httpGet: Optional[dict[str, Any]] = None
    tcpSocket: Optional[dict[str, Any]] = None
    grpc: Optional[dict[str, Any]] = None
    exec: Optional[dict[str, Any]] = None


def check_probe(kind: str, probe: Optional[ProbeSpec]) -> None:
    """Kubernetes' probe validation for ``kind`` (ValueError with the rule broken)."""
    if probe is None:
        return
    if kind in ("liveness", "startup") and probe.successThreshold != 1:
        raise ValueError(f"{kind}Probe.successThreshold must be 1 (got {probe.successThreshold})")
    if kind == "readiness" and probe.terminationGracePeriodSeconds is not None:
        raise ValueError("readinessProbe may not set terminationGracePeriodSeconds")


class NodePool(Spec):
    count: int = Field(1, ge=0)
    cpu: Cores = 4.0


class ClusterAutoscalerSpec(Spec):
    """Kubernetes cluster-autoscaler; defaults are its flag defaults."""

    min_nodes: int = Field(0, ge=0)
    max_nodes: int = Field(100, ge=1)
    provisioning_delay: NonNegDuration = 90.0
    scan_interval: PosDuration = 10.0
    scale_down_unneeded_time: NonNegDuration = 600.0
    scale_down_delay_after_add: NonNegDuration = 600.0
    scale_down_utilization_threshold: float = Field(0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _bounds(self):
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) exceeds max_nodes ({self.max_nodes})")
        return self


class ClusterSpec(Spec):
    """Nodes with allocatable CPU; pods that do not fit stay Pending."""

    nodes: NodePool = NodePool()
    autoscaler: Optional[ClusterAutoscalerSpec] = None
    node_cost_per_hour: float = Field(0.0, ge=0)


def _surge_value(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not (text.endswith("%") and text[:-1].strip().isdigit()):
            raise ValueError("expected an integer or a percentage such as '25%'")
        return text
    return value


class RolloutSpec(Spec):
    """A rolling update of every pod of a service, as a Deployment does it."""

    service: str
    at: NonNegDuration
    maxSurge: Union[int, str] = "25%"
    maxUnavailable: Union[int, str] = "25%"

    @field_validator("maxSurge", "maxUnavailable", mode="before")
    @classmethod
    def _percent_or_int(cls, value):
        value = _surge_value(value)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ValueError("must be >= 0")
        return value
