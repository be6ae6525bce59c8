"""Tests for sim.policies.keda.

Ported from kedacore/keda pkg/scalers/kafka_scaler_test.go (TestFindFactors,
TestGetNextFactor, TestGetLagForPartition_MissingPartition) and
pkg/scaling/executor/scale_scaledobjects_test.go (the RequestScale replica
cases; the paused / annotation / HPA-health cases are not modelled). The rest
are the semantics-page vectors and cases read off the Go branches.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.policies.hpa import external_metric_replicas
from sim.policies.keda import (
    DEFAULT_COOLDOWN_PERIOD_S,
    KedaScaler,
    find_factors,
    hpa_external_target,
    hpa_min_replicas,
    is_active,
    kafka_is_active,
    kafka_lag_metric,
    kafka_partition_lag,
    next_factor_balancing,
    queue_length_metric,
)


# --- Kafka metric --------------------------------------------------------------
def test_kafka_metric_is_capped_at_partitions_times_threshold():
    lags = [100] * 10  # P=10, total 1000
    assert kafka_lag_metric(lags, 10) == 100
    replicas, _ = external_metric_replicas(1, [100], **hpa_external_target(10))
    assert replicas == 10


def test_kafka_metric_uncapped_with_allow_idle_consumers():
    lags = [100] * 10
    assert kafka_lag_metric(lags, 10, allow_idle_consumers=True) == 1000
    replicas, _ = external_metric_replicas(1, [1000], **hpa_external_target(10))
    assert replicas == 100


def test_kafka_cap_uses_integer_division():
    # P=10, threshold 10: 109 // 10 = 10 is not > 10, so 109 passes uncapped
    assert kafka_lag_metric([109] + [0] * 9, 10) == 109
    assert kafka_lag_metric([110] + [0] * 9, 10) == 100  # 11 > 10
    assert kafka_lag_metric([120] + [0] * 9, 10) == 100


def test_kafka_partition_without_committed_offset_counts_one():
    assert kafka_partition_lag(500, None) == 1
    assert kafka_lag_metric([None, None, 3], 10) == 5
    assert kafka_is_active([None]) is True


def test_get_lag_for_partition_missing_partition_cases():
    """kafka_scaler_test.go TestGetLagForPartition_MissingPartition."""
    # Scenario 1: invalid offset, earliest, scaleToZeroOnInvalidOffset, partition missing
    assert kafka_partition_lag(None, None, "earliest", True) == 0
    # Scenario 2: invalid offset, earliest, partition missing -> 0, not an error
    assert kafka_partition_lag(None, None, "earliest", False) == 0
    # Scenario 3: valid offset, partition missing -> 0
    assert kafka_partition_lag(None, 100, "earliest", False) == 0
    # Control: 150 - 100
    assert kafka_partition_lag(150, 100, "earliest", False) == 50
    # Control: invalid offset, latest, scaleToZeroOnInvalidOffset -> 0
    assert kafka_partition_lag(150, None, "latest", True) == 0


def test_invalid_offset_with_earliest_policy_counts_the_whole_log():
    assert kafka_partition_lag(150, None, "earliest") == 150


def test_find_factors():
    """kafka_scaler_test.go TestFindFactors."""
    assert find_factors(10) == [1, 2, 5, 10]
    assert find_factors(13) == [1, 13]
    assert find_factors(17) == [1, 17]
    assert find_factors(25) == [1, 5, 25]
    assert find_factors(50) == [1, 2, 5, 10, 25, 50]
    assert find_factors(100) == [1, 2, 4, 5, 10, 20, 25, 50, 100]
    assert find_factors(0) == []


@pytest.mark.parametrize("lag, factor", [(10, 1), (20, 2), (40, 4), (50, 5), (99, 10),
                                         (100, 10), (101, 20)])
def test_get_next_factor(lag, factor):
    """kafka_scaler_test.go TestGetNextFactor (100 partitions, threshold 10)."""
    assert next_factor_balancing(lag, 100, 10) == factor


def test_ensure_even_distribution_rounds_the_metric_up_to_a_divisor():
    # P=100, lag 101 -> factor 20 -> metric 200 -> HPA 20 consumers, 5 partitions each
    assert kafka_lag_metric([101] + [0] * 99, 10, ensure_even_distribution=True) == 200
    # applies (and caps) even with allowIdleConsumers
    assert kafka_lag_metric([5000] + [0] * 99, 10, allow_idle_consumers=True,
                            ensure_even_distribution=True) == 1000


def test_kafka_activation_is_strict_and_uses_the_uncapped_lag():
    assert kafka_is_active([0, 0]) is False
    assert kafka_is_active([0, 1]) is True
    assert kafka_is_active([5], activation_lag_threshold=5) is False
    assert kafka_is_active([6], activation_lag_threshold=5) is True
    lags = [1000]  # one partition, metric capped at 10
    assert kafka_lag_metric(lags, 10) == 10
    assert kafka_is_active(lags, activation_lag_threshold=500) is True


def test_kafka_rejects_non_positive_threshold():
    with pytest.raises(ValueError):
        kafka_lag_metric([1], 0)


@given(lags=st.lists(st.integers(0, 10_000), max_size=50), threshold=st.integers(1, 100))
def test_kafka_capped_metric_never_asks_for_more_consumers_than_partitions(lags, threshold):
    metric = kafka_lag_metric(lags, threshold)
    assert metric <= max(sum(lags), 0)
    assert metric // threshold <= len(lags)
    assert kafka_lag_metric(lags, threshold, allow_idle_consumers=True) == sum(lags)


# --- RabbitMQ ------------------------------------------------------------------
def test_rabbitmq_queue_length_modes():
    assert queue_length_metric(7, 3) == 10
    assert queue_length_metric(7, 3, exclude_unacknowledged=True) == 7
    assert queue_length_metric(7, 3, protocol="amqp") == 7
    with pytest.raises(ValueError):
        queue_length_metric(7, 3, exclude_unacknowledged=True, protocol="amqp")


# --- activity and HPA ----------------------------------------------------------
def test_activation_is_strictly_greater_than_threshold():
    assert is_active([0.0], [0.0]) is False
    assert is_active([0.5], [0.0]) is True
    assert is_active([5.0, 1.0], [5.0, 2.0]) is False
    assert is_active([5.0, 2.5], [5.0, 2.0]) is True
    assert is_active([], []) is False
    with pytest.raises(ValueError):
        is_active([1.0], [])


def test_hpa_min_replicas_and_target():
    assert hpa_min_replicas(0) == 1
    assert hpa_min_replicas(3) == 3
    assert hpa_external_target(10) == {"target_average_value": 10.0}


# --- executor (RequestScale) ---------------------------------------------------
def test_scale_to_min_replicas_when_not_active():
    """scale_scaledobjects_test.go TestScaleToMinReplicasWhenNotActive: min 0, 10
    replicas, never active (creation + initialCooldown 0 already past) -> 0."""
    k = KedaScaler(min_replica_count=0)
    assert k.decide(now_s=1.0, active=False, current_replicas=10) == 0


def test_scale_to_min_replicas_from_lower_initial_replica_count():
    """TestScaleToMinReplicasFromLowerInitialReplicaCount: min 5, 1 replica, inactive -> 5."""
    k = KedaScaler(min_replica_count=5)
    assert k.decide(now_s=1.0, active=False, current_replicas=1) == 5


def test_scale_from_min_replicas_when_active():
    """TestScaleFromMinReplicasWhenActive: min 0, 0 replicas, active -> 1, lastActiveTime set."""
    k = KedaScaler(min_replica_count=0)
    assert k.decide(now_s=1.0, active=True, current_replicas=0) == 1
    assert k.last_active_s == 1.0


def test_scale_to_idle_replicas_when_not_active():
    """TestScaleToIdleReplicasWhenNotActive: idle 0, min 5, 10 replicas, inactive -> 0."""
    k = KedaScaler(min_replica_count=5, idle_replica_count=0)
    assert k.decide(now_s=1.0, active=False, current_replicas=10) == 0


def test_scale_from_idle_to_min_replicas_when_active():
    """TestScaleFromIdleToMinReplicasWhenActive: idle 0, min 5, 0 replicas, active -> 5."""
    k = KedaScaler(min_replica_count=5, idle_replica_count=0)
    assert k.decide(now_s=1.0, active=True, current_replicas=0) == 5
    assert k.last_active_s == 1.0


def test_active_at_zero_replicas_scales_to_max_of_min_and_one():
    assert KedaScaler(min_replica_count=0).decide(0.0, True, 0) == 1
    assert KedaScaler(min_replica_count=3).decide(0.0, True, 0) == 3


def test_active_above_zero_leaves_scaling_to_the_hpa_and_refreshes_last_active():
    k = KedaScaler(min_replica_count=3)
    assert k.decide(10.0, True, 1) is None  # below min without idle mode: the HPA's job
    assert k.last_active_s == 10.0
    assert k.decide(20.0, True, 7) is None
    assert k.last_active_s == 20.0


def test_scale_to_zero_only_strictly_after_cooldown():
    k = KedaScaler(min_replica_count=0, cooldown_period_s=300.0)
    assert k.decide(100.0, True, 0) == 1
    assert k.decide(130.0, True, 1) is None          # last active 130
    assert k.decide(160.0, False, 1) is None
    assert k.decide(430.0, False, 1) is None         # exactly 130 + 300: not before now
    assert k.decide(430.001, False, 1) == 0
    assert k.last_active_s == 130.0


def test_activity_during_cooldown_restarts_it():
    k = KedaScaler(cooldown_period_s=DEFAULT_COOLDOWN_PERIOD_S)
    k.decide(0.0, True, 0)
    k.decide(200.0, True, 2)
    assert k.decide(400.0, False, 2) is None
    assert k.decide(500.5, False, 2) == 0


def test_initial_cooldown_counts_from_creation_until_first_activity():
    k = KedaScaler(initial_cooldown_period_s=120.0, created_s=1000.0)
    assert k.decide(1100.0, False, 3) is None
    assert k.decide(1120.0, False, 3) is None        # strict
    assert k.decide(1121.0, False, 3) == 0


def test_min_above_zero_never_scales_to_zero_without_idle_mode():
    k = KedaScaler(min_replica_count=2)
    assert k.decide(10_000.0, False, 2) is None
    assert k.decide(10_000.0, False, 5) is None


def test_scaler_error_while_active_does_not_refresh_last_active():
    k = KedaScaler()
    k.decide(0.0, True, 0)
    assert k.decide(50.0, True, 2, is_error=True) is None
    assert k.last_active_s == 0.0
    # but an active poll at 0 replicas still scales up despite the error
    assert k.decide(60.0, True, 0, is_error=True) == 1


def test_scaler_error_while_inactive_blocks_scale_in_unless_fallback_is_zero():
    assert KedaScaler().decide(1000.0, False, 4, is_error=True) is None
    assert KedaScaler(fallback_replicas=3).decide(1000.0, False, 4, is_error=True) is None
    assert KedaScaler(fallback_replicas=0).decide(1000.0, False, 4, is_error=True) == 0


def test_replica_bounds_are_validated():
    with pytest.raises(ValueError):
        KedaScaler(min_replica_count=5, max_replica_count=4)
    with pytest.raises(ValueError):
        KedaScaler(min_replica_count=2, idle_replica_count=2)
    KedaScaler(min_replica_count=0, idle_replica_count=0)  # HPA min is 1
