"""The ``hpa`` block: an autoscaling/v2 HorizontalPodAutoscaler spec plus the
controller-manager flags that shape it.

Field names are Kubernetes' own (camelCase) so a manifest pastes in; the
controller flags are snake_case. Validation and defaulting are Kubernetes':
``pkg/apis/autoscaling/validation/validation.go`` (``validateMetricTarget``,
``validateResourceSource``/``validatePodsSource``/..., ``validateBehavior``,
``validateScalingRules``, ``validateScalingPolicy``) and
``pkg/apis/autoscaling/v2/defaults.go`` (``SetDefaults_HorizontalPodAutoscaler``,
``GenerateHPAScaleUpRules``, ``GenerateHPAScaleDownRules``). After loading,
every quantity is a float and every rule is filled in, so the HPA policy
(:mod:`sim.policies.hpa`) never checks its inputs. The one value left open is
``behavior.scaleDown.stabilizationWindowSeconds`` when not given: Kubernetes
leaves it nil and the controller fills it from its
``--horizontal-pod-autoscaler-downscale-stabilization`` flag
(``downscale_stabilization`` here; horizontal.go
``maybeInitScaleDownStabilizationWindow``).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BeforeValidator, Field, field_validator, model_validator

from ..units import parse_quantity
from .base import NonNegDuration, PosDuration, Spec

# --- kube-controller-manager flag defaults ---------------------------------------
# pkg/controller/podautoscaler/config/v1alpha1/defaults.go
SYNC_PERIOD_S = 15.0
"""``--horizontal-pod-autoscaler-sync-period``."""
TOLERANCE = 0.1
"""``--horizontal-pod-autoscaler-tolerance``."""
CPU_INITIALIZATION_PERIOD_S = 300.0
"""``--horizontal-pod-autoscaler-cpu-initialization-period``."""
INITIAL_READINESS_DELAY_S = 30.0
"""``--horizontal-pod-autoscaler-initial-readiness-delay``."""
DOWNSCALE_STABILIZATION_S = 300.0
"""``--horizontal-pod-autoscaler-downscale-stabilization``."""

METRIC_RESOLUTION_S = 15.0
"""metrics-server's ``--metric-resolution``: how often every pod is scraped,
and so the window of each pod metric the HPA reads. The simulated cluster's
metrics pipeline (:mod:`sim.engine.metrics`) runs at this resolution."""

DEFAULT_CPU_UTILIZATION = 80
"""``autoscaling.DefaultCPUUtilization``: the metric of an HPA that lists none."""

# --- pkg/apis/autoscaling/validation/validation.go ----------------------------------
MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600

POD_METRIC_NAMES = ("requests_per_second", "in_flight", "queue_length", "cpu")
"""The per-pod metrics the simulated metrics pipeline serves (``type: Pods``,
and summed over a Service's pods for ``type: Object``)."""

PositiveQuantity = Annotated[float, BeforeValidator(parse_quantity), Field(gt=0)]
"""A Kubernetes quantity (``10``, ``500m``, ``1k``, ``2Gi``) as a float > 0
(``validateMetricTarget``: "must be positive")."""
NonNegQuantity = Annotated[float, BeforeValidator(parse_quantity), Field(ge=0)]


class _NullIsUnset(Spec):
    """A JSON/YAML ``null`` is an unset field in Kubernetes: its default applies."""

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if v is not None}
        return value


# --- metrics -----------------------------------------------------------------------
_TARGET_FIELD = {"Utilization": "averageUtilization", "AverageValue": "averageValue",
                 "Value": "value"}


class MetricTarget(Spec):
    """autoscaling/v2 MetricTarget: exactly the field its ``type`` names is set.

    ``averageUtilization`` is a percentage of the pods' requests;
    ``averageValue`` and ``value`` are quantities, floats after loading.
    """

    type: Literal["Utilization", "AverageValue", "Value"]
    averageUtilization: Optional[int] = Field(None, gt=0)
    averageValue: Optional[PositiveQuantity] = None
    value: Optional[PositiveQuantity] = None

    @model_validator(mode="after")
    def _matching_field(self):
        needed = _TARGET_FIELD[self.type]
        if getattr(self, needed) is None:
            raise ValueError(f"target type {self.type} needs {needed}")
        others = [f for f in _TARGET_FIELD.values() if f != needed and getattr(self, f) is not None]
        if others:
            raise ValueError(f"target type {self.type} takes only {needed}, "
                             f"not {', '.join(others)}")
        return self


def _target_types(target: MetricTarget, allowed: tuple[str, ...], source: str) -> MetricTarget:
    if target.type not in allowed:
        raise ValueError(f"a {source} metric takes a target of type {' or '.join(allowed)}, "
                         f"not {target.type}")
    return target


class PodMetricIdentifier(Spec):
    """A per-pod metric served by the simulated metrics pipeline."""

    name: Literal[POD_METRIC_NAMES]  # type: ignore[valid-type]
    selector: Optional[dict[str, Any]] = None


class ExternalMetricIdentifier(Spec):
    """``<workload>.requests_per_second``: the offered rate of a workload."""

    name: str = Field(pattern=r"^[^.\s]+\.requests_per_second$")
    selector: Optional[dict[str, Any]] = None


class ResourceMetricSource(Spec):
    """CPU of the pods: Utilization (% of requests) or AverageValue (cores)."""

    name: Literal["cpu"]
    target: MetricTarget

    @field_validator("target")
    @classmethod
    def _types(cls, target):
        return _target_types(target, ("Utilization", "AverageValue"), "Resource")


class PodsMetricSource(Spec):
    """A per-pod metric averaged over the pods, against an AverageValue."""

    metric: PodMetricIdentifier
    target: MetricTarget

    @field_validator("target")
    @classmethod
    def _types(cls, target):
        return _target_types(target, ("AverageValue",), "Pods")


class ObjectReference(Spec):
    """``CrossVersionObjectReference``. As an Object metric's ``describedObject``
    it names a service of the scenario; as ``scaleTargetRef`` it is accepted
    so a manifest pastes in (the HPA scales the service it belongs to)."""

    kind: str = "Service"
    name: str
    apiVersion: Optional[str] = None


class ObjectMetricSource(Spec):
    """A metric of one object (a Service: the sum over its pods)."""

    metric: PodMetricIdentifier
    describedObject: ObjectReference
    target: MetricTarget

    @field_validator("target")
    @classmethod
    def _types(cls, target):
        return _target_types(target, ("Value", "AverageValue"), "Object")


class ExternalMetricSource(Spec):
    """A metric from outside the cluster (a workload's offered rate)."""

    metric: ExternalMetricIdentifier
    target: MetricTarget

    @field_validator("target")
    @classmethod
    def _types(cls, target):
        return _target_types(target, ("Value", "AverageValue"), "External")


class MetricSpec(Spec):
    """autoscaling/v2 MetricSpec: a type and exactly the source block it names."""

    type: Literal["Resource", "Pods", "Object", "External"]
    resource: Optional[ResourceMetricSource] = None
    pods: Optional[PodsMetricSource] = None
    object: Optional[ObjectMetricSource] = None
    external: Optional[ExternalMetricSource] = None

    @model_validator(mode="after")
    def _source_present(self):
        key = self.type.lower()
        if getattr(self, key) is None:
            raise ValueError(f"type {self.type} needs a '{key}' block")
        others = [k for k in ("resource", "pods", "object", "external")
                  if k != key and getattr(self, k) is not None]
        if others:
            raise ValueError(f"type {self.type} takes only '{key}', not {others}")
        return self


def default_metrics() -> list[MetricSpec]:
    """CPU Utilization 80 %, what Kubernetes gives an HPA without metrics."""
    return [MetricSpec(type="Resource", resource=ResourceMetricSource(
        name="cpu", target=MetricTarget(type="Utilization",
                                        averageUtilization=DEFAULT_CPU_UTILIZATION)))]


# --- behavior --------------------------------------------------------------------------
class HPAScalingPolicy(Spec):
    """``HPAScalingPolicy``: change by at most ``value`` pods (``Pods``) or
    ``value`` percent of the pods (``Percent``) per ``periodSeconds``."""

    type: Literal["Pods", "Percent"]
    value: int = Field(gt=0)
    periodSeconds: int = Field(gt=0, le=MAX_PERIOD_SECONDS)


def _policies(*rules: tuple[str, int, int]) -> list[HPAScalingPolicy]:
    return [HPAScalingPolicy(type=t, value=v, periodSeconds=p) for t, v, p in rules]


class HPAScalingRules(_NullIsUnset):
    """``HPAScalingRules`` for one direction.

    ``stabilizationWindowSeconds`` in [0, 3600]; ``selectPolicy`` Max (the
    policy allowing the largest change), Min (the smallest) or Disabled (no
    scaling in this direction); at least one policy; ``tolerance`` (a
    quantity >= 0, Kubernetes' HPAConfigurableTolerance) overrides the
    controller's tolerance for this direction. A null field takes its default.
    """

    stabilizationWindowSeconds: Optional[int] = Field(None, ge=0,
                                                      le=MAX_STABILIZATION_WINDOW_SECONDS)
    selectPolicy: Literal["Max", "Min", "Disabled"] = "Max"
    policies: list[HPAScalingPolicy] = Field(min_length=1)
    tolerance: Optional[NonNegQuantity] = None


class ScaleUpRules(HPAScalingRules):
    """``GenerateHPAScaleUpRules``: no window; 4 pods or 100 % per 15 s, Max."""

    stabilizationWindowSeconds: int = Field(0, ge=0, le=MAX_STABILIZATION_WINDOW_SECONDS)
    policies: list[HPAScalingPolicy] = Field(
        default_factory=lambda: _policies(("Pods", 4, 15), ("Percent", 100, 15)), min_length=1)


class ScaleDownRules(HPAScalingRules):
    """``GenerateHPAScaleDownRules``: 100 % per 15 s, Max; the window, when not
    given (``None``), is the controller's ``downscale_stabilization``."""

    policies: list[HPAScalingPolicy] = Field(
        default_factory=lambda: _policies(("Percent", 100, 15)), min_length=1)


class HPABehavior(_NullIsUnset):
    """``HorizontalPodAutoscalerBehavior`` with Kubernetes' defaults filled in.

    Given at all (even ``{}``), it selects the controller's behavior path
    (``normalizeDesiredReplicasWithBehaviors``); an HPA without ``behavior``
    takes the legacy path (``normalizeDesiredReplicas``), as in Kubernetes.
    """

    scaleUp: ScaleUpRules = Field(default_factory=ScaleUpRules)
    scaleDown: ScaleDownRules = Field(default_factory=ScaleDownRules)


# --- the HPA -------------------------------------------------------------------------------
class HPASpec(_NullIsUnset):
    """An autoscaling/v2 HorizontalPodAutoscaler spec plus controller flags.

    ``metrics`` empty or absent: CPU Utilization 80 (Kubernetes' default).
    ``scaleTargetRef`` is accepted so a manifest pastes in: the HPA always
    scales the service it belongs to.
    """

    minReplicas: int = Field(1, ge=0)
    maxReplicas: int = Field(ge=1)
    metrics: list[MetricSpec] = Field(default_factory=default_metrics)
    behavior: Optional[HPABehavior] = None
    scaleTargetRef: Optional[ObjectReference] = None
    sync_period: PosDuration = SYNC_PERIOD_S
    tolerance: float = Field(TOLERANCE, ge=0, lt=1)
    cpu_initialization_period: NonNegDuration = CPU_INITIALIZATION_PERIOD_S
    initial_readiness_delay: NonNegDuration = INITIAL_READINESS_DELAY_S
    downscale_stabilization: NonNegDuration = DOWNSCALE_STABILIZATION_S

    @field_validator("metrics")
    @classmethod
    def _default_metric(cls, metrics):
        return metrics or default_metrics()

    @model_validator(mode="after")
    def _bounds(self):
        if self.minReplicas > self.maxReplicas:
            raise ValueError(f"minReplicas ({self.minReplicas}) exceeds maxReplicas "
                             f"({self.maxReplicas})")
        return self
