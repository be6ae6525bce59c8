"""The Kubernetes Horizontal Pod Autoscaler, as pure Python arithmetic.

No SimPy, no clock, no I/O: every function takes the time ``now_s`` (seconds,
any origin) and plain values and returns plain values. Split as Kubernetes
splits ``pkg/controller/podautoscaler``:

* :mod:`.samples` -- what the controller reads at a sync (:class:`PodSample`,
  :class:`Tolerances`) and the errors it reports for a metric;
* :mod:`.replicas` -- the replica calculator (``replica_calculator.go``,
  ``metrics/utilization.go``): one metric -> one proposal, and several
  proposals -> one (``computeReplicasForMetrics``);
* :mod:`.behavior` -- the normalizer (``horizontal.go``): stabilization
  windows and scaling policies (or the legacy path) turn the proposal into the
  count the controller sets.

Inputs arrive valid: the scenario's ``hpa`` block is validated and defaulted
once, at load, by :mod:`sim.spec.hpa`. The SimPy control loop that feeds these
functions is :mod:`sim.engine.hpa`. This package re-exports the public API.
"""
from .behavior import Decision, Normalizer, Recommendation, ScaleEvent
from .replicas import (combine_metric_proposals, external_metric_replicas, group_pods,
                       metrics_abort_sync, object_metric_replicas, plain_metric_replicas,
                       resource_replicas)
from .samples import HPAMetricError, NoValidMetricsError, PodSample, Tolerances

__all__ = [
    "Decision", "HPAMetricError", "NoValidMetricsError", "Normalizer", "PodSample",
    "Recommendation", "ScaleEvent", "Tolerances", "combine_metric_proposals",
    "external_metric_replicas", "group_pods", "metrics_abort_sync", "object_metric_replicas",
    "plain_metric_replicas", "resource_replicas",
]
