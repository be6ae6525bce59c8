"""The ``podsim`` command line: run, check, sweep, bench.

Bad input never prints a traceback: each problem is printed as
``path.to.field: what is wrong (got VALUE)`` and the exit code is 2. Exit 1 is
reserved for a failure of the simulator itself.
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Callable, Optional, Sequence

from .errors import ScenarioError

EXIT_OK, EXIT_BUG, EXIT_BAD_INPUT = 0, 1, 2


def _overrides(assignments: Sequence[str]) -> dict:
    from .spec.overrides import parse_assignment
    return dict(parse_assignment(a) for a in assignments or ())


def cmd_run(args) -> int:
    from . import runner
    from .report_table import summary_table
    from .spec import load
    scenario = load(args.scenario, _overrides(args.set))
    result = runner.run(scenario, seed=args.seed)
    print(summary_table(result.summary))
    if args.out:
        out = result.write(args.out)
        print(f"\nwrote {out}/: summary.json, requests/calls/timeseries/events.parquet, scenario.yaml")
    if args.plot:
        from .plots import save_timeline
        path = save_timeline(result, args.plot, service=args.service)
        print(f"wrote {path}")
    return EXIT_OK


def cmd_check(args) -> int:
    from .spec import load
    scenario = load(args.scenario, _overrides(args.set))
    services = ", ".join(scenario.services)
    print(f"{args.scenario}: ok ({scenario.name!r}: {len(scenario.services)} services [{services}], "
          f"{len(scenario.workload)} workloads, {len(scenario.faults)} faults)")
    return EXIT_OK


def cmd_bench(args) -> int:
    if args.sweep:
        from .experiment.bench import bench_sweep, format_sweep_report
        report = bench_sweep(runs=args.sweep_runs)
        print(json.dumps(report, indent=2) if args.json else format_sweep_report(report))
        return EXIT_OK
    from .bench import bench, format_report, main_json
    report = bench(requests=args.requests, reference=args.reference, repeats=args.repeats)
    print(main_json(report) if args.json else format_report(report))
    return EXIT_OK


def cmd_sweep(args) -> int:
    from .experiment.cli import run_sweep_command
    return run_sweep_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podsim", description="Simulate elastic microservice clusters: run a scenario, "
                                   "check one, sweep an experiment, benchmark the simulator.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate one scenario and print its summary")
    run.add_argument("scenario")
    run.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    run.add_argument("--set", action="append", metavar="PATH=VALUE", default=[],
                     help="override a value by dotted path (repeatable)")
    run.add_argument("--out", metavar="DIR", help="write summary.json, tables and scenario.yaml")
    run.add_argument("--plot", metavar="FILE.png", help="write the timeline figure")
    run.add_argument("--service", help="service shown in the timeline (default: the entry service)")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate a scenario; list every problem")
    check.add_argument("scenario")
    check.add_argument("--set", action="append", metavar="PATH=VALUE", default=[])
    check.set_defaults(func=cmd_check)

    sweep = sub.add_parser("sweep", help="run an experiment: arms x factors x replications")
    sweep.add_argument("experiment")
    sweep.add_argument("--out", metavar="DIR", help="result directory (default out/<name>)")
    sweep.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    sweep.add_argument("--executor", choices=["local", "dask"], default="local")
    sweep.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (tcp://host:8786)")
    sweep.add_argument("--resume", action="store_true", help="run only the runs not yet stored")
    sweep.add_argument("--replications", type=int, default=None, help="override the experiment's")
    sweep.add_argument("--keep-runs", action="store_true", help="keep per-run tables")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--no-report", action="store_true", help="no report.md and figures")
    sweep.set_defaults(func=cmd_sweep)

    bench = sub.add_parser("bench", help="throughput against a bare SimPy M/M/c")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--requests", type=int, default=200_000)
    bench.add_argument("--repeats", type=int, default=5,
                       help="best of N, baseline and simulator alternating (noisy machines)")
    bench.add_argument("--reference", help="scenario for the reference figure")
    bench.add_argument("--sweep", action="store_true",
                       help="instead: sweep speedup from 1 to 2 jobs and per-run overhead")
    bench.add_argument("--sweep-runs", type=int, default=40, help="runs in the --sweep benchmark")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable = args.func
    try:
        return func(args)
    except ScenarioError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception:  # a bug in the simulator: say so, with the traceback for the report
        traceback.print_exc()
        print("podsim: internal error (a bug in the simulator, exit 1)", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
