"""CFS bandwidth control (``sim.policies.cfs``) against hand-worked vectors.

Ground truth: kubelet's ``MilliCPUToQuota`` (quota = millicores x period /
1000 in integer microseconds, at least 1 ms) and the CFS rule that the group
may run ``quota`` per period and then stalls until the next boundary, with
nothing carried over. A single thread needing ``S`` from a boundary finishes
at ``S`` if ``S <= q``, else at ``k P + (S - k q)``, ``k = ceil(S / q) - 1``
(semantics-next.md section 7: 200m & 50 ms -> 210 ms; 100m & 10 ms -> 10 ms;
100m & 11 ms -> 101 ms).
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.cfs import CfsBandwidth, quota_s

MS = 1e-3


def close(x, y):
    return x == pytest.approx(y, abs=1e-9)


@pytest.mark.parametrize("limit,period,expected", [
    (0.2, 0.1, 20 * MS), (0.1, 0.1, 10 * MS), (2.5, 0.1, 250 * MS), (1.0, 0.1, 100 * MS),
    (0.2, 0.05, 10 * MS),
    (0.005, 0.1, 1 * MS),     # 5m -> 500 us, raised to kubelet's 1 ms minimum
    (0.0001, 0.1, 1 * MS),    # 0.1m rounds up to 1m (a quantity's MilliValue), then the minimum
    (0.0125, 0.1, 1.3 * MS),  # 12.5m -> 13m -> 1300 us
])
def test_quota_as_kubelet_computes_it(limit, period, expected):
    assert close(quota_s(limit, period), expected)


@pytest.mark.parametrize("bad", [0, -1, float("nan")])
def test_quota_rejects_a_limit_that_is_not_positive(bad):
    with pytest.raises(ValueError, match="limit_cores"):
        quota_s(bad)


@pytest.mark.parametrize("limit,need,expected,periods,stalled", [
    (0.2, 50 * MS, 210 * MS, 2, 160 * MS),   # semantics-next: 210 (PS would give 250)
    (0.1, 10 * MS, 10 * MS, 0, 0.0),         # exactly the quota: never stalls
    (0.1, 11 * MS, 101 * MS, 1, 90 * MS),    # the cliff: 1 ms more costs P - q
    (0.5, 50 * MS, 50 * MS, 0, 0.0),
    (0.5, 120 * MS, 220 * MS, 2, 100 * MS),  # 50 | stall 50 | 50 | stall 50 | 20
    (2.0, 150 * MS, 150 * MS, 0, 0.0),       # a limit above the demand never bites
])
def test_single_thread_from_a_period_boundary(limit, need, expected, periods, stalled):
    cfs = CfsBandwidth(limit)
    done = cfs.finish_time(0.0, need, 1.0)
    assert close(done, expected)
    assert close(cfs.run(0.0, done, 1.0), need)
    assert cfs.throttled_periods == periods
    assert close(cfs.throttled_s, stalled)


def test_closed_form_for_one_thread():
    """finish_time matches k P + (S - k q) over a grid of needs."""
    for limit in (0.1, 0.2, 0.3, 0.75):
        q, p = quota_s(limit), 0.1
        for need_ms in range(1, 400, 7):
            need = need_ms * MS
            k = max(0, math.ceil(need / q - 1e-12) - 1)
            expected = need if need <= q else k * p + (need - k * q)
            assert close(CfsBandwidth(limit).finish_time(0.0, need, 1.0), expected)


def test_several_threads_share_the_quota():
    """Two threads on a 500m limit (q = 50 ms) burn the quota at 2 cores: each
    runs 25 ms a period. Each needs 50 ms: done at 100 + 25 = 125 ms, one
    throttled period. Four threads, 2 cores available (rate 2): the same."""
    cfs = CfsBandwidth(0.5)
    done = cfs.finish_time(0.0, 50 * MS, 2.0)
    assert close(done, 125 * MS)
    assert close(cfs.run(0.0, done, 2.0), 50 * MS)
    assert (cfs.throttled_periods, cfs.throttled_s) == (1, pytest.approx(75 * MS))


def test_arrival_mid_period_sees_the_boundary_not_its_arrival():
    """Periods are the cgroup's (multiples of P from the origin), not the
    request's: 200m, 30 ms of CPU arriving at 90 ms runs 10 ms to the boundary
    (quota 20 ms), then 20 ms more in the next period: done at 120 ms, never
    throttled. Arriving at 50 ms: runs 20 ms to 70 ms, stalls to 100, runs 10."""
    cfs = CfsBandwidth(0.2)
    assert close(cfs.finish_time(90 * MS, 30 * MS, 1.0), 120 * MS)
    cfs.run(0.0, 90 * MS, 0.0)
    assert close(cfs.run(90 * MS, 120 * MS, 1.0), 30 * MS)
    assert cfs.throttled_periods == 0
    late = CfsBandwidth(0.2)
    assert close(late.finish_time(50 * MS, 30 * MS, 1.0), 110 * MS)
    assert close(late.run(50 * MS, 110 * MS, 1.0), 30 * MS)
    assert (late.throttled_periods, late.throttled_s) == (1, pytest.approx(30 * MS))


def test_origin_shifts_the_boundaries():
    cfs = CfsBandwidth(0.2, origin_s=0.037)
    assert close(cfs.finish_time(0.037, 50 * MS, 1.0), 0.037 + 210 * MS)


def test_nothing_carries_over_an_idle_stretch():
    """Idle for many periods (rate 0) refills the quota once, without banking:
    a 30 ms burst on 200m after 10 s idle still stalls after 20 ms."""
    cfs = CfsBandwidth(0.2)
    assert close(cfs.run(0.0, 10.0, 0.0), 10.0)
    assert cfs.throttled_periods == 0
    assert close(cfs.finish_time(10.0, 30 * MS, 1.0), 10.110)


def test_quota_left_is_per_period():
    """A period's unused quota is lost at the boundary: 15 ms used in [0, 100)
    of a 20 ms quota; a 25 ms burst from 100 ms stalls at 120 ms, not 125."""
    cfs = CfsBandwidth(0.2)
    cfs.run(0.0, 15 * MS, 1.0)
    cfs.run(15 * MS, 100 * MS, 0.0)
    assert close(cfs.finish_time(100 * MS, 25 * MS, 1.0), 205 * MS)


def test_throttled_at_tells_a_stall():
    cfs = CfsBandwidth(0.1)
    cfs.run(0.0, 50 * MS, 1.0)  # quota gone at 10 ms
    assert cfs.throttled_at(50 * MS)
    cfs.run(50 * MS, 100 * MS, 1.0)
    assert not cfs.throttled_at(100 * MS)
    assert cfs.throttled_periods == 1 and close(cfs.throttled_s, 90 * MS)


def test_a_stall_split_by_events_counts_one_period():
    """An event inside a stall splits run() in two; the period counts once."""
    cfs = CfsBandwidth(0.1)
    for a, b in [(0.0, 30 * MS), (30 * MS, 60 * MS), (60 * MS, 100 * MS)]:
        cfs.run(a, b, 1.0)
    assert cfs.throttled_periods == 1 and close(cfs.throttled_s, 90 * MS)


@settings(max_examples=200, deadline=None)
@given(limit=st.sampled_from([0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 1.5]),
       rate=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
       start=st.floats(0.0, 1.0), need=st.floats(1e-4, 1.0),
       cuts=st.lists(st.floats(0.0, 1.0), max_size=6))
def test_run_and_finish_time_agree(limit, rate, start, need, cuts):
    """Properties: running until finish_time yields exactly the asked running
    time however the interval is cut by events; the stall plus the running
    time is the elapsed time; the group never runs more than its quota in a
    period (running time x rate <= quota per period touched)."""
    cfs = CfsBandwidth(limit)
    cfs.run(0.0, start, 0.0)
    done = cfs.finish_time(start, need, rate)
    points = sorted({start, done, *(start + c * (done - start) for c in cuts)})
    ran = sum(cfs.run(a, b, rate) for a, b in zip(points, points[1:]))
    assert ran == pytest.approx(need, rel=1e-9, abs=1e-9)
    assert ran + cfs.throttled_s == pytest.approx(done - start, rel=1e-9, abs=1e-9)
    periods_touched = math.floor(done / 0.1 + 1e-9) - math.floor(start / 0.1) + 1
    assert ran * rate <= periods_touched * cfs.quota_s + 1e-9
    if rate <= limit:
        assert cfs.throttled_periods == 0 and done == pytest.approx(start + need)
