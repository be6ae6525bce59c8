"""Back-off formulas (Brooker 2015, AWS Architecture Blog): bounds and means.

Means are checked two ways: exactly, on a midpoint grid of ``u`` (the
midpoint rule is exact for functions linear in ``u``), and statistically,
with ``numpy`` uniforms from a seeded ``Generator`` against a tolerance of
5 standard errors (derived from the variance of each formula).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.backoff import (ConstantBackoff, ExponentialBackoff, NoBackoff,
                                  make_backoff)

N_GRID = 4000
GRID = (np.arange(N_GRID) + 0.5) / N_GRID
SAMPLES = np.random.default_rng(20150304).random(200_000)


def grid_mean(backoff, retry_index, **kw) -> float:
    return float(np.mean([backoff.delay_s(retry_index, float(u), **kw) for u in GRID]))


def test_no_backoff_is_zero():
    b = NoBackoff()
    assert b.delay_s(0, 0.3) == 0.0 and b.mean_s(7) == 0.0


def test_constant_backoff_ignores_u():
    b = ConstantBackoff(0.25)
    assert {b.delay_s(n, u) for n in range(4) for u in (0.0, 0.5, 0.999)} == {0.25}
    assert b.mean_s(3) == 0.25


@pytest.mark.parametrize("n, expected", [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0),
                                         (60, 1.0), (5000, 1.0)])
def test_expo_is_min_of_cap_and_base_times_multiplier_power(n, expected):
    b = ExponentialBackoff(0.1, 1.0, 2.0, "none")
    assert b.expo_s(n) == pytest.approx(expected)
    assert b.delay_s(n, 0.7) == pytest.approx(expected)


def test_expo_with_multiplier_three():
    b = ExponentialBackoff(0.01, 100.0, 3.0, "none")
    assert [b.expo_s(n) for n in range(4)] == pytest.approx([0.01, 0.03, 0.09, 0.27])


@pytest.mark.parametrize("n", [0, 1, 3, 6, 10])
def test_full_jitter_bounds_and_mean(n):
    b = ExponentialBackoff(0.05, 2.0, 2.0, "full")
    expo = b.expo_s(n)
    delays = np.array([b.delay_s(n, float(u)) for u in SAMPLES[:20_000]])
    assert delays.min() >= 0.0 and delays.max() < expo
    assert b.delay_s(n, 0.0) == 0.0
    assert b.mean_s(n) == pytest.approx(expo / 2)
    assert grid_mean(b, n) == pytest.approx(expo / 2, rel=1e-12)
    stderr = expo / math.sqrt(12) / math.sqrt(delays.size)  # sd of U(0, expo)
    assert abs(delays.mean() - expo / 2) < 5 * stderr


@pytest.mark.parametrize("n", [0, 1, 3, 6, 10])
def test_equal_jitter_bounds_and_mean(n):
    b = ExponentialBackoff(0.05, 2.0, 2.0, "equal")
    expo = b.expo_s(n)
    delays = np.array([b.delay_s(n, float(u)) for u in SAMPLES[:20_000]])
    assert delays.min() >= expo / 2 and delays.max() < expo
    assert b.delay_s(n, 0.0) == expo / 2
    assert b.mean_s(n) == pytest.approx(0.75 * expo)
    assert grid_mean(b, n) == pytest.approx(0.75 * expo, rel=1e-12)
    stderr = (expo / 2) / math.sqrt(12) / math.sqrt(delays.size)  # sd of U(0, expo/2)
    assert abs(delays.mean() - 0.75 * expo) < 5 * stderr


def test_no_jitter_mean_is_expo():
    b = ExponentialBackoff(0.05, 2.0, 2.0, "none")
    assert [b.mean_s(n) for n in range(8)] == pytest.approx([b.expo_s(n) for n in range(8)])


@pytest.mark.parametrize("previous_s", [None, 0.1, 0.5, 2.0, 9.0])
def test_decorrelated_jitter_conditional_mean(previous_s):
    base, cap = 0.1, 5.0
    b = ExponentialBackoff(base, cap, jitter="decorrelated")
    high = 3 * (base if previous_s is None else previous_s)
    delays = np.array([b.delay_s(0, float(u), previous_s=previous_s) for u in SAMPLES[:20_000]])
    assert delays.min() >= base and delays.max() <= cap
    # Closed form of E[min(cap, U(base, high))] against a fine grid and samples.
    assert b.mean_s(0, previous_s=previous_s) == pytest.approx(
        grid_mean(b, 0, previous_s=previous_s), abs=1e-6)
    stderr = delays.std() / math.sqrt(delays.size) + 1e-12
    assert abs(delays.mean() - b.mean_s(0, previous_s=previous_s)) < 5 * stderr
    if cap >= high:
        assert b.mean_s(0, previous_s=previous_s) == pytest.approx((base + high) / 2)


def test_decorrelated_first_previous_is_base():
    b = ExponentialBackoff(0.2, 10.0, jitter="decorrelated")
    assert b.delay_s(0, 0.0) == 0.2
    assert b.delay_s(0, 0.5) == pytest.approx(0.2 + 0.5 * (0.6 - 0.2))
    assert b.delay_s(0, 0.5) == b.delay_s(0, 0.5, previous_s=0.2)


def test_decorrelated_chain_stays_within_base_and_cap():
    rng = np.random.default_rng(7)
    b = ExponentialBackoff(0.01, 1.0, jitter="decorrelated")
    previous_s = None
    sleeps = []
    for n, u in enumerate(rng.random(5000)):
        previous_s = b.delay_s(n, float(u), previous_s=previous_s)
        sleeps.append(previous_s)
    assert min(sleeps) >= 0.01 and max(sleeps) <= 1.0
    assert max(sleeps) == 1.0  # the chain does reach the cap


@settings(max_examples=300, deadline=None)
@given(base=st.floats(0.0, 10.0), extra=st.floats(0.0, 100.0), multiplier=st.floats(1.0, 10.0),
       jitter=st.sampled_from(["none", "full", "equal", "decorrelated"]),
       us=st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=1, max_size=30))
def test_every_delay_is_within_zero_and_cap(base, extra, multiplier, jitter, us):
    b = ExponentialBackoff(base, base + extra, multiplier, jitter)
    previous_s = None
    for n, u in enumerate(us):
        delay = b.delay_s(n, u, previous_s=previous_s)
        assert 0.0 <= delay <= b.cap_s
        if jitter == "decorrelated":
            assert delay >= b.base_s
            previous_s = delay


@pytest.mark.parametrize("u", [-0.1, 1.0, 2.0])
def test_u_must_be_in_unit_interval(u):
    with pytest.raises(ValueError, match="u must be"):
        ExponentialBackoff(0.1, 1.0, jitter="full").delay_s(0, u)


@pytest.mark.parametrize("kwargs, name", [
    (dict(base_s=-1.0, cap_s=1.0), "base_s"), (dict(base_s=2.0, cap_s=1.0), "cap_s"),
    (dict(base_s=0.1, cap_s=1.0, multiplier=0.5), "multiplier"),
    (dict(base_s=0.1, cap_s=1.0, jitter="half"), "jitter"),
    (dict(base_s=float("inf"), cap_s=float("inf")), "base_s"),
])
def test_invalid_exponential_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ExponentialBackoff(**kwargs)


def test_retry_index_must_be_non_negative_int():
    with pytest.raises(ValueError, match="retry_index"):
        ExponentialBackoff(0.1, 1.0).delay_s(-1, 0.5)


def test_make_backoff_from_scenario_blocks():
    assert isinstance(make_backoff({"type": "none"}), NoBackoff)
    assert make_backoff({"type": "constant", "delay": 0.3}).mean_s(0) == 0.3
    b = make_backoff({"type": "exponential", "base": 0.1, "cap": 2.0, "multiplier": 3.0,
                      "jitter": "equal"})
    assert (b.base_s, b.cap_s, b.multiplier, b.jitter) == (0.1, 2.0, 3.0, "equal")


def test_make_backoff_defaults_match_the_scenario_spec():
    b = make_backoff({"base": 0.05})  # type defaults to exponential, cap to 10 x base
    assert (b.base_s, b.cap_s, b.multiplier, b.jitter) == (0.05, 0.5, 2.0, "full")
    b = make_backoff({"type": "exponential", "base": 0.025, "cap": None, "multiplier": 2.0,
                      "jitter": "full"})  # a pydantic model_dump() with cap unset
    assert b.cap_s == pytest.approx(0.25)


@pytest.mark.parametrize("spec, message", [
    ({"type": "linear"}, "type"), ({"type": "constant"}, "delay"),
    ({"type": "none", "delay": 1.0}, "delay"), ({"type": "exponential", "bse": 1.0}, "bse"),
])
def test_make_backoff_rejects_bad_blocks(spec, message):
    with pytest.raises(ValueError, match=message):
        make_backoff(spec)
