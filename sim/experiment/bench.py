"""``podsim bench --sweep``: how a sweep scales and what it costs beyond the simulation.

Times, on the same 40 runs (2 arms x 20 replications of a small M/M/c):

- ``bare``: a plain loop of ``sim.run`` in this process (no store, no executor);
- ``jobs_1``: ``sim.sweep`` with 1 job (in process) and the result store;
- ``jobs_2``: ``sim.sweep`` with a 2-worker process pool and the result store;

and reports ``speedup`` (``jobs_1 / jobs_2``; the goal is >= 1.9), the
store's overhead per run (``(jobs_1 - bare) / runs``) and the executor and
store's overhead per run at 2 jobs (``(2 * jobs_2 - bare) / runs``: the
worker-seconds spent on anything but simulating, pool start-up included).
Wall-clock times, best of ``repeats``.
"""
from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from ..runner import run
from .spec import load_experiment
from .sweep import sweep


def bench_experiment(runs: int = 40, duration_s: float = 1800.0) -> dict[str, Any]:
    """Two arms of an M/M/c (c=8 and c=10 at 6.4 req/s) x runs/2 replications."""
    return {
        "name": "bench-sweep", "replications": max(1, runs // 2), "seed": 1,
        "scenario": {
            "name": "bench-sweep-mmc", "duration": duration_s, "warmup": duration_s / 10,
            "sample_interval": 30,
            "workload": {"clients": {"target": "queue", "arrivals": {"rate": 6.4}}},
            "services": {"queue": {"replicas": 1, "pod": {
                "cpu": 8, "workers": 8, "queue": None, "work": {"dist": "exponential", "mean": 1.0}}}},
        },
        "arms": {"c8": {}, "c10": {"services.queue.pod.workers": 10, "services.queue.pod.cpu": 10}},
        "baseline": "c8",
        "metrics": ["services.queue.queue_wait_s.mean", "latency_s.p99"],
    }


def bench_sweep(runs: int = 40, repeats: int = 1, duration_s: float = 1800.0) -> dict[str, Any]:
    exp = load_experiment(bench_experiment(runs, duration_s))
    n = len(exp.arms) * exp.replications
    best = {"bare": float("inf"), "jobs_1": float("inf"), "jobs_2": float("inf")}
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        for r in range(exp.replications):
            for arm in exp.arms:
                run(exp.scenario_for(arm, 0), seed=exp.seed, replication=r)
        best["bare"] = min(best["bare"], time.perf_counter() - started)
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory(prefix="podsim-bench-") as out:
                started = time.perf_counter()
                sweep(exp, out=os.path.join(out, "sweep"), jobs=jobs, report=False)
                best[f"jobs_{jobs}"] = min(best[f"jobs_{jobs}"], time.perf_counter() - started)
    return {
        "runs": n, "cores": os.cpu_count(),
        "bare_s": best["bare"], "jobs_1_s": best["jobs_1"], "jobs_2_s": best["jobs_2"],
        "speedup_1_to_2": best["jobs_1"] / best["jobs_2"],
        "mean_run_s": best["bare"] / n,
        "store_overhead_per_run_s": (best["jobs_1"] - best["bare"]) / n,
        "pool_and_store_overhead_per_run_s": (2 * best["jobs_2"] - best["bare"]) / n,
    }


def format_sweep_report(report: dict[str, Any]) -> str:
    return "\n".join([
        f"sweep of {report['runs']} runs ({report['mean_run_s'] * 1000:.0f} ms each), "
        f"{report['cores']} cores",
        f"bare sim.run loop   {report['bare_s']:8.2f} s",
        f"sweep, 1 job        {report['jobs_1_s']:8.2f} s",
        f"sweep, 2 jobs       {report['jobs_2_s']:8.2f} s",
        f"speedup 1 -> 2 jobs {report['speedup_1_to_2']:8.2f}x  (goal >= 1.9x)",
        f"overhead per run    {report['store_overhead_per_run_s'] * 1000:8.1f} ms (store, 1 job); "
        f"{report['pool_and_store_overhead_per_run_s'] * 1000:.1f} ms (pool + store, 2 jobs, "
        f"start-up included)",
    ])
