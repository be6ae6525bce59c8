"""Envoy consecutive-5xx outlier detection."""
from __future__ import annotations

import pytest

from sim.policies.outlier import OutlierDetector


def detector_with(n_hosts: int, **kwargs) -> OutlierDetector:
    d = OutlierDetector(**kwargs)
    for host in range(n_hosts):
        d.add_host(host)
    return d


def fail(d: OutlierDetector, host, now_s: float, times: int) -> list[bool]:
    return [d.on_result(host, now_s, ok=False) for _ in range(times)]


def test_ejection_after_five_consecutive_5xx():
    d = detector_with(10)
    assert fail(d, 3, 1.0, 5) == [False] * 4 + [True]
    assert d.is_ejected(3, 1.0) and d.ejected_count == 1
    assert not d.is_ejected(4, 1.0)


def test_success_resets_the_consecutive_counter():
    d = detector_with(10)
    fail(d, 0, 0.0, 4)
    d.on_result(0, 0.0, ok=True)
    assert fail(d, 0, 0.0, 4) == [False] * 4
    assert d.on_result(0, 0.0, ok=False)


def test_uneject_after_base_time_only_at_interval_ticks():
    d = detector_with(10)
    fail(d, 0, 1.0, 5)
    assert d.ejection_time_s(0) == 30.0
    for now_s in (10.0, 20.0, 30.0):
        assert d.tick(now_s) == [] and d.is_ejected(0, now_s)  # 29 s < 30 s at t=30
    assert d.tick(40.0) == [0]
    assert not d.is_ejected(0, 40.0) and d.ejected_count == 0


def test_eject_time_backoff():
    # Port of envoy test/common/upstream/outlier_detection_impl_test.cc EjectTimeBackoff:
    # base 10 s, max_ejection_percent 100, one host, interval timer every 10 s.
    d = detector_with(1, base_ejection_time_s=10.0, max_ejection_percent=100)

    def tick_at(now_s: float, expect_ejected: bool) -> None:
        d.tick(now_s)
        assert d.is_ejected(0, now_s) is expect_ejected

    assert fail(d, 0, 0.0, 5)[-1]
    tick_at(10.0, False)  # first ejection: 10 s
    assert fail(d, 0, 10.0, 5)[-1]
    tick_at(20.0, True)
    tick_at(30.0, False)  # second: 20 s
    assert fail(d, 0, 30.0, 5)[-1]
    tick_at(40.0, True)
    tick_at(50.0, True)
    tick_at(60.0, False)  # third: 30 s
    tick_at(70.0, False)  # two healthy intervals bring the multiplier from 3 to 1
    tick_at(80.0, False)
    assert d.ejection_multiplier(0) == 1
    assert fail(d, 0, 80.0, 5)[-1]
    tick_at(90.0, True)
    tick_at(100.0, False)  # ejected for 20 s
    for i in range(1, 51):  # a long healthy period: multiplier back to 0
        tick_at(100.0 + 10 * i, False)
    assert d.ejection_multiplier(0) == 0
    assert fail(d, 0, 610.0, 5)[-1]
    tick_at(620.0, False)  # 10 s again
    assert d.num_ejections(0) == 5


def test_ejection_time_grows_and_is_capped_by_max_ejection_time():
    d = detector_with(1, base_ejection_time_s=30.0, max_ejection_time_s=300.0,
                      max_ejection_percent=100)
    now_s, durations = 0.0, []
    for _ in range(14):
        assert fail(d, 0, now_s, 5)[-1]
        durations.append(d.ejection_time_s(0))
        while d.is_ejected(0, now_s):
            now_s += 10.0
            d.tick(now_s)
    assert durations == [30.0 * n for n in range(1, 10)] + [300.0] * 5
    # The multiplier stops once multiplier * base >= max + base: 11 here.
    assert d.ejection_multiplier(0) == 11


def test_max_ejection_percent_counts_the_host_being_ejected():
    d = detector_with(10)  # 10%: one host of ten
    assert fail(d, 0, 0.0, 5)[-1]
    assert fail(d, 1, 0.0, 5) == [False] * 5  # 20% > 10%: overflow
    assert d.ejections_overflow == 1 and not d.is_ejected(1, 0.0)
    assert fail(d, 1, 0.0, 4) == [False] * 4  # counter was reset: 5 more are needed
    assert not d.on_result(1, 0.0, ok=False)
    assert d.ejections_overflow == 2


def test_three_hosts_at_fifty_percent_eject_one():  # envoyproxy/envoy#26877
    d = detector_with(3, max_ejection_percent=50)
    assert fail(d, 0, 0.0, 5)[-1]
    assert not fail(d, 1, 0.0, 5)[-1]  # 2/3 = 66.7% > 50%


def test_small_cluster_ejects_nothing_by_default():
    d = detector_with(5)  # 1/5 = 20% > 10%
    assert not any(fail(d, 0, 0.0, 20))
    assert d.ejected_count == 0


def test_always_eject_one_host():
    d = detector_with(5, always_eject_one_host=True)
    assert fail(d, 0, 0.0, 5)[-1]
    assert not fail(d, 1, 0.0, 5)[-1]  # only the first one bypasses the limit
    d2 = detector_with(1, always_eject_one_host=True, max_ejection_percent=0)
    assert fail(d2, 0, 0.0, 5)[-1]


def test_hundred_percent_can_eject_every_host():
    d = detector_with(2, max_ejection_percent=100)
    assert fail(d, 0, 0.0, 5)[-1] and fail(d, 1, 0.0, 5)[-1]
    assert d.ejected_count == 2


def test_already_ejected_host_keeps_counting_without_a_second_ejection():
    d = detector_with(1, max_ejection_percent=100)
    fail(d, 0, 0.0, 5)
    assert fail(d, 0, 1.0, 10) == [False] * 10  # the counter runs past 5 and never equals it
    d.tick(30.0)
    assert not d.is_ejected(0, 30.0)
    assert fail(d, 0, 30.0, 5)[-1]  # un-ejection reset the counter


def test_membership_changes():
    d = detector_with(10)
    fail(d, 0, 0.0, 5)
    d.remove_host(0)
    assert d.ejected_count == 0 and 0 not in d.hosts
    assert d.on_result(0, 1.0, ok=False) is False  # late response of a removed host: ignored
    d.add_host("pod-a")
    assert fail(d, "pod-a", 2.0, 5)[-1]
    with pytest.raises(ValueError, match="already"):
        d.add_host("pod-a")
    with pytest.raises(KeyError):
        d.is_ejected("nope", 2.0)


def test_time_must_not_go_backwards():
    d = detector_with(1)
    d.tick(10.0)
    with pytest.raises(ValueError, match="backwards"):
        d.is_ejected(0, 5.0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(consecutive_5xx=0), "consecutive_5xx"), (dict(interval_s=0.0), "interval_s"),
    (dict(base_ejection_time_s=-1.0), "base_ejection_time_s"),
    (dict(max_ejection_percent=101), "max_ejection_percent"),
    (dict(base_ejection_time_s=400.0), "max_ejection_time_s"),
    (dict(always_eject_one_host="yes"), "always_eject_one_host"),
])
def test_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        OutlierDetector(**kwargs)
