"""``sim.theory`` against published tables, closed forms and an independent
numerical solution of the M/M/c birth-death chain.

Ground truths used here, none of which shares code with ``sim.theory``:
- Erlang B traffic tables (grade of service 1 % and 2 %) and the classic
  call-centre Erlang C figure (10 Erlangs on 12 agents: 44.94 % wait);
- Erlang B as a ratio of Poisson probabilities, ``pmf(c; a) / cdf(c; a)``
  (scipy), which is the definition divided through by ``e^a``;
- the stationary distribution of the M/M/c birth-death chain solved
  numerically (truncated far into the tail), from which P(wait), mean wait and
  the waiting-time tail (a mixture of Erlang distributions) follow directly;
- closed forms for c = 1 and c = 2.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim import theory


# ----------------------------------------------------------------------------- helpers
def birth_death_mmc(c: int, lam: float, mu: float, n_max: int = 4000) -> np.ndarray:
    """Stationary distribution of the M/M/c queue length, solved from the balance
    equations pi_{n+1} (min(n+1, c) mu) = pi_n lam in log space, truncated at n_max."""
    n = np.arange(1, n_max + 1)
    log_ratio = np.log(lam) - np.log(np.minimum(n, c) * mu)
    log_pi = np.concatenate([[0.0], np.cumsum(log_ratio)])
    pi = np.exp(log_pi - log_pi.max())
    return pi / pi.sum()


def chain_wait_stats(c: int, lam: float, s: float, t: float = 0.0):
    """P(wait), E[Wq] and P(Wq > t) from the chain (PASTA: arrivals see pi).

    An arrival finding n >= c waits for n - c + 1 departures at rate c mu: an
    Erlang(n - c + 1, c mu) time.
    """
    mu = 1.0 / s
    pi = birth_death_mmc(c, lam, mu)
    n = np.arange(len(pi))
    waiting = n >= c
    p_wait = pi[waiting].sum()
    mean_wait = (pi[waiting] * (n[waiting] - c + 1) / (c * mu)).sum()
    tail = (pi[waiting] * stats.gamma.sf(t, a=n[waiting] - c + 1, scale=1 / (c * mu))).sum()
    return p_wait, mean_wait, tail


# ----------------------------------------------------------------------------- Erlang B
# (servers, offered load in Erlangs as printed, half a unit of its last digit, GoS)
ERLANG_B_TABLE = [
    (1, 0.0101, 0.00005, 0.01), (2, 0.153, 0.0005, 0.01), (5, 1.36, 0.005, 0.01),
    (10, 4.46, 0.005, 0.01), (20, 12.03, 0.005, 0.01), (50, 37.9, 0.05, 0.01),
    (100, 84.06, 0.005, 0.01), (10, 5.08, 0.005, 0.02),
]


@pytest.mark.parametrize("servers,load,half_digit,gos", ERLANG_B_TABLE)
def test_erlang_b_matches_traffic_tables(servers, load, half_digit, gos):
    # A table prints the load rounded; B is increasing in the load, so the true
    # grade of service lies between B at the two ends of the rounding interval.
    low = float(theory.erlang_b(servers, load - half_digit))
    high = float(theory.erlang_b(servers, load + half_digit))
    assert low <= gos <= high


def test_erlang_b_small_closed_forms():
    a = np.linspace(0.0, 20.0, 41)
    np.testing.assert_allclose(theory.erlang_b(1, a), a / (1 + a), rtol=1e-13)
    np.testing.assert_allclose(theory.erlang_b(2, a), (a**2 / 2) / (1 + a + a**2 / 2), rtol=1e-13)
    np.testing.assert_allclose(theory.erlang_b(0, a), 1.0)
    assert float(theory.erlang_b(10, 5.0)) == pytest.approx(0.0183845703, rel=1e-8)


def test_erlang_b_equals_poisson_ratio_over_a_grid():
    c = np.arange(0, 60)[:, None]
    a = np.array([0.1, 0.5, 1, 2.5, 7, 15, 33, 60, 90])[None, :]
    expected = stats.poisson.pmf(c, a) / stats.poisson.cdf(c, a)
    np.testing.assert_allclose(theory.erlang_b(c, a), expected, rtol=1e-10)


def test_erlang_b_is_stable_for_thousands_of_servers():
    c, a = 5000, 4900.0
    expected = math.exp(stats.poisson.logpmf(c, a) - stats.poisson.logcdf(c, a))
    got = float(theory.erlang_b(c, a))
    assert 0 < got < 1
    assert got == pytest.approx(expected, rel=1e-9)


# ----------------------------------------------------------------------------- Erlang C
def test_erlang_c_call_centre_figure():
    # 10 Erlangs offered to 12 agents: 44.94 % of calls wait (printed to 4 decimals).
    assert abs(float(theory.erlang_c(12, 10.0)) - 0.4494) <= 0.00005


def test_erlang_c_reduces_to_rho_for_one_server():
    rho = np.linspace(0.0, 0.99, 100)
    np.testing.assert_allclose(theory.erlang_c(1, rho), rho, atol=1e-15)


def test_erlang_c_two_servers_closed_form():
    rho = np.linspace(0.01, 0.99, 99)
    np.testing.assert_allclose(theory.erlang_c(2, 2 * rho), 2 * rho**2 / (1 + rho), rtol=1e-12)


@pytest.mark.parametrize("c,lam,s", [(1, 0.7, 1.0), (2, 1.5, 1.0), (4, 3.0, 1.0), (8, 6.4, 1.0),
                                     (16, 0.9, 10.0), (50, 45.0, 1.0), (3, 200.0, 0.01)])
def test_mmc_against_the_birth_death_chain(c, lam, s):
    p_wait, mean_wait, _ = chain_wait_stats(c, lam, s)
    assert float(theory.erlang_c(c, lam * s)) == pytest.approx(p_wait, rel=1e-9)
    assert float(theory.mmc_mean_wait_s(c, lam, s)) == pytest.approx(mean_wait, rel=1e-9)
    assert float(theory.mmc_mean_sojourn_s(c, lam, s)) == pytest.approx(mean_wait + s, rel=1e-9)
    for t in (0.0, 0.3 * s, 2 * s, 10 * s):
        _, _, tail = chain_wait_stats(c, lam, s, t)
        assert float(theory.mmc_wait_exceed_probability(c, lam, s, t)) == pytest.approx(tail, rel=1e-8)


def test_mm1_and_mm2_closed_forms():
    lam, s = np.linspace(0.05, 0.95, 19), 1.0
    mu = 1 / s
    np.testing.assert_allclose(theory.mmc_mean_wait_s(1, lam, s), lam / (mu * (mu - lam)), rtol=1e-12)
    np.testing.assert_allclose(theory.mmc_mean_sojourn_s(1, lam, s), 1 / (mu - lam), rtol=1e-12)
    rho = lam / 2
    lam2 = 2 * rho * mu
    np.testing.assert_allclose(theory.mmc_mean_wait_s(2, lam2, s), rho**2 / (mu * (1 - rho**2)),
                               rtol=1e-12)


def test_wait_quantile_inverts_the_tail():
    c, lam, s = 8, 6.4, 1.0
    C = float(theory.erlang_c(c, lam * s))
    q = np.array([0.0, 0.2, 1 - C, 1 - C + 1e-6, 0.6, 0.9, 0.99, 0.9999])
    x = theory.mmc_wait_quantile_s(c, lam, s, q)
    assert np.all(x[q <= 1 - C] == 0.0)
    above = q > 1 - C
    np.testing.assert_allclose(theory.mmc_wait_exceed_probability(c, lam, s, x[above]), 1 - q[above],
                               rtol=1e-10)
    # the M/M/1 median wait at rho = 0.9: P(Wq > x) = 0.9 exp(-0.1 x) = 0.5
    assert float(theory.mmc_wait_quantile_s(1, 0.9, 1.0, 0.5)) == pytest.approx(10 * math.log(1.8))
    assert np.isinf(theory.mmc_wait_quantile_s(c, lam, s, 1.0))


# ----------------------------------------------------------------------------- M/G/1, PS, Little
def test_pollaczek_khinchine():
    lam, s = np.linspace(0.05, 0.95, 19), 1.0
    # scv = 1 is M/M/1; scv = 0 (M/D/1) waits exactly half as long
    np.testing.assert_allclose(theory.mg1_mean_wait_s(lam, s, 1.0), theory.mmc_mean_wait_s(1, lam, s),
                               rtol=1e-12)
    np.testing.assert_allclose(theory.mg1_mean_wait_s(lam, s, 0.0),
                               0.5 * theory.mmc_mean_wait_s(1, lam, s), rtol=1e-12)
    # M/D/1 at rho = 1/2, s = 2: Wq = rho s / (2 (1 - rho)) = 1
    assert float(theory.mg1_mean_wait_s(0.25, 2.0, 0.0)) == pytest.approx(1.0)
    # uniform(0, 2) service: E[S^2] = 4/3; Wq = lam E[S^2] / (2 (1 - rho)) at lam = 0.4
    assert float(theory.mg1_mean_wait_s(0.4, 1.0, 1 / 3)) == pytest.approx(0.4 * (4 / 3) / (2 * 0.6))


def test_processor_sharing_and_little():
    lam = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(theory.mm1_ps_mean_sojourn_s(lam, 1.0), 1 / (1 - lam), rtol=1e-12)
    # M/M/1-PS has the same mean sojourn as M/M/1-FCFS (same queue-length process)
    np.testing.assert_allclose(theory.mm1_ps_mean_sojourn_s(lam / 2, 2.0),
                               theory.mmc_mean_sojourn_s(1, lam / 2, 2.0), rtol=1e-12)
    # Little: M/M/1 mean number in system rho / (1 - rho)
    w = theory.mmc_mean_sojourn_s(1, lam, 1.0)
    np.testing.assert_allclose(theory.littles_law_l(lam, w), lam / (1 - lam), rtol=1e-12)


# ----------------------------------------------------------------------------- broadcasting, edges
def test_broadcasts_servers_against_loads():
    servers = np.array([1, 2, 4, 8])[:, None]
    loads = np.array([0.5, 0.9, 3.0, 7.5])[None, :]
    for fn in (theory.erlang_b, theory.erlang_c):
        grid = fn(servers, loads)
        assert grid.shape == (4, 4)
        for i in range(4):
            for j in range(4):
                assert grid[i, j] == pytest.approx(float(fn(int(servers[i, 0]), float(loads[0, j]))),
                                                   rel=1e-14)
    wait = theory.mmc_mean_wait_s(servers, loads, 1.0)
    assert wait.shape == (4, 4)
    q = theory.mmc_wait_quantile_s(servers, 0.5, 1.0, np.array([0.5, 0.99]))
    assert q.shape == (4, 2)
    p = theory.mmc_wait_exceed_probability(8, 6.4, 1.0, np.array([[0.0], [1.0]]))
    assert p.shape == (2, 1)
    assert isinstance(theory.erlang_c(8, 6.4), float)  # numpy float64 is a float


def test_unstable_and_invalid_inputs():
    assert float(theory.erlang_c(4, 4.0)) == 1.0
    assert float(theory.erlang_c(4, 9.0)) == 1.0
    assert np.isinf(theory.mmc_mean_wait_s(4, 4.0, 1.0))
    assert np.isinf(theory.mmc_mean_sojourn_s(2, 3.0, 1.0))
    assert float(theory.mmc_wait_exceed_probability(2, 3.0, 1.0, 5.0)) == 1.0
    assert np.isinf(theory.mmc_wait_quantile_s(2, 3.0, 1.0, 0.5))
    assert np.isinf(theory.mg1_mean_wait_s(1.0, 1.0, 0.5))
    assert np.isinf(theory.mm1_ps_mean_sojourn_s(2.0, 1.0))
    assert np.isnan(theory.erlang_b(-1, 1.0))
    assert np.isnan(theory.erlang_c(3, -1.0))
    assert np.isnan(theory.mmc_mean_wait_s(3, 1.0, 0.0))
    assert np.isnan(theory.mmc_wait_quantile_s(3, 1.0, 1.0, 1.5))
    assert np.isnan(theory.mg1_mean_wait_s(0.5, 1.0, -0.1))
    with pytest.raises(ValueError):
        theory.erlang_b(2.5, 1.0)
    # a bad element poisons only itself
    out = theory.erlang_c(np.array([2, -1, 2]), np.array([1.0, 1.0, 1.0]))
    assert np.isnan(out[1]) and out[0] == pytest.approx(1 / 3)
