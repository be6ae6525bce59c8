"""The ``podsim`` command line: run, check, sweep, bench.

Bad input never prints a traceback: each problem is printed as
``path.to.field: what is wrong (got VALUE)`` and the exit code is 2. Exit 1 is
reserved for a failure of the simulator itself. The command line's own
arguments are checked before anything runs (:mod:`sim.cli_inputs`).

A run too big for the memory is bad input too (exit 2, one message naming
``record: summary``): ``podsim run`` estimates it before running
(:mod:`sim.estimate`) and a ``MemoryError`` anywhere gets the same message.
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Callable, Optional, Sequence

from .cli_inputs import (Parser, check_run_outputs, checked_record, checked_seed, load_scenario, overrides,
                         bounded_int, positive_int, subcommand)
from .errors import ScenarioError
from .estimate import NotEnoughMemory, out_of_memory_message

EXIT_OK, EXIT_BUG, EXIT_BAD_INPUT = 0, 1, 2


def cmd_run(args) -> int:
    from . import runner
    from .estimate import estimate
    from .progress import RunProgress
    from .record.text_table import summary_table
    scenario = load_scenario(args)
    check_run_outputs(args, scenario)
    guess = estimate(scenario, record=args.record)
    if guess.too_big:  # before the run: it would grow for minutes, then fail
        raise NotEnoughMemory(guess.refusal())
    if not args.quiet:
        print(guess.one_line(), file=sys.stderr)
    try:
        with RunProgress(scenario.duration, enabled=not args.quiet, desc=scenario.name) as progress:
            result = runner.run(scenario, seed=args.seed, record=args.record, progress=progress)
        print(summary_table(result.summary))
        if args.out:
            out = result.write(args.out)
            tables = "/".join(result.table_names)
            print(f"\nwrote {out}/: summary.json, {tables}.parquet, scenario.yaml")
        if args.plot:
            from .plots import save_timeline
            path = save_timeline(result, args.plot, service=args.service)
            print(f"wrote {path}")
    except MemoryError:
        raise NotEnoughMemory(out_of_memory_message(guess.level, guess)) from None
    return EXIT_OK


def cmd_check(args) -> int:
    from .estimate import estimate
    scenario = load_scenario(args)
    services = ", ".join(scenario.services)
    externals = f"{len(scenario.external)} external [{', '.join(scenario.external)}], " \
        if scenario.external else ""
    print(f"{args.scenario}: ok ({scenario.name!r}: {len(scenario.services)} services [{services}], "
          f"{externals}{len(scenario.workload)} workloads, {len(scenario.faults)} faults)")
    guess = estimate(scenario, record=args.record)
    print(guess)
    if guess.too_big:
        print(f"  podsim run would stop before running: too big for record: {guess.record_text}; "
              "use record: summary (or podsim run --record summary)")
    return EXIT_OK


def cmd_bench(args) -> int:
    if args.scale:
        from .bench.scale import DEFAULT_DURATIONS_S, DEFAULT_LEVELS, bench_scale, format_scale_report
        report = bench_scale(durations_s=args.scale_durations or DEFAULT_DURATIONS_S,
                             levels=args.scale_levels or DEFAULT_LEVELS, scenario=args.reference)
        print(json.dumps(report, indent=2) if args.json else format_scale_report(report))
        return 130 if report["interrupted"] else EXIT_OK
    if args.sweep:
        from .bench.sweep import bench_sweep, format_sweep_report
        report = bench_sweep(runs=args.sweep_runs)
        print(json.dumps(report, indent=2) if args.json else format_sweep_report(report))
        return EXIT_OK
    from .bench import bench, format_report, main_json
    report = bench(requests=args.requests, reference=args.reference, repeats=args.repeats)
    print(main_json(report) if args.json else format_report(report))
    return EXIT_OK


def cmd_compare(args) -> int:
    """``podsim compare simfaas``: podsim's functions against SimFaaS on the grid."""
    import importlib.util
    if importlib.util.find_spec("simfaas") is None:
        print("podsim compare simfaas needs SimFaaS: pip install 'podsim[compare]' (or simfaas==0.2.2)",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    from .compare.simfaas import GRID, compare, table
    done = {"n": 0}

    def progress(what: str) -> None:
        done["n"] += 1
        if not args.quiet:
            print(f"  [{done['n']}/{len(GRID) * args.replications}] {what}", file=sys.stderr)

    frame = compare(GRID, replications=args.replications, arrivals=args.arrivals, progress=progress)
    print(table(frame))
    agree = int(frame["agrees"].sum())
    print(f"\n{agree} of {len(frame)} cells agree (99 % Welch interval of the difference over "
          f"{args.replications} replications contains 0)")
    if args.out:
        frame.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return EXIT_OK if agree == len(frame) else 1


def cmd_import(args) -> int:
    from pathlib import Path

    from .errors import Problem
    from .importer import import_manifests
    out = Path(args.out) if args.out else None
    if out is not None:  # before reading anything: a refusal costs nothing
        if out.is_dir():
            raise ScenarioError([Problem("--out", "is a directory; --out takes a file such as scenario.yaml",
                                         args.out)], source="podsim import")
        if out.exists() and not args.force:
            raise ScenarioError([Problem("--out", "exists; use --force to overwrite it", args.out)],
                                source="podsim import")
        if not out.parent.is_dir():
            raise ScenarioError([Problem("--out", f"its folder {str(out.parent)!r} does not exist",
                                         args.out)], source="podsim import")
    result = import_manifests(args.path)
    imported = result.imported
    err = sys.stderr
    print(f"podsim import: {args.path}", file=err)
    for item in imported.imported:
        print(f"  imported: {item}", file=err)
    for note in result.skipped:
        print(f"  skipped: {note}", file=err)
    significant = [n for n in imported.notes if n.significant]
    for note in significant:
        print(f"  not imported: {note}", file=err)
    quiet = len(imported.notes) - len(significant)
    if quiet:
        print(f"  ignored: {quiet} field{'s' if quiet != 1 else ''} with no effect on a simulation "
              "(ports, image, ...; listed at the top of the scenario)", file=err)
    for warning in imported.warnings:
        print(f"podsim: warning: {warning}", file=err)
    if out is not None:
        out.write_text(result.text, encoding="utf-8")
        print(f"wrote {out}", file=err)
    else:
        sys.stdout.write(result.text)
    print(f"{result.placeholders} placeholders to fill (values starting with TODO, each under a "
          f"'# TODO: measure' comment); podsim check {out or 'FILE'} lists those left", file=err)
    return EXIT_OK


def cmd_sweep(args) -> int:
    from .experiment.cli import run_sweep_command
    return run_sweep_command(args)


def cmd_report(args) -> int:
    from .experiment.cli import run_report_command
    return run_report_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="podsim", description="Simulate elastic microservice clusters: run a scenario, "
                                   "check one, sweep an experiment, benchmark the simulator.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate one scenario and print its summary")
    run.add_argument("scenario")
    run.add_argument("--seed", type=checked_seed, default=None, help="override the scenario's seed")
    run.add_argument("--set", action="append", metavar="PATH=VALUE", default=[],
                     help="override a value by dotted path (repeatable)")
    run.add_argument("--out", metavar="DIR", help="write summary.json, tables and scenario.yaml")
    run.add_argument("--plot", metavar="FILE.png", help="write the timeline figure")
    run.add_argument("--service", help="service shown in the timeline (default: the entry service)")
    run.add_argument("--record", type=checked_record, metavar="{full,sample,summary,sample:N}", default=None,
                     help="how much of the run to keep in memory (overrides the scenario's record): "
                          "full (every request and hop), summary (bounded), sample:N (1 request in N)")
    run.add_argument("--quiet", action="store_true",
                     help="print neither the estimate nor the progress bar (both on stderr)")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate a scenario; list every problem")
    check.add_argument("scenario")
    check.add_argument("--set", action="append", metavar="PATH=VALUE", default=[])
    check.add_argument("--record", type=checked_record, metavar="{full,sample,summary,sample:N}", default=None,
                       help="estimate for this level instead of the scenario's record")
    check.set_defaults(func=cmd_check)

    sweep = sub.add_parser("sweep", help="run an experiment: arms x factors x replications")
    sweep.add_argument("experiment")
    sweep.add_argument("--out", metavar="DIR", help="result directory (default out/<name>)")
    sweep.add_argument("--jobs", type=positive_int, default=None, help="worker processes (default: all cores)")
    sweep.add_argument("--executor", choices=["local", "dask"], default="local")
    sweep.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (tcp://host:8786)")
    sweep.add_argument("--resume", action="store_true", help="run only the runs not yet stored")
    sweep.add_argument("--replications", type=positive_int, default=None, help="override the experiment's")
    sweep.add_argument("--keep-runs", action="store_true", help="keep per-run tables")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--no-report", action="store_true", help="no report.md and figures")
    sweep.add_argument("--until-precision", type=float, metavar="P", default=None,
                       help="add replications in rounds until every metric's relative CI half-width <= P")
    sweep.add_argument("--max-replications", type=positive_int, metavar="N", default=None,
                       help="with --until-precision: stop at N replications (default 100)")
    sweep.set_defaults(func=cmd_sweep)

    imp = sub.add_parser("import", help="Kubernetes manifests (Deployment, Service, HPA) -> a scenario "
                                        "with placeholders to fill")
    imp.add_argument("path", metavar="PATH", help="a manifest file or a directory of .yaml/.yml files")
    imp.add_argument("--out", metavar="FILE.yaml", help="write the scenario here (default: stdout)")
    imp.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    imp.set_defaults(func=cmd_import)

    report = sub.add_parser("report", help="rebuild report.md, report.html and figures of a stored sweep")
    report.add_argument("out", metavar="DIR", help="the sweep's result directory")
    report.set_defaults(func=cmd_report)

    compare_ = sub.add_parser("compare", help="side by side with another simulator (simfaas: the "
                                              "Lambda case)")
    compare_.add_argument("simulator", choices=["simfaas"], help="the simulator to compare with")
    compare_.add_argument("--replications", type=bounded_int(100, "each one runs the whole grid twice"),
                          default=5, help="replications per grid point and simulator (default 5)")
    compare_.add_argument("--arrivals", type=bounded_int(1_000_000, "SimFaaS simulates ~100k requests/s"),
                          default=20_000, help="requests per replication, about (default 20,000)")
    compare_.add_argument("--out", help="also write the table as CSV")
    compare_.add_argument("--quiet", action="store_true", help="no progress lines")
    compare_.set_defaults(func=cmd_compare)

    from .bench.scale import durations_arg as scale_durations, levels_arg as scale_levels
    bench = sub.add_parser("bench", help="throughput against a bare SimPy M/M/c")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--requests", type=positive_int, default=200_000)
    bench.add_argument("--repeats", type=positive_int, default=5,
                       help="best of N, baseline and simulator alternating (noisy machines)")
    bench.add_argument("--reference", help="scenario for the reference figure (with --scale: run this "
                                           "one, at its own load, instead of the reference at 2,000 req/s)")
    bench.add_argument("--sweep", action="store_true",
                       help="instead: sweep speedup from 1 to 2 jobs and per-run overhead")
    bench.add_argument("--sweep-runs", type=positive_int, default=40, help="runs in the --sweep benchmark")
    bench.add_argument("--scale", action="store_true",
                       help="instead: seconds and peak RSS of the reference model at 2,000 req/s for "
                            "5, 10 and 20 simulated minutes at record summary and full (takes minutes)")
    bench.add_argument("--scale-durations", type=scale_durations, metavar="D,D,...", default=None,
                       help="simulated durations of the --scale runs (default 5m,10m,20m)")
    bench.add_argument("--scale-levels", type=scale_levels, metavar="LEVEL,...", default=None,
                       help="record levels of the --scale runs (default summary,full)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    func: Callable = args.func
    try:
        if extras:  # a stray word: explained by a --set without '=' (KEY VALUE), or unknown
            overrides(getattr(args, "set", ()), argv, extras)
            subcommand(parser, args.command).error(f"unrecognized arguments: {' '.join(extras)}")
        return func(args)
    except ScenarioError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except NotEnoughMemory as exc:  # estimated too big before the run, or a MemoryError in it
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:  # anywhere else (a huge trace file, ...): still no traceback
        print(out_of_memory_message(None), file=sys.stderr)
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
