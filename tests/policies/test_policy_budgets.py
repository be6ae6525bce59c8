"""Retry budgets: Envoy, gRPC A6, AWS standard mode, SRE-book ratio."""
from __future__ import annotations

import pytest

from sim.policies.budgets import (AwsRetryQuota, EnvoyRetryBudget, RetryBudget,
                                  RetryRatioBudget, TokenBucketRetryThrottle, make_budget)
from sim.spec.policy import RetrySpec


# ----------------------------------------------------------------------- Envoy
def test_envoy_retry_budget_interval_disabled():
    # Port of envoy test/common/upstream/resource_manager_impl_test.cc
    # RetryBudgetIntervalDisabled (in-flight requests, budget 20%, min 5).
    b = EnvoyRetryBudget(20.0, 5)
    assert b.max_active_retries == 5
    for _ in range(100):
        b.on_attempt_sent(0.0, is_retry=False)
    assert b.max_active_retries == 20
    for _ in range(50):
        b.on_attempt_done(0.0, False, "ok")
    assert b.max_active_retries == 10
    for _ in range(50):  # pending requests count the same: in flight, not done
        b.on_attempt_sent(0.0, is_retry=False)
    assert b.max_active_retries == 20
    for _ in range(100):
        b.on_attempt_done(0.0, False, "ok")
    assert b.max_active_retries == 5
    assert b.try_acquire_retry(0.0, False) and b.active_retries == 1
    assert all(b.try_acquire_retry(0.0, False) for _ in range(4))
    assert not b.try_acquire_retry(0.0, False)  # 5 active retries: canCreate() is false


def test_envoy_budget_available_retries():  # RouterRetryStateImplTest.BudgetAvailableRetries
    assert EnvoyRetryBudget(20.0, 3).try_acquire_retry(0.0, False)


def test_envoy_budget_no_available_retries():  # RouterRetryStateImplTest.BudgetNoAvailableRetries
    b = EnvoyRetryBudget(0.0, 0)
    for _ in range(20):
        b.on_attempt_sent(0.0, False)
    assert not b.try_acquire_retry(0.0, False)


@pytest.mark.parametrize("percent, active, expected", [
    (20.0, 0, 3), (20.0, 14, 3), (20.0, 15, 3), (20.0, 20, 4), (20.0, 24, 4), (20.0, 25, 5),
    (25.0, 100, 25), (29.0, 100, 28),  # 0.29 * 100 = 28.999...: truncated, as the C++ cast
    (100.0, 7, 7), (0.0, 1000, 3),
])
def test_envoy_max_is_truncated_percent_of_in_flight_or_min(percent, active, expected):
    b = EnvoyRetryBudget(percent, 3)
    for _ in range(active):
        b.on_attempt_sent(0.0, False)
    assert b.max_active_retries == expected


def test_envoy_retry_is_held_until_its_attempt_finishes_or_is_released():
    b = EnvoyRetryBudget(20.0, 2)
    assert b.try_acquire_retry(0.0, False) and b.try_acquire_retry(0.0, False)
    assert not b.try_acquire_retry(0.0, False)  # both held during their back-off
    b.on_attempt_sent(0.1, is_retry=True)
    b.on_attempt_done(0.2, is_retry=True, outcome="error")
    assert b.active_retries == 1 and b.try_acquire_retry(0.2, False)
    b.release_retry(0.3)  # e.g. the deadline passed during the back-off
    assert b.active_retries == 1


def test_envoy_unmatched_calls_are_errors():
    b = EnvoyRetryBudget()
    with pytest.raises(ValueError):
        b.on_attempt_done(0.0, False, "ok")
    with pytest.raises(ValueError):
        b.release_retry(0.0)
    with pytest.raises(ValueError, match="outcome"):
        b.on_attempt_done(0.0, False, "5xx")


@pytest.mark.parametrize("kwargs, name", [
    (dict(budget_percent=101.0), "budget_percent"), (dict(budget_percent=-1.0), "budget_percent"),
    (dict(min_retry_concurrency=-1), "min_retry_concurrency"),
    (dict(min_retry_concurrency=2.5), "min_retry_concurrency"),
])
def test_envoy_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        EnvoyRetryBudget(**kwargs)


# ------------------------------------------------------------------- gRPC A6
def test_a6_example_max_tokens_10_ratio_0_1():
    t = TokenBucketRetryThrottle(max_tokens=10, token_ratio=0.1)
    assert t.tokens == 10.0 and t.try_acquire_retry(0.0, False)
    for _ in range(4):
        t.on_attempt_done(0.0, False, "error")
    assert t.tokens == 6.0 and t.try_acquire_retry(0.0, False)
    t.on_attempt_done(0.0, False, "timeout")
    assert t.tokens == 5.0
    assert not t.try_acquire_retry(0.0, False)  # "less than or equal to maxTokens / 2"
    t.on_attempt_done(0.0, False, "ok")
    assert t.tokens == pytest.approx(5.1) and t.milli_tokens == 5100
    assert t.try_acquire_retry(0.0, False)  # "rises over the threshold"


def test_a6_token_count_stays_between_zero_and_max():
    t = TokenBucketRetryThrottle(max_tokens=3, token_ratio=0.5)
    for _ in range(10):
        t.on_attempt_done(0.0, False, "rejected")
    assert t.tokens == 0.0
    for _ in range(100):
        t.on_attempt_done(0.0, False, "ok")
    assert t.tokens == 3.0


def test_a6_acquiring_a_retry_costs_no_token():
    t = TokenBucketRetryThrottle(max_tokens=10, token_ratio=0.1)
    assert all(t.try_acquire_retry(0.0, False) for _ in range(50))
    assert t.tokens == 10.0


@pytest.mark.parametrize("ratio, milli", [(0.1, 100), (0.001, 1), (0.1239, 123), (0.57, 570),
                                          (1.5, 1500), (0.2999, 299)])
def test_a6_token_ratio_keeps_three_decimal_places(ratio, milli):
    assert TokenBucketRetryThrottle(10, ratio).milli_token_ratio == milli


def test_a6_sub_milli_token_ratio_is_rejected():
    with pytest.raises(ValueError, match="token_ratio"):
        TokenBucketRetryThrottle(10, 0.0004)
    with pytest.raises(ValueError, match="max_tokens"):
        TokenBucketRetryThrottle(0, 0.1)


@pytest.mark.parametrize("failures_per_100, throttled", [(5, False), (8, False), (12, True),
                                                        (30, True)])
def test_a6_throttles_when_failures_exceed_about_ten_percent_of_successes(failures_per_100,
                                                                         throttled):
    # Token drift per attempt is -f + 0.1 (1 - f): negative above f = 1/11 (~9.1%).
    t = TokenBucketRetryThrottle(max_tokens=10, token_ratio=0.1)
    refused = 0
    for i in range(10_000):  # failures spread evenly (a burst of 5 would drain 5 tokens)
        failed = (i * failures_per_100) // 100 != ((i + 1) * failures_per_100) // 100
        t.on_attempt_done(0.0, False, "error" if failed else "ok")
        if failed and not t.try_acquire_retry(0.0, False):
            refused += 1
    assert (refused > 0) == throttled


# ------------------------------------------------------------- AWS standard
def test_aws_exactly_100_retries_under_total_failure():
    q = AwsRetryQuota()
    granted = 0
    for _ in range(1000):  # calls fail for ever; each asks for retries until refused
        while q.try_acquire_retry(0.0, after_timeout=False):
            granted += 1
        q.on_call_done(0.0, ok=False, retries=0)
    assert granted == 100 and q.available == 0


def test_aws_exactly_100_retries_with_two_retries_per_call():
    q = AwsRetryQuota()
    granted = 0
    for _ in range(1000):
        retries = 0
        while retries < 2 and q.try_acquire_retry(0.0, after_timeout=False):
            retries += 1
        granted += retries
        q.on_call_done(0.0, ok=False, retries=retries)
    assert granted == 100


def test_aws_timeouts_cost_ten():
    q = AwsRetryQuota()
    granted = 0
    while q.try_acquire_retry(0.0, after_timeout=True):
        granted += 1
    assert granted == 50


def test_aws_successful_call_refunds_its_last_acquisition():
    q = AwsRetryQuota()
    assert q.try_acquire_retry(0.0, False) and q.try_acquire_retry(0.0, True)
    assert q.available == 485
    q.on_call_done(0.0, ok=True, retries=2, last_retry_after_timeout=True)
    assert q.available == 495  # botocore keeps only the last amount (10), not 15


def test_aws_success_without_retry_adds_one_up_to_capacity():
    q = AwsRetryQuota()
    q.on_call_done(0.0, ok=True, retries=0)
    assert q.available == 500  # already full: noop
    assert q.try_acquire_retry(0.0, False)
    q.on_call_done(0.0, ok=False, retries=1)
    assert q.available == 495  # a failed call gives nothing back
    q.on_call_done(0.0, ok=True, retries=0)
    assert q.available == 496


# Ports of botocore tests/unit/retries/test_quota.py (RetryQuota(50)).
def test_botocore_can_acquire_and_release_amount():
    q = AwsRetryQuota(capacity=50)
    assert q.try_acquire_retry(0.0, False) and q.available == 45
    q.on_call_done(0.0, ok=True, retries=1)
    assert q.available == 50


def test_botocore_cant_exceed_max_capacity():
    q = AwsRetryQuota(capacity=50, retry_cost=5, timeout_cost=10)
    assert q.try_acquire_retry(0.0, False) and q.available == 45
    q.on_call_done(0.0, ok=True, retries=1, last_retry_after_timeout=True)  # releases 10
    assert q.available == 50


def test_botocore_cant_go_below_zero():
    q = AwsRetryQuota(capacity=50, retry_cost=49, timeout_cost=10)
    assert q.try_acquire_retry(0.0, False) and q.available == 1
    assert not q.try_acquire_retry(0.0, True) and q.available == 1


# ---------------------------------------------------------------- SRE ratio
def test_ratio_budget_retries_only_below_ten_percent():
    b = RetryRatioBudget(max_ratio=0.1, window_s=120.0)
    for _ in range(9):
        b.on_attempt_sent(0.0, is_retry=False)
    assert b.try_acquire_retry(0.0, False)  # 0/9 < 10%; now 1 retry in 10 requests
    assert b.counts(0.0) == (10, 1)
    b.on_attempt_sent(0.0, is_retry=True)  # the granted retry is not counted twice
    assert b.counts(0.0) == (10, 1)
    assert not b.try_acquire_retry(0.0, False)  # 1/10 is not below 10%
    b.on_attempt_sent(0.0, is_retry=False)
    assert b.try_acquire_retry(0.0, False)  # 1/11 < 10%


def test_ratio_budget_window_expiry():
    b = RetryRatioBudget(max_ratio=0.1, window_s=10.0, bucket_s=1.0)
    for _ in range(10):
        b.on_attempt_sent(0.0, is_retry=False)
    assert b.try_acquire_retry(0.5, False)  # 0/10
    assert b.try_acquire_retry(0.5, False)  # 1/11
    assert not b.try_acquire_retry(0.5, False)  # 2/12
    assert b.counts(9.9) == (12, 2)
    assert b.counts(10.0) == (0, 0)  # bucket [0, 1) left the 10 s window
    assert b.try_acquire_retry(10.0, False)  # empty window: ratio 0


def test_ratio_budget_long_run_ratio_under_total_failure():
    b = RetryRatioBudget(max_ratio=0.1, window_s=60.0)
    now_s, granted, first_tries = 0.0, 0, 0
    for _ in range(20_000):
        now_s += 0.01
        b.on_attempt_sent(now_s, is_retry=False)
        first_tries += 1
        for _ in range(3):  # up to 3 retries of a call that always fails
            if not b.try_acquire_retry(now_s, False):
                break
            granted += 1
    assert granted / (granted + first_tries) == pytest.approx(0.1, abs=0.002)


def test_ratio_zero_never_retries():
    b = RetryRatioBudget(max_ratio=0.0)
    b.on_attempt_sent(0.0, False)
    assert not b.try_acquire_retry(0.0, False)


# ------------------------------------------------------ factory and protocol
@pytest.mark.parametrize("block, cls", [
    ({"type": "envoy"}, EnvoyRetryBudget), ({"type": "token_bucket"}, TokenBucketRetryThrottle),
    ({"type": "aws_quota"}, AwsRetryQuota), ({"type": "ratio"}, RetryRatioBudget),
])
def test_make_budget_from_scenario_spec_dump(block, cls):
    spec = RetrySpec(budget=block).budget.model_dump()  # includes scope and defaults
    budget = make_budget(spec)
    assert isinstance(budget, cls) and isinstance(budget, RetryBudget)


def test_make_budget_maps_parameters():
    b = make_budget({"type": "envoy", "budget_percent": 25.0, "min_retry_concurrency": 5})
    assert (b.budget_percent, b.min_retry_concurrency) == (25.0, 5)
    t = make_budget({"type": "token_bucket", "max_tokens": 100, "token_ratio": 0.5})
    assert (t.max_milli_tokens, t.milli_token_ratio) == (100_000, 500)
    q = make_budget({"type": "aws_quota", "capacity": 100, "retry_cost": 2, "timeout_cost": 4,
                     "scope": "service"})
    assert (q.capacity, q.retry_cost, q.timeout_cost, q.no_retry_increment) == (100, 2, 4, 1)
    r = make_budget({"type": "ratio", "max_ratio": 0.2, "window": 30.0})
    assert r.max_ratio == 0.2 and r._window.window_s == 30.0


@pytest.mark.parametrize("spec, message", [
    ({"type": "leaky"}, "type"), ({}, "type"),
    ({"type": "envoy", "max_tokens": 3}, "max_tokens"),
    ({"type": "ratio", "window_s": 3}, "window_s"),
])
def test_make_budget_rejects_bad_blocks(spec, message):
    with pytest.raises(ValueError, match=message):
        make_budget(spec)


def _always_failing_calls(budget, calls: int = 200, max_retries: int = 2) -> int:
    """Sequential calls whose every attempt fails; returns the retries granted."""
    now_s, granted = 0.0, 0
    for _ in range(calls):
        now_s += 0.05
        budget.on_attempt_sent(now_s, is_retry=False)
        budget.on_attempt_done(now_s, False, "error")
        retries = 0
        while retries < max_retries and budget.try_acquire_retry(now_s, after_timeout=False):
            retries += 1
            budget.on_attempt_sent(now_s, is_retry=True)
            budget.on_attempt_done(now_s, True, "error")
        budget.on_call_done(now_s, ok=False, retries=retries)
        granted += retries
    return granted


def test_envoy_budget_limits_concurrency_not_rate():
    """Sequential calls never hold a retry at once: every retry is granted, none leaks."""
    b = EnvoyRetryBudget()
    assert _always_failing_calls(b) == 400
    assert (b.active_requests, b.active_retries) == (0, 0)


def test_token_bucket_stops_retrying_at_half_its_tokens():
    """gRFC A6: 10 tokens, each failure costs one, retries only above 5 tokens:
    call 1 fails (9), retries twice (8, 7); call 2 (6) retries once (5); then none."""
    b = TokenBucketRetryThrottle(10, 0.1)
    assert _always_failing_calls(b) == 3
    assert b.tokens == 0.0  # 200 + 3 failures drained the bucket; nothing refilled it


def test_aws_quota_grants_capacity_over_retry_cost_when_nothing_succeeds():
    """botocore standard mode: 500 units at 5 per retry, no refunds without a success."""
    b = AwsRetryQuota()
    assert _always_failing_calls(b) == 100
    assert b.available == 0


def test_ratio_budget_keeps_retries_near_its_ratio_of_all_requests():
    """SRE book: a retry is granted while retries / requests (retries included) < 10 %."""
    b = RetryRatioBudget()
    granted = _always_failing_calls(b)
    assert granted / (200 + granted) < 0.1 + 1 / 200
    assert granted / (200 + granted) >= 0.1 - 2 / 200
