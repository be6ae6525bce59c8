"""Running a whole experiment: expand, validate, execute, store, summarize."""
from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

import pandas as pd

from ..errors import Problem, ScenarioError
from .executors import ExecutorChoice, default_jobs, open_executor
from .expand import execution_order, expand
from .spec import Experiment, Source, load_experiment
from .store import ResultStore, build_table, table_attrs
from .worker import run_task

CONSOLIDATE_EVERY_S = 2.0


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the finished runs are stored; ``table`` holds them."""

    def __init__(self, table: pd.DataFrame, stored: int, total: int, out: Optional[Path]):
        super().__init__(f"interrupted: {stored} of {total} runs stored")
        self.table, self.stored, self.total, self.out = table, stored, total, out


def tasks_for(exp: Experiment, plan: pd.DataFrame, store: Optional[ResultStore],
              keep_runs: bool) -> list[dict]:
    """The worker tasks of the plan's rows (picklable dicts), in plan order."""
    tasks = []
    for row in plan.itertuples(index=False):
        task = {"run_id": row.run_id, "arm": row.arm, "point": int(row.point),
                "replication": int(row.replication), "seed": int(row.seed),
                "scenario": exp.scenario_raw, "scenario_dir": exp.scenario_dir,
                "overrides": exp.overrides_for(row.arm, int(row.point))}
        if keep_runs and store is not None:
            task["keep_dir"] = str(store.keep_dir(row.run_id))
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
    that raises is recorded (``status == "failed"``, ``error``) and the sweep
    goes on. Ctrl-C raises :class:`SweepInterrupted` after storing what finished.
    """
    if jobs is not None and jobs < 1:
        raise ScenarioError([Problem("jobs", "must be >= 1", jobs)])
    exp = load_experiment(experiment, replications=replications)
    plan = expand(exp)
    if resume and out is None:
        raise ValueError("resume needs an output directory (out=...)")
    store = ResultStore(out) if out is not None else None
    records: dict[str, dict] = store.open(exp, plan, resume) if store else {}
    attrs = table_attrs(exp)
    tasks = tasks_for(exp, plan, store, keep_runs)
    todo = [tasks[i] for i in execution_order(plan) if tasks[i]["run_id"] not in records]
    bar = _progress(progress, exp, len(plan), len(records))
    state = {"last": time.monotonic(), "failed": sum(r["status"] != "ok" for r in records.values())}

    lost: list[dict] = []

    def finished(record: dict) -> None:
        if record["status"] == "lost":
            lost.append(record)
            stored = record
        else:
            stored = store.put(record) if store else record
            records[record["run_id"]] = stored
        if record["status"] != "ok":
            state["failed"] += 1
        if bar is not None:
            bar.update(1)
            if state["failed"]:
                bar.set_postfix(failed=state["failed"], refresh=False)
        if on_run is not None:
            on_run(stored)
        if store and time.monotonic() - state["last"] >= CONSOLIDATE_EVERY_S:
            store.write_table(build_table(plan, records, attrs))
            state["last"] = time.monotonic()

    if executor in (None, "local") and todo:
        jobs = min(jobs or default_jobs(), len(todo))   # no idle workers to start
    interrupted = False
    try:
        if todo:
            with open_executor(executor, jobs, scheduler) as (pool, _where):
                try:
                    if pool is None:
                        for task in todo:
                            finished(run_task(task))
                    else:
                        _run_pool(pool, todo, finished)
                except KeyboardInterrupt:
                    interrupted = True
    finally:
        if bar is not None:
            bar.close()
        table = build_table(plan, records, attrs)
        if store:
            store.write_table(table)
    if lost:
        warnings.warn(f"{len(lost)} run(s) lost by the executor and not stored (first: "
                      f"{lost[0]['error']}); run the sweep again with resume to complete it",
                      RuntimeWarning, stacklevel=2)
    if interrupted:
        raise SweepInterrupted(table, len(records), len(plan), store.out if store else None)
    if store and report and len(table):
        from ..report import write_report
        write_report(exp, table, store.out)
    return table


def _run_pool(pool: Executor, todo: list[dict], finished: Callable[[dict], None]) -> None:
    """Submit every task; hand each record to ``finished`` as it arrives.

    On Ctrl-C the runs not yet started are cancelled, the running ones are
    awaited and stored (a second Ctrl-C abandons them), then KeyboardInterrupt
    propagates.
    """
    pending: dict[Future, dict] = {pool.submit(run_task, task): task for task in todo}

    def collect(done) -> None:
        for future in done:
            task = pending.pop(future)
            if future.cancelled():
                continue
            exc = future.exception()
            finished(_lost(task, exc) if exc is not None else future.result())

    try:
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            collect(done)
    except KeyboardInterrupt:
        for future in list(pending):
            if future.cancel():
                pending.pop(future)
        try:
            done, _ = wait(list(pending))
            collect(done)
        except KeyboardInterrupt:
            pass
        raise


def _progress(enabled: bool, exp: Experiment, total: int, initial: int):
    if not enabled:
        return None
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0   # no monitor thread: the process stays single-threaded (fork is safe)

    return Bar(total=total, initial=initial, desc=exp.name, unit="run", dynamic_ncols=True,
               smoothing=0.1)
