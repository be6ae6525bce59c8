"""The Kubernetes Horizontal Pod Autoscaler, as pure Python arithmetic.

No SimPy, no clock, no I/O: every function takes the time ``now_s`` (seconds,
any origin) and plain values, and returns plain values. The code imitates the
current upstream sources, function by function (paths are relative to
``kubernetes/pkg/controller/podautoscaler/``):

* ``replica_calculator.go`` -- ``groupPods``, ``removeMetricsForPods``,
  ``calculateRequests``, ``ReplicaCalculator.GetResourceReplicas``,
  ``GetRawResourceReplicas``, ``GetMetricReplicas``/``calcPlainMetricReplicas``,
  ``GetObjectMetricReplicas``, ``GetObjectPerPodMetricReplicas``,
  ``GetExternalMetricReplicas``, ``GetExternalPerPodMetricReplicas``,
  ``getUsageRatioReplicaCount``, ``getReadyPodsCount``, ``Tolerances``;
* ``metrics/utilization.go`` -- ``GetResourceUtilizationRatio``,
  ``GetMetricUsageRatio``;
* ``horizontal.go`` -- ``computeReplicasForMetrics``, ``reconcileAutoscaler``,
  ``recordInitialRecommendation``, ``stabilizeRecommendation``,
  ``normalizeDesiredReplicas``, ``convertDesiredReplicasWithRules``,
  ``normalizeDesiredReplicasWithBehaviors``,
  ``stabilizeRecommendationWithBehaviors``,
  ``convertDesiredReplicasWithBehaviorRate``,
  ``calculateScaleUpLimitWithScalingRules``,
  ``calculateScaleDownLimitWithBehaviors``, ``getReplicasChangePerPeriod``,
  ``storeScaleEvent``, ``markScaleEventsOutdated``, ``tolerancesForHpa``;
* ``pkg/apis/autoscaling/v2/defaults.go`` (``GenerateHPAScaleUpRules``,
  ``GenerateHPAScaleDownRules``) and
  ``pkg/apis/autoscaling/validation/validation.go`` (``validateBehavior``).

Quantities: ``request`` and ``usage`` are Kubernetes milli-values (e.g.
millicores). Where Kubernetes divides int64 values the division here truncates
toward zero too (exact for ``int`` inputs, ``math.trunc(a / b)`` for floats).
Kubernetes' int32/int64 overflow clamps are not reproduced: Python integers do
not overflow.

Time comparisons keep Go's strictness: ``t.After(x)`` is ``t > x`` and
``t.Before(x)`` is ``t < x``.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, NamedTuple, Optional, Sequence, Union

# --- kube-controller-manager defaults -----------------------------------------
# pkg/controller/podautoscaler/config/v1alpha1/defaults.go
# (RecommendedDefaultHPAControllerConfiguration)
DEFAULT_SYNC_PERIOD_S = 15.0
"""``--horizontal-pod-autoscaler-sync-period``."""
DEFAULT_TOLERANCE = 0.1
"""``--horizontal-pod-autoscaler-tolerance``."""
DEFAULT_CPU_INITIALIZATION_PERIOD_S = 300.0
"""``--horizontal-pod-autoscaler-cpu-initialization-period``."""
DEFAULT_INITIAL_READINESS_DELAY_S = 30.0
"""``--horizontal-pod-autoscaler-initial-readiness-delay``."""
DEFAULT_DOWNSCALE_STABILIZATION_S = 300.0
"""``--horizontal-pod-autoscaler-downscale-stabilization``."""
DEFAULT_METRIC_WINDOW_S = 15.0
"""metrics-server's default ``--metric-resolution`` (the PodMetrics window)."""

# replica_calculator.go: defaultTesting* (used by Kubernetes' own unit tests)
TESTING_CPU_INITIALIZATION_PERIOD_S = 120.0
TESTING_INITIAL_READINESS_DELAY_S = 10.0

# horizontal.go
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0

# pkg/apis/autoscaling/validation/validation.go
MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600

POD_PHASES = ("Running", "Pending", "Failed", "Deleting")
SELECT_POLICIES = ("Max", "Min", "Disabled")
POLICY_TYPES = ("Pods", "Percent")


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
    taken to be ``now_s``, a fresh sample) and ``metric_window_s`` its window.
    """

    phase: str = "Running"
    ready: Optional[bool] = True
    start_s: Optional[float] = 0.0
    ready_change_s: float = 0.0
    request: Optional[float] = None
    usage: Optional[float] = None
    metric_s: Optional[float] = None
    metric_window_s: float = DEFAULT_METRIC_WINDOW_S

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
    """

    scale_down: float = DEFAULT_TOLERANCE
    scale_up: float = DEFAULT_TOLERANCE

    def is_within(self, ratio: float) -> bool:
        return (1.0 - self.scale_down) <= ratio <= (1.0 + self.scale_up)


ToleranceArg = Union[float, Tolerances]
"""A single tolerance for both directions, or a ``(scale_down, scale_up)`` pair."""


def _tolerances(tolerance: ToleranceArg) -> Tolerances:
    if isinstance(tolerance, tuple):
        pair = Tolerances(*tolerance)
    else:
        pair = Tolerances(tolerance, tolerance)
    if not (pair.scale_down >= 0 and pair.scale_up >= 0):
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    return pair


class PodGroups(NamedTuple):
    """Result of :func:`group_pods`: a count and sets of pod indices."""

    ready_count: int
    unready: frozenset
    missing: frozenset
    ignored: frozenset


# --- arithmetic helpers -------------------------------------------------------
def _go_div(a: float, b: float) -> int:
    """Go's int64 division ``a / b``: truncates toward zero."""
    if isinstance(a, int) and isinstance(b, int):
        quotient = abs(a) // abs(b)
        return quotient if (a >= 0) == (b > 0) else -quotient
    return math.trunc(a / b)


def _fdiv(a: float, b: float) -> float:
    """IEEE float division as in Go (``x/0`` is ``±Inf`` or ``NaN``)."""
    if b != 0:
        return a / b
    return math.nan if a == 0 else math.copysign(math.inf, a)


def _check_target(name: str, value: float) -> None:
    if isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


def _check_replicas(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")


# --- pod grouping (replica_calculator.go groupPods) -----------------------------
def _cpu_sample_unready(pod: PodSample, now_s: float, init_s: float, delay_s: float) -> bool:
    """The CPU-only readiness rule of ``groupPods``."""
    if pod.ready is None or pod.start_s is None:
        return True
    metric_s = now_s if pod.metric_s is None else pod.metric_s
    if pod.start_s + init_s > now_s:
        # Within the CPU initialization period: ignore the sample if the pod is
        # unready or no full metric window was collected since it became ready.
        return (not pod.ready) or metric_s < pod.ready_change_s + pod.metric_window_s
    # Afterwards: ignore it only if the pod is unready and has never been ready.
    return (not pod.ready) and pod.start_s + delay_s > pod.ready_change_s


def group_pods(
    pods: Sequence[PodSample],
    now_s: float,
    *,
    resource: Optional[str] = "cpu",
    cpu_initialization_period_s: float = DEFAULT_CPU_INITIALIZATION_PERIOD_S,
    initial_readiness_delay_s: float = DEFAULT_INITIAL_READINESS_DELAY_S,
) -> PodGroups:
    """Split pods as Kubernetes' ``groupPods`` does (replica_calculator.go).

    In order: ``Deleting``/``Failed`` pods are *ignored*; ``Pending`` pods are
    *unready*; pods without a metric are *missing*; for ``resource == "cpu"``
    only, the readiness rule (CPU initialization period, initial readiness
    delay, metric freshness) may mark a pod *unready*; the rest are ready.
    For any other metric a Running pod with a metric counts as ready whatever
    its Ready condition.
    """
    ready_count, unready, missing, ignored = 0, set(), set(), set()
    for index, pod in enumerate(pods):
        if pod.phase in ("Deleting", "Failed"):
            ignored.add(index)
        elif pod.phase == "Pending":
            unready.add(index)
        elif pod.usage is None:
            missing.add(index)
        elif resource == "cpu" and _cpu_sample_unready(
            pod, now_s, cpu_initialization_period_s, initial_readiness_delay_s
        ):
            unready.add(index)
        else:
            ready_count += 1
    return PodGroups(ready_count, frozenset(unready), frozenset(missing), frozenset(ignored))


def _usable_metrics(pods: Sequence[PodSample], groups: PodGroups) -> dict:
    """``metrics`` after ``removeMetricsForPods`` for ignored and unready pods."""
    dropped = groups.ignored | groups.unready
    return {i: p.usage for i, p in enumerate(pods) if p.usage is not None and i not in dropped}


def _pods_or_error(pods: Iterable[PodSample]) -> list:
    pods = list(pods)
    if not pods:
        raise NoPodsError("no pods returned by selector while calculating replica count")
    return pods


def _metrics_or_error(metrics: dict) -> dict:
    if not metrics:
        raise NoMetricsError("did not receive metrics for targeted pods (pods might be unready)")
    return metrics


def _requests(pods: Sequence[PodSample], resource: Optional[str]) -> list:
    """``calculateRequests``: every listed pod (ignored ones too) needs a request."""
    for index, pod in enumerate(pods):
        if pod.request is None:
            raise MissingRequestError(f"missing request for {resource} in pod #{index}")
    return [pod.request for pod in pods]


# --- ratios (metrics/utilization.go) ------------------------------------------
def resource_utilization_ratio(metrics: Mapping[int, float], requests: Sequence[float],
                               target_utilization: int) -> tuple:
    """``GetResourceUtilizationRatio``: ``(ratio, utilization %, raw average)``.

    ``utilization = sum(usage) * 100 / sum(request)`` over the pods in
    ``metrics``, truncated to an integer; ``ratio = utilization / target``.
    """
    total = sum(metrics.values())
    requests_total = sum(requests[i] for i in metrics)
    if requests_total == 0:
        raise NoMetricsError("no metrics returned matched known pods")
    utilization = _go_div(total * 100, requests_total)
    return utilization / target_utilization, utilization, _go_div(total, len(metrics))


def metric_usage_ratio(metrics: Mapping[int, float], target_usage: float) -> tuple:
    """``GetMetricUsageRatio``: ``(ratio, average)``; the average is truncated."""
    usage = _go_div(sum(metrics.values()), len(metrics))
    return usage / target_usage, usage


# --- the shared rebalancing tail of GetResourceReplicas / calcPlainMetricReplicas
def _fill_missing_and_unready(metrics: dict, groups: PodGroups, ratio: float,
                              scale_up_with_unready: bool, fallback) -> None:
    """Missing pods: ``fallback(i)`` on a scale-down, 0 on a scale-up (nothing at
    ratio 1). Unready pods: 0 when scaling up with unready pods."""
    for index in groups.missing:
        if ratio < 1.0:
            metrics[index] = fallback(index)
        elif ratio > 1.0:
            metrics[index] = 0
    if scale_up_with_unready:
        for index in groups.unready:
            metrics[index] = 0


def _rebalanced_replicas(current: int, ratio: float, new_ratio: float, counted: int,
                         tolerances: Tolerances) -> int:
    """Keep ``current`` if the recomputed ratio is within tolerance, flips the
    scale direction, or its replica count would move the other way."""
    if tolerances.is_within(new_ratio) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    proposed = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and proposed > current) or (new_ratio > 1.0 and proposed < current):
        return current
    return proposed


def _replicas_from_groups(current: int, groups: PodGroups, metrics: dict, ratio: float,
                          tolerances: Tolerances, recompute, fallback) -> int:
    """The replica decision shared by resource and plain metrics."""
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if tolerances.is_within(ratio):
            return current
        return math.ceil(ratio * groups.ready_count)
    _fill_missing_and_unready(metrics, groups, ratio, scale_up_with_unready, fallback)
    return _rebalanced_replicas(current, ratio, recompute(metrics), len(metrics), tolerances)


# --- Resource metrics (Utilization target) --------------------------------------
def resource_replicas(
    current_replicas: int,
    pods: Iterable[PodSample],
    target_utilization: int,
    now_s: float,
    *,
    tolerance: ToleranceArg = DEFAULT_TOLERANCE,
    cpu_initialization_period_s: float = DEFAULT_CPU_INITIALIZATION_PERIOD_S,
    initial_readiness_delay_s: float = DEFAULT_INITIAL_READINESS_DELAY_S,
    resource: str = "cpu",
) -> tuple:
    """``ReplicaCalculator.GetResourceReplicas``: ``(replicas, utilization %)``.

    Groups the pods (:func:`group_pods`), drops ignored and unready samples,
    and computes the utilization over pods with metrics (integer percent of the
    summed requests). With no unready pods on a scale-up and no missing pods:
    ``current`` if within tolerance, else ``ceil(ratio * ready pods)``.
    Otherwise missing pods count as ``request * max(100, target) / 100`` on a
    scale-down and 0 on a scale-up, unready pods as 0 on a scale-up; the ratio
    is recomputed and ``current`` kept if it is now within tolerance or would
    change direction, else ``ceil(new_ratio * pods counted)``. The returned
    utilization is the first one (before filling in). ``tolerance`` is a float
    or a :class:`Tolerances` pair. ``resource`` other than ``"cpu"`` (e.g.
    ``"memory"``) skips the CPU readiness rule, as Kubernetes does.

    Raises :class:`NoPodsError`, :class:`NoMetricsError` or
    :class:`MissingRequestError` where Kubernetes returns an error.
    """
    _check_replicas("current_replicas", current_replicas)
    _check_target("target_utilization", target_utilization)
    pods = _pods_or_error(pods)
    groups = group_pods(pods, now_s, resource=resource,
                        cpu_initialization_period_s=cpu_initialization_period_s,
                        initial_readiness_delay_s=initial_readiness_delay_s)
    metrics = _metrics_or_error(_usable_metrics(pods, groups))
    requests = _requests(pods, resource)
    ratio, utilization, _raw = resource_utilization_ratio(metrics, requests, target_utilization)
    fallback_percent = max(100, target_utilization)
    replicas = _replicas_from_groups(
        current_replicas, groups, metrics, ratio, _tolerances(tolerance),
        recompute=lambda m: resource_utilization_ratio(m, requests, target_utilization)[0],
        fallback=lambda i: _go_div(requests[i] * fallback_percent, 100),
    )
    return replicas, utilization


# --- Pods metrics (AverageValue target) ---------------------------------------
def plain_metric_replicas(
    current_replicas: int,
    pods: Iterable[PodSample],
    target_average_value: float,
    now_s: float,
    *,
    tolerance: ToleranceArg = DEFAULT_TOLERANCE,
    cpu_initialization_period_s: float = DEFAULT_CPU_INITIALIZATION_PERIOD_S,
    initial_readiness_delay_s: float = DEFAULT_INITIAL_READINESS_DELAY_S,
    resource: Optional[str] = None,
) -> tuple:
    """``GetMetricReplicas`` / ``calcPlainMetricReplicas``: ``(replicas, average)``.

    ``PodSample.usage`` is the per-pod metric. ``ratio = average / target``
    (the average truncated to an integer milli-value). Same decision as
    :func:`resource_replicas`, except that missing pods count as exactly the
    target on a scale-down. Grouping: ``Failed``/``Deleting`` ignored,
    ``Pending`` unready, no metric missing; the Ready condition is *not*
    consulted (``resource=None``). Pass ``resource="cpu"`` for
    ``GetRawResourceReplicas`` on CPU (a Resource metric with an AverageValue
    target), where the CPU readiness rule applies.
    """
    _check_replicas("current_replicas", current_replicas)
    _check_target("target_average_value", target_average_value)
    pods = _pods_or_error(pods)
    groups = group_pods(pods, now_s, resource=resource,
                        cpu_initialization_period_s=cpu_initialization_period_s,
                        initial_readiness_delay_s=initial_readiness_delay_s)
    metrics = _metrics_or_error(_usable_metrics(pods, groups))
    ratio, usage = metric_usage_ratio(metrics, target_average_value)
    replicas = _replicas_from_groups(
        current_replicas, groups, metrics, ratio, _tolerances(tolerance),
        recompute=lambda m: metric_usage_ratio(m, target_average_value)[0],
        fallback=lambda i: target_average_value,
    )
    return replicas, usage


# --- Object and External metrics -----------------------------------------------
def ready_pods_count(pods: Iterable[PodSample]) -> int:
    """``getReadyPodsCount``: pods in phase Running whose Ready condition is true.

    A ``Deleting`` pod counts when ready: Kubernetes checks only the phase
    (which stays Running during deletion) and the Ready condition.
    """
    pods = _pods_or_error(pods)
    return sum(1 for p in pods if p.phase in ("Running", "Deleting") and p.ready is True)


def _usage_ratio_replica_count(current: int, ratio: float, tolerances: Tolerances,
                               pods: Iterable[PodSample]) -> int:
    """``getUsageRatioReplicaCount``: scale the ready pod count by the ratio;
    with 0 current replicas (scale-to-zero) skip tolerance: ``ceil(ratio)``."""
    if current == 0:
        return math.ceil(ratio)
    if tolerances.is_within(ratio):
        return current
    return math.ceil(ratio * ready_pods_count(pods))


def _per_pod_replicas(status_replicas: int, total: float, target_average_value: float,
                      tolerances: Tolerances) -> tuple:
    """Shared body of the two ``...PerPodMetricReplicas`` functions."""
    ratio = _fdiv(total, target_average_value * status_replicas)
    replicas = status_replicas
    if not tolerances.is_within(ratio):
        replicas = math.ceil(total / target_average_value)
    # Kubernetes' int64(ceil(total / 0)) is undefined; report the total then.
    usage = math.ceil(total / status_replicas) if status_replicas else total
    return replicas, usage


def object_metric_replicas(
    current_replicas: int,
    value: float,
    pods: Iterable[PodSample] = (),
    *,
    target_value: Optional[float] = None,
    target_average_value: Optional[float] = None,
    status_replicas: Optional[int] = None,
    tolerance: ToleranceArg = DEFAULT_TOLERANCE,
) -> tuple:
    """An Object metric, dispatched as ``computeStatusForObjectMetric``.

    With ``target_value`` (a Value target): ``GetObjectMetricReplicas`` --
    ``ratio = value / target``, ``current`` if within tolerance, else
    ``ceil(ratio * ready pods)`` (``ceil(ratio)`` when ``current_replicas`` is
    0). With ``target_average_value``: :func:`object_per_pod_metric_replicas`
    on ``status_replicas`` (default ``current_replicas``). Returns
    ``(replicas, usage)``; the usage is the value, or its per-pod average.
    """
    _check_replicas("current_replicas", current_replicas)
    if (target_value is None) == (target_average_value is None):
        raise ValueError("give exactly one of target_value and target_average_value")
    if target_average_value is not None:
        status = current_replicas if status_replicas is None else status_replicas
        return object_per_pod_metric_replicas(status, value, target_average_value,
                                              tolerance=tolerance)
    _check_target("target_value", target_value)
    ratio = value / target_value
    return _usage_ratio_replica_count(current_replicas, ratio, _tolerances(tolerance), pods), value


def object_per_pod_metric_replicas(status_replicas: int, value: float, target_average_value: float,
                                   *, tolerance: ToleranceArg = DEFAULT_TOLERANCE) -> tuple:
    """``GetObjectPerPodMetricReplicas``: ``(replicas, ceil(value / status_replicas))``.

    ``ratio = value / (target * status_replicas)``; outside tolerance the
    proposal is ``ceil(value / target)``, else ``status_replicas``.
    """
    _check_replicas("status_replicas", status_replicas)
    _check_target("target_average_value", target_average_value)
    return _per_pod_replicas(status_replicas, value, target_average_value, _tolerances(tolerance))


def external_metric_replicas(
    current_replicas: int,
    values: Iterable[float],
    pods: Iterable[PodSample] = (),
    *,
    target_value: Optional[float] = None,
    target_average_value: Optional[float] = None,
    status_replicas: Optional[int] = None,
    tolerance: ToleranceArg = DEFAULT_TOLERANCE,
) -> tuple:
    """An External metric, dispatched as ``computeStatusForExternalMetric``.

    ``values`` are the series returned for the metric selector; they are
    summed. With ``target_value``: ``GetExternalMetricReplicas`` (as
    :func:`object_metric_replicas` with a Value target); with
    ``target_average_value``: :func:`external_per_pod_metric_replicas` on
    ``status_replicas`` (default ``current_replicas``). Returns
    ``(replicas, usage)``.
    """
    _check_replicas("current_replicas", current_replicas)
    values = list(values)
    if (target_value is None) == (target_average_value is None):
        raise ValueError("give exactly one of target_value and target_average_value")
    if target_average_value is not None:
        status = current_replicas if status_replicas is None else status_replicas
        return external_per_pod_metric_replicas(status, values, target_average_value,
                                                tolerance=tolerance)
    _check_target("target_value", target_value)
    usage = sum(values)
    ratio = usage / target_value
    return _usage_ratio_replica_count(current_replicas, ratio, _tolerances(tolerance), pods), usage


def external_per_pod_metric_replicas(status_replicas: int, values: Iterable[float],
                                     target_average_value: float, *,
                                     tolerance: ToleranceArg = DEFAULT_TOLERANCE) -> tuple:
    """``GetExternalPerPodMetricReplicas``: as :func:`object_per_pod_metric_replicas`
    on the sum of ``values``."""
    _check_replicas("status_replicas", status_replicas)
    _check_target("target_average_value", target_average_value)
    return _per_pod_replicas(status_replicas, sum(values), target_average_value,
                             _tolerances(tolerance))


# --- several metrics (horizontal.go computeReplicasForMetrics) -----------------
def _proposal_split(proposals: Iterable[Optional[int]]) -> tuple:
    proposals = list(proposals)
    if not proposals:
        raise ValueError("an HPA needs at least one metric proposal")
    valid = [p for p in proposals if p is not None]
    if not valid:
        raise NoValidMetricsError(
            f"invalid metrics ({len(proposals)} invalid out of {len(proposals)})")
    return max(valid), len(proposals) - len(valid)


def combine_metric_proposals(current_replicas: int, proposals: Iterable[Optional[int]]) -> int:
    """``computeReplicasForMetrics``: the largest valid proposal wins.

    ``None`` marks a metric Kubernetes could not compute. If some metric is
    invalid and the winner would scale down (``< current_replicas``), the
    current count is kept -- Kubernetes then aborts the whole sync (no
    normalization, no recommendation recorded; see :func:`metrics_abort_sync`).
    Raises :class:`NoValidMetricsError` when every metric is invalid.
    """
    _check_replicas("current_replicas", current_replicas)
    replicas, invalid = _proposal_split(proposals)
    if invalid and replicas < current_replicas:
        return current_replicas
    return replicas


def metrics_abort_sync(current_replicas: int, proposals: Iterable[Optional[int]]) -> bool:
    """True when Kubernetes' ``computeReplicasForMetrics`` returns -1 and
    ``reconcileAutoscaler`` stops: all metrics invalid, or some invalid while
    the valid ones propose a scale-down. The caller should then neither rescale
    nor call :meth:`Normalizer.recommend`."""
    try:
        replicas, invalid = _proposal_split(proposals)
    except NoValidMetricsError:
        return True
    return bool(invalid) and replicas < current_replicas


# --- behavior: defaults and validation ----------------------------------------
DEFAULT_SCALE_UP_RULES = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
"""``GenerateHPAScaleUpRules(nil)`` (pkg/apis/autoscaling/v2/defaults.go)."""

DEFAULT_SCALE_DOWN_RULES = {
    "stabilizationWindowSeconds": None,  # filled from the controller's downscale window
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}
"""``GenerateHPAScaleDownRules(nil)``; the window comes from
``maybeInitScaleDownStabilizationWindow`` (horizontal.go)."""

_RULE_FIELDS = ("stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance")
_POLICY_FIELDS = ("type", "value", "periodSeconds")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_fields(path: str, given: Mapping, allowed: Sequence[str]) -> None:
    if not isinstance(given, Mapping):
        raise ValueError(f"{path}: must be a mapping, got {given!r}")
    for key in given:
        if key not in allowed:
            raise ValueError(f"{path}.{key}: unknown field (allowed: {', '.join(allowed)})")


def _check_int_range(path: str, value: Any, low: int, high: int) -> None:
    if not _is_int(value) or not low <= value <= high:
        raise ValueError(f"{path}: must be an integer in [{low}, {high}], got {value!r}")


def _validated_policy(path: str, policy: Any) -> dict:
    """``validateScalingPolicy``: type Pods|Percent, value > 0, 0 < period <= 1800."""
    _check_fields(path, policy, _POLICY_FIELDS)
    for key in _POLICY_FIELDS:
        if key not in policy:
            raise ValueError(f"{path}.{key}: required")
    if policy["type"] not in POLICY_TYPES:
        raise ValueError(f"{path}.type: must be one of {POLICY_TYPES}, got {policy['type']!r}")
    if not _is_int(policy["value"]) or policy["value"] <= 0:
        raise ValueError(f"{path}.value: must be an integer > 0, got {policy['value']!r}")
    _check_int_range(f"{path}.periodSeconds", policy["periodSeconds"], 1, MAX_PERIOD_SECONDS)
    return dict(policy)


def _filled_rules(path: str, given: Any, defaults: Mapping) -> dict:
    """``copyHPAScalingRules`` over the defaults, then ``validateScalingRules``."""
    rules = copy.deepcopy(dict(defaults))
    rules["tolerance"] = None
    if given is None:
        return rules
    _check_fields(path, given, _RULE_FIELDS)
    rules.update({k: v for k, v in given.items() if v is not None})
    if rules["stabilizationWindowSeconds"] is not None:
        _check_int_range(f"{path}.stabilizationWindowSeconds", rules["stabilizationWindowSeconds"],
                         0, MAX_STABILIZATION_WINDOW_SECONDS)
    if rules["selectPolicy"] not in SELECT_POLICIES:
        raise ValueError(f"{path}.selectPolicy: must be one of {SELECT_POLICIES}, "
                         f"got {rules['selectPolicy']!r}")
    policies = rules["policies"]
    if not isinstance(policies, (list, tuple)) or not policies:
        raise ValueError(f"{path}.policies: must specify at least one Policy, got {policies!r}")
    rules["policies"] = [_validated_policy(f"{path}.policies[{i}]", p)
                         for i, p in enumerate(policies)]
    tolerance = rules["tolerance"]
    if tolerance is not None and (isinstance(tolerance, bool) or not tolerance >= 0):
        raise ValueError(f"{path}.tolerance: must be a number >= 0, got {tolerance!r}")
    return rules


def fill_behavior_defaults(
    behavior: Mapping, downscale_stabilization_s: float = DEFAULT_DOWNSCALE_STABILIZATION_S,
) -> dict:
    """An autoscaling/v2 ``behavior`` with Kubernetes' defaults filled in.

    Field names are Kubernetes' camelCase (``scaleUp``/``scaleDown``, each with
    ``stabilizationWindowSeconds``, ``selectPolicy``, ``policies`` of
    ``{type, value, periodSeconds}`` and the optional ``tolerance``). Missing
    fields take the defaults (:data:`DEFAULT_SCALE_UP_RULES`,
    :data:`DEFAULT_SCALE_DOWN_RULES`); a missing scale-down window is the
    controller's ``downscale_stabilization_s`` truncated to whole seconds.
    Invalid input raises ``ValueError`` naming the field.
    """
    _check_fields("behavior", behavior, ("scaleUp", "scaleDown"))
    up = _filled_rules("behavior.scaleUp", behavior.get("scaleUp"), DEFAULT_SCALE_UP_RULES)
    down = _filled_rules("behavior.scaleDown", behavior.get("scaleDown"), DEFAULT_SCALE_DOWN_RULES)
    if down["stabilizationWindowSeconds"] is None:
        down["stabilizationWindowSeconds"] = int(downscale_stabilization_s)
    return {"scaleUp": up, "scaleDown": down}


# --- rate limits (horizontal.go) ------------------------------------------------
@dataclass
class Recommendation:
    """``timestampedRecommendation``: an unstabilized recommendation."""

    replicas: int
    timestamp_s: float


@dataclass
class ScaleEvent:
    """``timestampedScaleEvent``: a rescale by ``replica_change`` (>= 0) pods."""

    replica_change: int
    timestamp_s: float
    outdated: bool = False


def calculate_scale_up_limit(current_replicas: int) -> int:
    """Legacy ``calculateScaleUpLimit``: ``max(2 * current, 4)``."""
    return int(max(SCALE_UP_LIMIT_FACTOR * current_replicas, SCALE_UP_LIMIT_MINIMUM))


def convert_desired_replicas_with_rules(current_replicas: int, desired_replicas: int,
                                        min_replicas: int, max_replicas: int) -> tuple:
    """``convertDesiredReplicasWithRules`` (legacy path): ``(replicas, reason)``.

    Clamp to ``[min, min(max, max(2*current, 4))]``; the reason is
    ``TooFewReplicas``, ``ScaleUpLimit``, ``TooManyReplicas`` or
    ``DesiredWithinRange``.
    """
    scale_up_limit = calculate_scale_up_limit(current_replicas)
    if max_replicas > scale_up_limit:
        maximum, reason = scale_up_limit, "ScaleUpLimit"
    else:
        maximum, reason = max_replicas, "TooManyReplicas"
    if desired_replicas < min_replicas:
        return min_replicas, "TooFewReplicas"
    if desired_replicas > maximum:
        return maximum, reason
    return desired_replicas, "DesiredWithinRange"


def get_replicas_change_per_period(period_s: float, events: Iterable[ScaleEvent],
                                   now_s: float) -> int:
    """``getReplicasChangePerPeriod``: replicas changed by events strictly after
    ``now - period``."""
    cutoff = now_s - period_s
    return sum(e.replica_change for e in events if e.timestamp_s > cutoff)


def _period_start(policy: Mapping, current: int, up_events, down_events, now_s: float) -> int:
    added = get_replicas_change_per_period(policy["periodSeconds"], up_events, now_s)
    deleted = get_replicas_change_per_period(policy["periodSeconds"], down_events, now_s)
    return current - added + deleted


def calculate_scale_up_limit_with_scaling_rules(
    current_replicas: int, scale_up_events: Iterable[ScaleEvent],
    scale_down_events: Iterable[ScaleEvent], rules: Mapping, now_s: float,
) -> int:
    """``calculateScaleUpLimitWithScalingRules``.

    Per policy, ``start = current - scale-ups + scale-downs`` in its period;
    Pods allows ``start + value``, Percent ``ceil(start * (1 + value/100))``.
    ``selectPolicy`` Max takes the largest, Min the smallest, Disabled returns
    ``current``.
    """
    if rules["selectPolicy"] == "Disabled":
        return current_replicas
    up_events, down_events = list(scale_up_events), list(scale_down_events)
    proposals = []
    for policy in rules["policies"]:
        start = _period_start(policy, current_replicas, up_events, down_events, now_s)
        if policy["type"] == "Pods":
            proposals.append(start + policy["value"])
        else:
            proposals.append(math.ceil(start * (1 + policy["value"] / 100)))
    return min(proposals) if rules["selectPolicy"] == "Min" else max(proposals)


def calculate_scale_down_limit_with_behaviors(
    current_replicas: int, scale_up_events: Iterable[ScaleEvent],
    scale_down_events: Iterable[ScaleEvent], rules: Mapping, now_s: float,
) -> int:
    """``calculateScaleDownLimitWithBehaviors``.

    Per policy, Pods allows ``start - value``, Percent
    ``int(start * (1 - value/100))`` (truncated toward zero). ``selectPolicy``
    Max (the largest change) takes the smallest limit, Min the largest,
    Disabled returns ``current``.
    """
    if rules["selectPolicy"] == "Disabled":
        return current_replicas
    up_events, down_events = list(scale_up_events), list(scale_down_events)
    proposals = []
    for policy in rules["policies"]:
        start = _period_start(policy, current_replicas, up_events, down_events, now_s)
        if policy["type"] == "Pods":
            proposals.append(start - policy["value"])
        else:
            proposals.append(int(start * (1 - policy["value"] / 100)))
    return max(proposals) if rules["selectPolicy"] == "Min" else min(proposals)


# --- the per-HPA normalizer ---------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """One sync's outcome.

    ``desired`` is the metrics proposal, ``stabilized`` the value after the
    stabilization window, ``replicas`` the final count. ``reason`` is the
    limiting reason: the ``ScalingLimited`` condition reason when the rate or
    bounds changed the count (``ScaleUpLimit``, ``ScaleDownLimit``,
    ``TooManyReplicas``, ``TooFewReplicas``), else the stabilization reason
    when stabilization changed it (``ScaleUpStabilized``,
    ``ScaleDownStabilized``), else ``DesiredWithinRange``; and
    ``ScalingDisabled`` / ``TooManyReplicas`` / ``TooFewReplicas`` for the
    three cases ``reconcileAutoscaler`` settles before normalizing (current 0,
    above max, below min). ``able_to_scale_reason`` and
    ``scaling_limited_reason`` are the two condition reasons Kubernetes sets
    (``None`` where it sets none).
    """

    replicas: int
    current: int
    desired: int
    stabilized: int
    reason: str
    able_to_scale_reason: Optional[str]
    scaling_limited_reason: Optional[str]

    @property
    def rescaled(self) -> bool:
        return self.replicas != self.current

    @property
    def scaling_limited(self) -> bool:
        return self.replicas != self.stabilized


def _summary_reason(desired: int, stabilized: int, able: str, limited: str) -> str:
    if limited != "DesiredWithinRange":
        return limited
    if stabilized != desired:
        return able
    return "DesiredWithinRange"


class Normalizer:
    """Turns each sync's metrics proposal into a replica count, as the HPA
    controller does for one HPA (horizontal.go ``reconcileAutoscaler`` from the
    point where the proposal is known).

    ``behavior=None`` is the legacy path (``normalizeDesiredReplicas``):
    stabilize over ``downscale_stabilization_s`` (max of recent
    recommendations), then clamp to ``[min, min(max, max(2*current, 4))]``. A
    mapping (even ``{}``) is an autoscaling/v2 behavior, defaulted and
    validated by :func:`fill_behavior_defaults`
    (``normalizeDesiredReplicasWithBehaviors``: stabilize with both windows,
    then apply the scale-up/scale-down policies to the scale events).

    State, kept as the controller keeps it per HPA: ``recommendations``
    (``None`` until the first sync, when it is seeded with the current count as
    ``recordInitialRecommendation`` does -- so a scale-down right after the
    start is held for the stabilization window), ``scale_up_events`` and
    ``scale_down_events``. Scale events are stored only on the behavior path
    and only when the count actually changes: :meth:`decide` stores them itself
    when it returns a new count (``record_scale_events=True``), since the
    simulator applies every decision; pass ``False`` and call
    :meth:`record_scale` after a rescale that really happened instead.
    """

    def __init__(self, min_replicas: int, max_replicas: int, behavior: Optional[Mapping] = None,
                 downscale_stabilization_s: float = DEFAULT_DOWNSCALE_STABILIZATION_S, *,
                 record_scale_events: bool = True) -> None:
        _check_replicas("min_replicas", min_replicas)
        _check_replicas("max_replicas", max_replicas)
        if max_replicas < 1 or min_replicas > max_replicas:
            raise ValueError(f"need 0 <= min_replicas <= max_replicas and max_replicas >= 1, "
                             f"got {min_replicas!r}, {max_replicas!r}")
        if not downscale_stabilization_s >= 0:
            raise ValueError("downscale_stabilization_s must be >= 0, "
                             f"got {downscale_stabilization_s!r}")
        self.min_replicas = min_replicas
        self.max_replicas = max_replicas
        self.downscale_stabilization_s = float(downscale_stabilization_s)
        self.behavior = (None if behavior is None
                         else fill_behavior_defaults(behavior, downscale_stabilization_s))
        self.record_scale_events = record_scale_events
        self.recommendations: Optional[list] = None
        self.scale_up_events: list = []
        self.scale_down_events: list = []
        self.last_decision: Optional[Decision] = None

    # -- public entry points --
    def recommend(self, now_s: float, current_replicas: int, desired_replicas: int) -> int:
        """The replica count the controller sets for this sync."""
        return self.decide(now_s, current_replicas, desired_replicas).replicas

    def recommend_with_reason(self, now_s: float, current_replicas: int,
                              desired_replicas: int) -> tuple:
        """``(replicas, limiting reason)``; see :class:`Decision`."""
        decision = self.decide(now_s, current_replicas, desired_replicas)
        return decision.replicas, decision.reason

    @property
    def last_reason(self) -> Optional[str]:
        return None if self.last_decision is None else self.last_decision.reason

    def decide(self, now_s: float, current_replicas: int, desired_replicas: int) -> Decision:
        """One sync: seed history, settle out-of-range counts, else normalize."""
        _check_replicas("current_replicas", current_replicas)
        _check_replicas("desired_replicas", desired_replicas)
        if self.recommendations is None:
            self.recommendations = [Recommendation(current_replicas, now_s)]
        decision = self._settled(current_replicas, desired_replicas)
        if decision is None:
            decision = self._normalized(now_s, current_replicas, desired_replicas)
        if self.record_scale_events and decision.rescaled:
            self.record_scale(now_s, current_replicas, decision.replicas)
        self.last_decision = decision
        return decision

    def record_scale(self, now_s: float, old_replicas: int, new_replicas: int) -> None:
        """``storeScaleEvent``: remember a rescale (behavior path only).

        Events older than the direction's longest policy period are marked
        outdated (``markScaleEventsOutdated``) and the last outdated one is
        reused for the new event. ``old == new`` stores nothing.
        """
        if self.behavior is None or old_replicas == new_replicas:
            return
        if new_replicas > old_replicas:
            rules, events = self.behavior["scaleUp"], self.scale_up_events
        else:
            rules, events = self.behavior["scaleDown"], self.scale_down_events
        longest = max([0] + [p["periodSeconds"] for p in rules["policies"]])
        reuse = None
        for index, event in enumerate(events):
            if event.timestamp_s < now_s - longest:
                event.outdated = True
            if event.outdated:
                reuse = index
        new_event = ScaleEvent(abs(new_replicas - old_replicas), now_s)
        if reuse is None:
            events.append(new_event)
        else:
            events[reuse] = new_event

    def tolerances(self, default: float = DEFAULT_TOLERANCE) -> Tolerances:
        """``tolerancesForHpa``: per-direction tolerances from ``behavior``
        (``scaleUp.tolerance``/``scaleDown.tolerance``), else ``default``."""
        if self.behavior is None:
            return Tolerances(default, default)
        down = self.behavior["scaleDown"]["tolerance"]
        up = self.behavior["scaleUp"]["tolerance"]
        return Tolerances(default if down is None else down, default if up is None else up)

    # -- the steps, public so that Kubernetes' unit tests can be ported --
    def stabilize_recommendation(self, now_s: float, desired_replicas: int) -> int:
        """``stabilizeRecommendation`` (legacy): the max of the recommendations
        not older than the downscale window and ``desired``; records ``desired``,
        reusing the last expired slot."""
        recommendations = self._history()
        cutoff = now_s - self.downscale_stabilization_s
        best, reuse = desired_replicas, None
        for index, rec in enumerate(recommendations):
            if rec.timestamp_s < cutoff:
                reuse = index
            elif rec.replicas > best:
                best = rec.replicas
        self._store(reuse, Recommendation(desired_replicas, now_s))
        return best

    def stabilize_recommendation_with_behaviors(self, now_s: float, current_replicas: int,
                                                desired_replicas: int) -> tuple:
        """``stabilizeRecommendationWithBehaviors``: ``(replicas, reason)``.

        ``up`` = min of ``desired`` and the recommendations in the scale-up
        window, ``down`` = max over the scale-down window; the result is
        ``current`` raised to ``up`` then lowered to ``down``. Records
        ``desired``, reusing the last slot expired for both windows.
        """
        recommendations = self._history()
        up_cutoff = now_s - self.behavior["scaleUp"]["stabilizationWindowSeconds"]
        down_cutoff = now_s - self.behavior["scaleDown"]["stabilizationWindowSeconds"]
        up, down, reuse = desired_replicas, desired_replicas, None
        for index, rec in enumerate(recommendations):
            if rec.timestamp_s > up_cutoff:
                up = min(rec.replicas, up)
            if rec.timestamp_s > down_cutoff:
                down = max(rec.replicas, down)
            if rec.timestamp_s < up_cutoff and rec.timestamp_s < down_cutoff:
                reuse = index
        self._store(reuse, Recommendation(desired_replicas, now_s))
        stabilized = min(max(current_replicas, up), down)
        up = desired_replicas >= current_replicas
        reason = "ScaleUpStabilized" if up else "ScaleDownStabilized"
        return stabilized, reason

    def convert_desired_replicas_with_behavior_rate(self, now_s: float, current_replicas: int,
                                                    desired_replicas: int) -> tuple:
        """``convertDesiredReplicasWithBehaviorRate``: ``(replicas, reason)``.

        A scale-up is capped by ``max_replicas`` (``TooManyReplicas``) or the
        scale-up policy limit, never below current (``ScaleUpLimit``); a
        scale-down is floored by ``min_replicas`` (``TooFewReplicas``) or the
        scale-down limit, never above current (``ScaleDownLimit``).
        """
        args = (self.scale_up_events, self.scale_down_events)
        if desired_replicas > current_replicas:
            limit = calculate_scale_up_limit_with_scaling_rules(
                current_replicas, *args, self.behavior["scaleUp"], now_s)
            limit = max(limit, current_replicas)
            if self.max_replicas > limit:
                allowed, reason = limit, "ScaleUpLimit"
            else:
                allowed, reason = self.max_replicas, "TooManyReplicas"
            if desired_replicas > allowed:
                return allowed, reason
        elif desired_replicas < current_replicas:
            limit = calculate_scale_down_limit_with_behaviors(
                current_replicas, *args, self.behavior["scaleDown"], now_s)
            limit = min(limit, current_replicas)
            if self.min_replicas < limit:
                allowed, reason = limit, "ScaleDownLimit"
            else:
                allowed, reason = self.min_replicas, "TooFewReplicas"
            if desired_replicas < allowed:
                return allowed, reason
        return desired_replicas, "DesiredWithinRange"

    # -- internals --
    def _history(self) -> list:
        if self.recommendations is None:
            self.recommendations = []
        return self.recommendations

    def _store(self, reuse: Optional[int], rec: Recommendation) -> None:
        if reuse is None:
            self.recommendations.append(rec)
        else:
            self.recommendations[reuse] = rec

    def _settled(self, current: int, desired: int) -> Optional[Decision]:
        """The branches of ``reconcileAutoscaler`` that skip normalization."""
        if current == 0 and self.min_replicas != 0:
            return Decision(0, current, desired, desired, "ScalingDisabled", None, None)
        if current > self.max_replicas:
            target, reason = self.max_replicas, "TooManyReplicas"
        elif current < self.min_replicas:
            target, reason = self.min_replicas, "TooFewReplicas"
        else:
            return None
        return Decision(target, current, desired, desired, reason, None, None)

    def _normalized(self, now_s: float, current: int, desired: int) -> Decision:
        if self.behavior is None:
            stabilized = self.stabilize_recommendation(now_s, desired)
            able = "ScaleDownStabilized" if stabilized != desired else "ReadyForNewScale"
            replicas, limited = convert_desired_replicas_with_rules(
                current, stabilized, self.min_replicas, self.max_replicas)
        else:
            stabilized, able = self.stabilize_recommendation_with_behaviors(now_s, current, desired)
            able = able if stabilized != desired else "ReadyForNewScale"
            replicas, limited = self.convert_desired_replicas_with_behavior_rate(
                now_s, current, stabilized)
        reason = _summary_reason(desired, stabilized, able, limited)
        return Decision(replicas, current, desired, stabilized, reason, able, limited)
