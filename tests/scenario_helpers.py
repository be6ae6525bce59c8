"""Helpers shared by the deterministic engine tests (control plane, lifecycle, cluster).

Deterministic scenarios: deterministic arrivals (the k-th arrival of a step of
rate ``r`` starting at ``a`` is at ``a + k / r``), constant work, no network
latency, so every expected time can be derived by hand from the rules imitated.
"""
from __future__ import annotations

import pytest

CPU50 = {"type": "Resource",
         "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
"""An HPA metric: average CPU utilization of 50 % of the pods' requests."""


def steps(*points) -> dict:
    """Deterministic arrivals: ``points`` are ``(at_s, rate)`` steps, zero before the first."""
    return {"profile": [{"at": 0, "rate": 0}] + [{"at": at, "rate": r} for at, r in points],
            "process": "deterministic"}


def scenario(name: str, duration: float, arrivals: dict, service: dict, *,
             sample_interval: float = 1.0, **extra) -> dict:
    """One workload ``load`` sending ``arrivals`` to one service ``web``."""
    spec = {"name": name, "duration": duration, "sample_interval": sample_interval,
            "workload": {"load": {"target": "web", "arrivals": arrivals}},
            "services": {"web": service}}
    spec.update(extra)
    return spec


def event_times(result, kind: str, pod: str | None = None) -> list[float]:
    """Times of the events of ``kind`` (of one pod, if given)."""
    ev = result.events
    sel = ev["kind"] == kind
    if pod is not None:
        sel &= ev["pod"].astype(str) == pod
    return ev.loc[sel, "t_s"].tolist()


def approx(values, expected):
    """Exact up to float rounding (1e-9 s)."""
    return values == pytest.approx(expected, abs=1e-9)


def cli(capsys, *argv) -> tuple[int, str, str]:
    """Exit code, stdout, stderr of ``podsim ARGV`` run in process (argparse's
    exits included); fails the test on any traceback or internal error."""
    from sim.cli import main
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err, err
    return code, out, err


PROBLEM_LINE = __import__("re").compile(r"^\s+(?P<path>\S[^:]*): (?P<message>.+)$")


def check_variant(tmp_path, capsys, base: dict, mutate) -> tuple[int, str]:
    """``podsim check`` of a deep copy of ``base`` after ``mutate(raw)``: exit
    code and all output (bad-input tests)."""
    import copy

    import yaml
    raw = copy.deepcopy(base)
    mutate(raw)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    code, out, err = cli(capsys, "check", path)
    return code, out + err


def problem_lines(output: str) -> list[tuple[str, str]]:
    """(path, message) of every problem line of ``podsim check``'s output."""
    return [(m["path"], m["message"]) for m in map(PROBLEM_LINE.match, output.splitlines()) if m]
