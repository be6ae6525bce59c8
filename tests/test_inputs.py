"""Bad input: every problem at once, as ``path: problem (got VALUE)``, never a traceback.

Through the library (``sim.load`` raises ``sim.ScenarioError`` holding every
problem) and through the command line (exit 2, one line per problem on
stderr, no traceback), in process and once in a subprocess.
"""
from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "models").glob("*.yaml"))
LINE = re.compile(r"^\s*(?P<path>\S[^:]*(?::\d+:\d+)?): (?P<message>.+?)(?: \(got (?P<value>.+)\))?$")

GOOD = {
    "name": "inputs", "duration": 60,
    "workload": {"users": {"target": "frontend", "arrivals": {"rate": 5}}},
    "services": {
        "frontend": {"pod": {"work": "10ms"}, "calls": [{"to": "backend"}]},
        "backend": {"pod": {"work": {"dist": "exponential", "mean": "5ms"}}},
    },
}

SEVERAL = """\
name: several
duration: 60s
warmup: 2m
workload:
  users: {target: frontnd, arrivals: {rate: -1}, extra: 1}
services:
  frontend:
    replicas: -1
    pod: {work: 5 parsecs, workrs: 3, cpu: lots}
    calls: [{to: nope}]
"""
SEVERAL_PATHS = {
    "warmup", "workload.users.arrivals.rate", "workload.users.extra", "services.frontend.replicas",
    "services.frontend.pod.cpu", "services.frontend.pod.work", "services.frontend.pod.workrs",
    "workload.users.target", "services.frontend.calls.0.to",
}


def good(**changes) -> dict:
    raw = copy.deepcopy(GOOD)
    for path, value in changes.items():
        node = raw
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(keys[-1])] = value
        else:
            node[keys[-1]] = value
    return raw


def located(path: str) -> str:
    """A problem's path, without the ``.value`` a bare duration gets once it is
    read as a constant distribution (``work: 5 parsecs`` -> ``work.value``)."""
    return path.removesuffix(".value")


def problems(source, **kw) -> list[sim.Problem]:
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(source, **kw)
    err = info.value
    # every problem renders as one `path: problem (got VALUE)` line
    for problem in err.problems:
        assert LINE.match(str(problem)), str(problem)
        assert str(problem) in err.report()
    return err.problems


def only(source, **kw) -> sim.Problem:
    found = problems(source, **kw)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


# ----------------------------------------------------------------------------- library
def test_the_good_scenario_loads():
    scenario = sim.load(GOOD)
    assert list(scenario.services) == ["frontend", "backend"]
    assert scenario.services["frontend"].pod.work.mean() == pytest.approx(0.010)


def test_unknown_key_suggests_the_close_one():
    raw = good()
    raw["services"]["frontend"]["replicaz"] = 2
    p = only(raw)
    assert p.path == "services.frontend.replicaz"
    assert "unknown key" in p.message and "did you mean 'replicas'" in p.message
    assert str(p).endswith("(got 2)")


def test_wrong_type():
    p = only(good(**{"services.frontend.pod.workers": "many"}))
    assert (p.path, p.value) == ("services.frontend.pod.workers", "many")
    assert "whole number" in p.message


def test_wrong_type_of_a_block():
    found = problems(good(services=5))
    assert any(p.path == "services" and "mapping" in p.message and p.value == 5 for p in found)


def test_negative_rate():
    p = only(good(**{"workload.users.arrivals.rate": -5}))
    assert (p.path, p.value) == ("workload.users.arrivals.rate", -5)
    assert ">= 0" in p.message
    assert str(p) == "workload.users.arrivals.rate: must be >= 0.0 (got -5)"


def test_unknown_service_in_to_and_in_target():
    p = only(good(**{"services.frontend.calls.0.to": "nope"}))
    assert (p.path, p.value) == ("services.frontend.calls.0.to", "nope")
    assert "no service named 'nope'" in p.message and "backend" in p.message
    p = only(good(**{"workload.users.target": "frontdoor"}))
    assert (p.path, p.value) == ("workload.users.target", "frontdoor")
    assert "no service named 'frontdoor'" in p.message


def test_unknown_service_inside_a_fan_out():
    p = only(good(**{"services.frontend.calls": [{"parallel": [{"to": "backend"}, {"to": "ghost"}]}]}))
    assert p.path == "services.frontend.calls.0.parallel.1.to"


def test_call_cycle():
    p = only(good(**{"services.backend.calls": [{"to": "frontend"}]}))
    assert p.path.startswith("services.") and p.path.endswith(".calls")
    assert "cycle" in p.message and "frontend" in p.message and "backend" in p.message
    self_call = only(good(**{"services.backend.calls": [{"to": "backend"}]}))
    assert "backend -> backend" in self_call.message


def test_unreadable_empirical_and_trace_files(tmp_path):
    missing = tmp_path / "missing.csv"
    p = only(good(**{"services.backend.pod.work": {"dist": "empirical", "file": str(missing)}}))
    assert p.path == "services.backend.pod.work" and "cannot read" in p.message
    p = only(good(**{"services.backend.pod.work": {"dist": "empirical", "file": str(tmp_path)}}))
    assert "cannot read" in p.message  # a directory is not a readable file
    p = only(good(**{"workload.users.arrivals": {"trace": str(missing)}}))
    assert p.path == "workload.users.arrivals" and "cannot read trace" in p.message
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("t,rate\n0,1\n5\n")
    p = only(good(**{"workload.users.arrivals": {"trace": str(ragged)}}))
    assert p.path == "workload.users.arrivals" and "ragged.csv" in p.message


def test_relative_files_resolve_next_to_the_scenario(tmp_path):
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "sizes.csv").write_text("seconds\n0.01\n0.03\n")
    raw = good(**{"services.backend.pod.work": {"dist": "empirical", "file": "traces/sizes.csv"}})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert sim.load(path).services["backend"].pod.work.mean() == pytest.approx(0.02)
    # the same relative name next to a scenario elsewhere is a problem, not a crash
    other = tmp_path / "sub"
    other.mkdir()
    (other / "s.yaml").write_text(yaml.safe_dump(raw))
    assert "cannot read traces/sizes.csv" in only(other / "s.yaml").message


def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: t\nduration: 60\nworkload:\n  users: {target: a, arrivals: {rate: 5}\n"
                    "services: {}\n")
    p = only(path)
    assert re.fullmatch(re.escape(str(path)) + r":\d+:\d+", p.path), p.path
    line, column = map(int, p.path.rsplit(":", 2)[1:])
    assert 4 <= line <= 5 and column >= 1
    assert "YAML syntax error" in p.message


def test_missing_file(tmp_path):
    p = only(tmp_path / "nothere.yaml")
    assert p.path == str(tmp_path / "nothere.yaml") and "not found" in p.message


def test_bad_unit():
    p = only(good(**{"services.frontend.pod.work": "5 parsecs"}))
    assert p.path.startswith("services.frontend.pod.work")
    assert "unknown duration unit 'parsecs'" in p.message and p.value == "5 parsecs"
    p = only(good(**{"services.frontend.pod.cpu": "lots"}))
    assert p.path == "services.frontend.pod.cpu" and p.value == "lots"


def test_bad_override_path():
    p = only(GOOD, overrides={"services.nope.replicas": 1})
    assert p.path == "services.nope" and "no service named 'nope'" in p.message
    found = problems(GOOD, overrides={"services.nope.replicas": 1, "workload.users.arrivals.rate": -2,
                                      "services.frontend.replicaz": 3})
    assert {p.path for p in found} == {"services.nope", "workload.users.arrivals.rate",
                                       "services.frontend.replicaz"}


def test_warmup_not_shorter_than_duration():
    p = only(good(warmup=60))
    assert p.path == "warmup" and p.value == 60 and "shorter than duration" in p.message
    p = only(good(warmup="2m", duration="90s"))
    assert p.path == "warmup" and p.value == "2m"


def test_sample_interval_too_short_for_the_duration():
    """Found by the fuzzer: 1e-9 s made a 10 s run sample forever."""
    p = only(good(sample_interval=1e-9))
    assert p.path == "sample_interval" and "at most 1,000,000 samples" in p.message
    assert sim.load(good(sample_interval="100us")).sample_interval == pytest.approx(100e-6)


@pytest.mark.parametrize("path,value,message", [
    ("services.frontend.calls.0.circuit_breaker", {"wait_duration_in_open_state": "100us"}, ">= 0.001"),
    ("services.frontend.calls.0.throttle", {"window": "1.5s"}, "whole number of seconds"),
    ("services.frontend.calls.0.retry", {"budget": {"type": "ratio", "window": "500ms"}},
     "whole number of seconds"),
    ("services.frontend.calls.0.retry", {"budget": {"type": "token_bucket", "max_tokens": 0.0001}},
     ">= 0.001"),
    ("services.backend.load_balancer", {"type": "least_request", "choice_count": 10 ** 12}, "<= 100"),
])
def test_policy_values_the_engine_would_refuse_are_refused_at_load(path, value, message):
    """Found by the fuzzer: these passed `podsim check`, then the engine's
    policy classes raised ValueError mid-build ("internal error", exit 1), or
    (choice_count) drew 1e12 uniforms per request, a hang."""
    p = only(good(**{path: value}))
    assert p.path.startswith(path) and message in p.message, str(p)


def test_policy_windows_in_whole_seconds_load():
    scenario = sim.load(good(**{"services.frontend.calls.0.throttle": {"window": "2m"}}))
    assert scenario.services["frontend"].calls[0].throttle.window == 120.0


def test_several_problems_at_once(tmp_path):
    path = tmp_path / "several.yaml"
    path.write_text(SEVERAL)
    found = problems(path)
    assert {located(p.path) for p in found} == SEVERAL_PATHS
    assert len(found) == len(SEVERAL_PATHS)


# ----------------------------------------------------------------------------- command line
def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_check_lists_every_problem_and_exits_2(capsys, tmp_path):
    path = tmp_path / "several.yaml"
    path.write_text(SEVERAL)
    code, out, err = _cli(capsys, "check", str(path))
    assert code == 2
    assert "Traceback" not in err and "Traceback" not in out
    lines = [line.strip() for line in err.splitlines()[1:] if line.strip()]
    assert {located(LINE.match(line).group("path")) for line in lines} == SEVERAL_PATHS
    assert f"{len(SEVERAL_PATHS)} problems" in err.splitlines()[0]


@pytest.mark.parametrize("argv", [
    ["run", "{good}", "--set", "services.nope.replicas=1"],
    ["run", "{good}", "--set", "warmup=10m"],
    ["run", "{good}", "--set", "workload.users.arrivals.rate=-3"],
    ["check", "{missing}"],
    ["check", "{broken}"],
    ["run", "{good}", "--set", "noequals"],
])
def test_cli_bad_input_exits_2_without_traceback(capsys, tmp_path, argv):
    good_path = tmp_path / "good.yaml"
    good_path.write_text(yaml.safe_dump(GOOD))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    names = {"good": good_path, "missing": tmp_path / "missing.yaml", "broken": broken}
    code, out, err = _cli(capsys, *[a.format(**names) for a in argv])
    assert code == 2, (out, err)
    assert "Traceback" not in err and "internal error" not in err
    problem_lines = [line.strip() for line in err.splitlines()[1:] if line.strip()]
    assert problem_lines and all(LINE.match(line) for line in problem_lines), err


def test_cli_subprocess_bad_input(tmp_path):
    path = tmp_path / "several.yaml"
    path.write_text(SEVERAL)
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "check", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    for expected in SEVERAL_PATHS:
        assert re.search(rf"^\s*{re.escape(expected)}(\.value)?: ", proc.stderr, re.M), expected
    assert "services.frontend.pod.workrs: unknown key; did you mean 'workers'? (got 3)" in proc.stderr


@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
def test_cli_check_accepts_the_models(capsys, model):
    code, out, err = _cli(capsys, "check", str(model))
    assert code == 0, err
    assert ": ok" in out and err == ""


def test_models_exist():
    assert {m.name for m in MODELS} >= {"mmc.yaml", "reference.yaml"}


def test_a_key_of_another_kind_of_fault_lists_this_kinds_keys():
    """Found in review: ``service`` on a latency fault (an edge fault, from/to)
    said "did you mean 'service'?" (the key of other fault kinds). The tag
    now narrows the union to the chosen kind's fields."""
    scenario = {"name": "x", "duration": 10,
                "workload": {"w": {"target": "s", "arrivals": {"rate": 1}}},
                "services": {"s": {"pod": {"work": "1ms"}}},
                "faults": [{"kind": "latency", "service": "s", "at": 1, "add": "50ms"}]}
    with pytest.raises(sim.errors.ScenarioError) as caught:
        sim.load(scenario)
    report = caught.value.report()
    assert "faults.0.service: unknown key; allowed: add, at, for, from, kind, legs, to" in report
    assert "did you mean 'service'" not in report
