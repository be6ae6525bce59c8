"""Guard rails of issue 11: a run too big for the memory is stopped before it
starts, a MemoryError anywhere is one clear message (never a traceback), and
long runs show a progress bar that changes nothing.

The scenario of the issue: ``rate: 1e7`` for an hour (3.6e10 requests). With
``record: full`` it once grew to 7.5 GB in ten silent minutes and died with a
MemoryError traceback labelled "a bug in the simulator".
"""
from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import sim
from sim.cli import main
from scenario_helpers import cli
from sim.experiment import read_table
from sim.experiment.worker import _error_text
from sim.progress import RunProgress

ROOT = Path(__file__).resolve().parents[1]

HUGE = {
    "name": "huge", "duration": "1h",
    "workload": {"clients": {"target": "api", "arrivals": {"rate": 1e7}}},
    "services": {"api": {"replicas": 100, "pod": {"cpu": 4, "workers": 64, "work": "1ms"}}},
}
TINY = {
    "name": "tiny", "duration": 5, "sample_interval": 1,
    "workload": {"users": {"target": "frontend", "arrivals": {"rate": 50}}},
    "services": {
        "frontend": {"pod": {"work": "2ms"}, "calls": [{"to": "backend", "timeout": "300ms"}]},
        "backend": {"pod": {"work": "1ms"}},
    },
}


def _write(tmp_path: Path, name: str, spec: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture
def huge(tmp_path) -> Path:
    return _write(tmp_path, "huge", HUGE)


@pytest.fixture
def tiny(tmp_path) -> Path:
    return _write(tmp_path, "tiny", TINY)






# ----------------------------------------------------------------------------- the scenario


def test_check_prints_the_estimate_and_exits_0(capsys, huge):
    code, out, _ = cli(capsys, "check", huge)
    assert code == 0
    assert f"{huge}: ok" in out
    assert "requests  3.6e10 over 1 h" in out and "hops      1 per request" in out
    assert "TB with record: full" in out and "available" in out and "run time" in out
    assert "podsim run would stop before running" in out and "record: summary" in out


def test_run_stops_at_once_with_the_message(huge):
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(huge)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - started < 15   # an import and an estimate; ~2 s here
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert "podsim: not running: with record: full" in done.stderr
    assert "3.6e10 requests" in done.stderr and "available" in done.stderr
    assert "Use record: summary" in done.stderr and "--record summary" in done.stderr


def test_run_refuses_before_simulating_even_when_quiet(capsys, huge, no_run):
    code, out, err = cli(capsys, "run", huge, "--quiet")
    assert code == 2 and out == "" and "record: summary" in err


def test_record_summary_passes_the_guard_and_reaches_the_run(capsys, huge, monkeypatch):
    seen = {}

    def fake_run(scenario, **kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt   # stop there: the guard let it through
    monkeypatch.setattr("sim.runner.run", fake_run)
    code, _, err = cli(capsys, "run", huge, "--record", "summary")
    assert code == 130 and seen["record"] == "summary"
    assert "bounded with record: summary" in err and "days" in err


def test_the_scenarios_own_record_summary_passes_too(capsys, tmp_path, monkeypatch):
    path = _write(tmp_path, "huge", {**HUGE, "record": "summary"})
    monkeypatch.setattr("sim.runner.run", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    code, _, err = cli(capsys, "run", path)
    assert code == 130 and "not running" not in err


# ----------------------------------------------------------------------------- MemoryError


@pytest.mark.parametrize("record, message", [
    ((), "podsim: out of memory: record: full keeps requests and hops as rows and they did not fit"),
    (("--record", "sample:5"), "podsim: out of memory: record: sample keeps requests and hops as rows"),
    (("--record", "summary"), "podsim: out of memory with record: summary, whose memory does not grow"),
])
def test_a_memory_error_in_the_run_is_the_message(capsys, tiny, monkeypatch, record, message):
    def out_of_memory(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr("sim.runner.run", out_of_memory)
    code, out, err = cli(capsys, "run", tiny, *record)
    assert code == 2 and out == ""
    assert message in err and "(estimate: 250 requests, 500 hops, " in err
    if record != ("--record", "summary"):
        assert "Use record: summary (in the scenario, or podsim run --record summary)" in err


def test_a_memory_error_while_printing_or_writing_is_the_message(capsys, tiny, monkeypatch, tmp_path):
    def out_of_memory(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr("sim.result.Result.write", out_of_memory)
    code, _, err = cli(capsys, "run", tiny, "--out", tmp_path / "out")
    assert code == 2 and "podsim: out of memory" in err


def test_a_memory_error_in_check_is_the_message(capsys, tiny, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr("sim.spec.load", out_of_memory)
    code, out, err = cli(capsys, "check", tiny)
    assert code == 2 and "podsim: out of memory" in err and "record: summary" in err


def _limited_address_space(extra_bytes: int) -> str:
    """Python code: cap this process's address space at its size now plus ``extra_bytes``."""
    return ("import resource\n"
            "size = int([l for l in open('/proc/self/status') if l.startswith('VmSize')][0].split()[1]) * 1024\n"
            f"resource.setrlimit(resource.RLIMIT_AS, (size + {extra_bytes}, size + {extra_bytes}))\n")


def test_ulimit_counts_as_the_memory_available(tmp_path):
    """``ulimit -v`` (where a MemoryError comes from) is seen by the estimate:
    ~5 GB of rows in 1 GB of room is refused before the run, whatever the RAM."""
    path = _write(tmp_path, "big", {**HUGE, "workload": {"clients": {"target": "api",
                                                                     "arrivals": {"rate": 4500}}}})
    code = ("import sys\nimport sim.cli\n" + _limited_address_space(10**9)
            + f"sys.exit(sim.cli.main(['run', {str(path)!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "not running" in done.stderr and "B available" in done.stderr


def test_a_real_memory_error_in_the_middle_of_a_run_is_the_message(tmp_path, huge):
    """The guard switched off, 120 MB of room: the run fills it and fails with
    a real MemoryError, which becomes the message (and exit 2), no traceback."""
    code = ("import sys\nimport sim.cli, sim.estimate\nsim.estimate.MEMORY_SAFETY = float('inf')\n"
            + _limited_address_space(120 * 10**6)
            + f"sys.exit(sim.cli.main(['run', {str(huge)!r}, '--quiet']))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("podsim: out of memory: record: full keeps requests and hops as rows")
    assert "Traceback" not in done.stderr and "Use record: summary" in done.stderr


def test_a_sweep_keeps_its_runs_when_one_runs_out_of_memory(tmp_path, monkeypatch, capsys):
    from sim.experiment import worker
    real = worker.simulate

    def greedy(scenario, seed, replication):
        if replication == 1 and scenario.services["backend"].pod.workers == 4:
            raise MemoryError()
        return real(scenario, seed, replication)
    monkeypatch.setattr(worker, "simulate", greedy)
    experiment = {"name": "mem", "scenario": TINY, "replications": 2, "seed": 1,
                  "arms": {"w2": {"services.backend.pod.workers": 2}, "w4": {"services.backend.pod.workers": 4}},
                  "metrics": ["latency_s.p99"]}
    path = _write(tmp_path, "exp", experiment)
    code = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--jobs", "1", "--no-progress",
                 "--no-report"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "record: summary" in err
    table = read_table(tmp_path / "out")
    assert len(table) == 4 and (table["status"] == "ok").sum() == 3   # the others are kept
    error = table.loc[table["status"] == "failed", "error"].iloc[0]
    assert error.startswith("MemoryError: out of memory; set record: summary") and "Traceback" not in error


def test_error_text_of_a_memory_error_has_no_traceback():
    try:
        raise MemoryError()
    except MemoryError as exc:
        text = _error_text(exc)
    assert "\n" not in text and "record: summary" in text


# ----------------------------------------------------------------------------- --record and --quiet


@pytest.mark.parametrize("value, message", [
    ("sumary", "unknown level 'sumary'; did you mean 'summary'? (choose from full, sample, summary or sample:N)"),
    ("SUMMARY", "unknown level 'SUMMARY'; did you mean 'summary'?"),
    ("sample:0", "sample:N needs N >= 1, one request in N kept (got 'sample:0')"),
    ("sample:ten", "sample:N needs a whole number N >= 1 (got 'sample:ten')"),
    ("full:3", "only sample takes :N"),
])
def test_record_typos_are_one_line_exit_2(capsys, tiny, no_run, value, message):
    code, _, err = cli(capsys, "run", tiny, "--record", value)
    assert code == 2 and f"argument --record: {message}" in err


@pytest.mark.parametrize("value", ["full", "summary", "sample", "sample:20"])
def test_record_levels_reach_sim_run(capsys, tiny, monkeypatch, value):
    seen = {}
    real = sim.runner.run

    def spy(scenario, **kwargs):
        seen.update(kwargs)
        return real(scenario, **kwargs)
    monkeypatch.setattr("sim.runner.run", spy)
    code, out, _ = cli(capsys, "run", tiny, "--record", value)
    assert code == 0 and seen["record"] == value and "requests" in out


def test_run_prints_the_estimate_on_stderr_and_quiet_silences_it(capsys, tiny):
    code, out, err = cli(capsys, "run", tiny)
    assert code == 0 and out.startswith("scenario 'tiny'")
    assert err.startswith("podsim: estimate: 250 requests, 500 hops, ") and "with record: full" in err
    code, quiet_out, quiet_err = cli(capsys, "run", tiny, "--quiet")
    assert code == 0 and quiet_err == ""
    assert quiet_out.splitlines()[1:] == out.splitlines()[1:]   # the first line holds the wall time


# ----------------------------------------------------------------------------- the progress bar


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


LONG = {**TINY, "duration": 60, "workload": {"users": {"target": "frontend", "arrivals": {"rate": 800}}}}
"""Enough events (~300,000) for the bar to be called a few times (every 50,000)."""


def _without_wall(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "wall_s"}


def test_the_progress_bar_does_not_change_the_run():
    terminal = FakeTerminal()
    bar = RunProgress(60.0, stream=terminal, delay_s=0.0, redraw_s=0.0)  # draws on every call
    with bar:
        with_bar = sim.run(LONG, seed=3, progress=bar)
    without = sim.run(LONG, seed=3)
    assert _without_wall(with_bar.summary) == _without_wall(without.summary)
    assert bar.calls >= 3                                  # it was called, and drew
    drawn = terminal.getvalue()
    assert "/60 s simulated" in drawn and "events/s" in drawn
    assert drawn.endswith("\r")                            # closing cleared its line


def test_the_bar_shows_time_in_the_scenarios_unit():
    assert RunProgress(30 * 60, stream=FakeTerminal()).unit == "min"
    assert RunProgress(2 * 3600, stream=FakeTerminal()).unit == "h"
    assert RunProgress(90, stream=FakeTerminal()).unit == "s"


def test_the_bar_is_off_when_not_a_terminal_or_quiet():
    plain = io.StringIO()
    bar = RunProgress(60.0, stream=plain, delay_s=0.0)
    assert not bar.enabled
    sim.run(TINY, progress=bar)
    bar.close()
    assert plain.getvalue() == ""
    assert not RunProgress(60.0, stream=FakeTerminal(), enabled=False).enabled


def test_a_short_run_shows_no_bar():
    terminal = FakeTerminal()
    with RunProgress(5.0, stream=terminal) as bar:   # the default delay: 2 s
        sim.run(TINY, progress=bar)
    assert terminal.getvalue() == ""


def test_run_on_a_pipe_draws_no_bar(tiny):
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(tiny)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert done.stderr.startswith("podsim: estimate:") and len(done.stderr.splitlines()) == 1
    assert "\r" not in done.stderr
