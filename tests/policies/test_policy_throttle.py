"""Adaptive throttling (SRE book ch. 21) and its sliding window."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.throttle import AdaptiveThrottle, SlidingWindowCounter


def fill(throttle: AdaptiveThrottle, now_s: float, requests: int, accepts: int) -> None:
    """Record ``requests`` requests of which ``accepts`` were accepted; ``u`` just below 1
    is never rejected since ``p <= requests / (requests + 1)``."""
    for i in range(requests):
        assert not throttle.should_reject(now_s, 1.0 - 1e-9)
        if i < accepts:
            throttle.on_accepted(now_s)


@pytest.mark.parametrize("k, requests, accepts, expected", [
    (2.0, 0, 0, 0.0), (2.0, 10, 10, 0.0), (2.0, 20, 10, 0.0), (2.0, 21, 10, 1 / 22),
    (2.0, 100, 10, 80 / 101), (2.0, 100, 0, 100 / 101), (1.1, 100, 50, 45 / 101),
])
def test_probability_formula(k, requests, accepts, expected):
    t = AdaptiveThrottle(k=k)
    fill(t, 0.0, requests, accepts)
    assert t.counts(0.0) == (requests, accepts)
    assert t.reject_probability(0.0) == pytest.approx(expected)


def test_should_reject_uses_the_history_before_the_request_and_counts_it():
    t = AdaptiveThrottle(k=2.0)
    fill(t, 0.0, 100, 10)
    p = t.reject_probability(0.0)  # 80/101
    assert t.should_reject(0.0, p - 1e-9) is True
    assert t.counts(0.0) == (101, 10)  # locally rejected requests count as requests
    p = t.reject_probability(0.0)  # 81/102
    assert t.should_reject(0.0, p) is False  # reject iff u < p
    assert t.counts(0.0) == (102, 10)


def test_no_rejection_while_the_backend_accepts_everything():
    t = AdaptiveThrottle()
    rng = np.random.default_rng(3)
    for i, u in enumerate(rng.random(5000)):
        assert not t.should_reject(i * 0.01, float(u))
        t.on_accepted(i * 0.01)


def test_window_expiry():
    t = AdaptiveThrottle(k=2.0, window_s=120.0, bucket_s=1.0)
    fill(t, 0.5, 100, 0)
    assert t.reject_probability(119.9) == pytest.approx(100 / 101)
    assert t.counts(119.9) == (100, 0)
    assert t.counts(120.0) == (0, 0)  # the bucket [0, 1) left the two-minute window
    assert t.reject_probability(120.0) == 0.0


def test_sliding_window_counter_buckets():
    w = SlidingWindowCounter(window_s=3.0, bucket_s=1.0, series=2)
    w.add(0.2, 0)
    w.add(1.5, 1, 2.0)
    w.add(2.9, 0)
    assert w.totals(2.99) == (2.0, 2.0)
    assert w.totals(3.0) == (1.0, 2.0)  # bucket 0 gone
    assert w.totals(4.0) == (1.0, 0.0)
    assert w.totals(100.0) == (0.0, 0.0)
    w.add(100.0, 1)
    assert w.totals(100.5) == (0.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(times=st.lists(st.floats(0, 50), max_size=100), query=st.floats(0, 60),
       bucket=st.sampled_from([0.5, 1.0, 2.5]), n_buckets=st.integers(1, 8))
def test_sliding_window_counter_matches_brute_force(times, query, bucket, n_buckets):
    times = sorted(times)
    w = SlidingWindowCounter(window_s=bucket * n_buckets, bucket_s=bucket)
    for t in times:
        w.add(t)
    query = max(query, times[-1] if times else 0.0)
    current = int(query // bucket)
    expected = sum(1 for t in times if current - int(t // bucket) < n_buckets)
    assert w.totals(query) == (expected,)


def test_sliding_window_counter_validation():
    with pytest.raises(ValueError, match="whole number"):
        SlidingWindowCounter(window_s=2.5, bucket_s=1.0)
    with pytest.raises(ValueError, match="bucket_s"):
        SlidingWindowCounter(window_s=2.0, bucket_s=0.0)
    with pytest.raises(ValueError, match="k"):
        AdaptiveThrottle(k=0.0)
    with pytest.raises(ValueError, match="u must be"):
        AdaptiveThrottle().should_reject(0.0, 1.0)


@pytest.mark.parametrize("k", [1.1, 2.0, 3.0])
def test_backend_arrivals_converge_to_k_times_accepted(k):
    """Clients want 100 req/s; the backend accepts at most 20 per second and
    rejects the rest. With the throttle, what reaches the backend settles near
    k x accepted (book: "requests will continue to exceed accepts" by K)."""
    throttle = AdaptiveThrottle(k=k, window_s=60.0, bucket_s=1.0)
    us = np.random.default_rng(2015).random(60_000)
    capacity_per_s, used, second = 20, 0, -1
    arrivals = accepted = 0
    for i, u in enumerate(us):
        now_s = i * 0.01
        if int(now_s) != second:
            second, used = int(now_s), 0
        if throttle.should_reject(now_s, float(u)):
            continue
        took = used < capacity_per_s
        if took:
            used += 1
            throttle.on_accepted(now_s)
        if now_s >= 300.0:  # after the 60 s window has filled several times over
            arrivals += 1
            accepted += took
    assert arrivals / accepted == pytest.approx(k, rel=0.03)
    assert arrivals / 300.0 < 100.0 * 0.7  # far below the offered load
