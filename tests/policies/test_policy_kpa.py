"""Tests for sim.policies.kpa, ported from knative/serving's own unit tests.

Each test is named by the behaviour it shows; a ported test names the Go test
(or table row) in its docstring, from pkg/autoscaler/scaling/autoscaler_test.go
unless said otherwise. The Go harness (``newTestAutoscaler``) builds a
``DeciderSpec`` directly: panic threshold 2, both rates 10, stable window 60 s,
``TotalValue = target / 0.75``, reachable, created with one ready pod (two to
start in panic); :func:`_scaler` does the same through
:meth:`Autoscaler.from_spec`. Go calls ``time.Now()`` per tick; here ticks
advance by ``EPS``. ``expectScale`` compares EBC within +-1, as
:func:`_expect` does. K1-K10 are the semantics-page vectors
(docs: /work/shared/design/semantics-next.md section 1).
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.policies.kpa import (
    INVALID_SCALE_RESULT,
    Autoscaler,
    DeciderSpec,
    KpaConfig,
    MaxTimeWindow,
    ScaleResult,
    activator_in_path,
    apply_bounds,
    excess_burst_capacity,
    make_decider_spec,
    num_activators,
    resolve_metric_target,
)

T0 = 1000.0
EPS = 0.001
STABLE_WINDOW_S = 60.0
TARGET_UTILIZATION = 0.75  # autoscaler_test.go targetUtilization


def _spec(target: float, tbc: float, **changes) -> DeciderSpec:
    values = dict(target_value=target, total_value=target / TARGET_UTILIZATION,
                  target_burst_capacity=tbc, panic_threshold=2.0,
                  stable_window_s=STABLE_WINDOW_S, max_scale_up_rate=10.0,
                  max_scale_down_rate=10.0, activator_capacity=150.0)
    values.update(changes)
    return DeciderSpec(**values)


def _scaler(target: float, tbc: float, start_in_panic: bool = False, **changes) -> Autoscaler:
    """``newTestAutoscalerWithScalingMetric``."""
    return Autoscaler.from_spec(_spec(target, tbc, **changes), created_s=T0,
                                ready_pods_at_creation=2 if start_in_panic else 1)


def expected_ebc(target: float, tbc: float, concurrency: float, pods: int) -> int:
    """autoscaler_test.go ``expectedEBC``."""
    return math.floor(target / TARGET_UTILIZATION * pods - tbc - concurrency)


def _expect(got: ScaleResult, pods: int, ebc: int) -> None:
    assert got.scale_valid is True
    assert got.desired_pod_count == pods
    assert abs(got.excess_burst_capacity - ebc) <= 1, got


# --- configuration -------------------------------------------------------------
def test_config_defaults_are_knatives():
    """config.go ``defaultConfig``."""
    c = KpaConfig()
    assert (c.metric, c.target, c.target_utilization) == ("concurrency", None, 0.7)
    assert (c.container_concurrency_target_default, c.rps_target_default) == (100.0, 200.0)
    assert c.target_burst_capacity == 211.0
    assert (c.stable_window_s, c.panic_window_percentage, c.panic_window_s) == (60.0, 10.0, 6.0)
    assert (c.panic_threshold_percentage, c.panic_threshold) == (200.0, 2.0)
    assert (c.max_scale_up_rate, c.max_scale_down_rate) == (1000.0, 2.0)
    assert (c.scale_to_zero_grace_period_s, c.scale_to_zero_pod_retention_period_s) == (30.0, 0.0)
    assert (c.scale_down_delay_s, c.initial_scale, c.min_scale, c.max_scale) == (0.0, 1, 0, 0)
    assert (c.activation_scale, c.activator_capacity, c.tick_interval_s) == (1, 100.0, 2.0)


@pytest.mark.parametrize("stable_s, percentage, panic_s", [
    (60, 10, 6.0),     # default
    (6, 10, 1.0),      # 0.6 s rounds to 1 s
    (15, 1, 1.0),      # 0.15 s rounds to 0, raised to BucketSize
    (25, 10, 3.0),     # 2.5 s: Go's Duration.Round goes half away from zero
    (3600, 100, 3600.0),
])
def test_panic_window_is_rounded_share_of_stable_window_at_least_one_second(stable_s, percentage,
                                                                           panic_s):
    """resources/metric.go ``MakeMetric``."""
    config = KpaConfig(stable_window_s=stable_s, panic_window_percentage=percentage)
    assert config.panic_window_s == panic_s


@pytest.mark.parametrize("changes", [
    {"stable_window_s": 5}, {"stable_window_s": 3601}, {"stable_window_s": 60.5},
    {"panic_window_percentage": 0.5}, {"panic_window_percentage": 101},
    {"max_scale_up_rate": 1.0}, {"max_scale_down_rate": 1.0},
    {"target_burst_capacity": -2}, {"target_utilization": 0}, {"target_utilization": 1.01},
    {"scale_down_delay_s": -1}, {"scale_down_delay_s": 1.5},
    {"scale_to_zero_grace_period_s": 0}, {"rps_target_default": 0.001},
    {"initial_scale": 0}, {"min_scale": 3, "max_scale": 2}, {"metric": "cpu"},
    {"target": 0.001}, {"activator_capacity": 0.5}, {"tick_interval_s": 0.5},
    {"panic_threshold_percentage": 0},
])
def test_config_rejects_what_config_go_validate_rejects(changes):
    with pytest.raises(ValueError):
        KpaConfig(**changes)


def test_config_allows_zero_initial_scale_when_the_cluster_does():
    assert KpaConfig(initial_scale=0, allow_zero_initial_scale=True).initial_scale == 0


def test_annotations_with_and_without_prefix():
    config = KpaConfig.from_annotations({
        "autoscaling.knative.dev/target": "50",
        "target-utilization-percentage": "80",
        "autoscaling.knative.dev/metric": "rps",
        "window": "1m30s",
        "autoscaling.knative.dev/panic-window-percentage": "20",
        "panic-threshold-percentage": 150,
        "scale-down-delay": 30,
        "autoscaling.knative.dev/min-scale": "1",
        "max-scale": "10",
        "initial-scale": "3",
        "activation-scale": "2",
        "target-burst-capacity": "-1",
        "serving.knative.dev/creator": "someone",  # other prefixes are not ours
    })
    assert (config.target, config.target_utilization, config.metric) == (50.0, 0.8, "rps")
    assert config.stable_window_s == 90.0
    assert (config.panic_window_s, config.panic_threshold) == (18.0, 1.5)
    assert (config.scale_down_delay_s, config.min_scale, config.max_scale) == (30.0, 1, 10)
    assert (config.initial_scale, config.activation_scale) == (3, 2)
    assert config.target_burst_capacity == -1
    assert resolve_metric_target(config) == (40.0, 50.0)


def test_annotation_kebab_key_beats_legacy_camel_case_alias():
    """register.go ``kmap.KeyPriority``: the kebab-case key is read first."""
    config = KpaConfig.from_annotations({"autoscaling.knative.dev/minScale": "4",
                                         "autoscaling.knative.dev/min-scale": "2",
                                         "maxScale": "5"})
    assert (config.min_scale, config.max_scale) == (2, 5)


def test_annotations_keep_the_given_defaults():
    base = KpaConfig(container_concurrency_target_default=50, max_scale_up_rate=3)
    config = KpaConfig.from_annotations({"window": "120s"}, defaults=base)
    assert (config.container_concurrency_target_default, config.max_scale_up_rate) == (50, 3)
    assert config.stable_window_s == 120.0


@pytest.mark.parametrize("annotations", [
    {"window": "5s"}, {"window": "2h"}, {"window": "1500ms"}, {"window": "soon"},
    {"panic-window-percentage": "0.5"}, {"panic-threshold-percentage": "100"},
    {"panic-threshold-percentage": "1001"}, {"target": "0.001"}, {"target": "x"},
    {"target-utilization-percentage": "0.5"}, {"target-utilization-percentage": "101"},
    {"target-burst-capacity": "-2"}, {"scale-down-delay": "61m"}, {"scale-down-delay": "1.5s"},
    {"min-scale": "-1"}, {"min-scale": "1.5"}, {"min-scale": "3", "max-scale": "2"},
    {"initial-scale": "0"}, {"activation-scale": "1"},
    {"activation-scale": "2", "min-scale": "3"}, {"activation-scale": "5", "max-scale": "4"},
    {"metric": "cpu"}, {"class": "hpa.autoscaling.knative.dev"},
    {"autoscaling.knative.dev/tarket": "1"},
])
def test_annotations_rejected_by_the_webhook_raise(annotations):
    """annotation_validation.go ``ValidateAnnotations`` ranges."""
    with pytest.raises(ValueError):
        KpaConfig.from_annotations(annotations)


# --- target (target.go) --------------------------------------------------------
@pytest.mark.parametrize("config, cc, target, total", [
    (KpaConfig(), 0, 70.0, 100.0),                                    # [D] defaults
    (KpaConfig(metric="rps"), 0, 140.0, 200.0),                       # [D] rps defaults
    (KpaConfig(target_utilization=1.0), 0, 100.0, 100.0),             # "defaults"
    (KpaConfig(target_utilization=0.8), 0, 80.0, 100.0),              # "default CC + 80% TU"
    (KpaConfig(target_utilization=0.3, container_concurrency_target_default=2), 0, 0.6, 2.0),
    (KpaConfig(target_utilization=0.75), 12, 9.0, 12.0),              # "... TU annotation 75%"
    (KpaConfig(target_utilization=0.8), 10, 8.0, 10.0),
    (KpaConfig(target_utilization=0.8), 1, 0.8, 1.0),
    (KpaConfig(target=1, target_utilization=0.001), 0, 0.01, 1.0),    # TargetMin
    (KpaConfig(target=10, target_utilization=0.75), 0, 7.5, 10.0),
    (KpaConfig(target=1, target_utilization=1.0), 10, 1.0, 1.0),      # CC > target: ok
    (KpaConfig(target=500, target_utilization=1.0), 0, 500.0, 500.0),
    (KpaConfig(target=10, target_utilization=1.0), 1, 1.0, 1.0),      # capped at CC
    (KpaConfig(metric="rps"), 1, 140.0, 200.0),                       # "RPS: defaults"
    (KpaConfig(metric="rps", target=1), 0, 0.7, 1.0),
    (KpaConfig(metric="rps", target_utilization=0.75), 0, 150.0, 200.0),
    (KpaConfig(metric="rps", target=300), 1, 210.0, 300.0),           # no CC cap for rps
])
def test_resolve_metric_target(config, cc, target, total):
    """resources/target_test.go ``TestResolveMetricTarget`` (its harness has
    concurrency fraction 1.0 and RPS utilization 0.7; here the one knob is
    set per row)."""
    got_target, got_total = resolve_metric_target(config, cc)
    assert got_target == pytest.approx(target) and got_total == total


def test_decider_spec_from_config():
    """kpa/resources/decider.go ``MakeDecider``."""
    spec = make_decider_spec(KpaConfig(panic_threshold_percentage=150, scale_down_delay_s=30,
                                       activation_scale=3), 10)
    assert (spec.target_value, spec.total_value, spec.panic_threshold) == (7.0, 10.0, 1.5)
    assert (spec.scale_down_delay_s, spec.activation_scale) == (30.0, 3)
    assert spec.target_burst_capacity == 211.0


# --- stable mode ---------------------------------------------------------------
def test_stable_mode_asks_ceil_of_stable_average_over_target():
    """TestAutoscalerStableModeIncreaseWithConcurrencyDefault."""
    a = _scaler(10, 101)
    _expect(a.scale(T0, 50, 10, 1), 5, expected_ebc(10, 101, 10, 1))
    _expect(a.scale(T0 + EPS, 100, 10, 1), 10, expected_ebc(10, 101, 10, 1))
    assert not a.in_panic


def test_stable_mode_on_rps_is_the_same_arithmetic():
    """TestAutoscalerStableModeIncreaseWithRPS."""
    a = _scaler(10, 101, scaling_metric="rps")
    _expect(a.scale(T0, 50, 50, 1), 5, expected_ebc(10, 101, 50, 1))
    _expect(a.scale(T0 + EPS, 100, 99, 1), 10, expected_ebc(10, 101, 99, 1))


def test_stable_mode_decreases_without_delay():
    """TestAutoscalerStableModeDecrease."""
    a = _scaler(10, 98)
    _expect(a.scale(T0, 100, 100, 8), 10, expected_ebc(10, 98, 100, 8))
    _expect(a.scale(T0 + EPS, 50, 50, 8), 5, expected_ebc(10, 98, 50, 8))


def test_stable_mode_scales_to_zero_without_traffic():
    """TestAutoscalerStableModeNoTrafficScaleToZero."""
    a = _scaler(10, 75)
    _expect(a.scale(T0, 1, 0, 1), 1, expected_ebc(10, 75, 0, 1))
    _expect(a.scale(T0 + EPS, 0, 0, 1), 0, expected_ebc(10, 75, 0, 1))


@pytest.mark.parametrize("label, target, tbc, stable, panic, ready, pods, ebc", [
    ("AutoscalerNoDataAtZeroNoAutoscale", 10, 100, 0, 0, 1, 0, expected_ebc(10, 100, 0, 1)),
    ("AutoscalerStableModeNoChange", 10, 100, 50, 50, 1, 5, expected_ebc(10, 100, 50, 1)),
    ("AutoscalerStableModeNoChangeAlreadyScaled", 10, 100, 50, 50, 5, 5,
     expected_ebc(10, 100, 50, 5)),
])
def test_scale_table_stable_rows(label, target, tbc, stable, panic, ready, pods, ebc):
    """TestAutoscalerScale rows named in ``label``."""
    _expect(_scaler(target, tbc).scale(T0, stable, panic, ready), pods, ebc)


def test_zero_ready_pods_count_as_one_for_rate_limits_but_not_for_ebc():
    """TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound."""
    a = _scaler(10, 81)
    got = a.scale(T0, 1000, 888, 0)
    _expect(got, 10, expected_ebc(10, 81, 888, 0))
    assert got.excess_burst_capacity == -969


# --- rate limits ----------------------------------------------------------------
def test_scale_up_is_limited_to_max_scale_up_rate_times_ready():
    """TestAutoscalerRateLimitScaleUp; K2."""
    a = _scaler(10, 61)
    _expect(a.scale(T0, 1000, 1001, 1), 10, expected_ebc(10, 61, 1001, 1))  # need 100, x10
    _expect(a.scale(T0 + EPS, 1000, 1001, 10), 100, expected_ebc(10, 61, 1001, 10))


def test_scale_down_is_limited_to_ready_over_max_scale_down_rate():
    """TestAutoscalerRateLimitScaleDown; K3."""
    a = _scaler(10, 61)
    _expect(a.scale(T0, 1, 1, 100), 10, expected_ebc(10, 61, 1, 100))  # need 1, /10
    _expect(a.scale(T0 + EPS, 1, 1, 10), 1, expected_ebc(10, 61, 1, 10))


def test_small_scale_down_rate_floors():
    """TestAutoscalerScale "AutoscalerStableModeDecreaseWithSmallScaleDownRate"; K4:
    floor(100 / 1.1) = 90."""
    a = _scaler(10, 1982, max_scale_down_rate=1.1)
    _expect(a.scale(T0, 1, 1, 100), 90, expected_ebc(10, 1982, 1, 100))


def test_unreachable_revision_has_no_scale_down_limit():
    """TestAutoscalerScale "AutoscalerStableModeDecreaseNonReachable"; K4."""
    a = _scaler(10, 1982, max_scale_down_rate=1.1)
    _expect(a.scale(T0, 1, 1, 100, reachable=False), 1, expected_ebc(10, 1982, 1, 100))


def test_small_scale_up_rate_still_grows_by_a_pod():
    """TestAutoscalerScale "AutoscalerStableModeIncreaseWithSmallScaleUpRate"; K5:
    ceil(1.1 x 2) = 3 (the panic count, ceil(3.1) = 4 >= 2 x 2, is capped to 3 too)."""
    a = _scaler(1, 1982, max_scale_up_rate=1.1)
    _expect(a.scale(T0, 3, 3.1, 2), 3, expected_ebc(1, 1982, 3.1, 2))


# --- panic mode ------------------------------------------------------------------
def test_panic_entered_when_panic_count_reaches_threshold_times_ready():
    """TestAutoscalerScale "AutoscalerPanicModeDoublePodCount"; K1: panic
    ceil(100 / 10) = 10 >= 2 x 1, so the panic count wins over stable 5."""
    a = _scaler(10, 84)
    _expect(a.scale(T0, 50, 100, 1), 10, expected_ebc(10, 84, 100, 1))
    assert a.panic_time_s == T0 and a.max_panic_pods == 10


def test_panic_uses_the_larger_of_stable_and_panic_counts():
    """TestAutoscalerScale "AutoscalerPanicStableLargerThanPanic" and
    "...LessThanPanic"."""
    for stable, want in ((50, 50), (20, 30)):
        a = _scaler(1, 100)
        a.panic_time_s, a.max_panic_pods = T0 - 5, 5
        _expect(a.scale(T0, stable, 30, 5), want, expected_ebc(1, 100, 30, 5))


def test_panic_never_scales_down_until_stable_window_after_last_surge():
    """TestAutoscalerUnpanicAfterSlowIncrease."""
    a = _scaler(1, 98)
    start = T0
    _expect(a.scale(start, 11, 25, 10), 25, expected_ebc(1, 98, 25, 10))
    assert a.panic_time_s == start
    tm = start + STABLE_WINDOW_S / 2  # +15 pods; 41 / 40 is under the threshold
    _expect(a.scale(tm, 30, 41, 40), 41, expected_ebc(1, 98, 41, 40))
    assert a.panic_time_s == start  # not moved
    tm += STABLE_WINDOW_S / 2 + 2.0  # tickInterval
    _expect(a.scale(tm, 50, 56, 55), 50, expected_ebc(1, 98, 56, 55))  # no longer in panic
    assert a.panic_time_s is None and a.max_panic_pods == 0


def test_panic_extended_while_over_threshold():
    """TestAutoscalerExtendPanicWindow."""
    a = _scaler(1, 98)
    _expect(a.scale(T0, 11, 25, 10), 25, expected_ebc(1, 98, 25, 10))
    tm = T0 + STABLE_WINDOW_S / 2
    _expect(a.scale(tm, 30, 80, 40), 80, expected_ebc(1, 98, 80, 40))
    assert a.panic_time_s == tm


def test_panic_holds_then_scales_down_after_stable_window():
    """TestAutoscalerPanicThenUnPanicScaleDown."""
    a = _scaler(10, 93)
    _expect(a.scale(T0, 100, 100, 1), 10, expected_ebc(10, 93, 100, 1))
    panic_time = T0 + EPS
    _expect(a.scale(panic_time, 100, 1000, 10), 100, expected_ebc(10, 93, 1000, 10))
    # traffic dropped off, scale stays as we're still in panic
    _expect(a.scale(panic_time + 30, 1, 1, 10), 100, expected_ebc(10, 93, 1, 10))
    _expect(a.scale(panic_time + 61, 1, 1, 10), 1, expected_ebc(10, 93, 1, 10))


def test_panic_exit_is_strictly_after_the_stable_window():
    """[D] ``panicTime.Add(StableWindow).Before(now)``: at exactly panic time +
    60 s the decider still panics; one tick later it does not."""
    a = _scaler(10, 93)
    _expect(a.scale(T0, 100, 1000, 10), 100, expected_ebc(10, 93, 1000, 10))
    _expect(a.scale(T0 + 60, 1, 1, 10), 100, expected_ebc(10, 93, 1, 10))
    assert a.in_panic
    _expect(a.scale(T0 + 62, 1, 1, 10), 1, expected_ebc(10, 93, 1, 10))
    assert not a.in_panic


def test_panic_tracks_exponential_growth_and_stabilizes():
    """TestAutoscalerPanicModeExponentialTrackAndStabilize."""
    a = _scaler(1, 101)
    _expect(a.scale(T0, 6, 6, 1), 6, expected_ebc(1, 101, 6, 1))
    tm = T0 + EPS
    _expect(a.scale(tm, 36, 36, 6), 36, expected_ebc(1, 101, 36, 6))
    assert a.panic_time_s == tm
    tm += 1
    _expect(a.scale(tm, 216, 216, 36), 216, expected_ebc(1, 101, 216, 36))
    assert a.panic_time_s == tm
    _expect(a.scale(tm, 1296, 1296, 216), 1296, expected_ebc(1, 101, 1296, 216))
    assert a.panic_time_s == tm
    _expect(a.scale(tm + 1, 1296, 1296, 1296), 1296, expected_ebc(1, 101, 1296, 1296))


def test_panic_mode_reported_after_a_panicking_tick():
    """TestAutoscalerMetrics and TestAutoscalerMetricsWithRPS (the panic gauge
    and the result; the other gauges are not modelled)."""
    a = _scaler(10, 100)
    assert not a.in_panic
    _expect(a.scale(T0, 50, 50, 1), 5, expected_ebc(10, 100, 50, 1))
    assert a.in_panic
    r = _scaler(10, 100, scaling_metric="rps")
    _expect(r.scale(T0 + 61, 100, 99, 1), 10, expected_ebc(10, 100, 99, 1))
    assert r.in_panic


# --- creation ----------------------------------------------------------------------
@pytest.mark.parametrize("ready, panicking", [(0, False), (1, False), (2, True), (7, True)])
def test_created_over_one_ready_pod_starts_in_panic_holding_ready(ready, panicking):
    """TestStartInPanicMode, TestNewFail (a pod-count error is 0 ready),
    TestAutoscalerStartMetrics."""
    a = Autoscaler.from_spec(_spec(100, 11, total_value=120, panic_threshold=220),
                             created_s=T0, ready_pods_at_creation=ready)
    assert a.in_panic is panicking
    assert a.max_panic_pods == ready
    assert a.panic_time_s == (T0 if panicking else None)


def test_created_in_panic_keeps_ready_count_for_a_stable_window():
    """[D] ``newAutoscaler`` with ready > 1: no traffic data yet (zeros) does
    not scale the revision down until created_s + stable window has passed."""
    a = Autoscaler(KpaConfig(), created_s=T0, ready_pods_at_creation=5)
    assert a.scale(T0 + 2, 0, 0, 5).desired_pod_count == 5
    assert a.scale(T0 + 60, 0, 0, 5).desired_pod_count == 5
    assert a.scale(T0 + 62, 0, 0, 5).desired_pod_count == 2  # floor(5 / 2): MSDR 2
    assert not a.in_panic


# --- activation scale ------------------------------------------------------------
def test_activation_scale_raises_non_zero_counts_only():
    """TestAutoscalerActivationScale; K9."""
    a = _scaler(10, 75, activation_scale=2)
    _expect(a.scale(T0, 0, 0, 1), 0, expected_ebc(10, 75, 0, 1))
    _expect(a.scale(T0 + EPS, 1, 0, 1), 2, expected_ebc(10, 75, 0, 1))


def test_activation_scale_applies_to_the_panic_count_too():
    """[D] a panicking tick with panic count 1 below activation scale 3."""
    a = _scaler(10, 75, activation_scale=3, panic_threshold=1.0)
    got = a.scale(T0, 0, 5, 1)  # dspc 0 stays 0; dppc 1 -> 3
    assert a.in_panic and got.desired_pod_count == 3


# --- scale-down delay ----------------------------------------------------------------
def _delay_scaler() -> Autoscaler:
    """TestAutoscalerScaleDownDelay's spec: target 10, both rates 10, panic
    threshold 100 (a factor), delay 5 min, no ready pods at creation."""
    spec = DeciderSpec(target_value=10, total_value=0, target_burst_capacity=0,
                       panic_threshold=100, stable_window_s=0, max_scale_up_rate=10,
                       max_scale_down_rate=10, scale_down_delay_s=300)
    return Autoscaler.from_spec(spec, created_s=0.0, ready_pods_at_creation=0)


def test_scale_down_delay_holds_the_max_over_the_delay_window():
    """TestAutoscalerScaleDownDelay "simple" then "gradual" (Go starts at the
    zero time, an even Unix second, as 0 is here)."""
    a = _delay_scaler()
    assert a.scale(2, 40, 40, 0) == ScaleResult(4, 0, True)
    assert a.scale(300, 0, 0, 0).desired_pod_count == 4    # less than the delay
    assert a.scale(302, 0, 0, 0).desired_pod_count == 0    # delay passed
    assert a.scale(540, 40, 40, 0).desired_pod_count == 4  # gradual
    assert a.scale(600, 30, 30, 0).desired_pod_count == 4  # 4 still dominates
    assert a.scale(660, 0, 0, 0).desired_pod_count == 4
    assert a.scale(840, 0, 0, 0).desired_pod_count == 3    # 4 scrolls out
    assert a.scale(900, 0, 0, 0).desired_pod_count == 0    # everything scrolled out


def test_scale_down_delay_skipped_when_unreachable():
    """TestAutoscalerScaleDownDelayNotReachable (Go ticks at +2 s again after
    +1 min; the window is bypassed, so time order does not matter)."""
    a = _delay_scaler()
    assert a.scale(2, 40, 40, 0).desired_pod_count == 4
    assert a.scale(60, 0, 0, 0).desired_pod_count == 4
    assert a.scale(2, 0, 0, 0, reachable=False).desired_pod_count == 0


def test_zero_scale_down_delay_scales_down_within_a_tick():
    """TestAutoscalerScaleDownDelayZero: no window at all, so two ticks in the
    same 2 s bucket take the latest, not the larger."""
    spec = DeciderSpec(target_value=10, total_value=0, target_burst_capacity=0,
                       panic_threshold=100, stable_window_s=0, max_scale_up_rate=10,
                       max_scale_down_rate=10)
    a = Autoscaler.from_spec(spec, ready_pods_at_creation=0)
    assert a.delay_window is None
    assert a.scale(0, 40, 40, 0).desired_pod_count == 4
    assert a.scale(0.5, 20, 20, 0).desired_pod_count == 2


def test_scale_down_delay_window_is_built_at_creation_only():
    """[D] ``Update`` swaps the spec, not the ``delayWindow`` made by ``New``."""
    a = Autoscaler(KpaConfig(scale_down_delay_s=10))
    a.update(KpaConfig(scale_down_delay_s=0))
    assert a.delay_window is not None and a.delay_window.buckets == 5
    b = Autoscaler(KpaConfig())
    b.update(KpaConfig(scale_down_delay_s=10))
    assert b.delay_window is None


def test_unreachable_ticks_are_not_recorded_in_the_delay_window():
    """[D] the window is neither read nor written while unreachable."""
    a = _delay_scaler()
    assert a.scale(2, 0, 0, 0).desired_pod_count == 0
    assert a.scale(4, 90, 0, 0, reachable=False).desired_pod_count == 9
    assert a.scale(6, 0, 0, 0).desired_pod_count == 0


def test_max_time_window_buckets_by_whole_seconds():
    """max/timewindow.go: 5 s over 2 s ticks is ceil(2.5) = 3 buckets; index
    floor(now) div 2; same-bucket records keep the larger."""
    w = MaxTimeWindow(5, 2)
    assert w.buckets == 3
    w.record(0.0, 7)
    w.record(1.9, 3)       # same bucket 0: max(7, 3)
    assert w.current() == 7
    w.record(5.9, 1)       # bucket 2
    assert w.current() == 7
    w.record(6.0, 1)       # bucket 3: bucket 0 leaves
    assert w.current() == 1
    assert [w.index(t) for t in (-0.5, -2.0, -3.0)] == [0, -1, -1]  # Go truncation


@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 20)), min_size=1, max_size=60),
       st.integers(1, 30))
def test_max_time_window_is_the_sliding_maximum(steps, delay_s):
    """[D] ``window.Record``/``Current`` equal the brute-force maximum of the
    values recorded in buckets (index - buckets, index]."""
    w, seen, now = MaxTimeWindow(delay_s, 2), [], 0
    for advance, value in steps:
        now += advance
        w.record(now, value)
        seen.append((w.index(now), value))
        index = w.index(now)
        assert w.current() == max(v for i, v in seen if index - i < w.buckets)


# --- excess burst capacity -------------------------------------------------------------
def test_ebc_with_tbc_zero_is_zero():
    """TestAutoscalerScale "Autoscaler0TBC"."""
    assert _scaler(10, 0).scale(T0, 50, 49, 1) == ScaleResult(5, 0, True)


def test_ebc_with_unlimited_tbc_is_minus_one():
    """TestAutoscalerScale "AutoscalerStableModeUnlimitedTBC"."""
    assert _scaler(181, -1).scale(T0, 21, 26, 1) == ScaleResult(1, -1, True)


def test_ebc_floors_capacity_minus_tbc_minus_panic_average():
    """K10: floor(1 x 13.33 - 100 - 50) = -137 (TestAutoscalerMetrics' ebc)."""
    assert _scaler(10, 100).scale(T0, 50, 50, 1).excess_burst_capacity == -137
    assert excess_burst_capacity(_spec(10, 10), 3, 5) == 25  # floor(40 - 10 - 5)


def test_ebc_sign_decides_the_activator():
    """kpa.go: serve directly iff want > 0 and EBC >= 0."""
    assert activator_in_path(5, -137) is True
    assert activator_in_path(5, 0) is False
    assert activator_in_path(0, 10) is True
    assert activator_in_path(-1, 10) is True


def test_num_activators():
    """kpa.go ``computeNumActivators``."""
    spec = make_decider_spec(KpaConfig())          # total 100, TBC 211, capacity 100
    assert num_activators(0, spec) == 3            # ceil(211 / 100)
    assert num_activators(10, spec) == 13          # ceil(1211 / 100)
    assert num_activators(10, make_decider_spec(KpaConfig(target_burst_capacity=0))) == 2
    assert num_activators(10, make_decider_spec(KpaConfig(target_burst_capacity=-1))) == 10
    assert num_activators(1, make_decider_spec(KpaConfig(target_burst_capacity=-1))) == 2


# --- invalid results and updates -------------------------------------------------------
def test_no_data_or_unknown_pod_count_is_invalid_and_changes_nothing():
    """TestAutoscalerNoDataNoAutoscale, TestCantCountPods: Go's ``invalidSR``."""
    a = _scaler(10, 100)
    assert a.scale(T0, None, None, 1) == INVALID_SCALE_RESULT == ScaleResult(0, 0, False)
    assert a.scale(T0, 1000, 888, None) == INVALID_SCALE_RESULT
    assert not a.in_panic and a.max_panic_pods == 1


def test_update_changes_the_target_from_the_next_tick():
    """TestAutoscalerUpdateTarget."""
    a = _scaler(10, 77)
    _expect(a.scale(T0, 100, 101, 1), 10, expected_ebc(10, 77, 101, 1))
    a.update_spec(_spec(1, 71, activator_capacity=21))
    _expect(a.scale(T0 + EPS, 100, 101, 10), 100, expected_ebc(1, 71, 101, 10))


def test_rejects_bad_observations():
    a = _scaler(10, 100)
    for stable, panic, ready in ((-1, 0, 1), (0, math.nan, 1), (0, 0, -1), (0, 0, 1.5)):
        with pytest.raises(ValueError):
            a.scale(T0, stable, panic, ready)


# --- semantics-page vectors K1-K10 ------------------------------------------------------
@pytest.mark.parametrize("name, target, stable, panic, ready, changes, reachable, pods", [
    ("K1", 10, 50, 100, 1, {}, True, 10),
    ("K2a", 10, 1000, 1001, 1, {}, True, 10),
    ("K2b", 10, 1000, 1001, 10, {}, True, 100),
    ("K3a", 10, 1, 1, 100, {}, True, 10),
    ("K3b", 10, 1, 1, 10, {}, True, 1),
    ("K4a", 10, 1, 1, 100, {"max_scale_down_rate": 1.1}, True, 90),
    ("K4b", 10, 1, 1, 100, {"max_scale_down_rate": 1.1}, False, 1),
    ("K5", 1, 3, 3.1, 2, {"max_scale_up_rate": 1.1}, True, 3),
    ("K9a", 10, 0, 0, 1, {"activation_scale": 2}, True, 0),
    ("K9b", 10, 1, 0, 1, {"activation_scale": 2}, True, 2),
])
def test_semantics_page_vectors(name, target, stable, panic, ready, changes, reachable, pods):
    """semantics-next.md section 1, each on a fresh decider created with one
    ready pod (K6-K8 do not exist on the page)."""
    a = _scaler(target, 100, **changes)
    assert a.scale(T0, stable, panic, ready, reachable).desired_pod_count == pods


def test_semantics_page_vector_k10():
    got = _scaler(10, 100).scale(T0, 50, 50, 1)
    assert got.excess_burst_capacity == -137 and activator_in_path(got.desired_pod_count,
                                                                    got.excess_burst_capacity)


def test_worked_example_with_defaults():
    """The module docstring's example: defaults, CC 0, one ready pod."""
    got = Autoscaler(KpaConfig()).scale(T0, 150, 150, 1)
    assert got == ScaleResult(3, -261, True)


# --- reconciler bounds -------------------------------------------------------------------
def test_apply_bounds():
    """kpa/scaler.go ``scale`` and ``applyBounds``, ``ScaleBounds``."""
    config = KpaConfig(min_scale=2, max_scale=5, initial_scale=4)
    assert apply_bounds(config, 0) == 2
    assert apply_bounds(config, 9) == 5
    assert apply_bounds(config, 3) == 3
    assert apply_bounds(config, 0, scale_target_initialized=False) == 4
    assert apply_bounds(config, 0, reachable=False) == 0   # min ignored when unreachable
    assert apply_bounds(config, 0, reachable=False, scale_target_initialized=False) == 0
    assert apply_bounds(config, -1) == -1
    assert apply_bounds(KpaConfig(), 10_000) == 10_000      # max 0: unbounded
