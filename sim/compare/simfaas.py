"""podsim's functions side by side with SimFaaS (Mahmoudi & Khazaei, pip
``simfaas`` 0.2.2, ``ServerlessSimulator``), the published simulator of the
Lambda case: one request per instance, a new instance per request that finds
none idle (a cold start), the newest idle instance first, expiry
``expiration_threshold`` after an instance's last request.

Same inputs on both: Poisson arrivals at ``rate``; warm service time
exponential with mean ``warm_s``; a cold request waits a constant cold start
of ``cold_s - warm_s`` and then does the same exponential work (mean
``cold_s`` in all). podsim models a cold start so (init, then the request);
SimFaaS is given that very process as its ``cold_service_process`` (its
default, an exponential cold response, has another variance and shifts the
cold-start probability by 5-15 % at short keep-alives: not the same input);
``keep_alive_s`` = SimFaaS's ``expiration_threshold``. Compared: the
cold-start probability, the mean number of instances and of running
instances, each a mean over replications with a Welch confidence interval
of the difference; a cell agrees when that interval contains 0 (the
tolerance comes from the replications, not a guess).

SimFaaS draws from numpy's global generator: this module seeds it per
replication (podsim itself keeps no global random state).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import numpy as np

METRICS = ("prob_cold", "instances", "running")
"""What is compared: cold-start probability, mean instances, mean running instances."""

GRID = [(rate, 0.5, 1.5, keep) for rate in (0.01, 0.1, 1.0, 10.0) for keep in (10.0, 600.0)] \
    + [(0.9, 1.991, 2.244, 600.0)]
"""(rate /s, warm s, cold s, keep-alive s): arrival rates 0.01-10/s, keep-alives
10 s and 10 min, and the SimFaaS README's own example."""


@dataclass(frozen=True)
class Point:
    rate: float
    warm_s: float
    cold_s: float
    keep_alive_s: float

    def duration_s(self, arrivals: int) -> float:
        """Long enough for about ``arrivals`` requests and 20 keep-alives."""
        return max(arrivals / self.rate, 20 * self.keep_alive_s)


def run_podsim(point: Point, duration_s: float, seed: int) -> dict:
    """podsim's answer for one replication."""
    from ..runner import run
    scenario = {
        "name": "simfaas-compare", "duration": duration_s, "sample_interval": duration_s / 50,
        "record": "summary", "seed": seed,
        "workload": {"calls": {"target": "f", "arrivals": {"rate": point.rate}}},
        "services": {"unused": {"replicas": 0, "pod": {"work": "1ms"}}},
        "functions": {"f": {"concurrency": 1, "keep_alive": point.keep_alive_s, "cpu": 1,
                            "cold_start": max(0.0, point.cold_s - point.warm_s),
                            "work": {"dist": "exponential", "mean": point.warm_s},
                            "max_instances": 1000}},
    }
    f = run(scenario, seed=seed).summary["functions"]["f"]
    return {"prob_cold": f["cold_start_ratio"] or 0.0, "instances": f["instances_mean"],
            "running": f["busy_instances_mean"]}


def run_simfaas(point: Point, duration_s: float, seed: int) -> dict:
    """SimFaaS's answer for one replication (its global numpy seed set first)."""
    from simfaas.ServerlessSimulator import ServerlessSimulator
    from simfaas.SimProcess import ExpSimProcess
    np.random.seed(seed)
    sim = ServerlessSimulator(arrival_rate=point.rate, warm_service_rate=1 / point.warm_s,
                              cold_service_process=_ColdThenWork(point.cold_s - point.warm_s,
                                                                 ExpSimProcess(rate=1 / point.warm_s)),
                              expiration_threshold=point.keep_alive_s, max_time=duration_s)
    sim.generate_trace(debug_print=False, progress=False)
    r = sim.get_result_dict()
    return {"prob_cold": float(r["prob_cold"]), "instances": float(r["inst_count_avg"]),
            "running": float(r["inst_running_count_avg"])}


class _ColdThenWork:
    """A SimFaaS process: a constant cold start, then a warm service time."""

    has_pdf = has_cdf = False

    def __init__(self, cold_start_s: float, warm):
        self.cold_start_s = max(0.0, cold_start_s)
        self.warm = warm

    def generate_trace(self) -> float:
        return self.cold_start_s + self.warm.generate_trace()


def _t_quantile(df: float, confidence: float) -> float:
    from scipy import stats  # as sim.experiment.stats does for its intervals
    return float(stats.t.ppf(0.5 + confidence / 2, df))


def welch(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float]:
    """Difference of means ``b - a`` and the half-width of its Welch interval."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return float(b.mean() - a.mean()), 0.0
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return float(b.mean() - a.mean()), _t_quantile(df, confidence) * se


def compare(points: Iterable[tuple], replications: int = 5, arrivals: int = 20_000,
            confidence: float = 0.99, progress: Optional[Callable[[str], None]] = None):
    """One row per point and metric: SimFaaS's and podsim's means, the
    difference's interval, the relative difference and whether they agree."""
    import pandas as pd
    rows = []
    for values in points:
        point = Point(*values)
        duration = point.duration_s(arrivals)
        sims, ours = [], []
        for rep in range(replications):
            sims.append(run_simfaas(point, duration, 1000 + rep))
            ours.append(run_podsim(point, duration, 2000 + rep))
            if progress is not None:
                progress(f"rate {point.rate:g}/s keep-alive {point.keep_alive_s:g}s: replication {rep + 1}")
        for metric in METRICS:
            a = np.array([s[metric] for s in sims])
            b = np.array([o[metric] for o in ours])
            diff, half = welch(a, b, confidence)
            rows.append({"rate": point.rate, "warm_s": point.warm_s, "cold_s": point.cold_s,
                         "keep_alive_s": point.keep_alive_s, "metric": metric,
                         "simfaas": a.mean(), "podsim": b.mean(), "difference": diff,
                         "half_width": half,
                         "relative": diff / a.mean() if a.mean() else float("nan"),
                         "agrees": abs(diff) <= half})
    return pd.DataFrame(rows)


def table(frame) -> str:
    """The comparison as a text table."""
    lines = [f"{'rate/s':>7} {'warm':>6} {'cold':>6} {'keep':>6}  {'metric':<10}"
             f"{'SimFaaS':>11} {'podsim':>11} {'rel diff':>9} {'CI of diff':>22}  agrees"]
    for r in frame.itertuples():
        lines.append(f"{r.rate:>7g} {r.warm_s:>6g} {r.cold_s:>6g} {r.keep_alive_s:>6g}  {r.metric:<10}"
                     f"{r.simfaas:>11.4g} {r.podsim:>11.4g} {100 * r.relative:>8.1f}%"
                     f" {r.difference - r.half_width:>10.3g}..{r.difference + r.half_width:<10.3g}"
                     f"  {'yes' if r.agrees else 'NO'}")
    return "\n".join(lines)
