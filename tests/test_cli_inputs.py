"""The command line as a newcomer types it: every mistake is one clear line, exit 2.

Issue 10 item 7 (unknown ``--service``, ``--set KEY VALUE``, an empty file, a
bare number that is probably milliseconds) and the typos around it (a
command, a folder name, an option, a directory or a binary file given as a
scenario, tabs in YAML). Warnings go to stderr and never change the exit code.
"""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

import sim
from scenario_helpers import cli
from sim.spec.bare_numbers import ScenarioWarning, bare_number_warnings

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "name": "tiny", "duration": 5, "sample_interval": 1,
    "workload": {"users": {"target": "frontend", "arrivals": {"rate": 5}}},
    "services": {
        "frontend": {"pod": {"work": "2ms"}, "calls": [{"to": "backend", "timeout": "300ms"}]},
        "backend": {"pod": {"work": "1ms"}},
    },
}


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False))
    return path






# ----------------------------------------------------------------------------- podsim run
def test_unknown_service_is_refused_before_the_run(capsys, tiny, no_run):
    code, _, err = cli(capsys, "run", tiny, "--plot", tiny.parent / "t.png", "--service", "backnd")
    assert code == 2
    assert "--service: no service named 'backnd'; did you mean 'backend'? (known: frontend, backend)" in err


def test_unknown_service_without_plot_is_refused_too(capsys, tiny, no_run):
    code, _, err = cli(capsys, "run", tiny, "--service", "nope")
    assert code == 2 and "--service: no service named 'nope'" in err


def test_service_without_plot_warns_that_it_does_nothing(capsys, tiny):
    code, out, err = cli(capsys, "run", tiny, "--service", "backend")
    assert code == 0 and "requests" in out.lower()
    assert "warning: --service only chooses the service of the --plot timeline" in err


def test_set_with_a_space_instead_of_equals(capsys, tiny, no_run):
    code, _, err = cli(capsys, "run", tiny, "--set", "duration", "10")
    assert code == 2
    assert "duration: use KEY=VALUE, e.g. --set duration=10" in err


def test_set_without_equals(capsys, tiny, no_run):
    code, _, err = cli(capsys, "check", tiny, "--set", "noequals", "--set", "alsobad")
    assert code == 2
    assert "noequals: use KEY=VALUE" in err and "alsobad: use KEY=VALUE" in err


def test_set_with_a_typo_in_the_service_name(capsys, tiny):
    code, _, err = cli(capsys, "check", tiny, "--set", "services.frontnd.replicas=3")
    assert code == 2
    assert "services.frontnd: no service named 'frontnd'; did you mean 'frontend'?" in err


def test_set_with_a_typo_in_a_key(capsys, tiny):
    code, _, err = cli(capsys, "check", tiny, "--set", "services.frontend.replicsa=3")
    assert code == 2 and "services.frontend.replicsa: unknown key; did you mean 'replicas'?" in err


def test_negative_seed(capsys, tiny, no_run):
    code, _, err = cli(capsys, "run", tiny, "--seed", "-1")
    assert code == 2 and "--seed: must be >= 0 (got -1)" in err


@pytest.mark.parametrize("argv", [["bench", "--requests", "0"], ["sweep", "x.yaml", "--jobs", "0"],
                                  ["sweep", "x.yaml", "--replications", "-2"], ["bench", "--repeats", "two"]])
def test_counts_must_be_positive(capsys, argv):
    code, _, err = cli(capsys, *argv)
    assert code == 2 and f"argument {argv[-2]}: must be" in err and ">= 1" in err


def test_unknown_plot_format_is_refused_before_the_run(capsys, tiny, no_run):
    code, _, err = cli(capsys, "run", tiny, "--plot", tiny.parent / "t.jpgg")
    assert code == 2 and "unknown figure format 'jpgg'; did you mean 'jpg'?" in err


def test_out_that_is_a_file(capsys, tiny, no_run):
    code, _, err = cli(capsys, "run", tiny, "--out", tiny)
    assert code == 2 and "--out: is a file; --out takes a directory" in err


# ----------------------------------------------------------------------------- typos
def test_a_typo_in_the_command(capsys):
    code, _, err = cli(capsys, "rnu", "models/reference.yaml")
    assert code == 2
    assert "unknown command 'rnu'; did you mean 'run'? (choose from run, check" in err


def test_a_typo_in_an_option(capsys, tiny):
    code, _, err = cli(capsys, "run", tiny, "--sed", "3")
    assert code == 2 and "unrecognized arguments: --sed 3; did you mean '--seed'?" in err


def test_a_typo_in_the_folder_of_the_scenario(capsys, tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "x.yaml").write_text(yaml.safe_dump(TINY))
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "run", "modles/x.yaml")
    assert code == 2
    assert "modles/x.yaml: scenario file not found; did you mean 'models/x.yaml'?" in err
    code, _, err = cli(capsys, "check", "models/checkout.yaml")
    assert code == 2 and "scenario file not found" in err and "did you mean" not in err


def test_a_directory_as_the_scenario(capsys, tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(TINY))
    code, _, err = cli(capsys, "check", tmp_path)
    assert code == 2 and "is a directory, not a scenario file (its YAML files: a.yaml)" in err


def test_a_binary_file_as_the_scenario(capsys, tmp_path):
    path = tmp_path / "model.yaml"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe")
    code, _, err = cli(capsys, "check", path)
    assert code == 2 and "not a text file" in err and "is not UTF-8" in err


@pytest.mark.parametrize("text,message", [
    ("", "the file is empty"),
    ("  \n\n", "the file is empty"),
    ("# a scenario, some day\n", "the file holds only comments"),
    ("- a\n- b\n", "a scenario file must hold a mapping (key: value lines), not a list"),
])
def test_an_empty_or_shapeless_file(capsys, tmp_path, text, message):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    code, _, err = cli(capsys, "check", path)
    assert code == 2 and f"{path}: {message}" in err


def test_tabs_in_yaml(capsys, tmp_path):
    path = tmp_path / "tabs.yaml"
    path.write_text("name: t\nduration: 60\nworkload:\n\tusers: {target: a}\n")
    code, _, err = cli(capsys, "check", path)
    assert code == 2
    assert f"{path}:4:1: YAML syntax error" in err and "YAML indents with spaces, never tabs" in err


def test_an_experiment_given_to_check(capsys, tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: e\nscenario: ../models/mmc.yaml\narms: {a: {}}\n")
    code, _, err = cli(capsys, "check", path)
    assert code == 2 and err.count("\n  ") == 1
    assert "this is an experiment file (it has 'scenario:'), not a scenario: run it with podsim sweep" in err


def test_the_cli_in_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "chekc", "models/mmc.yaml"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "did you mean 'check'?" in proc.stderr
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- bare numbers
def with_timeout(value) -> dict:
    raw = yaml.safe_load(yaml.safe_dump(TINY))
    raw["services"]["frontend"]["calls"][0]["timeout"] = value
    return raw


def test_a_bare_timeout_of_300_warns_that_it_means_300_seconds(capsys, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(with_timeout(300)))
    code, out, err = cli(capsys, "check", path)
    assert code == 0 and ": ok" in out
    assert ("podsim: warning: services.frontend.calls.0.timeout: 300 is read as 300 s, long for a "
            "timeout: write 300ms if you meant milliseconds (300s keeps seconds and silences this)") in err


@pytest.mark.parametrize("value,warns", [(300, True), (61, True), (60, False), (2, False),
                                         ("300s", False), ("300ms", False), (0.5, False)])
def test_timeout_threshold_is_a_minute_and_units_silence_it(value, warns):
    found = bare_number_warnings(with_timeout(value))
    assert [p.path for p in found] == (["services.frontend.calls.0.timeout"] if warns else [])


def test_client_deadline_and_hedge_delay_are_timeouts_too():
    raw = with_timeout("1s")
    raw["workload"]["users"]["client"] = {"deadline": 120, "hedge": {"delay": 90}, "timeout": 10}
    assert {p.path for p in bare_number_warnings(raw)} == {
        "workload.users.client.deadline", "workload.users.client.hedge.delay"}


def test_latency_threshold_is_a_second_inside_distributions_too():
    raw = with_timeout("1s")
    raw["network"] = {"latency": {"dist": "exponential", "mean": 2}}
    raw["services"]["frontend"]["calls"][0]["latency"] = {
        "dist": "mixture", "components": [{"weight": 1, "dist": "uniform", "low": 0.5, "high": 5}]}
    raw["faults"] = [{"kind": "latency", "from": "frontend", "to": "backend", "at": 1, "add": 30},
                     {"kind": "latency", "from": "frontend", "to": "backend", "at": 2, "add": 90}]
    assert {p.path for p in bare_number_warnings(raw)} == {
        "network.latency.mean", "services.frontend.calls.0.latency.components.0.high", "faults.1.add"}


def test_the_library_warns_once_per_field():
    with pytest.warns(ScenarioWarning, match="calls.0.timeout: 300 is read as 300 s"):
        scenario = sim.load(with_timeout(300))
    assert scenario.services["frontend"].calls[0].timeout == 300.0  # a warning, still valid
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        sim.load(with_timeout("300ms"))


def test_go_quantum_and_overhead_cpu_warn_above_a_second():
    raw = with_timeout("1s")
    pod = raw["services"]["frontend"]["pod"]
    pod["scheduler"] = {"type": "go", "quantum": 10}
    pod["overhead_cpu"] = 5
    assert {p.path for p in bare_number_warnings(raw)} == {
        "services.frontend.pod.scheduler.quantum", "services.frontend.pod.overhead_cpu"}
    pod["scheduler"]["quantum"], pod["overhead_cpu"] = 0.01, "250us"
    assert bare_number_warnings(raw) == []
