"""The HPA's replica calculator: one metric -> one replica proposal.

Pure arithmetic, as Kubernetes computes it, function by function (paths
relative to ``kubernetes/pkg/controller/podautoscaler/``):

* ``replica_calculator.go`` -- ``groupPods``, ``removeMetricsForPods``,
  ``calculateRequests``, ``ReplicaCalculator.GetResourceReplicas``,
  ``GetRawResourceReplicas``, ``GetMetricReplicas``/``calcPlainMetricReplicas``,
  ``GetObjectMetricReplicas``, ``GetObjectPerPodMetricReplicas``,
  ``GetExternalMetricReplicas``, ``GetExternalPerPodMetricReplicas``,
  ``getUsageRatioReplicaCount``, ``getReadyPodsCount``;
* ``metrics/utilization.go`` -- ``GetResourceUtilizationRatio``,
  ``GetMetricUsageRatio``;
* ``horizontal.go`` -- ``computeReplicasForMetrics`` (several metrics: the
  largest proposal, never a scale-down while one is invalid).

Quantities: ``request`` and ``usage`` are Kubernetes milli-values (e.g.
millicores). Where Kubernetes divides int64 values the division here truncates
toward zero too (exact for ``int`` inputs, ``math.trunc(a / b)`` for floats).
Kubernetes' int32/int64 overflow clamps are not reproduced: Python integers do
not overflow. Targets are > 0 and tolerances >= 0: the scenario's validation
(:mod:`sim.spec.hpa`) guarantees it, nothing here checks it again.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, NamedTuple, Optional, Sequence

from ...spec.hpa import CPU_INITIALIZATION_PERIOD_S, INITIAL_READINESS_DELAY_S, TOLERANCE
from .samples import (MissingRequestError, NoMetricsError, NoPodsError, NoValidMetricsError,
                      PodSample, ToleranceArg, Tolerances, as_tolerances)


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
    cpu_initialization_period_s: float = CPU_INITIALIZATION_PERIOD_S,
    initial_readiness_delay_s: float = INITIAL_READINESS_DELAY_S,
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
    tolerance: ToleranceArg = TOLERANCE,
    cpu_initialization_period_s: float = CPU_INITIALIZATION_PERIOD_S,
    initial_readiness_delay_s: float = INITIAL_READINESS_DELAY_S,
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
    pods = _pods_or_error(pods)
    groups = group_pods(pods, now_s, resource=resource,
                        cpu_initialization_period_s=cpu_initialization_period_s,
                        initial_readiness_delay_s=initial_readiness_delay_s)
    metrics = _metrics_or_error(_usable_metrics(pods, groups))
    requests = _requests(pods, resource)
    ratio, utilization, _raw = resource_utilization_ratio(metrics, requests, target_utilization)
    fallback_percent = max(100, target_utilization)
    replicas = _replicas_from_groups(
        current_replicas, groups, metrics, ratio, as_tolerances(tolerance),
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
    tolerance: ToleranceArg = TOLERANCE,
    cpu_initialization_period_s: float = CPU_INITIALIZATION_PERIOD_S,
    initial_readiness_delay_s: float = INITIAL_READINESS_DELAY_S,
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
    pods = _pods_or_error(pods)
    groups = group_pods(pods, now_s, resource=resource,
                        cpu_initialization_period_s=cpu_initialization_period_s,
                        initial_readiness_delay_s=initial_readiness_delay_s)
    metrics = _metrics_or_error(_usable_metrics(pods, groups))
    ratio, usage = metric_usage_ratio(metrics, target_average_value)
    replicas = _replicas_from_groups(
        current_replicas, groups, metrics, ratio, as_tolerances(tolerance),
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
    tolerance: ToleranceArg = TOLERANCE,
) -> tuple:
    """An Object metric, dispatched as ``computeStatusForObjectMetric``.

    With ``target_value`` (a Value target): ``GetObjectMetricReplicas`` --
    ``ratio = value / target``, ``current`` if within tolerance, else
    ``ceil(ratio * ready pods)`` (``ceil(ratio)`` when ``current_replicas`` is
    0). With ``target_average_value``: :func:`object_per_pod_metric_replicas`
    on ``status_replicas`` (default ``current_replicas``). Returns
    ``(replicas, usage)``; the usage is the value, or its per-pod average.
    """
    if (target_value is None) == (target_average_value is None):
        raise ValueError("give exactly one of target_value and target_average_value")
    if target_average_value is not None:
        status = current_replicas if status_replicas is None else status_replicas
        return object_per_pod_metric_replicas(status, value, target_average_value,
                                              tolerance=tolerance)
    ratio = value / target_value
    tolerances = as_tolerances(tolerance)
    return _usage_ratio_replica_count(current_replicas, ratio, tolerances, pods), value


def object_per_pod_metric_replicas(status_replicas: int, value: float, target_average_value: float,
                                   *, tolerance: ToleranceArg = TOLERANCE) -> tuple:
    """``GetObjectPerPodMetricReplicas``: ``(replicas, ceil(value / status_replicas))``.

    ``ratio = value / (target * status_replicas)``; outside tolerance the
    proposal is ``ceil(value / target)``, else ``status_replicas``.
    """
    return _per_pod_replicas(status_replicas, value, target_average_value, as_tolerances(tolerance))


def external_metric_replicas(
    current_replicas: int,
    values: Iterable[float],
    pods: Iterable[PodSample] = (),
    *,
    target_value: Optional[float] = None,
    target_average_value: Optional[float] = None,
    status_replicas: Optional[int] = None,
    tolerance: ToleranceArg = TOLERANCE,
) -> tuple:
    """An External metric, dispatched as ``computeStatusForExternalMetric``.

    ``values`` are the series returned for the metric selector; they are
    summed. With ``target_value``: ``GetExternalMetricReplicas`` (as
    :func:`object_metric_replicas` with a Value target); with
    ``target_average_value``: :func:`external_per_pod_metric_replicas` on
    ``status_replicas`` (default ``current_replicas``). Returns
    ``(replicas, usage)``.
    """
    values = list(values)
    if (target_value is None) == (target_average_value is None):
        raise ValueError("give exactly one of target_value and target_average_value")
    if target_average_value is not None:
        status = current_replicas if status_replicas is None else status_replicas
        return external_per_pod_metric_replicas(status, values, target_average_value,
                                                tolerance=tolerance)
    usage = sum(values)
    ratio = usage / target_value
    tolerances = as_tolerances(tolerance)
    return _usage_ratio_replica_count(current_replicas, ratio, tolerances, pods), usage


def external_per_pod_metric_replicas(status_replicas: int, values: Iterable[float],
                                     target_average_value: float, *,
                                     tolerance: ToleranceArg = TOLERANCE) -> tuple:
    """``GetExternalPerPodMetricReplicas``: as :func:`object_per_pod_metric_replicas`
    on the sum of ``values``."""
    return _per_pod_replicas(status_replicas, sum(values), target_average_value,
                             as_tolerances(tolerance))


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
