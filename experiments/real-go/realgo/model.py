"""The real experiment's inputs as a podsim scenario, and podsim's answer.

One service ``go`` with one pod: ``cpu: 1`` (the pinned core), ``workers``
and ``queue`` as the server's flags, constant ``work`` and ``overhead_cpu``
from the calibration (the handler is a fixed spin loop), ``gomaxprocs: 1``,
the scheduler under test, and ``cpu_limit`` for the cgroup variant. The
calibrated loopback/client time is ``network.latency`` (one way, constant).
"""
from __future__ import annotations

from typing import Optional

# Keys issue 9 adds to PodSpec; without them only ``ps`` can run (see pod_keys_missing).
NEW_POD_KEYS = ("gomaxprocs", "overhead_cpu", "scheduler", "cpu_limit")


def pod_keys_missing() -> list[str]:
    """The issue-9 pod keys this checkout of podsim does not know yet."""
    from sim.spec.service import PodSpec
    return [k for k in NEW_POD_KEYS if k not in PodSpec.model_fields]


def scenario(*, name: str, rate: float, work_s: float, overhead_s: float, one_way_latency_s: float,
             scheduler: str, quantum_s: float = 0.010, workers: int = 4, queue: int = 4096,
             cpu_limit: Optional[float] = None, sim_requests: int = 200_000, warmup_s: float = 20.0,
             legacy: bool = False) -> dict:
    """The scenario dict for one point.

    ``legacy`` is for a podsim without the issue-9 keys: processor sharing
    only, with ``overhead_cpu`` folded into ``work`` (an approximation: in
    the real server that CPU is spent outside the pool).
    """
    if scheduler not in ("go", "ps"):
        raise ValueError(f"scheduler must be go or ps (got {scheduler!r})")
    if legacy and (scheduler != "ps" or cpu_limit is not None):
        raise ValueError("without the issue-9 pod keys podsim can only run --podsim-scheduler ps without a CPU limit")
    pod: dict = {"cpu": 1, "workers": workers, "queue": queue}
    if legacy:
        pod["work"] = work_s + overhead_s
    else:
        pod.update(work=work_s, overhead_cpu=overhead_s, gomaxprocs=1,
                   scheduler={"type": scheduler, "quantum": quantum_s} if scheduler == "go" else {"type": "ps"})
        if cpu_limit is not None:
            pod["cpu_limit"] = cpu_limit
    scn = {
        "name": name,
        "description": "experiments/real-go: the real Go server's calibrated inputs",
        "duration": warmup_s + sim_requests / rate,
        "warmup": warmup_s,
        "seed": 1,
        "sample_interval": 60,
        "workload": {"load": {"target": "go", "arrivals": {"rate": rate}}},
        "services": {"go": {"pod": pod}},
    }
    if one_way_latency_s > 0:
        scn["network"] = {"latency": one_way_latency_s}
    return scn


def run_point(scn: dict, seed: int = 1) -> dict:
    """podsim's mean and p99 (ok requests) for one scenario, with throttling when reported."""
    import sim
    result = sim.run(sim.load(scn), seed=seed)
    s = result.summary
    svc = s["services"]["go"]
    out = {"mean": s["latency_s"]["mean"], "p99": s["latency_s"]["p99"], "n": s["requests"]["ok"],
           "failed": s["requests"]["failed"], "cpu_utilization": svc.get("cpu_utilization"),
           "wall_s": s.get("wall_s")}
    for key in ("throttled_periods", "throttled_s"):
        if key in svc:
            out[key] = svc[key]
    return out
