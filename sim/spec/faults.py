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
    """Steps that start on a hit pod while the fault lasts take ``factor``
    times longer: the CPU work (``applies_to: cpu``; probes and
    ``overhead_cpu`` too), the ``io`` time (``io``), or both (the default).
    The factor is fixed when a step starts: a step under way when the fault
    starts or ends keeps the factor it started with."""

    kind: Literal["slowdown"]
    factor: float = Field(gt=0)
    applies_to: Literal["cpu", "io", "both"] = "both"


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
    """Extra network latency on the hop ``from`` -> ``to``: ``add`` is drawn
    afresh for each leg ``legs`` names (``both``: the request and the
    response, so a constant ``add`` adds twice its value to the round trip;
    ``request`` or ``response``: that leg only, once per round trip). A leg
    is delayed when it departs while the fault lasts (every attempt: retries
    and hedges too)."""

    kind: Literal["latency"]
    source: str = Field(alias="from")
    to: str
    at: NonNegDuration
    duration: Optional[PosDuration] = Field(None, alias="for")
    add: AddedLatencyDist
    legs: Literal["both", "request", "response"] = "both"


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
