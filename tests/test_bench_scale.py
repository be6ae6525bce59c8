"""``podsim bench --scale``: the table's and the JSON's shape on tiny runs (no timing assertions:
performance targets live in the benchmark itself)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.bench import scale
from sim.cli import main
from sim.spec import load

LEVELS = ("summary", "full")
REFERENCE = Path(__file__).resolve().parents[1] / "models" / "reference.yaml"


@pytest.fixture(scope="module")
def report():
    return scale.bench_scale(durations_s=[4.0, 2.0], levels=LEVELS, say=None)


def test_every_level_and_duration_is_measured_in_order(report):
    assert [(r["level"], r["duration_s"]) for r in report["runs"]] == [
        ("summary", 2.0), ("summary", 4.0), ("full", 2.0), ("full", 4.0)]
    assert report["interrupted"] is False and report["rate_rps"] == 2000.0
    for run in report["runs"]:
        for key in ("requests", "hops", "events", "wall_s", "peak_rss_mb", "base_rss_mb"):
            assert run[key] > 0, key
        assert run["hops"] >= run["requests"]
    for level in LEVELS:
        short, long = [r for r in report["runs"] if r["level"] == level]
        assert long["requests"] > short["requests"] and long["events"] > short["events"]
        assert short["rss_growth"] == 0.0
        assert long["rss_growth"] == pytest.approx(long["peak_rss_mb"] / short["peak_rss_mb"] - 1)


def test_verdict_compares_the_longest_summary_run_with_the_shortest(report):
    v = report["verdict"]
    assert (v["shortest_s"], v["longest_s"]) == (2.0, 4.0)
    assert v["met"] == (v["within_growth_limit"] and v["under_rss_limit"])
    assert v["growth"] == pytest.approx(v["longest_mb"] / v["shortest_mb"] - 1)


def test_table_has_a_row_per_run_and_a_verdict_line(report):
    text = scale.format_scale_report(report)
    lines = text.splitlines()
    assert lines[0].startswith("scale: reference.yaml at 2,000 requests/s")
    assert lines[1].split() == ["record", "sim", "min", "requests", "hops", "events", "wall", "s", "peak",
                                "MB", "growth"]
    rows = [line.split() for line in lines[2:6]]
    assert [row[0] for row in rows] == ["summary", "summary", "full", "full"]
    assert [row[-1] for row in rows][::2] == ["-", "-"]
    assert lines[-1].startswith("verdict (record: summary") and lines[-1].split(": ")[2][:3] in ("yes", "no ")


def test_cli_prints_one_json_object(capsys):
    code = main(["bench", "--scale", "--json", "--scale-durations", "1s,2s", "--scale-levels", "summary"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 0
    assert [r["duration_s"] for r in report["runs"]] == [1.0, 2.0]
    assert report["verdict"]["level"] == "summary"
    assert "scale 1/2: record summary, 1s simulated" in captured.err


def test_one_level_or_one_duration_gives_no_verdict():
    runs = [{"level": "full", "duration_s": 1.0, "peak_rss_mb": 100.0},
            {"level": "full", "duration_s": 2.0, "peak_rss_mb": 200.0},
            {"level": "summary", "duration_s": 1.0, "peak_rss_mb": 100.0}]
    assert scale.verdict(runs) is None
    v = scale.verdict(runs + [{"level": "summary", "duration_s": 4.0, "peak_rss_mb": 111.0}])
    assert v["within_growth_limit"] is False and v["under_rss_limit"] is True and v["met"] is False


def test_every_default_duration_is_a_valid_scenario():
    for duration_s in (*scale.DEFAULT_DURATIONS_S, 1.0):
        spec = load(REFERENCE, scale.scale_overrides(duration_s))
        assert spec.duration == duration_s and spec.warmup < spec.duration and spec.faults == []
        assert spec.workload["shoppers"].arrivals.rate_points()[1].tolist() == [2000.0]


def test_ctrl_c_kills_the_child_and_keeps_what_was_measured(monkeypatch):
    class Child:
        calls = 0

        def __init__(self):
            self.returncode, self.killed = None, False

        def communicate(self):
            Child.calls += 1
            if Child.calls == 2:
                raise KeyboardInterrupt
            self.returncode = 0
            return json.dumps({"level": "summary", "duration_s": 1.0, "requests": 10, "hops": 50,
                               "events": 100, "wall_s": 0.1, "peak_rss_mb": 100.0}) + "\n", None

        def poll(self):
            return self.returncode

        def kill(self):
            self.killed = True

        def wait(self):
            self.returncode = -9

    children = []
    monkeypatch.setattr(scale, "_child", lambda *a: children.append(Child()) or children[-1])
    report = scale.bench_scale(durations_s=[1.0, 2.0], levels=["summary"], say=None)
    assert report["interrupted"] is True and len(report["runs"]) == 1
    assert children[1].killed and not children[0].killed
    assert "interrupted: 1 runs measured" in scale.format_scale_report(report)


def test_a_child_stopped_by_ctrl_c_counts_as_an_interruption(monkeypatch):
    class Child:
        returncode = 130

        def communicate(self):
            return "", None

        def poll(self):
            return self.returncode

    monkeypatch.setattr(scale, "_child", lambda *a: Child())
    report = scale.bench_scale(durations_s=[1.0], levels=["summary"], say=None)
    assert report["interrupted"] is True and report["runs"] == [] and report["verdict"] is None


def test_a_run_too_big_for_memory_is_refused_before_any_child_starts(monkeypatch, capsys):
    """As ``podsim run`` does: 100 simulated hours at record: full is refused
    up front with the message naming record: summary (exit 2), no child run."""
    def no_child(*args, **kwargs):
        raise AssertionError("a child run started")
    monkeypatch.setattr(scale, "_child", no_child)
    code = main(["bench", "--scale", "--scale-durations", "100h", "--scale-levels", "full"])
    err = capsys.readouterr().err
    assert code == 2 and "not running: with record: full" in err and "record: summary" in err
    assert "the 100h run at record: full" in err and "Traceback" not in err
