"""``latency_all_s``, ``slo`` and ``windows``: exact counts on a deterministic run.

The scenario: workload ``a`` sends to ``fast`` (10 ms of CPU) every 0.25 s and
workload ``b`` to ``slow`` (1.5 s of CPU, over the 1 s SLO) every 2 s, both
deterministic (the k-th arrival at k / rate, k >= 1), for 30 s without
warm-up. An outage of ``fast`` from 10.1 s to 15.1 s fails every request
that arrives in it at once. Nothing overlaps, so every number is known:

- ``a``: 119 arrivals (0.25 … 29.75); 20 in the outage (10.25 … 15.0) fail
  with ``error``, the other 99 are ok in 10 ms.
- ``b``: 14 arrivals (2 … 28), all ok in 1.5 s: ok, but bad for the SLO.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.record.distribution import ExactValues, Sketch
from sim.record.outcomes import latency_all_block, slo_block
from sim.record.tallies import RequestTally
from sim.record.windows import measurement_windows
from sim.spec.measure import SloSpec

FAST_S, SLOW_S = 0.010, 1.5


def deterministic_scenario(**extra) -> dict:
    scenario = {
        "name": "windows", "duration": 30, "sample_interval": 5,
        "workload": {
            "a": {"target": "fast", "arrivals": {"rate": 4, "process": "deterministic"}},
            "b": {"target": "slow", "arrivals": {"rate": 0.5, "process": "deterministic"}}},
        "services": {
            "fast": {"pod": {"cpu": 1, "workers": 4, "work": FAST_S}},
            "slow": {"pod": {"cpu": 1, "workers": 4, "work": SLOW_S}}},
        "faults": [{"kind": "outage", "service": "fast", "at": 10.1, "for": 5}],
        "windows": {"spike": {"from": 5, "to": 10}},
    }
    scenario.update(extra)
    return scenario


@pytest.fixture(scope="module")
def summary() -> dict:
    return sim.run(deterministic_scenario(), seed=1).summary


def test_top_level_counts_and_latency_of_every_finished_request(summary):
    r = summary["requests"]
    assert (r["total"], r["ok"], r["error"], r["unfinished"]) == (133, 113, 20, 0)
    every = summary["latency_all_s"]
    assert every["max"] == pytest.approx(SLOW_S)
    # 20 failures at ~0 s, 99 fast ok, 14 slow ok: the mean counts them all
    assert every["mean"] == pytest.approx((99 * FAST_S + 14 * SLOW_S) / 133, abs=1e-9)
    assert every["p50"] == pytest.approx(FAST_S)
    assert summary["latency_s"]["mean"] == pytest.approx((99 * FAST_S + 14 * SLOW_S) / 113)
    assert set(every) >= {"mean", "p50", "p90", "p99", "p999"}


def test_slo_counts_ok_within_the_latency_as_good_and_everything_else_as_bad(summary):
    slo = summary["slo"]
    assert (slo["latency_s"], slo["target"]) == (1.0, 0.99)        # the defaults
    assert (slo["requests"], slo["good"], slo["bad"]) == (133, 99, 34)
    assert slo["good_ratio"] == pytest.approx(99 / 133)
    assert slo["error_budget_burn"] == pytest.approx((34 / 133) / 0.01)
    a, b = slo["workload"]["a"], slo["workload"]["b"]
    assert (a["requests"], a["good"], a["bad"]) == (119, 99, 20)
    assert (b["requests"], b["good"], b["bad"]) == (14, 0, 14)      # ok, but too slow
    assert b["error_budget_burn"] == pytest.approx(100.0)


def test_slo_block_of_the_scenario_sets_bound_and_target():
    slo = sim.run(deterministic_scenario(slo={"latency": "2s", "target": 0.9}), seed=1).summary["slo"]
    assert (slo["latency_s"], slo["target"], slo["good"], slo["bad"]) == (2.0, 0.9, 113, 20)
    assert slo["error_budget_burn"] == pytest.approx((20 / 133) / 0.1)


def test_windows_count_requests_by_arrival_with_half_open_bounds(summary):
    windows = summary["windows"]
    assert list(windows) == ["spike", "fault.0", "after.fault.0"]
    spike = windows["spike"]                       # [5, 10): a at 5.0 … 9.75, b at 6 and 8
    assert (spike["from_s"], spike["to_s"]) == (5.0, 10.0)
    assert (spike["requests"]["total"], spike["requests"]["ok"]) == (22, 22)
    assert (spike["slo"]["good"], spike["slo"]["bad"]) == (20, 2)
    assert spike["goodput_rps"] == pytest.approx(22 / 5)
    fault = windows["fault.0"]                     # [10.1, 15.1): a 10.25 … 15.0 fail; b 12, 14
    assert (fault["from_s"], fault["to_s"]) == (10.1, pytest.approx(15.1))
    assert (fault["requests"]["total"], fault["requests"]["error"], fault["requests"]["ok"]) == (22, 20, 2)
    assert fault["goodput_rps"] == pytest.approx(2 / 5)
    assert fault["success_ratio"] == pytest.approx(2 / 22)
    assert fault["latency_all_s"]["p50"] == pytest.approx(0.0, abs=1e-9)   # failed at once
    assert fault["slo"]["workload"]["a"] == {"requests": 20, "good": 0, "bad": 20, "good_ratio": 0.0,
                                            "error_budget_burn": pytest.approx(100.0)}
    after = windows["after.fault.0"]               # [15.1, 30): a 15.25 … 29.75, b 16 … 28
    assert (after["requests"]["total"], after["requests"]["ok"]) == (66, 66)
    assert after["goodput_rps"] == pytest.approx(66 / (30 - 15.1))
    assert after["latency_s"]["p50"] == pytest.approx(FAST_S)


def test_fault_windows_clip_to_the_measured_interval_and_skip_empty_ones():
    scenario = sim.load(deterministic_scenario(
        warmup=12, faults=[{"kind": "outage", "service": "fast", "at": 10.1, "for": 5},
                           {"kind": "crash", "service": "slow", "at": 20},
                           {"kind": "slowdown", "service": "slow", "at": 25, "factor": 2}],
        windows={"early": {"from": 1, "to": 2}}))
    got = {w.name: (w.start_s, w.end_s) for w in measurement_windows(scenario)}
    assert got == {"early": (12.0, 12.0),                      # before warm-up: empty, kept
                   "fault.0": (12.0, pytest.approx(15.1)), "after.fault.0": (pytest.approx(15.1), 30.0),
                   "after.fault.1": (20.0, 30.0),             # a crash is an instant
                   "fault.2": (25.0, 30.0)}                   # lasts to the end: no after
    early = sim.run(scenario, seed=1).summary["windows"]["early"]
    assert early["requests"]["total"] == 0 and early["goodput_rps"] is None


def test_windows_come_from_overrides_and_bad_windows_are_located():
    scenario = sim.load(deterministic_scenario(), overrides={"windows.late": {"from": "20s", "to": "25s"}})
    assert [w.name for w in measurement_windows(scenario)][:2] == ["spike", "late"]
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(deterministic_scenario(windows={"x": {"from": 5, "to": 40}}))
    assert [str(p) for p in info.value.problems][0].startswith(
        "windows: windows must end by the run's duration (30 s); x ends at 40 s")
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(deterministic_scenario(windows={"x": {"from": 5, "to": 4}}, slo={"target": 99.9}))
    found = [str(p) for p in info.value.problems]
    assert any(p.startswith("windows.x: 'to' (4 s) must be after 'from' (5 s)") for p in found)
    assert "slo.target: a fraction below 1, not a percentage (write 0.999 for 99.9 %) (got 99.9)" in found
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(deterministic_scenario(slo={"target": 1, "latency": 0}))
    found = [str(p) for p in info.value.problems]
    assert found == ["slo.latency: must be > 0 (got 0)", "slo.target: must be < 1.0 (got 1)"]


@pytest.mark.statistical
def test_a_retry_storm_shows_as_lost_goodput_after_the_fault():
    """models/retry-storm.yaml shortened as in test_retry_storm.py (a 30 s
    trigger on [30 s, 60 s) of 210 s): goodput in ``after.fault.0`` stays near
    zero although the trigger is gone; with a circuit breaker on api -> db it
    is back near the offered rate. The windows say so without the tables."""
    short = {"duration": "210s", "warmup": 0, "faults.0.at": "30s", "faults.0.for": "30s",
             "windows.before": {"from": "5s", "to": "30s"}}
    breaker = {"services.api.calls.0.circuit_breaker": {
        "failure_rate_threshold": 50, "sliding_window_size": 20, "minimum_number_of_calls": 10,
        "wait_duration_in_open_state": "5s", "permitted_number_of_calls_in_half_open_state": 3}}
    storm = sim.run(sim.load("models/retry-storm.yaml", overrides=short), seed=1).summary["windows"]
    fixed = sim.run(sim.load("models/retry-storm.yaml", overrides={**short, **breaker}),
                    seed=1).summary["windows"]
    assert list(storm) == ["before", "fault.0", "after.fault.0"]
    assert (storm["after.fault.0"]["from_s"], storm["after.fault.0"]["to_s"]) == (60.0, 210.0)
    offered = storm["before"]["offered_rps"]
    assert storm["before"]["goodput_rps"] > 0.9 * offered
    assert storm["after.fault.0"]["goodput_rps"] < 0.05 * offered
    assert storm["after.fault.0"]["slo"]["error_budget_burn"] > 90
    assert fixed["after.fault.0"]["goodput_rps"] > 0.8 * offered


# ------------------------------------------------------------ properties

@st.composite
def request_logs(draw):
    n = draw(st.integers(0, 40))
    arrival = np.array(draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)))
    took = np.array(draw(st.lists(st.floats(0, 5), min_size=n, max_size=n)))
    status = np.array(draw(st.lists(st.integers(0, 7), min_size=n, max_size=n)), dtype=np.int8)
    workload = np.array(draw(st.lists(st.sampled_from([2, 3]), min_size=n, max_size=n)), dtype=np.int16)
    end = np.where(status == 7, np.nan, arrival + took)    # 7: unfinished
    attempts = np.array(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), dtype=np.uint16)
    return {"arrival_s": arrival, "end_s": end, "status": status, "workload": workload,
            "attempts": attempts}


def _tally(req, lo, hi, latency, distribution, cuts=()):
    """A RequestTally fed ``req`` whole, or in pieces split at ``cuts``."""
    tally = RequestTally(lo, hi, {"x": 2, "y": 3}, latency, distribution)
    bounds = [0, *sorted(cuts), len(req["arrival_s"])]
    for a, b in zip(bounds, bounds[1:]):
        tally.add({k: v[a:b] for k, v in req.items()})
    return tally


@settings(max_examples=200, deadline=None)
@given(req=request_logs(), lo=st.floats(0, 100), width=st.floats(0, 100),
       latency=st.floats(0.01, 5), target=st.floats(0.5, 0.999))
def test_good_plus_bad_is_every_request_that_arrived_in_the_window(req, lo, width, latency, target):
    mask = (req["arrival_s"] >= lo) & (req["arrival_s"] < lo + width)
    tally = _tally(req, lo, lo + width, latency, ExactValues)
    block = slo_block(tally, SloSpec(latency=latency, target=target))
    assert block["good"] + block["bad"] == block["requests"] == int(mask.sum())
    assert sum(w["requests"] for w in block["workload"].values()) == block["requests"]
    assert sum(w["good"] for w in block["workload"].values()) == block["good"]
    if block["requests"]:
        assert 0 <= block["good_ratio"] <= 1
        assert block["error_budget_burn"] == pytest.approx(block["bad"] / block["requests"] / (1 - target))
    else:
        assert block["good_ratio"] is None and block["error_budget_burn"] is None
    finished = int((mask & (req["status"] != 7)).sum())
    assert (latency_all_block(tally)["mean"] is None) == (finished == 0)


@settings(max_examples=200, deadline=None)
@given(req=request_logs(), lo=st.floats(0, 50), latency=st.floats(0.01, 5),
       cuts=st.lists(st.integers(0, 40), max_size=4))
def test_a_tally_fed_in_chunks_counts_as_one_fed_whole(req, lo, latency, cuts):
    """``record: summary`` feeds rows in chunks; ``full`` all at once: the
    counts are the same, the percentiles within the sketch's accuracy."""
    cuts = [min(c, len(req["arrival_s"])) for c in cuts]
    whole = _tally(req, lo, lo + 50, latency, ExactValues)
    pieces = _tally(req, lo, lo + 50, latency, Sketch, cuts)
    assert np.array_equal(whole.status, pieces.status)
    assert (whole.attempts_sum, whole.finished, whole.by_workload) == \
        (pieces.attempts_sum, pieces.finished, pieces.by_workload)
    for exact, sketch in ((whole.latency_ok, pieces.latency_ok), (whole.latency_all, pieces.latency_all)):
        assert exact.count == sketch.count
        if exact.count:
            assert sketch.mean() == pytest.approx(exact.mean(), rel=1e-9, abs=1e-12)
            assert sketch.max() == exact.max()
            for e, k in zip(exact.quantiles([0.5, 0.99]), sketch.quantiles([0.5, 0.99])):
                assert abs(k - e) <= 0.01 * e + 1e-12


@settings(max_examples=200, deadline=None)
@given(warmup=st.floats(0, 50), at=st.floats(0, 120), lasting=st.one_of(st.none(), st.floats(0.001, 120)),
       crash=st.booleans())
def test_fault_windows_tile_the_measured_interval_from_the_fault_on(warmup, at, lasting, crash):
    fault = {"kind": "crash", "service": "fast", "at": at} if crash else \
        {"kind": "slowdown", "service": "fast", "at": at, "factor": 2,
         **({} if lasting is None else {"for": lasting})}
    scenario = sim.load(deterministic_scenario(duration=100, warmup=warmup, faults=[fault], windows={}))
    windows = {w.name: w for w in measurement_windows(scenario)}
    for w in windows.values():
        assert warmup <= w.start_s <= w.end_s <= 100
    # a window of no length before clipping is left out
    assert ("fault.0" in windows) == (not crash and (lasting is not None or at < 100))
    assert ("after.fault.0" in windows) == ((at if crash or lasting is None else at + lasting) < 100
                                            and (crash or lasting is not None))
    if {"fault.0", "after.fault.0"} <= set(windows):
        assert windows["fault.0"].end_s == windows["after.fault.0"].start_s
    covered = sum(w.length_s for w in windows.values())
    assert covered == pytest.approx(max(0.0, 100 - max(at, warmup)))
