"""A sweep survives what clusters do: a pool worker killed mid-sweep, a run
that raises, a full disk while storing, a failure while evaluating metrics.
(A Dask worker killed mid-sweep: ``test_experiment_executors.py``.)"""
from __future__ import annotations

import errno
import json
import os
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim
from sim.cli import main
from sim.experiment import SweepStoreFailed, read_table, worker
from sim.experiment.stats import summarize

from conftest import experiment, without_wall

VICTIM = "c5.p000.r001"   # the run every fault below strikes (arm c5, replication 1)


def _is_victim(scenario, replication: int) -> bool:
    return scenario.services["queue"].pod.workers == 5 and replication == 1


def _write_experiment(tmp_path: Path, **fields) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(experiment(**fields)))
    return path


def _leftovers(out: Path) -> list[Path]:
    """Temporary files a failed write might have left behind."""
    return [p for p in out.rglob("*") if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- a killed pool worker

def _forked_pool_workers(monkeypatch) -> None:
    """Start pool workers with fork, so they inherit this test's monkeypatches."""
    import multiprocessing
    from sim.experiment import executors
    monkeypatch.setattr(executors, "_mp_context", lambda: multiprocessing.get_context("fork"))


def _victim_kills_its_worker(monkeypatch, marker: Path | None) -> None:
    """The victim run kills its worker process: the first time only (``marker``
    records it), or every time (``marker`` None)."""
    real = worker.simulate

    def simulate(scenario, seed, replication):
        if _is_victim(scenario, replication):
            try:
                if marker is not None:
                    open(marker, "x").close()
            except FileExistsError:
                return real(scenario, seed, replication)
            os._exit(17)
        return real(scenario, seed, replication)

    monkeypatch.setattr(worker, "simulate", simulate)


def test_a_killed_pool_worker_breaks_the_pool_and_its_runs_run_again_in_a_new_one(tmp_path, monkeypatch):
    local = sim.sweep(experiment(), jobs=1, report=False)
    marker = tmp_path / "killed-once"
    _forked_pool_workers(monkeypatch)
    _victim_kills_its_worker(monkeypatch, marker)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        pooled = sim.sweep(experiment(), out=tmp_path / "pool", jobs=2, report=False)
    assert marker.exists()                       # a worker did die running the victim
    assert not [w for w in seen if "lost by the executor" in str(w.message)]
    pd.testing.assert_frame_equal(without_wall(local), without_wall(pooled))


def test_runs_lost_for_good_are_not_stored_exit_3_and_resume_runs_them(tmp_path, monkeypatch, capsys):
    path = _write_experiment(tmp_path)
    out = tmp_path / "out"
    command = ["sweep", str(path), "--out", str(out), "--jobs", "2", "--no-progress", "--no-report"]
    _forked_pool_workers(monkeypatch)
    _victim_kills_its_worker(monkeypatch, marker=None)   # every pool it runs in breaks
    code = main(command)
    err = capsys.readouterr().err
    assert code == 3, err
    assert "were lost by the executor" in err and "--resume" in err and "Traceback" not in err
    stored = read_table(out)
    assert VICTIM not in set(stored["run_id"]) and (stored["status"] == "ok").all()
    monkeypatch.undo()
    assert main([*command, "--resume"]) == 0
    assert len(read_table(out)) == 6 and (read_table(out)["status"] == "ok").all()


# ---------------------------------------------------------------- a run that raises

def _raise_in_victim(monkeypatch) -> None:
    real = worker.simulate

    def flaky(scenario, seed, replication):
        if _is_victim(scenario, replication):
            raise RuntimeError("simulated engine failure")
        return real(scenario, seed, replication)

    monkeypatch.setattr(worker, "simulate", flaky)


def test_a_run_that_raises_is_recorded_excluded_reported_and_exits_1(tmp_path, monkeypatch, capsys):
    _raise_in_victim(monkeypatch)
    path = _write_experiment(tmp_path)
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--out", str(out), "--jobs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert f"1 of 6 run(s) failed and are left out of the statistics: {VICTIM}" in err
    assert "first error: RuntimeError: simulated engine failure (at " in err
    assert "Traceback" not in err

    table = read_table(out)                       # the table is whole: 6 rows, one failed
    assert len(table) == 6 and list(table.loc[table["status"] == "failed", "run_id"]) == [VICTIM]
    error = table.loc[table["run_id"] == VICTIM, "error"].iloc[0]
    assert error.startswith("RuntimeError: simulated engine failure (at ")
    assert "Traceback (most recent call last):" in error and "in flaky" in error
    assert table.loc[table["status"] == "ok", "error"].isna().all()

    exp = sim.experiment.load_experiment(path)
    stats = summarize(table, exp)
    n = stats[stats["metric"] == "latency_s.p99"].set_index("arm")["n"]
    assert n.to_dict() == {"c4": 3, "c5": 2}        # the failed run is not counted
    report = (out / "report.md").read_text()
    assert "- runs: 6 stored, 5 ok, 1 failed" in report
    assert "## Failed runs" in report and VICTIM in report


# ---------------------------------------------------------------- a full disk

def _disk_full_after(monkeypatch, stored_runs: int) -> None:
    """Make the renaming of run records into ``runs/`` fail with ENOSPC after
    ``stored_runs`` of them (the temporary file is written, as on a real disk
    that fills up; the sweep must remove it)."""
    real_replace = os.replace
    attempts: list[int] = []

    def replace(src, dst, *args, **kwargs):
        dst = Path(dst)
        if dst.parent.name == "runs" and dst.suffix == ".json":
            attempts.append(1)
            if len(attempts) > stored_runs:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_disk_full_stops_cleanly_keeps_stored_runs_and_resume_finishes(tmp_path, monkeypatch):
    path = _write_experiment(tmp_path)
    out = tmp_path / "out"
    _disk_full_after(monkeypatch, stored_runs=3)
    with pytest.raises(SweepStoreFailed) as caught:
        sim.sweep(path, out=out, jobs=1, report=False)
    stop = caught.value
    assert (stop.stored, stop.total) == (3, 6)
    assert "No space left on device" in str(stop) and "resume" in str(stop)
    assert len(stop.table) == 4                  # the run computed but not stored is not lost
    stored = sorted(p.stem for p in (out / "runs").glob("*.json"))
    assert len(stored) == 3
    for p in (out / "runs").glob("*.json"):
        assert json.loads(p.read_text())["status"] == "ok"
    assert _leftovers(out) == []
    assert len(read_table(out)) == 3             # results.parquet holds the stored runs

    monkeypatch.undo()                            # space was freed
    seen = []
    resumed = sim.sweep(path, out=out, jobs=1, resume=True, report=False,
                        on_run=lambda record: seen.append(record["run_id"]))
    assert len(seen) == 3 and not set(seen) & set(stored)
    fresh = sim.sweep(path, jobs=1, report=False)
    pd.testing.assert_frame_equal(without_wall(resumed), without_wall(fresh))
    pd.testing.assert_frame_equal(without_wall(read_table(out)), without_wall(fresh))


def test_disk_full_before_the_first_run_leaves_a_directory_that_can_be_used_again(tmp_path, monkeypatch):
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == "manifest.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    out = tmp_path / "out"
    with pytest.raises(SweepStoreFailed) as caught:
        sim.sweep(experiment(replications=1), out=out, jobs=1, report=False)
    assert caught.value.stored == 0 and "manifest.json: No space left on device" in str(caught.value)
    assert list(out.iterdir()) == []              # no half-written manifest, no runs/
    monkeypatch.undo()
    assert len(sim.sweep(experiment(replications=1), out=out, jobs=1, report=False)) == 2


def test_disk_full_on_the_command_line_is_a_message_and_exit_3(tmp_path, monkeypatch, capsys):
    path = _write_experiment(tmp_path)
    out = tmp_path / "out"
    command = ["sweep", str(path), "--out", str(out), "--jobs", "2", "--no-progress", "--no-report"]
    _disk_full_after(monkeypatch, stored_runs=2)
    code = main(command)
    err = capsys.readouterr().err
    assert code == 3, err
    assert "Traceback" not in err and "internal error" not in err
    assert "No space left on device" in err
    assert "2 of 6 runs are stored" in err and "--resume" in err
    assert len(list((out / "runs").glob("*.json"))) == 2
    monkeypatch.undo()
    assert main([*command, "--resume"]) == 0
    assert len(read_table(out)) == 6 and (read_table(out)["status"] == "ok").all()


def test_disk_full_while_writing_the_report_keeps_the_runs_and_exits_3(tmp_path, monkeypatch, capsys):
    from sim.experiment import report

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(report, "write_report", no_space)
    out = tmp_path / "out"
    code = main(["sweep", str(_write_experiment(tmp_path)), "--out", str(out), "--jobs", "1",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert f"cannot write the report in {out}/: No space left on device" in err
    assert f"podsim report {out}" in err and "Traceback" not in err
    assert len(read_table(out)) == 6


def test_a_runs_files_that_cannot_be_written_stop_the_sweep_and_resume_rewrites_them(tmp_path,
                                                                                     monkeypatch):
    from sim.result import Result
    real_write = Result.write
    calls: list[int] = []

    def write(self, out_dir):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out_dir))
        return real_write(self, out_dir)

    monkeypatch.setattr(Result, "write", write)
    out = tmp_path / "out"
    exp = experiment(replications=2)
    with pytest.raises(SweepStoreFailed) as caught:
        sim.sweep(exp, out=out, jobs=1, keep_runs=True, report=False)
    assert caught.value.stored == 1 and "No space left on device" in str(caught.value)
    monkeypatch.undo()
    table = sim.sweep(exp, out=out, jobs=1, keep_runs=True, resume=True, report=False)
    assert len(table) == 4
    for run_id in table["run_id"]:
        assert (out / "runs" / run_id / "summary.json").exists()


# ---------------------------------------------------------------- metrics come after storing

def test_a_failure_evaluating_metrics_loses_no_run(tmp_path, monkeypatch, capsys):
    from sim.experiment import stats

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a metric went wrong")

    monkeypatch.setattr(stats, "summarize", broken)
    path = _write_experiment(tmp_path)
    with pytest.raises(ZeroDivisionError):
        sim.sweep(path, out=tmp_path / "api", jobs=1, report=True)
    assert len(read_table(tmp_path / "api")) == 6
    assert len(list((tmp_path / "api" / "runs").glob("*.json"))) == 6

    code = main(["sweep", str(path), "--out", str(tmp_path / "cli"), "--jobs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "evaluating the results failed (ZeroDivisionError: a metric went wrong)" in err
    assert f"6 runs are stored in {tmp_path / 'cli' / 'results.parquet'}" in err
    assert len(read_table(tmp_path / "cli")) == 6
