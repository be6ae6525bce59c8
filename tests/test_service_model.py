"""The services people run (issue 12): endpoints, probabilistic calls,
external dependencies, code families and retry conditions, idempotency and
duplicates, middleware.

Each behaviour is driven through the whole engine (``sim.run``) by a small
scenario and checked against ground truth: exact times and rows where the
scenario is deterministic (constant work, deterministic arrivals, no network
latency), or a binomial tolerance (z = 4) where it is random.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import sim

Z = 4.0
NO_BACKOFF = {"type": "none"}


# ----------------------------------------------------------------------------- helpers
def pod(work="1ms", **extra) -> dict:
    """A pod with plenty of cores and workers: no queueing unless asked."""
    return {"cpu": 64, "workers": 64, "queue": None, "work": work, **extra}


def scenario(services: dict, *, target: str = "api", rate: float = 10.0, duration: float = 10.0,
             deterministic: bool = True, client: dict | None = None, external: dict | None = None,
             warmup: float = 0.0) -> dict:
    workload = {"target": target,
                "arrivals": {"rate": rate, "process": "deterministic" if deterministic else "poisson"}}
    if client:
        workload["client"] = client
    spec = {"name": "services", "duration": duration, "warmup": warmup, "sample_interval": 1.0,
            "workload": {"load": workload}, "services": services}
    if external:
        spec["external"] = external
    return spec


def within_binomial(count: int, n: int, p: float) -> bool:
    """``count`` successes in ``n`` trials is within z = 4 standard errors of ``p``."""
    return abs(count - n * p) <= Z * math.sqrt(n * p * (1 - p)) + 1e-9


def calls_to(result, service: str):
    calls = result.calls
    return calls[calls["service"] == service].sort_values(["request_id", "attempt"])


def attempts_of(result, service: str, request_id: int = 0) -> list[tuple]:
    """(attempt, sent_s, status, reason, code) of one request's attempts at ``service``."""
    rows = calls_to(result, service)
    rows = rows[rows["request_id"] == request_id]
    return [(int(r.attempt), round(float(r.sent_s), 9), str(r.status), str(r.reason), str(r.code))
            for r in rows.itertuples()]


# ----------------------------------------------------------------------------- probability
def test_a_cache_miss_reaches_the_database_at_the_miss_ratio():
    spec = scenario({"api": {"pod": pod("100us"), "calls": [{"to": "db", "probability": 0.1}]},
                     "db": {"pod": pod("1ms")}}, rate=200, duration=60)
    s = sim.run(spec, seed=3).summary
    n, db = s["services"]["api"]["arrivals"], s["services"]["db"]["arrivals"]
    assert n > 11_000 and within_binomial(db, n, 0.1)


def test_probabilities_in_a_fan_out_are_drawn_per_call():
    spec = scenario({"api": {"pod": pod("100us"), "calls": [{"parallel": [
        {"to": "a", "probability": 0.3}, {"to": "b"}, {"to": "c", "probability": 0.0}]}]},
        "a": {"pod": pod()}, "b": {"pod": pod()}, "c": {"pod": pod()}}, rate=200, duration=30)
    s = sim.run(spec, seed=5).summary["services"]
    n = s["api"]["arrivals"]
    assert s["b"]["arrivals"] == n and s["c"]["arrivals"] == 0
    assert within_binomial(s["a"]["arrivals"], n, 0.3)


def test_a_call_not_made_takes_no_time():
    spec = scenario({"api": {"pod": pod("1ms"), "calls": [{"to": "db", "probability": 0.0}]},
                     "db": {"pod": pod("50ms")}}, rate=1, duration=5)
    s = sim.run(spec, seed=1).summary
    assert s["services"]["db"]["attempts"] == 0
    assert s["latency_s"]["max"] == pytest.approx(0.001, abs=1e-9)


# ----------------------------------------------------------------------------- endpoints
def _shop(**cart_extra) -> dict:
    cart = {"pod": pod("3ms"), "calls": [{"to": "db"}],
            "endpoints": {"get": {"share": 4, "work": "1ms", "calls": []},
                          "post": {"share": 1, "after": {"work": "2ms"}},
                          "never": {"share": 0, "work": "9ms"}}}
    cart.update(cart_extra)
    return {"cart": cart, "db": {"pod": pod("1ms")}}


def test_endpoint_shares_are_relative_weights_and_zero_is_never_drawn():
    result = sim.run(scenario(_shop(), target="cart", rate=500, duration=20), seed=2)
    eps = result.summary["services"]["cart"]["endpoints"]
    n = sum(e["arrivals"] for e in eps.values())
    assert n == result.summary["services"]["cart"]["arrivals"] > 9_000
    assert eps["never"]["arrivals"] == 0
    assert within_binomial(eps["get"]["arrivals"], n, 0.8)
    assert set(result.calls.loc[result.calls["service"] == "cart", "endpoint"]) == {"get", "post"}


def test_an_endpoint_inherits_work_and_calls_left_out_and_adds_its_after_work():
    """Unloaded: get = its own 1 ms, no calls; post = pod.work 3 ms, the
    service's call to db (1 ms), then 2 ms after: 6 ms."""
    result = sim.run(scenario(_shop(), target="cart", rate=2, duration=20), seed=4)
    eps = result.summary["services"]["cart"]["endpoints"]
    assert eps["get"]["latency_s"]["p99"] == pytest.approx(0.001, abs=1e-9)
    assert eps["post"]["latency_s"]["p50"] == pytest.approx(0.006, abs=1e-9)
    db = result.summary["services"]["db"]["arrivals"]
    assert db == eps["post"]["arrivals"]


def test_a_workload_may_target_one_endpoint():
    result = sim.run(scenario(_shop(), target="cart/post", rate=20, duration=5), seed=1)
    eps = result.summary["services"]["cart"]["endpoints"]
    assert eps["post"]["arrivals"] == result.summary["requests"]["total"] and eps["get"]["arrivals"] == 0


def test_an_endpoint_baseline_error_rate_and_status():
    cart = {"pod": pod("1ms"), "endpoints": {"post": {"error_rate": 0.2, "error_status": "unavailable"}}}
    result = sim.run(scenario({"cart": cart}, target="cart", rate=500, duration=10), seed=9)
    rows = calls_to(result, "cart")
    failed = rows[rows["status"] == "error"]
    assert within_binomial(len(failed), len(rows), 0.2)
    assert set(failed["reason"]) == {"app_error"} and set(failed["code"]) == {"unavailable"}
    assert result.timeseries.shape[0] > 0 and len(result.events[result.events["kind"] == "fault_started"]) == 0


# ----------------------------------------------------------------------------- external
def test_an_external_answers_after_its_latency_and_has_no_pods():
    spec = scenario({"api": {"pod": pod("1ms"), "calls": [{"to": "pay"}]}},
                    external={"pay": {"latency": "120ms"}}, rate=5, duration=10)
    result = sim.run(spec, seed=1)
    s = result.summary
    assert s["latency_s"]["max"] == pytest.approx(0.121, abs=1e-9)   # network.latency does not apply
    assert "pay" not in s["services"] and s["pod_seconds"] == s["services"]["api"]["pod_seconds"]
    assert s["external"]["pay"]["attempts"] == s["external"]["pay"]["ok"] == s["requests"]["total"]
    assert calls_to(result, "pay")["pod"].isna().all()


def test_an_external_error_rate_within_binomial_tolerance():
    spec = scenario({"api": {"pod": pod("100us"), "calls": [{"to": "pay"}]}}, rate=400, duration=20,
                    external={"pay": {"latency": {"dist": "lognormal", "median": "120ms", "p99": "900ms"},
                                      "error_rate": 0.02, "error_status": "unavailable"}})
    ext = sim.run(spec, seed=7).summary["external"]["pay"]
    assert within_binomial(ext["errors"], ext["attempts"], 0.02)
    assert ext["latency_s"]["p50"] == pytest.approx(0.120, rel=0.05)


def test_an_external_refuses_beyond_its_concurrency():
    """Calls every 100 ms, each held 250 ms, at most 2 at once: a call finds
    2 in progress whenever the two before it are still held, so the 3rd of
    every 5 is refused... derived below from the rows themselves."""
    spec = scenario({"api": {"pod": pod("0ms"), "calls": [{"to": "pay"}]}}, rate=10, duration=3,
                    external={"pay": {"latency": "250ms", "concurrency": 2,
                                      "rejection_status": "resource_exhausted"}})
    rows = calls_to(sim.run(spec, seed=1), "pay").sort_values("sent_s")
    held: list[float] = []
    for r in rows.itertuples():
        held = [end for end in held if end > r.sent_s + 1e-12]
        if len(held) < 2:
            assert str(r.status) in ("ok", "unfinished")
            held.append(r.sent_s + 0.25)
        else:
            assert (str(r.status), str(r.reason), str(r.code)) == \
                ("rejected", "concurrency_limit", "resource_exhausted")
    assert (rows["status"] == "rejected").sum() >= 5


def test_an_external_rate_limit_is_a_token_bucket():
    """10 calls/s against 2 tokens/s with a burst of 1: allowed at 0, then one
    every 0.5 s."""
    spec = scenario({"api": {"pod": pod("0ms"), "calls": [{"to": "pay"}]}}, rate=10, duration=3,
                    external={"pay": {"latency": "1ms", "rate_limit": {"rate": 2, "burst": 1}}})
    rows = calls_to(sim.run(spec, seed=1), "pay")
    allowed = sorted(round(t, 9) for t in rows.loc[rows["status"] == "ok", "sent_s"])
    first = min(rows["sent_s"])
    assert allowed == [round(first + 0.5 * k, 9) for k in range(len(allowed))]
    assert set(rows.loc[rows["status"] == "rejected", "reason"]) == {"rate_limited"}


# ----------------------------------------------------------------------------- retry conditions
def _failing_cart(status: str) -> dict:
    return {"cart": {"pod": pod("1ms"), "endpoints": {"post": {"error_rate": 1.0, "error_status": status}}}}


@pytest.mark.parametrize("status, retry_on, attempts", [
    ("invalid_argument", None, 1),                 # default: a caller's mistake is not retried
    ("unavailable", None, 3),                      # default: transient
    ("internal", None, 3),
    ("invalid_argument", ["error"], 3),            # legacy status name: every code of `error`
    ("unavailable", ["deadline_exceeded"], 1),
    ("unavailable", ["unavailable"], 3),
])
def test_retry_on_code_families_exact_attempts(status, retry_on, attempts):
    retry = {"max_attempts": 3, "backoff": {"type": "constant", "delay": "10ms"}}
    if retry_on is not None:
        retry["retry_on"] = retry_on
    result = sim.run(scenario(_failing_cart(status), target="cart", rate=1, duration=2,
                              client={"retry": retry}), seed=1)
    first = float(calls_to(result, "cart")["sent_s"].min())
    expected = [(k + 1, round(first + k * 0.011, 9), "error", "app_error", status) for k in range(attempts)]
    assert attempts_of(result, "cart") == expected


def test_a_downstream_code_is_passed_up_and_decides_the_upstream_retry():
    """gateway -> cart fails `unavailable` (gateway's call does not retry):
    the gateway answers with cart's code, and the client retries it."""
    services = {"gateway": {"pod": pod("1ms"), "calls": [{"to": "cart"}]}, **_failing_cart("unavailable")}
    client = {"retry": {"max_attempts": 2, "retry_on": ["unavailable"], "backoff": NO_BACKOFF}}
    result = sim.run(scenario(services, target="gateway", rate=1, duration=2, client=client), seed=1)
    assert [a[2:] for a in attempts_of(result, "gateway")] == [("error", "downstream", "unavailable")] * 2
    services = {"gateway": services["gateway"], **_failing_cart("invalid_argument")}
    result = sim.run(scenario(services, target="gateway", rate=1, duration=2, client=client), seed=1)
    assert [a[2:] for a in attempts_of(result, "gateway")] == [("error", "downstream", "invalid_argument")]


# ----------------------------------------------------------------------------- idempotency
def _slow_db(**call) -> dict:
    """api calls db (work 50 ms) with a 20 ms timeout, 3 attempts, no backoff."""
    return {"api": {"pod": pod("0ms"), "calls": [{"to": "db", "timeout": "20ms", "name": "write",
                                                   "retry": {"max_attempts": 3, "backoff": NO_BACKOFF},
                                                   **call}]},
            "db": {"pod": pod("50ms")}}


def test_an_idempotent_call_retries_timeouts_and_the_work_is_done_three_times():
    result = sim.run(scenario(_slow_db(), rate=1, duration=1.5), seed=1)   # one request, at 1 s
    assert attempts_of(result, "db") == [(1, 1.0, "timeout", "abandoned", "deadline_exceeded"),
                                         (2, 1.02, "timeout", "abandoned", "deadline_exceeded"),
                                         (3, 1.04, "timeout", "abandoned", "deadline_exceeded")]
    s = result.summary
    # one logical call, done three times: one duplicate (calls, not extra executions)
    assert s["services"]["db"]["duplicates"] == s["call_sites"]["write"]["duplicates"] == 1


def test_a_non_idempotent_call_never_retries_a_timeout():
    result = sim.run(scenario(_slow_db(idempotent=False), rate=1, duration=1.5), seed=1)
    assert attempts_of(result, "db") == [(1, 1.0, "timeout", "abandoned", "deadline_exceeded")]
    assert result.summary["call_sites"]["write"]["duplicates"] == 0


def test_propagating_the_deadline_stops_the_abandoned_work_so_nothing_is_done_twice():
    result = sim.run(scenario(_slow_db(propagate_deadline=True), rate=1, duration=1.5), seed=1)
    assert len(attempts_of(result, "db")) == 3
    assert result.summary["call_sites"]["write"]["duplicates"] == 0


def test_a_non_idempotent_call_retries_a_refusal():
    """db has one worker and no queue: the second request's first attempt is
    refused (queue_full, nothing done) and retried once the first is served."""
    services = {"api": {"pod": pod("0ms"), "calls": [{
        "to": "db", "idempotent": False,
        "retry": {"max_attempts": 3, "backoff": {"type": "constant", "delay": "30ms"}}}]},
        "db": {"pod": {"cpu": 1, "workers": 1, "queue": 0, "work": "50ms"}}}
    result = sim.run(scenario(services, rate=40, duration=0.2), seed=1)   # arrivals every 25 ms
    assert attempts_of(result, "db", 0) == [(1, 0.025, "ok", "", "ok")]   # served until 0.075
    assert attempts_of(result, "db", 1) == [(1, 0.05, "rejected", "queue_full", "unavailable"),
                                            (2, 0.08, "ok", "", "ok")]
    assert result.summary["services"]["db"]["duplicates"] == 0


def test_hedged_attempts_of_an_idempotent_call_count_as_duplicates():
    services = {"api": {"pod": pod("0ms"), "calls": [{
        "to": "db", "hedge": {"delay": "10ms", "max": 1}, "retry": {"max_attempts": 2}}]},
        "db": {"pod": pod("30ms")}}
    s = sim.run(scenario(services, rate=2, duration=5), seed=1).summary   # 9 requests, 0.5 s apart
    assert s["requests"]["total"] == s["requests"]["ok"] == 9
    # each call: the first attempt is done at +30 ms, its hedge (sent at +10 ms,
    # lost) still at +40 ms: the callee did every call's work twice
    assert s["services"]["db"]["retries"] == s["services"]["db"]["duplicates"] == 9


# ----------------------------------------------------------------------------- middleware
def test_middleware_runs_as_an_onion_around_the_handler():
    """Unloaded: 1 ms + 2 ms before, 3 ms handler, 4 ms + 5 ms after = 15 ms of CPU."""
    api = {"pod": pod("3ms"), "middleware": [
        {"name": "logging", "work": "1ms", "after": {"work": "5ms"}},
        {"name": "auth", "work": "2ms", "after": {"io": "4ms"}}]}
    s = sim.run(scenario({"api": api}, rate=2, duration=10), seed=1).summary
    assert s["latency_s"]["p50"] == pytest.approx(0.015, abs=1e-9)
    assert s["latency_s"]["max"] == pytest.approx(0.015, abs=1e-9)


def test_an_auth_layer_refuses_its_ratio_before_the_handler_and_the_inner_layers():
    api = {"pod": pod("1ms"), "calls": [{"to": "db"}], "middleware": [
        {"name": "auth", "work": "1ms", "reject_ratio": 0.25},
        {"name": "validate", "work": "2ms"}]}
    result = sim.run(scenario({"api": api, "db": {"pod": pod("1ms")}}, rate=400, duration=10), seed=3)
    rows = calls_to(result, "api")
    refused = rows[rows["status"] == "rejected"]
    assert within_binomial(len(refused), len(rows), 0.25)
    assert set(refused["reason"]) == {"middleware_rejected"} and set(refused["code"]) == {"unauthenticated"}
    assert np.allclose(refused["ended_s"] - refused["sent_s"], 0.001)   # the outer layer's work only
    assert result.summary["services"]["db"]["arrivals"] == len(rows) - len(refused) - \
        int((rows["status"] == "unfinished").sum())


def test_a_rate_limit_layer_is_a_token_bucket_per_pod():
    """Two pods, round robin, 20 requests/s: each pod sees 10/s against 2
    tokens/s, burst 2 (full when the pod serves its first request)."""
    api = {"replicas": 2, "pod": pod("1ms"),
           "middleware": [{"name": "limit", "rate_limit": {"rate": 2, "burst": 2}}]}
    result = sim.run(scenario({"api": api}, rate=20, duration=10.0), seed=1)
    rows = calls_to(result, "api")
    for _pod, mine in rows.groupby("pod", observed=True):
        ok = np.sort(mine.loc[mine["status"] == "ok", "sent_s"].to_numpy())
        first, last = mine["sent_s"].min(), mine["sent_s"].max()
        assert len(ok) == 2 + math.floor((last - first) * 2 + 1e-9)
        refused = mine[mine["status"] == "rejected"]
        assert set(refused["code"]) == {"resource_exhausted"} and set(refused["reason"]) == {"rate_limited"}


# ----------------------------------------------------------------------------- checkout
def test_the_checkout_model_does_what_issue_12_asks():
    from sim.spec.loader import load
    scenario_ = load("models/checkout.yaml", overrides={"duration": "6m", "warmup": "1m"})
    s = sim.run(scenario_, seed=12).summary
    services = s["services"]
    assert set(services["checkout"]["endpoints"]) == {"view", "submit"}
    assert within_binomial(services["db"]["arrivals"], services["cart"]["arrivals"], 0.1)
    assert "payment" not in services and s["external"]["payment"]["attempts"] > 0
    assert s["pod_seconds"] == pytest.approx(sum(v["pod_seconds"] for v in services.values()))
    assert s["external"]["payment"]["retries"] > 0               # authorize: unavailable is retried
    assert s["call_sites"]["charge"]["duplicates"] == 0          # charge: not idempotent


def test_same_seed_same_results_with_every_new_block():
    from sim.spec.loader import load
    scenario_ = load("models/checkout.yaml", overrides={"duration": "2m", "warmup": "0s"})
    a, b = sim.run(scenario_, seed=5), sim.run(scenario_, seed=5)
    drop = ("wall_s",)
    assert {k: v for k, v in a.summary.items() if k not in drop} == \
        {k: v for k, v in b.summary.items() if k not in drop}
    assert a.calls.equals(b.calls)
