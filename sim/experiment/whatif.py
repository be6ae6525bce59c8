"""The what-if tool behind ``notebooks/what-if.ipynb``: a few knobs of the
seed's Go service, turned into dotted-path overrides of a short scenario.

The scenario is ``models/seed-go-service.yaml`` compressed to five simulated
minutes: 20 requests/s, a spike to ``rate`` from 1m30s to 4m, and a 12x
slowdown of ``user-service`` from 2m30s for one minute. The knobs:

============  ==============================================================  =======
knob          what it sets                                                    default
============  ==============================================================  =======
rate          the spike's arrival rate (requests/s)                           60
hpa_target    go-service HPA CPU target (% of the request)                    70
min_replicas  go-service HPA minReplicas (and the replicas it starts with)    2
max_replicas  go-service HPA maxReplicas                                      10
attempts      retry max_attempts of go-service -> user-service                3
jitter        that retry's backoff jitter (none, full, equal, decorrelated)   full
timeout_ms    that call's per-attempt timeout (ms)                            300
breaker       that call's circuit breaker on (as in the model) or off         True
============  ==============================================================  =======
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import pandas as pd

MODEL = Path(__file__).resolve().parents[2] / "models" / "seed-go-service.yaml"
DEFAULTS: dict[str, Any] = {"rate": 60.0, "hpa_target": 70, "min_replicas": 2, "max_replicas": 10,
                            "attempts": 3, "jitter": "full", "timeout_ms": 300, "breaker": True}
SERVICE = "go-service"
CALL = f"services.{SERVICE}.calls.0"


def short_scenario(rate: float = DEFAULTS["rate"]) -> dict[str, Any]:
    """The overrides that compress the model to five minutes with a spike to ``rate``."""
    return {
        "duration": "5m", "warmup": "30s", "sample_interval": "5s",
        "workload.shoppers.arrivals": {"linear": True, "profile": [
            {"at": 0, "rate": 20}, {"at": "1m", "rate": 20}, {"at": "1m30s", "rate": rate},
            {"at": "4m", "rate": rate}, {"at": "4m15s", "rate": 20}]},
        "faults": [{"kind": "slowdown", "service": "user-service", "at": "2m30s", "for": "1m", "factor": 12}],
    }


def overrides(**knobs: Any) -> dict[str, Any]:
    """Dotted-path overrides for the knobs (unknown knobs are an error)."""
    unknown = set(knobs) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown knob(s) {sorted(unknown)}; known: {', '.join(DEFAULTS)}")
    k = {**DEFAULTS, **knobs}
    hpa = f"services.{SERVICE}.hpa"
    out = {**short_scenario(float(k["rate"])),
           f"{hpa}.metrics.0.resource.target.averageUtilization": int(k["hpa_target"]),
           f"{hpa}.minReplicas": int(k["min_replicas"]), f"{hpa}.maxReplicas": int(k["max_replicas"]),
           f"services.{SERVICE}.replicas": int(k["min_replicas"]),
           f"{CALL}.retry.max_attempts": int(k["attempts"]), f"{CALL}.retry.backoff.jitter": k["jitter"],
           f"{CALL}.timeout": float(k["timeout_ms"]) / 1000.0}
    if not k["breaker"]:
        out[f"{CALL}.circuit_breaker"] = None
    return out


def scenario(model: Union[str, Path, None] = None, **knobs: Any):
    """The validated scenario for the knobs."""
    from ..spec import load
    return load(str(model or MODEL), overrides(**knobs))


def run(seed: int = 1, replication: int = 0, model: Optional[Union[str, Path]] = None, **knobs: Any):
    """Simulate the five-minute scenario once; returns the :class:`sim.result.Result`."""
    from ..runner import run as simulate
    return simulate(scenario(model, **knobs), seed=seed, replication=replication)


def headline(summary: dict) -> pd.Series:
    """The numbers the what-if shows beside the timeline, with units in the names."""
    svc = summary["services"][SERVICE]
    lat = summary["latency_s"]
    every = summary.get("latency_all_s") or {}
    rows = {"requests": summary["requests"]["total"],
            "success (%)": 100 * (summary["success_ratio"] or 0.0),
            "goodput (req/s)": summary["goodput_rps"],
            "p99 latency, ok requests (ms)": 1000 * (lat["p99"] or float("nan")),
            "p99 latency, all requests (ms)": 1000 * (every.get("p99") or float("nan")),
            "attempts per request": summary["attempts_per_request"],
            f"{SERVICE} max replicas": svc["replicas"]["max"],
            "pod-seconds (all services)": sum(s["pod_seconds"] for s in summary["services"].values())}
    return pd.Series(rows).round(2)
