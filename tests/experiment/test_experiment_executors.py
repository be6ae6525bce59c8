"""The same experiment gives the same table on every executor."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

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


def test_dask_cluster_on_loopback_agrees(tmp_path: Path):
    from distributed import LocalCluster
    local = sim.sweep(_exp(), jobs=1, report=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        remote = sim.sweep(_exp(), out=tmp_path / "dask", executor="dask",
                           scheduler=cluster.scheduler_address, report=False)
    pd.testing.assert_frame_equal(without_wall(local), without_wall(remote))
    stored = pd.read_parquet(tmp_path / "dask" / "results.parquet")
    pd.testing.assert_frame_equal(without_wall(local), without_wall(stored))
