"""Resilience mechanisms through the whole engine (``sim.run``), not the pure policies.

The pure policies in ``sim/policies`` have their own unit tests; here each
mechanism is driven end to end by a small scenario (a plain dict) and checked
against ground truth read from the run's tables: exact arithmetic where the
scenario is deterministic (constant work, deterministic or Poisson arrivals
whose ties have probability 0, no network latency unless stated), or a
formula with a tolerance derived from its standard error (z = 4) where it is
random. Every run is a few simulated seconds or minutes with a fixed seed.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sim

TOL = 1e-9
Z = 4.0
NO_BACKOFF = {"type": "none"}


# ----------------------------------------------------------------------------- helpers
def service(work="1ms", *, replicas=1, cpu=64, workers=64, queue=None, calls=None, **pod_extra):
    """A service whose pods have plenty of cores and workers unless told otherwise."""
    spec = {"replicas": replicas,
            "pod": {"cpu": cpu, "workers": workers, "queue": queue, "work": work, **pod_extra}}
    if calls:
        spec["calls"] = calls
    return spec


def scenario(services, *, client=None, target="a", rate=10.0, deterministic=False,
             duration=10.0, faults=(), users=None, name="resilience"):
    workload = {"target": target}
    if users is not None:
        workload.update(users=users, think_time="10ms")
    else:
        workload["arrivals"] = {"rate": rate,
                                "process": "deterministic" if deterministic else "poisson"}
    if client:
        workload["client"] = client
    return {"name": name, "duration": duration, "sample_interval": 1.0,
            "workload": {"c": workload}, "services": services, "faults": list(faults)}


def always_failing(svc: str, kind: str = "errors", at: float = 0.0, until=None) -> dict:
    fault = {"kind": kind, "service": svc, "at": at}
    if kind == "errors":
        fault["probability"] = 1.0
    else:
        fault["mode"] = "fail"
    if until is not None:
        fault["for"] = until - at
    return fault


def rows(result, **where) -> pd.DataFrame:
    calls = result.calls
    mask = np.ones(len(calls), dtype=bool)
    for column, value in where.items():
        mask &= (calls[column] == value).to_numpy()
    return calls[mask]


def concurrency_at(starts: np.ndarray, ends: np.ndarray, t: float) -> int:
    """How many half-open intervals [start, end) contain the instant just after ``t``."""
    return int(((starts <= t) & (ends > t)).sum())


def max_concurrency(starts: np.ndarray, ends: np.ndarray) -> int:
    return max((concurrency_at(starts, ends, t) for t in starts), default=0)


def events_of(result, kind: str) -> pd.DataFrame:
    ev = result.events
    return ev[ev["kind"] == kind]


# ----------------------------------------------------------------------------- 1. amplification
@pytest.mark.parametrize("fault", ["errors", "outage"])
def test_retries_at_every_layer_multiply_exactly(fault):
    """client -> s1 -> s2 -> s3 -> s4 -> db, every edge 3 attempts, db always fails:
    the k-th layer below the client sees 3^k attempts per request; db (layer 5) 243."""
    retry = {"max_attempts": 3, "backoff": NO_BACKOFF}
    chain = ["s1", "s2", "s3", "s4", "db"]
    services = {name: service(calls=[{"to": nxt, "retry": retry}])
                for name, nxt in zip(chain, chain[1:])}
    services["db"] = service()
    spec = scenario(services, client={"retry": retry}, target="s1", rate=1.0, deterministic=True,
                    duration=8.5, faults=[always_failing("db", fault)])
    result = sim.run(spec, seed=3)
    req = result.requests
    assert len(req) == 8
    assert (req["status"] == "error").all()
    assert (req["attempts"] == 3).all()
    summary = result.summary
    assert summary["requests"]["total"] == 8 and summary["requests"]["error"] == 8
    for depth, name in enumerate(chain, start=1):
        per_service = summary["services"][name]
        assert per_service["attempts_per_request"] == 3 ** depth, name
        assert per_service["attempts"] == 8 * 3 ** depth, name
        # retries: every attempt numbered > 1 within its logical call (2 of each 3)
        assert per_service["retries"] == 8 * 2 * 3 ** (depth - 1), name
        per_request = rows(result, service=name).groupby("request_id").size()
        assert sorted(per_request.index) == list(range(8))
        assert (per_request == 3 ** depth).all(), name
    reason = "fault_error" if fault == "errors" else "fault_outage"
    db = rows(result, service="db")
    assert (db["status"] == "error").all() and (db["reason"] == reason).all()


# ----------------------------------------------------------------------------- 2. p and N
@pytest.mark.parametrize("p, max_attempts", [(0.5, 2), (0.3, 4)])
def test_independent_failures_success_and_load(p, max_attempts):
    """Each attempt fails independently with p (errors fault), N = max_attempts - 1
    retries: P(success) = 1 - p^(N+1); E[attempts] = sum_{k=0..N} p^k."""
    n_retries = max_attempts - 1
    spec = scenario({"a": service(replicas=2)},
                    client={"retry": {"max_attempts": max_attempts, "backoff": NO_BACKOFF}},
                    rate=100.0, duration=40.0,
                    faults=[{"kind": "errors", "service": "a", "at": 0, "probability": p}])
    result = sim.run(spec, seed=5)
    req = result.requests
    done = req[req["status"] != "unfinished"]
    n = len(done)
    assert n > 3500
    assert set(done["status"]) <= {"ok", "error"}
    success = 1 - p ** (n_retries + 1)
    observed = (done["status"] == "ok").mean()
    assert abs(observed - success) <= Z * math.sqrt(success * (1 - success) / n)
    # attempts A = min(Geometric, N+1): P(A >= k) = p^(k-1), k = 1..N+1
    mean = sum(p ** k for k in range(n_retries + 1))
    second = sum((2 * k - 1) * p ** (k - 1) for k in range(1, n_retries + 2))
    sd = math.sqrt(second - mean ** 2)
    assert abs(done["attempts"].mean() - mean) <= Z * sd / math.sqrt(n)
    # the calls table agrees with the requests table, attempt by attempt
    calls = rows(result, service="a")
    per_request = calls.groupby("request_id").size()
    assert (per_request.loc[done["request_id"]].to_numpy() == done["attempts"].to_numpy()).all()
    # an ok request's last attempt is its only ok one; every earlier one failed
    last = calls.groupby("request_id")["attempt"].transform("max") == calls["attempt"]
    assert (calls.loc[~last, "status"] == "error").all()


# ----------------------------------------------------------------------------- 3. budgets
def _total_failure(budget, *, max_attempts=3, rate=20.0, duration=30.0, client_extra=None,
                   fault=None):
    client = {"retry": {"max_attempts": max_attempts, "backoff": NO_BACKOFF, "budget": budget}}
    client.update(client_extra or {})
    return scenario({"a": service()}, client=client, rate=rate, duration=duration,
                    faults=[fault or always_failing("a")])


def test_aws_quota_allows_exactly_100_retries_under_total_failure():
    """botocore standard mode: quota 500, a retry costs 5, a failed call refunds
    nothing: exactly 500 / 5 = 100 retries, then every retry is refused."""
    result = sim.run(_total_failure({"type": "aws_quota"}), seed=1)
    calls = rows(result, caller="c")
    assert int((calls["attempt"] > 1).sum()) == 100
    req = result.requests.sort_values("arrival_s")
    # calls fail at once, so requests are served one after the other: the first
    # 50 get their two retries, then the quota is empty
    assert (req["status"].iloc[:50] == "error").all() and (req["attempts"].iloc[:50] == 3).all()
    rest = req.iloc[50:]
    assert len(rest) > 100
    assert (rest["status"] == "budget_exhausted").all() and (rest["attempts"] == 1).all()
    assert result.summary["requests"]["budget_exhausted"] == len(rest)


def test_aws_quota_timeout_retries_cost_10():
    """After a timeout a retry costs timeout_cost = 10: 500 / 10 = 50 retries."""
    fault = {"kind": "outage", "service": "a", "at": 0, "mode": "hang"}
    spec = _total_failure({"type": "aws_quota"}, client_extra={"timeout": "50ms"}, fault=fault,
                          rate=5.0, duration=60.0)
    result = sim.run(spec, seed=2)
    calls = rows(result, caller="c")
    assert int((calls["attempt"] > 1).sum()) == 50
    assert (calls["status"] == "timeout").all()


def test_grpc_token_bucket_stops_retries_at_half_the_tokens():
    """gRFC A6, max_tokens 10: each failure takes a token; a retry is allowed only
    while tokens > 5. Under total failure the failures leave 9, 8, 7, 6 tokens
    (4 retries) and the 5th leaves 5: refused. Nothing ever refills."""
    spec = _total_failure({"type": "token_bucket", "max_tokens": 10, "token_ratio": 0.1},
                          max_attempts=100)
    result = sim.run(spec, seed=1)
    calls = rows(result, caller="c")
    assert int((calls["attempt"] > 1).sum()) == 4
    req = result.requests.sort_values("arrival_s")
    assert req["attempts"].iloc[0] == 5
    assert (req["attempts"].iloc[1:] == 1).all()
    assert (req["status"] == "budget_exhausted").all()


def test_grpc_token_bucket_decisions_replayed_in_milli_tokens():
    """With independent failures (p = 0.5, refill 0.8) the bucket drains and refills; replay
    gRFC A6 in milli-tokens over the attempts in the order they ended and check
    every retry decision the engine made (retry iff tokens > max/2)."""
    max_milli, ratio_milli = 10_000, 800
    spec = _total_failure({"type": "token_bucket", "max_tokens": 10, "token_ratio": 0.8},
                          max_attempts=4, rate=50.0, duration=30.0,
                          fault={"kind": "errors", "service": "a", "at": 0, "probability": 0.5})
    result = sim.run(spec, seed=4)
    calls = rows(result, caller="c").sort_values(["ended_s", "request_id", "attempt"])
    final = result.requests.set_index("request_id")
    attempts_of = final["attempts"].to_dict()
    tokens = max_milli
    granted = refused = 0
    for rid, attempt, status in zip(calls["request_id"], calls["attempt"], calls["status"]):
        if status == "unfinished":
            continue
        if status == "ok":
            tokens = min(max_milli, tokens + ratio_milli)
            continue
        tokens = max(0, tokens - 1000)
        if attempt == 4:
            continue  # attempts exhausted: no retry asked for
        retried = attempts_of[rid] > attempt
        assert retried == (tokens > max_milli // 2), (rid, attempt, tokens)
        if retried:
            granted += 1
        else:
            refused += 1
            assert final.loc[rid, "status"] == "budget_exhausted"
    assert granted > 50 and refused > 50  # both regimes were exercised


def test_envoy_budget_caps_concurrent_retries():
    """Envoy retry budget: a retry is admitted only while active retries <
    max(int(budget_percent% x active requests), min_retry_concurrency). A hung
    backend with a 0.5 s attempt timeout keeps attempts in flight; without a
    budget ~rate x 1 s retries would be in flight at once."""
    fault = {"kind": "outage", "service": "a", "at": 0, "mode": "hang"}
    client = {"timeout": "500ms"}
    free = sim.run(_total_failure(None, client_extra=client, fault=fault, rate=10.0,
                                  duration=20.0), seed=6)
    budgeted = sim.run(_total_failure({"type": "envoy", "budget_percent": 0,
                                       "min_retry_concurrency": 3},
                                      client_extra=client, fault=fault, rate=10.0,
                                      duration=20.0), seed=6)
    for result, cap in ((free, None), (budgeted, 3)):
        calls = rows(result, caller="c")
        retries = calls[calls["attempt"] > 1]
        peak = max_concurrency(retries["sent_s"].to_numpy(), retries["ended_s"].to_numpy())
        if cap is None:
            assert peak >= 8
        else:
            assert peak == cap
            assert result.summary["requests"]["budget_exhausted"] > 50


def test_envoy_budget_percent_of_active_requests():
    """budget_percent 50, min 1: at every instant a retry was admitted, the
    retries in flight (itself included) are at most max(int(0.5 x active), 1),
    active counting the attempts in flight before the retry was sent."""
    fault = {"kind": "outage", "service": "a", "at": 0, "mode": "hang"}
    spec = _total_failure({"type": "envoy", "budget_percent": 50, "min_retry_concurrency": 1},
                          client_extra={"timeout": "500ms"}, fault=fault, rate=20.0,
                          duration=20.0)
    result = sim.run(spec, seed=8)
    calls = rows(result, caller="c")
    sent, ended = calls["sent_s"].to_numpy(), calls["ended_s"].to_numpy()
    is_retry = calls["attempt"].to_numpy() > 1
    above_min = 0
    for t in sent[is_retry]:
        in_flight_retries = concurrency_at(sent[is_retry], ended[is_retry], t)
        active_before = concurrency_at(sent, ended, t) - 1
        cap = max(int(0.5 * active_before), 1)
        assert in_flight_retries <= cap, t
        above_min += in_flight_retries > 1
    assert above_min > 20  # the percentage, not the minimum, was binding
    assert result.summary["requests"]["budget_exhausted"] > 0


def test_ratio_budget_keeps_retries_near_max_ratio():
    """SRE per-client budget, max_ratio 0.1, window longer than the run: a retry is
    granted iff retries / attempts < 0.1 before it, so under total failure (every
    request asks for one retry) the final count satisfies |R - 0.1 A| <= 1."""
    spec = _total_failure({"type": "ratio", "max_ratio": 0.1, "window": "10m"},
                          max_attempts=2, rate=50.0, duration=60.0)
    result = sim.run(spec, seed=3)
    calls = rows(result, caller="c")
    retries = int((calls["attempt"] > 1).sum())
    attempts = len(calls)
    assert attempts > 2500
    assert abs(retries - 0.1 * attempts) <= 1.0
    # and at every prefix of the run (ratio checked before each grant)
    calls = calls.sort_values(["sent_s", "attempt"])
    r = np.cumsum(calls["attempt"].to_numpy() > 1)
    a = np.arange(1, len(calls) + 1)
    assert (r <= 0.1 * a + 1).all()


# ----------------------------------------------------------------------------- 4. backoff
def _retry_delays(result, max_attempts):
    """delay before retry n (n = 0 for the first retry): sent(n+2) - ended(n+1)."""
    calls = rows(result, caller="c").sort_values(["request_id", "attempt"])
    out = {n: [] for n in range(max_attempts - 1)}
    pairs = []
    for _, group in calls.groupby("request_id"):
        sent, ended = group["sent_s"].to_numpy(), group["ended_s"].to_numpy()
        delays = sent[1:] - ended[:-1]
        for n, d in enumerate(delays):
            out[n].append(d)
        pairs.append(delays)
    return {n: np.array(v) for n, v in out.items()}, pairs


def _backoff_run(backoff, max_attempts, rate=20.0, duration=30.0, seed=1):
    spec = scenario({"a": service()},
                    client={"retry": {"max_attempts": max_attempts, "backoff": backoff}},
                    rate=rate, duration=duration, faults=[always_failing("a")])
    result = sim.run(spec, seed=seed)
    assert (result.requests["status"].isin(["error", "unfinished"])).all()
    return result


def test_constant_backoff_is_exact():
    result = _backoff_run({"type": "constant", "delay": "100ms"}, 4)
    delays, _ = _retry_delays(result, 4)
    for n in range(3):
        assert len(delays[n]) > 400
        assert np.allclose(delays[n], 0.1, rtol=0, atol=TOL)


def test_exponential_backoff_without_jitter_doubles_and_caps():
    result = _backoff_run({"type": "exponential", "base": "10ms", "cap": "50ms",
                           "jitter": "none"}, 6)
    delays, _ = _retry_delays(result, 6)
    for n, expected in enumerate([0.01, 0.02, 0.04, 0.05, 0.05]):
        assert len(delays[n]) > 400
        assert np.allclose(delays[n], expected, rtol=0, atol=TOL), n


@pytest.mark.parametrize("jitter, low, mean, var", [
    ("full", 0.0, 0.5, 1 / 12),            # U(0, e)
    ("equal", 0.5, 0.75, 1 / 48),          # e/2 + U(0, e/2)
])
def test_jittered_backoff_bounds_and_means(jitter, low, mean, var):
    """expo(n) = min(cap, base 2^n) with base 40 ms, cap 200 ms: delays lie in
    [low x expo, expo] and their mean is mean x expo within z standard errors."""
    result = _backoff_run({"type": "exponential", "base": "40ms", "cap": "200ms",
                           "jitter": jitter}, 5, rate=40.0, duration=40.0)
    delays, _ = _retry_delays(result, 5)
    for n in range(4):
        expo = min(0.2, 0.04 * 2 ** n)
        d = delays[n]
        assert len(d) > 1000
        assert d.min() >= low * expo - TOL and d.max() <= expo + TOL
        assert abs(d.mean() - mean * expo) <= Z * math.sqrt(var) * expo / math.sqrt(len(d))


def test_decorrelated_jitter_follows_previous_sleep():
    """sleep = min(cap, U(base, 3 x previous)), previous starting at base."""
    base, cap = 0.02, 0.3
    result = _backoff_run({"type": "exponential", "base": "20ms", "cap": "300ms",
                           "jitter": "decorrelated"}, 5, rate=40.0, duration=40.0)
    _, per_request = _retry_delays(result, 5)
    firsts = []
    for delays in per_request:
        previous = base
        for d in delays:
            assert base - TOL <= d <= min(cap, 3 * previous) + TOL
            previous = d
        if len(delays):
            firsts.append(delays[0])
    firsts = np.array(firsts)
    # the first sleep is U(base, 3 base): mean 2 base, sd 2 base / sqrt(12)
    assert abs(firsts.mean() - 2 * base) <= Z * (2 * base / math.sqrt(12)) / math.sqrt(len(firsts))


# ----------------------------------------------------------------------------- 5. timeouts
def test_attempt_timeout_ends_at_sent_plus_timeout():
    spec = scenario({"a": service("1s")}, client={"timeout": "200ms"}, rate=5.0, duration=10.0)
    result = sim.run(spec, seed=1)
    calls = rows(result, caller="c")
    finished = calls[calls["started_s"].notna() & (calls["sent_s"] < 9.0)]
    assert len(finished) > 30
    assert (finished["status"] == "timeout").all()
    assert np.allclose(finished["ended_s"] - finished["sent_s"], 0.2, rtol=0, atol=TOL)
    # the callee was not told: it finished the work for nobody
    assert (finished["reason"] == "abandoned").all()
    assert np.allclose(finished["done_s"] - finished["started_s"], 1.0, rtol=0, atol=TOL)
    req = result.requests[result.requests["arrival_s"] < 9.0]
    assert (req["status"] == "timeout").all()
    assert np.allclose(req["latency_s"], 0.2, rtol=0, atol=TOL)


@pytest.mark.parametrize("backoff_s, attempts", [(0.0, 3), (0.15, 2), (0.35, 1)])
def test_overall_deadline_bounds_retries(backoff_s, attempts):
    """timeout 200 ms per attempt, deadline 500 ms, up to 10 attempts, against a
    callee that takes 1 s: attempts are cut at the deadline, and a back-off that
    would end past it ends the call at the deadline. Every request lasts 0.5 s."""
    backoff = {"type": "constant", "delay": backoff_s} if backoff_s else NO_BACKOFF
    spec = scenario({"a": service("1s")},
                    client={"timeout": "200ms", "deadline": "500ms",
                            "retry": {"max_attempts": 10, "backoff": backoff}},
                    rate=5.0, duration=10.0)
    result = sim.run(spec, seed=1)
    req = result.requests[result.requests["arrival_s"] < 9.0]
    assert len(req) > 30
    assert (req["status"] == "timeout").all()
    assert (req["attempts"] == attempts).all()
    assert np.allclose(req["latency_s"], 0.5, rtol=0, atol=TOL)
    calls = rows(result, caller="c")
    calls = calls[calls["request_id"].isin(req["request_id"])]
    last = calls.groupby("request_id")["ended_s"].max()
    # the last attempt ends at the deadline, except when the back-off would cross
    # it: then the call waits out its deadline after a single 200 ms attempt
    end = req.set_index("request_id").loc[last.index]
    expected = end["arrival_s"] + (0.2 if attempts == 1 else 0.5)
    assert np.allclose(last.to_numpy(), expected.to_numpy(), rtol=0, atol=TOL)


def _propagation_run(propagate: bool):
    spec = scenario({"a": service("1s", cpu=1, workers=1)},
                    client={"timeout": "300ms", "propagate_deadline": propagate},
                    rate=3.0, duration=60.0)
    return sim.run(spec, seed=9)


def test_deadline_propagation_drops_abandoned_work_and_saves_cpu():
    """One worker, 1 s of work, callers give up after 300 ms. Without propagation
    the callee serves every queued request for nobody (``abandoned``); with it,
    no work starts after its caller gave up (dropped as ``cancelled`` or
    ``deadline``) and far less CPU is burnt."""
    plain, propagated = _propagation_run(False), _propagation_run(True)
    p_calls, q_calls = rows(plain, service="a"), rows(propagated, service="a")
    # without propagation: work starts long after its caller left, for nobody
    started = p_calls[p_calls["started_s"].notna()]
    assert (started["started_s"] > started["sent_s"] + 0.3).sum() > 50
    assert (p_calls["reason"] == "abandoned").sum() > 40
    # with propagation: nothing starts after its caller's deadline
    started = q_calls[q_calls["started_s"].notna()]
    assert (started["started_s"] < started["sent_s"] + 0.3).all()
    assert (q_calls["reason"] == "abandoned").sum() == 0
    settled = q_calls[q_calls["sent_s"] < 58.0]  # queued at the end: never dequeued
    dropped = settled[settled["started_s"].isna()]
    assert len(dropped) > 50
    assert dropped["reason"].isin(["cancelled", "deadline"]).all()
    # CPU: the plain callee is saturated; the propagated one only serves the
    # requests that found the worker free (each still runs its 1 s CPU step)
    cpu_plain = plain.summary["services"]["a"]["cpu_utilization"]
    cpu_prop = propagated.summary["services"]["a"]["cpu_utilization"]
    assert cpu_plain > 0.97
    assert cpu_prop < 0.8 * cpu_plain
    served = started[started["done_s"].notna()]
    assert np.allclose(served["done_s"] - served["started_s"], 1.0, rtol=0, atol=TOL)


def _fan_out(order):
    prop = {"propagate_deadline": True, "timeout": "5s"}
    branches = {"b": {"to": "b"}, "m": {"to": "m", **prop}}
    services = {
        "a": service("1ms", calls=[{"parallel": [branches[name] for name in order]}]),
        "b": service("2ms"),
        "m": service("0", calls=[{"to": "d", **prop}]),
        "d": service("1s"),
    }
    spec = scenario(services, rate=2.0, duration=20.0, faults=[always_failing("b")])
    return sim.run(spec, seed=1)


def test_fan_out_first_failure_cancels_siblings():
    """a fans out to m (which calls d, 1 s of work) and b (fails at once). The
    first failure fails a's request at once (errgroup) and, propagated, cancels
    m's wait on d: m's work stops at that instant, d's after its CPU step."""
    result = _fan_out(["m", "b"])
    req = result.requests[result.requests["arrival_s"] < 18.0]
    assert len(req) > 20
    assert (req["status"] == "error").all()
    assert np.allclose(req["latency_s"], 0.001, rtol=0, atol=TOL)  # a's 1 ms, then b fails
    a = rows(result, service="a").set_index("request_id")
    assert (a.loc[req["request_id"], "reason"] == "downstream").all()
    for name in ("b", "m", "d"):
        sub = rows(result, service=name)
        sub = sub[sub["request_id"].isin(req["request_id"])].set_index("request_id")
        assert len(sub) == len(req), name
        # the caller side of every call closes the instant a's request fails
        assert np.allclose(sub["ended_s"], a.loc[sub.index, "done_s"], rtol=0, atol=TOL), name
    m = rows(result, service="m").set_index("request_id").loc[req["request_id"]]
    assert (m["reason"] == "cancelled").all()
    assert np.allclose(m["done_s"], m["started_s"], rtol=0, atol=TOL)
    d = rows(result, service="d").set_index("request_id").loc[req["request_id"]]
    assert (d["reason"] == "cancelled").all()
    assert np.allclose(d["done_s"] - d["started_s"], 1.0, rtol=0, atol=TOL)


def test_fan_out_sibling_failing_before_the_others_start():
    """The same fan-out listed b first: b fails synchronously inside the
    fan-out loop (no network latency, an errors fault), before m is started.
    errgroup cancels m, which never sends anything; the request fails at once."""
    result = _fan_out(["b", "m"])
    req = result.requests[result.requests["arrival_s"] < 18.0]
    assert len(req) > 20
    assert (req["status"] == "error").all()
    assert np.allclose(req["latency_s"], 0.001, rtol=0, atol=TOL)
    assert len(rows(result, service="m")) == 0 and len(rows(result, service="d")) == 0


# ----------------------------------------------------------------------------- 6. breaker
BREAKER = {"failure_rate_threshold": 50, "sliding_window_size": 4, "minimum_number_of_calls": 4,
           "wait_duration_in_open_state": "1050ms",
           "permitted_number_of_calls_in_half_open_state": 2}


def test_breaker_opens_half_opens_and_closes_at_the_right_times():
    """Arrivals every 100 ms; a fails (instantly) on [0, 2 s); work 1 ms.

    0.1-0.4: four failures fill the window (100 % >= 50 %): OPEN at 0.4.
    0.5-1.4: rejected (open until strictly after 0.4 + 1.05 = 1.45).
    1.5: HALF_OPEN, admitted, fails; 1.6: admitted, fails: 2 of 2 -> OPEN at 1.6.
    1.7-2.6: rejected (until after 2.65). 2.7: HALF_OPEN, ok at 2.701;
    2.8: ok at 2.801 -> CLOSED. Then everything passes."""
    spec = scenario({"a": service("1ms")}, client={"circuit_breaker": BREAKER}, rate=10.0,
                    deterministic=True, duration=4.05, faults=[always_failing("a", until=2.0)])
    result = sim.run(spec, seed=1)
    calls = rows(result, caller="c").sort_values("sent_s")
    arrival = np.round(calls["sent_s"].to_numpy(), 6)
    status = calls["status"].astype(str).to_numpy()

    def expected(t):
        if t <= 0.4 + 1e-6 or 1.5 - 1e-6 <= t <= 1.6 + 1e-6:
            return "error"
        if t < 2.7 - 1e-6:
            return "breaker_open"
        return "ok"

    assert len(arrival) == 40
    assert [expected(t) for t in arrival] == list(status)
    refused = calls[calls["status"] == "breaker_open"]
    assert refused["pod"].isna().all() and (refused["ended_s"] == refused["sent_s"]).all()
    ev = result.events
    breaker = ev[ev["kind"].astype(str).str.startswith("breaker_")]
    got = [(str(k), round(t, 6)) for k, t in zip(breaker["kind"], breaker["t_s"])]
    assert got == [("breaker_opened", 0.4), ("breaker_half_open", 1.5), ("breaker_opened", 1.6),
                   ("breaker_half_open", 2.7), ("breaker_closed", 2.801)]
    assert (breaker["service"] == "a").all()


@pytest.mark.parametrize("scope, errors, owners", [("pod", 8, 2), ("service", 4, 1)])
def test_breaker_scope_pod_vs_service(scope, errors, owners):
    """a (2 pods) calls b, which always fails; window 4, wait 100 s. One breaker per
    calling pod lets 4 failures through per pod (8); one per service, 4."""
    cb = {**BREAKER, "wait_duration_in_open_state": "100s", "scope": scope}
    services = {"a": service(replicas=2, calls=[{"to": "b", "circuit_breaker": cb}]),
                "b": service()}
    spec = scenario(services, rate=20.0, duration=10.0, faults=[always_failing("b")])
    result = sim.run(spec, seed=2)
    b = rows(result, service="b")
    assert int((b["status"] == "error").sum()) == errors
    assert int((b["status"] == "breaker_open").sum()) > 150
    opened = events_of(result, "breaker_opened")
    assert len(opened) == owners
    if scope == "pod":
        assert sorted(opened["pod"].astype(str)) == ["a-0", "a-1"]
    else:
        assert opened["pod"].isna().all()


def test_breaker_open_is_never_retried():
    """Client: 3 attempts, no back-off; breaker window 4 with a 100 s wait.
    Request 0: three errors (3 in the window). Request 1: an error (the 4th,
    opens) then its retry is refused breaker_open and not retried. Every
    later request: one attempt, breaker_open."""
    cb = {**BREAKER, "wait_duration_in_open_state": "100s"}
    spec = scenario({"a": service()}, client={"circuit_breaker": cb,
                                             "retry": {"max_attempts": 3, "backoff": NO_BACKOFF}},
                    rate=10.0, duration=5.0, faults=[always_failing("a")])
    result = sim.run(spec, seed=1)
    req = result.requests.sort_values("arrival_s")
    assert list(req["status"].iloc[:2]) == ["error", "breaker_open"]
    assert list(req["attempts"].iloc[:2]) == [3, 2]
    assert (req["status"].iloc[2:] == "breaker_open").all()
    assert (req["attempts"].iloc[2:] == 1).all()
    calls = rows(result, caller="c")
    last = calls.groupby("request_id")["attempt"].transform("max")
    refused = calls[calls["status"] == "breaker_open"]
    assert (refused["attempt"] == last[refused.index]).all()


# ----------------------------------------------------------------------------- 7. bulkheads
def _bulkhead_run(bulkhead, rate=20.0, seed=3):
    spec = scenario({"a": service("1s")}, client={"bulkhead": bulkhead}, rate=rate,
                    duration=20.0)
    result = sim.run(spec, seed=seed)
    calls = rows(result, caller="c")
    return result, calls


def test_semaphore_bulkhead_limits_concurrency_and_rejects_at_once():
    result, calls = _bulkhead_run({"max_concurrent_calls": 2})
    admitted = calls[calls["reason"] != "bulkhead_full"]
    refused = calls[calls["reason"] == "bulkhead_full"]
    starts, ends = admitted["sent_s"].to_numpy(), admitted["ended_s"].fillna(np.inf).to_numpy()
    assert max_concurrency(starts, ends) == 2
    assert len(refused) > 300
    assert (refused["status"] == "rejected").all() and refused["pod"].isna().all()
    assert (refused["ended_s"] == refused["sent_s"]).all()
    # refused exactly when both permits were taken (admitted only when one was
    # free: that is the maximum of 2 above)
    for t in refused["sent_s"]:
        assert concurrency_at(starts, ends, t) == 2
    assert result.summary["requests"]["rejected"] == len(refused)


def test_semaphore_bulkhead_max_wait_waits_then_rejects():
    """max_wait 300 ms: a caller without a permit waits (FIFO) up to 300 ms;
    it is sent the instant a permit frees, or rejected at entry + 300 ms."""
    result, calls = _bulkhead_run({"max_concurrent_calls": 2, "max_wait": "300ms"}, rate=3.0)
    admitted = calls[calls["reason"] != "bulkhead_full"]
    refused = calls[calls["reason"] == "bulkhead_full"]
    starts = admitted["arrived_s"].to_numpy()  # no network latency: sent to the pod
    ends = admitted["ended_s"].fillna(np.inf).to_numpy()
    assert max_concurrency(starts, ends) == 2
    assert len(refused) > 5
    assert np.allclose(refused["ended_s"] - refused["sent_s"], 0.3, rtol=0, atol=TOL)
    waited = admitted[admitted["arrived_s"] > admitted["sent_s"]]
    assert len(waited) > 5
    assert ((waited["arrived_s"] - waited["sent_s"]) <= 0.3 + TOL).all()
    freed = set(np.round(ends[np.isfinite(ends)], 9))
    assert all(round(t, 9) in freed for t in waited["arrived_s"])
    order = waited.sort_values("sent_s")
    assert order["arrived_s"].is_monotonic_increasing


def test_thread_pool_bulkhead_core_and_queue():
    """core 2, queue 1: two calls run, one waits (unbounded), the rest are rejected."""
    result, calls = _bulkhead_run({"type": "thread_pool", "core": 2, "queue": 1}, rate=5.0)
    admitted = calls[calls["reason"] != "bulkhead_full"]
    refused = calls[calls["reason"] == "bulkhead_full"]
    run_s, run_e = admitted["arrived_s"].to_numpy(), admitted["ended_s"].fillna(np.inf).to_numpy()
    wait_s, wait_e = admitted["sent_s"].to_numpy(), admitted["arrived_s"].fillna(np.inf).to_numpy()
    assert max_concurrency(run_s, run_e) == 2
    waiting = wait_e > wait_s
    assert waiting.sum() > 5
    assert max_concurrency(wait_s[waiting], wait_e[waiting]) == 1
    assert len(refused) > 20
    assert (refused["status"] == "rejected").all()
    # (a task still queued when the run ends has no row: see
    # test_attempt_waiting_for_a_bulkhead_at_the_end_is_recorded)
    for t in refused["sent_s"][refused["sent_s"] < run_s.max()]:
        assert concurrency_at(run_s, run_e, t) == 2
        assert concurrency_at(wait_s[waiting], wait_e[waiting], t) == 1


def test_attempt_waiting_for_a_bulkhead_at_the_end_is_recorded():
    """calls has one row per attempt; an attempt still queued for a bulkhead
    permit when the run stops is in flight, so it must be flushed as
    ``unfinished`` like any other open attempt. Here every request makes at
    least one attempt (thread pool core 1, queue 1; 1 s calls at 5 req/s, so
    a task is queued at the end)."""
    result, calls = _bulkhead_run({"type": "thread_pool", "core": 1, "queue": 1}, rate=5.0)
    req = result.requests
    missing = sorted(set(req["request_id"]) - set(calls["request_id"]))
    assert missing == []
    unfinished = req[req["status"] == "unfinished"]["request_id"]
    assert len(unfinished) == 2  # one running, one queued
    assert (calls[calls["request_id"].isin(unfinished)]["status"] == "unfinished").all()


# ----------------------------------------------------------------------------- 8. hedging
BIMODAL = {"dist": "mixture", "components": [{"weight": 0.9, "dist": "constant", "value": "10ms"},
                                              {"weight": 0.1, "dist": "constant", "value": "1s"}]}


def _hedge_run(hedge: bool):
    client = {"retry": {"max_attempts": 2, "backoff": NO_BACKOFF}}
    if hedge:
        client["hedge"] = {"delay": "50ms", "max": 1}
    spec = scenario({"a": service(BIMODAL, replicas=2)}, client=client, rate=20.0, duration=60.0)
    return sim.run(spec, seed=4)


def test_hedging_sends_after_delay_and_cuts_the_tail():
    """Work is 10 ms (90 %) or 1 s (10 %). A hedge goes out 50 ms after the first
    try if no answer came; the first success wins. p95 drops from ~1 s to
    ~60 ms (both tries slow: 1 %)."""
    plain, hedged = _hedge_run(False), _hedge_run(True)
    assert plain.summary["latency_s"]["p95"] > 0.9
    assert hedged.summary["latency_s"]["p95"] < 0.07
    calls = rows(hedged, caller="c").sort_values(["request_id", "attempt"])
    pairs = calls.groupby("request_id").filter(lambda g: len(g) == 2)
    firsts = pairs[pairs["attempt"] == 1].set_index("request_id")
    seconds = pairs[pairs["attempt"] == 2].set_index("request_id")
    assert len(seconds) > 70
    assert np.allclose(seconds["sent_s"] - firsts.loc[seconds.index, "sent_s"], 0.05,
                       rtol=0, atol=TOL)
    # exactly one success per hedged request, and the request ends with it
    req = hedged.requests.set_index("request_id")
    done = [rid for rid in seconds.index if req.loc[rid, "status"] == "ok"]
    assert len(done) > 70
    for rid in done:
        group = pairs[pairs["request_id"] == rid]
        ok = group[group["status"] == "ok"]
        assert len(ok) == 1
        assert abs(ok["ended_s"].iloc[0] - req.loc[rid, "end_s"]) <= TOL
    # only slow first tries are hedged
    assert (firsts["done_s"].isna() | (firsts["done_s"] - firsts["started_s"] > 0.05)).all()


def test_hedging_loser_ends_with_reason_hedge_lost():
    """The attempt that did not win is recorded with reason ``hedge_lost``
    (status.py: 'hedge_lost: another attempt answered')."""
    hedged = _hedge_run(True)
    calls = rows(hedged, caller="c")
    pairs = calls.groupby("request_id").filter(
        lambda g: len(g) == 2 and (g["status"] == "ok").any())
    losers = pairs[pairs["status"] != "ok"]
    assert len(losers) > 70
    assert (losers["status"] == "timeout").all()
    assert losers["reason"].astype(str).value_counts().to_dict() == {"hedge_lost": len(losers)}


def test_hedging_with_an_envoy_budget():
    """Hedges and retries share the Envoy budget's bookkeeping: a run with both
    must complete (every attempt the budget is told about was counted) and
    conserve requests. Callee: 10 ms or 1 s, hedge after 50 ms."""
    client = {"hedge": {"delay": "50ms", "max": 1},
              "retry": {"max_attempts": 2, "backoff": NO_BACKOFF, "budget": {"type": "envoy"}}}
    spec = scenario({"a": service(BIMODAL, replicas=2)}, client=client, rate=20.0, duration=20.0)
    result = sim.run(spec, seed=4)
    req = result.requests
    assert result.summary["requests"]["total"] == len(req)
    assert (req["status"] == "ok").mean() > 0.95
    assert (rows(result, caller="c")["attempt"] == 2).sum() > 20  # hedges were sent


def test_hedge_does_not_fire_during_a_retry_back_off():
    """max_attempts 2, constant back-off 50 ms, hedge after 10 ms; the callee
    always fails at once. Attempt 1 fails at t; the hedge timer (t + 10 ms)
    may use the second attempt, but then nothing may follow: never more than
    max_attempts attempts, and no attempt sent after its request ended."""
    client = {"hedge": {"delay": "10ms", "max": 1},
              "retry": {"max_attempts": 2, "backoff": {"type": "constant", "delay": "50ms"}}}
    spec = scenario({"a": service()}, client=client, rate=5.0, duration=10.0,
                    faults=[always_failing("a")])
    result = sim.run(spec, seed=1)
    calls = rows(result, caller="c")
    assert calls["attempt"].max() <= 2
    req = result.requests.set_index("request_id")
    done = req[req["status"] != "unfinished"]
    sent_last = calls.groupby("request_id")["sent_s"].max().reindex(done.index)
    assert (sent_last <= done["end_s"] + TOL).all()
    assert (calls.groupby("request_id").size().reindex(done.index) == done["attempts"]).all()


def test_hedge_waiting_for_the_bulkhead_cannot_spoil_a_success():
    """Bulkhead of 1 permit (max_wait 30 ms) and a hedge after 2 ms: the hedge
    waits for the permit the first try holds. When the first try answers ok
    the request is ok, whatever happens to the hedge (here it would land on a
    pod that fails every request: 3 pods, round robin, errors on the first)."""
    client = {"hedge": {"delay": "2ms", "max": 1},
              "retry": {"max_attempts": 2, "backoff": NO_BACKOFF},
              "bulkhead": {"max_concurrent_calls": 1, "max_wait": "30ms"}}
    spec = scenario({"a": service("10ms", replicas=3)}, client=client, rate=5.0, duration=10.0,
                    faults=[{"kind": "errors", "service": "a", "at": 0, "pods": 1,
                             "probability": 1.0}])
    result = sim.run(spec, seed=1)
    calls = rows(result, caller="c")
    has_ok = calls[calls["status"] == "ok"].groupby("request_id").size()
    req = result.requests.set_index("request_id")
    done = req[req["status"] != "unfinished"]
    won = has_ok.reindex(done.index, fill_value=0) > 0
    assert won.sum() > 20
    assert (done.loc[won, "status"] == "ok").all()
    # and the hedge is not sent once the call has its answer
    ok_end = calls[calls["status"] == "ok"].set_index("request_id")["ended_s"]
    later = calls[calls["arrived_s"] >= calls["request_id"].map(ok_end) - TOL]
    assert later.empty or (later["status"] == "ok").all()


# ----------------------------------------------------------------------------- 9. throttling
def test_adaptive_throttling_keeps_backend_arrivals_near_k_accepts():
    """SRE book ch. 21, k = 2: the backend (2 workers, no queue, 100 ms) accepts
    ~14 req/s of 200 offered; its other arrivals are rejected (queue_full), which
    do not count as accepted. Clients then reject locally with probability
    max(0, (requests - k accepts) / (requests + 1)), so backend arrivals settle
    near k x accepts. With acceptance ~Bernoulli(q) per arrival, the ratio
    arrivals/accepts has sd ~ k sqrt((1-q)/(q A)) over A arrivals."""
    k = 2.0
    spec = scenario({"a": service("100ms", cpu=2, workers=2, queue=0)},
                    client={"throttle": {"type": "adaptive", "k": k, "window": "10s"}},
                    rate=200.0, duration=60.0)
    result = sim.run(spec, seed=7)
    calls = rows(result, caller="c")
    late = calls[calls["sent_s"] >= 20.0]
    sent = late[late["status"] != "throttled"]
    accepted = int(sent["status"].isin(["ok", "error"]).sum())
    arrivals = len(sent)
    q = accepted / arrivals
    ratio = arrivals / accepted
    sd = k * math.sqrt((1 - q) / (q * arrivals))
    assert abs(ratio - k) <= Z * sd + 0.02
    throttled = late[late["status"] == "throttled"]
    assert len(throttled) > 0.7 * len(late)
    assert throttled["pod"].isna().all()
    assert result.summary["requests"]["throttled"] > 0
    rejected = sent[sent["status"] == "rejected"]
    assert (rejected["reason"] == "queue_full").all()


# ----------------------------------------------------------------------------- 10. server side
def test_max_queue_time_sheds_old_queued_work():
    """One worker, 100 ms of work, 15 req/s: the queue grows; a queued request
    that waited longer than 250 ms is rejected (``shed``) when it reaches the
    head; every request that started waited at most 250 ms."""
    spec = scenario({"a": service("100ms", cpu=1, workers=1, max_queue_time="250ms")},
                    rate=15.0, duration=30.0)
    result = sim.run(spec, seed=2)
    calls = rows(result, caller="c")
    started = calls[calls["started_s"].notna()]
    shed = calls[calls["reason"] == "shed"]
    assert len(shed) > 100
    assert (shed["status"] == "rejected").all()
    assert ((shed["ended_s"] - shed["arrived_s"]) > 0.25).all()
    assert ((started["started_s"] - started["arrived_s"]) <= 0.25 + TOL).all()
    assert set(calls["reason"].astype(str)) <= {"", "shed"}
    assert result.summary["services"]["a"]["rejected"] == len(shed)


def _outlier_run(client):
    od = {"consecutive_5xx": 5, "interval": "1s", "base_ejection_time": "5s",
          "max_ejection_percent": 50}
    spec = scenario({"b": {**service("5ms", replicas=4), "outlier_detection": od}},
                    client=client, target="b", rate=50.0, duration=30.0,
                    faults=[{"kind": "errors", "service": "b", "at": 2, "for": 20, "pods": 1,
                             "probability": 1.0}])
    return sim.run(spec, seed=1)


def _check_ejections(result):
    """b-0 fails every request on [2, 22). Envoy: 5 consecutive 5xx eject it
    (1 of 4 hosts = 25 % <= 50 %) for base x multiplier (5 s, then 10 s, ...);
    only the 1 s interval timer returns it. While ejected it gets no traffic."""
    ev = result.events
    kinds = ev[ev["kind"].isin(["pod_ejected", "pod_unejected"])]
    assert len(kinds) >= 4
    assert (kinds["pod"].astype(str) == "b-0").all()
    assert list(kinds["kind"].astype(str))[:4] == ["pod_ejected", "pod_unejected"] * 2
    times = kinds["t_s"].to_numpy()
    for m, (ejected, back) in enumerate(zip(times[0::2], times[1::2]), start=1):
        assert 2.0 < ejected < 22.0
        assert float(back).is_integer()  # the interval timer fires every 1 s from 0
        assert back - ejected >= 5.0 * m and back - 1.0 < ejected + 5.0 * m
    calls = rows(result, service="b")
    b0 = calls[calls["pod"].astype(str) == "b-0"]
    for ejected, back in zip(times[0::2], np.append(times[1::2], np.inf)):
        assert not ((b0["arrived_s"] > ejected) & (b0["arrived_s"] < back)).any()
    # between ejections, 5 failures eject it again: b-0 errors are few
    errors = b0[b0["status"] == "error"]
    assert len(errors) <= 5 * (len(times[0::2]) + 1)
    assert (calls[calls["pod"].astype(str) != "b-0"]["status"].isin(["ok", "unfinished"])).all()


def test_outlier_detection_ejects_a_failing_pod():
    _check_ejections(_outlier_run({"timeout": "1s"}))


def test_outlier_detection_with_plain_callers():
    """Envoy's detector lives in the load balancer: it sees every response,
    whatever the caller's own policy. A caller with no policy block must get
    the same ejections."""
    _check_ejections(_outlier_run(None))


# ----------------------------------------------------------------------------- 13. conservation
REQUEST_STATUSES = {"ok", "timeout", "rejected", "error", "breaker_open", "throttled",
                    "budget_exhausted", "unfinished"}
PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                             phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
                             suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])


@st.composite
def policies(draw):
    policy = {}
    if draw(st.booleans()):
        policy["timeout"] = f"{draw(st.integers(5, 200))}ms"
    if draw(st.booleans()):
        policy["deadline"] = f"{draw(st.integers(20, 500))}ms"
    if draw(st.booleans()):
        policy["propagate_deadline"] = True
    if draw(st.booleans()):
        backoff = draw(st.sampled_from([
            {"type": "none"}, {"type": "constant", "delay": "5ms"},
            {"type": "exponential", "base": "2ms", "cap": "40ms", "jitter": "full"},
            {"type": "exponential", "base": "2ms", "cap": "40ms", "jitter": "decorrelated"}]))
        retry = {"max_attempts": draw(st.integers(1, 4)), "backoff": backoff}
        budget = draw(st.sampled_from([None, {"type": "envoy"},
                                       {"type": "token_bucket", "max_tokens": 4},
                                       {"type": "aws_quota", "capacity": 30},
                                       {"type": "ratio", "max_ratio": 0.2, "window": "5s"}]))
        if budget:
            retry["budget"] = budget
        if draw(st.booleans()):
            retry["retry_on"] = draw(st.lists(st.sampled_from(["timeout", "rejected", "error"]),
                                              min_size=1, max_size=3, unique=True))
        policy["retry"] = retry
    if draw(st.booleans()):
        policy["circuit_breaker"] = {"sliding_window_size": 5, "minimum_number_of_calls": 3,
                                     "wait_duration_in_open_state": "300ms",
                                     "permitted_number_of_calls_in_half_open_state": 2,
                                     "scope": draw(st.sampled_from(["pod", "service"]))}
    if draw(st.booleans()):
        policy["bulkhead"] = draw(st.sampled_from([
            {"max_concurrent_calls": 2}, {"max_concurrent_calls": 1, "max_wait": "30ms"},
            {"type": "thread_pool", "core": 1, "queue": 2}]))
    if draw(st.booleans()):
        policy["hedge"] = {"delay": f"{draw(st.integers(2, 50))}ms",
                           "max": draw(st.integers(1, 2))}
    if draw(st.booleans()):
        policy["throttle"] = {"k": 1.5, "window": "2s"}
    return policy


@st.composite
def failing_scenarios(draw):
    n = draw(st.integers(1, 3))
    names = [f"s{i}" for i in range(n)]
    services = {}
    for i, name in enumerate(names):
        work = draw(st.sampled_from(["2ms", {"dist": "exponential", "mean": "10ms"}, BIMODAL]))
        extra = {}
        if draw(st.booleans()):
            extra["max_queue_time"] = f"{draw(st.integers(1, 50))}ms"
        spec = service(work, replicas=draw(st.integers(1, 2)), cpu=draw(st.sampled_from([1, 2])),
                       workers=draw(st.integers(1, 4)), queue=draw(st.sampled_from([0, 2, None])),
                       **extra)
        if draw(st.booleans()):
            spec["outlier_detection"] = {"consecutive_5xx": 2, "interval": "200ms",
                                         "base_ejection_time": "300ms",
                                         "max_ejection_percent": 50}
        later = names[i + 1:]
        if later:
            steps = []
            for _ in range(draw(st.integers(1, 2))):
                if len(later) > 1 and draw(st.booleans()):
                    steps.append({"parallel": [{"to": t, **draw(policies())} for t in later]})
                else:
                    steps.append({"to": draw(st.sampled_from(later)), **draw(policies())})
                if draw(st.booleans()):
                    step = steps[-1]["parallel"][0] if "parallel" in steps[-1] else steps[-1]
                    step["on_failure"] = "ignore"
            spec["calls"] = steps
        services[name] = spec
    faults = []
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(names))
        at = draw(st.integers(0, 3))
        kind = draw(st.sampled_from(["crash", "outage-hang", "outage-fail", "errors",
                                     "slowdown", "capacity", "latency"]))
        if kind == "crash":
            faults.append({"kind": "crash", "service": target, "at": at})
        elif kind.startswith("outage"):
            faults.append({"kind": "outage", "service": target, "at": at, "for": 1,
                           "mode": kind.split("-")[1]})
        elif kind == "errors":
            faults.append({"kind": "errors", "service": target, "at": at, "for": 2,
                           "probability": draw(st.sampled_from([0.3, 1.0]))})
        elif kind == "slowdown":
            faults.append({"kind": "slowdown", "service": target, "at": at, "for": 2,
                           "factor": 5})
        elif kind == "capacity":
            faults.append({"kind": "capacity", "service": target, "at": at, "for": 2,
                           "cpu": "250m"})
        else:
            faults.append({"kind": "latency", "from": "c", "to": "s0", "at": at, "for": 2,
                           "add": "20ms"})
    closed = draw(st.booleans())
    spec = scenario(services, client=draw(policies()), target="s0",
                    rate=draw(st.sampled_from([20.0, 60.0])), duration=5.0, faults=faults,
                    users=draw(st.integers(1, 8)) if closed else None)
    if draw(st.booleans()):
        spec["network"] = {"latency": draw(st.sampled_from(["1ms", {"dist": "exponential",
                                                                   "mean": "2ms"}]))}
    return spec


@PROPERTY_SETTINGS
@given(failing_scenarios(), st.integers(0, 1000))
def test_conservation_through_every_failure_path(spec, seed):
    result = sim.run(spec, seed=seed)
    req, calls = result.requests, result.calls
    # every external request exactly once, with exactly one status
    assert req["request_id"].is_unique
    assert sorted(req["request_id"]) == list(range(len(req)))
    assert set(req["status"].astype(str)) <= REQUEST_STATUSES
    assert req["status"].notna().all()
    summary = result.summary["requests"]
    assert summary["total"] == len(req)
    assert summary["total"] == summary["ok"] + summary["failed"] + summary["unfinished"]
    counts = Counter(req["status"].astype(str))
    for status in REQUEST_STATUSES:
        assert summary[status] == counts.get(status, 0), status
    # every call row belongs to a known request and has a known status
    assert calls["request_id"].isin(req["request_id"]).all()
    assert set(calls["status"].astype(str)) <= REQUEST_STATUSES
    ended = calls["ended_s"].notna()
    assert (calls.loc[ended, "ended_s"] >= calls.loc[ended, "sent_s"] - TOL).all()
    for early, late in (("arrived_s", "started_s"), ("started_s", "done_s"), ("sent_s", "arrived_s")):
        both = calls[early].notna() & calls[late].notna()
        assert (calls.loc[both, late] >= calls.loc[both, early] - TOL).all(), (early, late)
    # the external client makes one logical call per request: its rows are
    # attempts 1..attempts, exactly once each
    client = calls[calls["caller"] == "c"]
    per_request = client.groupby("request_id")["attempt"].agg(["count", "min", "max", "nunique"])
    finished = req[req["status"] != "unfinished"].set_index("request_id")
    got = per_request.reindex(finished.index)
    assert (got["count"] == finished["attempts"]).all()
    assert (got["nunique"] == got["count"]).all() and (got["min"] == 1).all()
    assert (got["max"] == finished["attempts"]).all()
    # one ok attempt exactly for an ok request, none otherwise; no attempt of
    # a request ends after the request (a call may outlive its last attempt:
    # a back-off that would cross the deadline waits for the deadline)
    oks = client[client["status"] == "ok"].groupby("request_id").size()
    assert (oks.reindex(finished.index, fill_value=0) == (finished["status"] == "ok")).all()
    last_end = client.groupby("request_id")["ended_s"].max().reindex(finished.index)
    assert (last_end <= finished["end_s"] + TOL).all()
    ok = finished["status"] == "ok"
    assert np.allclose(last_end[ok], finished.loc[ok, "end_s"], rtol=0, atol=TOL)
    # inner edges: a request may make several logical calls to one service
    # (retries of its parent, fan-outs, sequential steps), each numbering its
    # attempts 1..k; so per (request, caller, service) the count of attempt j
    # never increases with j
    inner = calls[calls["caller"] != "c"]
    if len(inner):
        by = inner.groupby(["request_id", "caller", "service", "attempt"], observed=True).size()
        for _, series in by.groupby(level=[0, 1, 2], observed=True):
            values = series.to_numpy()
            attempts = series.index.get_level_values(3).to_numpy()
            assert attempts[0] == 1 and (np.diff(attempts) == 1).all()
            assert (np.diff(values) <= 0).all()
    # determinism: the same seed gives the same tables (row order aside: see
    # test_same_seed_gives_the_same_row_order for that)
    again = sim.run(spec, seed=seed)
    pd.testing.assert_frame_equal(result.requests, again.requests)
    pd.testing.assert_frame_equal(canonical(result.calls), canonical(again.calls))
    pd.testing.assert_frame_equal(result.events, again.events)
    assert result.summary["requests"] == again.summary["requests"]


def canonical(calls: pd.DataFrame) -> pd.DataFrame:
    keys = ["request_id", "caller", "service", "attempt", "sent_s", "arrived_s", "ended_s"]
    return calls.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)


def test_same_seed_gives_the_same_row_order():
    """Two runs of one scenario with one seed must write identical tables, row
    order included (a user diffing two calls.parquet files, or hashing them).
    Here many attempts are still open at the end (3 s of work in a 5 s run),
    two per request sent at the same instant by a fan-out."""
    cb = {"sliding_window_size": 5, "minimum_number_of_calls": 3}
    services = {"s0": service("2ms", replicas=2, calls=[{"parallel": [
                    {"to": "s1", "circuit_breaker": cb}, {"to": "s2", "circuit_breaker": cb}]}]),
                "s1": service("3s"), "s2": service("3s")}
    spec = scenario(services, target="s0", rate=20.0, duration=5.0)
    first = sim.run(spec, seed=2)
    second = sim.run(spec, seed=2)
    assert (first.calls["status"] == "unfinished").sum() > 50
    pd.testing.assert_frame_equal(canonical(first.calls), canonical(second.calls))
    pd.testing.assert_frame_equal(first.calls, second.calls)
