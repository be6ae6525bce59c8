"""The core simulator against queueing theory (``sim.theory``).

Method (every case)
-------------------
R independent replications ``sim.run(scenario, seed=SEED, replication=r)``,
r = 0..R-1, each with a warm-up that is discarded. Each replication gives one
estimate X_r (a mean over thousands of requests). By the CLT the X_r are
close to normal, i.i.d. across replications, with a mean that equals the
theoretical value up to a small bias b. The test is the one-sample t-test

    |mean(X) - theory| <= t_{1 - ALPHA/2, R-1} * sd(X) / sqrt(R) + b

with ALPHA = 1e-4: a correct simulator fails one assertion with probability
1e-4 (Student's t, not z, because the standard error is itself estimated
from R replications). Seeds are fixed, so the tests are deterministic: this
probability is the chance that the chosen seeds are unlucky, paid once.

The bias allowance b (``edge_bias``) has two parts, both tiny:
- warm-up: runs start empty. The M/M/1 relaxation time is
  tau = 1 / (mu (1 - sqrt(rho))^2) (Morse 1955; Cohen, *The Single Server
  Queue*), and c servers relax faster, so tau computed with one server's mu
  bounds the M/M/c one. After a warm-up of w seconds the distance of the state
  from stationarity decays like exp(-w / tau); warm-ups here are >= 10 tau,
  so this term is <= 5e-5 of the mean.
- edges of the window: a window average is biased only by requests that
  straddle its ends. On average L (the mean number in the system) requests
  are present at each end, against n requests in the window; each is off by
  at most a few means. The term is 10 (L + 1) / n of the mean (~1e-3 here).

So that a wide confidence interval cannot hide a wrong simulator, every check
also asserts that its tolerance is below ``max_rel`` of the theoretical value.
``max_rel`` is set at about twice the tolerance the chosen run lengths give
(measured), so it trips only if the spread across replications doubles (for
R >= 16 the chi-square probability of that is < 1e-7), itself a sign of a
broken model. The tolerances that result (2 % to 10 % of the theoretical
values, see each case) catch, e.g., one worker too few, LIFO in place of
FIFO, or FCFS in place of processor sharing by a wide margin (each of these
was tried on a mutated engine and fails its case).

Little's law is checked on every run, two ways (``check_little``):
- exactly: at every sample time t, the pod's own counters (``in_flight`` in
  the time series = busy workers + queued, read from the pod objects) equal
  the number of admitted attempts in the ``calls`` table with
  arrived_s <= t < done_s. Two independent code paths (the pod's bookkeeping
  vs the timestamps written to the log) must agree at every sample.
- statistically: L = the time average of the sampled ``in_flight`` over the
  window, against lambda * W with lambda the admitted arrivals per second and
  W their mean time at the pod (queue + service) from the timestamps. This is
  not a tautology: L comes from periodic snapshots of the pods' state, W from
  per-request timestamps; they agree only if every request is counted in the
  pod while (and only while) its timestamps say it is there. Their difference
  per replication is tested against 0 with the same t-test.

Sizes: the run lengths below were chosen from measured per-replication
standard deviations; the whole file simulates about 2.1 million requests
(about 25 s on one core of a laptop-class machine).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy import stats

import sim
from sim import theory

pytestmark = pytest.mark.statistical

SEED = 20240611
ALPHA = 1e-4  # false-failure probability per assertion
SAMPLE_S = 20.0


# ----------------------------------------------------------------------------- machinery
def scenario(*, rate: float, work, cpu: float, workers: int, queue, duration: float,
             warmup: float, replicas: int = 1, lb: str = "round_robin", scheduler=None) -> dict:
    """One service ``q`` fed by Poisson arrivals; no network latency. ``scheduler``
    (e.g. ``"ps"``) where the ground truth needs one; else the default (Go's)."""
    pod = {"cpu": cpu, "workers": workers, "queue": queue, "work": work}
    if scheduler is not None:
        pod["scheduler"] = scheduler
    return {
        "name": "queueing", "duration": duration, "warmup": warmup, "sample_interval": SAMPLE_S,
        "workload": {"clients": {"target": "q", "arrivals": {"rate": rate}}},
        "services": {"q": {"replicas": replicas, "load_balancer": lb, "pod": pod}},
    }


def relaxation_time_s(rho: float, mean_service_s: float, scv: float = 1.0) -> float:
    """Relaxation time of the M/M/1 queue, 1 / (mu (1 - sqrt(rho))^2) (Morse 1955),
    scaled by (1 + scv) / 2 for general service (heavy traffic: variability
    enters through (1 + scv) / 2, Kingman 1961). An upper bound for c servers."""
    return mean_service_s / (1 - math.sqrt(rho)) ** 2 * max(1.0, (1 + scv) / 2)


def edge_bias(mean: float, in_system: float, per_window: float, warmup_s: float, tau_s: float) -> float:
    """Bias allowance: warm-up residue plus requests straddling the window ends."""
    return abs(mean) * (math.exp(-warmup_s / tau_s) + 10 * (in_system + 1) / per_window)


@dataclass
class Checks:
    """Collects every comparison of a case, then fails once with all of them."""

    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def t_test(self, what: str, per_rep, expected: float, bias: float, max_rel: float) -> None:
        x = np.asarray(per_rep, dtype=float)
        r = len(x)
        mean, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(r))
        tol = stats.t.ppf(1 - ALPHA / 2, r - 1) * se + bias
        line = (f"{what}: sim {mean:.5g} vs theory {expected:.5g}, diff {mean - expected:+.3g}, "
                f"tol {tol:.3g} (R={r}, SE {se:.3g}, bias {bias:.2g})")
        self.lines.append(line)
        if not abs(mean - expected) <= tol:
            self.failed.append("OUT OF TOLERANCE " + line)
        if expected != 0 and not tol <= max_rel * abs(expected):
            self.failed.append(f"TOO IMPRECISE (tol > {max_rel:.0%} of theory) " + line)

    def exact(self, what: str, ok: bool, detail: str = "") -> None:
        if not ok:
            self.failed.append(f"{what}: {detail}")

    def done(self) -> None:
        print("\n".join(self.lines))
        assert not self.failed, "\n".join(self.failed + ["-- all checks:"] + self.lines)


def replications(spec: dict, count: int):
    loaded = sim.load(spec)
    for r in range(count):
        yield sim.run(loaded, seed=SEED, replication=r)


def pod_frame(result, service: str = "q"):
    calls = result.calls
    return calls[calls["service"] == service]


def check_little(result, checks: Checks, service: str = "q") -> tuple[float, float]:
    """Exact in_flight check at every sample; returns (L sampled, lambda * W) over the window."""
    s = result.summary
    warmup, end = s["warmup_s"], s["duration_s"]
    calls = pod_frame(result, service)
    admitted = (calls["pod"].notna() & (calls["status"] != "rejected")).to_numpy()
    arrived = calls["arrived_s"].to_numpy()[admitted]
    done = calls["done_s"].to_numpy()[admitted]
    done = np.where(np.isnan(done), np.inf, done)
    ts = result.timeseries
    ts = ts[ts["service"] == service]
    t = ts["t_s"].to_numpy()
    in_flight = ts["in_flight"].to_numpy()
    counted = (np.searchsorted(np.sort(arrived), t, side="right")
               - np.searchsorted(np.sort(done), t, side="right"))
    bad = np.flatnonzero(counted != in_flight)
    checks.exact(f"in_flight == calls-table count at every sample (rep seed {s['seed']})",
                 len(bad) == 0,
                 f"{len(bad)} of {len(t)} samples differ, first at t={t[bad[:1]]}: "
                 f"pod says {in_flight[bad[:1]]}, table says {counted[bad[:1]]}")
    window = (t > warmup) & (t <= end)
    l_sampled = float(in_flight[window].mean())
    mine = (arrived >= warmup) & (arrived < end)
    lam_w = float((np.minimum(done[mine], end) - arrived[mine]).sum() / (end - warmup))
    return l_sampled, lam_w


def little_t_test(checks: Checks, pairs, l_theory: float, per_window: float, warmup: float,
                  tau: float, w_theory: float, window_s: float) -> None:
    """Little's law per replication: L_sampled - lambda W has mean 0.

    Edge term: requests present at the window start contribute time inside the
    window to L but not to lambda W; on average L of them, for a residual
    sojourn of order W: a bias of about L W / T, allowed three times over.
    """
    pairs = np.asarray(pairs)
    x = pairs[:, 0] - pairs[:, 1]
    bias = 3 * l_theory * w_theory / window_s + edge_bias(l_theory, l_theory, per_window, warmup, tau)
    # the difference is a small number; its tolerance is judged against L itself
    r = len(x)
    se = float(x.std(ddof=1) / math.sqrt(r))
    tol = stats.t.ppf(1 - ALPHA / 2, r - 1) * se + bias
    line = (f"Little: mean(L_sampled - lambda W) {x.mean():+.4g}, tol {tol:.3g}; "
            f"L_sampled {pairs[:, 0].mean():.4g}, lambda W {pairs[:, 1].mean():.4g}, "
            f"theory L {l_theory:.4g}")
    checks.lines.append(line)
    if not abs(x.mean()) <= tol:
        checks.failed.append("OUT OF TOLERANCE " + line)
    if not tol <= 0.12 * l_theory:
        checks.failed.append("TOO IMPRECISE " + line)
    checks.t_test("L sampled vs theory L = lambda W", pairs[:, 0], l_theory,
                  edge_bias(l_theory, l_theory, per_window, warmup, tau), 0.2)


# ----------------------------------------------------------------------------- M/M/c: Erlang C
def test_mmc_waited_ratio_and_queue_wait_match_erlang_c():
    """One pod, workers = cpu = c = 4, unbounded queue, exponential work 1 s,
    lambda = 3/s (a = 3 Erlangs, rho = 0.75): an M/M/4 queue.

    Sizing: measured per-hour sd of the mean wait is ~11 % of its value and of
    P(wait) ~3 %; R = 20 runs of 3 h give tolerances of ~6.5 % (mean wait),
    ~2 % (P(wait)) and ~9 % (p99 wait).
    """
    c, lam, s, warmup, hours, reps = 4, 3.0, 1.0, 600.0, 3.0, 20
    window = hours * 3600
    spec = scenario(rate=lam, work={"dist": "exponential", "mean": s}, cpu=c, workers=c, queue=None,
                    duration=warmup + window, warmup=warmup)
    checks = Checks()
    waited, wait, p99, little = [], [], [], []
    for result in replications(spec, reps):
        q = result.summary["services"]["q"]
        waited.append(q["waited_ratio"])
        wait.append(q["queue_wait_s"]["mean"])
        p99.append(q["queue_wait_s"]["p99"])
        little.append(check_little(result, checks))
    a, n = lam * s, lam * window
    tau = relaxation_time_s(a / c, s)
    C, Wq = float(theory.erlang_c(c, a)), float(theory.mmc_mean_wait_s(c, lam, s))
    W = Wq + s
    L = float(theory.littles_law_l(lam, W))
    checks.t_test("P(wait) [waited_ratio] vs Erlang C", waited, C, edge_bias(C, L, n, warmup, tau), 0.05)
    checks.t_test("mean queue wait vs C/(c mu - lambda)", wait, Wq, edge_bias(Wq, L, n, warmup, tau), 0.15)
    # The sample p99 of ~n waits has an O(1/n) bias; its sd is in the t-test.
    q99 = float(theory.mmc_wait_quantile_s(c, lam, s, 0.99))
    checks.t_test("p99 queue wait vs ln(100 C)/(c mu - lambda)", p99, q99,
                  edge_bias(q99, L, n, warmup, tau), 0.2)
    little_t_test(checks, little, L, n, warmup, tau, W, window)
    checks.done()


# ----------------------------------------------------------------------------- M/M/c/c: Erlang B
def test_loss_system_rejections_match_erlang_b():
    """Same pod with ``queue: 0``: an M/M/4/4 loss system at a = 3 Erlangs.

    Every arrival that finds the 4 workers busy is rejected, so the rejected
    share is Erlang B (PASTA) and equals ``waited_ratio`` exactly. The carried
    load (mean busy workers) is a (1 - B), checked through the sampled in_flight.
    Sizing: per-hour sd of the rejected share ~0.006; R = 16 runs of 1 h give a
    tolerance of ~4 % of B.
    """
    c, lam, s, warmup, hours, reps = 4, 3.0, 1.0, 300.0, 1.0, 16
    window = hours * 3600
    spec = scenario(rate=lam, work={"dist": "exponential", "mean": s}, cpu=c, workers=c, queue=0,
                    duration=warmup + window, warmup=warmup)
    checks = Checks()
    blocked, little = [], []
    for result in replications(spec, reps):
        q = result.summary["services"]["q"]
        share = q["rejected"] / q["arrivals"]
        blocked.append(share)
        checks.exact("waited_ratio == rejected share when queue is 0",
                     math.isclose(q["waited_ratio"], share, rel_tol=1e-12),
                     f"{q['waited_ratio']} vs {share}")
        reasons = set(pod_frame(result)["reason"][lambda x: x != ""].astype(str))
        checks.exact("rejections are queue_full", reasons <= {"queue_full"}, str(reasons))
        little.append(check_little(result, checks))
    a, n = lam * s, lam * window
    tau = s  # a loss system forgets its start within a few service times
    B = float(theory.erlang_b(c, a))
    carried = a * (1 - B)
    checks.t_test("rejected share vs Erlang B", blocked, B, edge_bias(B, carried, n, warmup, tau), 0.08)
    little_t_test(checks, little, carried, n, warmup, tau, s, window)
    checks.done()


# ----------------------------------------------------------------------------- random LB: k x M/M/1
def test_random_load_balancing_over_single_worker_pods_gives_mm1_queues():
    """k = 3 pods, each ``workers: 1, cpu: 1``, random load balancing, lambda = 1.8/s,
    exponential work 1 s. Random splitting of a Poisson stream gives k independent
    Poisson streams of rate lambda / k, so each pod is an M/M/1 at rho = 0.6:
    P(wait) = rho, mean sojourn 1 / (mu - lambda / k) = 2.5 s.

    Per-pod arrival counts over the window are exactly Poisson(lambda T / k), so
    their sum over replications is tested with the Poisson standard deviation
    (normal approximation, z for ALPHA) instead of an estimated one.
    Sizing: per-hour sd of a pod's mean sojourn ~8 %; R = 20 runs of 2 h give
    tolerances of 7-10 % (sojourn) and 3-4 % (P(wait)).
    """
    k, lam, s, warmup, hours, reps = 3, 1.8, 1.0, 600.0, 2.0, 20
    window = hours * 3600
    spec = scenario(rate=lam, work={"dist": "exponential", "mean": s}, cpu=1, workers=1, queue=None,
                    duration=warmup + window, warmup=warmup, replicas=k, lb="random")
    checks = Checks()
    pods = [f"q-{i}" for i in range(k)]
    sojourn = {p: [] for p in pods}
    waited = {p: [] for p in pods}
    counts = {p: 0 for p in pods}
    for result in replications(spec, reps):
        calls = pod_frame(result)
        calls = calls[(calls["arrived_s"] >= warmup) & (calls["arrived_s"] < warmup + window)]
        for p in pods:
            mine = calls[calls["pod"] == p]
            counts[p] += len(mine)
            served = mine[mine["done_s"].notna()]
            sojourn[p].append(float((served["done_s"] - served["arrived_s"]).mean()))
            waited[p].append(float((mine["started_s"] != mine["arrived_s"]).mean()))
        check_little(result, checks)
    lam_pod = lam / k
    rho = lam_pod * s
    n = lam_pod * window
    tau = relaxation_time_s(rho, s)
    W = float(theory.mmc_mean_sojourn_s(1, lam_pod, s))
    assert W == pytest.approx(float(theory.mm1_ps_mean_sojourn_s(lam_pod, s)))  # 1 / (mu - lambda)
    L = rho / (1 - rho)
    z = stats.norm.ppf(1 - ALPHA / 2)
    expected_count = lam_pod * window * reps
    for p in pods:
        checks.t_test(f"{p} mean sojourn vs 1/(mu - lambda/k)", sojourn[p], W,
                      edge_bias(W, L, n, warmup, tau), 0.16)
        checks.t_test(f"{p} P(wait) vs rho", waited[p], rho, edge_bias(rho, L, n, warmup, tau), 0.08)
        dev = abs(counts[p] - expected_count)
        line = (f"{p} arrivals {counts[p]} vs Poisson mean {expected_count:.0f}, "
                f"tol {z * math.sqrt(expected_count):.0f}")
        checks.lines.append(line)
        checks.exact("per-pod arrivals", dev <= z * math.sqrt(expected_count), line)
    checks.done()


# ----------------------------------------------------------------------------- M/G/1: P-K
@pytest.mark.parametrize("name,work,lam,hours,reps,max_rel", [
    ("M/D/1", {"dist": "constant", "value": 1.0}, 0.7, 3.0, 20, 0.12),
    ("M/G/1 gamma cv=1.5", {"dist": "gamma", "mean": 1.0, "cv": 1.5}, 0.6, 4.0, 20, 0.16),
    ("M/G/1 lognormal cv=0.5", {"dist": "lognormal", "mean": 1.0, "cv": 0.5}, 0.7, 3.0, 16, 0.14),
])
def test_single_worker_queue_wait_matches_pollaczek_khinchine(name, work, lam, hours, reps, max_rel):
    """One pod, ``workers: 1, cpu: 1``, unbounded queue: an M/G/1 FCFS queue, whose
    mean wait is lambda E[S^2] / (2 (1 - rho)) = rho s (1 + scv) / (2 (1 - rho)).

    The scv is taken from the distribution spec itself (``Dist.scv()``), which
    ``test_units_dists`` checks against sampled moments.
    Sizing: measured per-hour sd of the mean wait ~7 % (M/D/1), ~11 % (gamma
    cv 1.5 at rho 0.6); 3-4 h x 16-20 runs give tolerances of 6-8 %.
    """
    warmup = 900.0
    window = hours * 3600
    spec = scenario(rate=lam, work=work, cpu=1, workers=1, queue=None,
                    duration=warmup + window, warmup=warmup)
    dist = sim.load(spec).services["q"].pod.work
    s, scv = dist.mean(), dist.scv()
    checks = Checks()
    wait, little = [], []
    for result in replications(spec, reps):
        wait.append(result.summary["services"]["q"]["queue_wait_s"]["mean"])
        little.append(check_little(result, checks))
    rho = lam * s
    n = lam * window
    tau = relaxation_time_s(rho, s, scv)
    Wq = float(theory.mg1_mean_wait_s(lam, s, scv))
    W = Wq + s
    L = lam * W
    checks.t_test(f"{name}: mean queue wait vs Pollaczek-Khinchine", wait, Wq,
                  edge_bias(Wq, L, n, warmup, tau), max_rel)
    little_t_test(checks, little, L, n, warmup, tau, W, window)
    checks.done()


# ----------------------------------------------------------------------------- processor sharing
@pytest.mark.parametrize("name,work,hours,reps,max_rel", [
    ("M/M/1-PS", {"dist": "exponential", "mean": 1.0}, 2.0, 20, 0.16),
    # PS is insensitive: the same mean sojourn for highly variable work, where
    # FCFS would give s + P-K = 1 + 0.7 * 5 / 0.6 = 6.8 s instead of 3.33 s.
    ("M/G/1-PS gamma cv=2", {"dist": "gamma", "mean": 1.0, "cv": 2.0}, 3.0, 20, 0.2),
])
def test_processor_sharing_mean_sojourn(name, work, hours, reps, max_rel):
    """One pod, 1000 workers, unbounded queue, ``cpu: 1``, lambda = 0.7/s, mean work 1 s.

    Every request starts at once (P(more than 1000 present) = 0.7^1000) and the
    computing requests share the one core equally: M/G/1 processor sharing,
    mean sojourn s / (1 - rho) = 3.33 s whatever the work distribution.
    Measured end to end (``summary.latency_s.mean``; no network latency).
    Sizing: R = 20 runs of 2-3 h give tolerances of ~8 % (exponential) and
    ~10 % (gamma cv 2).
    """
    lam, warmup = 0.7, 900.0
    window = hours * 3600
    spec = scenario(rate=lam, work=work, cpu=1, workers=1000, queue=None,
                    duration=warmup + window, warmup=warmup, scheduler="ps")
    s = sim.load(spec).services["q"].pod.work.mean()
    checks = Checks()
    sojourn, waited, little = [], [], []
    for result in replications(spec, reps):
        sojourn.append(result.summary["latency_s"]["mean"])
        waited.append(result.summary["services"]["q"]["waited_ratio"])
        little.append(check_little(result, checks))
    rho = lam * s
    n = lam * window
    tau = relaxation_time_s(rho, s)
    T = float(theory.mm1_ps_mean_sojourn_s(lam, s))
    L = lam * T
    checks.exact("no request waits for a worker", max(waited) == 0.0, str(max(waited)))
    checks.t_test(f"{name}: mean sojourn vs s/(1 - rho)", sojourn, T, edge_bias(T, L, n, warmup, tau), max_rel)
    little_t_test(checks, little, L, n, warmup, tau, T, window)
    checks.done()


def test_multicore_processor_sharing_matches_mmc_sojourn():
    """One pod, 1000 workers, ``cpu: 4``, exponential work 1 s, lambda = 3/s.

    With n requests computing, each gets min(1, 4 / n) of a core, so the total
    service rate is min(n, 4) mu: the number in system is the M/M/4 birth-death
    chain, and by Little's law the mean sojourn is the M/M/4 one, Wq + s
    (Erlang C), although nobody ever waits in a queue here.
    Sizing: R = 16 runs of 1 h give a tolerance of ~7 %.
    """
    c, lam, s, warmup, hours, reps = 4, 3.0, 1.0, 600.0, 1.0, 16
    window = hours * 3600
    spec = scenario(rate=lam, work={"dist": "exponential", "mean": s}, cpu=c, workers=1000,
                    queue=None, duration=warmup + window, warmup=warmup, scheduler="ps")
    checks = Checks()
    sojourn, little = [], []
    for result in replications(spec, reps):
        sojourn.append(result.summary["latency_s"]["mean"])
        little.append(check_little(result, checks))
    n = lam * window
    tau = relaxation_time_s(lam * s / c, s)
    W = float(theory.mmc_mean_sojourn_s(c, lam, s))
    L = lam * W
    checks.t_test("PS on 4 cores: mean sojourn vs M/M/4 W", sojourn, W, edge_bias(W, L, n, warmup, tau), 0.14)
    little_t_test(checks, little, L, n, warmup, tau, W, window)
    checks.done()
