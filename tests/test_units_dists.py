"""Units, distributions, arrival-time transformation and random streams.

Statistical checks use fixed seeds and tolerances derived from the sampling
distribution of the statistic, at a false-failure probability of about 1e-5
per assertion (z = 4.42, two-sided):
- a sample mean of n draws: SE = sigma / sqrt(n);
- a sample variance: SE = sqrt((mu4 - sigma^4) / n) (delta method), with the
  fourth central moment mu4 from the family's closed form where there is one
  (exponential, uniform, gamma, lognormal) and the plug-in estimate otherwise
  (bounded or light-tailed cases only);
- a Poisson count with mean m: SE = sqrt(m).
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

import sim
from sim.engine.arrivals import arrival_times, cumulative_rate, inverse_cumulative, unit_points
from sim.engine.rng import Streams
from sim.spec.distributions import Empirical
from sim.units import format_duration, parse_cpu, parse_duration

Z = stats.norm.ppf(1 - 1e-5 / 2)  # 4.42
N = 400_000
ROOT = Path(__file__).resolve().parents[1]


def dist(spec):
    """A validated distribution, through a minimal scenario (the public path)."""
    scenario = sim.load({"name": "d", "duration": 1, "workload": {"w": {"target": "a", "arrivals": {"rate": 1}}},
                         "services": {"a": {"pod": {"work": spec}}}})
    return scenario.services["a"].pod.work


# ----------------------------------------------------------------------------- units
@pytest.mark.parametrize("text,seconds", [
    ("250us", 250e-6), ("250µs", 250e-6), ("20ms", 0.02), ("15s", 15.0), ("5m", 300.0), ("2h", 7200.0),
    ("1d", 86400.0), ("1.5s", 1.5), ("1e3ms", 1.0), (" 2 m ", 120.0), ("10", 10.0), (3, 3.0),
    (0.25, 0.25), ("500ns", 5e-7), ("3min", 180.0), (".5s", 0.5),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-15)


@pytest.mark.parametrize("bad", ["5 parsecs", "fast", "", "5 s s", True, None, [1], float("inf"),
                                 float("nan"), "1e999s", "m5"])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_parse_duration_error_names_the_unit():
    with pytest.raises(ValueError, match="unknown duration unit 'parsecs'"):
        parse_duration("5 parsecs")


@pytest.mark.parametrize("text,cores", [("500m", 0.5), ("250m", 0.25), ("2", 2.0), (2, 2.0), ("1.5", 1.5),
                                        (0.5, 0.5), ("1000m", 1.0), (" 100m ", 0.1)])
def test_parse_cpu(text, cores):
    assert parse_cpu(text) == pytest.approx(cores, rel=1e-15)


@pytest.mark.parametrize("bad", ["2 cores", "lots", "500Mi", "m", True, None, float("inf"), "1.5.2"])
def test_parse_cpu_rejects(bad):
    with pytest.raises(ValueError):
        parse_cpu(bad)


@pytest.mark.parametrize("seconds", [0.0, 3e-6, 0.0123, 0.5, 7.25, 95.0, 600.0, 5400.0, 36000.0])
def test_format_duration_reads_back(seconds):
    # three significant digits
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=5e-3)


def test_units_in_a_scenario():
    scenario = sim.load({"name": "u", "duration": "2h", "warmup": "90s", "sample_interval": "250ms",
                         "workload": {"w": {"target": "a", "arrivals": {"rate": 1}}},
                         "services": {"a": {"pod": {"cpu": "500m", "cpu_request": "250m", "work": "20ms",
                                                    "startup": "1m"}}}})
    assert (scenario.duration, scenario.warmup, scenario.sample_interval) == (7200.0, 90.0, 0.25)
    pod = scenario.services["a"].pod
    assert (pod.cpu, pod.cpu_request_cores) == (0.5, 0.25)
    assert pod.work.mean() == 0.02 and pod.startup.mean() == 60.0
    with pytest.raises(sim.ScenarioError, match="must be >= 0"):
        dist("-5ms")
    with pytest.raises(sim.ScenarioError, match="must be > 0"):
        sim.load({"name": "u", "duration": "1h", "workload": {"w": {"target": "a", "arrivals": {"rate": 1}}},
                  "services": {"a": {"pod": {"cpu": "0m", "work": 1}}}})


# ----------------------------------------------------------------------------- distributions
def _mu4_lognormal(mean, var):
    s2 = math.log1p(var / mean**2)
    return var**2 * (math.exp(4 * s2) + 2 * math.exp(3 * s2) + 3 * math.exp(2 * s2) - 3)


CLOSED_FORM_CASES = [
    # spec, mean, variance, fourth central moment
    ({"dist": "exponential", "mean": "2s"}, 2.0, 4.0, 9 * 2.0**4),
    ({"dist": "uniform", "low": 1, "high": 4}, 2.5, 9 / 12, 3**4 / 80),
    ({"dist": "gamma", "mean": 3, "cv": 0.5}, 3.0, 2.25, 2.25**2 * (3 + 6 / 4)),
    ({"dist": "gamma", "mean": 1, "cv": 2.0}, 1.0, 4.0, 16 * (3 + 6 / 0.25)),
    ({"dist": "lognormal", "mean": "8ms", "cv": 1.0}, 0.008, 0.008**2, _mu4_lognormal(0.008, 0.008**2)),
    ({"dist": "lognormal", "mean": 1, "cv": 0.5}, 1.0, 0.25, _mu4_lognormal(1.0, 0.25)),
]


@pytest.mark.parametrize("spec,mean,var,mu4", CLOSED_FORM_CASES,
                         ids=[f"{c[0]['dist']}-{i}" for i, c in enumerate(CLOSED_FORM_CASES)])
def test_moments_match_the_closed_forms_and_large_samples(spec, mean, var, mu4):
    d = dist(spec)
    assert d.mean() == pytest.approx(mean, rel=1e-12)
    assert d.variance() == pytest.approx(var, rel=1e-12)
    assert d.scv() == pytest.approx(var / mean**2, rel=1e-12)
    x = d.quantile(np.random.default_rng(7).random(N))
    assert abs(x.mean() - mean) <= Z * math.sqrt(var / N)
    assert abs(x.var(ddof=1) - var) <= Z * math.sqrt((mu4 - var**2) / N)


PLUG_IN_CASES = [
    {"dist": "normal", "mean": 1, "sd": 0.5},      # barely truncated
    {"dist": "normal", "mean": 0.2, "sd": 1.0},    # heavily truncated at 0
    {"dist": "mixture", "components": [{"weight": 9, "dist": "constant", "value": "500us"},
                                       {"weight": 1, "dist": "exponential", "mean": "5ms"}]},
    {"dist": "mixture", "components": [{"weight": 0.5, "dist": "uniform", "low": 0, "high": 1},
                                       {"weight": 0.3, "dist": "gamma", "mean": 4, "cv": 0.3},
                                       {"weight": 0.2, "dist": "constant", "value": 2}]},
    {"dist": "empirical", "values": [0.1, 0.1, 0.4, 2.0, 0.25]},
]


@pytest.mark.parametrize("spec", PLUG_IN_CASES, ids=[f"{c['dist']}-{i}" for i, c in enumerate(PLUG_IN_CASES)])
def test_moments_match_large_samples(spec):
    d = dist(spec)
    x = d.quantile(np.random.default_rng(11).random(N))
    m, v = d.mean(), d.variance()
    mu4 = float(((x - x.mean()) ** 4).mean())
    assert abs(x.mean() - m) <= Z * math.sqrt(v / N)
    assert abs(x.var(ddof=1) - v) <= Z * math.sqrt(max(mu4 - v * v, 1e-300) / N)
    assert (x >= 0).all()


def test_truncated_normal_against_scipy():
    d = dist({"dist": "normal", "mean": 0.2, "sd": 1.0})
    ref = stats.truncnorm(a=-0.2, b=np.inf, loc=0.2, scale=1.0)
    assert d.mean() == pytest.approx(ref.mean(), rel=1e-10)
    assert d.variance() == pytest.approx(ref.var(), rel=1e-10)
    u = np.linspace(0.001, 0.999, 99)
    np.testing.assert_allclose(d.quantile(u), ref.ppf(u), rtol=1e-8)


def test_mixture_moments_by_total_variance_and_component_shares():
    d = dist(PLUG_IN_CASES[2])
    p = np.array([0.9, 0.1])
    means, variances = np.array([0.0005, 0.005]), np.array([0.0, 0.005**2])
    mean = float(p @ means)
    assert d.mean() == pytest.approx(mean, rel=1e-12)
    assert d.variance() == pytest.approx(float(p @ (variances + means**2)) - mean**2, rel=1e-12)
    x = d.quantile(np.random.default_rng(3).random(N))
    share = float((x == 0.0005).mean())  # exponential draws hit 500us with probability 0
    assert abs(share - 0.9) <= Z * math.sqrt(0.9 * 0.1 / N)


@pytest.mark.parametrize("family,spec,ref", [
    ("exponential", {"dist": "exponential", "mean": 2}, stats.expon(scale=2)),
    ("gamma", {"dist": "gamma", "mean": 3, "cv": 0.5}, stats.gamma(a=4, scale=0.75)),
    ("lognormal", {"dist": "lognormal", "mean": 1, "cv": 1},
     stats.lognorm(s=math.sqrt(math.log(2)), scale=math.exp(-math.log(2) / 2))),
    ("uniform", {"dist": "uniform", "low": 1, "high": 4}, stats.uniform(loc=1, scale=3)),
])
def test_quantiles_against_scipy(family, spec, ref):
    u = np.linspace(0.0005, 0.9995, 200)
    np.testing.assert_allclose(dist(spec).quantile(u), ref.ppf(u), rtol=1e-9)


def test_lognormal_by_median_and_p99():
    d = dist({"dist": "lognormal", "median": "1ms", "p99": "10ms"})
    assert float(d.quantile(np.array([0.5]))[0]) == pytest.approx(0.001, rel=1e-12)
    assert float(d.quantile(np.array([0.99]))[0]) == pytest.approx(0.010, rel=1e-9)
    sigma = math.log(10) / stats.norm.ppf(0.99)
    assert d.mean() == pytest.approx(0.001 * math.exp(sigma**2 / 2), rel=1e-12)
    assert d.variance() == pytest.approx(math.expm1(sigma**2) * 0.001**2 * math.exp(sigma**2), rel=1e-12)
    x = d.quantile(np.random.default_rng(5).random(N))
    # the share of draws below the median and below p99: binomial proportions
    for q, limit in ((0.5, 0.001), (0.99, 0.010)):
        assert abs((x <= limit).mean() - q) <= Z * math.sqrt(q * (1 - q) / N)
    with pytest.raises(sim.ScenarioError):
        dist({"dist": "lognormal", "median": "10ms", "p99": "1ms"})
    with pytest.raises(sim.ScenarioError):
        dist({"dist": "lognormal", "mean": "1ms", "p99": "10ms"})


@pytest.mark.parametrize("spec,message", [
    ({"dist": "gamma", "mean": "3ms", "cv": 1e308}, "must be <= 10"),
    ({"dist": "lognormal", "mean": "3ms", "cv": 1e155}, "must be <= 100"),
    ({"dist": "lognormal", "median": "1ns", "p99": 1e300}, "parameters out of range"),
    ({"dist": "normal", "mean": -40, "sd": 1}, "parameters out of range"),
    ({"dist": "mixture", "components": [{"weight": 1e308, "dist": "constant", "value": 1},
                                        {"weight": 1e308, "dist": "constant", "value": 2}]},
     "parameters out of range"),
])
def test_parameters_that_overflow_are_refused_at_load(spec, message):
    """Found by the fuzzer (gamma cv 1e308 raised OverflowError mid-run): the
    spec refuses what would make the engine draw inf or nan."""
    with pytest.raises(sim.ScenarioError) as info:
        dist(spec)
    (problem,) = info.value.problems
    assert problem.path.startswith("services.a.pod.work") and message in problem.message


def test_constant_and_bare_durations():
    d = dist("20ms")
    assert (d.mean(), d.variance(), d.scv()) == (0.02, 0.0, 0.0)
    np.testing.assert_array_equal(d.quantile(np.array([0.0, 0.3, 0.999])), [0.02] * 3)


def test_empirical_from_values_resamples_them_uniformly():
    values = [0.3, 0.1, 0.2, 0.2]
    d = dist({"dist": "empirical", "values": values})
    assert d.mean() == pytest.approx(np.mean(values))
    assert d.variance() == pytest.approx(np.var(values))
    # on a midpoint grid each sorted value takes exactly 1/n of [0, 1)
    grid = (np.arange(4000) + 0.5) / 4000
    counts = {v: int((d.quantile(grid) == v).sum()) for v in set(values)}
    assert counts == {0.1: 1000, 0.2: 2000, 0.3: 1000}
    assert float(d.quantile(np.array([np.nextafter(1.0, 0)]))[0]) == 0.3


def test_empirical_from_a_csv_file(tmp_path):
    (tmp_path / "header.csv").write_text("latency,other\n0.01,9\n0.03,9\n0.02,9\n")
    (tmp_path / "bare.csv").write_text("0.5\n1.5\n\n")
    scenario = {"name": "e", "duration": 1, "workload": {"w": {"target": "a", "arrivals": {"rate": 1}}},
                "services": {"a": {"pod": {"work": {"dist": "empirical", "file": "header.csv",
                                                    "column": "latency"}}},
                             "b": {"pod": {"work": {"dist": "empirical", "file": "bare.csv"}}},
                             "c": {"pod": {"work": {"dist": "empirical", "file": "header.csv",
                                                    "column": 1}}}}}
    import yaml
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario))
    loaded = sim.load(path)
    a, b, c = (loaded.services[n].pod.work for n in "abc")
    assert a.mean() == pytest.approx(0.02) and a.variance() == pytest.approx(np.var([0.01, 0.03, 0.02]))
    assert b.mean() == pytest.approx(1.0)
    assert c.mean() == pytest.approx(9.0)
    assert isinstance(a, Empirical)
    (tmp_path / "neg.csv").write_text("0.1\n-0.2\n")
    scenario["services"] = {"a": {"pod": {"work": {"dist": "empirical", "file": "neg.csv"}}}}
    path.write_text(yaml.safe_dump(scenario))
    with pytest.raises(sim.ScenarioError, match=">= 0"):
        sim.load(path)


def test_sampling_is_monotone_in_u_and_couples_parameters():
    """Inversion: the same uniforms give ordered samples, and a scale change scales them."""
    u = np.random.default_rng(1).random(1000)
    order = np.argsort(u)
    for spec in [c[0] for c in CLOSED_FORM_CASES] + PLUG_IN_CASES:
        if spec["dist"] == "mixture":
            continue  # monotone within each component's share of u only
        assert np.all(np.diff(dist(spec).quantile(u[order])) >= 0), spec
    slow = dist({"dist": "exponential", "mean": 2})
    fast = dist({"dist": "exponential", "mean": 1})
    np.testing.assert_allclose(slow.quantile(u), 2 * fast.quantile(u), rtol=1e-14)


# ----------------------------------------------------------------------------- arrivals
PROFILES = [
    (np.array([0.0, 10.0, 20.0, 30.0]), np.array([5.0, 20.0, 2.0, 8.0])),
    (np.array([2.0, 4.0, 9.0]), np.array([1.0, 0.0, 3.0])),
    (np.array([0.0, 60.0, 120.0, 180.0]), np.array([0.0, 30.0, 30.0, 10.0])),
]


def rate_fn(times, rates, linear):
    """An independent reference: the rate at t, held flat before the first and after the last knot."""
    if linear:
        return lambda t: float(np.interp(t, times, rates))
    return lambda t: float(rates[max(0, np.searchsorted(times, t, side="right") - 1)])


@pytest.mark.parametrize("linear", [False, True])
@pytest.mark.parametrize("case", range(len(PROFILES)))
def test_cumulative_rate_is_the_integral_of_the_rate(case, linear):
    times, rates = PROFILES[case]
    f = rate_fn(times, rates, linear)
    t = np.array([0.0, 0.5, 1.0, 3.3, 9.99, 10.0, 17.0, 25.0, 40.0, 100.0, 200.0])
    got = cumulative_rate(times, rates, linear, t)
    breaks = [float(k) for k in times]
    for ti, gi in zip(t, got):
        ref = integrate.quad(f, 0.0, ti, points=[b for b in breaks if 0 < b < ti] or None, limit=200)[0] \
            if ti > 0 else 0.0
        assert gi == pytest.approx(ref, rel=1e-9, abs=1e-9), (ti, gi, ref)


@pytest.mark.parametrize("linear", [False, True])
@pytest.mark.parametrize("case", range(len(PROFILES)))
def test_cumulative_and_inverse_are_inverses(case, linear):
    times, rates = PROFILES[case]
    f = rate_fn(times, rates, linear)
    t = np.linspace(0.0, 250.0, 2001)
    # Lambda^{-1}(s) = inf{t: Lambda(t) >= s} (an arrival happens when the
    # cumulative rate first reaches its point): it gives back t wherever Lambda
    # increases just before t, i.e. the rate is positive on the left of t.
    positive = np.array([x > 0 and f(x - 1e-7) > 0 for x in t])
    big = cumulative_rate(times, rates, linear, t)
    back = inverse_cumulative(times, rates, linear, big)
    # where Lambda is strictly increasing up to t, it inverts exactly
    np.testing.assert_allclose(back[positive], t[positive], rtol=1e-9, atol=1e-9)
    # everywhere, Lambda^{-1}(Lambda(t)) is the first time the cumulative rate gets there
    np.testing.assert_allclose(cumulative_rate(times, rates, linear, back[np.isfinite(back)]),
                               big[np.isfinite(back)], rtol=1e-9, atol=1e-9)
    # s > 0: arrivals never ask for Lambda^{-1}(0) (the first unit point is > 0)
    s = np.linspace(1e-3, float(big[-1]), 997)
    inv = inverse_cumulative(times, rates, linear, s)
    assert np.all(np.diff(inv) >= -1e-12)
    np.testing.assert_allclose(cumulative_rate(times, rates, linear, inv), s, rtol=1e-9, atol=1e-9)


def test_poisson_counts_have_the_integrated_rate_as_mean_and_variance():
    """R independent realizations of a ramped profile; counts in 6 windows.

    The count in window j is Poisson(m_j) with m_j the integral of the rate
    over it. Summed over R realizations it is Poisson(R m_j): tolerance
    Z sqrt(R m_j). The sample variance over realizations has variance
    (m + 2 m^2) / R for a Poisson count (mu4 = m + 3 m^2): tolerance
    Z sqrt((m + 2 m^2) / R). Z includes a Bonferroni factor for 6 windows.
    """
    arrivals = sim.load({"name": "p", "duration": 60, "workload": {"w": {"target": "a", "arrivals": {
        "profile": [{"at": 0, "rate": 2}, {"at": 20, "rate": 12}, {"at": 40, "rate": 12}, {"at": 50, "rate": 0}],
        "linear": True}}}, "services": {"a": {"pod": {"work": 0.001}}}}).workload["w"].arrivals
    edges = np.array([0.0, 10, 20, 30, 40, 50, 60])
    times, rates = arrivals.rate_points()
    expected = np.diff(cumulative_rate(times, rates, True, edges))
    np.testing.assert_allclose(expected, [45, 95, 120, 120, 60, 0], rtol=1e-12)
    reps = 600
    counts = np.array([np.histogram(list(arrival_times(arrivals, Streams(3, r).generator("arrivals/w"), 60.0)),
                                    bins=edges)[0] for r in range(reps)])
    z = stats.norm.ppf(1 - 1e-5 / 2 / len(expected))
    assert counts[:, -1].sum() == 0  # no rate, no arrivals
    for j, m in enumerate(expected[:-1]):
        assert abs(counts[:, j].sum() - reps * m) <= z * math.sqrt(reps * m), j
        assert abs(counts[:, j].var(ddof=1) - m) <= z * math.sqrt((m + 2 * m * m) / reps), j


def test_deterministic_counts_are_the_floor_of_the_cumulative_rate():
    arrivals = sim.load({"name": "p", "duration": 60, "workload": {"w": {"target": "a", "arrivals": {
        "profile": [{"at": 0, "rate": 2.5}, {"at": 20, "rate": 7.25}], "linear": True,
        "process": "deterministic"}}}, "services": {"a": {"pod": {"work": 0.001}}}}).workload["w"].arrivals
    stamps = np.array(list(arrival_times(arrivals, np.random.default_rng(0), 60.0)))
    times, rates = arrivals.rate_points()
    for t in (5.0, 13.7, 20.0, 33.3, 59.9):
        assert (stamps <= t).sum() == math.floor(float(cumulative_rate(times, rates, True, np.array([t]))[0]) + 1e-9)
    np.testing.assert_allclose(cumulative_rate(times, rates, True, stamps), np.arange(1, len(stamps) + 1),
                               rtol=1e-12)


def test_unit_points():
    det = next(unit_points(np.random.default_rng(0), "deterministic", 5))
    np.testing.assert_array_equal(det, [1, 2, 3, 4, 5])
    gaps = np.diff(np.concatenate([[0.0], next(unit_points(np.random.default_rng(0), "poisson", N))]))
    assert abs(gaps.mean() - 1) <= Z * math.sqrt(1 / N)
    assert abs(gaps.var(ddof=1) - 1) <= Z * math.sqrt(8 / N)  # Exp(1): mu4 = 9


def test_timestamp_trace_is_replayed(tmp_path):
    (tmp_path / "stamps.csv").write_text("t\n0.5\n1.25\n7\n12\n")
    import yaml
    spec = {"name": "t", "duration": 10, "workload": {"w": {"target": "a", "arrivals": {"trace": "stamps.csv"}}},
            "services": {"a": {"pod": {"work": 0.001}}}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    result = sim.run(tmp_path / "s.yaml", seed=1)
    np.testing.assert_array_equal(result.requests["arrival_s"], [0.5, 1.25, 7.0])


# ----------------------------------------------------------------------------- random streams
def test_streams_are_reproducible_and_independent_by_name():
    a = Streams(5).generator("work/x").random(1000)
    again = Streams(5).generator("work/x").random(1000)
    np.testing.assert_array_equal(a, again)
    # asking for other streams first changes nothing (no shared state)
    s = Streams(5)
    for name in ("lb/x", "net/a->b", "arrivals/w"):
        s.generator(name).random(100)
    np.testing.assert_array_equal(s.generator("work/x").random(1000), a)
    others = {
        "other name": Streams(5).generator("work/y").random(1000),
        "other replication": Streams(5, replication=1).generator("work/x").random(1000),
        "other seed": Streams(6).generator("work/x").random(1000),
    }
    for what, b in others.items():
        assert not np.array_equal(a, b), what
    # independence: the correlation of two streams' uniforms is 0 within Z / sqrt(n)
    n = 200_000
    u = Streams(5).generator("work/x").random(n)
    for name in ("work/y", "work/x ", "Work/x", "lb/x"):
        v = Streams(5).generator(name).random(n)
        assert abs(np.corrcoef(u, v)[0, 1]) <= Z / math.sqrt(n), name
        assert stats.kstest(v, "uniform").pvalue > 1e-5


def test_samplers_draw_by_inversion_from_their_stream():
    d = dist({"dist": "gamma", "mean": 2, "cv": 0.7})
    draws = Streams(9).sampler(d, "work/a", batch=64)
    first = [next(draws) for _ in range(200)]
    gen = Streams(9).generator("work/a")
    expected = np.concatenate([d.quantile(gen.random(64)) for _ in range(4)])[:200]
    np.testing.assert_allclose(first, expected, rtol=1e-15)
    constant = Streams(9).sampler(dist("7ms"), "work/b")
    assert [next(constant) for _ in range(3)] == [0.007] * 3
    # common random numbers: the same stream under a scaled distribution scales every draw
    one = Streams(9).sampler(dist({"dist": "exponential", "mean": 1}), "work/c")
    three = Streams(9).sampler(dist({"dist": "exponential", "mean": 3}), "work/c")
    for _ in range(100):
        assert next(three) == pytest.approx(3 * next(one), rel=1e-14)


def test_streams_do_not_depend_on_the_process():
    """Stream keys are a stable hash (never Python's salted ``hash()``): two
    interpreters with different hash seeds draw the same numbers."""
    code = ("from sim.engine.rng import Streams; "
            "print(repr(Streams(123, 4).generator('work/frontend').random(3).tolist()))")
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout.strip())
    assert outputs == {repr(Streams(123, 4).generator("work/frontend").random(3).tolist())}
