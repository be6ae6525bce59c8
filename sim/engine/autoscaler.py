"""The HorizontalPodAutoscaler control loop (pkg/controller/podautoscaler).

Every ``sync_period`` (15 s) it reads the latest metrics (:mod:`.metrics`),
asks the pure replica calculator (:mod:`sim.policies.hpa`) for one proposal
per metric, keeps the largest (never scaling down while a metric is invalid),
normalizes it with the behavior (stabilization windows and rate limits) and
rescales the service's ReplicaSet. Each rescale is an event ``scaled`` whose
detail carries current, desired, the limiting reason and the metrics.
"""
from __future__ import annotations

from ..policies.hpa import (HPAMetricError, Normalizer, PodSample, combine_metric_proposals,
                            external_metric_replicas, metrics_abort_sync, object_metric_replicas,
                            plain_metric_replicas, resource_replicas)
from ..units import parse_cpu
from .pod import PENDING, STARTING, TERMINATING

DEFAULT_CPU_TARGET = 80  # no metrics given: CPU Utilization 80 (Kubernetes default)


def _quantity(value) -> float:
    return parse_cpu(value) if isinstance(value, str) else float(value)


class HorizontalPodAutoscaler:
    """One HPA scaling one service."""

    def __init__(self, service, spec, metrics_server, clock, events):
        self.service = service
        self.spec = spec
        self.metrics_server = metrics_server
        self.clock = clock
        self.events = events
        self.normalizer = Normalizer(spec.minReplicas, spec.maxReplicas, behavior=spec.behavior,
                                     downscale_stabilization_s=spec.downscale_stabilization)
        self.tolerance = spec.tolerance

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
        for metric in self.spec.metrics or [None]:
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
        direction = "up" if replicas > current else "down"
        self.events.append(now, self.service.index, -1, "scaled",
                           f"direction={direction} current={current} desired={replicas} "
                           f"proposed={desired} reason={reason} metrics=[{'; '.join(notes)}]")
        self.service.replicaset.scale_to(replicas, f"hpa {direction}")

    def _samples(self, metric_name: str, millis: bool) -> list[PodSample]:
        samples = []
        for pod in self.service.pods:
            if pod.phase == TERMINATING:
                phase = "Deleting"
            elif pod.phase == PENDING or (pod.phase == STARTING and pod.started_s is None):
                phase = "Pending"
            else:
                phase = "Running"
            metric = pod.metric
            usage = None if metric is None else metric.value(metric_name) * (1000 if millis else 1)
            samples.append(PodSample(
                phase=phase, ready=pod.ready, start_s=pod.bound_s,
                ready_change_s=pod.ready_since_s if pod.ready_since_s is not None else pod.created_s,
                request=pod.cpu_request * 1000 if millis else None, usage=usage,
                metric_s=None if metric is None else metric.t_s,
                metric_window_s=15.0 if metric is None else metric.window_s))
        return samples

    def _proposal(self, metric, current: int, now: float) -> tuple[int, str]:
        kw = dict(tolerance=self.tolerance,
                  cpu_initialization_period_s=self.spec.cpu_initialization_period,
                  initial_readiness_delay_s=self.spec.initial_readiness_delay)
        if metric is None or metric.type == "Resource":
            target = metric.resource.target if metric is not None else None
            if target is None or target.type == "Utilization":
                percent = target.averageUtilization if target is not None else DEFAULT_CPU_TARGET
                replicas, utilization = resource_replicas(current, self._samples("cpu", True),
                                                          percent, now, **kw)
                return replicas, f"cpu {utilization}%/{percent}%"
            value = _quantity(target.averageValue) * 1000
            replicas, average = plain_metric_replicas(current, self._samples("cpu", True), value,
                                                      now, resource="cpu", **kw)
            return replicas, f"cpu {average:g}m/{value:g}m"
        if metric.type == "Pods":
            name = metric.pods.metric.name
            target = _quantity(metric.pods.target.averageValue)
            replicas, average = plain_metric_replicas(current, self._samples(name, False),
                                                      target, now, **kw)
            return replicas, f"{name} {average:g}/{target:g}"
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

    def _value_proposal(self, fn, current, value, target, name):
        ready = self._samples("cpu", False)
        if target.type == "Value":
            replicas, _ = fn(current, value, ready, target_value=_quantity(target.value),
                             status_replicas=len(self.service.pods), tolerance=self.tolerance)
        else:
            replicas, _ = fn(current, value, ready, target_average_value=_quantity(target.averageValue),
                             status_replicas=len(self.service.pods), tolerance=self.tolerance)
        shown = sum(value) if isinstance(value, list) else value
        return replicas, f"{name} {shown:g}"

    def _service_named(self, name: str):
        for other in self.metrics_server.services:
            if other.name == name:
                return other
        raise HPAMetricError(f"no service {name}")
