"""``record: full | sample | summary``: the same run, kept three ways.

Ground truth is the ``full`` run of the same scenario and seed (every row
kept, every number computed from the rows). At ``summary`` every count, rate
and mean must equal it, every percentile must lie within the sketch's stated
relative error of it, and the time series must be identical; at ``sample``
the kept rows must be exactly the full run's rows of the sampled requests
and of every request that failed. The chunk size is shrunk so that a small
run crosses hundreds of chunk boundaries (and the sample's pending rows are
exercised).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from ddsketch.mapping import LogarithmicMapping

import sim
from sim.record import recorder as recorder_module
from sim.record.distribution import RELATIVE_ACCURACY, ExactValues, Sketch, bucket_keys
from sim.record.keys import flatten_summary
from sim.record.recorder import is_sampled
from sim.result import NotRecorded

PERCENTILES = (".p50", ".p90", ".p95", ".p99", ".p999")


def storm_scenario() -> dict:
    """Two workloads, a timeout-and-retry edge, a slowdown (a retry storm in
    miniature), windows: every path of the summary, in ~15k requests."""
    return {
        "name": "levels", "duration": 120, "warmup": 10, "sample_interval": 5, "seed": 3,
        "workload": {
            "users": {"target": "front", "arrivals": {"rate": 80},
                      "client": {"timeout": "1s"}},
            "batch": {"target": "front", "arrivals": {"rate": 20, "process": "deterministic"}}},
        "services": {
            "front": {"replicas": 2, "pod": {"cpu": 1, "workers": 8, "work": "2ms"},
                      "calls": [{"to": "back", "timeout": "80ms",
                                 "retry": {"max_attempts": 3, "backoff": {"base": "10ms"}}}]},
            "back": {"replicas": 2, "pod": {"cpu": 1, "workers": 4, "queue": 16,
                                            "work": {"dist": "exponential", "mean": "5ms"}}}},
        "faults": [{"kind": "slowdown", "service": "back", "at": 50, "for": 20, "factor": 4}],
        "windows": {"calm": {"from": 20, "to": 45}},
    }


@pytest.fixture(scope="module")
def runs():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recorder_module, "CHUNK_ROWS", 257)
        return {level: sim.run(storm_scenario(), record=level)
                for level in ("full", "summary", "sample:7")}


def _agree(full: float, other: float, key: str) -> bool:
    if math.isnan(full) or math.isnan(other):
        return math.isnan(full) and math.isnan(other)
    if key.endswith(PERCENTILES) or key.endswith("queue_wait_s.p99"):
        return abs(other - full) <= RELATIVE_ACCURACY * abs(full) + 1e-12
    return other == pytest.approx(full, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("level", ["summary", "sample:7"])
def test_every_summary_key_agrees_with_the_full_run(runs, level):
    full, other = flatten_summary(runs["full"].summary), flatten_summary(runs[level].summary)
    assert full.keys() == other.keys()
    assert runs["full"].summary["services"]["back"]["timeout"] > 0   # the storm happened
    skip = {"wall_s", "memory.request_bytes", "memory.call_bytes"}
    wrong = {k: (full[k], other[k]) for k in full if k not in skip and not _agree(full[k], other[k], k)}
    assert not wrong


@pytest.mark.parametrize("level", ["summary", "sample:7"])
def test_the_time_series_is_identical_at_every_level(runs, level):
    pd.testing.assert_frame_equal(runs["full"].timeseries, runs[level].timeseries)
    pd.testing.assert_frame_equal(runs["full"].request_series, runs[level].request_series)


def test_summary_keeps_no_rows_and_says_how_to_get_them(runs, tmp_path):
    result = runs["summary"]
    assert result.summary["memory"] == {"request_bytes": 0, "call_bytes": 0}
    with pytest.raises(NotRecorded, match="record: full"):
        result.requests
    result.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["events.parquet", "scenario.yaml", "summary.json", "timeseries.parquet"]


def test_sample_keeps_exactly_the_sampled_and_the_failed_requests(runs):
    full, sample = runs["full"], runs["sample:7"]
    requests = full.requests
    ids = requests["request_id"].to_numpy()
    failed = ~requests["status"].isin(["ok", "unfinished"]).to_numpy()
    chosen = is_sampled(ids, 7) | failed
    assert 0 < chosen.sum() < len(ids)
    want = requests[chosen].sort_values("request_id").reset_index(drop=True)
    got = sample.requests.sort_values("request_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(want, got)
    key = ["request_id", "service", "attempt", "sent_s", "ended_s"]
    calls = full.calls[full.calls["request_id"].isin(ids[chosen])]
    want_calls = calls.sort_values(key).reset_index(drop=True)
    got_calls = sample.calls.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(want_calls, got_calls)


def test_the_sample_is_one_in_n_and_the_same_every_time():
    ids = np.arange(200_000)
    for n in (2, 10, 100):
        share = is_sampled(ids, n).mean()
        sd = math.sqrt((1 / n) * (1 - 1 / n) / len(ids))
        assert abs(share - 1 / n) < 5 * sd
    assert np.array_equal(is_sampled(ids, 10), is_sampled(ids.copy(), 10))
    # not every N-th id: a round-robin over N pods would otherwise sample one pod
    assert not np.array_equal(np.flatnonzero(is_sampled(ids[:1000], 4)) % 4,
                              np.zeros(int(is_sampled(ids[:1000], 4).sum()), dtype=int))


def test_summary_memory_does_not_grow_with_the_run(monkeypatch):
    """Rows held at the end of a run and the peak of the row buffers: at
    ``summary`` bounded by a chunk, whatever the duration; at ``full`` growing."""
    monkeypatch.setattr(recorder_module, "CHUNK_ROWS", 1000)
    held = {}
    for level in ("summary", "full"):
        for duration in (60, 240):
            scenario = {"name": "grow", "duration": duration, "seed": 1,
                        "workload": {"w": {"target": "s", "arrivals": {"rate": 100}}},
                        "services": {"s": {"pod": {"cpu": 2, "workers": 4, "work": "5ms"}}}}
            recorder = _recorder_after(scenario, level)
            held[level, duration] = recorder.calls.nbytes + recorder.requests.nbytes
    assert held["summary", 240] <= held["summary", 60] + 1000 * 70   # at most one chunk apart
    assert held["full", 240] > 3 * held["full", 60]


def _recorder_after(scenario: dict, level: str):
    """The recorder of a finished run (before ``finish``), to see what it holds."""
    from sim.engine.model import Model
    from sim.engine.rng import Streams
    from sim.record.recorder import Recorder
    from sim.spec.measure import with_record

    spec = sim.load(scenario)
    spec = with_record(spec, level)
    recorder = Recorder(spec)
    model = Model(spec, Streams(1, 0), recorder)
    model.start()
    model.run()
    return recorder


# ------------------------------------------------------------ the sketch

def test_bucket_keys_are_the_librarys_keys():
    mapping = LogarithmicMapping(RELATIVE_ACCURACY)
    values = np.concatenate([np.random.default_rng(1).lognormal(-4, 3, 20_000),
                             [1e-9, 1e-3, 0.5, 1.0, 2.0, 1e4]])
    expected = np.array([mapping.key(v) for v in values])
    assert np.array_equal(bucket_keys(mapping, values), expected)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 1000, 50_000])
def test_sketch_quantiles_are_within_the_stated_error_of_numpys(n):
    rng = np.random.default_rng(n)
    values = np.concatenate([rng.lognormal(-3, 1.5, n - n // 10), np.zeros(n // 10)])
    exact, sketch = ExactValues(), Sketch()
    for chunk in np.array_split(values, 7):
        exact.add(chunk)
        sketch.add(chunk)
    qs = [0, 0.01, 0.5, 0.9, 0.99, 0.999, 1]
    for q, e, k in zip(qs, exact.quantiles(qs), sketch.quantiles(qs)):
        assert abs(k - e) <= RELATIVE_ACCURACY * e + 1e-15, q
    assert sketch.max() == exact.max() and sketch.count == exact.count
    assert sketch.mean() == pytest.approx(exact.mean(), rel=1e-12)


def test_sketches_merge_as_if_fed_together():
    rng = np.random.default_rng(7)
    a, b = rng.exponential(0.1, 5000), rng.exponential(0.3, 3000)
    left, right, both = Sketch(), Sketch(), Sketch()
    left.add(a)
    right.add(b)
    both.add(np.concatenate([a, b]))
    left.merge(right)
    qs = [0.5, 0.9, 0.99]
    assert left.quantiles(qs) == both.quantiles(qs)
    assert (left.count, left.max()) == (both.count, both.max())


def test_an_empty_sketch_has_no_values():
    sketch = Sketch()
    assert (sketch.mean(), sketch.max(), sketch.quantiles([0.5])) == (None, None, [None])


def test_replications_merge_into_the_pooled_distribution():
    """Sketches of two replications merged = the pooled values, within the error."""
    scenario = {"name": "pool", "duration": 120, "seed": 2,
                "workload": {"w": {"target": "s", "arrivals": {"rate": 60}}},
                "services": {"s": {"pod": {"cpu": 1, "workers": 2,
                                           "work": {"dist": "exponential", "mean": "12ms"}}}}}
    sketch, exact = None, None
    for replication in (0, 1):
        s = sim.run(scenario, replication=replication, record="summary").latency("all")
        e = sim.run(scenario, replication=replication).latency("all")
        if sketch is None:
            sketch, exact = s, e
        else:
            sketch.merge(s)
            exact.merge(e)
    assert sketch.count == exact.count > 10_000
    for k, e in zip(sketch.quantiles([0.5, 0.99, 0.999]), exact.quantiles([0.5, 0.99, 0.999])):
        assert abs(k - e) <= RELATIVE_ACCURACY * e


def test_latency_names_what_it_does_not_know(runs):
    with pytest.raises(ValueError, match="known: front, back"):
        runs["summary"].latency("ok", service="frnt")
    with pytest.raises(ValueError, match="known: calm"):
        runs["summary"].latency(window="clam")
    with pytest.raises(ValueError, match="which must be one of"):
        runs["summary"].latency("p99")


def test_sketched_quantiles_move_with_the_data_inside_a_bucket():
    """Replications whose p99 differ by 0.3 % (less than a bucket) must not
    read the same value: a sweep's confidence interval would collapse to ± 0."""
    values = np.random.default_rng(5).lognormal(0.4, 0.3, 100_000)
    ratios = []
    for shift in (1.001, 1.003, 1.006):
        base, moved = Sketch(), Sketch()
        base.add(values)
        moved.add(values * shift)
        ratios.append(moved.quantiles([0.99])[0] / base.quantiles([0.99])[0])
    for shift, ratio in zip((1.001, 1.003, 1.006), ratios):
        assert abs(ratio - shift) < 0.001, (shift, ratio)
