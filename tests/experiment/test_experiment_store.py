"""The result store: atomic per-run records, SIGKILL and resume, manifest,
refusing another experiment's directory, failed runs, kept runs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import yaml

import sim
from sim.cli import main
from sim.experiment import expand, read_table, worker

from conftest import REPO, experiment, mmc_scenario, subprocess_env, without_wall


def _slow_experiment() -> dict:
    # 2 arms x 2 rates x 6 replications = 24 runs of ~8k requests each
    return experiment(scenario=mmc_scenario(rate=8.0, servers=5, duration=1000.0),
                      replications=6, factors={"workload.clients.arrivals.rate": [7.0, 8.0]})


def test_sigkill_mid_sweep_then_resume_equals_uninterrupted(tmp_path: Path):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(_slow_experiment()))
    out = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(path), "--out", str(out),
                              "--jobs", "2", "--no-progress", "--no-report"],
                             cwd=REPO, env=subprocess_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if len(list((out / "runs").glob("*.json"))) >= 4 if (out / "runs").exists() else False:
                break
            time.sleep(0.02)
        assert child.poll() is None, child.stderr.read().decode()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        try:
            os.killpg(child.pid, signal.SIGKILL)          # the pool's workers, if still there
        except ProcessLookupError:
            pass
        child.stderr.close()
    stored = {p.stem for p in (out / "runs").glob("*.json")}
    assert 4 <= len(stored) < 24
    for p in (out / "runs").glob("*.json"):
        json.loads(p.read_text())                         # every stored record is whole

    seen = []
    resumed = sim.sweep(path, out=out, jobs=1, resume=True, report=False,
                        on_run=lambda record: seen.append(record["run_id"]))
    assert set(seen) == set(expand(path)["run_id"]) - stored   # only the missing runs ran
    fresh = sim.sweep(path, out=tmp_path / "fresh", jobs=1, report=False)
    assert len(fresh) == 24 and (fresh["status"] == "ok").all()
    pd.testing.assert_frame_equal(without_wall(resumed), without_wall(fresh))
    pd.testing.assert_frame_equal(without_wall(read_table(out)), without_wall(fresh))


def test_ctrl_c_stops_cleanly_keeping_finished_runs(tmp_path: Path):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(_slow_experiment()))
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(path), "--out", str(out),
                              "--jobs", "2", "--no-progress"], cwd=REPO, env=subprocess_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if (out / "runs").exists() and len(list((out / "runs").glob("*.json"))) >= 2:
                break
            time.sleep(0.02)
        os.killpg(child.pid, signal.SIGINT)               # what a terminal's Ctrl-C does
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    stored = len(list((out / "runs").glob("*.json")))
    assert child.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    assert f"interrupted: {stored} of 24 runs stored" in err.decode()
    assert len(read_table(out)) == stored < 24
    assert not (out / "report.md").exists()


def test_manifest_and_refusing_another_experiment(tmp_path: Path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(experiment(replications=2)))
    out = tmp_path / "out"
    first = sim.sweep(path, out=out, jobs=1, report=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["name"] == "tiny" and manifest["runs"] == len(first) == 4
    assert manifest["seeds"] == {"seed": 5, "replications": 2, "common_random_numbers": True,
                                 "run_seeds": [5]}
    assert manifest["base_scenario"]["services"]["queue"]["pod"]["workers"] == 4
    for package in ("podsim", "simpy", "numpy", "pandas", "pyarrow", "scipy", "python"):
        assert manifest["versions"][package]
    assert "git" in manifest

    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(experiment(replications=2, seed=6)))
    for extra in ([], ["--resume"]):
        code = main(["sweep", str(other), "--out", str(out), "--no-progress", "--no-report", *extra])
        assert code == 2
        err = capsys.readouterr().err
        assert "holds a different experiment ('tiny'; differs at experiment.seed)" in err
    assert json.loads((out / "manifest.json").read_text())["seeds"]["seed"] == 5

    # more replications of the same experiment: resume runs only the new ones
    seen = []
    grown = sim.sweep(path, out=out, jobs=1, resume=True, replications=3, report=False,
                      on_run=lambda r: seen.append(r["run_id"]))
    assert sorted(seen) == ["c4.p000.r002", "c5.p000.r002"]
    assert len(grown) == 6
    pd.testing.assert_frame_equal(without_wall(grown[grown["replication"] < 2]), without_wall(first))

    # what only changes the analysis may change on resume; nothing runs again
    seen.clear()
    path.write_text(yaml.safe_dump(experiment(replications=3, metrics=["goodput_rps"], baseline="c5")))
    again = sim.sweep(path, out=out, jobs=1, resume=True, report=False, on_run=lambda r: seen.append(r))
    assert seen == [] and len(again) == 6
    assert json.loads((out / "manifest.json").read_text())["metrics"] == [
        {"name": "goodput_rps", "direction": "maximize"}]


def test_failing_run_is_recorded_and_the_rest_complete(tmp_path: Path, monkeypatch):
    real = worker.simulate

    def flaky(scenario, seed, replication):
        if scenario.services["queue"].pod.workers == 5 and replication == 1:
            raise RuntimeError("simulated engine failure")
        return real(scenario, seed, replication)

    monkeypatch.setattr(worker, "simulate", flaky)
    out = tmp_path / "out"
    with ThreadPoolExecutor(max_workers=2) as pool:
        table = sim.sweep(experiment(), out=out, executor=pool, report=True)
    failed = table[table["status"] == "failed"]
    assert list(failed["run_id"]) == ["c5.p000.r001"]
    assert failed["error"].iloc[0].startswith("RuntimeError: simulated engine failure (at ")
    assert failed["services.queue.queue_wait_s.mean"].isna().all()
    ok = table[table["status"] == "ok"]
    assert len(ok) == 5 and ok["error"].isna().all() and ok["requests.total"].gt(0).all()
    stored = read_table(out)
    assert list(stored["status"]) == list(table["status"])
    report = (out / "report.md").read_text()
    assert "## Failed runs" in report and "c5.p000.r001" in report


def test_keep_runs_writes_each_runs_tables(tmp_path: Path):
    out = tmp_path / "out"
    table = sim.sweep(experiment(replications=1), out=out, jobs=1, keep_runs=True, report=False)
    for run_id in table["run_id"]:
        kept = out / "runs" / run_id
        assert (kept / "summary.json").exists() and (kept / "timeseries.parquet").exists()
        summary = json.loads((kept / "summary.json").read_text())
        row = table[table["run_id"] == run_id].iloc[0]
        assert summary["requests"]["total"] == row["requests.total"]
        assert summary["latency_s"]["p99"] == row["latency_s.p99"]


def test_same_experiment_without_resume_starts_over(tmp_path: Path):
    out = tmp_path / "out"
    sim.sweep(experiment(replications=1), out=out, jobs=1, report=False)
    seen = []
    sim.sweep(experiment(replications=1), out=out, jobs=1, report=False,
              on_run=lambda r: seen.append(r["run_id"]))
    assert len(seen) == 2
