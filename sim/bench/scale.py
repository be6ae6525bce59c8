"""``podsim bench --scale``: seconds and peak memory as the simulated work grows.

Runs the reference model (``models/reference.yaml``) at a constant 2,000
requests/s for 5, 10 and 20 simulated minutes, at ``record: summary`` and at
``record: full``, and prints one table (a row per level and duration:
requests, hops, events, wall seconds, peak RSS and the RSS growth against the
shortest duration of the same level) and a verdict on the issue's criterion:
at ``record: summary`` the peak RSS of the longest run is within 10 % of the
shortest and under 400 MB. ``full`` keeps every request and attempt as a row,
so its memory grows with the duration; ``summary`` keeps online statistics,
so it must not. ``--scale-durations 1m,2m`` and ``--scale-levels summary``
choose other durations and levels, ``--json`` prints the report as JSON
(every run with its base RSS after imports, success ratio and replicas too).

Each measurement is a fresh ``python -m sim.bench.scale --one ...``
subprocess, so its peak RSS (``VmHWM`` of ``/proc/self/status``; elsewhere
``ru_maxrss``) is that run's own, not the high-water mark of an earlier, larger
run. Runs go one after the other (they would share the cores otherwise); a
line on stderr says which is going. Ctrl-C kills the running child and the
report holds what was measured so far (``interrupted: true``).

The reference model at 2,000 requests/s (``REFERENCE_SCALE`` below; the file
is sized for 150 requests/s with a spike to 300):

- ``workload.shoppers.arrivals: {rate: 2000}``: the whole arrivals mapping is
  replaced, dropping the file's piecewise profile (150 -> 300 -> 150 req/s):
  the spike is absolute, not a multiplier, and a constant load keeps the runs
  of different durations alike, so only their length differs;
- replicas sized for 2,000 req/s at a CPU utilization of about 50-67 % (the
  reference's 150 req/s keeps them at 15-20 %, with room for its spike):
  ``frontend`` 24 (2,000 x 4 ms = 8 cores; 24 pods use 0.33 core each, 67 % of
  their 500m request, just under the HPA's 70 % target, so the HPA holds
  rather than chases a start far below the load) with ``hpa.maxReplicas`` 48
  (from 12: room to scale up instead of being pinned at the maximum);
  ``users`` 10 (6 cores of work on 1-core pods), ``db`` 4 (4 cores of work on
  2-core pods), ``prices`` 8 and ``stock`` 8 (about 2 cores of work each on
  500m pods). Without them ``users`` and ``db`` alone would be overloaded
  (6 cores of work on 2, 4 on 4) and the run would measure a collapse of
  timeouts and retries, not a service;
- ``faults: []``: the file's one fault (a ``users`` slowdown at 22 min) falls
  after every run's end; a fault after the end is valid (its window is simply
  empty) but dropping it keeps the runs stationary; for another scenario
  ``rollouts`` and ``windows`` are dropped too (``windows`` ending after a
  shortened duration would be invalid);
- ``duration`` as measured, ``warmup`` ``min(1 min, duration / 5)`` (it must be
  shorter than the duration; tiny test runs of a few seconds stay valid).
  ``sample_interval`` stays the file's 10 s: its time-series rows are part of
  every level.

Requests and hops (``hops_per_request x requests``) count the measured window
after the warm-up; events are the engine's whole run. Another scenario
(``scenario=``, ``podsim bench --scale --reference FILE``) gets only the
duration, warm-up, faults, rollouts and windows overrides: it runs at its own
load and sizing.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..units import format_duration

SCALE_RATE_RPS = 2000.0
DEFAULT_DURATIONS_S = (300.0, 600.0, 1200.0)
DEFAULT_LEVELS = ("summary", "full")
GROWTH_LIMIT = 0.10
"""Summary's peak RSS at the longest duration may exceed the shortest's by this much."""
RSS_LIMIT_MB = 400.0
REFERENCE_SCALE = {
    "workload.shoppers.arrivals": {"rate": SCALE_RATE_RPS},
    "services.frontend.replicas": 24,
    "services.frontend.hpa.maxReplicas": 48,
    "services.users.replicas": 10,
    "services.db.replicas": 4,
    "services.prices.replicas": 8,
    "services.stock.replicas": 8,
}
"""The reference model sized for 2,000 requests/s (see the module docstring)."""


def _reference_path() -> Path:
    for candidate in (Path("models/reference.yaml"),
                      Path(__file__).resolve().parents[2] / "models" / "reference.yaml"):
        if candidate.exists():
            return candidate.resolve()
    raise FileNotFoundError("models/reference.yaml not found (give a scenario)")


def scale_overrides(duration_s: float, reference: bool = True) -> dict[str, Any]:
    """The overrides of one measurement: the reference's sizing (``reference``)
    plus the duration, a warm-up that fits it and no faults (nor rollouts and
    windows for another scenario)."""
    overrides: dict[str, Any] = {"duration": float(duration_s), "warmup": min(60.0, duration_s / 5),
                                 "faults": []}
    if reference:
        overrides.update(REFERENCE_SCALE)
    else:
        overrides.update({"rollouts": [], "windows": {}})
    return overrides


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MB (VmHWM; else ru_maxrss)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0  # bytes on macOS


def measure_one(scenario: str, duration_s: float, level: str, reference: bool = True,
                seed: Optional[int] = None) -> dict[str, Any]:
    """One run in this process (the child's side): its numbers, peak RSS included."""
    from ..runner import run
    from ..spec import load
    overrides = scale_overrides(duration_s, reference)
    spec = load(scenario, overrides)  # loaded (and imported) before the clock and the base RSS
    base_mb = peak_rss_mb()
    started = time.perf_counter()
    result = run(spec, seed=seed, record=level)
    wall_s = time.perf_counter() - started
    peak_mb = peak_rss_mb()
    summary = result.summary
    requests = int(summary["requests"]["total"])
    services = summary.get("services", {})
    return {
        "level": level, "duration_s": float(duration_s), "requests": requests,
        "hops": int(round(summary["hops_per_request"] * requests)), "events": int(summary["events"]),
        "wall_s": wall_s, "peak_rss_mb": peak_mb, "base_rss_mb": base_mb,
        "offered_rps": summary.get("offered_rps"), "success_ratio": summary.get("success_ratio"),
        "max_replicas": {name: s["replicas"]["max"] for name, s in services.items() if "replicas" in s},
    }


def _child(scenario: str, duration_s: float, level: str, reference: bool,
           seed: Optional[int]) -> subprocess.Popen:
    command = [sys.executable, "-m", "sim.bench.scale", "--one", "--scenario", scenario,
               "--duration", repr(float(duration_s)), "--level", level]
    if not reference:
        command.append("--not-reference")
    if seed is not None:
        command += ["--seed", str(seed)]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # importable as in this process, installed or not
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def bench_scale(durations_s: Sequence[float] = DEFAULT_DURATIONS_S,
                levels: Sequence[str] = DEFAULT_LEVELS, scenario: Optional[str] = None,
                seed: Optional[int] = None, say: Optional[Callable[[str], None]] = _say) -> dict[str, Any]:
    """Measure every level x duration, each in a fresh subprocess; the report.

    ``scenario`` None is the reference model at 2,000 requests/s; another
    scenario runs at its own load. ``say`` gets a progress line per
    measurement (stderr by default; None: quiet). On Ctrl-C the running child
    is killed and the report holds the finished runs, ``interrupted`` true.
    """
    from ..estimate import NotEnoughMemory, estimate
    from ..spec import load
    reference = scenario is None
    path = str(_reference_path() if reference else Path(scenario).resolve())
    durations = sorted({float(d) for d in durations_s})
    for duration_s in durations:  # bad input is reported here (ScenarioError), not by a child
        spec = load(path, scale_overrides(duration_s, reference))
        for level in levels:  # as podsim run: a run whose rows cannot fit is refused up front
            guess = estimate(spec, record=level)
            if guess.too_big:
                raise NotEnoughMemory(f"{guess.refusal()}\n  (podsim bench --scale: the "
                                      f"{format_duration(duration_s)} run at record: {level})")
    plan = [(level, d) for level in dict.fromkeys(levels) for d in durations]
    say = say or (lambda _line: None)
    report: dict[str, Any] = {
        "scenario": path, "rate_rps": SCALE_RATE_RPS if reference else None,
        "overrides": {k: v for k, v in scale_overrides(durations[0], reference).items()
                      if k not in ("duration", "warmup")},
        "durations_s": durations, "levels": list(dict.fromkeys(levels)), "cores": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "runs": [], "interrupted": False,
    }
    proc: Optional[subprocess.Popen] = None
    try:
        for i, (level, duration_s) in enumerate(plan, 1):
            say(f"scale {i}/{len(plan)}: record {level}, {format_duration(duration_s)} simulated ...")
            proc = _child(path, duration_s, level, reference, seed)
            out, _ = proc.communicate()
            if proc.returncode in (130, -signal.SIGINT):  # Ctrl-C reached the child first
                raise KeyboardInterrupt
            lines = [line for line in (out or "").splitlines() if line.strip()]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"scale run (record {level}, {duration_s:g} s) failed with exit code "
                                   f"{proc.returncode} (its error is above, on stderr)")
            run = json.loads(lines[-1])
            report["runs"].append(run)
            say(f"scale {i}/{len(plan)}: {run['wall_s']:.1f} s, peak RSS {run['peak_rss_mb']:.0f} MB, "
                f"{run['requests']:,} requests")
    except KeyboardInterrupt:
        if proc is not None and proc.poll() is None:
            proc.kill()  # the child this loop started, by its own handle
            proc.wait()
        report["interrupted"] = True
        say(f"scale: interrupted; {len(report['runs'])} of {len(plan)} runs measured")
    _add_growth(report["runs"])
    report["verdict"] = verdict(report["runs"])
    report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return report


def _add_growth(runs: list[dict[str, Any]]) -> None:
    """Each run's peak RSS growth against the shortest run of its level."""
    for run in runs:
        same = [r for r in runs if r["level"] == run["level"]]
        shortest = min(same, key=lambda r: r["duration_s"])
        run["rss_growth"] = run["peak_rss_mb"] / shortest["peak_rss_mb"] - 1.0


def verdict(runs: list[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """The done-when criterion at ``record: summary``: peak RSS of the longest
    run within 10 % of the shortest's and under 400 MB (None: fewer than two
    summary durations measured)."""
    summary = sorted((r for r in runs if r["level"] == "summary"), key=lambda r: r["duration_s"])
    if len(summary) < 2:
        return None
    short, long = summary[0], summary[-1]
    growth = long["peak_rss_mb"] / short["peak_rss_mb"] - 1.0
    within = growth <= GROWTH_LIMIT
    under = max(r["peak_rss_mb"] for r in summary) < RSS_LIMIT_MB
    return {"level": "summary", "shortest_s": short["duration_s"], "longest_s": long["duration_s"],
            "shortest_mb": short["peak_rss_mb"], "longest_mb": long["peak_rss_mb"], "growth": growth,
            "within_growth_limit": within, "under_rss_limit": under, "met": within and under,
            "growth_limit": GROWTH_LIMIT, "rss_limit_mb": RSS_LIMIT_MB}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.3g}"


def format_scale_report(report: dict[str, Any]) -> str:
    rate = f"{report['rate_rps']:,.0f} requests/s" if report.get("rate_rps") else "its own load"
    lines = [f"scale: {Path(report['scenario']).name} at {rate}, one fresh process a run, "
             f"{report['cores']} cores ({report['started']})",
             f"{'record':<9}{'sim min':>8}{'requests':>12}{'hops':>12}{'events':>13}{'wall s':>9}"
             f"{'peak MB':>9}{'growth':>9}"]
    shortest = {}
    for run in report["runs"]:
        shortest[run["level"]] = min(shortest.get(run["level"], run["duration_s"]), run["duration_s"])
    for run in report["runs"]:
        growth = "-" if run["duration_s"] == shortest[run["level"]] else f"{run['rss_growth']:+.1%}"
        lines.append(f"{run['level']:<9}{_minutes(run['duration_s']):>8}{run['requests']:>12,}"
                     f"{run['hops']:>12,}{run['events']:>13,}{run['wall_s']:>9.1f}"
                     f"{run['peak_rss_mb']:>9.0f}{growth:>9}")
    lines.append("growth: peak RSS against the shortest run of the same record level")
    v = report.get("verdict")
    if v is None:
        lines.append("verdict: none (needs two or more record: summary durations)")
    else:
        lines.append(
            f"verdict (record: summary, peak RSS within {v['growth_limit']:.0%} from "
            f"{_minutes(v['shortest_s'])} to {_minutes(v['longest_s'])} min and under "
            f"{v['rss_limit_mb']:.0f} MB): {'yes' if v['met'] else 'no'} "
            f"({v['shortest_mb']:.0f} MB -> {v['longest_mb']:.0f} MB, {v['growth']:+.1%}; "
            f"within {v['growth_limit']:.0%}: {'yes' if v['within_growth_limit'] else 'no'}, "
            f"under {v['rss_limit_mb']:.0f} MB: {'yes' if v['under_rss_limit'] else 'no'})")
    if report.get("interrupted"):
        lines.append(f"interrupted: {len(report['runs'])} runs measured")
    return "\n".join(lines)


def durations_arg(text: str) -> list[float]:
    """``--scale-durations 5m,10m,20m`` (argparse type): durations > 0."""
    from ..units import parse_duration
    out = []
    for word in (w.strip() for w in text.split(",")):
        try:
            seconds = parse_duration(word)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{exc} (got {word!r})") from None
        if seconds <= 0:
            raise argparse.ArgumentTypeError(f"durations must be > 0 (got {word!r})")
        out.append(seconds)
    return out


def levels_arg(text: str) -> list[str]:
    """``--scale-levels summary,full`` (argparse type)."""
    from ..cli_inputs import checked_record
    return [checked_record(w.strip()) for w in text.split(",")]


def _main_one(argv: Optional[Sequence[str]] = None) -> int:
    """The child: ``python -m sim.bench.scale --one ...`` prints one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m sim.bench.scale")
    parser.add_argument("--one", action="store_true", required=True)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--level", required=True)
    parser.add_argument("--not-reference", action="store_true")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        result = measure_one(args.scenario, args.duration, args.level,
                             reference=not args.not_reference, seed=args.seed)
    except KeyboardInterrupt:
        return 130
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main_one())
