"""``podsim sweep`` end to end: progress, ranked table, a report that concludes
(Markdown and HTML), figures fit to present, ``podsim report`` rebuilding from
the stored runs, ``--until-precision``."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import sim
from sim.cli import main
from sim.experiment import load_experiment
from sim.experiment.cli import next_replications, precision_gap
from sim.experiment.labels import Labels
from sim.experiment.report import summary_for_report
from sim.plots import sweep as plots

from conftest import REPO, experiment, mmc_scenario


def test_cli_sweep_of_the_demo_experiment(tmp_path: Path, capsys):
    out = tmp_path / "mmc"
    code = main(["sweep", str(REPO / "experiments" / "mmc-servers.yaml"), "--out", str(out),
                 "--replications", "2", "--jobs", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "18/18" in captured.err                        # the progress bar reached the end
    assert "ranked by services.queue.queue_wait_s.mean (lower is better)" in captured.out
    assert f"report: {out / 'report.md'}" in captured.out
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 18 and (table["status"] == "ok").all()
    report = (out / "report.md").read_text()
    assert report.startswith("# mmc-servers")
    answer = report.split("## Answer", 1)[1].split("\n## ", 1)[0]
    assert "**Best by queue: mean queue wait: `c10`**" in answer       # written from the numbers, with units
    assert " ms (95% CI " in answer and "**clients arrival rate 5.5 req/s vs 4 req/s** (over all arms)" in answer
    for section in ("## Arms ranked by queue: mean queue wait", "## Ranking at each design point",
                    "## Factor effects", "## Paired differences against `c8`",
                    "## Simulation against queueing theory (M/M/c)"):
        assert section in report
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert {Path(l).name for l in links} >= {"cost-vs-p99.png", "timeseries.png"}
    assert any(Path(l).name.startswith("metric-00-") for l in links)
    for link in links:
        assert (out / link).stat().st_size > 1000
    assert len(list((out / "timeseries").glob("*.parquet"))) == 9   # replication 0 of every cell
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(links)


def _swept(tmp_path: Path, **fields):
    exp = load_experiment(experiment(replications=2, scenario=mmc_scenario(duration=120.0), **fields))
    return exp, sim.sweep(exp, out=tmp_path / "out", jobs=1, report=False)


def test_figures_never_simulate_and_carry_human_labels(tmp_path: Path, monkeypatch):
    exp, table = _swept(tmp_path, factors={
        "workload.clients.arrivals.rate": [3.0, 5.0],
        "cap": {"services.queue.pod.queue": [None, 20], "network.latency": [0, 0.001]}})
    summary = summary_for_report(exp, table)
    assert summary.attrs["dimensions"] == ["workload.clients.arrivals.rate", "services.queue.pod.queue"]

    def no_simulation(*args, **kwargs):
        raise AssertionError("a figure ran a simulation")
    monkeypatch.setattr("sim.runner.run", no_simulation)
    monkeypatch.setattr("sim.experiment.worker.simulate", no_simulation)
    labels = Labels.of(exp)
    figure = plots.heatmap(summary, "latency_s.p99", labels=labels)
    assert isinstance(figure, Figure) and len(figure.axes) == 3   # two arms + the colour bar
    assert figure.axes[0].get_xlabel() == "clients arrival rate (req/s)"
    assert figure.axes[-1].get_ylabel() == "p99 latency (ok requests) (ms)"
    dots = plots.metric_by_factor(summary, "latency_s.p99", labels=labels)
    ax = dots.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c4", "c5"]     # arms: a categorical axis
    assert ax.get_xlabel() == "p99 latency (ok requests) (ms)"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {       # every series keyed
        "clients arrival rate 3 req/s, cap null", "clients arrival rate 3 req/s, cap 20",
        "clients arrival rate 5 req/s, cap null", "clients arrival rate 5 req/s, cap 20"}
    cost = plots.cost_vs_latency(summary, labels=labels)
    assert len(cost.axes[0].get_legend().get_texts()) == 4               # the design points' key
    written = plots.save_figures(exp, summary, tmp_path / "figures", timeseries_dir=tmp_path / "out" / "timeseries")
    names = {p.name for _, p in written}
    assert "heatmap-services-queue-queue-wait-s-mean.png" in names and "timeseries.png" in names
    frames = plots.timeseries_frames(exp, timeseries_dir=tmp_path / "out" / "timeseries")
    assert set(frames) == {"c4", "c5"}
    stored = table[(table["replication"] == 0) & (table["point"] == 0)]
    for arm, frame in frames.items():     # the stored series is the run's own
        arrivals = frame[frame["service"] == "queue"]["arrivals"].sum()
        assert arrivals >= stored[stored["arm"] == arm]["requests.total"].iloc[0]
    assert plots.timeseries_frames(exp, timeseries_dir=tmp_path / "nowhere") == {}


def test_confidence_intervals_of_non_negative_metrics_stay_at_or_above_zero():
    shown = Labels().metric("latency_s.p99")
    bars = plots.clipped_errors(shown, np.array([0.1, 2.0]), np.array([0.5, 0.5]))
    assert bars[0] == pytest.approx([100.0, 500.0]) and bars[1] == pytest.approx([500.0, 500.0])
    ratio = plots.clipped_errors(Labels().metric("success_ratio"), np.array([0.99]), np.array([0.05]))
    assert ratio[:, 0] == pytest.approx([5.0, 1.0])                      # and ratios at most 100 %


def test_podsim_report_rebuilds_report_and_figures_from_the_stored_runs(tmp_path: Path, capsys):
    exp, table = _swept(tmp_path, factors={"workload.clients.arrivals.rate": [3.0, 5.0]},
                        labels={"c5": "five servers"})
    out = tmp_path / "out"
    assert main(["report", str(out)]) == 0
    first = (out / "report.md").read_text()
    assert "`five servers`" in first and "## Answer" in first
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    (out / "report.md").unlink()
    (out / "report.html").unlink()
    shutil.rmtree(out / "figures")
    (out / "results.parquet").unlink()                                    # the records are the truth
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").read_text() == first
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == figures
    assert (out / "report.html").exists()
    capsys.readouterr()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "no sweep here" in capsys.readouterr().err


def test_until_precision_adds_replications_in_rounds_reusing_stored_runs(tmp_path: Path, capsys):
    spec = experiment(replications=2, scenario=mmc_scenario(duration=60.0),
                      metrics=["latency_s.mean", "services.queue.cpu_utilization"])
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--out", str(out), "--jobs", "1", "--no-progress",
                 "--until-precision", "0.001", "--max-replications", "5"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "adding replications up to 4" in err and "adding replications up to 5" in err
    assert "precision not reached at the --max-replications limit (5)" in err
    runs = sorted(p.stem for p in (out / "runs").glob("*.json"))
    assert len(runs) == 2 * 5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"]["replications"] == 5 and "resumed" in manifest
    capsys.readouterr()
    assert main(["sweep", str(path), "--out", str(tmp_path / "o2"), "--max-replications", "3"]) == 2
    assert "--max-replications: only with --until-precision" in capsys.readouterr().err


def test_precision_rounds_arithmetic():
    assert next_replications(2, 50, 100) == 4            # at most double per round
    assert next_replications(4, 5, 100) == 5
    assert next_replications(4, 3, 100) == 5             # at least one more
    assert next_replications(60, 500, 100) == 100        # never past the limit
    summary = pd.DataFrame({"metric": ["a", "a", "b"], "half_width": [0.1, 0.0, 0.5],
                            "rel_half_width": [0.01, np.nan, 0.5], "reps_needed": [3, np.nan, 40]})
    summary.attrs["metrics"] = ["a", "b"]
    assert precision_gap(summary, 0.05) == (0.5, 40)
