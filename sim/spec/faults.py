"""Fault injection: each fault hits one service (or a hop) for a while.

``pods: N`` limits a fault to the first N pods of the service alive when the
fault starts (a gray failure); without it every pod, present and future, is hit.
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Discriminator, Field, Tag

from .base import Cores, NonNegDuration, PosDuration, Probability, Spec
from .distributions import AddedLatencyDist


class _Timed(Spec):
    service: str
    at: NonNegDuration
    duration: Optional[PosDuration] = Field(None, alias="for")
    pods: Optional[int] = Field(None, ge=1)


class SlowdownFault(_Timed):
    """CPU work of every request is multiplied by ``factor``."""

    kind: Literal["slowdown"]
    factor: float = Field(gt=0)


class ErrorsFault(_Timed):
    """Requests fail fast with a 500 with ``probability``."""

    kind: Literal["errors"]
    probability: Probability


class OutageFault(_Timed):
    """Every call fails: ``mode: fail`` answers at once with an error,
    ``mode: hang`` accepts and never answers (callers need timeouts)."""

    kind: Literal["outage"]
    mode: Literal["fail", "hang"] = "fail"


class CrashFault(Spec):
    """Kill ``pods`` pods at ``at``; their in-flight work ends with an error and
    the ReplicaSet replaces them."""

    kind: Literal["crash"]
    service: str
    at: NonNegDuration
    pods: int = Field(1, ge=1)


class CapacityFault(_Timed):
    """The pods' CPU limit drops to ``cpu`` cores (noisy neighbour, throttling)."""

    kind: Literal["capacity"]
    cpu: Cores


class LatencyFault(Spec):
    """Extra one-way network latency on the hop ``from`` -> ``to``."""

    kind: Literal["latency"]
    source: str = Field(alias="from")
    to: str
    at: NonNegDuration
    duration: Optional[PosDuration] = Field(None, alias="for")
    add: AddedLatencyDist


def kind(value):  # named for pydantic's "missing its 'kind' key"
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return f"fault:{kind}" if isinstance(kind, str) else None


FaultSpec = Annotated[
    Union[Annotated[SlowdownFault, Tag("fault:slowdown")],
          Annotated[ErrorsFault, Tag("fault:errors")],
          Annotated[OutageFault, Tag("fault:outage")],
          Annotated[CrashFault, Tag("fault:crash")],
          Annotated[CapacityFault, Tag("fault:capacity")],
          Annotated[LatencyFault, Tag("fault:latency")]],
    Discriminator(kind),
]
