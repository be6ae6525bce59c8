"""``podsim sweep EXPERIMENT``: run an experiment with a progress bar, store
its results, print the ranked table and write the report.

Exit codes: 0 when the sweep completed (even if some runs failed: they are
recorded), 2 for bad input (the experiment, a run's scenario, ``--out``
holding another experiment, an unreachable scheduler), 1 when every run
failed (a failure of the simulator), 130 on Ctrl-C (finished runs are kept:
``--resume`` completes the sweep).
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import Problem, ScenarioError

EXIT_OK, EXIT_BUG, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_sweep_command(args) -> int:
    from ..report import ranked_text, summary_for_report, write_report
    from .executors import default_jobs
    from .spec import load_experiment
    from .stats import ranked
    from .sweep import SweepInterrupted, sweep

    exp = load_experiment(args.experiment, replications=args.replications)
    out = Path(args.out) if args.out else Path("out") / exp.name
    total = len(exp.arms) * len(exp.points) * exp.replications
    where = ("dask " + (args.scheduler or "local cluster")) if args.executor == "dask" else \
        f"{args.jobs or default_jobs()} job(s)"
    _say(f"{exp.name}: {len(exp.arms)} arm(s) x {len(exp.points)} design point(s) x "
         f"{exp.replications} replication(s) = {total} runs on {where}; results in {out}/")
    try:
        table = sweep(exp, out=out, jobs=args.jobs, executor=args.executor, resume=args.resume,
                      progress=not args.no_progress, scheduler=args.scheduler,
                      keep_runs=args.keep_runs, report=False)
    except SweepInterrupted as stop:
        _say(f"interrupted: {stop.stored} of {stop.total} runs stored in {out}/; "
             f"run the same command with --resume to finish")
        return EXIT_INTERRUPTED
    except OSError as exc:
        if args.executor == "dask" and args.scheduler:
            raise ScenarioError([Problem("--scheduler", f"cannot use the Dask scheduler: {exc}",
                                         args.scheduler)]) from None
        raise
    failed = table[table["status"] != "ok"]
    if len(table) and len(failed) == len(table):
        _say(f"every run failed; first error:\n{failed['error'].iloc[0]}")
        return EXIT_BUG
    summary = summary_for_report(exp, table)
    if not summary.empty:
        print(ranked_text(ranked(summary)))
    if len(failed):
        _say(f"{len(failed)} run(s) failed (recorded with their errors); first: {failed['run_id'].iloc[0]}: "
             f"{str(failed['error'].iloc[0]).splitlines()[0]}")
    if not getattr(args, "no_report", False):
        report = write_report(exp, table, out, summary=summary)
        print(f"\nreport: {report}  (figures in {out / 'figures'}/)")
    print(f"results: {out / 'results.parquet'} ({len(table)} runs)")
    return EXIT_OK
