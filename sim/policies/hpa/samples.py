"""What the HPA controller reads at a sync, and the errors it reports.

Shared by the replica calculator (:mod:`.replicas`) and the normalizer
(:mod:`.behavior`): :class:`PodSample` (one pod as ``groupPods`` sees it),
:class:`Tolerances` (replica_calculator.go ``Tolerances``) and the errors
Kubernetes returns for a metric it cannot compute (the metric then gives no
proposal).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

from ...spec.hpa import METRIC_RESOLUTION_S, TOLERANCE

POD_PHASES = ("Running", "Pending", "Failed", "Deleting")


# --- errors -------------------------------------------------------------------
class HPAMetricError(Exception):
    """Kubernetes would return an error for this metric (no proposal from it)."""


class NoPodsError(HPAMetricError):
    """``no pods returned by selector while calculating replica count``."""


class NoMetricsError(HPAMetricError):
    """No usable metric: ``did not receive metrics for targeted pods`` or
    ``no metrics returned matched known pods`` (requests total zero)."""


class MissingRequestError(HPAMetricError):
    """A pod has no request for the resource (``missing request for ...``)."""


class NoValidMetricsError(HPAMetricError):
    """Every metric of the HPA is invalid (``invalid metrics (N invalid out of N)``)."""


# --- inputs -------------------------------------------------------------------
@dataclass(frozen=True)
class PodSample:
    """One pod as the HPA controller sees it at a sync.

    ``phase`` is ``Running``, ``Pending``, ``Failed`` or ``Deleting``
    (``Deleting`` is a pod with a deletion timestamp; Kubernetes keeps its phase
    ``Running``). ``ready`` is the Ready condition (``None``: no Ready condition
    reported); ``start_s`` is ``status.startTime`` (``None``: not started);
    ``ready_change_s`` is the Ready condition's ``lastTransitionTime``.
    ``request`` is the pod's request for the resource (``None``: not set), in
    the unit of ``usage``. ``usage`` is the pod's metric (``None``: no metric
    returned for the pod). ``metric_s`` is the metric's timestamp (``None``:
    taken to be ``now_s``, a fresh sample) and ``metric_window_s`` its window
    (by default metrics-server's resolution, :data:`~sim.spec.hpa.METRIC_RESOLUTION_S`).

    Invariants, checked at construction (the engine builds these; a broken
    one is a bug, not bad input): a known phase, a request >= 0, a finite
    usage, a window >= 0.
    """

    phase: str = "Running"
    ready: Optional[bool] = True
    start_s: Optional[float] = 0.0
    ready_change_s: float = 0.0
    request: Optional[float] = None
    usage: Optional[float] = None
    metric_s: Optional[float] = None
    metric_window_s: float = METRIC_RESOLUTION_S

    def __post_init__(self) -> None:
        if self.phase not in POD_PHASES:
            raise ValueError(f"phase must be one of {POD_PHASES}, got {self.phase!r}")
        if self.request is not None and not self.request >= 0:
            raise ValueError(f"request must be >= 0 or None, got {self.request!r}")
        if self.usage is not None and not math.isfinite(self.usage):
            raise ValueError(f"usage must be finite or None, got {self.usage!r}")
        if not self.metric_window_s >= 0:
            raise ValueError(f"metric_window_s must be >= 0, got {self.metric_window_s!r}")


class Tolerances(NamedTuple):
    """Scale-down and scale-up tolerances (replica_calculator.go ``Tolerances``).

    A usage ratio is "within tolerance" (no change) when
    ``1 - scale_down <= ratio <= 1 + scale_up`` (``Tolerances.isWithin``).
    Both are >= 0 (the scenario's validation guarantees it).
    """

    scale_down: float = TOLERANCE
    scale_up: float = TOLERANCE

    def is_within(self, ratio: float) -> bool:
        return (1.0 - self.scale_down) <= ratio <= (1.0 + self.scale_up)


ToleranceArg = Union[float, Tolerances]
"""A single tolerance for both directions, or a ``(scale_down, scale_up)`` pair."""


def as_tolerances(tolerance: ToleranceArg) -> Tolerances:
    """``tolerance`` as a pair: a float applies to both directions."""
    if isinstance(tolerance, tuple):
        return Tolerances(*tolerance)
    return Tolerances(tolerance, tolerance)
