"""Analytic queueing formulas: the ground truth the simulator is tested against.

Every function is numpy-vectorized: arguments broadcast against each other
(``servers`` an int array, loads and rates float arrays), so a whole
experiment design can get an analytic column in one call. A scalar input gives
a 0-d result that behaves as a float (``float(erlang_c(8, 6.4))``).

Conventions (all functions):

- ``offered_load`` ``a = arrival_rate * mean_service_s`` in Erlangs; ``servers``
  ``c`` is a whole number >= 0 (a non-integral value raises ``ValueError``).
- *Unstable* inputs (``a >= c`` for a queue with waiting room, ``rho >= 1``
  for single-server formulas) give the limit of the stable formula as the load
  approaches capacity: the probability of waiting is 1, mean waits and
  sojourns are ``inf``, tail probabilities are 1 and quantiles ``inf``. A
  steady state does not exist there: the queue grows without bound, so every
  arrival eventually waits and waits arbitrarily long.
- *Invalid* inputs (negative rates or loads, non-positive mean service time,
  negative servers, ``q`` outside [0, 1], NaN) give NaN in that element rather
  than raising, so one bad row of a design does not sink the whole column.

Sources: A. K. Erlang (1909, 1917); L. Kleinrock, *Queueing Systems Vol. 1*
(1975), sections 3.5-3.7 (M/M/m, M/M/m/m), 4.5 and 5.6 (M/G/1,
Pollaczek-Khinchine), 4.8 of Vol. 2 (processor sharing); D. Gross, J. Shortle,
J. Thompson, C. Harris, *Fundamentals of Queueing Theory*, 4th ed. (2008),
sections 2.3 (M/M/c and its waiting-time distribution), 2.5 (M/M/c/c), 5.1
(M/G/1); M. Harchol-Balter, *Performance Modeling and Design of Computer
Systems* (2013), chapters 14 (M/M/k), 22 (PS), 23 (M/G/1); J. D. C. Little,
"A proof for the queuing formula L = lambda W", Oper. Res. 9 (1961).
"""
from __future__ import annotations

import numpy as np

__all__ = ["erlang_b", "erlang_c", "littles_law_l", "mg1_mean_wait_s", "mm1_ps_mean_sojourn_s",
           "mmc_mean_sojourn_s", "mmc_mean_wait_s", "mmc_wait_exceed_probability",
           "mmc_wait_quantile_s"]


def _result(x: np.ndarray):
    """A 0-d array becomes a numpy float scalar; arrays stay arrays."""
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


def _servers(servers) -> np.ndarray:
    """Servers as a float array of whole numbers (NaN stays NaN, negative -> NaN)."""
    c = np.asarray(servers, dtype=float)
    finite = np.isfinite(c)
    if np.any(finite & (c != np.round(c))):
        raise ValueError(f"servers must be whole numbers (got {servers!r})")
    return np.where(c >= 0, c, np.nan)


def _nonneg(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, x, np.nan)


def _positive(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, np.nan)


def erlang_b(servers, offered_load):
    """Erlang B: blocking probability of the M/M/c/c loss system (= M/G/c/c).

    ``B(c, a) = (a^c / c!) / sum_{k=0..c} a^k / k!``, computed by the stable
    recursion ``B(0, a) = 1``, ``B(k, a) = a B(k-1, a) / (k + a B(k-1, a))``
    (every term stays in [0, 1]: no factorials, no overflow even for
    thousands of servers). By insensitivity it holds for any service
    distribution with the given mean. Kleinrock (1975) eq. 3.46; Gross et al.
    (2008) eq. 2.53 and its recursion.

    >>> float(erlang_b(1, 1.0)), round(float(erlang_b(10, 5.0)), 6)
    (0.5, 0.018385)
    """
    c, a = np.broadcast_arrays(_servers(servers), _nonneg(offered_load))
    b = np.ones(c.shape)
    top = int(np.nanmax(c)) if np.any(np.isfinite(c)) else 0
    for k in range(1, top + 1):
        step = a * b / (k + a * b)
        b = np.where(k <= c, step, b)
    return _result(np.where(np.isnan(c) | np.isnan(a), np.nan, b))


def erlang_c(servers, offered_load):
    """Erlang C: probability that an arrival waits in the M/M/c queue.

    ``C(c, a) = B / (1 - (a / c) (1 - B))`` with ``B = erlang_b(c, a)``, for
    ``a < c`` (Gross et al. 2008 eq. 2.37 rewritten through Erlang B; Kleinrock
    1975 eq. 3.40). For ``a >= c`` the queue is unstable and the result is 1.0
    (the limit as ``a -> c``; every arrival eventually finds all servers busy);
    ``c = 0`` gives 1.0 for any load. ``c = 1`` reduces to ``rho = a``.

    >>> round(float(erlang_c(2, 1.0)), 12)      # M/M/2 at rho=1/2: 2 rho^2 / (1 + rho)
    0.333333333333
    """
    c, a = np.broadcast_arrays(_servers(servers), _nonneg(offered_load))
    b = np.asarray(erlang_b(c, a), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stable = b / (1.0 - (a / c) * (1.0 - b))
    out = np.where(a < c, stable, 1.0)
    return _result(np.where(np.isnan(c) | np.isnan(a), np.nan, out))


def _mmc(servers, arrival_rate, mean_service_s):
    c = _servers(servers)
    lam, s = _nonneg(arrival_rate), _positive(mean_service_s)
    c, lam, s = np.broadcast_arrays(c, lam, s)
    a = lam * s
    return c, lam, s, a, np.asarray(erlang_c(c, a), dtype=float)


def mmc_mean_wait_s(servers, arrival_rate, mean_service_s):
    """Mean time in queue (before service) of the M/M/c queue, FCFS.

    ``Wq = C(c, a) / (c mu - lambda) = C(c, a) * s / (c - a)`` with
    ``s = 1 / mu`` and ``a = lambda s`` (Gross et al. 2008 eq. 2.39;
    Kleinrock 1975 eq. 3.43). ``inf`` when ``a >= c``. ``c = 1`` gives the
    M/M/1 ``rho s / (1 - rho)``.
    """
    c, lam, s, a, C = _mmc(servers, arrival_rate, mean_service_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = C * s / (c - a)
    out = np.where(a < c, w, np.inf)
    return _result(np.where(np.isnan(C) | np.isnan(s), np.nan, out))


def mmc_mean_sojourn_s(servers, arrival_rate, mean_service_s):
    """Mean time in system (queue + service) of the M/M/c queue: ``W = Wq + s``.

    ``inf`` when ``a >= c``. ``c = 1``: ``1 / (mu - lambda)``.
    """
    s = _positive(mean_service_s)
    return _result(np.asarray(mmc_mean_wait_s(servers, arrival_rate, mean_service_s)) + s)


def mmc_wait_exceed_probability(servers, arrival_rate, mean_service_s, t_s):
    """``P(Wq > t)`` of the M/M/c queue, FCFS: ``C(c, a) exp(-(c mu - lambda) t)``.

    The conditional wait of those who wait is exponential with rate
    ``c mu - lambda`` (Gross et al. 2008 eq. 2.42; Kleinrock 1975 eq. 3.45).
    For ``t < 0`` it is 1; for ``a >= c`` it is 1 for every ``t``.
    """
    c, lam, s, a, C = _mmc(servers, arrival_rate, mean_service_s)
    t = np.asarray(t_s, dtype=float)
    c, s, a, C, t = np.broadcast_arrays(c, s, a, C, t)
    with np.errstate(invalid="ignore", over="ignore"):
        tail = C * np.exp(-(c - a) / s * np.maximum(t, 0.0))
    out = np.where(t < 0, 1.0, np.where(a < c, tail, 1.0))
    return _result(np.where(np.isnan(C) | np.isnan(s) | np.isnan(t), np.nan, out))


def mmc_wait_quantile_s(servers, arrival_rate, mean_service_s, q):
    """The ``q`` quantile of the M/M/c queueing delay (FCFS).

    Inverting ``P(Wq <= x) = 1 - C exp(-theta x)``, ``theta = (c - a) / s``:
    ``x_q = 0`` if ``q <= 1 - C`` (the atom at zero: those who do not wait),
    else ``ln(C / (1 - q)) / theta``. ``q = 1`` or ``a >= c`` give ``inf``;
    ``q`` outside [0, 1] gives NaN.
    """
    c, lam, s, a, C = _mmc(servers, arrival_rate, mean_service_s)
    q = np.asarray(q, dtype=float)
    c, s, a, C, q = np.broadcast_arrays(c, s, a, C, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = (c - a) / s
        x = np.log(C / (1.0 - q)) / theta
    x = np.where(q <= 1.0 - C, 0.0, x)
    out = np.where((a < c) & (q < 1.0), x, np.inf)
    bad = np.isnan(C) | np.isnan(s) | np.isnan(q) | (q < 0) | (q > 1)
    return _result(np.where(bad, np.nan, out))


def mg1_mean_wait_s(arrival_rate, mean_service_s, scv):
    """Mean time in queue of the M/G/1 queue, FCFS (Pollaczek-Khinchine).

    ``Wq = lambda E[S^2] / (2 (1 - rho)) = rho s (1 + scv) / (2 (1 - rho))``
    with ``rho = lambda s`` and ``scv = Var[S] / s^2`` the squared
    coefficient of variation of the service time (Kleinrock 1975 eq. 5.105;
    Gross et al. 2008 eq. 5.9). ``scv = 1`` is M/M/1, ``scv = 0`` M/D/1
    (half the M/M/1 wait). ``inf`` when ``rho >= 1``.
    """
    lam, s, v = _nonneg(arrival_rate), _positive(mean_service_s), _nonneg(scv)
    lam, s, v = np.broadcast_arrays(lam, s, v)
    rho = lam * s
    with np.errstate(divide="ignore", invalid="ignore"):
        w = rho * s * (1.0 + v) / (2.0 * (1.0 - rho))
    out = np.where(rho < 1.0, w, np.inf)
    return _result(np.where(np.isnan(lam) | np.isnan(s) | np.isnan(v), np.nan, out))


def mm1_ps_mean_sojourn_s(arrival_rate, mean_service_s):
    """Mean sojourn time of the M/G/1 processor-sharing queue: ``1 / (mu - lambda)``.

    ``T = s / (1 - rho)``; by the insensitivity of PS it holds for any service
    distribution with mean ``s``, and a job of size ``x`` stays ``x / (1 - rho)``
    on average (Kleinrock 1976, Vol. 2 eq. 4.17; Harchol-Balter 2013 ch. 22).
    ``inf`` when ``rho >= 1``.
    """
    lam, s = np.broadcast_arrays(_nonneg(arrival_rate), _positive(mean_service_s))
    rho = lam * s
    with np.errstate(divide="ignore", invalid="ignore"):
        t = s / (1.0 - rho)
    out = np.where(rho < 1.0, t, np.inf)
    return _result(np.where(np.isnan(lam) | np.isnan(s), np.nan, out))


def littles_law_l(arrival_rate, mean_sojourn_s):
    """Little's law: mean number in the system ``L = lambda W`` (Little 1961).

    Holds for any stationary system whatever its discipline or distributions;
    over a finite window it holds up to edge terms (work in the system at the
    window's ends) that vanish relative to the window's length.
    """
    lam = _nonneg(arrival_rate)
    w = _nonneg(mean_sojourn_s)
    return _result(lam * w)
