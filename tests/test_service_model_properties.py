"""Invariants of runs that use endpoints, probabilistic calls, middleware,
external dependencies, code families and idempotency, over random small
scenarios (hypothesis): every request ends once; codes agree with statuses;
endpoint rows add up to their service; an external has no pods; a
non-idempotent call is retried only after a refusal and never duplicated;
the resolved scenario loads back the same.

Shape: workload -> ``gw`` (random middleware) -> ``svc`` (2-3 endpoints with
random shares, work, after-work, error rates and codes; calls to ``db``
with a random probability) -> ``pay`` (an external with random latency, error
rate, concurrency and rate limit), called once per request with a random
retry policy, idempotent or not.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim

CODES = ["unavailable", "deadline_exceeded", "resource_exhausted", "internal", "invalid_argument",
         "unauthenticated"]
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def ms(low: int, high: int):
    return st.integers(low, high).map(lambda v: f"{v}ms")


@st.composite
def middleware(draw):
    layers = []
    for i in range(draw(st.integers(0, 3))):
        layer = {"name": f"m{i}", "work": draw(ms(0, 3)), "after": {"work": draw(ms(0, 2))}}
        kind = draw(st.sampled_from(["none", "reject", "limit"]))
        if kind == "reject":
            layer["reject_ratio"] = draw(st.sampled_from([0.0, 0.1, 0.5]))
        elif kind == "limit":
            layer["rate_limit"] = {"rate": draw(st.sampled_from([1, 5, 50])),
                                   "burst": draw(st.integers(1, 5))}
        layers.append(layer)
    return layers


@st.composite
def scenarios(draw):
    idempotent = draw(st.booleans())
    retry = {"max_attempts": draw(st.integers(1, 4)),
             "backoff": {"type": "constant", "delay": draw(ms(0, 50))}}
    if draw(st.booleans()):
        retry["retry_on"] = draw(st.lists(st.sampled_from(CODES + ["timeout", "rejected", "error"]),
                                          min_size=1, max_size=3, unique=True))
    pay_call = {"to": "pay", "name": "charge", "idempotent": idempotent, "retry": retry,
                "timeout": draw(ms(20, 400))}
    endpoints = {}
    for i in range(draw(st.integers(2, 3))):
        ep = {"share": draw(st.sampled_from([0, 0.5, 1, 3])), "work": draw(ms(0, 5)),
              "after": {"work": draw(ms(0, 3)), "io": draw(ms(0, 5))},
              "error_rate": draw(st.sampled_from([0.0, 0.05, 0.3])),
              "error_status": draw(st.sampled_from(CODES))}
        ep["calls"] = [{"to": "db", "probability": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))}]
        if i == 0:
            ep["calls"].append(pay_call)
        endpoints[f"e{i}"] = ep
    if all(ep["share"] == 0 for ep in endpoints.values()):
        endpoints["e0"]["share"] = 1
    pay = {"latency": draw(st.sampled_from(["30ms", {"dist": "exponential", "mean": "80ms"}])),
           "error_rate": draw(st.sampled_from([0.0, 0.1, 0.5])),
           "error_status": draw(st.sampled_from(CODES))}
    if not idempotent or draw(st.booleans()):  # refusals are what a non-idempotent call retries
        pay["concurrency"] = draw(st.integers(1, 5))
    if draw(st.booleans()):
        pay["rate_limit"] = {"rate": draw(st.sampled_from([2, 10])), "burst": draw(st.integers(1, 4))}
    target = draw(st.sampled_from(["gw", "svc", "svc/e0", "svc/e1"]))
    return {
        "name": "props12", "duration": draw(st.floats(3, 10)), "sample_interval": 1,
        "workload": {"load": {"target": target,
                              "arrivals": {"rate": draw(st.sampled_from([5, 20, 60])),
                                           "process": draw(st.sampled_from(["poisson", "deterministic"]))}}},
        "services": {
            "gw": {"replicas": draw(st.integers(1, 2)),
                   "pod": {"cpu": 1, "workers": draw(st.integers(1, 8)), "queue": draw(st.sampled_from([0, 4, None])),
                           "work": draw(ms(0, 2))},
                   "middleware": draw(middleware()), "calls": [{"to": "svc"}]},
            "svc": {"replicas": draw(st.integers(1, 2)),
                    "pod": {"cpu": 1, "workers": draw(st.integers(1, 8)), "work": "1ms"},
                    "middleware": draw(middleware()), "endpoints": endpoints},
            "db": {"pod": {"cpu": 2, "workers": 8, "work": "1ms"}},
        },
        "external": {"pay": pay},
    }


def check(scenario, result) -> None:
    req, calls, s = result.requests, result.calls, result.summary
    # every request ends once, as its entry hop ended
    assert req["request_id"].tolist() == list(range(len(req)))
    entry = calls[calls["caller"] == "load"].sort_values(["request_id", "attempt"])
    last = entry.groupby("request_id").tail(1).set_index("request_id").loc[req["request_id"]]
    assert (last["status"].astype(str).to_numpy() == req["status"].astype(str).to_numpy()).all()
    # codes agree with statuses
    status, code = calls["status"].astype(str), calls["code"].astype(str)
    assert ((status == "ok") == (code == "ok")).all()
    assert ((status == "unfinished") == (code == "")).all()
    assert (code[status == "timeout"] == "deadline_exceeded").all()
    # endpoints: every attempt to svc has one of its endpoints, nobody else has one
    to_svc = calls["service"] == "svc"
    assert calls.loc[to_svc, "endpoint"].astype(str).isin(list(scenario.services["svc"].endpoints)).all()
    assert calls.loc[~to_svc, "endpoint"].isna().all()
    zero = [n for n, ep in scenario.services["svc"].endpoints.items() if ep.share == 0]
    if scenario.workload["load"].target.startswith("svc/"):
        named = scenario.workload["load"].target.split("/")[1]
        assert set(calls.loc[to_svc, "endpoint"].astype(str)) <= {named}
    else:
        assert not calls.loc[to_svc, "endpoint"].astype(str).isin(zero).any()
    svc = s["services"]["svc"]
    eps = svc["endpoints"].values()
    assert sum(e["arrivals"] for e in eps) == svc["arrivals"]
    assert sum(e["ok"] for e in eps) == svc["ok"]
    assert sum(e["failed"] for e in eps) == svc["timeout"] + svc["error"] + svc["rejected"] \
        - svc["bulkhead_full"] - _unreached_failures(calls, scenario)
    # the external: no pods, no pod-seconds, its rows add up
    to_pay = calls[calls["service"] == "pay"]
    assert to_pay["pod"].isna().all()
    assert s["pod_seconds"] == sum(v["pod_seconds"] for v in s["services"].values())
    assert s["external"]["pay"]["attempts"] == len(to_pay[to_pay["sent_s"] >= scenario.warmup])
    # retries: never beyond max_attempts; a non-idempotent call only after a refusal
    spec = scenario.services["svc"].endpoints["e0"].calls[1]
    assert (to_pay["attempt"] <= spec.retry.max_attempts).all()
    if not spec.idempotent:
        by_request = to_pay.sort_values(["request_id", "attempt"]).groupby("request_id")
        for _rid, rows in by_request:
            statuses = rows["status"].astype(str).tolist()
            assert all(st_ == "rejected" for st_ in statuses[:-1]), statuses
        assert s["call_sites"]["charge"]["duplicates"] == 0
    # processed twice is only possible with more than one attempt
    once = to_pay.groupby("request_id")["attempt"].max() == 1
    assert s["call_sites"]["charge"]["duplicates"] <= int((~once).sum())


def _unreached_failures(calls, scenario) -> int:
    """Failed attempts to svc that never reached it (timed out on the way
    there): counted by the service, by no endpoint."""
    rows = calls[(calls["service"] == "svc") & (calls["sent_s"] >= scenario.warmup)]
    failed = rows["status"].astype(str).isin(["timeout", "error", "rejected"])
    return int((failed & rows["arrived_s"].isna()).sum())


@SETTINGS
@given(spec=scenarios(), seed=st.integers(0, 2**31 - 1))
def test_runs_with_endpoints_middleware_and_externals_keep_their_books(spec, seed):
    scenario = sim.load(spec)
    assert sim.load(scenario.to_dict()) == scenario   # the resolved form loads back the same
    result = sim.run(scenario, seed=seed)
    check(scenario, result)


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=scenarios(), seed=st.integers(0, 2**31 - 1))
def test_same_seed_same_run_with_the_new_blocks(spec, seed):
    a, b = sim.run(spec, seed=seed), sim.run(spec, seed=seed)
    assert a.calls.equals(b.calls) and a.requests.equals(b.requests)
    assert np.array_equal(a.timeseries["ok"].to_numpy(), b.timeseries["ok"].to_numpy())
