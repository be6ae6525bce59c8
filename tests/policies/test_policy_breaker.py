"""CircuitBreaker: cases ported from Resilience4j and properties.

Ported from ``resilience4j-circuitbreaker/src/test/java/io/github/resilience4j/
circuitbreaker/internal/CircuitBreakerStateMachineTest.java`` (setUp config:
failure threshold 50, 4 permitted calls in half-open, slow calls > 4 s at
50%, max wait in half-open 1 s, time window of 20 s with minimum 5 calls,
5 s wait in open; ``ignoreExceptions`` becomes :meth:`release`) and from
``resilience4j-core/src/test/java/io/github/resilience4j/core/metrics/``
``SlidingTimeWindowMetricsTest`` / ``FixedSizeSlidingWindowMetricsTest``.
Each ported test is named by the behaviour it checks; its docstring (or
comment) names the upstream test.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.breaker import STATES, BreakerMetrics, CircuitBreaker

T0 = 1546344000.0  # MockClock.at(2019, 1, 1, 12, 0, 0, UTC), in epoch seconds


def java_breaker(**overrides) -> tuple[CircuitBreaker, list]:
    events: list = []
    config = dict(failure_rate_threshold=50, permitted_number_of_calls_in_half_open_state=4,
                  slow_call_duration_threshold=4.0, slow_call_rate_threshold=50,
                  max_wait_duration_in_half_open_state=1.0, sliding_window_size=20,
                  minimum_number_of_calls=5, sliding_window_type="time_based",
                  wait_duration_in_open_state=5.0,
                  on_transition=lambda *e: events.append(e))
    config.update(overrides)
    return CircuitBreaker(**config), events


def assert_metrics(cb: CircuitBreaker, failure_rate, successful, buffered, failed, not_permitted):
    m = cb.metrics
    assert (m.failure_rate, m.successful_calls, m.buffered_calls, m.failed_calls,
            m.not_permitted_calls) == (failure_rate, successful, buffered, failed, not_permitted)


def assert_metrics_are_reset(cb: CircuitBreaker):
    assert_metrics(cb, -1.0, 0, 0, 0, 0)


def half_open(cb: CircuitBreaker, now_s: float = T0) -> None:
    cb.transition_to_open_state(now_s)
    cb.transition_to_half_open_state(now_s)


# ------------------------------------------------------------------ the brief
def test_count_window_of_ten_opens_at_sixty_percent():
    cb = CircuitBreaker(sliding_window_size=10, minimum_number_of_calls=10)
    for i, ok in enumerate([True, True, False, False]):
        assert cb.try_acquire(i)
        cb.on_result(i, 0.01, ok)
    assert cb.failure_rate == -1.0 and cb.state == "closed"
    outcomes = [False] * 4 + [True] * 4
    for i, ok in enumerate(outcomes[:6], start=4):
        assert cb.try_acquire(i)
        cb.on_result(i, 0.01, ok)
    assert cb.metrics.buffered_calls == 10 and cb.metrics.failed_calls == 6
    assert cb.failure_rate == 60.0 and cb.state == "open"
    assert not cb.try_acquire(10) and not cb.try_acquire(11)


def test_count_window_of_ten_late_results_while_open_stay_at_sixty_percent():
    cb = CircuitBreaker(sliding_window_size=10, minimum_number_of_calls=10)
    outcomes = [True, True, False, False] + [False] * 4 + [True] * 4
    assert all(cb.try_acquire(0.0) for _ in outcomes)  # all admitted while closed
    for ok in outcomes:
        cb.on_result(1.0, 0.01, ok)
    m = cb.metrics
    assert (m.buffered_calls, m.failed_calls, m.failure_rate) == (10, 6, 60.0)
    assert cb.state == "open"


# ------------------------------------------------- CircuitBreakerStateMachineTest
def test_open_breaker_refuses_calls_and_counts_them():
    """Upstream: CircuitBreakerStateMachineTest.shouldThrowCallNotPermittedExceptionWhenStateIsOpen."""
    cb, _ = java_breaker()
    cb.transition_to_open_state(T0)
    assert not cb.try_acquire(T0)
    assert cb.metrics.not_permitted_calls == 1


def test_released_half_open_permit_can_be_reused():
    """Upstream: CircuitBreakerStateMachineTest.shouldIncreaseCounterOnReleasePermission."""
    cb, _ = java_breaker()
    half_open(cb)
    assert [cb.try_acquire(T0) for _ in range(6)] == [True] * 4 + [False] * 2
    cb.release(T0)
    assert cb.try_acquire(T0)


def test_half_open_refuses_calls_beyond_its_permits():
    """Upstream: CircuitBreakerStateMachineTest.shouldThrowCallNotPermittedExceptionWhenNotFurtherTestCallsArePermitted."""
    cb, _ = java_breaker()
    half_open(cb)
    assert all(cb.try_acquire(T0) for _ in range(4))
    assert not cb.try_acquire(T0)
    assert cb.metrics.not_permitted_calls == 1


def test_half_open_admits_exactly_the_permitted_calls_each_time():
    """Upstream: CircuitBreakerStateMachineTest.shouldOnlyPermitFourCallsInHalfOpenState."""
    cb, _ = java_breaker()
    assert_metrics_are_reset(cb)
    for _ in range(2):
        half_open(cb)
        assert cb.state == "half_open"
        assert [cb.try_acquire(T0) for _ in range(6)] == [True] * 4 + [False] * 2


def test_time_window_opens_once_minimum_calls_fail_above_threshold():
    """Upstream: CircuitBreakerStateMachineTest.shouldOpenAfterFailureRateThresholdExceeded2."""
    cb, _ = java_breaker()
    for i, ok in enumerate([True, True, True, False, False]):
        cb.on_result(T0 + i, 0.0, ok)
    assert cb.state == "closed"
    cb.advance(T0 + 5)
    assert cb.state == "closed"
    cb.on_result(T0 + 5, 0.0, False)
    assert cb.state == "open"


def test_opens_at_sixty_percent_failures_after_minimum_calls():
    """Upstream: CircuitBreakerStateMachineTest.shouldOpenAfterFailureRateThresholdExceeded."""
    cb, events = java_breaker()
    assert cb.try_acquire(T0) and cb.state == "closed"
    assert_metrics_are_reset(cb)
    expected = [(-1.0, 0, 1, 1), (-1.0, 0, 2, 2), (-1.0, 0, 3, 3), (-1.0, 1, 4, 3)]
    for ok, (rate, successful, buffered, failed) in zip([False, False, False, True], expected):
        assert cb.try_acquire(T0)
        cb.on_result(T0, 0.0, ok)
        assert cb.state == "closed"
        assert_metrics(cb, rate, successful, buffered, failed, 0)
    cb.on_result(T0, 0.0, True)  # call 5 fills the minimum: 3/5 failed
    assert cb.state == "open"
    assert_metrics(cb, 60.0, 2, 5, 3, 0)
    assert events == [(T0, "closed", "open")]
    assert not cb.try_acquire(T0)
    assert_metrics(cb, 60.0, 2, 5, 3, 1)


def test_opens_when_slow_call_rate_exceeds_threshold():
    """Upstream: CircuitBreakerStateMachineTest.shouldOpenAfterSlowCallRateThresholdExceeded."""
    cb, _ = java_breaker()
    for duration_s, ok in [(5, False), (5, True), (0.1, False), (0.1, True)]:
        assert cb.try_acquire(T0)
        cb.on_result(T0, duration_s, ok)
        assert cb.state == "closed"
    cb.on_result(T0, 5, True)
    assert cb.state == "open"
    assert cb.metrics.buffered_calls == 5 and cb.metrics.slow_calls == 3
    assert cb.slow_call_rate == 60.0


def test_opens_on_slow_calls_measured_by_an_advancing_clock():
    """Upstream: CircuitBreakerStateMachineTest.shouldOpenAfterSlowCallRateThresholdExceededUsingMockClock."""
    cb, _ = java_breaker()
    now_s = T0
    for i, seconds in enumerate([5, 5, 1, 1, 5], start=1):
        assert cb.try_acquire(now_s)
        now_s += seconds  # the decorated consumer advances the clock
        cb.on_result(now_s, seconds, True)
        assert cb.metrics.buffered_calls == i
        assert cb.state == ("open" if i == 5 else "closed")
    assert cb.metrics.slow_calls == 3 and cb.slow_call_rate == 60.0


def test_open_becomes_half_open_after_the_wait_duration():
    """Upstream: CircuitBreakerStateMachineTest.shouldTransitionToHalfOpenAfterWaitDuration."""
    cb, events = java_breaker()
    cb.transition_to_open_state(T0)
    assert_metrics_are_reset(cb)
    assert not cb.try_acquire(T0)
    assert not cb.try_acquire(T0 + 3)
    assert cb.state == "open"
    assert_metrics(cb, -1.0, 0, 0, 0, 2)
    assert cb.try_acquire(T0 + 6)
    assert cb.state == "half_open"
    assert_metrics_are_reset(cb)
    assert events == [(T0, "closed", "open"), (T0 + 6, "open", "half_open")]


def test_half_open_reopens_on_failure_rate_above_threshold():
    """Upstream: CircuitBreakerStateMachineTest.shouldTransitionBackToOpenStateWhenFailureRateIsAboveThreshold."""
    cb, _ = java_breaker()
    half_open(cb)
    assert_metrics_are_reset(cb)
    for ok in [False, False, True, False]:
        assert cb.try_acquire(T0)
        cb.on_result(T0, 0.0, ok)
    assert cb.state == "open"
    assert_metrics(cb, 75.0, 1, 4, 3, 0)


def test_half_open_reopens_on_slow_call_rate_above_threshold():
    """Upstream: CircuitBreakerStateMachineTest.shouldTransitionBackToOpenStateWhenSlowCallRateIsAboveThreshold."""
    cb, _ = java_breaker()
    half_open(cb)
    for duration_s in [5, 5, 5, 1]:
        assert cb.try_acquire(T0)
        cb.on_result(T0, duration_s, True)
    assert cb.state == "open"
    assert cb.metrics.slow_calls == 3
    assert cb.slow_call_rate == 75.0 and cb.failure_rate == 0.0


def test_half_open_closes_when_failures_stay_below_threshold():
    """Upstream: CircuitBreakerStateMachineTest.shouldTransitionBackToClosedStateWhenFailureIsBelowThreshold."""
    cb, _ = java_breaker()
    half_open(cb)
    for ok in [False, True, True, True]:
        assert cb.try_acquire(T0)
        cb.on_result(T0, 0.0, ok)
    assert cb.try_acquire(T0)
    assert cb.state == "closed"
    assert_metrics_are_reset(cb)
    cb.on_result(T0, 0.0, True)
    assert_metrics(cb, -1.0, 1, 1, 0, 0)


def test_reset_clears_the_metrics():
    """Upstream: CircuitBreakerStateMachineTest.shouldResetMetrics."""
    cb, _ = java_breaker()
    assert cb.state == "closed"
    cb.on_result(T0, 0.0, True)
    cb.on_result(T0, 0.0, False)
    assert_metrics(cb, -1.0, 1, 2, 1, 0)
    cb.reset(T0)
    assert_metrics_are_reset(cb)


def test_ignored_outcome_returns_the_half_open_permit():
    """Upstream: CircuitBreakerStateMachineTest.shouldReleasePermissionWhenExceptionIgnored."""
    cb, _ = java_breaker()
    half_open(cb)
    for successful in (1, 2, 3):
        assert cb.try_acquire(T0)
        cb.on_result(T0, 0.0, True)
        assert cb.state == "half_open"
        assert_metrics(cb, -1.0, successful, successful, 0, 0)
    assert cb.try_acquire(T0)
    cb.release(T0)  # NumberFormatException is ignored: the permit comes back
    assert cb.state == "half_open"
    assert_metrics(cb, -1.0, 3, 3, 0, 0)
    assert cb.try_acquire(T0)
    cb.on_result(T0, 0.0, False)
    assert cb.state == "closed"  # 1 of 4 failed: 25% < 50%
    assert_metrics_are_reset(cb)


def test_ignored_outcomes_do_not_count_toward_closing():
    """Upstream: CircuitBreakerStateMachineTest.shouldIgnoreExceptionsAndThenTransitionToClosed."""
    cb, _ = java_breaker()
    half_open(cb)
    for _ in range(4):
        assert cb.try_acquire(T0)
        cb.release(T0)
        assert cb.state == "half_open"
    assert_metrics_are_reset(cb)
    for _ in range(3):
        assert cb.try_acquire(T0)
        cb.on_result(T0, 0.0, True)
        assert cb.state == "half_open"
    assert_metrics(cb, -1.0, 3, 3, 0, 0)
    assert cb.try_acquire(T0)
    cb.on_result(T0, 0.0, True)
    assert cb.state == "closed"
    assert_metrics_are_reset(cb)


def test_closed_cannot_go_straight_to_half_open():
    """Upstream: CircuitBreakerStateMachineTest.shouldNotAllowTransitionFromClosedToHalfOpen."""
    cb, _ = java_breaker()
    with pytest.raises(ValueError, match="closed to half_open"):
        cb.transition_to_half_open_state(T0)
    assert cb.state == "closed"


def test_reset_returns_an_open_breaker_to_closed():
    """Upstream: CircuitBreakerStateMachineTest.shouldResetToClosedState."""
    cb, _ = java_breaker()
    cb.transition_to_open_state(T0)
    cb.reset(T0)
    assert cb.state == "closed"


def test_reset_of_a_closed_breaker_clears_its_counts():
    """Upstream: CircuitBreakerStateMachineTest.shouldResetClosedState."""
    cb, _ = java_breaker()
    cb.on_result(T0, 0.0, True)
    cb.on_result(T0, 0.0, True)
    assert cb.metrics.successful_calls == 2
    cb.reset(T0)
    assert cb.state == "closed" and cb.metrics.successful_calls == 0


def test_repeated_transitions_to_the_same_state_publish_no_event():
    """Upstream: CircuitBreakerStateMachineTest.circuitBreakerDoesNotPublishStateTransitionEventsForInternalTransitions."""
    cb, events = java_breaker()
    cb.transition_to_open_state(T0)
    cb.transition_to_open_state(T0)
    cb.transition_to_half_open_state(T0)
    cb.transition_to_half_open_state(T0)
    cb.transition_to_closed_state(T0)
    cb.transition_to_closed_state(T0)
    assert [e[1:] for e in events] == [("closed", "open"), ("open", "half_open"),
                                       ("half_open", "closed")]


def test_circuit_breaker_transitions_to_open_after_wait_duration_in_half_open_state():
    cb, events = java_breaker()
    half_open(cb)
    assert cb.next_deadline_s == T0 + 1.0
    cb.advance(T0 + 2.0)
    assert cb.state == "open"
    assert events[-1] == (T0 + 1.0, "half_open", "open")  # stamped with the timer's time


# ------------------------------------------- CircuitBreakerAutoTransition behaviour
def test_automatic_transition_from_open_to_half_open_happens_at_wait_without_a_call():
    cb, events = java_breaker(automatic_transition_from_open_to_half_open_enabled=True,
                              max_wait_duration_in_half_open_state=0.0)
    cb.transition_to_open_state(T0)
    assert cb.next_deadline_s == T0 + 5.0
    cb.advance(T0 + 4.999)
    assert cb.state == "open"
    cb.advance(T0 + 5.0)  # exactly at the wait: the scheduled task fires
    assert cb.state == "half_open" and cb.next_deadline_s is None
    assert events[-1] == (T0 + 5.0, "open", "half_open")


def test_without_automatic_transition_open_waits_strictly_after_the_wait_duration():
    cb, _ = java_breaker()
    cb.transition_to_open_state(T0)
    assert cb.next_deadline_s is None
    assert not cb.try_acquire(T0 + 5.0)  # Java: clock.instant().isAfter(retryAfter)
    assert cb.try_acquire(T0 + 5.0 + 1e-6)
    assert cb.state == "half_open"


def test_chained_timers_replay_in_order():
    cb, events = java_breaker(automatic_transition_from_open_to_half_open_enabled=True)
    cb.transition_to_open_state(T0)
    cb.advance(T0 + 12.5)  # open@0 -> half@5 -> open@6 -> half@11 -> open@12
    assert [(e[0] - T0, e[2]) for e in events[1:]] == [
        (5.0, "half_open"), (6.0, "open"), (11.0, "half_open"), (12.0, "open")]
    assert cb.state == "open"


# ---------------------------------- results that belong to an earlier state
def test_result_arriving_while_open_is_recorded_without_transition():
    cb = CircuitBreaker(sliding_window_size=4, minimum_number_of_calls=4)
    assert all(cb.try_acquire(0.0) for _ in range(6))
    for ok in [False, False, True, True]:
        cb.on_result(1.0, 0.0, ok)
    assert cb.state == "open" and cb.failure_rate == 50.0
    cb.on_result(2.0, 0.0, True)
    cb.on_result(2.0, 0.0, True)
    assert cb.state == "open" and cb.failure_rate == 0.0  # recorded, no transition


def test_late_result_from_closed_counts_in_half_open_window():
    cb = CircuitBreaker(sliding_window_size=2, minimum_number_of_calls=2,
                        permitted_number_of_calls_in_half_open_state=2,
                        wait_duration_in_open_state=1.0)
    assert all(cb.try_acquire(0.0) for _ in range(4))  # two more calls still in flight
    cb.on_result(0.1, 0.0, False)
    cb.on_result(0.1, 0.0, False)
    assert cb.state == "open"
    assert cb.try_acquire(2.0) and cb.state == "half_open"
    cb.on_result(2.1, 0.0, True)  # stragglers admitted while closed
    cb.on_result(2.1, 0.0, True)
    assert cb.state == "closed"


def test_half_open_minimum_is_min_of_minimum_calls_and_permitted():
    cb = CircuitBreaker(minimum_number_of_calls=2, permitted_number_of_calls_in_half_open_state=3,
                        sliding_window_size=2, wait_duration_in_open_state=1.0)
    cb.transition_to_open_state(0.0)
    cb.transition_to_half_open_state(0.0)
    for _ in range(2):
        assert cb.try_acquire(0.0)
        cb.on_result(0.0, 0.0, True)
    assert cb.state == "closed"  # decided after 2 calls, not 3


def test_slow_call_is_strictly_longer_than_threshold():
    cb = CircuitBreaker(slow_call_duration_threshold=1.0, sliding_window_size=2,
                        minimum_number_of_calls=2, slow_call_rate_threshold=50)
    cb.on_result(0.0, 1.0, True)
    cb.on_result(0.0, 1.0, True)
    assert cb.slow_call_rate == 0.0 and cb.state == "closed"
    cb.on_result(0.0, 1.0000001, True)
    assert cb.slow_call_rate == 50.0 and cb.state == "open"


# --------------------------------------------------------- sliding windows
def window_breaker(size: int, kind: str) -> CircuitBreaker:
    """Thresholds never reached, so the window can be observed through metrics."""
    return CircuitBreaker(sliding_window_size=size, sliding_window_type=kind,
                          minimum_number_of_calls=1000, slow_call_duration_threshold=1.0)


def test_sliding_time_window_metrics():  # SlidingTimeWindowMetricsTest.testSlidingTimeWindowMetrics
    cb = window_breaker(5, "time_based")
    steps = [(0.0, False, 1, 0, 1), (0.1, True, 2, 1, 1), (0.1, True, 3, 2, 1),
             (1.0, True, 4, 3, 1), (1.0, True, 5, 4, 1), (1.0, False, 6, 4, 2),
             (1.0, True, 7, 5, 2), (1.0, True, 5, 4, 1), (1.0, True, 5, 4, 1),
             (5.0, True, 1, 1, 0)]
    now_s = T0
    for advance_s, ok, total, successful, failed in steps:
        now_s += advance_s
        cb.on_result(now_s, 0.1, ok)
        m = cb.metrics
        assert (m.buffered_calls, m.successful_calls, m.failed_calls) == (total, successful, failed)


def test_time_window_forgets_calls_older_than_its_size():
    """Upstream: SlidingTimeWindowMetricsTest.shouldClearSlidingTimeWindowMetrics."""
    cb = window_breaker(5, "time_based")
    now_s = T0
    cb.on_result(now_s, 0.1, False)
    now_s += 0.1
    cb.on_result(now_s, 0.1, True)
    now_s += 0.7
    cb.on_result(now_s, 1.5, False)  # slow error
    assert (cb.metrics.buffered_calls, cb.metrics.failed_calls, cb.metrics.slow_calls) == (3, 2, 1)
    now_s += 4
    cb.advance(now_s)
    assert cb.metrics.buffered_calls == 3
    now_s += 1
    cb.advance(now_s)
    assert cb.metrics == BreakerMetrics(-1.0, -1.0, 0, 0, 0, 0)
    now_s += 0.1
    cb.on_result(now_s, 0.1, True)
    assert cb.metrics.buffered_calls == 1
    now_s += 5
    cb.on_result(now_s, 0.1, True)
    assert (cb.metrics.buffered_calls, cb.metrics.successful_calls) == (1, 1)


def test_sliding_window_metrics():  # FixedSizeSlidingWindowMetricsTest.testSlidingWindowMetrics
    cb = window_breaker(4, "count_based")
    cb_rates = CircuitBreaker(sliding_window_size=4, minimum_number_of_calls=1,
                              failure_rate_threshold=100)
    expected = [(1, 0, 1, 100.0), (2, 1, 1, 50.0), (3, 2, 1, 100 / 3), (4, 3, 1, 25.0),
                (4, 4, 0, 0.0)]
    for ok, (total, successful, failed, rate) in zip([False, True, True, True, True], expected):
        cb.on_result(0.0, 0.1, ok)
        cb_rates.on_result(0.0, 0.1, ok)
        m = cb.metrics
        assert (m.buffered_calls, m.successful_calls, m.failed_calls) == (total, successful, failed)
        assert cb_rates.failure_rate == pytest.approx(rate)


def test_sliding_window_metrics_with_slow_calls():  # ...testSlidingWindowMetricsWithSlowCalls
    cb = window_breaker(2, "count_based")
    expected = [(1, 1, 0, 1), (2, 2, 1, 1), (2, 1, 2, 0), (2, 0, 2, 0), (2, 0, 2, 0)]
    calls = [(2.0, False), (2.0, True), (0.1, True), (0.1, True), (0.1, True)]
    for (duration_s, ok), (total, slow, successful, failed) in zip(calls, expected):
        cb.on_result(0.0, duration_s, ok)
        m = cb.metrics
        assert (m.buffered_calls, m.slow_calls, m.successful_calls, m.failed_calls) == (
            total, slow, successful, failed)


@pytest.mark.parametrize("kind", ["count_based", "time_based"])
def test_slow_calls_percentage(kind):  # both metrics tests' testSlowCallsPercentage
    cb = CircuitBreaker(sliding_window_size=5, sliding_window_type=kind, minimum_number_of_calls=5,
                        slow_call_duration_threshold=1.0, failure_rate_threshold=100,
                        slow_call_rate_threshold=100)
    for duration_s, ok in [(10.0, True), (10.0, False), (0.1, True), (0.1, True), (0.1, True)]:
        cb.on_result(T0, duration_s, ok)
    m = cb.metrics
    assert (m.buffered_calls, m.successful_calls, m.slow_calls) == (5, 4, 2)
    assert cb.slow_call_rate == 40.0


def test_time_based_minimum_is_not_capped_by_window_size():
    cb = CircuitBreaker(sliding_window_type="time_based", sliding_window_size=2,
                        minimum_number_of_calls=5)
    for _ in range(4):
        cb.on_result(0.0, 0.0, False)
    assert cb.failure_rate == -1.0 and cb.state == "closed"
    cb.on_result(0.0, 0.0, False)
    assert cb.state == "open"


def test_defaults_are_resilience4j_defaults():
    cb = CircuitBreaker()
    assert (cb.failure_rate_threshold, cb.slow_call_rate_threshold,
            cb.slow_call_duration_threshold, cb.wait_duration_in_open_state,
            cb.permitted_number_of_calls_in_half_open_state, cb.minimum_number_of_calls,
            cb.sliding_window_size, cb.sliding_window_type,
            cb.max_wait_duration_in_half_open_state,
            cb.automatic_transition_from_open_to_half_open_enabled) == (
        50.0, 100.0, 60.0, 60.0, 10, 100, 100, "count_based", 0.0, False)
    for _ in range(99):
        cb.on_result(0.0, 0.0, False)
    assert cb.state == "closed"
    cb.on_result(0.0, 0.0, False)
    assert cb.state == "open"


@pytest.mark.parametrize("name, value", [
    ("failure_rate_threshold", 0), ("failure_rate_threshold", 100.5),
    ("slow_call_rate_threshold", 0), ("slow_call_rate_threshold", 101),
    ("slow_call_duration_threshold", 0.0), ("wait_duration_in_open_state", 0.0005),
    ("permitted_number_of_calls_in_half_open_state", 0), ("minimum_number_of_calls", 0),
    ("sliding_window_size", 0), ("sliding_window_size", 2.5), ("sliding_window_type", "ring"),
    ("max_wait_duration_in_half_open_state", -1.0),
    ("automatic_transition_from_open_to_half_open_enabled", 1),
    ("failure_rate_threshold", float("nan")), ("minimum_number_of_calls", True),
])
def test_invalid_arguments_raise_value_error_naming_the_argument(name, value):
    with pytest.raises(ValueError, match=name):
        CircuitBreaker(**{name: value})


# --------------------------------------------------------------- properties
operation = st.one_of(
    st.tuples(st.just("acquire"), st.floats(0, 3)),
    st.tuples(st.just("result"), st.floats(0, 3), st.floats(0, 2), st.booleans()),
    st.tuples(st.just("release"), st.floats(0, 3)),
)


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(operation, max_size=120), permitted=st.integers(1, 5),
       window=st.integers(1, 6), minimum=st.integers(1, 6), auto=st.booleans(),
       max_wait=st.sampled_from([0.0, 0.5, 2.0]),
       kind=st.sampled_from(["count_based", "time_based"]))
def test_half_open_never_admits_more_than_permitted(ops, permitted, window, minimum, auto,
                                                    max_wait, kind):
    episode = [0]

    def count_episodes(now_s, old, new):
        assert old in STATES and new in STATES and old != new
        if new == "half_open":
            episode[0] += 1

    cb = CircuitBreaker(permitted_number_of_calls_in_half_open_state=permitted,
                        sliding_window_size=window, minimum_number_of_calls=minimum,
                        sliding_window_type=kind, wait_duration_in_open_state=1.0,
                        slow_call_duration_threshold=1.0,
                        automatic_transition_from_open_to_half_open_enabled=auto,
                        max_wait_duration_in_half_open_state=max_wait,
                        on_transition=count_episodes)
    now_s, admitted, released = 0.0, {}, {}
    for op in ops:
        now_s += op[1]
        if op[0] == "acquire":
            if cb.try_acquire(now_s) and cb.state == "half_open":
                admitted[episode[0]] = admitted.get(episode[0], 0) + 1
        elif op[0] == "result":
            cb.on_result(now_s, op[2], op[3])
        else:
            cb.release(now_s)
            if cb.state == "half_open":  # the permit went back to this episode
                released[episode[0]] = released.get(episode[0], 0) + 1
        assert cb.state in STATES
        for ep, count in admitted.items():
            assert count <= permitted + released.get(ep, 0)
        rate = cb.failure_rate
        assert rate == -1.0 or 0.0 <= rate <= 100.0


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(st.tuples(st.floats(0, 2), st.booleans()), max_size=80))
def test_without_releases_half_open_admits_exactly_permitted(ops):
    episodes: list[list[bool]] = []

    def on_transition(now_s, old, new):
        if new == "half_open":
            episodes.append([])

    cb = CircuitBreaker(permitted_number_of_calls_in_half_open_state=3, sliding_window_size=4,
                        minimum_number_of_calls=4, wait_duration_in_open_state=1.0,
                        on_transition=on_transition)
    now_s = 0.0
    for step_s, fail in ops:
        now_s += step_s
        admitted = cb.try_acquire(now_s)
        if cb.state == "half_open":
            episodes[-1].append(admitted)
        if admitted and fail:
            cb.on_result(now_s, 0.0, False)
        assert cb.state in STATES
    for decisions in episodes:  # the first 3 asks are admitted, all later ones refused
        assert decisions == [True] * min(3, len(decisions)) + [False] * (len(decisions) - 3)
