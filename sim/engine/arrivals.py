"""Open-loop arrival times by time transformation.

Arrivals of a (possibly time-varying) rate function ``lambda(t)`` are
``t_k = Lambda^{-1}(S_k)`` where ``Lambda`` is the cumulative rate and ``S_k``
the points of a unit-rate process: Poisson (``S_k`` sums of Exp(1)) or
deterministic (``S_k = k``). This is exact for piecewise-constant and linear
rates, and it couples arrivals across experiment arms: the same ``S_k`` give
the same arrivals at the same rate and proportionally shifted ones otherwise.

The rate function is given by knots ``(times_s, rates)``: piecewise constant
(the rate of knot i holds until knot i+1) or linear between knots; before the
first knot the first rate holds, after the last the last rate holds.
"""
from __future__ import annotations

import itertools
from typing import Iterator

import numpy as np


def _segment_areas(times: np.ndarray, rates: np.ndarray, linear: bool) -> np.ndarray:
    widths = np.diff(times)
    heights = (rates[:-1] + rates[1:]) / 2 if linear else rates[:-1]
    return widths * heights


def _knot_cumulative(times, rates, linear) -> np.ndarray:
    """Lambda at each knot."""
    head = rates[0] * times[0]
    return np.concatenate([[head], head + np.cumsum(_segment_areas(times, rates, linear))])


def cumulative_rate(times_s, rates, linear: bool, t: np.ndarray) -> np.ndarray:
    """Lambda(t) = integral of the rate from 0 to t (vectorized over t)."""
    times, rates, t = (np.asarray(x, dtype=float) for x in (times_s, rates, t))
    knots = _knot_cumulative(times, rates, linear)
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    before = t < times[0]
    dt = t - times[i]
    if linear:
        nxt = np.minimum(i + 1, len(times) - 1)
        span = times[nxt] - times[i]
        slope = np.where(span > 0, (rates[nxt] - rates[i]) / np.where(span > 0, span, 1), 0.0)
        area = rates[i] * dt + 0.5 * slope * dt * dt
    else:
        area = rates[i] * dt
    return np.where(before, rates[0] * t, knots[i] + area)


def inverse_cumulative(times_s, rates, linear: bool, s: np.ndarray) -> np.ndarray:
    """t with Lambda(t) = s (vectorized); +inf where the rate has dried up."""
    times, rates, s = (np.asarray(x, dtype=float) for x in (times_s, rates, s))
    knots = _knot_cumulative(times, rates, linear)
    out = np.full(s.shape, np.inf)
    before = s < knots[0]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out[before] = s[before] / rates[0]
        # the segment with knots[i] < s <= knots[i+1]: an arrival exactly on a
        # knot belongs to the segment that ends there (a zero-rate gap may follow)
        i = np.clip(np.searchsorted(knots, s, side="left") - 1, 0, len(times) - 1)
        d = s - knots[i]
        rate_i = rates[i]
        if linear:
            nxt = np.minimum(i + 1, len(times) - 1)
            span = times[nxt] - times[i]
            slope = np.where((span > 0) & (i < len(times) - 1),
                             (rates[nxt] - rate_i) / np.where(span > 0, span, 1), 0.0)
            root = np.sqrt(np.maximum(rate_i * rate_i + 2 * slope * d, 0.0))
            x = np.where(rate_i + root > 0, 2 * d / (rate_i + root), np.inf)
        else:
            x = np.where(rate_i > 0, d / rate_i, np.inf)
    inside = ~before
    out[inside] = times[i[inside]] + x[inside]
    return out


def unit_points(rng: np.random.Generator, process: str, batch: int) -> Iterator[np.ndarray]:
    """Batches of the points of a unit-rate process (Poisson or deterministic)."""
    total = 0.0
    count = 0
    while True:
        if process == "deterministic":
            points = np.arange(count + 1, count + batch + 1, dtype=float)
            count += batch
        else:
            points = total + np.cumsum(-np.log1p(-rng.random(batch)))
            total = float(points[-1])
        yield points


def arrival_times(arrivals, rng: np.random.Generator, horizon_s: float,
                  batch: int = 4096) -> Iterator[float]:
    """Absolute arrival times in [0, horizon_s) of an ``Arrivals`` spec, in order."""
    stamps = arrivals.timestamps()
    if stamps is not None:
        return iter(stamps[stamps < horizon_s].tolist())
    times, rates = arrivals.rate_points()

    def batches() -> Iterator[list[float]]:
        for points in unit_points(rng, arrivals.process, batch):
            t = inverse_cumulative(times, rates, arrivals.linear, points)
            kept = t[t < horizon_s]
            yield kept.tolist()
            if len(kept) < len(t):
                return

    return itertools.chain.from_iterable(batches())
