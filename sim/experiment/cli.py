"""``podsim sweep EXPERIMENT`` and ``podsim report DIR``.

``sweep`` runs an experiment with a progress bar, stores its results, prints
the ranked table and writes the report. With ``--until-precision P`` it runs in
rounds: after each round, if some metric's relative CI half-width (worst arm
and design point) is above P, it adds replications (up to the estimate of
those needed, at most doubling per round, never beyond ``--max-replications``)
and resumes, reusing every stored run.

``report`` rebuilds ``report.md``, ``report.html`` and the figures of a stored
sweep without running anything.

Exit codes of ``sweep``:

- 0: every run finished ``ok`` and is stored;
- 1: one or more runs failed (a run that raises is a failure of the
  simulator): they are recorded with their errors, left out of the statistics,
  listed on stderr and in ``report.md``, and the table and report are written
  as usual; also any other failure of the simulator (evaluating the results:
  the runs are stored before);
- 2: bad input (the experiment, a run's scenario, ``--out`` holding another
  experiment, an unreachable scheduler);
- 3: incomplete: writing to ``--out`` failed (a full disk) or the executor
  lost runs; what was stored is intact and ``--resume`` finishes the sweep
  (when only the report could not be written, ``podsim report DIR`` writes it);
- 130: Ctrl-C (finished runs are kept: ``--resume`` completes the sweep).
"""
from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Optional

import pandas as pd

from ..errors import Problem, ScenarioError

EXIT_OK, EXIT_BUG, EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_MAX_REPLICATIONS = 100


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def precision_gap(summary: pd.DataFrame, precision: float) -> tuple[float, int]:
    """``(worst relative half-width, replications needed)`` over the ranked
    metrics, arms and points. A metric whose mean and half-width are both 0 is
    exact; one with mean 0 and a positive half-width can never reach a relative
    precision (inf)."""
    part = summary[summary["metric"].isin(summary.attrs.get("metrics", []))]
    if part.empty:
        return math.inf, 0
    rel = part["rel_half_width"].where(part["half_width"] != 0, 0.0).fillna(math.inf)
    need = part["reps_needed"].where(rel > precision).dropna()
    return float(rel.max()), int(need.max()) if len(need) else 0


def next_replications(current: int, needed: int, limit: int) -> int:
    """The next round's total: toward ``needed``, at most double, at least one more, within ``limit``."""
    return int(min(limit, max(current + 1, min(2 * current, needed))))


def _check_precision_args(args) -> tuple[Optional[float], int]:
    target = getattr(args, "until_precision", None)
    limit = getattr(args, "max_replications", None)
    problems = []
    if target is not None and not 0 < target < 1:
        problems.append(Problem("--until-precision", "must be a fraction between 0 and 1 (0.05 = 5%)", target))
    if limit is not None and limit < 1:
        problems.append(Problem("--max-replications", "must be >= 1", limit))
    if limit is not None and target is None:
        problems.append(Problem("--max-replications", "only with --until-precision", limit))
    if problems:
        raise ScenarioError(problems, source="podsim sweep")
    return target, int(limit or DEFAULT_MAX_REPLICATIONS)


def run_sweep_command(args) -> int:
    from .executors import default_jobs
    from .report import ranked_text, summary_for_report, write_report
    from .spec import load_experiment
    from .stats import ranked
    from .labels import Labels
    from .sweep import SweepInterrupted, SweepStoreFailed, sweep

    target, limit = _check_precision_args(args)
    exp = load_experiment(args.experiment, replications=args.replications)
    out = Path(args.out) if args.out else Path("out") / exp.name
    where = ("dask " + (args.scheduler or "local cluster")) if args.executor == "dask" else \
        f"{args.jobs or default_jobs()} job(s)"
    resume, reps = args.resume, exp.replications
    while True:
        exp = load_experiment(exp, replications=reps)
        total = len(exp.arms) * len(exp.points) * exp.replications
        _say(f"{exp.name}: {len(exp.arms)} arm(s) x {len(exp.points)} design point(s) x "
             f"{exp.replications} replication(s) = {total} runs on {where}; results in {out}/")
        try:
            with warnings.catch_warnings():   # lost runs: said at the end, with the exit code
                warnings.filterwarnings("ignore", message=".*lost by the executor", category=RuntimeWarning)
                table = sweep(exp, out=out, jobs=args.jobs, executor=args.executor, resume=resume,
                              progress=not args.no_progress, scheduler=args.scheduler,
                              keep_runs=args.keep_runs, report=False)
        except SweepInterrupted as stop:
            _say(f"interrupted: {stop.stored} of {stop.total} runs stored in {out}/; "
                 f"run the same command with --resume to finish")
            return EXIT_INTERRUPTED
        except SweepStoreFailed as stop:
            _say(_store_failed_text(stop, out))
            return EXIT_INCOMPLETE
        except OSError as exc:
            if args.executor == "dask" and args.scheduler:
                raise ScenarioError([Problem("--scheduler", f"cannot use the Dask scheduler: {exc}",
                                             args.scheduler)]) from None
            raise
        failed = table[table["status"] != "ok"]
        if len(table) and len(failed) == len(table):
            _say("every run failed. " + _failed_runs_text(failed, len(table)))
            return EXIT_BUG
        try:   # the runs are stored already: a failure from here on loses none
            summary = summary_for_report(exp, table)
        except Exception as exc:
            _say(_evaluation_failed_text(exc, table, out))
            return EXIT_BUG
        if target is None or summary.empty:
            break
        worst, needed = precision_gap(summary, target)
        if worst <= target:
            _say(f"precision reached: every metric's relative CI half-width <= {target:.1%} "
                 f"(worst {worst:.1%}) at {reps} replications")
            break
        if reps >= limit:
            _say(f"precision not reached at the --max-replications limit ({limit}): worst relative "
                 f"half-width {worst:.1%} > {target:.1%} (about {needed} replications needed)")
            break
        reps, resume = next_replications(reps, needed, limit), True
        _say(f"worst relative half-width {worst:.1%} > {target:.1%}: adding replications up to {reps}")
    if not summary.empty:
        print(ranked_text(ranked(summary, table=table), labels=Labels.of(exp)))
    if len(failed):
        _say(_failed_runs_text(failed, len(table)))
    if not getattr(args, "no_report", False):
        try:
            report = write_report(exp, table, out, summary=summary)
        except OSError as exc:   # a full disk: the runs are stored; the report can be rebuilt
            _say(f"podsim: cannot write the report in {out}/: {exc.strerror or exc}; the {len(table)} runs "
                 f"are stored in {out / 'results.parquet'}: make room, then `podsim report {out}`")
            return EXIT_INCOMPLETE
        except Exception as exc:
            _say(_evaluation_failed_text(exc, table, out))
            return EXIT_BUG
        print(f"\nreport: {report} and {out / 'report.html'}  (figures in {out / 'figures'}/)")
    print(f"results: {out / 'results.parquet'} ({len(table)} runs)")
    if len(table) < total:
        _say(f"{total - len(table)} of {total} runs were lost by the executor (a worker died or the "
             f"connection was lost) and are not stored; run the same command with --resume to run them")
        return EXIT_INCOMPLETE
    return EXIT_BUG if len(failed) else EXIT_OK


def _failed_runs_text(failed: pd.DataFrame, stored: int) -> str:
    """Which runs failed, and the first error's headline (tracebacks: results.parquet)."""
    ids = list(failed["run_id"])
    shown = ", ".join(ids[:10]) + (f", ... ({len(ids) - 10} more)" if len(ids) > 10 else "")
    first = str(failed["error"].iloc[0]).splitlines()[0]
    return (f"{len(ids)} of {stored} run(s) failed and are left out of the statistics: {shown}\n"
            f"first error: {first}\n(each failed run's error, traceback included: the `error` column "
            f"of results.parquet)")


def _store_failed_text(stop, out: Path) -> str:
    """A full disk (or a quota, a lost mount) while storing: what, how much is safe, what next."""
    return (f"podsim: {stop.failure} (while storing the sweep's results).\n"
            f"{stop.stored} of {stop.total} runs are stored in {out}/, intact. Make room (or fix "
            f"the directory), then run the same command with --resume to finish.")


def _evaluation_failed_text(exc: Exception, table: pd.DataFrame, out: Path) -> str:
    """A bug while evaluating stored results: say so without a traceback, and where the runs are."""
    return (f"podsim: evaluating the results failed ({type(exc).__name__}: {exc}); the {len(table)} "
            f"runs are stored in {out / 'results.parquet'} (a bug in the simulator, exit 1)")


def run_report_command(args) -> int:
    """Rebuild the report and figures of the sweep stored in ``args.out``."""
    from .report import write_report
    from .stored import open_results
    exp, table = open_results(args.out)
    if table.empty:
        raise ScenarioError([Problem(str(args.out), "holds no finished run yet")], source="report")
    path = write_report(exp, table, Path(args.out))
    print(f"report: {path} and {Path(args.out) / 'report.html'} ({len(table)} stored runs)")
    return EXIT_OK
