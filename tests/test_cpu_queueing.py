"""Go's scheduler (``sim.engine.cpu.go``) against queueing theory.

Method as in ``test_queueing`` (whose machinery this reuses): R independent
replications with a discarded warm-up, a one-sample t-test at ALPHA = 1e-4
plus a small bias allowance, and a ``max_rel`` cap so that a wide interval
cannot hide a wrong simulator.

- Short steps run to completion in arrival order: one pod, 32 workers (so
  the pool never binds: P(> 32 present) ~ 1e-5), one core, GOMAXPROCS 1,
  constant work 2 ms < the 10 ms quantum. That is an M/D/1 FCFS queue, whose
  mean wait is Pollaczek-Khinchine's rho s / (2 (1 - rho)); processor sharing
  would give s / (1 - rho) - s, 2.3 times more at rho 0.7.
- With a quantum far below the work, round robin approaches processor
  sharing: the same arrivals and work (common random numbers) through Go's
  scheduler and through PS; the gap in mean sojourn shrinks in proportion to
  the quantum.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sim
from sim import theory
from test_queueing import ALPHA, Checks, check_little, edge_bias, relaxation_time_s, \
    replications, scenario

pytestmark = pytest.mark.statistical


def test_short_steps_through_go_scheduler_match_pollaczek_khinchine():
    """M/D/1 through the Go scheduler: lambda 350/s, s = 2 ms (rho 0.7).

    Sizing: measured per-minute sd of the mean sojourn 0.08 ms (3.4 % of Wq);
    R = 16 one-minute windows give a tolerance of ~5 % of Wq = 2.33 ms.
    """
    lam, s, warmup, window, reps = 350.0, 0.002, 5.0, 60.0, 16
    spec = scenario(rate=lam, work={"dist": "constant", "value": s}, cpu=1, workers=32,
                    queue=None, duration=warmup + window, warmup=warmup)
    assert sim.load(spec).services["q"].pod.scheduler.type == "go"  # the default
    checks = Checks()
    wait, waited = [], []
    for result in replications(spec, reps):
        wait.append(result.summary["latency_s"]["mean"] - s)
        waited.append(result.summary["services"]["q"]["waited_ratio"])
        check_little(result, checks)
    rho = lam * s
    n = lam * window
    tau = relaxation_time_s(rho, s, 0.0)
    Wq = float(theory.mg1_mean_wait_s(lam, s, 0.0))
    W = Wq + s
    checks.exact("the worker pool never binds", max(waited) < 1e-3, str(max(waited)))
    checks.t_test("M/D/1 via Go scheduler: mean wait for the CPU vs Pollaczek-Khinchine",
                  wait, Wq, edge_bias(Wq, lam * W, n, warmup, tau), 0.08)
    checks.done()  # (Little's law only exactly, per sample: 20 s samples are too few here)


def _mean_sojourns(scheduler, reps: int, window: float, warmup: float, lam: float) -> np.ndarray:
    spec = scenario(rate=lam, work={"dist": "gamma", "mean": 0.01, "cv": 2.0}, cpu=1,
                    workers=1000, queue=None, duration=warmup + window, warmup=warmup,
                    scheduler=scheduler)
    return np.array([r.summary["latency_s"]["mean"] for r in replications(spec, reps)])


def test_small_quantum_approaches_processor_sharing():
    """M/G/1 with gamma work (mean 10 ms, cv 2) at rho 0.7, 1000 workers.

    PS's mean sojourn is s / (1 - rho) = 33.3 ms, FCFS's 68.3 ms. Measured
    (R = 8 two-minute windows, common random numbers): round robin with a
    2 ms quantum is 1.4 ms above PS, with 0.5 ms 0.34 ms above (first-order in
    the quantum; paired sd 0.08 and 0.02 ms). Asserted: each gap is positive
    and below 3 % of PS's sojourn at the 5 % quantum; the gap shrinks with
    the quantum by a factor between 2 and 8 (4 expected for a 4x smaller
    quantum); and PS itself matches s / (1 - rho).
    """
    lam, warmup, window, reps = 70.0, 5.0, 120.0, 8
    ps = _mean_sojourns("ps", reps, window, warmup, lam)
    gaps = {q: _mean_sojourns({"type": "go", "quantum": q}, reps, window, warmup, lam) - ps
            for q in (0.002, 0.0005)}
    t = stats.t.ppf(1 - ALPHA / 2, reps - 1)
    lines = []
    bounds = {}
    for q, gap in gaps.items():
        mean, se = float(gap.mean()), float(gap.std(ddof=1) / math.sqrt(reps))
        bounds[q] = (mean - t * se, mean + t * se)
        lines.append(f"quantum {q * 1e3:g} ms: RR - PS = {mean * 1e3:+.3f} ms +- {t * se * 1e3:.3f}")
    ps_theory = float(theory.mm1_ps_mean_sojourn_s(lam, 0.01))
    report = "\n".join(lines + [f"PS {ps.mean() * 1e3:.2f} ms vs theory {ps_theory * 1e3:.2f}"])
    small, large = bounds[0.0005], bounds[0.002]
    assert small[0] > 0 and large[0] > 0, report
    assert small[1] < 0.03 * ps_theory, report
    ratio = gaps[0.002].mean() / gaps[0.0005].mean()
    assert 2.0 < ratio < 8.0, report + f"\nratio {ratio:.2f}"
    se_ps = ps.std(ddof=1) / math.sqrt(reps)
    assert abs(ps.mean() - ps_theory) <= t * se_ps + 0.01 * ps_theory, report
