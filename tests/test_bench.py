"""``podsim bench``: one home (``sim.bench``), the same reports as before."""
from __future__ import annotations

import json
from pathlib import Path

from sim.bench import throughput
from sim.bench.sweep import bench_sweep, format_sweep_report
from sim.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_throughput_bench_prints_one_json_object(capsys, tmp_path: Path):
    code = main(["bench", "--json", "--requests", "3000", "--repeats", "1",
                 "--reference", str(tmp_path / "absent.yaml")])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(report) == {"baseline", "mmc", "bytes_per_request", "peak_rss_mb"}
    assert report["baseline"]["requests"] > 2000
    assert 0 < report["mmc"]["ratio_to_baseline"] == (report["mmc"]["requests_per_s"]
                                                      / report["baseline"]["requests_per_s"])


def test_reference_model_is_found_from_any_directory(monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    assert throughput._default_reference() == REPO / "models" / "reference.yaml"


def test_sweep_bench_times_the_same_runs_three_ways():
    report = bench_sweep(runs=4, repeats=1, duration_s=60.0)
    assert report["runs"] == 4
    for key in ("bare_s", "jobs_1_s", "jobs_2_s", "bare_2_processes_s"):
        assert report[key] > 0
    assert report["speedup_1_to_2"] == report["jobs_1_s"] / report["jobs_2_s"]
    text = format_sweep_report(report)
    assert text.startswith("sweep of 4 runs") and "speedup 1 -> 2 jobs" in text
