"""The same experiment gives the same table on every executor, and on Dask
even when a worker dies mid-sweep."""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from distributed.diagnostics.plugin import WorkerPlugin

import sim

from conftest import experiment, without_wall


def _exp() -> dict:
    return experiment(replications=2, factors={"workload.clients.arrivals.rate": [4.0, 6.0]})


def test_in_process_pool_and_threads_agree(tmp_path: Path):
    inline = sim.sweep(_exp(), jobs=1, report=False)
    assert len(inline) == 8 and (inline["status"] == "ok").all()
    pool = sim.sweep(_exp(), out=tmp_path / "pool", jobs=2, report=False)
    pd.testing.assert_frame_equal(without_wall(inline), without_wall(pool))
    with ThreadPoolExecutor(max_workers=3) as threads:
        threaded = sim.sweep(_exp(), executor=threads, report=False)
    pd.testing.assert_frame_equal(without_wall(inline), without_wall(threaded))


@pytest.fixture(scope="module")
def dask_cluster():
    """Two single-threaded Dask worker processes on loopback (started once: it takes seconds)."""
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster


def test_dask_cluster_on_loopback_agrees(tmp_path: Path, dask_cluster):
    local = sim.sweep(_exp(), jobs=1, report=False)
    remote = sim.sweep(_exp(), out=tmp_path / "dask", executor="dask",
                       scheduler=dask_cluster.scheduler_address, report=False)
    pd.testing.assert_frame_equal(without_wall(local), without_wall(remote))
    stored = pd.read_parquet(tmp_path / "dask" / "results.parquet")
    pd.testing.assert_frame_equal(without_wall(local), without_wall(stored))


PLUGIN_NAME = "podsim-kill-worker-once"


def kill_worker_once(marker: Path) -> WorkerPlugin:
    """A Dask worker plugin: the first run of arm c5, replication 1 to start
    kills its own worker process (``os._exit``); a marker file records it, so
    the attempt the scheduler then makes elsewhere succeeds.

    The class is defined here, inside a function, so that Dask ships it by
    value: workers need not import this test module (nor its ``conftest``)."""
    marker_path = str(marker)

    class KillWorkerOnce(WorkerPlugin):
        name = PLUGIN_NAME

        def setup(self, worker):   # in each worker process, restarted ones too
            from sim.experiment import worker as task_module
            real = task_module.simulate

            def simulate(scenario, seed, replication):
                if scenario.services["queue"].pod.workers == 5 and replication == 1:
                    try:
                        open(marker_path, "x").close()
                    except FileExistsError:
                        return real(scenario, seed, replication)
                    os._exit(17)
                return real(scenario, seed, replication)

            task_module.simulate = simulate

    return KillWorkerOnce()


def test_dask_worker_killed_mid_sweep_its_runs_run_elsewhere_and_the_table_is_a_local_runs(
        tmp_path: Path, dask_cluster):
    from distributed import Client
    local = sim.sweep(_exp(), jobs=1, report=False)
    marker = tmp_path / "killed-once"
    with Client(dask_cluster) as client:
        client.register_plugin(kill_worker_once(marker))
        try:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                remote = sim.sweep(_exp(), out=tmp_path / "dask", executor="dask",
                                   scheduler=dask_cluster.scheduler_address, report=False)
        finally:
            client.unregister_worker_plugin(PLUGIN_NAME)
    assert marker.exists()                       # a worker did die running that run
    assert not [w for w in seen if "lost by the executor" in str(w.message)]
    assert (remote["status"] == "ok").all()
    pd.testing.assert_frame_equal(without_wall(local), without_wall(remote))
    pd.testing.assert_frame_equal(without_wall(local),
                                  without_wall(pd.read_parquet(tmp_path / "dask" / "results.parquet")))
