"""Circuit breaker, after Resilience4j's ``CircuitBreakerStateMachine``.

Imitates ``resilience4j-circuitbreaker/.../internal/CircuitBreakerStateMachine.java``
(states CLOSED, OPEN, HALF_OPEN), ``CircuitBreakerMetrics.java`` (thresholds,
minimum number of calls) and ``resilience4j-core/.../metrics/``
``FixedSizeSlidingWindowMetrics`` / ``SlidingTimeWindowMetrics`` (windows).
Pure Python: the clock comes in as ``now_s``; there is no thread, timer or RNG.

Semantics (all as in Resilience4j):

* CLOSED admits every call and records results in the closed window
  (count based: the last ``sliding_window_size`` calls; time based: the calls
  of the last ``sliding_window_size`` epoch seconds, one partial aggregation
  per second). Rates are -1 until the window holds ``minimum_number_of_calls``
  (count based: ``min(minimum, window size)``). When the failure rate or the
  slow-call rate is ``>=`` its threshold the breaker opens.
* A call is slow when its duration is strictly greater than
  ``slow_call_duration_threshold``.
* OPEN rejects calls until ``now_s`` is strictly after ``opened + wait``; the
  next ``try_acquire`` then moves to HALF_OPEN and is admitted there. With
  ``automatic_transition_from_open_to_half_open_enabled`` the move happens at
  ``opened + wait`` exactly, without a call (Java schedules a timer).
* HALF_OPEN admits ``permitted_number_of_calls_in_half_open_state`` calls and
  records them in a fresh count window of that size (minimum
  ``min(minimum_number_of_calls, permitted)``); calls beyond the permits are
  rejected. Once the window reaches its minimum it goes OPEN if a rate is over
  threshold, else CLOSED (with a fresh, empty window). A positive
  ``max_wait_duration_in_half_open_state`` (>= 1 ms, as Java's ``toMillis()``)
  sends it back to OPEN at ``half_open_since + max_wait``.
* Results are recorded in whatever state the breaker is in when they
  arrive, whichever state admitted the call (Java delegates ``onSuccess`` /
  ``onError`` to the current state object): a result arriving while OPEN is
  recorded in the carried-over closed window but never triggers a
  transition; a late result from a call admitted while CLOSED that arrives in
  HALF_OPEN counts in the half-open window and can close or re-open it.
* Entering OPEN keeps the previous window (and its not-permitted counter);
  entering HALF_OPEN or CLOSED starts a fresh one.

Timer-driven transitions (automatic OPEN -> HALF_OPEN, max wait in HALF_OPEN)
are applied lazily by every method that takes ``now_s`` (or by
:meth:`CircuitBreaker.advance`), stamped with their due time;
:attr:`CircuitBreaker.next_deadline_s` tells the simulator when to look.
Transitions are reported to the optional ``on_transition(now_s, from, to)``
callback; like Java's event publisher, a transition to the current state is
not reported.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATES = (CLOSED, OPEN, HALF_OPEN)
WINDOW_TYPES = ("count_based", "time_based")

_BELOW_MINIMUM = "below_minimum_calls"
_BELOW = "below_thresholds"
_ABOVE = "above_thresholds"
_MIN_TIMER_S = 0.001
"""Java's half-open max wait is active when ``toMillis() >= 1``."""

TransitionCallback = Callable[[float, str, str], None]


@dataclass(frozen=True)
class BreakerMetrics:
    """A snapshot of the current state's window (Java ``CircuitBreaker.Metrics``)."""

    failure_rate: float
    slow_call_rate: float
    buffered_calls: int
    failed_calls: int
    slow_calls: int
    not_permitted_calls: int

    @property
    def successful_calls(self) -> int:
        return self.buffered_calls - self.failed_calls


class _CountWindow:
    """The last ``size`` outcomes, with running totals (``FixedSizeSlidingWindowMetrics``)."""

    ages = False  # move_to does nothing: CircuitBreaker.advance need not call it

    def __init__(self, size: int):
        self._outcomes: deque[tuple[bool, bool]] = deque()
        self._size = size
        self.calls = self.failed = self.slow = 0

    def record(self, now_s: float, failed: bool, slow: bool) -> None:
        # running totals updated in place, no helper call: once per call through a breaker
        outcomes = self._outcomes
        if len(outcomes) == self._size:
            old_failed, old_slow = outcomes.popleft()
            self.calls -= 1
            self.failed -= old_failed
            self.slow -= old_slow
        outcomes.append((failed, slow))
        self.calls += 1
        self.failed += failed
        self.slow += slow

    def move_to(self, now_s: float) -> None:
        """Count windows do not age."""


class _TimeWindow:
    """Calls of the last ``size_s`` epoch seconds (``SlidingTimeWindowMetrics``).

    One partial aggregation per epoch second ``floor(now_s)``; the window
    holds seconds ``floor(now_s) - size_s + 1 .. floor(now_s)``. A bucket
    leaving the window is subtracted from the totals (subtract-on-evict).
    """

    ages = True

    def __init__(self, size_s: int):
        self._buckets: deque[list[int]] = deque()  # [epoch_second, calls, failed, slow]
        self._size_s = size_s
        self.calls = self.failed = self.slow = 0

    def move_to(self, now_s: float) -> None:
        oldest_kept = math.floor(now_s) - self._size_s + 1
        while self._buckets and self._buckets[0][0] < oldest_kept:
            _, calls, failed, slow = self._buckets.popleft()
            self.calls -= calls
            self.failed -= failed
            self.slow -= slow

    def record(self, now_s: float, failed: bool, slow: bool) -> None:
        self.move_to(now_s)
        epoch = math.floor(now_s)
        if not self._buckets or self._buckets[-1][0] < epoch:
            self._buckets.append([epoch, 0, 0, 0])
        bucket = self._buckets[-1]  # a late clock lands in the head bucket, as in Java
        bucket[1] += 1
        bucket[2] += failed
        bucket[3] += slow
        self.calls += 1
        self.failed += failed
        self.slow += slow


class _StateMetrics:
    """One state's window plus thresholds (``CircuitBreakerMetrics``)."""

    def __init__(self, window, minimum_calls: int, failure_threshold: float,
                 slow_threshold: float, slow_duration_s: float):
        self.window = window
        self.minimum_calls = minimum_calls
        self.failure_threshold = failure_threshold
        self.slow_threshold = slow_threshold
        self.slow_duration_s = slow_duration_s
        self.not_permitted_calls = 0

    def record(self, now_s: float, duration_s: float, ok: bool) -> str:
        window = self.window
        window.record(now_s, not ok, duration_s > self.slow_duration_s)
        calls = window.calls
        if calls == 0 or calls < self.minimum_calls:  # rates undefined (-1)
            return _BELOW_MINIMUM
        if window.failed * 100.0 / calls >= self.failure_threshold \
                or window.slow * 100.0 / calls >= self.slow_threshold:
            return _ABOVE
        return _BELOW

    def _defined(self) -> bool:
        calls = self.window.calls
        return calls > 0 and calls >= self.minimum_calls

    def failure_rate(self) -> float:
        return self.window.failed * 100.0 / self.window.calls if self._defined() else -1.0

    def slow_call_rate(self) -> float:
        return self.window.slow * 100.0 / self.window.calls if self._defined() else -1.0

    def snapshot(self) -> BreakerMetrics:
        return BreakerMetrics(self.failure_rate(), self.slow_call_rate(), self.window.calls,
                              self.window.failed, self.window.slow, self.not_permitted_calls)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _check_float(name: str, value: object, low: float, high: float = math.inf,
                 low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high}], got {value!r}")
    return float(value)


class CircuitBreaker:
    """Resilience4j circuit breaker; durations in seconds, rates in percent.

    Parameter names are Resilience4j's (and the scenario's ``circuit_breaker``
    block's) in snake case, so they carry no ``_s`` suffix: every duration is
    in seconds. ``on_transition(now_s, from_state, to_state)`` is the one
    transition log (to keep a list: ``on_transition=lambda *t: log.append(t)``).
    """

    def __init__(self, failure_rate_threshold: float = 50, slow_call_rate_threshold: float = 100,
                 slow_call_duration_threshold: float = 60.0,
                 wait_duration_in_open_state: float = 60.0,
                 permitted_number_of_calls_in_half_open_state: int = 10,
                 minimum_number_of_calls: int = 100, sliding_window_size: int = 100,
                 sliding_window_type: str = "count_based",
                 max_wait_duration_in_half_open_state: float = 0.0,
                 automatic_transition_from_open_to_half_open_enabled: bool = False,
                 on_transition: Optional[TransitionCallback] = None):
        self.failure_rate_threshold = _check_float(
            "failure_rate_threshold", failure_rate_threshold, 0.0, 100.0, low_open=True)
        self.slow_call_rate_threshold = _check_float(
            "slow_call_rate_threshold", slow_call_rate_threshold, 0.0, 100.0, low_open=True)
        self.slow_call_duration_threshold = _check_float(
            "slow_call_duration_threshold", slow_call_duration_threshold, 0.0, low_open=True)
        self.wait_duration_in_open_state = _check_float(
            "wait_duration_in_open_state", wait_duration_in_open_state, _MIN_TIMER_S)
        self.permitted_number_of_calls_in_half_open_state = _check_int(
            "permitted_number_of_calls_in_half_open_state",
            permitted_number_of_calls_in_half_open_state, 1)
        self.minimum_number_of_calls = _check_int(
            "minimum_number_of_calls", minimum_number_of_calls, 1)
        self.sliding_window_size = _check_int("sliding_window_size", sliding_window_size, 1)
        if sliding_window_type not in WINDOW_TYPES:
            raise ValueError(f"sliding_window_type must be one of {WINDOW_TYPES}, "
                             f"got {sliding_window_type!r}")
        self.sliding_window_type = sliding_window_type
        self.max_wait_duration_in_half_open_state = _check_float(
            "max_wait_duration_in_half_open_state", max_wait_duration_in_half_open_state, 0.0)
        if not isinstance(automatic_transition_from_open_to_half_open_enabled, bool):
            raise ValueError("automatic_transition_from_open_to_half_open_enabled must be a bool")
        self.automatic_transition_from_open_to_half_open_enabled = (
            automatic_transition_from_open_to_half_open_enabled)
        if on_transition is not None and not callable(on_transition):
            raise ValueError("on_transition must be callable or None")
        self._on_transition = on_transition
        self._state = CLOSED
        self._metrics = self._closed_metrics()
        self._entered_s = 0.0
        self._permits = 0
        self._now_s = -math.inf

    # ----------------------------------------------------------------- queries
    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"`` as of the last ``now_s`` seen."""
        return self._state

    @property
    def failure_rate(self) -> float:
        """Failure percentage of the current window, -1.0 below the minimum of calls."""
        return self._metrics.failure_rate()

    @property
    def slow_call_rate(self) -> float:
        """Slow-call percentage of the current window, -1.0 below the minimum of calls."""
        return self._metrics.slow_call_rate()

    @property
    def metrics(self) -> BreakerMetrics:
        return self._metrics.snapshot()

    @property
    def next_deadline_s(self) -> Optional[float]:
        """When a timer-driven transition is due (None if none is pending)."""
        if self._state == OPEN and self.automatic_transition_from_open_to_half_open_enabled:
            return self._entered_s + self.wait_duration_in_open_state
        if self._state == HALF_OPEN and self.max_wait_duration_in_half_open_state >= _MIN_TIMER_S:
            return self._entered_s + self.max_wait_duration_in_half_open_state
        return None

    # ------------------------------------------------------------------- calls
    def advance(self, now_s: float) -> None:
        """Apply the timer-driven transitions due at or before ``now_s``."""
        if self._state == CLOSED:  # no timer transition from CLOSED: just age the window
            if now_s > self._now_s:
                self._now_s = now_s
                window = self._metrics.window
                if window.ages:  # a count window does not: skip its no-op call
                    window.move_to(now_s)
            return
        due_s = self.next_deadline_s
        while due_s is not None and due_s <= now_s:
            if self._state == OPEN:
                self._to_half_open(due_s)
            else:
                self._to_open(due_s)
            due_s = self.next_deadline_s
        self._now_s = max(self._now_s, now_s)
        self._metrics.window.move_to(self._now_s)

    def try_acquire(self, now_s: float) -> bool:
        """Ask to make a call at ``now_s``; False means rejected (not permitted)."""
        self.advance(now_s)
        if self._state == CLOSED:
            return True
        if self._state == OPEN:
            if now_s > self._entered_s + self.wait_duration_in_open_state:
                self._to_half_open(now_s)
                return self._acquire_half_open()
            self._metrics.not_permitted_calls += 1
            return False
        return self._acquire_half_open()

    def release(self, now_s: float) -> None:
        """Give back a permit for a call that was admitted but never made
        (Java ``releasePermission``; only HALF_OPEN counts permits)."""
        self.advance(now_s)
        if self._state == HALF_OPEN:
            self._permits += 1

    def on_result(self, now_s: float, duration_s: float, ok: bool) -> None:
        """Record a finished call (``ok`` False = failure) of ``duration_s`` seconds."""
        if not 0.0 <= duration_s < math.inf:  # also rejects NaN (the hot path: no full check)
            _check_float("duration_s", duration_s, 0.0)
        self.advance(now_s)
        result = self._metrics.record(self._now_s, duration_s, ok)
        if self._state == OPEN:
            return
        if result == _ABOVE:
            self._to_open(now_s)
        elif result == _BELOW and self._state == HALF_OPEN:
            self._to_closed(now_s)

    # ------------------------------------------------------- manual transitions
    def transition_to_open_state(self, now_s: float) -> None:
        self.advance(now_s)
        self._to_open(now_s)

    def transition_to_half_open_state(self, now_s: float) -> None:
        self.advance(now_s)
        if self._state == CLOSED:
            raise ValueError("illegal state transition from closed to half_open")
        self._to_half_open(now_s)

    def transition_to_closed_state(self, now_s: float) -> None:
        self.advance(now_s)
        self._to_closed(now_s)

    def reset(self, now_s: float) -> None:
        """Back to CLOSED with an empty window (Java ``reset``)."""
        self.advance(now_s)
        self._to_closed(now_s)

    # ---------------------------------------------------------------- internals
    def _acquire_half_open(self) -> bool:
        if self._permits > 0:
            self._permits -= 1
            return True
        self._metrics.not_permitted_calls += 1
        return False

    def _new_metrics(self, window, minimum_calls: int) -> _StateMetrics:
        return _StateMetrics(window, minimum_calls, self.failure_rate_threshold,
                             self.slow_call_rate_threshold, self.slow_call_duration_threshold)

    def _closed_metrics(self) -> _StateMetrics:
        size = self.sliding_window_size
        if self.sliding_window_type == "count_based":
            return self._new_metrics(_CountWindow(size), min(self.minimum_number_of_calls, size))
        return self._new_metrics(_TimeWindow(size), self.minimum_number_of_calls)

    def _half_open_metrics(self) -> _StateMetrics:
        permitted = self.permitted_number_of_calls_in_half_open_state
        return self._new_metrics(_CountWindow(permitted),
                                 min(self.minimum_number_of_calls, permitted))

    def _to_open(self, now_s: float) -> None:
        self._set_state(now_s, OPEN)  # keeps the current window

    def _to_half_open(self, now_s: float) -> None:
        self._metrics = self._half_open_metrics()
        self._permits = self.permitted_number_of_calls_in_half_open_state
        self._set_state(now_s, HALF_OPEN)

    def _to_closed(self, now_s: float) -> None:
        self._metrics = self._closed_metrics()
        self._set_state(now_s, CLOSED)

    def _set_state(self, now_s: float, new_state: str) -> None:
        old_state, self._state, self._entered_s = self._state, new_state, now_s
        if old_state != new_state and self._on_transition is not None:
            self._on_transition(now_s, old_state, new_state)
