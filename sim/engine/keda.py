"""KEDA for a consumer service: the ScaledObject's two loops.

Every ``pollingInterval`` KEDA reads each trigger (the consumer group's lag
for ``kafka``, the queue's length for ``rabbitmq``), decides whether the
ScaledObject is active (a value strictly above its activation threshold)
and scales 0 <-> 1 itself (:class:`sim.policies.keda.KedaScaler`: to zero
only after ``cooldownPeriod`` without activity). Between 1 and
``maxReplicaCount`` the HPA KEDA creates does the scaling: an ordinary
:class:`~sim.engine.hpa.HPAController` with one External AverageValue metric
per trigger, whose value is read from the same scalers when the HPA syncs
(KEDA's metrics adapter), so the HPA's tolerance, behavior and windows apply.
"""
from __future__ import annotations

from ..policies.keda import KedaScaler, hpa_min_replicas, kafka_is_active, kafka_lag_metric, \
    queue_length_metric
from ..spec.hpa import ExternalMetricIdentifier, HPASpec
from ..status import NO_POD, SCALE_DOWN, SCALE_UP, SCALED, scaled_detail
from .hpa import HPAController


class _Trigger:
    """One trigger: its metric (what the HPA divides by the target) and activity."""

    def __init__(self, spec, source):
        self.spec = spec
        self.source = source
        meta = spec.metadata
        if spec.type == "kafka":
            self.target = meta.lagThreshold
            self.activation = meta.activationLagThreshold
        else:
            self.target = meta.target
            self.activation = meta.activationValue

    def value(self) -> float:
        meta, source = self.spec.metadata, self.source
        if self.spec.type == "kafka":
            return float(kafka_lag_metric(source.partition_lags(), int(meta.lagThreshold),
                                          meta.allowIdleConsumers))
        return float(queue_length_metric(source.ready(), source.lag() - source.ready(),
                                         meta.excludeUnacknowledged))

    def active(self) -> bool:
        if self.spec.type == "kafka":
            return kafka_is_active(self.source.partition_lags(), int(self.activation))
        return self.value() > self.activation


def hpa_spec(name: str, spec) -> HPASpec:
    """The HPA KEDA creates: min max(1, minReplicaCount), one External
    AverageValue metric per trigger (named ``s<i>-<type>-<service>``)."""
    metrics = [{"type": "External", "external": {
        "metric": ExternalMetricIdentifier.model_construct(name=f"s{i}-{t.type}-{name}", selector=None),
        "target": {"type": "AverageValue", "averageValue": _Trigger(t, None).target}}}
        for i, t in enumerate(spec.triggers)]
    behavior = spec.advanced.horizontalPodAutoscalerConfig.behavior
    return HPASpec.model_validate({"minReplicas": hpa_min_replicas(spec.minReplicaCount),
                                   "maxReplicas": spec.maxReplicaCount, "metrics": metrics,
                                   "behavior": behavior})


class KedaController:
    """KEDA's loop for one consumer service, and the HPA it owns."""

    def __init__(self, service, spec, source, metrics_server, clock, events):
        self.service = service
        self.spec = spec
        self.clock = clock
        self.events = events
        self.triggers = [_Trigger(t, source) for t in spec.triggers]
        for i, trigger in enumerate(self.triggers):
            metrics_server.external_sources[f"s{i}-{trigger.spec.type}-{service.name}"] = trigger.value
        self.hpa = HPAController(service, hpa_spec(service.name, spec), metrics_server, clock, events)
        self.scaler = KedaScaler(spec.minReplicaCount, spec.maxReplicaCount, spec.cooldownPeriod,
                                 spec.initialCooldownPeriod, created_s=0.0)

    def process(self, env):
        while True:
            yield env.timeout(self.spec.pollingInterval)
            self.poll(env.now)

    def poll(self, now: float) -> None:
        current = self.service.desired_replicas
        active = any(t.active() for t in self.triggers)
        replicas = self.scaler.decide(now, active, current)
        if replicas is None or replicas == current:
            return
        direction = SCALE_UP if replicas > current else SCALE_DOWN
        lags = ", ".join(f"{t.spec.type} {t.value():g}" for t in self.triggers)
        self.events.append(now, self.service.index, NO_POD, SCALED, scaled_detail(
            direction, f"current={current} desired={replicas} reason=keda "
                       f"{'active' if active else 'inactive'} metrics=[{lags}]"))
        self.service.replicaset.scale_to(replicas, f"keda {direction}")
