"""KEDA: scaler metrics, activity, and the ScaledObject's 0 <-> 1 executor.

KEDA polls its scalers every ``pollingInterval`` (30 s). Each trigger yields a
metric value and an activity flag. KEDA itself only moves a workload between
0 (or ``idleReplicaCount``) and ``max(minReplicaCount, 1)``; between 1 and N
the HPA KEDA creates scales it on the same metric as an External
``AverageValue`` target (see :func:`hpa_external_target` and
:func:`sim.policies.hpa.external_metric_replicas`).

Pure functions and one small state machine; no clock of its own.

Sources imitated (kedacore/keda, main):

* ``pkg/scaling/executor/scale_scaledobjects.go`` -- ``RequestScale``,
  ``scaleToZeroOrIdle``, ``scaleFromZeroOrIdle``,
  ``getIdleOrMinimumReplicaCount``; defaults in ``scale_executor.go``
  (``defaultCooldownPeriod = 300``, ``defaultInitialCooldownPeriod = 0``).
* ``pkg/scaling/scale_handler.go`` -- ``getScaledObjectState``: the object is
  active iff any trigger is active.
* ``pkg/scalers/kafka_scaler.go`` -- ``getLagForPartition``, ``getTotalLag``,
  ``GetMetricsAndActivity``, ``getNextFactorThatBalancesConsumersToTopicPartitions``,
  ``FindFactors``.
* ``pkg/scalers/rabbitmq_scaler.go`` -- ``getQueueStatus``,
  ``GetMetricsAndActivity`` (QueueLength mode).
* ``pkg/scalers/scaler.go`` -- ``GetMetricTarget`` (AverageValue unless
  ``metricType`` says otherwise), ``quantityFromFloat64`` (negative -> 0).
* ``apis/keda/v1alpha1/scaledobject_types.go`` -- ``GetHPAMinReplicas``,
  ``GetHPAMaxReplicas``, ``CheckReplicaCountBoundsAreValid``.

Worked example -- Kafka topic of 10 partitions, 1000 messages of lag,
``lagThreshold`` 10: ``1000 // 10 = 100 > 10`` partitions, so the metric is
capped to ``10 * 10 = 100`` and the HPA asks ``ceil(100 / 10) = 10``
replicas, one per partition. With ``allowIdleConsumers`` the metric stays
1000 and the HPA asks 100 (then clamped to ``maxReplicaCount``).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

DEFAULT_POLLING_INTERVAL_S = 30.0          # withtriggers_types.go defaultPollingInterval
DEFAULT_COOLDOWN_PERIOD_S = 300.0          # scale_executor.go defaultCooldownPeriod
DEFAULT_INITIAL_COOLDOWN_PERIOD_S = 0.0    # scale_executor.go defaultInitialCooldownPeriod
DEFAULT_MIN_REPLICA_COUNT = 0
DEFAULT_MAX_REPLICA_COUNT = 100            # scaledobject_types.go defaultHPAMaxReplicas
KAFKA_DEFAULT_LAG_THRESHOLD = 10           # kafka_scaler.go defaultKafkaLagThreshold
KAFKA_DEFAULT_ACTIVATION_LAG_THRESHOLD = 0
RABBITMQ_DEFAULT_QUEUE_LENGTH = 20         # rabbitmq_scaler.go defaultRabbitMQQueueLength
RABBITMQ_DEFAULT_ACTIVATION_VALUE = 0.0


def _int_at_least(name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


# --- Kafka ---------------------------------------------------------------------
def kafka_partition_lag(latest_offset: Optional[int], committed_offset: Optional[int],
                        offset_reset_policy: str = "latest",
                        scale_to_zero_on_invalid_offset: bool = False) -> int:
    """``getLagForPartition`` without ``excludePersistentLag``.

    ``committed_offset`` None is KEDA's ``invalidOffset`` (-1: the group has
    committed nothing for the partition); ``latest_offset`` None means the
    partition is missing from the broker's latest-offset response.

    * committed unknown, policy ``latest``: 1 (0 with
      ``scaleToZeroOnInvalidOffset``) -- checked before the latest offset;
    * committed unknown, policy ``earliest``: 0 with
      ``scaleToZeroOnInvalidOffset``, else the whole log, ``latest_offset``;
    * latest offset missing: 0;
    * otherwise ``latest_offset - committed_offset``.
    """
    if offset_reset_policy not in ("latest", "earliest"):
        raise ValueError(f"offset_reset_policy must be 'latest' or 'earliest', "
                         f"got {offset_reset_policy!r}")
    if committed_offset is None:
        if offset_reset_policy == "latest":
            return 0 if scale_to_zero_on_invalid_offset else 1
        if scale_to_zero_on_invalid_offset:
            return 0
    if latest_offset is None:
        return 0
    if committed_offset is None:  # earliest, scaleToZeroOnInvalidOffset false
        return latest_offset
    return latest_offset - committed_offset


def _lags(lags: Sequence[Optional[int]]) -> list[int]:
    """Per-partition lags, ``None`` read as an unknown committed offset under the
    default ``latest`` policy (lag 1)."""
    return [kafka_partition_lag(None, None) if lag is None else int(lag) for lag in lags]


def find_factors(n: int) -> list[int]:
    """``FindFactors``: the divisors of ``n`` ascending; ``[]`` for ``n < 1``."""
    if n < 1:
        return []
    return sorted({d for i in range(1, math.isqrt(n) + 1) if n % i == 0 for d in (i, n // i)})


def next_factor_balancing(total_lag: int, partitions: int, lag_threshold: int) -> int:
    """``getNextFactorThatBalancesConsumersToTopicPartitions``: the smallest
    divisor ``f`` of ``partitions`` with ``f * lag_threshold >= total_lag``,
    else ``partitions``."""
    for factor in find_factors(partitions):
        if factor * lag_threshold >= total_lag:
            return factor
    return partitions


def kafka_lag_metric(lags: Sequence[Optional[int]], lag_threshold: int = KAFKA_DEFAULT_LAG_THRESHOLD,
                     allow_idle_consumers: bool = False, *,
                     ensure_even_distribution: bool = False) -> int:
    """The value the Kafka scaler reports to the HPA (``getTotalLag``'s first result).

    ``lags`` has one entry per partition of the topic (its length is the
    partition count); an entry is a lag from :func:`kafka_partition_lag`, or
    None for a partition with no committed offset (lag 1, KEDA's default
    ``offsetResetPolicy: latest``). With ``total`` their sum and ``P`` their
    number, unless ``allow_idle_consumers`` (and always when
    ``ensure_even_distribution``)::

        if ensure_even_distribution: total = next_factor_balancing(total, P, t) * t
        if total // t > P:           total = P * t      # Go integer division

    so the HPA never asks for more consumers than partitions. A negative total
    (only from inconsistent offsets) is reported as 0 (``quantityFromFloat64``);
    Go's truncating and Python's flooring division only differ for negative
    totals, which can never exceed ``P`` either way.

    Not modelled: ``limitToPartitionsWithLag`` (cap to partitions with lag > 0
    instead of all), ``excludePersistentLag`` (a partition whose committed
    offset did not move since the previous poll counts 0 in the metric, but
    still counts for activity), ``partitionLimitation`` and topic-less triggers
    summing several topics.
    """
    _int_at_least("lag_threshold", lag_threshold, 1)
    values = _lags(lags)
    total, partitions = sum(values), len(values)
    if not allow_idle_consumers or ensure_even_distribution:
        if ensure_even_distribution:
            total = next_factor_balancing(total, partitions, lag_threshold) * lag_threshold
        if total // lag_threshold > partitions:
            total = partitions * lag_threshold
    return max(0, total)


def kafka_is_active(lags: Sequence[Optional[int]],
                    activation_lag_threshold: int = KAFKA_DEFAULT_ACTIVATION_LAG_THRESHOLD) -> bool:
    """Kafka trigger activity: the *uncapped* total lag (``totalLagWithPersistent``)
    strictly greater than ``activationLagThreshold`` (default 0)."""
    _int_at_least("activation_lag_threshold", activation_lag_threshold, 0)
    return sum(_lags(lags)) > activation_lag_threshold


# --- RabbitMQ ------------------------------------------------------------------
def queue_length_metric(ready: int, unacked: int, exclude_unacknowledged: bool = False, *,
                        protocol: str = "http") -> int:
    """RabbitMQ ``QueueLength`` mode metric (``getQueueStatus``).

    Over the management HTTP API the metric is the queue's ``messages``
    (ready + unacknowledged), or ``messages_ready`` with
    ``excludeUnacknowledged``. Over AMQP (``QueueDeclarePassive``) the count is
    the ready messages only, and ``excludeUnacknowledged`` is a configuration
    error. Activity: metric > ``activationValue`` (0), see :func:`is_active`.
    """
    _int_at_least("ready", ready, 0)
    _int_at_least("unacked", unacked, 0)
    if protocol == "amqp":
        if exclude_unacknowledged:
            raise ValueError("excludeUnacknowledged is only valid with the HTTP protocol")
        return ready
    if protocol != "http":
        raise ValueError(f"protocol must be 'http' or 'amqp', got {protocol!r}")
    return ready if exclude_unacknowledged else ready + unacked


# --- ScaledObject --------------------------------------------------------------
def is_active(values: Sequence[float], activation_thresholds: Sequence[float]) -> bool:
    """Whether a ScaledObject is active: any trigger value strictly greater than
    its own activation threshold (each scaler's ``GetMetricsAndActivity``,
    OR-ed in ``getScaledObjectState``). No triggers -> False.

    Not modelled: ``scalingModifiers`` (activity recomputed on the composed
    metric) and the rule that a ScaledObject with only cpu/memory triggers is
    always active.
    """
    if len(values) != len(activation_thresholds):
        raise ValueError("values and activation_thresholds must have the same length")
    return any(v > t for v, t in zip(values, activation_thresholds))


def hpa_min_replicas(min_replica_count: int = DEFAULT_MIN_REPLICA_COUNT) -> int:
    """``GetHPAMinReplicas``: ``minReplicaCount`` if > 0, else 1."""
    return max(1, min_replica_count)


def hpa_external_target(threshold: float) -> dict[str, float]:
    """The HPA target KEDA generates for a scaler threshold (``GetMetricTarget``
    with the default ``AverageValue`` type), as keyword arguments for
    :func:`sim.policies.hpa.external_metric_replicas`."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not math.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    return {"target_average_value": float(threshold)}


class KedaScaler:
    """One ScaledObject's executor, ``RequestScale`` once per poll.

    :meth:`decide` returns the replica count KEDA writes to the scale target
    this poll, or None when KEDA leaves the count to the HPA. With ``min`` =
    ``min_replica_count`` and ``idle`` = ``idle_replica_count``:

    active (any trigger active)
      * ``current == 0``, or ``idle`` set and ``current < min``:
        ``max(min, 1)``; ``last_active_s = now_s``;
      * else, some trigger errored: None, and ``last_active_s`` is *not*
        refreshed;
      * else: None; ``last_active_s = now_s``.

    inactive
      * some trigger errored and a fallback is configured with replicas != 0,
        or errored without fallback: None;
      * ``idle`` set and ``current > idle``, or ``current > 0`` and
        ``min == 0``: scale to ``idle`` (if set) else ``min`` once the cooldown
        has passed -- ``last_active_s + cooldown < now_s`` (strict), or, never
        active yet, ``created_s + initial_cooldown < now_s``; else None;
      * ``idle`` unset and ``current < min``: ``min``;
      * else None.

    Not modelled: the paused / pause-scale-in / pause-scale-out annotations
    and forced activation (same as ``active=True``); failed scale updates
    (which leave ``last_active_s`` unchanged in KEDA). Times are seconds on the
    simulation clock; KEDA uses the wall clock at the poll.
    """

    __slots__ = ("min_replica_count", "max_replica_count", "cooldown_period_s",
                 "initial_cooldown_period_s", "idle_replica_count", "created_s",
                 "fallback_replicas", "last_active_s")

    def __init__(self, min_replica_count: int = DEFAULT_MIN_REPLICA_COUNT,
                 max_replica_count: int = DEFAULT_MAX_REPLICA_COUNT,
                 cooldown_period_s: float = DEFAULT_COOLDOWN_PERIOD_S,
                 initial_cooldown_period_s: float = DEFAULT_INITIAL_COOLDOWN_PERIOD_S,
                 idle_replica_count: Optional[int] = None,
                 created_s: float = 0.0,
                 fallback_replicas: Optional[int] = None):
        self.min_replica_count = _int_at_least("min_replica_count", min_replica_count, 0)
        self.max_replica_count = _int_at_least("max_replica_count", max_replica_count, 1)
        # CheckReplicaCountBoundsAreValid: HPA min <= max; idle < HPA min.
        if hpa_min_replicas(self.min_replica_count) > self.max_replica_count:
            raise ValueError(f"min_replica_count={min_replica_count} must not exceed "
                             f"max_replica_count={max_replica_count}")
        if idle_replica_count is not None:
            _int_at_least("idle_replica_count", idle_replica_count, 0)
            if idle_replica_count >= hpa_min_replicas(self.min_replica_count):
                raise ValueError(f"idle_replica_count={idle_replica_count} must be less "
                                 f"than min_replica_count={min_replica_count}")
        if fallback_replicas is not None:
            _int_at_least("fallback_replicas", fallback_replicas, 0)
        self.cooldown_period_s = _seconds("cooldown_period_s", cooldown_period_s)
        self.initial_cooldown_period_s = _seconds("initial_cooldown_period_s",
                                                  initial_cooldown_period_s)
        if isinstance(created_s, bool) or not isinstance(created_s, (int, float)) \
                or not math.isfinite(created_s):
            raise ValueError(f"created_s must be a finite number, got {created_s!r}")
        self.idle_replica_count = idle_replica_count
        self.created_s = float(created_s)
        self.fallback_replicas = fallback_replicas
        self.last_active_s: Optional[float] = None  # status.lastActiveTime

    @property
    def hpa_min_replicas(self) -> int:
        """The HPA's ``minReplicas``: ``max(1, min_replica_count)``."""
        return hpa_min_replicas(self.min_replica_count)

    def cooled_down(self, now_s: float) -> bool:
        """``scaleToZeroOrIdle``'s gate: ``last_active_s + cooldown < now_s``, or
        ``created_s + initial_cooldown < now_s`` if never active (strict: Go
        ``time.Before``)."""
        if self.last_active_s is None:
            return self.created_s + self.initial_cooldown_period_s < now_s
        return self.last_active_s + self.cooldown_period_s < now_s

    def decide(self, now_s: float, active: bool, current_replicas: int,
               is_error: bool = False) -> Optional[int]:
        """``RequestScale`` for one poll; see the class docstring for the branches."""
        _int_at_least("current_replicas", current_replicas, 0)
        low, idle = self.min_replica_count, self.idle_replica_count
        if active:
            if (idle is not None and current_replicas < low) or current_replicas == 0:
                self.last_active_s = float(now_s)  # scaleFromZeroOrIdle, on success
                return low if low > 0 else 1
            if not is_error:
                self.last_active_s = float(now_s)
            return None
        if is_error and (self.fallback_replicas is None or self.fallback_replicas != 0):
            return None
        if (idle is not None and current_replicas > idle) or (current_replicas > 0 and low == 0):
            if self.cooled_down(now_s):
                return idle if idle is not None else low
            return None
        if idle is None and current_replicas < low:
            return low
        return None
