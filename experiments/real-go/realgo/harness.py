"""The pure parts of the real-Go harness: calibration arithmetic, latency
statistics, relative errors, the side-by-side table and the wall-time estimate.

Nothing here starts a process or touches the network, so it is tested without
Go (tests/test_real_go_harness.py).

Units: CPU in core-seconds, latency in seconds, rates in requests/s;
the table prints milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

# "Done when" of issue 9: within 10 % on the mean and 20 % on p99, or within
# the real runs' own spread where that is wider.
MEAN_TOLERANCE = 0.10
P99_TOLERANCE = 0.20


def cpu_per_request(before: Mapping, after: Mapping, counter: str) -> float:
    """Server CPU-seconds per request between two /stats samples.

    ``counter`` is the request count that grew (``work_ok`` or ``noop``); the
    CPU delta includes everything the process did (HTTP handling, the
    handler, the runtime), which is the point.
    """
    n = after[counter] - before[counter]
    if n <= 0:
        raise ValueError(f"no {counter} requests were served between the two /stats samples")
    cpu = after["cpu_s"] - before["cpu_s"]
    if cpu < 0:
        raise ValueError(f"the server's CPU time went backwards ({before['cpu_s']} -> {after['cpu_s']})")
    return cpu / n


def measured_utilization(before: Mapping, after: Mapping) -> float:
    """The server's CPU use over wall time between two /stats samples (cores)."""
    wall = after["uptime_s"] - before["uptime_s"]
    if wall <= 0:
        raise ValueError("the two /stats samples are not in time order")
    return (after["cpu_s"] - before["cpu_s"]) / wall


def rate_for(util: float, cpu_per_req: float, cores: float = 1.0) -> float:
    """The arrival rate that keeps ``cores`` busy a fraction ``util`` of the time."""
    if not 0 < util < 1:
        raise ValueError(f"utilization must be in (0, 1) (got {util})")
    if cpu_per_req <= 0 or cores <= 0:
        raise ValueError(f"CPU per request and cores must be positive (got {cpu_per_req}, {cores})")
    return util * cores / cpu_per_req


@dataclass(frozen=True)
class Calibration:
    """CPU-seconds per request measured from /stats, and what podsim gets from them.

    ``*_low`` at ``low_rate``; ``*_near`` at ``near_rate``, near the load we
    predict (CPU per request falls with load: fewer idle wake-ups per request).
    ``noop_latency_p50`` is the median /noop latency at the low rate.
    """

    low_rate: float
    near_rate: float
    noop_low: float
    noop_near: float
    work_low: float
    work_near: float
    noop_latency_p50: float

    @property
    def overhead_cpu(self) -> float:
        """podsim ``overhead_cpu``: HTTP handling CPU outside the pool (/noop near the target rate)."""
        return self.noop_near

    @property
    def work(self) -> float:
        """podsim ``work``: the handler's CPU, /work minus /noop at the same rate."""
        w = self.work_near - self.noop_near
        if w <= 0:
            raise ValueError(f"/work used no more CPU than /noop ({self.work_near:.6f} vs "
                             f"{self.noop_near:.6f} s per request): the machine is too noisy to calibrate")
        return w

    @property
    def cpu_per_request(self) -> float:
        """Everything a /work request costs the server: what utilization is computed from."""
        return self.work_near

    @property
    def one_way_latency(self) -> float:
        """podsim ``network.latency``: half of what a /noop round trip takes beyond its server CPU
        (loopback, the client's HTTP stack), at the low rate where nothing queues."""
        return max(0.0, (self.noop_latency_p50 - self.noop_near) / 2)

    def as_dict(self) -> dict:
        return {"low_rate": self.low_rate, "near_rate": self.near_rate,
                "noop_cpu_s": {"low": self.noop_low, "near": self.noop_near},
                "work_cpu_s": {"low": self.work_low, "near": self.work_near},
                "noop_latency_p50_s": self.noop_latency_p50,
                "podsim": {"work_s": self.work, "overhead_cpu_s": self.overhead_cpu,
                           "network_latency_s": self.one_way_latency,
                           "cpu_per_request_s": self.cpu_per_request}}


def latency_stats(latencies_s: Sequence[float]) -> dict:
    """Mean, p50 and p99 (numpy's linear quantiles, as podsim's summary) and the count."""
    a = np.asarray(latencies_s, dtype=float)
    if a.size == 0:
        raise ValueError("no successful requests to take latency statistics of")
    p50, p99 = np.quantile(a, [0.5, 0.99])
    return {"n": int(a.size), "mean": float(a.mean()), "p50": float(p50), "p99": float(p99)}


def spread(values: Sequence[float]) -> dict:
    """The average of replicate values and their range."""
    if len(values) == 0:
        raise ValueError("no values")
    return {"avg": float(np.mean(values)), "lo": float(min(values)), "hi": float(max(values))}


def rel_err(model: float, real: float) -> float:
    """(model - real) / real: positive when podsim over-predicts."""
    if real <= 0:
        raise ValueError(f"the real value must be positive (got {real})")
    return (model - real) / real


def agrees(model: float, real: Mapping, tolerance: float) -> bool:
    """Within ``tolerance`` of the replicates' average, or inside their min-max range."""
    return abs(rel_err(model, real["avg"])) <= tolerance or real["lo"] <= model <= real["hi"]


def compare(real_reps: Sequence[Mapping], model: Mapping) -> Optional[dict]:
    """One table row's numbers: real replicate spreads, podsim, errors, verdicts.

    ``real_reps``: per-run ``latency_stats`` dicts (runs with ``n == 0``, no
    successful request, are left out); ``model``: ``{"mean", "p99"}``.
    None when no run had a successful request.
    """
    real_reps = [r for r in real_reps if r["n"] > 0]
    if not real_reps:
        return None
    row: dict = {"runs": len(real_reps)}
    for key, tol in (("mean", MEAN_TOLERANCE), ("p99", P99_TOLERANCE)):
        real = spread([r[key] for r in real_reps])
        row[key] = {"real": real, "podsim": float(model[key]),
                    "rel_err": rel_err(float(model[key]), real["avg"]),
                    "agrees": agrees(float(model[key]), real, tol)}
    return row


def _ms(x: float) -> str:
    return f"{x * 1e3:.2f}"


def _pct(x: float) -> str:
    return f"{x * 100:+.0f} %"


def _real(s: Mapping) -> str:
    return f"{_ms(s['avg'])} ({_ms(s['lo'])}–{_ms(s['hi'])})"


TABLE_HEADER = ("| variant | util | rate (req/s) | real util | real mean ms (min–max) | podsim mean | err "
                "| real p99 ms (min–max) | podsim p99 | err | agrees (mean/p99) |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|")


def format_row(variant: str, util: float, rate: float, real_util: Optional[float],
               row: Optional[Mapping]) -> str:
    ru = f"{real_util:.2f}" if real_util is not None else "–"
    if row is None:
        return f"| {variant} | {util:.2f} | {rate:.1f} | {ru} | no successful request | | | | | | |"
    m, p = row["mean"], row["p99"]
    verdict = f"{'yes' if m['agrees'] else 'NO'}/{'yes' if p['agrees'] else 'NO'}"
    return (f"| {variant} | {util:.2f} | {rate:.1f} | {ru} | {_real(m['real'])} | {_ms(m['podsim'])} "
            f"| {_pct(m['rel_err'])} | {_real(p['real'])} | {_ms(p['podsim'])} | {_pct(p['rel_err'])} "
            f"| {verdict} |")


def format_table(rows: Sequence[Mapping]) -> str:
    """Markdown: one line per point; rows carry variant, util, rate, real_util and ``compare``'s dict."""
    lines = [TABLE_HEADER]
    lines += [format_row(r["variant"], r["util"], r["rate"], r.get("real_util"), r["compare"]) for r in rows]
    return "\n".join(lines)


def estimate_wall_s(measured_runs: int, seconds: float, calibration_runs: int, calibration_seconds: float,
                    sim_points: int, per_run_overhead_s: float = 2.0, per_sim_point_s: float = 6.0,
                    build_s: float = 30.0) -> float:
    """Rough wall time of a whole run: load runs plus their start/drain, podsim points, the build."""
    return (measured_runs * (seconds + per_run_overhead_s)
            + calibration_runs * (calibration_seconds + per_run_overhead_s)
            + sim_points * per_sim_point_s + build_s)
