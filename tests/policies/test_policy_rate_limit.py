"""Token bucket rate limiter, against Go's ``golang.org/x/time/rate`` ``rate_test.go``.

Go's tests step through ``t0 + k*d`` with ``d = 100ms``; here ``t(k) = t0 + k * 0.1``
seconds. Go's ``run`` checks ``TokensAt`` exactly: Go counts time in integer
nanoseconds, float seconds do not, so token counts are compared to 1e-9.
Go steps with ``n != 1`` (``AllowN``) are translated for ``Allow`` only: a
successful ``AllowN(t, n)`` is ``n`` successful ``Allow(t)``; a failed one
changes nothing (golang/time 2c09566), so it becomes a ``tokens_at`` check.
"""
from __future__ import annotations

import math
import sys

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.policies.rate_limit import TokenBucketLimiter

D_S = 0.1  # Go: const d = 100 * time.Millisecond
START_TIMES = [0.0, 12345.6]  # Go's t0 is time.Now(); the result must not depend on it


def run(lim: TokenBucketLimiter, t0_s: float, steps: list[tuple[int, float, bool]]) -> None:
    """Go's ``run``: at ``t0 + k*d`` expect ``tokens_at`` = toks, then ``allow`` = ok."""
    for i, (k, toks, ok) in enumerate(steps):
        now_s = t0_s + k * D_S
        assert lim.tokens_at(now_s) == pytest.approx(toks, abs=1e-9), f"step {i}"
        assert lim.allow(now_s) is ok, f"step {i}"


@pytest.mark.parametrize("t0_s", START_TIMES)
def test_burst_one_refills_one_token_per_tenth_of_a_second(t0_s):
    """Go ``TestLimiterBurst1`` (NewLimiter(10, 1))."""
    lim = TokenBucketLimiter(rate_per_s=10.0, burst=1, start_s=t0_s)
    run(lim, t0_s, [
        (0, 1, True), (0, 0, False), (0, 0, False),
        (1, 1, True), (1, 0, False), (1, 0, False),
    ])
    # {t2, 1, n=2, false}: n > burst always fails and changes nothing.
    assert lim.tokens_at(t0_s + 2 * D_S) == pytest.approx(1.0)
    run(lim, t0_s, [(2, 1, True), (2, 0, False)])


@pytest.mark.parametrize("t0_s", START_TIMES)
def test_burst_three_caps_the_refill_at_three_tokens(t0_s):
    """Go ``TestLimiterBurst3`` (NewLimiter(10, 3)), ``AllowN`` steps split into ``Allow``."""
    lim = TokenBucketLimiter(rate_per_s=10.0, burst=3, start_s=t0_s)
    run(lim, t0_s, [(0, 3, True), (0, 2, True)])  # {t0, 3, n=2, true}
    # {t0, 1, n=2, false}: one token left, a failed AllowN changes nothing.
    run(lim, t0_s, [(0, 1, True), (0, 0, False)])
    # {t1, 1, n=4, false}: n > burst; then t2 sees two tokens.
    assert lim.tokens_at(t0_s + 1 * D_S) == pytest.approx(1.0)
    run(lim, t0_s, [
        (2, 2, True), (3, 2, True), (4, 2, True), (4, 1, True), (4, 0, False), (4, 0, False),
        (9, 3, True), (9, 2, True), (9, 1, True),  # {t9, 3, n=3, true}: capped at burst
    ])
    assert lim.tokens_at(t0_s + 9 * D_S) == pytest.approx(0.0, abs=1e-9)  # {t9, 0, n=0, true}


@pytest.mark.parametrize("t0_s", START_TIMES)
def test_jump_backwards_refills_nothing_and_moves_last_back_on_success(t0_s):
    """Go ``TestLimiterJumpBackwards`` (NewLimiter(10, 3)): first use at t1, then t0.

    After the successful ``Allow`` at t0, ``last`` is t0, so t1 brings one token.
    """
    lim = TokenBucketLimiter(rate_per_s=10.0, burst=3, start_s=t0_s + D_S)
    run(lim, t0_s, [
        (1, 3, True),  # start at t1
        (0, 2, True),  # jump back to t0, two tokens remain
        (0, 1, True), (0, 0, False), (0, 0, False),
        (1, 1, True), (1, 0, False), (1, 0, False),  # got a token
        (2, 1, True), (2, 0, False), (2, 0, False),  # got another token
    ])


def test_failed_allow_before_last_leaves_last_where_it_was():
    """golang/time 2c09566 (``TestReserveJumpBack``): a failed request changes no state.

    Before that fix a failed request moved ``last`` back to ``t``, which would
    refill an extra token from t0 to t1 here.
    """
    lim = TokenBucketLimiter(rate_per_s=10.0, burst=1, start_s=0.0)
    assert lim.allow(1.0) is True  # last = 1.0, tokens = 0
    assert lim.allow(0.5) is False  # must not move last back to 0.5
    assert lim.tokens_at(1.0) == 0.0
    assert lim.allow(1.05) is False  # only 0.5 token refilled since 1.0
    assert lim.tokens_at(1.05) == pytest.approx(0.5)
    assert lim.allow(1.1) is True


def test_simultaneous_requests_get_exactly_the_burst():
    """Go ``TestSimultaneousRequests`` (NewLimiter(1, 5), 15 concurrent ``Allow``), sequentially."""
    lim = TokenBucketLimiter(rate_per_s=1.0, burst=5, start_s=0.0)
    assert sum(lim.allow(0.0) for _ in range(15)) == 5


def test_zero_rate_allows_the_initial_burst_only():
    """Go ``TestZeroLimit`` / ``TestSetAfterZeroLimit`` (NewLimiter(0, 1)): starts full, never refills."""
    lim = TokenBucketLimiter(rate_per_s=0.0, burst=1)
    assert lim.allow(0.0) is True
    assert lim.allow(0.0) is False
    assert lim.allow(1e9) is False
    assert lim.tokens_at(1e9) == 0.0


def test_tiny_rate_does_not_overflow_into_an_allow():
    """Go ``TestTinyLimit`` (NewLimiter(1e-10, 1), issue golang/go#71154)."""
    lim = TokenBucketLimiter(rate_per_s=1e-10, burst=1)
    assert lim.allow(0.0) is True
    assert lim.allow(0.0) is False
    assert lim.allow(1e9) is False  # 0.1 token after 1e9 s


def test_limiter_starts_full():
    """Go ``TestLimiter_noTruncationErrors`` (NewLimiter(0.7692307692307693, 1).Allow())."""
    assert TokenBucketLimiter(rate_per_s=0.7692307692307693, burst=1).allow(0.0) is True


@pytest.mark.parametrize("rate_per_s", [1.0, 1e-10, 1e9])
def test_zero_burst_with_finite_rate_never_allows(rate_per_s):
    """Go ``Limiter.Burst`` doc: "A zero Burst allows no events, unless limit == Inf"."""
    lim = TokenBucketLimiter(rate_per_s=rate_per_s, burst=0)
    assert not any(lim.allow(t) for t in (0.0, 1.0, 1e6))
    assert lim.tokens_at(1e6) == 0.0


@pytest.mark.parametrize("rate_per_s", [math.inf, sys.float_info.max])
@pytest.mark.parametrize("burst", [0, 3])
def test_infinite_rate_always_allows_even_with_zero_burst(rate_per_s, burst):
    """Go ``TestWaitInf`` (NewLimiter(Inf, 0)); ``Inf`` is ``Limit(math.MaxFloat64)``."""
    lim = TokenBucketLimiter(rate_per_s=rate_per_s, burst=burst)
    assert lim.rate_per_s == math.inf
    assert all(lim.allow(0.0) for _ in range(100))
    assert lim.allow(-5.0) is True
    assert lim.tokens_at(0.0) == lim.tokens_at(10.0) == float(burst)


def test_deficit_under_one_nanosecond_of_refill_is_allowed():
    """Go ``durationFromTokens`` truncates to whole ns; ``reserveN`` allows a 0 ns wait."""
    lim = TokenBucketLimiter(rate_per_s=1.0, burst=1, start_s=0.0)
    assert lim.allow(0.0) is True
    assert lim.allow(1.0 - 0.5e-9) is True  # 0.5 ns short: time.Duration(0.5) == 0
    assert lim.tokens_at(1.0 - 0.5e-9) == pytest.approx(-0.5e-9, abs=1e-12)
    assert lim.allow(2.0 - 1.5e-9) is False  # now 1 ns short in total


def test_tokens_at_does_not_change_the_limiter():
    """Go ``TokensAt``: ``advance`` does not mutate lim."""
    lim = TokenBucketLimiter(rate_per_s=2.0, burst=2, start_s=0.0)
    assert lim.allow(0.0) and lim.allow(0.0)
    assert lim.tokens_at(10.0) == 2.0
    assert lim.tokens_at(0.25) == pytest.approx(0.5)
    assert lim.allow(0.25) is False


@pytest.mark.parametrize("kwargs", [
    {"rate_per_s": -1.0, "burst": 1}, {"rate_per_s": math.nan, "burst": 1},
    {"rate_per_s": True, "burst": 1}, {"rate_per_s": "1", "burst": 1},
    {"rate_per_s": 1.0, "burst": -1}, {"rate_per_s": 1.0, "burst": 1.0},
    {"rate_per_s": 1.0, "burst": True}, {"rate_per_s": 1.0, "burst": 1, "start_s": math.inf},
])
def test_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        TokenBucketLimiter(**kwargs)


rates = st.floats(min_value=0.01, max_value=1000.0)
bursts = st.integers(min_value=0, max_value=20)


@settings(max_examples=300, deadline=None)
@given(rate_per_s=rates, burst=bursts, horizon_s=st.floats(min_value=0.0, max_value=1000.0),
       fractions=st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=300))
@example(rate_per_s=1.0, burst=1, horizon_s=1.0 - 0.5e-9, fractions=[0.0, 1.0])  # 2 > 2 - 0.5e-9
def test_allowed_count_never_exceeds_burst_plus_rate_times_horizon(
        rate_per_s, burst, horizon_s, fractions):
    """Tokens spent <= burst + refill <= burst + rate * T, the bucket being full at 0.

    The only slack is Go's: ``durationFromTokens`` truncates the wait to whole
    nanoseconds, so an ``Allow`` short of less than 1 ns of refill (deficit
    < rate * 1e-9 tokens) succeeds and ``tokens`` ends above ``-rate * 1e-9``.
    No "+1" is needed; 1e-9 relative covers float rounding.
    """
    arrivals_s = sorted(f * horizon_s for f in fractions)
    lim = TokenBucketLimiter(rate_per_s=rate_per_s, burst=burst, start_s=0.0)
    allowed = sum(lim.allow(t) for t in arrivals_s)
    ideal = burst + rate_per_s * horizon_s
    assert allowed <= ideal * (1 + 1e-9) + rate_per_s * 1e-9
    assert lim.tokens_at(horizon_s) > -rate_per_s * 1e-9 * (1 + 1e-6)


@settings(max_examples=300, deadline=None)
@given(rate_per_s=rates, burst=st.integers(min_value=1, max_value=20),
       first_s=st.floats(min_value=0.0, max_value=100.0),
       extras=st.lists(st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=10.0)),
                       max_size=100))
def test_arrivals_at_least_one_refill_apart_are_all_allowed(rate_per_s, burst, first_s, extras):
    """Gaps >= 1 / rate refill >= 1 token each. With float times a gap can come out
    a few ulps short; Go's 1 ns truncation in ``durationFromTokens`` absorbs that."""
    lim = TokenBucketLimiter(rate_per_s=rate_per_s, burst=burst, start_s=0.0)
    now_s = first_s
    assert lim.allow(now_s)
    for extra_s in extras:
        now_s += 1.0 / rate_per_s + extra_s
        assert lim.allow(now_s)
