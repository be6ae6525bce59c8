"""``podsim run --out DIR``: the files of a run and their contract (docs/reference.md).

One shortened run of ``models/reference.yaml`` (3 simulated minutes) is shared
by the tests of this module.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim.cli import main
from sim.record.keys import flatten_summary, summary_keys

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "models" / "reference.yaml"
MMC = ROOT / "models" / "mmc.yaml"
OVERRIDES = {"duration": "3m", "warmup": "30s", "faults.0.at": "90s", "faults.0.for": "30s",
             "windows.early": {"from": "30s", "to": "60s"}}
SEED = 11

TOP_KEYS = {"scenario", "seed", "duration_s", "warmup_s", "wall_s", "events", "requests",
            "offered_rps", "goodput_rps", "success_ratio", "attempts_per_request", "latency_s",
            "services", "latency_all_s", "slo", "windows", "pod_seconds", "hops_per_request"}
REQUEST_KEYS = {"total", "ok", "failed", "timeout", "rejected", "error", "breaker_open", "throttled",
                "budget_exhausted"}
LATENCY_KEYS = {"mean", "p50", "p90", "p95", "p99", "p999", "max"}
SERVICE_KEYS = {"arrivals", "ok", "rejected", "timeout", "error", "waited_ratio", "queue_wait_s",
                "latency_s", "cpu_utilization", "replicas", "pod_seconds", "restarts", "scale_ups",
                "scale_downs"}
COLUMNS = {
    "requests": ["request_id", "workload", "arrival_s", "end_s", "status", "attempts", "latency_s"],
    "calls": ["request_id", "caller", "service", "attempt", "pod", "sent_s", "started_s", "ended_s",
              "status"],
    "timeseries": ["t_s", "service", "arrivals", "ok", "failed", "latency_p50_s", "latency_p99_s",
                   "replicas", "ready_replicas", "desired_replicas", "cpu_utilization",
                   "queue_length", "in_flight"],
    "events": ["t_s", "service", "pod", "kind", "detail"],
}


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    """``podsim run`` of the shortened reference: (output dir, printed table)."""
    out = tmp_path_factory.mktemp("run")
    argv = ["run", str(REFERENCE), "--seed", str(SEED), "--out", str(out)]
    for path, value in OVERRIDES.items():
        argv += ["--set", f"{path}={value}"]
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture):
        code = main(argv)
    assert code == 0
    return out, capture.getvalue()


@pytest.fixture(scope="module")
def run_dir(run_output):
    return run_output[0]


@pytest.fixture(scope="module")
def summary(run_dir) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_run_writes_every_file(run_dir):
    names = {p.name for p in run_dir.iterdir() if not p.name.startswith(".")}
    assert names >= {"summary.json", "requests.parquet", "calls.parquet", "timeseries.parquet",
                     "events.parquet", "scenario.yaml"}
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_summary_has_every_key_of_the_contract(summary):
    assert TOP_KEYS <= set(summary)
    assert REQUEST_KEYS <= set(summary["requests"])
    assert LATENCY_KEYS <= set(summary["latency_s"])
    assert set(summary["services"]) == {"frontend", "users", "db", "prices", "stock"}
    for name, service in summary["services"].items():
        assert SERVICE_KEYS <= set(service), name
        assert {"mean", "p99"} <= set(service["queue_wait_s"])
        assert {"mean", "p50", "p99"} <= set(service["latency_s"])
        assert {"mean", "min", "max", "final"} <= set(service["replicas"])
    assert summary["scenario"] == "reference" and summary["seed"] == SEED
    assert summary["duration_s"] == 180.0 and summary["warmup_s"] == 30.0


def test_summary_values_are_sane_and_consistent(summary):
    r = summary["requests"]
    assert r["total"] > 1000
    assert r["failed"] == sum(r[k] for k in REQUEST_KEYS - {"total", "ok", "failed"})
    assert r["total"] == r["ok"] + r["failed"] + r.get("unfinished", 0)
    window = summary["duration_s"] - summary["warmup_s"]
    assert summary["offered_rps"] == pytest.approx(r["total"] / window)
    assert summary["goodput_rps"] == pytest.approx(r["ok"] / window)
    assert summary["success_ratio"] == pytest.approx(r["ok"] / r["total"])
    lat = summary["latency_s"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["p999"] <= lat["max"]
    for name, s in summary["services"].items():
        assert s["replicas"]["min"] <= s["replicas"]["mean"] <= s["replicas"]["max"], name
        assert 0 <= s["waited_ratio"] <= 1 and s["queue_wait_s"]["mean"] >= 0
        assert s["pod_seconds"] == pytest.approx(s["replicas"]["mean"] * window)
        assert 0 < s["cpu_utilization"]


def test_summary_agrees_with_the_tables(run_dir, summary):
    req = pd.read_parquet(run_dir / "requests.parquet")
    warmup, end = summary["warmup_s"], summary["duration_s"]
    window = req[(req["arrival_s"] >= warmup) & (req["arrival_s"] < end)]
    assert len(window) == summary["requests"]["total"]
    assert int((window["status"] == "ok").sum()) == summary["requests"]["ok"]
    ok = window.loc[window["status"] == "ok", "latency_s"]
    assert summary["latency_s"]["mean"] == pytest.approx(ok.mean(), rel=1e-12)
    assert summary["latency_s"]["max"] == pytest.approx(ok.max(), rel=1e-12)
    calls = pd.read_parquet(run_dir / "calls.parquet")
    sent = calls[(calls["sent_s"] >= warmup) & (calls["sent_s"] < end)]
    for name, s in summary["services"].items():
        mine = sent[sent["service"] == name]
        assert s["arrivals"] == int(mine["arrived_s"].notna().sum()), name
        assert s["ok"] == int((mine["status"] == "ok").sum()), name


def test_summary_keys_are_the_declared_ones(run_dir, summary):
    """summary.json has exactly the keys sim.record.keys declares for its scenario."""
    assert list(flatten_summary(summary)) == summary_keys(sim.load(run_dir / "scenario.yaml"))


def test_latency_of_every_request_slo_and_windows_agree_with_the_requests_table(run_dir, summary):
    req = pd.read_parquet(run_dir / "requests.parquet")
    warmup, end = summary["warmup_s"], summary["duration_s"]

    def arrived(lo, hi):
        return req[(req["arrival_s"] >= lo) & (req["arrival_s"] < hi)]

    window = arrived(warmup, end)
    finished = window[window["status"] != "unfinished"]
    assert summary["latency_all_s"]["mean"] == pytest.approx(finished["latency_s"].mean(), rel=1e-12)
    assert summary["latency_all_s"]["max"] == pytest.approx(finished["latency_s"].max(), rel=1e-12)
    good = ((window["status"] == "ok") & (window["latency_s"] <= 1.0)).sum()
    slo = summary["slo"]
    assert (slo["requests"], slo["good"], slo["bad"]) == (len(window), good, len(window) - good)
    assert slo["workload"]["shoppers"]["requests"] == (window["workload"] == "shoppers").sum()
    assert list(summary["windows"]) == ["early", "fault.0", "after.fault.0"]
    for name, (lo, hi) in {"early": (30.0, 60.0), "fault.0": (90.0, 120.0),
                           "after.fault.0": (120.0, 180.0)}.items():
        w, rows = summary["windows"][name], arrived(lo, hi)
        assert (w["from_s"], w["to_s"]) == (lo, hi), name
        assert w["requests"]["total"] == len(rows), name
        assert w["requests"]["ok"] == (rows["status"] == "ok").sum(), name
        assert w["goodput_rps"] == pytest.approx((rows["status"] == "ok").sum() / (hi - lo)), name


def test_the_printed_table_has_the_services_the_footer_and_the_windows(run_output, summary):
    printed = run_output[1]
    for name in summary["services"]:
        assert any(line.startswith(name + " ") for line in printed.splitlines()), name
    assert "refused: attempts its callers never sent" in " ".join(printed.split())
    assert "after.fault.0" in printed and "slo       ok within 1s" in printed


def test_parquet_tables_have_the_listed_columns(run_dir):
    for name, columns in COLUMNS.items():
        frame = pd.read_parquet(run_dir / f"{name}.parquet")
        assert set(columns) <= set(frame.columns), (name, list(frame.columns))
        assert len(frame) > 0, name
    events = pd.read_parquet(run_dir / "events.parquet")
    kinds = set(events["kind"].astype(str))
    assert {"pod_created", "pod_started", "pod_ready"} <= kinds
    # every initial replica was created at t=0 (more may follow: restarts, scaling)
    initial = sum(s.replicas for s in sim.load(REFERENCE).services.values())
    created = events[events["kind"].astype(str) == "pod_created"]
    assert (created["t_s"] == 0.0).sum() == initial
    ts = pd.read_parquet(run_dir / "timeseries.parquet")
    assert set(ts["service"].astype(str)) == {"frontend", "users", "db", "prices", "stock"}
    assert sorted(ts["t_s"].unique()) == pytest.approx(list(np.arange(10.0, 181.0, 10.0)))


def assert_same_table(written: pd.DataFrame, fresh: pd.DataFrame, name: str) -> None:
    """Same columns and values (categoricals by their labels; NaN equals NaN)."""
    assert list(written.columns) == list(fresh.columns), name
    assert len(written) == len(fresh), name
    for column in written.columns:
        a, b = written[column], fresh[column]
        if isinstance(b.dtype, pd.CategoricalDtype) or b.dtype == object:
            a, b = a.astype(object).fillna("<NA>").astype(str), b.astype(object).fillna("<NA>").astype(str)
            assert (a.to_numpy() == b.to_numpy()).all(), (name, column)
        else:
            np.testing.assert_array_equal(a.to_numpy(), b.to_numpy(), err_msg=f"{name}.{column}")


def test_scenario_yaml_loads_back_and_reproduces_the_run(run_dir, summary):
    written = sim.load(run_dir / "scenario.yaml")
    assert written == sim.load(REFERENCE, overrides=OVERRIDES)
    assert written.duration == 180.0 and written.warmup == 30.0
    # the resolved scenario reproduces the run: same summary, same tables as written
    rerun = sim.run(written, seed=SEED)
    drop = lambda s: {k: v for k, v in json.loads(json.dumps(s)).items() if k != "wall_s"}
    assert drop(rerun.summary) == drop(summary)
    for name in COLUMNS:
        assert_same_table(pd.read_parquet(run_dir / f"{name}.parquet"), getattr(rerun, name), name)


def test_resolved_scenario_keeps_an_unbounded_queue(tmp_path):
    """``queue: null`` (unbounded) must survive the round trip (its default is 128)."""
    scenario = sim.load(MMC)
    assert scenario.services["queue"].pod.queue is None
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario.to_dict(), sort_keys=False))
    again = sim.load(path)
    assert again.services["queue"].pod.queue is None
    assert again == scenario
    # overrides on a loaded Scenario go through the same resolved form
    assert sim.load(scenario, overrides={"duration": "3h"}).services["queue"].pod.queue is None


def test_load_with_overrides_and_from_a_plain_dict():
    base = sim.load(MMC)
    changed = sim.load(MMC, overrides={"services.queue.pod.workers": 4, "duration": "30m",
                                       "workload.clients.arrivals.rate": 2.5})
    assert changed.services["queue"].pod.workers == 4 and base.services["queue"].pod.workers == 8
    assert changed.duration == 1800.0
    assert changed.workload["clients"].arrivals.rate == 2.5
    raw = yaml.safe_load(MMC.read_text())
    from_dict = sim.load(raw)
    assert from_dict == base
    assert sim.load(base) is base
    # a plain dict runs like the file it came from
    short = {"duration": "20m", "warmup": "1m"}
    a = sim.run(sim.load(raw, overrides=short), seed=2).summary
    b = sim.run(sim.load(MMC, overrides=short), seed=2).summary
    assert a["requests"] == b["requests"] and a["latency_s"] == b["latency_s"]
    assert raw == yaml.safe_load(MMC.read_text())  # the caller's dict is not modified


def test_seed_option_changes_the_run(tmp_path, capsys):
    short = ["--set", "duration=10m", "--set", "warmup=1m"]
    for seed in (1, 2):
        assert main(["run", str(MMC), "--seed", str(seed), "--out", str(tmp_path / f"s{seed}"), *short]) == 0
    capsys.readouterr()
    s1 = json.loads((tmp_path / "s1" / "summary.json").read_text())
    s2 = json.loads((tmp_path / "s2" / "summary.json").read_text())
    assert (s1["seed"], s2["seed"]) == (1, 2)
    assert s1["requests"]["total"] != s2["requests"]["total"] or \
        s1["latency_s"]["mean"] != s2["latency_s"]["mean"]
    assert not math.isnan(s1["latency_s"]["mean"])
