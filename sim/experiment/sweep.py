"""Running a whole experiment: expand, validate, execute, store, summarize."""
from __future__ import annotations

import os
import warnings
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

import pandas as pd

from ..errors import Problem, ScenarioError
from .collect import RunCollector
from .executors import ExecutorChoice, default_jobs, open_executor
from .expand import execution_order, expand
from .spec import Experiment, Source, load_experiment
from .store import ResultStore, StoreFailed, build_table, table_attrs
from .worker import run_task

POOL_RESTARTS = 3
"""How many times a broken local process pool is replaced and its lost runs run
again (as Dask's ``distributed.scheduler.allowed-failures``, 3)."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the finished runs are stored; ``table`` holds them."""

    def __init__(self, table: pd.DataFrame, stored: int, total: int, out: Optional[Path]):
        super().__init__(f"interrupted: {stored} of {total} runs stored")
        self.table, self.stored, self.total, self.out = table, stored, total, out


class SweepStoreFailed(Exception):
    """Writing to the result directory failed mid-sweep (a full disk, a quota,
    a lost mount): the sweep stopped starting runs. The ``stored`` runs are
    intact on disk and ``resume`` finishes the sweep. ``table`` holds every run
    computed (stored or not); ``failure`` is the :class:`StoreFailed`."""

    def __init__(self, failure: StoreFailed, table: pd.DataFrame, stored: int, total: int, out: Path):
        super().__init__(f"{failure}; {stored} of {total} runs are stored in {out}/, intact: make room "
                         "and run the sweep again with resume (podsim sweep ... --resume) to finish it")
        self.failure, self.table, self.stored, self.total, self.out = failure, table, stored, total, out


def sweep_record_level(overrides, keep_runs: bool) -> Optional[str]:
    """The ``record`` level of a sweep's run: ``summary`` (no per-request rows;
    every metric and the time series are computed as the run goes, so memory
    does not grow with the traffic), ``sample`` with ``--keep-runs`` (kept runs
    get the sampled and failed requests' rows), or what the experiment sets
    itself in its ``overrides`` or an arm (``record: full``): None."""
    if any(path == "record" or path.startswith("record.") for path, _value in overrides):
        return None
    return "sample" if keep_runs else "summary"


def tasks_for(exp: Experiment, plan: pd.DataFrame, store: Optional[ResultStore],
              keep_runs: bool) -> list[dict]:
    """The worker tasks of the plan's rows (picklable dicts), in plan order."""
    tasks = []
    for row in plan.itertuples(index=False):
        overrides = exp.overrides_for(row.arm, int(row.point))
        task = {"run_id": row.run_id, "arm": row.arm, "point": int(row.point),
                "replication": int(row.replication), "seed": int(row.seed),
                "scenario": exp.scenario_raw, "scenario_dir": exp.scenario_dir,
                "overrides": overrides, "record": sweep_record_level(overrides, keep_runs)}
        if keep_runs and store is not None:
            task["keep_dir"] = str(store.keep_dir(row.run_id))
        if store is not None and int(row.replication) == 0:    # for the report's time-series figure
            task["timeseries_path"] = str(store.timeseries_path(row.run_id))
        tasks.append(task)
    return tasks


def _lost(task: Mapping[str, Any], exc: BaseException) -> dict:
    """The record of a run the executor lost (a dead worker, a lost connection):
    it is not stored, so ``resume`` runs it again."""
    hint = ""
    if isinstance(exc, BrokenProcessPool):
        hint = (" (a worker process died: out of memory, killed, or, when sim.sweep is called from a "
                "script, a missing `if __name__ == \"__main__\":` guard: worker processes started "
                "with forkserver or spawn import the main script again)")
    return {"run_id": task["run_id"], "status": "lost", "metrics": {}, "wall_s": float("nan"),
            "error": f"executor: {type(exc).__name__}: {exc}{hint}"}


def sweep(experiment: Union[Source, Experiment], out: Optional[Union[str, os.PathLike]] = None,
          jobs: Optional[int] = None, executor: ExecutorChoice = None, resume: bool = False,
          progress: bool = False, replications: Optional[int] = None, *,
          scheduler: Optional[str] = None, keep_runs: bool = False, report: bool = True,
          on_run: Optional[Callable[[dict], None]] = None) -> pd.DataFrame:
    """Run an experiment and return the tidy results table (one row per run).

    ``experiment``: a YAML path, a mapping or a loaded :class:`Experiment`.
    ``out``: the result directory (``results.parquet``, ``manifest.json``,
    ``runs/``, ``report.md``); None keeps everything in memory.
    ``executor``: None/``"local"`` (a process pool of ``jobs`` workers, or this
    process when ``jobs == 1``), ``"dask"`` (with ``scheduler``, or a local
    cluster), or any ``concurrent.futures.Executor``. ``resume``: keep the runs
    stored in ``out`` and run only the missing ones. ``progress``: a tqdm bar.

    Every run is validated before the first one starts (ScenarioError). A run
    that raises is recorded (``status == "failed"``, ``error``: the message and
    the traceback) and the sweep goes on; statistics skip it. A run the executor
    loses is not stored (a warning; ``resume`` runs it). Ctrl-C raises
    :class:`SweepInterrupted` after storing what finished; a failure to write
    ``out`` raises :class:`SweepStoreFailed`. Runs are stored before any metric
    is evaluated (the report comes last), so a failing report loses no run.
    """
    if jobs is not None and jobs < 1:
        raise ScenarioError([Problem("jobs", "must be >= 1", jobs)])
    exp = load_experiment(experiment, replications=replications)
    plan = expand(exp)
    if resume and out is None:
        raise ValueError("resume needs an output directory (out=...)")
    store = ResultStore(out) if out is not None else None
    attrs = table_attrs(exp)
    records = _open_store(store, exp, plan, resume, attrs)
    tasks = tasks_for(exp, plan, store, keep_runs)
    todo = [tasks[i] for i in execution_order(plan) if tasks[i]["run_id"] not in records]
    bar = _progress(progress, exp, len(plan), len(records))
    collector = RunCollector(plan, records, attrs, store, bar, on_run)
    if executor in (None, "local") and todo:
        jobs = min(jobs or default_jobs(), len(todo))   # no idle workers to start
    interrupted = False
    try:
        _execute(executor, jobs, scheduler, todo, collector)
    except KeyboardInterrupt:
        interrupted = True
    except StoreFailed:
        pass            # collector.failure says why; raised below, after the cleanup
    finally:
        if bar is not None:
            bar.close()
        table = collector.finish()
    if collector.lost:
        warnings.warn(f"{len(collector.lost)} run(s) lost by the executor and not stored (first: "
                      f"{collector.lost[0]['error']}); run the sweep again with resume to complete it",
                      RuntimeWarning, stacklevel=2)
    if collector.failure is not None:
        raise SweepStoreFailed(collector.failure, collector.computed_table(), len(records), len(plan),
                               store.out)
    if interrupted:
        raise SweepInterrupted(table, len(records), len(plan), store.out if store else None)
    if store and report and len(table):
        from .report import write_report
        write_report(exp, table, store.out)
    return table


def _open_store(store: Optional[ResultStore], exp: Experiment, plan: pd.DataFrame, resume: bool,
                attrs: dict) -> dict[str, dict]:
    """The records already stored (resume), after preparing ``out``; a write
    that fails there (the manifest) raises SweepStoreFailed."""
    if store is None:
        return {}
    try:
        return store.open(exp, plan, resume)
    except StoreFailed as failure:
        stored = store.load_records() if resume else {}
        raise SweepStoreFailed(failure, build_table(plan, stored, attrs), len(stored), len(plan),
                               store.out) from None


def _execute(executor: ExecutorChoice, jobs: Optional[int], scheduler: Optional[str], todo: list[dict],
             collector: Callable[[dict], None]) -> None:
    """Run ``todo``, handing each record to ``collector`` as it arrives.

    The local process pool this function starts is replaced when one of its
    workers dies (the OOM killer, kill -9: the whole pool breaks), and the runs
    it lost run again, up to POOL_RESTARTS times; after that they are handed
    over as lost. Dask reschedules a dead worker's runs by itself; an executor
    passed in is the caller's, not replaced.
    """
    restarts = POOL_RESTARTS if executor in (None, "local") else 0
    while todo:
        with open_executor(executor, jobs, scheduler) as (pool, _where):
            if pool is None:
                for task in todo:
                    collector(run_task(task))
                return
            todo = _run_pool(pool, todo, collector, retry_broken=restarts > 0)
        restarts -= 1


def _run_pool(pool: Executor, todo: list[dict], finished: Callable[[dict], None],
              retry_broken: bool = False) -> list[dict]:
    """Submit every task; hand each record to ``finished`` as it arrives.

    Returns the tasks a broken process pool lost when ``retry_broken`` (to run
    again in a new pool); otherwise they are handed over as lost, and [] returned.
    On Ctrl-C, or when ``finished`` raises StoreFailed (storing failed), the
    runs not yet started are cancelled, the running ones are awaited and handed
    over (a second Ctrl-C abandons them), then the exception propagates.
    """
    pending: dict[Future, dict] = {}
    retry: list[dict] = []

    def broken(task: dict, exc: BaseException) -> None:
        if retry_broken and isinstance(exc, BrokenProcessPool):
            retry.append(task)
        else:
            finished(_lost(task, exc))

    def collect(done) -> None:
        for future in done:
            task = pending.pop(future)
            if future.cancelled():
                continue
            exc = future.exception()
            if exc is None:
                finished(future.result())
            else:
                broken(task, exc)

    for i, task in enumerate(todo):
        try:
            pending[pool.submit(run_task, task)] = task
        except BrokenProcessPool as exc:   # a worker died already: this and the rest never left
            for unsent in todo[i:]:
                broken(unsent, exc)
            break

    try:
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            collect(done)
    except (KeyboardInterrupt, StoreFailed):
        for future in list(pending):
            if future.cancel():
                pending.pop(future)
        try:
            done, _ = wait(list(pending))
            collect(done)
        except KeyboardInterrupt:
            pass
        raise
    return retry


def _progress(enabled: bool, exp: Experiment, total: int, initial: int):
    if not enabled:
        return None
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0   # no monitor thread: the process stays single-threaded (fork is safe)

    return Bar(total=total, initial=initial, desc=exp.name, unit="run", dynamic_ncols=True,
               smoothing=0.1)
