"""Tests for sim.policies.hpa, ported from Kubernetes' own unit tests.

Each test is named by the behaviour it checks; a test ported from Kubernetes
names the Go test (or table) it ports in its docstring, from
pkg/controller/podautoscaler/replica_calculator_test.go and horizontal_test.go.
The Go harness builds pods with two containers each; here a pod carries the
pod totals (ratios and replica counts are unchanged). Go's zero time
(``metav1.Time{}``) maps to ``ZERO``; ``hotCPUCreationTime()`` is ``NOW`` and
``coolCPUCreationTime()`` is ``NOW - 180``. The Go metric fake stamps samples
with the zero time and a one-minute window; the controller under test uses the
testing CPU initialization period (2 min) and readiness delay (10 s).
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.hpa.behavior import (
    Normalizer,
    Recommendation,
    ScaleEvent,
    calculate_scale_down_limit_with_behaviors,
    calculate_scale_up_limit,
    calculate_scale_up_limit_with_scaling_rules,
    convert_desired_replicas_with_rules,
    get_replicas_change_per_period,
)
from sim.policies.hpa.replicas import (
    combine_metric_proposals,
    external_metric_replicas,
    external_per_pod_metric_replicas,
    group_pods,
    metrics_abort_sync,
    object_metric_replicas,
    object_per_pod_metric_replicas,
    plain_metric_replicas,
    resource_replicas,
)
from sim.policies.hpa.samples import (
    MissingRequestError,
    NoMetricsError,
    NoPodsError,
    NoValidMetricsError,
    PodSample,
    Tolerances,
)
from sim.spec.hpa import SYNC_PERIOD_S, TOLERANCE, HPABehavior, HPAScalingPolicy

NOW = 10_000.0
ZERO = 0.0
HOT = NOW
COOL = NOW - 180.0
ONE = 1000  # resource.MustParse("1.0") in millicores
# replica_calculator_test.go: the controller under test uses these, not the flags' defaults
TESTING_CPU_INITIALIZATION_PERIOD_S = 120.0
TESTING_INITIAL_READINESS_DELAY_S = 10.0


def v2(behavior: dict) -> HPABehavior:
    """An autoscaling/v2 behavior as the scenario loader validates and defaults it."""
    return HPABehavior.model_validate(behavior)


# --- the Go test harness (replicaCalcTestCase) -----------------------------------
def k8s_pods(current, levels=(), requests=None, readiness=None, start=None, phase=None,
             deleting=None):
    """Pods as replicaCalcTestCase.prepareTestClientSet builds them."""
    count = max(current, len(phase or ()))
    pods = []
    for i in range(count):
        ready = True if readiness is None or i >= len(readiness) else readiness[i]
        pod_phase = "Running" if phase is None else phase[i]
        if deleting is not None and deleting[i]:
            pod_phase = "Deleting"
        request = None
        if requests is not None and i < len(requests):
            request = requests[i]
        pods.append(PodSample(
            phase=pod_phase, ready=ready, start_s=ZERO if start is None else start[i],
            ready_change_s=ZERO, request=request,
            usage=levels[i] if i < len(levels) else None,
            metric_s=ZERO, metric_window_s=60.0))
    return pods


def calc(current, target, **pod_args):
    """GetResourceReplicas with the controller's testing defaults."""
    pod_args.setdefault("requests", [ONE] * max(current, len(pod_args.get("phase") or ())))
    return resource_replicas(
        current, k8s_pods(current, **pod_args), target, NOW,
        tolerance=TOLERANCE,
        cpu_initialization_period_s=TESTING_CPU_INITIALIZATION_PERIOD_S,
        initial_readiness_delay_s=TESTING_INITIAL_READINESS_DELAY_S)


def plain(current, target, **pod_args):
    """GetMetricReplicas with the controller's testing defaults."""
    return plain_metric_replicas(
        current, k8s_pods(current, **pod_args), target, NOW,
        cpu_initialization_period_s=TESTING_CPU_INITIALIZATION_PERIOD_S,
        initial_readiness_delay_s=TESTING_INITIAL_READINESS_DELAY_S)


# --- the design doc's fixed cases ------------------------------------------------
def _pods(usages, requests=None):
    requests = requests or [1000] * len(usages)
    return [PodSample(request=r, usage=u) for r, u in zip(requests, usages)]


@pytest.mark.parametrize("name, current, pods, target, expected", [
    ("all ready", 3, _pods((300, 500, 700)), 30, (5, 50)),
    ("first not Ready", 3, [PodSample(request=1000, usage=300, ready=False)] + _pods((500, 700)),
     30, (4, 60)),
    ("scale down", 5, _pods((100, 300, 500, 250, 250)), 50, (3, 28)),
    ("requests differ, within tolerance", 3, _pods((1010, 1030, 1020), (900, 1000, 1100)), 100,
     (3, 102)),
])
def test_design_doc_fixed_cases(name, current, pods, target, expected):
    assert resource_replicas(current, pods, target, NOW) == expected


# --- replica_calculator_test.go: Resource (CPU utilization) ----------------------
def test_cpu_above_target_scales_up_by_the_usage_ratio():
    """Upstream: TestReplicaCalcScaleUp (replica_calculator_test.go)."""
    assert calc(3, 30, levels=(300, 500, 700)) == (5, 50)


def test_unready_pod_counts_as_zero_on_scale_up_and_scales_less():
    """Upstream: TestReplicaCalcScaleUpUnreadyLessScale (replica_calculator_test.go)."""
    assert calc(3, 30, levels=(300, 500, 700), readiness=(False, True, True)) == (4, 60)


def test_pod_in_cpu_initialization_period_counts_as_zero_on_scale_up():
    """Upstream: TestReplicaCalcScaleUpHotCpuLessScale (replica_calculator_test.go)."""
    assert calc(3, 30, levels=(300, 500, 700), start=(HOT, COOL, COOL)) == (4, 60)


def test_unready_pods_counted_as_zero_cancel_a_scale_up():
    """Upstream: TestReplicaCalcScaleUpUnreadyNoScale (replica_calculator_test.go)."""
    assert calc(3, 30, levels=(400, 500, 700), readiness=(True, False, False)) == (3, 40)


def test_unready_pods_in_cpu_initialization_period_cancel_a_scale_up():
    """Upstream: TestReplicaCalcScaleHotCpuNoScale (replica_calculator_test.go)."""
    assert calc(3, 30, levels=(400, 500, 700), readiness=(True, False, False),
                start=(COOL, HOT, HOT)) == (3, 40)


def test_scale_up_ignores_failed_pods():
    """Upstream: TestReplicaCalcScaleUpIgnoresFailedPods (replica_calculator_test.go)."""
    assert calc(2, 30, levels=(500, 700), readiness=(True, True, False, False),
                phase=("Running", "Running", "Failed", "Failed")) == (4, 60)


def test_scale_up_ignores_pods_being_deleted():
    """Upstream: TestReplicaCalcScaleUpIgnoresDeletionPods (replica_calculator_test.go)."""
    assert calc(2, 30, levels=(500, 700), readiness=(True, True, False, False),
                phase=("Running",) * 4, deleting=(False, False, True, True)) == (4, 60)


def test_cpu_below_target_scales_down_by_the_usage_ratio():
    """Upstream: TestReplicaCalcScaleDown (replica_calculator_test.go)."""
    assert calc(5, 50, levels=(100, 300, 500, 250, 250)) == (3, 28)


def test_scale_down_excludes_unready_pods():
    """Upstream: TestReplicaCalcScaleDownExcludeUnreadyPods (replica_calculator_test.go)."""
    assert calc(5, 50, levels=(100, 300, 500, 250, 250),
                readiness=(True, True, True, False, False)) == (2, 30)


def test_scale_down_excludes_pending_pods():
    """Upstream: TestReplicaCalcScaleDownExcludeUnscheduledPods (replica_calculator_test.go)."""
    assert calc(5, 50, levels=(100,), readiness=(True, False, False, False, False),
                phase=("Running",) + ("Pending",) * 4) == (1, 10)


def test_scale_down_ignores_pods_in_cpu_initialization_period():
    """Upstream: TestReplicaCalcScaleDownIgnoreHotCpuPods (replica_calculator_test.go)."""
    assert calc(5, 50, levels=(100, 300, 500, 250, 250),
                start=(COOL, COOL, COOL, HOT, HOT)) == (2, 30)


def test_scale_down_ignores_failed_pods():
    """Upstream: TestReplicaCalcScaleDownIgnoresFailedPods (replica_calculator_test.go)."""
    assert calc(5, 50, levels=(100, 300, 500, 250, 250),
                readiness=(True,) * 5 + (False, False),
                phase=("Running",) * 5 + ("Failed", "Failed")) == (3, 28)


def test_scale_down_ignores_pods_being_deleted():
    """Upstream: TestReplicaCalcScaleDownIgnoresDeletionPods (replica_calculator_test.go)."""
    assert calc(5, 50, levels=(100, 300, 500, 250, 250),
                readiness=(True,) * 5 + (False, False), phase=("Running",) * 7,
                deleting=(False,) * 5 + (True, True)) == (3, 28)


def test_utilization_within_tolerance_keeps_replicas():
    """Upstream: TestReplicaCalcTolerance (replica_calculator_test.go)."""
    assert calc(3, 100, levels=(1010, 1030, 1020), requests=(900, 1000, 1100)) == (3, 102)


def test_missing_metrics_count_as_full_request_on_scale_down():
    """Upstream: TestReplicaCalcMissingMetrics (replica_calculator_test.go)."""
    assert calc(4, 100, levels=(400, 95)) == (3, 24)


def test_no_metric_for_any_pod_is_an_error():
    """Upstream: TestReplicaCalcEmptyMetrics (replica_calculator_test.go)."""
    with pytest.raises(NoMetricsError, match="did not receive metrics"):
        calc(4, 100, levels=(), requests=(ONE, ONE, ONE))


def test_pod_without_cpu_request_is_an_error():
    """Upstream: TestReplicaCalcEmptyCPURequest (replica_calculator_test.go)."""
    with pytest.raises(MissingRequestError, match="missing request for"):
        calc(1, 100, levels=(200,), requests=())


def test_missing_metric_at_target_keeps_replicas():
    """Upstream: TestReplicaCalcMissingMetricsNoChangeEq (replica_calculator_test.go)."""
    assert calc(2, 100, levels=(1000,)) == (2, 100)


def test_missing_metric_counted_as_zero_cancels_a_scale_up():
    """Upstream: TestReplicaCalcMissingMetricsNoChangeGt (replica_calculator_test.go)."""
    assert calc(2, 100, levels=(1900,)) == (2, 190)


def test_missing_metric_counted_as_full_request_cancels_a_scale_down():
    """Upstream: TestReplicaCalcMissingMetricsNoChangeLt (replica_calculator_test.go)."""
    assert calc(2, 100, levels=(600,)) == (2, 60)


def test_missing_and_unready_pods_near_target_keep_replicas():
    """Upstream: TestReplicaCalcMissingMetricsUnreadyChange (replica_calculator_test.go)."""
    assert calc(3, 50, levels=(100, 450), readiness=(False, True, True)) == (3, 45)


def test_missing_and_initializing_pods_near_target_keep_replicas():
    """Upstream: TestReplicaCalcMissingMetricsHotCpuNoChange (replica_calculator_test.go)."""
    assert calc(3, 50, levels=(100, 450), start=(HOT, COOL, COOL)) == (3, 45)


def test_missing_and_unready_pods_still_allow_a_scale_up():
    """Upstream: TestReplicaCalcMissingMetricsUnreadyScaleUp (replica_calculator_test.go)."""
    assert calc(3, 50, levels=(100, 2000), readiness=(False, True, True)) == (4, 200)


def test_missing_and_initializing_pods_still_allow_a_scale_up():
    """Upstream: TestReplicaCalcMissingMetricsHotCpuScaleUp (replica_calculator_test.go)."""
    assert calc(3, 50, levels=(100, 2000), readiness=(False, True, True),
                start=(HOT, COOL, COOL)) == (4, 200)


def test_missing_and_unready_pods_still_allow_a_scale_down():
    """Upstream: TestReplicaCalcMissingMetricsUnreadyScaleDown (replica_calculator_test.go)."""
    assert calc(4, 50, levels=(100, 100, 100), readiness=(False, True, True, True)) == (3, 10)


def test_missing_pods_count_at_target_above_100_percent_on_scale_down():
    """Upstream: TestReplicaCalcMissingMetricsScaleDownTargetOver100 (replica_calculator_test.go)."""
    assert calc(4, 300, levels=(200, 100, 100), readiness=(False, True, True, True),
                requests=(ONE, ONE, 2 * ONE, 2 * ONE)) == (2, 6)


def test_surge_pod_without_metric_keeps_replicas_during_a_rollout():
    """Upstream: TestReplicaCalcDuringRollingUpdateWithMaxSurge (replica_calculator_test.go)."""
    assert calc(2, 50, levels=(100, 100), phase=("Running",) * 3) == (2, 10)


def test_tolerance_boundary_computed_from_requests_and_usage():
    """Upstream: TestReplicaCalcComputedToleranceAlgImplementation (replica_calculator_test.go)."""
    start_pods = 10
    total_used = start_pods * 150
    total_requested = 2 * total_used
    requested_to_used = float(total_requested // total_used)
    per_pod = total_requested // start_pods
    requests = [per_pod + d for d in (100, -100, 10, -10, 2, -2, 1, -1, 0, 0)]
    levels = [total_used // 10] * 10
    target = abs(1 / (requested_to_used * (1 - TOLERANCE))) + .01
    final_target = int(target * 100)
    used_ratio = total_used / (total_requested * target)
    final_pods = math.ceil(used_ratio * start_pods)
    expected_utilization = total_used * 100 // total_requested
    assert calc(start_pods, final_target, levels=levels, requests=requests) == (
        final_pods, expected_utilization)
    # No scaling within a very close margin of the tolerance.
    target = abs(1 / (requested_to_used * (1 - TOLERANCE))) + .004
    assert calc(start_pods, int(target * 100), levels=levels, requests=requests) == (
        start_pods, expected_utilization)


def test_no_pods_is_an_error():
    with pytest.raises(NoPodsError):
        resource_replicas(1, [], 50, NOW)


def test_all_requests_zero_is_an_error():
    with pytest.raises(NoMetricsError, match="no metrics returned matched known pods"):
        resource_replicas(1, [PodSample(request=0, usage=10)], 50, NOW)


def test_memory_utilization_skips_the_cpu_readiness_rule():
    pods = k8s_pods(3, levels=(300, 500, 700), requests=[ONE] * 3, readiness=(False, True, True))
    assert resource_replicas(3, pods, 30, NOW, resource="memory") == (5, 50)


# --- TestGroupPods --------------------------------------------------------------
def _group(pods, resource="cpu"):
    return group_pods(pods, NOW, resource=resource,
                      cpu_initialization_period_s=TESTING_CPU_INITIALIZATION_PERIOD_S,
                      initial_readiness_delay_s=TESTING_INITIAL_READINESS_DELAY_S)


@pytest.mark.parametrize("name, pod, expected", [
    ("count in a ready pod - memory", PodSample(usage=1, start_s=None, ready=None), "ready"),
    ("unready a pod without ready condition - CPU", PodSample(usage=1, start_s=NOW, ready=None),
     "unready"),
    ("count in a ready pod with fresh metrics during initialization period - CPU",
     PodSample(usage=1, start_s=NOW - 60, ready=True, ready_change_s=NOW - 30, metric_s=NOW,
               metric_window_s=30), "ready"),
    ("unready a ready pod without fresh metrics during initialization period - CPU",
     PodSample(usage=1, start_s=NOW - 60, ready=True, ready_change_s=NOW - 30, metric_s=NOW,
               metric_window_s=60), "unready"),
    ("unready an unready pod during initialization period - CPU",
     PodSample(usage=1, start_s=NOW - 600, ready=False, ready_change_s=NOW - 594), "unready"),
    ("count in a ready pod without fresh metrics after initialization period - CPU",
     PodSample(usage=1, start_s=NOW - 180, ready=True, ready_change_s=NOW - 180,
               metric_s=NOW - 120, metric_window_s=60), "ready"),
    ("count in an unready pod that was ready after initialization period - CPU",
     PodSample(usage=1, start_s=NOW - 600, ready=False, ready_change_s=NOW - 540), "ready"),
    ("unready pod that has never been ready after initialization period - CPU",
     PodSample(usage=1, start_s=NOW - 600, ready=False, ready_change_s=NOW - 590), "ready"),
    ("a missing pod", PodSample(start_s=NOW - 180, ready=None), "missing"),
    ("pending pods are unreadied", PodSample(phase="Pending", start_s=None, ready=None), "unready"),
    ("ignore pods with deletion timestamps", PodSample(phase="Deleting", usage=1), "ignored"),
    ("ignore pods in a failed state", PodSample(phase="Failed", usage=1), "ignored"),
])
def test_group_pods_classifies_each_pod(name, pod, expected):
    """Upstream: TestGroupPods (replica_calculator_test.go)."""
    groups = _group([pod], resource="memory" if "memory" in name else "cpu")
    got = {"ready": groups.ready_count == 1, "unready": 0 in groups.unready,
           "missing": 0 in groups.missing, "ignored": 0 in groups.ignored}
    assert [k for k, v in got.items() if v] == [expected]


def test_group_pods_classifies_several_pods_by_index():
    """Upstream: TestGroupPods (the several-pods case) (replica_calculator_test.go)."""
    pods = [PodSample(usage=1, start_s=NOW, ready=None),
            PodSample(usage=1, start_s=NOW - 180, ready=True, ready_change_s=NOW - 180),
            PodSample(start_s=NOW - 180, ready=None)]
    assert tuple(_group(pods)) == (1, frozenset({0}), frozenset({2}), frozenset())


# --- replica_calculator_test.go: Pods, Object and External metrics ----------------
def test_pods_metric_above_target_scales_up():
    """Upstream: TestReplicaCalcScaleUpCM (replica_calculator_test.go)."""
    assert plain(3, 15000, levels=(20000, 10000, 30000)) == (4, 20000)


def test_pods_metric_counts_unready_and_initializing_pods_in_full():
    """Upstream: TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale (replica_calculator_test.go)."""
    assert plain(3, 15000, levels=(50000, 10000, 30000), readiness=(True, True, False),
                 start=(COOL, COOL, HOT)) == (6, 30000)


def test_pods_metric_ignores_readiness_even_where_cpu_would_scale_less():
    """Upstream: TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown (replica_calculator_test.go)."""
    assert plain(3, 15000, levels=(50000, 15000, 30000), readiness=(False, True, False),
                 start=(HOT, COOL, HOT)) == (7, 31666)


def test_single_pod_metric_above_target_scales_to_two():
    """Upstream: TestReplicaCalcScaleUpCMExternalNoLabels (replica_calculator_test.go)."""
    assert plain(1, 4400, levels=(8600,)) == (2, 8600)


def test_pods_metric_below_target_scales_down():
    """Upstream: TestReplicaCalcScaleDownCM (replica_calculator_test.go)."""
    assert plain(5, 20000, levels=(12000,) * 5) == (3, 12000)


def test_pods_metric_within_tolerance_keeps_replicas():
    """Upstream: TestReplicaCalcToleranceCM (replica_calculator_test.go)."""
    assert plain(3, 20000, levels=(20000, 21000, 21000)) == (3, 20666)


def test_pods_metric_at_target_with_missing_pods_keeps_replicas():
    """Upstream: TestPlainMetricReplicaCalcMissingMetricsNoChangeEq (replica_calculator_test.go)."""
    assert plain(5, 20000, levels=(20000, 19000, 21000)) == (5, 20000)


def test_pods_metric_surge_pod_without_metric_keeps_replicas():
    """Upstream: TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM (replica_calculator_test.go)."""
    assert plain(2, 17000, levels=(10000, 10000), phase=("Running",) * 3) == (2, 10000)


def test_plain_metric_missing_pods_count_as_target_on_scale_down():
    # 2 pods at 10000 against 20000; 2 missing pods count 20000 each -> avg 15000.
    assert plain(4, 20000, levels=(10000, 10000)) == (3, 10000)


def test_object_value_above_target_scales_the_ready_pods_up():
    """Upstream: TestReplicaCalcScaleUpCMObject (replica_calculator_test.go)."""
    assert object_metric_replicas(3, 20000, k8s_pods(3), target_value=15000) == (4, 20000)


def test_object_average_value_scales_to_value_over_target():
    """Upstream: TestReplicaCalcScaleUpCMPerPodObject (replica_calculator_test.go)."""
    assert object_metric_replicas(3, 20000, target_average_value=5000) == (4, 6667)


def test_object_value_scales_only_the_ready_pods():
    """Upstream: TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods (replica_calculator_test.go)."""
    pods = k8s_pods(3, readiness=(False, True, False))
    assert object_metric_replicas(3, 50000, pods, target_value=10000) == (5, 50000)


def test_object_value_below_target_scales_down():
    """Upstream: TestReplicaCalcScaleDownCMObject (replica_calculator_test.go)."""
    assert object_metric_replicas(5, 12000, k8s_pods(5), target_value=20000) == (3, 12000)


def test_object_average_value_below_target_scales_down():
    """Upstream: TestReplicaCalcScaleDownPerPodCMObject (replica_calculator_test.go)."""
    assert object_per_pod_metric_replicas(5, 6000, 2000) == (3, 1200)


def test_object_value_within_tolerance_keeps_replicas():
    """Upstream: TestReplicaCalcToleranceCMObject (replica_calculator_test.go)."""
    assert object_metric_replicas(3, 20666, k8s_pods(3), target_value=20000) == (3, 20666)


def test_object_average_value_within_tolerance_keeps_replicas():
    """Upstream: TestReplicaCalcTolerancePerPodCMObject (replica_calculator_test.go)."""
    assert object_per_pod_metric_replicas(4, 20166, 5000) == (4, 5042)


def test_external_value_scales_only_the_ready_pods():
    """Upstream: TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods (replica_calculator_test.go)."""
    pods = k8s_pods(3, readiness=(False, True, False))
    assert external_metric_replicas(3, [8600], pods, target_value=4400) == (2, 8600)


def test_external_average_value_scales_to_total_over_target():
    """Upstream: TestReplicaCalcScaleUpPerPodCMExternal (replica_calculator_test.go)."""
    assert external_per_pod_metric_replicas(3, [8600], 2150) == (4, 2867)


def test_external_value_below_target_scales_down():
    """Upstream: TestReplicaCalcScaleDownCMExternal (replica_calculator_test.go)."""
    assert external_metric_replicas(5, [8600], k8s_pods(5), target_value=14334) == (3, 8600)


def test_external_average_value_below_target_scales_down():
    """Upstream: TestReplicaCalcScaleDownPerPodCMExternal (replica_calculator_test.go)."""
    assert external_metric_replicas(5, [8600], target_average_value=2867) == (3, 1720)


def test_external_value_within_tolerance_keeps_replicas():
    """Upstream: TestReplicaCalcToleranceCMExternal (replica_calculator_test.go)."""
    assert external_metric_replicas(3, [8600], k8s_pods(3), target_value=8888) == (3, 8600)


def test_external_average_value_within_tolerance_keeps_replicas():
    """Upstream: TestReplicaCalcTolerancePerPodCMExternal (replica_calculator_test.go)."""
    assert external_per_pod_metric_replicas(3, [8600], 2900) == (3, 2867)


def test_object_metric_scale_from_zero_ignores_tolerance_and_pods():
    # getUsageRatioReplicaCount with currentReplicas == 0: ceil(ratio).
    assert object_metric_replicas(0, 1050, [], target_value=1000) == (2, 1050)


def test_object_metric_without_pods_is_an_error():
    with pytest.raises(NoPodsError):
        object_metric_replicas(3, 50000, [], target_value=10000)


def test_per_direction_tolerances_from_configurable_tolerance():
    # HPAConfigurableTolerance: ratio 1.05 scales with a 2% scale-up tolerance.
    pods = [PodSample(request=1000, usage=u) for u in (1050, 1050)]
    assert resource_replicas(2, pods, 100, NOW) == (2, 105)
    assert resource_replicas(2, pods, 100, NOW, tolerance=Tolerances(0.1, 0.02)) == (3, 105)


# --- horizontal_test.go: several metrics -----------------------------------------
def test_an_invalid_metric_blocks_a_scale_down():
    """Upstream: TestNoScaleDownOneMetricInvalid (horizontal_test.go)."""
    cpu, _ = calc(5, 50, levels=(100, 300, 500, 250, 250))
    assert cpu == 3
    assert combine_metric_proposals(5, [cpu, None]) == 5
    assert metrics_abort_sync(5, [cpu, None])


def test_an_invalid_metric_does_not_block_a_scale_up():
    """Upstream: TestScaleUpOneMetricEmpty (horizontal_test.go)."""
    cpu, _ = calc(3, 30, levels=(300, 400, 500))
    assert combine_metric_proposals(3, [cpu, None]) == 4
    assert not metrics_abort_sync(3, [cpu, None])


def test_combine_takes_the_largest_and_rejects_all_invalid():
    assert combine_metric_proposals(5, [3, 7, 6]) == 7
    assert combine_metric_proposals(5, [2, 3]) == 3
    with pytest.raises(NoValidMetricsError):
        combine_metric_proposals(5, [None, None])
    assert metrics_abort_sync(5, [None])


# --- horizontal_test.go: legacy normalization --------------------------------------
@pytest.mark.parametrize("current, desired, lo, hi, expected, condition", [
    (5, 7, 3, 8, 7, "DesiredWithinRange"),
    (3, 1, 2, 8, 2, "TooFewReplicas"),
    (1, 0, 0, 10, 0, "DesiredWithinRange"),
    (20, 1000, 1, 10, 10, "TooManyReplicas"),
    (3, 1000, 1, 2000, calculate_scale_up_limit(3), "ScaleUpLimit"),
])
def test_legacy_rules_clamp_to_bounds_and_the_scale_up_limit(current, desired, lo, hi, expected, condition):
    """Upstream: TestConvertDesiredReplicasWithRules (horizontal_test.go)."""
    assert convert_desired_replicas_with_rules(current, desired, lo, hi) == (expected, condition)


@pytest.mark.parametrize("name, recs, desired, expected, log_length", [
    ("empty log", [], 5, 5, 1),
    ("stabilize", [(4, -120), (5, -60)], 3, 5, 3),
    ("no stabilize", [(1, -120), (2, -60)], 3, 3, 3),
    ("no stabilize - old recommendations", [(10, -600), (9, -540)], 3, 3, 2),
    ("stabilize - old recommendations", [(10, -600), (4, -60), (5, -120), (9, -540)], 3, 5, 4),
])
def test_legacy_stabilization_takes_the_max_of_recent_recommendations(name, recs, desired, expected, log_length):
    """Upstream: TestNormalizeDesiredReplicas (horizontal_test.go)."""
    n = Normalizer(1, 10, None, downscale_stabilization_s=300)
    n.recommendations = [Recommendation(r, NOW + dt) for r, dt in recs]
    assert n.stabilize_recommendation(NOW, desired) == expected
    assert len(n.recommendations) == log_length


def test_below_min_replicas_scales_up_at_once():
    """Upstream: TestScaleUpRCImmediately (horizontal_test.go)."""
    n = Normalizer(2, 6)
    assert n.recommend_with_reason(NOW, 1, 0) == (2, "TooFewReplicas")


def test_above_max_replicas_scales_down_at_once():
    """Upstream: TestScaleDownRCImmediately (horizontal_test.go)."""
    n = Normalizer(2, 5)
    assert n.recommend_with_reason(NOW, 6, 3) == (5, "TooManyReplicas")


def test_scaling_disabled_when_target_has_zero_replicas():
    n = Normalizer(1, 5, v2({}))
    assert n.recommend_with_reason(NOW, 0, 3) == (0, "ScalingDisabled")


def test_legacy_path_holds_scale_down_for_the_window_after_start():
    n = Normalizer(1, 10, None, downscale_stabilization_s=300)
    assert n.recommend_with_reason(0.0, 5, 3) == (5, "ScaleDownStabilized")
    assert n.recommend_with_reason(150.0, 5, 3) == (5, "ScaleDownStabilized")
    assert n.recommend_with_reason(301.0, 5, 3) == (3, "DesiredWithinRange")
    assert n.recommend_with_reason(316.0, 3, 20) == (6, "ScaleUpLimit")
    assert n.scale_up_events == [] and n.scale_down_events == []  # legacy stores none


# --- horizontal_test.go: behaviors ---------------------------------------------------
def generate_scaling_rules(pods, pods_period, percent, percent_period, window):
    """horizontal_test.go generateScalingRules (selectPolicy Max)."""
    policies = []
    if pods:
        policies.append({"type": "Pods", "value": pods, "periodSeconds": pods_period})
    if percent:
        policies.append({"type": "Percent", "value": percent, "periodSeconds": percent_period})
    rules = {"stabilizationWindowSeconds": window, "selectPolicy": "Max"}
    if policies:
        rules["policies"] = policies
    return rules


def generate_events(raw, period):
    """horizontal_test.go generateEventsUniformDistribution."""
    segment = period / len(raw)
    return [ScaleEvent(change, NOW - int(period - segment * (i + 1) + segment / 2))
            for i, change in enumerate(raw)]


def behavior_normalizer(lo, hi, up=None, down=None, up_events=(), down_events=()):
    behavior = {k: v for k, v in (("scaleUp", up), ("scaleDown", down)) if v is not None}
    n = Normalizer(lo, hi, v2(behavior))
    n.scale_up_events = list(up_events)
    n.scale_down_events = list(down_events)
    return n


R = generate_scaling_rules
E = generate_events
SCALING_WITH_RULES = [
    # name, current, desired, min, max, up rules, down rules, up events, down events,
    # expected, condition
    ("prenormalized desired replicas within range", 5, 7, 3, 8, None, None, (), (), 7,
     "DesiredWithinRange"),
    ("prenormalized desired replicas < minReplicas", 3, 1, 2, 8, None, None, (), (), 2,
     "TooFewReplicas"),
    ("prenormalized desired replicas within range when minReplicas is 0", 1, 0, 0, 10, None,
     None, (), (), 0, "DesiredWithinRange"),
    ("maxReplicas is the limit because maxReplicas < scaleUpLimit", 20, 1000, 1, 10, None, None,
     (), (), 10, "TooManyReplicas"),
    ("desired replica count is more than the maximum replica count", 100, 1000, 100, 150, None,
     None, (), (), 150, "TooManyReplicas"),
    ("scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", 3, 1000,
     1, 2000, R(0, 0, 1, 60, 0), None, (), (), 4, "ScaleUpLimit"),
    ("scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies",
     1000, 3, 3, 2000, None, R(20, 60, 0, 0, 0), (), (), 980, "ScaleDownLimit"),
    ("scaleUp with default behavior", 10, 50, 1, 1000, None, None, (), (), 20, "ScaleUpLimit"),
    ("scaleUp with pods policy larger than percent policy", 10, 500, 1, 1000,
     R(100, 60, 100, 60, 0), None, (), (), 110, "ScaleUpLimit"),
    ("scaleUp with percent policy larger than pods policy", 10, 500, 1, 1000,
     R(2, 60, 100, 60, 0), None, (), (), 20, "ScaleUpLimit"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy", 10, 50, 1, 1000,
     R(100, 60, 0, 0, 0), None, (), (), 50, "DesiredWithinRange"),
    ("scaleUp with pod policy limitation", 10, 50, 1, 1000, R(30, 60, 0, 0, 0), None, (), (), 40,
     "ScaleUpLimit"),
    ("scaleUp with percent policy limitation", 10, 50, 1, 1000, R(0, 0, 200, 60, 0), None, (), (),
     30, "ScaleUpLimit"),
    ("scaleDown with percent policy larger than pod policy", 100, 2, 1, 1000, None,
     R(20, 60, 1, 60, 300), (), (), 80, "ScaleDownLimit"),
    ("scaleDown with pod policy larger than percent policy", 100, 2, 1, 1000, None,
     R(2, 60, 1, 60, 300), (), (), 98, "ScaleDownLimit"),
    ("scaleDown with spec MinReplicas limitation with large pod policy", 10, 0, 1, 1000, None,
     R(100, 60, 0, 0, 300), (), (), 1, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large percent policy", 10, 2, 5, 1000, None,
     R(0, 0, 100, 60, 300), (), (), 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation", 10, 2, 1, 1000, None, R(5, 60, 0, 0, 300), (), (), 5,
     "ScaleDownLimit"),
    ("scaleDown with percent policy limitation", 10, 5, 1, 1000, None, R(0, 0, 50, 60, 300), (),
     (), 5, "DesiredWithinRange"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy and events", 100, 500, 1,
     200, R(300, 60, 0, 0, 0), None, E([1, 5, 9], 120), (), 200, "TooManyReplicas"),
    ("scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale "
     "up events", 100, 500, 1, 1000, R(5, 120, 0, 0, 0), None, E([1, 5, 9], 120), (), 100,
     "ScaleUpLimit"),
    ("scaleUp with pod policy and previous scale up events", 100, 500, 1, 1000,
     R(150, 120, 0, 0, 0), None, E([1, 5, 9], 120), (), 235, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up events", 100, 500, 1, 1000,
     R(0, 0, 200, 120, 0), None, E([1, 5, 9], 120), (), 255, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up and down events", 6, 24, 1, 1000,
     R(0, 0, 300, 300, 0), None, E([4], 120), E([2], 120), 16, "ScaleUpLimit"),
    ("scaleDown with default policy and previous events", 10, 5, 1, 1000, None, None, (),
     E([1, 5, 9], 120), 5, "DesiredWithinRange"),
    ("scaleDown with spec MinReplicas limitation with large pod policy and previous events", 100,
     0, 5, 1000, None, R(130, 120, 0, 0, 300), (), E([1, 5, 9], 120), 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation and previous events", 100, 2, 1, 1000, None,
     R(5, 120, 0, 0, 300), (), E([1, 5, 9], 120), 100, "ScaleDownLimit"),
    ("scaleDown with percent policy limitation and previous events", 100, 0, 1, 1000, None,
     R(0, 0, 50, 120, 300), (), E([2, 4, 6], 120), 56, "ScaleDownLimit"),
    ("scaleDown with percent policy and previous scale up and down events", 10, 1, 1, 1000, None,
     R(0, 0, 50, 180, 0), E([2], 120), E([4], 120), 6, "ScaleDownLimit"),
    ("scaleDown with previous events preventing further scale down", 100, 0, 1, 1000, None,
     R(0, 0, 10, 120, 300), (), E([10, 10, 10], 120), 100, "ScaleDownLimit"),
    ("scaleDown with with previous events still allowing more scale down", 10, 5, 1, 1000, None,
     R(0, 0, 1000, 120, 300), (), E([10, 10, 10], 120), 5, "DesiredWithinRange"),
    ("check that events were marked 'outdated' for two different policies in the behavior for up",
     100, 200, 1, 1000, R(1000, 30, 100, 60, 0), None, E([8, 12, 9, 11], 120), (), 200,
     "DesiredWithinRange"),
]


@pytest.mark.parametrize(
    "name, current, desired, lo, hi, up, down, up_events, down_events, expected, condition",
    SCALING_WITH_RULES, ids=[case[0] for case in SCALING_WITH_RULES])
def test_behavior_policies_and_bounds_limit_the_rate(name, current, desired, lo, hi, up, down, up_events, down_events,
                              expected, condition):
    """Upstream: TestScalingWithRules (horizontal_test.go)."""
    n = behavior_normalizer(lo, hi, up, down, up_events, down_events)
    got = n.convert_desired_replicas_with_behavior_rate(NOW, current, desired)
    assert got == (expected, condition)


def test_scale_up_limit_with_select_min_takes_the_smaller_policy():
    """Upstream: TestCalculateScaleUpLimitWithScalingRules (horizontal_test.go)."""
    rules = v2({"scaleUp": {"selectPolicy": "Min", "policies": [
        {"type": "Pods", "value": 2, "periodSeconds": 60},
        {"type": "Percent", "value": 50, "periodSeconds": 60}]}}).scaleUp
    assert calculate_scale_up_limit_with_scaling_rules(1, [], [], rules, NOW) == 2


def test_scale_down_limit_with_select_min_takes_the_smaller_change():
    """Upstream: TestCalculateScaleDownLimitWithBehaviors (horizontal_test.go)."""
    rules = v2({"scaleDown": {"selectPolicy": "Min", "policies": [
        {"type": "Pods", "value": 2, "periodSeconds": 60},
        {"type": "Percent", "value": 50, "periodSeconds": 60}]}}).scaleDown
    assert calculate_scale_down_limit_with_behaviors(5, [], [], rules, NOW) == 3


STORE_SCALE_EVENTS = [
    # name, previous events (change, age s), rules, expected change in 60 s, new events
    ("empty entries with default behavior", [], None, 0, []),
    ("empty entries with two-policy-behavior", [], R(10, 60, 100, 60, 0), 0, [(5, False)]),
    ("one outdated entry to be kept untouched without behavior", [(7, 61)], None, 0, [(7, False)]),
    ("one outdated entry to be replaced with behavior", [(7, 61)], R(10, 60, 100, 60, 0), 0,
     [(5, False)]),
    ("one actual entry to be not touched with behavior", [(7, 58)], R(10, 60, 100, 60, 0), 7,
     [(7, False), (5, False)]),
    ("two entries, one of them to be replaced", [(7, 61), (6, 59)], R(10, 60, 0, 0, 0), 6,
     [(5, False), (6, False)]),
    ("replace one entry, use policies with different periods", [(8, 29), (6, 59), (7, 61), (9, 61)],
     R(10, 60, 100, 30, 0), 14, [(8, False), (6, False), (7, True), (5, False)]),
    ("two entries, both actual", [(7, 58), (6, 59)], R(10, 120, 100, 30, 0), 13,
     [(7, False), (6, False), (5, False)]),
]


@pytest.mark.parametrize("direction", ["up", "down"])
@pytest.mark.parametrize("name, previous, rules, expected_change, expected_events",
                         STORE_SCALE_EVENTS, ids=[c[0] for c in STORE_SCALE_EVENTS])
def test_stored_scale_events_reuse_outdated_slots(direction, name, previous, rules, expected_change, expected_events):
    """Upstream: TestStoreScaleEvents (horizontal_test.go)."""
    key = "scaleUp" if direction == "up" else "scaleDown"
    n = Normalizer(1, 100, None if rules is None else v2({key: rules}))
    events = [ScaleEvent(change, NOW - age) for change, age in previous]
    attribute = "scale_up_events" if direction == "up" else "scale_down_events"
    setattr(n, attribute, events)
    assert get_replicas_change_per_period(60, events, NOW) == expected_change
    n.record_scale(NOW, 10, 15 if direction == "up" else 5)
    stored = getattr(n, attribute)
    assert [(e.replica_change, e.outdated) for e in stored] == expected_events


NORMALIZE_WITH_BEHAVIOR = [
    # name, recommendations (replicas, age s), current, desired, expected, stored,
    # up window, down window
    ("empty recommendations for scaling down", [], 100, 5, 5, [5], 0, 0),
    ("simple scale down stabilization", [(4, 120), (5, 60)], 100, 3, 5, [4, 5, 3], 0, 180),
    ("simple scale up stabilization", [(4, 120), (5, 60)], 1, 7, 4, [4, 5, 7], 300, 0),
    ("no scale down stabilization", [(1, 120), (2, 60)], 100, 3, 3, [1, 2, 3], 300, 0),
    ("no scale up stabilization", [(4, 120), (5, 60)], 1, 3, 3, [4, 5, 3], 0, 300),
    ("no scale down stabilization, reuse recommendation element", [(10, 600), (9, 540)], 100, 3, 3,
     [10, 3], 0, 0),
    ("no scale up stabilization, reuse recommendation element", [(10, 600), (9, 540)], 1, 100, 100,
     [10, 100], 0, 0),
    ("scale down stabilization, reuse one of obsolete recommendation element",
     [(10, 600), (4, 60), (5, 120), (9, 540)], 100, 3, 5, [10, 4, 5, 3], 0, 180),
    ("scale up stabilization, reuse one of obsolete recommendation element",
     [(10, 6000), (6, 60), (5, 120), (9, 180)], 1, 100, 5, [100, 6, 5, 9], 300, 0),
    ("scale up and down stabilization, do not scale up when prenormalized rec goes down",
     [(2, 6000), (3, 180)], 2, 1, 2, None, 300, 300),
    ("scale up and down stabilization, do not scale down when prenormalized rec goes up",
     [(2, 6000), (1, 180)], 2, 3, 2, None, 300, 300),
]


@pytest.mark.parametrize("name, recs, current, desired, expected, stored, up_window, down_window",
                         NORMALIZE_WITH_BEHAVIOR, ids=[c[0] for c in NORMALIZE_WITH_BEHAVIOR])
def test_behavior_stabilization_clamps_between_the_windows_min_and_max(name, recs, current, desired, expected, stored,
                                                  up_window, down_window):
    """Upstream: TestNormalizeDesiredReplicasWithBehavior (horizontal_test.go)."""
    n = Normalizer(1, 1000, v2({"scaleUp": {"stabilizationWindowSeconds": up_window},
                                "scaleDown": {"stabilizationWindowSeconds": down_window}}))
    n.recommendations = [Recommendation(r, NOW - age) for r, age in recs]
    got, _reason = n.stabilize_recommendation_with_behaviors(NOW, current, desired)
    assert got == expected
    if stored is not None:
        assert [r.replicas for r in n.recommendations] == stored


# --- behavior design-doc cases, selectPolicy, walkthrough ------------------------------
def test_behavior_default_scale_up_10_to_50_gives_20():
    n = Normalizer(1, 1000, v2({}))
    assert n.recommend_with_reason(NOW, 10, 50) == (20, "ScaleUpLimit")
    assert [(e.replica_change, e.timestamp_s) for e in n.scale_up_events] == [(10, NOW)]


def test_behavior_pods_5_per_60s_scale_down_10_to_2_gives_5():
    policy = [{"type": "Pods", "value": 5, "periodSeconds": 60}]
    n = Normalizer(1, 1000, v2({"scaleDown": {"stabilizationWindowSeconds": 0,
                                              "policies": policy}}))
    assert n.recommend_with_reason(NOW, 10, 2) == (5, "ScaleDownLimit")
    # Within the same 60 s period no further scale-down is allowed ...
    assert n.recommend_with_reason(NOW + 30, 5, 2) == (5, "ScaleDownLimit")
    # ... and after it another 5 pods may go (floored by minReplicas).
    assert n.recommend_with_reason(NOW + 61, 5, 2) == (2, "DesiredWithinRange")


def test_behavior_default_scale_down_is_stabilized_for_300s_after_start():
    n = Normalizer(1, 1000, v2({}))
    assert n.recommend_with_reason(NOW, 10, 2) == (10, "ScaleDownStabilized")
    assert n.recommend_with_reason(NOW + 301, 10, 2) == (2, "DesiredWithinRange")


@pytest.mark.parametrize("select, expected", [("Max", 20), ("Min", 14), ("Disabled", 10)])
def test_select_policy_scale_up(select, expected):
    n = Normalizer(1, 1000, v2({"scaleUp": {"selectPolicy": select}}))
    assert n.recommend_with_reason(NOW, 10, 50) == (expected, "ScaleUpLimit")


@pytest.mark.parametrize("select, expected", [("Max", 5), ("Min", 8), ("Disabled", 10)])
def test_select_policy_scale_down(select, expected):
    rules = {"stabilizationWindowSeconds": 0, "selectPolicy": select, "policies": [
        {"type": "Pods", "value": 2, "periodSeconds": 60},
        {"type": "Percent", "value": 50, "periodSeconds": 60}]}
    n = Normalizer(1, 1000, v2({"scaleDown": rules}))
    assert n.recommend_with_reason(NOW, 10, 1) == (expected, "ScaleDownLimit")


def test_kubernetes_walkthrough_1_to_5_to_7():
    """php-apache walkthrough: one pod at 305% of its request, target 50%."""
    n = Normalizer(1, 10, v2({}))
    busy = PodSample(request=200, usage=610, start_s=0.0, ready_change_s=10.0)
    desired, utilization = resource_replicas(1, [busy], 50, 600.0)
    assert (desired, utilization) == (7, 305)
    assert n.recommend_with_reason(600.0, 1, desired) == (5, "ScaleUpLimit")  # max(1+4, 2*1)
    # 10 s later, still inside the 15 s period: no more pods.
    assert n.recommend_with_reason(610.0, 5, desired) == (5, "ScaleUpLimit")
    # Next sync after the period: the 4 new pods are not ready yet (count 0).
    fresh = [PodSample(phase="Pending", ready=False, start_s=None, request=200)] * 4
    desired, utilization = resource_replicas(5, [busy] + fresh, 50, 615.0)
    assert (desired, utilization) == (7, 305)
    assert n.recommend_with_reason(615.0, 5, desired) == (7, "DesiredWithinRange")


def test_decision_details_and_last_reason():
    n = Normalizer(1, 8, v2({"scaleUp": {"stabilizationWindowSeconds": 60}}))
    assert n.last_reason is None
    n.recommend(NOW, 4, 4)
    decision = n.decide(NOW + 15, 4, 12)
    assert (decision.desired, decision.stabilized, decision.replicas) == (12, 4, 4)
    assert decision.reason == "ScaleUpStabilized" == n.last_reason
    assert decision.able_to_scale_reason == "ScaleUpStabilized"
    assert decision.scaling_limited_reason == "DesiredWithinRange"
    assert not decision.rescaled and not decision.scaling_limited


def test_record_scale_events_off_leaves_recording_to_the_caller():
    n = Normalizer(1, 100, v2({}), record_scale_events=False)
    assert n.recommend(NOW, 10, 50) == 20
    assert n.scale_up_events == []
    n.record_scale(NOW, 10, 20)
    assert [e.replica_change for e in n.scale_up_events] == [10]


def test_tolerances_from_behavior():
    n = Normalizer(1, 10, v2({"scaleUp": {"tolerance": 0.05}}))
    assert n.tolerances() == Tolerances(0.1, 0.05)
    assert Normalizer(1, 10).tolerances(0.2) == Tolerances(0.2, 0.2)


def test_unset_scale_down_window_is_the_controllers_downscale_stabilization():
    """horizontal.go maybeInitScaleDownStabilizationWindow: a behavior without a
    scale-down window takes --horizontal-pod-autoscaler-downscale-stabilization."""
    filled = v2({})
    assert filled.scaleUp.stabilizationWindowSeconds == 0
    assert [p.value for p in filled.scaleUp.policies] == [4, 100]
    assert filled.scaleDown.stabilizationWindowSeconds is None
    assert filled.scaleDown.policies == [
        HPAScalingPolicy(type="Percent", value=100, periodSeconds=15)]
    assert Normalizer(1, 10, filled, downscale_stabilization_s=120.0).scale_down_window_s == 120
    explicit = v2({"scaleDown": {"stabilizationWindowSeconds": 30}})
    assert Normalizer(1, 10, explicit, downscale_stabilization_s=120.0).scale_down_window_s == 30
    assert SYNC_PERIOD_S == 15.0


def test_pod_sample_validates_phase():
    with pytest.raises(ValueError, match="phase"):
        PodSample(phase="Succeeded")


# --- properties --------------------------------------------------------------------
behaviors = st.one_of(
    st.none(),
    st.just({}),
    st.builds(lambda up, down: {"scaleUp": up, "scaleDown": down},
              st.builds(generate_scaling_rules, st.integers(1, 10), st.integers(1, 120),
                        st.integers(1, 300), st.integers(1, 120), st.integers(0, 300)),
              st.builds(generate_scaling_rules, st.integers(1, 10), st.integers(1, 120),
                        st.integers(1, 100), st.integers(1, 120), st.integers(0, 300))),
)


@settings(max_examples=200, deadline=None)
@given(bounds=st.tuples(st.integers(0, 20), st.integers(1, 40)).filter(lambda b: b[0] <= b[1]),
       behavior=behaviors,
       steps=st.lists(st.tuples(st.floats(0.5, 120.0), st.integers(0, 200)), min_size=1,
                      max_size=30),
       start=st.integers(1, 60))
def test_property_normalizer_output_within_min_max(bounds, behavior, steps, start):
    lo, hi = bounds
    n = Normalizer(lo, hi, None if behavior is None else v2(behavior))
    now, current = 0.0, start
    for dt, desired in steps:
        now += dt
        current = n.recommend(now, current, desired)
        assert lo <= current <= hi


def _replicas_at(history, t):
    """Replica count in effect at time t, after every event at or before t."""
    return [r for when, r in history if when <= t][-1]


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from([1.0, 5.0, 7.5, 14.9, 15.0, 15.1, 30.0]),
                                st.integers(1, 500)), min_size=1, max_size=40),
       start=st.integers(1, 50))
def test_property_default_scale_up_never_exceeds_policy_limits(steps, start):
    n = Normalizer(1, 1000, v2({}))
    now, current = 0.0, start
    history = [(-math.inf, start)]
    for dt, desired in steps:
        now += dt
        new = n.recommend(now, current, desired)
        if new > current:
            period_start = _replicas_at(history, now - 15.0)
            assert new <= max(period_start + 4, math.ceil(period_start * 2))
            history.append((now, new))
        elif new < current:
            history.append((now, new))
        current = new


@st.composite
def loaded_pods(draw):
    target = draw(st.integers(1, 300))
    pods = []
    for _ in range(draw(st.integers(1, 8))):
        request = draw(st.integers(1, 4000))
        floor = math.ceil(request * target / 100)
        usage = draw(st.one_of(st.none(), st.integers(floor, floor + 5000)))
        phase = draw(st.sampled_from(["Running", "Running", "Running", "Pending"]))
        ready = draw(st.booleans())
        start = draw(st.sampled_from([0.0, NOW - 100, NOW]))
        pods.append(PodSample(phase=phase, ready=ready, start_s=start, ready_change_s=start,
                              request=request, usage=usage,
                              metric_s=draw(st.sampled_from([None, ZERO]))))
    extra = draw(st.lists(st.sampled_from(["Failed", "Deleting"]), max_size=3))
    pods += [PodSample(phase=p, request=1000, usage=draw(st.one_of(st.none(), st.just(0))))
             for p in extra]
    return target, pods


@settings(max_examples=300, deadline=None)
@given(case=loaded_pods())
def test_property_resource_replicas_never_scales_down_when_all_usage_at_target(case):
    target, pods = case
    current = sum(1 for p in pods if p.phase in ("Running", "Pending"))
    try:
        replicas, utilization = resource_replicas(current, pods, target, NOW)
    except NoMetricsError:
        return
    assert utilization >= target
    assert replicas >= current
