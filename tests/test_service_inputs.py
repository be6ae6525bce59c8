"""Bad input in the blocks of issue 12: endpoints, ``after``, middleware, rate
limits, externals, ``to: service/endpoint``, call ``probability``/``name``/
``idempotent`` and ``retry_on`` code families.

Each case mutates one small valid scenario (a gateway with two middleware
layers calling ``cart``, whose endpoints ``get``/``post`` call ``db`` and the
external ``payment``), runs ``podsim check`` in process and asserts exit 2
with a problem line naming the field's path and saying something specific.
"""
from __future__ import annotations

import re
from typing import Callable

import pytest
import yaml

from scenario_helpers import check_variant, cli, problem_lines

BASE = {
    "name": "shop",
    "duration": "10s",
    "workload": {"shoppers": {"target": "gateway", "arrivals": {"rate": 5}}},
    "services": {
        "gateway": {
            "pod": {"work": "1ms"},
            "middleware": [
                {"name": "auth", "work": "100us", "reject_ratio": 0.01, "status": "unauthenticated"},
                {"name": "limit", "rate_limit": {"rate": 100, "burst": 10}},
            ],
            "calls": [{"to": "cart", "timeout": "1s"}],
        },
        "cart": {
            "pod": {"work": "1ms"},
            "endpoints": {
                "get": {"share": 0.8, "calls": [{"to": "db", "probability": 0.1}]},
                "post": {
                    "share": 0.2,
                    "calls": [
                        {"to": "db"},
                        {"to": "payment", "name": "charge", "idempotent": False,
                         "retry": {"max_attempts": 2, "retry_on": ["unavailable"]}},
                    ],
                    "after": {"work": "1ms"},
                    "error_rate": 0.01,
                    "error_status": "invalid_argument",
                },
            },
        },
        "db": {"pod": {"work": "2ms"}},
    },
    "external": {
        "payment": {"latency": "50ms", "error_rate": 0.02, "concurrency": 10,
                    "rate_limit": {"rate": 100, "burst": 5}},
    },
}



# ----------------------------------------------------------------------------- helpers
def gateway(raw):
    return raw["services"]["gateway"]


def call0(raw):
    return gateway(raw)["calls"][0]


def endpoints(raw):
    return raw["services"]["cart"]["endpoints"]


def charge(raw):
    return endpoints(raw)["post"]["calls"][1]


def layer(raw, i):
    return gateway(raw)["middleware"][i]


def payment(raw):
    return raw["external"]["payment"]


def check(tmp_path, capsys, mutate: Callable[[dict], object]) -> tuple[int, str]:
    return check_variant(tmp_path, capsys, BASE, mutate)


def problems(output: str) -> list[tuple[str, str]]:
    return problem_lines(output)


# ----------------------------------------------------------------------------- the happy path
VALID = [
    ("base", lambda raw: None),
    ("call-to-endpoint", lambda raw: call0(raw).update(to="cart/get")),
    ("workload-to-endpoint", lambda raw: raw["workload"]["shoppers"].update(target="cart/post")),
    ("endpoint-name-dots-dashes", lambda raw: endpoints(raw).update({"get-v2.1": {"share": 0}})),
    ("one-share-zero", lambda raw: endpoints(raw)["get"].update(share=0)),
    ("endpoint-empty", lambda raw: endpoints(raw).update(get={})),
    ("legacy-retry-on", lambda raw: charge(raw)["retry"].update(retry_on=["timeout", "rejected", "error"])),
    ("hedge-idempotent", lambda raw: call0(raw).update(hedge={"delay": "10ms"}, name="to-cart")),
    ("probability-bounds", lambda raw: (call0(raw).update(probability=1),
                                        endpoints(raw)["get"]["calls"][0].update(probability=0))),
    ("external-minimal", lambda raw: raw["external"].update(tax={"latency": "5ms"})),
    ("middleware-status", lambda raw: layer(raw, 1).update(status="unavailable")),
]


@pytest.mark.parametrize("mutate", [m for _, m in VALID], ids=[i for i, _ in VALID])
def test_a_valid_variant_checks(tmp_path, capsys, mutate):
    code, output = check(tmp_path, capsys, mutate)
    assert code == 0, output
    assert "ok (" in output


def test_the_base_scenario_runs(tmp_path, capsys):
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(BASE, sort_keys=False))
    code, out, err = cli(capsys, "run", path)
    assert code == 0, out + err
    assert "payment" in out


# ----------------------------------------------------------------------------- bad input
EP = "services.cart.endpoints"
POST_CALL = f"{EP}.post.calls.1"
ALLOWED_CODES = r"(did you mean 'unavailable'|'unavailable')"

# (id, mutation, paths accepted, message pattern (re.search, on the message), marks)
# A path "A|B" accepts either; a model-level rule reported on its block (the
# service) is accepted when the message names the key it is about.
CASES = [
    ("share-negative", lambda r: endpoints(r)["get"].update(share=-1),
     f"{EP}.get.share", r"must be >= 0", ()),
    ("all-shares-zero", lambda r: (endpoints(r)["get"].update(share=0), endpoints(r)["post"].update(share=0)),
     f"{EP}|services.cart", r"at least one (endpoint's )?share must be above 0", ()),
    ("error-rate-above-one", lambda r: endpoints(r)["post"].update(error_rate=1.5),
     f"{EP}.post.error_rate", r"must be <= 1", ()),
    ("error-status-typo", lambda r: endpoints(r)["post"].update(error_status="unavalable"),
     f"{EP}.post.error_status", ALLOWED_CODES, ()),
    ("endpoint-unknown-key", lambda r: endpoints(r)["get"].update(shares=1),
     f"{EP}.get.shares", r"unknown key; did you mean 'share'\?", ()),
    ("endpoint-name-with-space", lambda r: endpoints(r).update({"get all": {"share": 1}}),
     f"{EP}|services.cart", r"endpoint names must be letters, digits.*'get all'", ()),
    ("to-endpoint-typo", lambda r: call0(r).update(to="cart/gte"),
     "services.gateway.calls.0.to", r"no endpoint of 'cart' named 'gte'; did you mean 'get'\?", ()),
    ("to-endpoint-of-service-without-endpoints", lambda r: call0(r).update(to="db/get"),
     "services.gateway.calls.0.to", r"service 'db' has no endpoints: call it as 'db'", ()),
    ("to-endpoint-of-external", lambda r: call0(r).update(to="payment/charge"),
     "services.gateway.calls.0.to", r"'payment' is not a service: only services have endpoints", ()),
    ("workload-enters-external", lambda r: r["workload"]["shoppers"].update(target="payment"),
     "workload.shoppers.target", r"'payment' is an external dependency: a workload enters the cluster "
                                 r"at a service", ()),
    ("unknown-target-with-externals", lambda r: call0(r).update(to="carts"),
     "services.gateway.calls.0.to", r"no service or external named 'carts'; did you mean 'cart'\? "
                                    r"\(known: cart, db, gateway, payment\)", ()),
    ("external-without-latency", lambda r: payment(r).pop("latency"),
     "external.payment.latency", r"^required$", ()),
    ("external-concurrency-zero", lambda r: payment(r).update(concurrency=0),
     "external.payment.concurrency", r"must be >= 1", ()),
    ("external-concurrency-huge", lambda r: payment(r).update(concurrency=1e308),
     "external.payment.concurrency", r"must be a whole number|too (large|big)|must be <=", ()),
    ("external-rate-zero", lambda r: payment(r).update(rate_limit={"rate": 0}),
     "external.payment.rate_limit.rate", r"must be > 0", ()),
    ("external-named-like-a-service", lambda r: r["external"].update(db={"latency": "10ms"}),
     "external.db|external", r"external dependency may not share a name with a service or workload: 'db'", ()),
    ("middleware-duplicate-names", lambda r: layer(r, 1).update(name="auth"),
     "services.gateway.middleware|services.gateway", r"(layer|middleware) names must differ.*'auth'", ()),
    ("middleware-reject-ratio-and-rate-limit", lambda r: layer(r, 0).update(rate_limit={"rate": 10}),
     "services.gateway.middleware.0", r"reject_ratio or by rate_limit, not both", ()),
    ("middleware-reject-ratio-two", lambda r: layer(r, 0).update(reject_ratio=2),
     "services.gateway.middleware.0.reject_ratio", r"must be <= 1", ()),
    ("middleware-status-unknown", lambda r: layer(r, 0).update(status="nope"),
     "services.gateway.middleware.0.status", r"must be one of .*'unauthenticated'", ()),
    ("middleware-burst-zero", lambda r: layer(r, 1).update(rate_limit={"rate": 10, "burst": 0}),
     "services.gateway.middleware.1.rate_limit.burst", r"must be >= 1", ()),
    ("call-probability-above-one", lambda r: call0(r).update(probability=1.2),
     "services.gateway.calls.0.probability", r"must be <= 1", ()),
    ("call-names-twice", lambda r: call0(r).update(name="charge"),
     f"services.gateway.calls.0.name|{POST_CALL}.name", r"'charge' is already used at .*unique", ()),
    ("call-name-with-space", lambda r: call0(r).update(name="bad name!"),
     "services.gateway.calls.0.name", r"letters, digits", ()),
    ("to-empty-endpoint", lambda r: call0(r).update(to="cart/"),
     "services.gateway.calls.0.to", r"no endpoint after '/'", ()),
    ("not-idempotent-and-hedged", lambda r: charge(r).update(hedge={"delay": "10ms"}),
     POST_CALL, r"non-idempotent call \(idempotent: false\) may not be hedged", ()),
    ("retry-on-typo", lambda r: charge(r)["retry"].update(retry_on=["unavailble"]),
     f"{POST_CALL}.retry.retry_on.0", ALLOWED_CODES, ()),
    ("retry-on-empty", lambda r: charge(r)["retry"].update(retry_on=[]),
     f"{POST_CALL}.retry.retry_on", r"needs at least 1 item", ()),
]


@pytest.mark.parametrize("mutate,where,pattern",
                         [pytest.param(m, w, p, id=i, marks=marks) for i, m, w, p, marks in CASES])
def test_bad_input_is_named_and_explained(tmp_path, capsys, mutate, where, pattern):
    code, output = check(tmp_path, capsys, mutate)
    assert code == 2, output
    found = problems(output)
    assert found, output
    assert not any("literal[" in path or "(top level)" in path for path, _ in found), output
    paths = where.split("|")
    assert any(path in paths and re.search(pattern, message) for path, message in found), \
        f"no problem at {where} matching {pattern!r}:\n{output}"
