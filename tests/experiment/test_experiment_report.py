"""``podsim sweep`` end to end: progress, ranked table, report and figures."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

import sim
from sim.cli import main
from sim.experiment import load_experiment
from sim.plots import sweep as plots
from sim.report import summary_for_report

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
    assert "## Ranking by `services.queue.queue_wait_s.mean`" in report
    assert "## Paired differences against `c8`" in report
    assert "## Simulation against queueing theory (M/M/c)" in report
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert {Path(l).name for l in links} >= {"cost-vs-p99.png", "timeseries.png"}
    assert any(Path(l).name.startswith("metric-00-") for l in links)
    for link in links:
        assert (out / link).stat().st_size > 1000


def test_figures_for_a_two_factor_grid(tmp_path: Path):
    exp = load_experiment(experiment(
        replications=2, scenario=mmc_scenario(duration=120.0),
        factors={"workload.clients.arrivals.rate": [3.0, 5.0],
                 "cap": {"services.queue.pod.queue": [None, 20], "network.latency": [0, 0.001]}}))
    table = sim.sweep(exp, jobs=1, report=False)
    summary = summary_for_report(exp, table)
    assert summary.attrs["dimensions"] == ["workload.clients.arrivals.rate", "services.queue.pod.queue"]
    figure = plots.heatmap(summary, "latency_s.p99")
    assert isinstance(figure, Figure) and len(figure.axes) == 3   # two arms + the colour bar
    assert isinstance(plots.metric_by_factor(summary, "latency_s.p99"), Figure)
    assert isinstance(plots.cost_vs_latency(summary), Figure)
    written = plots.save_figures(exp, summary, tmp_path / "figures")
    names = {p.name for _, p in written}
    assert "heatmap-services-queue-queue-wait-s-mean.png" in names and "timeseries.png" in names
    frames = plots.timeseries_frames(exp)
    stored = table[(table["replication"] == 0) & (table["point"] == 0)]
    assert set(frames) == {"c4", "c5"}
    for arm, frame in frames.items():     # re-running replication 0 reproduces the stored run
        arrivals = frame[frame["service"] == "queue"]["arrivals"].sum()
        assert arrivals >= stored[stored["arm"] == arm]["requests.total"].iloc[0]


def test_no_factor_bar_chart_and_report(tmp_path: Path):
    exp = load_experiment(experiment(replications=2, scenario=mmc_scenario(duration=60.0)))
    table = sim.sweep(exp, out=tmp_path / "out", jobs=1)
    assert (tmp_path / "out" / "report.md").exists()
    summary = summary_for_report(exp, table)
    figure = plots.metric_by_factor(summary, "latency_s.p99")
    assert figure.axes[0].get_xlabel() == "arm"
