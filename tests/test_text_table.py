"""The per-service text table of ``podsim run`` (:mod:`sim.record.text_table`)."""
from __future__ import annotations

import re

import sim
from sim.record.text_table import COLUMNS_FOOTER, summary_table


def breaker_scenario() -> dict:
    """``front`` calls ``back``, which is down for the whole run (fails at once).
    front's breaker (window 10, opens at 50 % failures, stays open 10 min) lets
    exactly 10 calls through; every later one is refused by the caller.
    Deterministic arrivals every 0.25 s for 30 s: 119 requests."""
    return {
        "name": "refused", "duration": 30,
        "workload": {"users": {"target": "front", "arrivals": {"rate": 4, "process": "deterministic"}}},
        "services": {
            "front": {"pod": {"work": "1ms"}, "calls": [{
                "to": "back", "retry": {"max_attempts": 1},
                "circuit_breaker": {"sliding_window_size": 10, "minimum_number_of_calls": 10,
                                    "wait_duration_in_open_state": "10m"}}]},
            "back": {"pod": {"work": "1ms"}}},
        "faults": [{"kind": "outage", "service": "back", "at": 0}],
    }


def _row(table: str, service: str) -> list[str]:
    return next(line.split() for line in table.splitlines() if line.startswith(service + " "))


def test_caller_side_refusals_are_not_failures_of_the_service():
    summary = sim.run(breaker_scenario(), seed=1).summary
    back = summary["services"]["back"]
    assert (back["error"], back["breaker_open"], back["arrivals"]) == (10, 109, 10)
    table = summary_table(summary)
    header = table.splitlines()[table.splitlines().index(next(
        line for line in table.splitlines() if line.startswith("service")))].split()
    row = dict(zip(header, _row(table, "back")))
    assert (row["arrivals"], row["ok"], row["failed"], row["refused"]) == ("10", "0", "10", "109")
    front = dict(zip(header, _row(table, "front")))
    assert (front["arrivals"], front["ok"], front["failed"], front["refused"]) == ("119", "0", "119", "0")


def test_the_footer_explains_every_column():
    summary = sim.run(breaker_scenario(), seed=1).summary
    table = summary_table(summary)
    footer = " ".join(table.split("\n\n")[2].splitlines())   # headline, services, footer, windows
    assert footer == COLUMNS_FOOTER
    header = next(line for line in table.splitlines() if line.startswith("service")).split()
    for column in header[1:]:
        assert f"{column}:" in footer or f"{column}/" in footer or f"/{column}:" in footer, column


def test_an_empty_wait_prints_as_zero_and_the_headline_shows_every_request_and_the_slo():
    summary = sim.run(breaker_scenario(), seed=1).summary
    summary["services"]["front"]["queue_wait_s"]["mean"] = 2.62e-9       # float noise
    table = summary_table(summary)
    assert not re.search(r"\dns\b", table)
    assert _row(table, "front")[6] == "0"
    assert "all: mean" in table                                         # latency_all_s
    assert "slo       ok within 1s: 0.0% (target 99%)  bad 119  error-budget burn 100.00x" in table


def test_one_line_per_window():
    summary = sim.run({**breaker_scenario(), "windows": {"late": {"from": 20, "to": 30}}}, seed=1).summary
    table = summary_table(summary)
    assert _row(table, "late")[:4] == ["late", "20s", "30s", "40"]   # arrivals 20.0 ... 29.75
    assert _row(table, "fault.0") == ["fault.0", "0s", "30s", "119", "0.0/s", "0.0%",
                                     "0.0%", "100.00x", "1ms"]     # no end: no after.fault.0
