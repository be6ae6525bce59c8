"""``podsim bench --sweep``: how a sweep scales and what it costs beyond the simulation.

Times, on the same 40 runs (2 arms x 20 replications of a small M/M/c):

- ``bare``: a plain loop of ``sim.run`` in this process (no store, no executor);
- ``jobs_1``: ``sim.sweep`` with 1 job (in process) and the result store;
- ``jobs_2``: ``sim.sweep`` with a 2-worker process pool and the result store;
- ``bare_2``: the bare loop split over two plain processes: the ceiling of any
  2-process speedup on this machine (below 2 when the cores are shared);

and reports ``speedup`` (``jobs_1 / jobs_2``; the goal is >= 1.9), the
store's overhead per run (``(jobs_1 - bare) / runs``) and the executor and
store's overhead per run at 2 jobs (``(2 * jobs_2 - bare) / runs``: the
worker-seconds spent on anything but simulating, pool start-up included).
Wall-clock times, best of ``repeats``; CPU times (this process and its
workers) too, which stay meaningful on a machine shared with other work.
"""
from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from typing import Any

from ..experiment.spec import load_experiment
from ..experiment.sweep import sweep
from ..runner import run


def bench_experiment(runs: int = 40, duration_s: float = 3600.0) -> dict[str, Any]:
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


def _clock() -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its finished children)."""
    t = os.times()
    return time.perf_counter(), t.user + t.system + t.children_user + t.children_system


def bench_sweep(runs: int = 40, repeats: int = 3, duration_s: float = 3600.0) -> dict[str, Any]:
    """Best of ``repeats`` (least wall time) for each of bare, 1 job and 2 jobs."""
    exp = load_experiment(bench_experiment(runs, duration_s))
    n = len(exp.arms) * exp.replications
    best = {k: (float("inf"), float("inf")) for k in ("bare", "bare_2", "jobs_1", "jobs_2")}

    def measure(key, fn) -> None:
        wall0, cpu0 = _clock()
        fn()
        wall1, cpu1 = _clock()
        best[key] = min(best[key], (wall1 - wall0, cpu1 - cpu0))

    def bare(part: int = 0, parts: int = 1) -> None:
        pairs = [(arm, r) for r in range(exp.replications) for arm in exp.arms]
        for arm, r in pairs[part::parts]:
            run(exp.scenario_for(arm, 0), seed=exp.seed, replication=r)

    def bare_in_two() -> None:
        """The ceiling: the bare loop split over two plain processes, nothing else."""
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                          else "spawn")
        procs = [ctx.Process(target=bare, args=(i, 2)) for i in range(2)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()

    def swept(jobs: int):
        def go() -> None:
            with tempfile.TemporaryDirectory(prefix="podsim-bench-") as out:
                sweep(exp, out=os.path.join(out, "sweep"), jobs=jobs, report=False)
        return go

    for _ in range(max(1, repeats)):
        measure("bare", bare)
        measure("bare_2", bare_in_two)
        measure("jobs_1", swept(1))
        measure("jobs_2", swept(2))
    (bare_s, bare_cpu), (one_s, one_cpu), (two_s, two_cpu) = best["bare"], best["jobs_1"], best["jobs_2"]
    return {
        "runs": n, "cores": os.cpu_count(),
        "bare_s": bare_s, "jobs_1_s": one_s, "jobs_2_s": two_s,
        "speedup_1_to_2": one_s / two_s,
        "bare_2_processes_s": best["bare_2"][0],
        "ceiling_speedup_2_processes": bare_s / best["bare_2"][0],
        "mean_run_s": bare_s / n,
        "store_overhead_per_run_s": (one_s - bare_s) / n,
        "pool_and_store_overhead_per_run_s": (2 * two_s - bare_s) / n,
        "cpu_s": {"bare": bare_cpu, "jobs_1": one_cpu, "jobs_2": two_cpu},
        "cpu_overhead_per_run_s": {"jobs_1": (one_cpu - bare_cpu) / n, "jobs_2": (two_cpu - bare_cpu) / n},
        "cpu_parallelism_jobs_2": two_cpu / two_s,
    }


def format_sweep_report(report: dict[str, Any]) -> str:
    cpu = report["cpu_overhead_per_run_s"]
    return "\n".join([
        f"sweep of {report['runs']} runs ({report['mean_run_s'] * 1000:.0f} ms each), "
        f"{report['cores']} cores",
        f"bare sim.run loop   {report['bare_s']:8.2f} s",
        f"sweep, 1 job        {report['jobs_1_s']:8.2f} s",
        f"sweep, 2 jobs       {report['jobs_2_s']:8.2f} s  (CPU busy {report['cpu_parallelism_jobs_2']:.2f} "
        f"cores on average)",
        f"speedup 1 -> 2 jobs {report['speedup_1_to_2']:8.2f}x  (goal >= 1.9x; this machine's ceiling, the "
        f"bare loop split over 2 plain processes: {report['ceiling_speedup_2_processes']:.2f}x)",
        f"overhead per run    {report['store_overhead_per_run_s'] * 1000:8.1f} ms wall (store, 1 job); "
        f"{report['pool_and_store_overhead_per_run_s'] * 1000:.1f} ms worker-wall (pool + store, 2 jobs, "
        f"start-up included)",
        f"CPU overhead / run  {cpu['jobs_1'] * 1000:8.1f} ms (1 job); {cpu['jobs_2'] * 1000:.1f} ms (2 jobs)",
    ])
