"""Fuzzing the scenario layer with mutations of the shipped models (issue 8).

Each example takes one model from ``models/``, shrinks it so that a run is
short in simulated time (10 s, at most 20 requests/s per workload, faults and
profile points moved inside the window), applies one mutation to one node:

- ``drop``: remove the key (or list item);
- ``retype``: a value of another type (list, mapping, string, bool, null, number);
- ``string``: a non-numeric string; ``negative``; ``huge`` (1e12 .. inf, nan);
  ``tiny`` (0, 1e-9); ``unit``: a number with a wrong unit (``5 parsecs``);
- ``unknown_key``: a key that does not exist, or a typo of a sibling key;
- ``reference``: a ``to``/``target``/``service``/``from`` naming nothing; for a
  ``to``/``target`` also ``NAME/ghost`` (an endpoint naming nothing, or one
  of an external or of a service without endpoints) and each valid
  ``SERVICE/ENDPOINT``; or an external dependency renamed (its callers then
  name nothing),

writes it as YAML and runs ``podsim check`` on it in process (``sim.cli.main``,
the command line's own code path). The only acceptable answers:

- exit 2, no traceback, no "internal error", every problem line in the
  ``path: problem (got VALUE)`` form, and one problem naming the mutated path
  (that path, a path inside it or around it, or its key in the message: a
  dropped service is reported where it is called, and so are the externals
  of a dropped or emptied ``external`` block; for a dropped key, the block
  that lost it);
- exit 0, and then ``podsim run`` of it (duration clamped to 10 s) exits 0
  within a wall-clock bound (a hang or a runaway fails the example).

A valid mutation that asks for an enormous run (a rate of 1e12/s, a million
replicas) is checked but not run: that is the user's request, not a bug.

Budget: ``PODSIM_FUZZ_EXAMPLES`` (default 300, derandomized for CI); a large
run, e.g. ``PODSIM_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_models.py
--hypothesis-show-statistics``, draws fresh random examples.
"""
from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import re
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.spec.bare_numbers import ScenarioWarning
from sim.units import parse_duration

ROOT = Path(__file__).resolve().parents[1]
MODEL_FILES = sorted((ROOT / "models").glob("*.yaml"))
LINE = re.compile(r"^\s*(?P<path>\S[^:]*(?::\d+:\d+)?): (?P<message>.+?)(?: \(got (?P<value>.+)\))?$")

EXAMPLES = int(os.environ.get("PODSIM_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize="PODSIM_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

RUN_DURATION_S = 10.0
MAX_RATE_RPS = 20.0
RUN_WALL_LIMIT_S = 60
# a valid scenario bigger than this is checked, not run (the user asked for it)
MAX_RUN_REQUESTS = 20_000
MAX_RUN_PODS = 200

NodePath = tuple  # a path into the raw mapping: keys and list indices

VALUES = {
    "retype": [[], {}, "text", True, None, 7, 2.5, [1, 2], {"a": 1}],
    "string": ["garbage", "", " ", "NaN-ish", "50%"],
    "negative": [-1, -0.5, -1e6, "-5ms"],
    "huge": [1e12, 10 ** 20, 1e308, math.inf, math.nan, 2 ** 63],
    "tiny": [0, 1e-9, 0.0001],
    "unit": ["5 parsecs", "10 sec", "12 cores", "1h30", "500 mi", "3xs", "2 ms ms", "1e3q"],
}
REFERENCE_KEYS = ("to", "target", "service", "from", "name")
ENDPOINT_KEYS = ("to", "target")  # may name SERVICE/ENDPOINT
NAMED_BLOCKS = (("external",),)  # a block of names callers use: dropped, it is reported where they are called


# ----------------------------------------------------------------------------- shrinking
def _scaled(value: Any, factor: float) -> float:
    return parse_duration(value) * factor if value is not None else value


def shrink(raw: dict) -> dict:
    """``raw`` made short: 10 s, at most 20 requests/s, faults and profiles inside."""
    out = copy.deepcopy(raw)
    factor = RUN_DURATION_S / parse_duration(out["duration"])
    out.update(duration=RUN_DURATION_S, warmup=1.0, sample_interval=1.0)
    for workload in out["workload"].values():
        arrivals = workload.get("arrivals") or {}
        if "rate" in arrivals:
            arrivals["rate"] = min(arrivals["rate"], MAX_RATE_RPS)
        for point in arrivals.get("profile") or []:
            point["at"] = _scaled(point["at"], factor)
            point["rate"] = min(point["rate"], MAX_RATE_RPS)
    for fault in out.get("faults") or []:
        fault["at"] = 2.0
        if "for" in fault:
            fault["for"] = 3.0
    return out


def _load_models() -> dict[str, dict]:
    return {path.stem: shrink(yaml.safe_load(path.read_text())) for path in MODEL_FILES}


BASES = _load_models()


# ----------------------------------------------------------------------------- mutations
def paths(node: Any, prefix: NodePath = ()) -> Iterator[NodePath]:
    """Every path below ``node`` (mapping keys and list indices), depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield prefix + (key,)
        yield from paths(child, prefix + (key,))


def dotted(path: NodePath) -> str:
    return ".".join(str(p) for p in path)


def parent_and_key(raw: dict, path: NodePath) -> tuple[Any, Any]:
    node = raw
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


def mutate(raw: dict, path: NodePath, kind: str, value: Any) -> tuple[dict, NodePath]:
    """A copy of ``raw`` with one mutation; returns it and the path it names."""
    out = copy.deepcopy(raw)
    parent, key = parent_and_key(out, path)
    if kind == "drop":
        del parent[key]
    elif kind == "rename":  # the key renamed ``value``: references to the old name name nothing
        parent[value] = parent.pop(key)
    elif kind == "unknown_key":
        target = parent[key]
        target[value] = 1
        return out, path + (value,)
    else:
        parent[key] = value
    return out, path


def _typos(keys: list[str]) -> list[str]:
    """Near misses of existing keys (a letter dropped or doubled), plus a stranger."""
    found = ["bogus_key"]
    for key in keys:
        if isinstance(key, str) and len(key) > 3:
            found += [key[:-1], key + key[-1]]
    return [k for k in found if k not in keys]


def reference_values(raw: dict, path: NodePath) -> list[str]:
    """What a ``reference`` mutation may write at ``path``: a name naming nothing;
    at a ``to``/``target`` also an endpoint naming nothing (``NAME/ghost``:
    unknown endpoint, an external's or a service without endpoints) and
    every valid ``SERVICE/ENDPOINT``."""
    values = ["ghost"]
    parent, key = parent_and_key(raw, path)
    current = parent[key]
    if key in ENDPOINT_KEYS and isinstance(current, str):
        name = current.partition("/")[0]
        values.append(f"{name}/ghost")
        service = (raw.get("services") or {}).get(name) or {}
        values += [f"{name}/{endpoint}" for endpoint in service.get("endpoints") or {}]
    return values


@st.composite
def mutations(draw) -> tuple[str, dict, NodePath, str, Any]:
    """(model, mutated raw, mutated path, kind, value)."""
    model = draw(st.sampled_from(sorted(BASES)))
    raw = BASES[model]
    all_paths = list(paths(raw))
    kinds = ["drop", "retype", "string", "negative", "huge", "tiny", "unit", "unknown_key", "reference"]
    kind = draw(st.sampled_from(kinds))
    if kind == "unknown_key":
        mappings = [()] + [p for p in all_paths if isinstance(parent_and_key(raw, p)[0][p[-1]], dict)]
        target = draw(st.sampled_from(mappings))
        node = raw if not target else parent_and_key(raw, target)[0][target[-1]]
        key = draw(st.sampled_from(_typos(list(node))))
        if not target:  # a key inserted at the top level
            out = copy.deepcopy(raw)
            out[key] = 1
            return model, out, (key,), kind, key
        out, where = mutate(raw, target, kind, key)
        return model, out, where, kind, key
    if kind == "reference":
        refs = [p for p in all_paths if p[-1] in REFERENCE_KEYS]
        refs += [("external", name) for name in raw.get("external") or {}]
        path = draw(st.sampled_from(refs)) if refs else draw(st.sampled_from(all_paths))
        if path[:-1] == ("external",):
            out, where = mutate(raw, path, "rename", "ghost")
            return model, out, where, kind, "ghost"
        value = draw(st.sampled_from(reference_values(raw, path)))
    else:
        path = draw(st.sampled_from(all_paths))
        value = None if kind == "drop" else draw(st.sampled_from(VALUES[kind]))
    out, where = mutate(raw, path, kind, value)
    return model, out, where, kind, value


# ----------------------------------------------------------------------------- the oracle
class Runaway(BaseException):
    """A run exceeded the wall-clock bound (a BaseException: main() must not catch it)."""


@contextlib.contextmanager
def wall_limit(seconds: int):
    def alarm(signum, frame):
        raise Runaway(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def related(problem_path: str, line: str, mutated: str) -> bool:
    """Does a problem name the mutated path (or the key it broke)?"""
    if problem_path == mutated or problem_path.startswith(mutated + ".") \
            or mutated.startswith(problem_path + ".") or problem_path == "(top level)":
        return True
    key = mutated.rsplit(".", 1)[-1]
    return not key.isdigit() and (key in line)


def names_for(where: NodePath, kind: str, base: dict | None = None) -> list[str]:
    """Paths a problem may name for this mutation: the node, and for a dropped
    key also the block that lost it (``calls.1: to required`` after dropping
    ``calls.1.parallel``); for a dropped or retyped block of names
    (``external``) also each name it held in ``base``, reported where it is
    called (``calls.2.to: no service named 'payment'``)."""
    names = [dotted(where)]
    if kind == "drop" and len(where) > 1:
        names.append(dotted(where[:-1]))
    if kind in ("drop", "retype") and where in NAMED_BLOCKS and base is not None:
        names += [dotted(where + (name,)) for name in base.get(where[0]) or {}]
    return names


def assert_clear_rejection(err: str, out: str, *mutated: str) -> None:
    assert "Traceback" not in err + out and "internal error" not in err, err
    lines = [line.strip() for line in err.splitlines()[1:] if line.strip()]
    lines = [line for line in lines if not line.startswith("warning:")]
    assert lines, f"exit 2 without a problem line:\n{err}"
    for line in lines:
        assert LINE.match(line), f"not a `path: problem` line: {line!r}"
    assert any(related(LINE.match(line).group("path"), line, name)
               for line in lines for name in mutated), f"no problem names {' or '.join(mutated)}:\n{err}"


def run_size(scenario) -> tuple[float, int]:
    """(requests offered over the run, largest number of pods) of a valid scenario."""
    requests = 0.0
    for workload in scenario.workload.values():
        if workload.users is not None:
            requests += workload.users * RUN_DURATION_S * 100
            continue
        points = workload.arrivals.rate_points()
        peak = float(points[1].max()) if points is not None else len(workload.arrivals.timestamps())
        requests += peak * min(scenario.duration, RUN_DURATION_S)
    pods = 0
    for service in scenario.services.values():
        pods = max(pods, service.replicas, service.hpa.maxReplicas if service.hpa else 0)
    if scenario.cluster is not None:
        pods = max(pods, scenario.cluster.nodes.count,
                   scenario.cluster.autoscaler.max_nodes if scenario.cluster.autoscaler else 0)
    return requests, pods


def check_then_run(raw: dict, mutated: list[str], workdir: Path, name: str = "mutant") -> str:
    """The oracle: exit 2 naming one of ``mutated``, or exit 0 and a bounded run; the outcome."""
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with wall_limit(RUN_WALL_LIMIT_S):
        code, out, err = cli("check", str(path))
    assert code in (0, 2), f"podsim check exited {code}:\n{err}"
    if code == 2:
        assert_clear_rejection(err, out, *mutated)
        return "rejected"
    assert "Traceback" not in err
    with warnings.catch_warnings():  # bare-number warnings were printed by check already
        warnings.simplefilter("ignore", ScenarioWarning)
        scenario = sim.load(path)
    if scenario.duration > RUN_DURATION_S:
        raw = {**raw, "duration": RUN_DURATION_S, "warmup": 0}
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
    requests, pods = run_size(scenario)
    if requests > MAX_RUN_REQUESTS or pods > MAX_RUN_PODS:
        return "valid, too large to run"
    with wall_limit(RUN_WALL_LIMIT_S):
        code, out, err = cli("run", str(path))
    assert code == 0, f"podsim run exited {code}:\n{err}"
    assert "Traceback" not in err + out
    return "valid, ran"


# ----------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_the_shrunk_models_are_valid_and_run(workdir):
    for name, raw in BASES.items():
        assert check_then_run(raw, [], workdir, name) == "valid, ran", name


@FUZZ
@given(case=mutations())
def test_a_mutated_model_is_rejected_clearly_or_runs(workdir, case):
    model, raw, where, kind, value = case
    outcome = check_then_run(raw, names_for(where, kind, BASES[model]), workdir)
    event(f"{kind}: {outcome}")


def test_the_oracle_catches_an_unrelated_message():
    """The oracle itself can fail: a problem about another path does not count."""
    err = "x.yaml: 1 problem found\n  services.db.replicas: must be >= 0 (got -1)\n"
    with pytest.raises(AssertionError, match="no problem names"):
        assert_clear_rejection(err, "", "workload.users.target")
    with pytest.raises(AssertionError, match="not a `path: problem` line"):
        assert_clear_rejection("1 problem found\n  a line without a path\n", "", "a")


@pytest.mark.parametrize("path,kind,value", [
    (("external",), "drop", None),
    (("external",), "retype", {}),
    (("external", "payment"), "rename", "ghost"),
    (("services", "checkout", "endpoints", "submit", "calls", 2, "to"), "reference", "payment/ghost"),
    (("services", "gateway", "calls", 0, "to"), "reference", "cart/ghost"),
    (("workload", "shoppers", "target"), "reference", "checkout/ghost"),
])
def test_the_new_references_are_rejected_where_they_are_used(workdir, path, kind, value):
    """Externals and endpoints (issue 12): a reference to one that is not
    there is reported at the ``to``/``target`` using it."""
    raw, where = mutate(BASES["checkout"], path, kind, value)
    assert check_then_run(raw, names_for(where, kind, BASES["checkout"]), workdir) == "rejected"


SUBPROCESS_CASES = [  # (model, path, kind, value): one per family, through a real process
    ("reference", ("services", "frontend", "calls", 0, "to"), "reference", "ghost"),
    ("retry-storm", ("services", "db", "pod", "work"), "unit", "5 parsecs"),
    ("seed-go-service", ("workload", "shoppers", "client", "retry", "max_attempts"), "huge", 10 ** 20),
    ("mmc", ("services", "queue", "pod"), "drop", None),
    ("checkout", ("services", "gateway", "calls", 0, "to"), "reference", "checkout/ghost"),
]


@pytest.mark.parametrize("model,path,kind,value", SUBPROCESS_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in SUBPROCESS_CASES])
def test_a_mutated_model_through_a_real_process(tmp_path, model, path, kind, value):
    raw, where = mutate(BASES[model], path, kind, value)
    file = tmp_path / "mutant.yaml"
    file.write_text(yaml.safe_dump(raw, sort_keys=False))
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "check", str(file)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert_clear_rejection(proc.stderr, proc.stdout, *names_for(where, kind))
