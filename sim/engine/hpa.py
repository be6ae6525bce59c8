"""The HorizontalPodAutoscaler control loop (pkg/controller/podautoscaler).

Where the HPA is decided: every ``sync_period`` (15 s) :class:`HPAController`
reads the latest pod metrics (:mod:`.metrics`), asks the pure replica
calculator (:mod:`sim.policies.hpa.replicas`) for one proposal per metric,
keeps the largest (never scaling down while a metric is invalid), normalizes
it with the behavior (:mod:`sim.policies.hpa.behavior`: stabilization windows
and rate limits) and rescales the service's ReplicaSet. Each rescale is an
event ``scaled`` whose detail carries current, desired, the limiting reason
and the metrics. (The cluster autoscaler, which adds and removes nodes, is
:mod:`.cluster`.)

The spec (:class:`sim.spec.hpa.HPASpec`) arrives validated, defaulted and with
every quantity a float; as Kubernetes does, metric values and targets are
turned into milli-units before the calculator divides them.
"""
from __future__ import annotations

from ..policies.hpa.behavior import Normalizer
from ..policies.hpa.replicas import (combine_metric_proposals, external_metric_replicas,
                                     metrics_abort_sync, object_metric_replicas,
                                     plain_metric_replicas, resource_replicas)
from ..policies.hpa.samples import HPAMetricError, PodSample
from ..status import NO_POD, SCALE_DOWN, SCALE_UP, SCALED, scaled_detail
from .pod import PENDING, STARTING, TERMINATING

MILLI = 1000
"""Kubernetes' ``Quantity.MilliValue()``: the calculator works in milli-units."""


def _phase(pod) -> str:
    """The pod's phase as the HPA sees it (a terminating pod is ``Deleting``)."""
    if pod.phase == TERMINATING:
        return "Deleting"
    if pod.phase == PENDING or (pod.phase == STARTING and pod.started_s is None):
        return "Pending"
    return "Running"


def pod_sample(pod, metric_name: str, cpu_request: bool) -> PodSample:
    """One pod for the replica calculator: its ``metric_name`` in milli-units
    (none before its second scrape) and, with ``cpu_request``, its CPU request
    in millicores."""
    state = dict(phase=_phase(pod), ready=pod.ready, start_s=pod.bound_s,
                 ready_change_s=pod.ready_since_s if pod.ready_since_s is not None
                 else pod.created_s,
                 request=pod.cpu_request * MILLI if cpu_request else None)
    metric = pod.metric
    if metric is None:
        return PodSample(**state)  # no metric: the calculator counts the pod as missing
    return PodSample(**state, usage=metric.value(metric_name) * MILLI, metric_s=metric.t_s,
                     metric_window_s=metric.window_s)


class HPAController:
    """The controller loop of one HPA scaling one service."""

    def __init__(self, service, spec, metrics_server, clock, events):
        self.service = service
        self.spec = spec
        self.metrics_server = metrics_server
        self.clock = clock
        self.events = events
        self.normalizer = Normalizer(spec.minReplicas, spec.maxReplicas, behavior=spec.behavior,
                                     downscale_stabilization_s=spec.downscale_stabilization)
        self.tolerances = self.normalizer.tolerances(spec.tolerance)

    def process(self, env):
        while True:
            yield env.timeout(self.spec.sync_period)
            self.reconcile(env.now)

    # ---------------------------------------------------------------- sync
    def reconcile(self, now: float) -> None:
        current = self.service.desired_replicas
        if current == 0:
            return  # scaling is disabled at 0 replicas, as in Kubernetes
        proposals, notes = [], []
        for metric in self.spec.metrics:
            try:
                replicas, note = self._proposal(metric, current, now)
            except HPAMetricError as exc:
                replicas, note = None, f"invalid: {type(exc).__name__}"
            proposals.append(replicas)
            notes.append(note)
        if metrics_abort_sync(current, proposals):
            return
        desired = combine_metric_proposals(current, proposals)
        replicas, reason = self.normalizer.recommend_with_reason(now, current, desired)
        if replicas == current:
            return
        direction = SCALE_UP if replicas > current else SCALE_DOWN
        self.events.append(now, self.service.index, NO_POD, SCALED, scaled_detail(
            direction, f"current={current} desired={replicas} "
                       f"proposed={desired} reason={reason} metrics=[{'; '.join(notes)}]"))
        self.service.replicaset.scale_to(replicas, f"hpa {direction}")

    def _samples(self, metric_name: str, cpu_request: bool) -> list[PodSample]:
        return [pod_sample(pod, metric_name, cpu_request) for pod in self.service.pods]

    def _calculator_args(self) -> dict:
        return dict(tolerance=self.tolerances,
                    cpu_initialization_period_s=self.spec.cpu_initialization_period,
                    initial_readiness_delay_s=self.spec.initial_readiness_delay)

    def _proposal(self, metric, current: int, now: float) -> tuple[int, str]:
        """``(replicas, note)`` for one metric; HPAMetricError if it has none."""
        if metric.type == "Resource":
            return self._cpu_proposal(metric.resource.target, current, now)
        if metric.type == "Pods":
            name = metric.pods.metric.name
            target = metric.pods.target.averageValue
            replicas, average = plain_metric_replicas(current, self._samples(name, False),
                                                      target * MILLI, now,
                                                      **self._calculator_args())
            return replicas, f"{name} {average / MILLI:g}/{target:g}"
        if metric.type == "Object":
            source = metric.object
            name = source.metric.name
            described = self._service_named(source.describedObject.name)
            value = sum(p.metric.value(name) for p in described.pods if p.metric is not None)
            return self._value_proposal(object_metric_replicas, current, value, source.target, name)
        source = metric.external
        name = source.metric.name
        value = self.metrics_server.external(name)
        if value is None:
            raise HPAMetricError(f"no external metric {name}")
        return self._value_proposal(external_metric_replicas, current, [value], source.target, name)

    def _cpu_proposal(self, target, current: int, now: float) -> tuple[int, str]:
        """A Resource (cpu) metric: Utilization (% of requests) or AverageValue (cores)."""
        samples = self._samples("cpu", True)
        if target.type == "Utilization":
            percent = target.averageUtilization
            replicas, utilization = resource_replicas(current, samples, percent, now,
                                                      **self._calculator_args())
            return replicas, f"cpu {utilization}%/{percent}%"
        value = target.averageValue * MILLI
        replicas, average = plain_metric_replicas(current, samples, value, now, resource="cpu",
                                                  **self._calculator_args())
        return replicas, f"cpu {average:g}m/{value:g}m"

    def _value_proposal(self, fn, current, value, target, name):
        ready = self._samples("cpu", False)
        status = len(self.service.pods)
        if target.type == "Value":
            replicas, _ = fn(current, value, ready, target_value=target.value,
                             status_replicas=status, tolerance=self.tolerances)
        else:
            replicas, _ = fn(current, value, ready, target_average_value=target.averageValue,
                             status_replicas=status, tolerance=self.tolerances)
        shown = sum(value) if isinstance(value, list) else value
        return replicas, f"{name} {shown:g}"

    def _service_named(self, name: str):
        for other in self.metrics_server.services:
            if other.name == name:
                return other
        raise HPAMetricError(f"no service {name}")
