"""Where runs execute: in process, a local process pool, Dask, or any
``concurrent.futures.Executor`` supplied by the caller.

Every backend runs the same top-level function (:func:`~sim.experiment.worker.run_task`)
on the same task dicts, so every backend yields the same records.

A worker that dies: Dask's scheduler runs its tasks again on another worker
(``distributed.scheduler.allowed-failures``, 3 by default); a local process pool
breaks as a whole, and the sweep replaces it (``sweep.POOL_RESTARTS``).
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Iterator, Optional, Union

from ..errors import Problem, ScenarioError
from . import worker

ExecutorChoice = Union[None, str, Executor]


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _mp_context():
    """How pool workers start.

    - ``fork`` on Linux when this process runs a single thread (the CLI, a
      script): workers start in milliseconds with the simulator already imported,
      and a script needs no ``if __name__ == "__main__"`` guard;
    - otherwise ``forkserver`` (a notebook kernel runs threads, and forking a
      threaded process can deadlock): children fork from a clean server that has
      imported the simulator once; ``spawn`` where neither exists. Under these two a
      *script* calling ``sim.sweep`` needs the ``__main__`` guard, as with any
      multiprocessing code.
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["sim.experiment.worker"])
        return ctx
    return multiprocessing.get_context("spawn")


@contextmanager
def open_executor(executor: ExecutorChoice = None, jobs: Optional[int] = None,
                  scheduler: Optional[str] = None) -> Iterator[tuple[Optional[Executor], str]]:
    """Yield ``(executor, description)``; ``executor`` is None for in-process serial runs.

    - an ``Executor`` instance: used as is and left running (the caller owns it);
    - ``"local"`` / None: ``jobs == 1`` runs in this process; otherwise a
      ``ProcessPoolExecutor`` with ``jobs`` workers (default: all cores);
    - ``"dask"``: a ``distributed.Client`` on ``scheduler`` (``tcp://host:8786``),
      or, without an address, a ``LocalCluster`` of ``jobs`` single-threaded worker
      processes on loopback, shut down at the end.
    """
    if isinstance(executor, Executor):
        yield executor, type(executor).__name__
        return
    kind = executor or "local"
    if kind not in ("local", "dask"):
        raise ScenarioError([Problem("executor", "expected local, dask or a concurrent.futures.Executor",
                                     executor)])
    if jobs is not None and jobs < 1:
        raise ScenarioError([Problem("jobs", "must be >= 1", jobs)])
    if kind == "local":
        jobs = jobs or default_jobs()
        if jobs == 1:
            yield None, "in process (1 job)"
            return
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context(),
                                   initializer=worker.init_worker)
        try:
            yield pool, f"process pool ({jobs} jobs)"
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    from distributed import Client, LocalCluster
    cluster = None
    if scheduler:
        client = Client(scheduler)
        where = f"dask at {scheduler}"
    else:
        cluster = LocalCluster(n_workers=jobs or default_jobs(), threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
        where = f"dask local cluster ({len(cluster.workers)} workers)"
    try:
        yield client.get_executor(pure=False), where
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
