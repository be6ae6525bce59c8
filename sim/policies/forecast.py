"""Predictive autoscaling: load forecasters and the "forecast and scale" rule.

A forecaster observes a request-rate series sampled every ``step_s`` seconds
and predicts the rate ``horizon_s`` ahead of its last sample. The predictive
replica count is ``ceil(forecast / capacity per pod)``, clamped, and it is
combined with the reactive autoscaler's count by ``max``: predictions only
ever *raise* capacity, they never scale in.

Pure functions and two small state machines; no clock of their own (times
are seconds on the simulation clock, passed in).

Systems imitated:

* AWS EC2 Auto Scaling predictive scaling (``PredictiveScalingConfiguration``
  in the EC2 Auto Scaling API; Application Auto Scaling docs): needs >= 24 h
  of history, forecasts hourly for 48 h, refreshed every 6 h; mode
  ``ForecastOnly`` (default) or ``ForecastAndScale``; capacity for hour ``h``
  is launched ``SchedulingBufferTime`` (default 300 s) before ``h``; the
  forecast never scales in -- the group's capacity is the larger of the
  forecast capacity and what dynamic (reactive) scaling asks. That "larger
  of" is :func:`combine`.
* Google Compute Engine MIG predictive autoscaling
  (compute/docs/autoscaler/predictive-autoscaling, ``OPTIMIZE_AVAILABILITY``):
  CPU only, >= 3 days of history, daily and weekly seasonality; scales out
  ahead by the initialization period so that capacity covers the larger of
  the current and the forecast load -- again a ``max``.

Neither provider publishes its forecasting model; the sim substitutes two
textbook forecasters:

* :class:`SeasonalNaive` -- ``y^(t+h) = y(t + h - m*ceil(h/m))``: the value
  one period (or as many whole periods as needed) before the target time.
* :class:`HoltWinters` -- additive Holt-Winters, the recurrences of Hyndman &
  Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.), section
  8.3 (otexts.com/fpp3/holt-winters.html).

Sim model (semantics-next.md section 6): horizon ``H`` = pod startup time
(+ buffer); ``pred = ceil(L^(t+H) / podCapacityAtTarget)``;
``desired = clamp(max(reactive, pred), min, max)``.

Worked example -- seasonal naive over a day (``period_s`` 86400, ``step_s``
300): yesterday 09:00 had 1000 rps; at 08:55 with a 300 s horizon the
forecast is 1000 rps, so at 100 rps per pod the predictive count is
``ceil(1000 / 100) = 10`` while the reactive count is still 1 ->
``combine(1, 10) = 10``. A forecast of 300 rps (3 pods) against a reactive
5 gives 5.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

_REL_EPS = 1e-9  # relative slack: a time within this many steps of a grid point is on it


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _rate(rate: float) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)) \
            or not math.isfinite(rate) or rate < 0:
        raise ValueError(f"rate must be a finite number >= 0, got {rate!r}")
    return float(rate)


def _int_at_least(name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


def season_length(period_s: float, step_s: float) -> int:
    """``m = period_s / step_s``, the number of samples in one season; the
    period must be a whole number (>= 1) of steps."""
    ratio = _positive("period_s", period_s) / _positive("step_s", step_s)
    m = round(ratio)
    if m < 1 or abs(ratio - m) > _REL_EPS * max(1.0, ratio):
        raise ValueError(f"period_s={period_s} must be a whole multiple of step_s={step_s}")
    return m


def sample_index(t_s: float, step_s: float) -> int:
    """The grid index ``k`` of a sample time ``t_s = k * step_s``; raises if
    ``t_s`` is not on the grid (within a relative slack of 1e-9 steps)."""
    if isinstance(t_s, bool) or not isinstance(t_s, (int, float)) or not math.isfinite(t_s):
        raise ValueError(f"t_s must be a finite number, got {t_s!r}")
    ratio = t_s / step_s
    k = round(ratio)
    if abs(ratio - k) > _REL_EPS * max(1.0, abs(ratio)):
        raise ValueError(f"t_s={t_s} is not a multiple of step_s={step_s}")
    return int(k)


def horizon_steps(horizon_s: float, step_s: float) -> int:
    """Horizon in samples: ``ceil(horizon_s / step_s)`` (1e-9 slack), i.e. the
    forecast is for the first sample time at or after ``last + horizon_s``.
    ``horizon_s`` must be >= 0."""
    if isinstance(horizon_s, bool) or not isinstance(horizon_s, (int, float)) \
            or not math.isfinite(horizon_s) or horizon_s < 0:
        raise ValueError(f"horizon_s must be a finite number >= 0, got {horizon_s!r}")
    return max(0, math.ceil(horizon_s / step_s - _REL_EPS))


class SeasonalNaive:
    """Seasonal naive forecaster: the forecast for ``t + h`` is the observation
    at ``t + h - m*ceil(h/m)`` (``m`` = samples per period), i.e. one period
    before the target for ``h <= m``, as many whole periods as needed beyond.
    ``h = 0`` gives the last observation itself.

    Keeps only the last ``m`` samples (one slot per phase, tagged with its
    grid index). :meth:`forecast` returns None while the sample it needs has
    not been observed -- before one full period has been seen, or across a
    gap in the series (missing samples are allowed; they are not filled).

    Invariants: observed grid indices strictly increase; forecasts >= 0.
    """

    __slots__ = ("period_s", "step_s", "m", "_values", "_index", "_filled", "_last_k")

    def __init__(self, period_s: float, step_s: float):
        self.m = season_length(period_s, step_s)
        self.period_s = float(period_s)
        self.step_s = float(step_s)
        self._values = np.zeros(self.m)
        self._index = np.zeros(self.m, dtype=np.int64)  # grid index held by each phase slot
        self._filled = np.zeros(self.m, dtype=bool)
        self._last_k: Optional[int] = None

    @property
    def last_t_s(self) -> Optional[float]:
        """Time of the last observed sample, None before any."""
        return None if self._last_k is None else self._last_k * self.step_s

    def observe(self, t_s: float, rate: float) -> None:
        """Record ``rate`` (requests per second, >= 0) at sample time ``t_s``
        (a multiple of ``step_s``, later than the previous sample)."""
        k = sample_index(t_s, self.step_s)
        value = _rate(rate)
        if self._last_k is not None and k <= self._last_k:
            raise ValueError(f"t_s={t_s} is not after the last sample "
                             f"at {self._last_k * self.step_s}")
        slot = k % self.m
        self._values[slot] = value
        self._index[slot] = k
        self._filled[slot] = True
        self._last_k = k

    def forecast(self, horizon_s: float) -> Optional[float]:
        """Forecast rate at ``last_t_s + horizon_s`` (rounded up to the grid,
        see :func:`horizon_steps`), or None if the sample it copies is unknown."""
        h = horizon_steps(horizon_s, self.step_s)
        if self._last_k is None:
            return None
        source = self._last_k + h - self.m * math.ceil(h / self.m)
        slot = source % self.m
        if not self._filled[slot] or self._index[slot] != source:
            return None
        return max(0.0, float(self._values[slot]))


class HoltWinters:
    """Additive Holt-Winters (fpp3 section 8.3), ``m`` = ``period_s / step_s``::

        l_t = a (y_t - s_{t-m}) + (1 - a)(l_{t-1} + b_{t-1})
        b_t = B (l_t - l_{t-1}) + (1 - B) b_{t-1}
        s_t = g (y_t - l_{t-1} - b_{t-1}) + (1 - g) s_{t-m}
        y^_{t+h|t} = l_t + h b_t + s_{t+h-m(k+1)},   k = floor((h - 1) / m)

    ``h = 0`` gives ``l_t + s_t``. Forecasts are clamped at 0.

    Initialization (``init_seasons``; the state then refers to the last
    initialization sample, and the recurrences run from the next sample on):

    * ``2`` (default), from the first two seasons ``y_0..y_{2m-1}`` with means
      ``M1``, ``M2``: ``b = (M2 - M1) / m``;
      ``s_i = mean over j in {0, 1} of (y_{jm+i} - M_{j+1} - b (i - (m-1)/2))``
      (each season de-meaned and de-trended about its centre; the ``s_i`` sum
      to 0); ``l = M2 + b (m-1)/2``, the trend line at the last sample. A
      pure linear series ``y = c0 + c1 t`` gets ``b = c1``, ``s = 0``,
      ``l = y_{2m-1}`` exactly, and is then extrapolated exactly for any
      parameters. (The classical decomposition start of Holt-Winters, cf.
      Hyndman et al. 2008, *Forecasting with Exponential Smoothing*, 2.6.1,
      simplified to two seasons.)
    * ``1``, from the first season: ``l = M1``, ``b = 0``, ``s_i = y_i - l``.
      Available one period earlier, but a trend inside the first season is
      read as seasonality and the trend must be learnt (``beta > 0``).

    :meth:`forecast` returns None until initialized. The series must be
    unbroken: a sample that skips a grid step raises ``ValueError`` (fill
    gaps before observing).

    Invariants: ``0 <= alpha, beta, gamma <= 1``; with ``alpha = beta = gamma
    = 0`` the state never changes after initialization, so forecasts repeat
    the initial ``l + h b + s`` pattern.
    """

    __slots__ = ("period_s", "step_s", "m", "alpha", "beta", "gamma", "init_seasons",
                 "level", "trend", "_seasonal", "_warmup", "_first_k", "_last_k")

    def __init__(self, period_s: float, step_s: float, alpha: float, beta: float,
                 gamma: float, init_seasons: int = 2):
        self.m = season_length(period_s, step_s)
        self.period_s = float(period_s)
        self.step_s = float(step_s)
        self.alpha = _fraction("alpha", alpha)
        self.beta = _fraction("beta", beta)
        self.gamma = _fraction("gamma", gamma)
        if init_seasons not in (1, 2) or isinstance(init_seasons, bool):
            raise ValueError(f"init_seasons must be 1 or 2, got {init_seasons!r}")
        self.init_seasons = init_seasons
        self.level: Optional[float] = None
        self.trend: Optional[float] = None
        self._seasonal = np.zeros(self.m)  # s for the latest sample of each phase (index % m)
        self._warmup: list[float] = []
        self._first_k: Optional[int] = None
        self._last_k: Optional[int] = None

    @property
    def initialized(self) -> bool:
        """Whether the warm-up seasons have been observed (forecasts available)."""
        return self.level is not None

    @property
    def last_t_s(self) -> Optional[float]:
        """Time of the last observed sample, None before any."""
        return None if self._last_k is None else self._last_k * self.step_s

    def seasonal(self) -> Optional[np.ndarray]:
        """Copy of the seasonal components of the last ``m`` samples, oldest
        first (``s_{t-m+1} .. s_t``); None before initialization."""
        if not self.initialized:
            return None
        return np.array([self._seasonal[(self._last_k - self.m + 1 + i) % self.m]
                         for i in range(self.m)])

    def observe(self, t_s: float, rate: float) -> None:
        """Record ``rate`` (>= 0) at ``t_s``, exactly one step after the previous
        sample (the first sample may be at any grid time)."""
        k = sample_index(t_s, self.step_s)
        y = _rate(rate)
        if self._last_k is not None and k != self._last_k + 1:
            raise ValueError(f"t_s={t_s}: Holt-Winters needs consecutive samples, expected "
                             f"t_s={(self._last_k + 1) * self.step_s}")
        if self._first_k is None:
            self._first_k = k
        self._last_k = k
        if not self.initialized:
            self._warmup.append(y)
            if len(self._warmup) == self.init_seasons * self.m:
                self._initialize()
            return
        self._update(k, y)

    def _initialize(self) -> None:
        m, y = self.m, np.asarray(self._warmup)
        if self.init_seasons == 1:
            level, trend = float(y.mean()), 0.0
            season = y - level
        else:
            means = y.reshape(2, m).mean(axis=1)
            trend = float(means[1] - means[0]) / m
            offsets = trend * (np.arange(m) - (m - 1) / 2.0)
            season = ((y.reshape(2, m) - means[:, None]) - offsets).mean(axis=0)
            level = float(means[1]) + trend * (m - 1) / 2.0
        for i in range(m):
            self._seasonal[(self._first_k + i) % m] = season[i]
        self.level, self.trend = level, trend
        self._warmup = []

    def _update(self, k: int, y: float) -> None:
        slot = k % self.m
        s_prev = float(self._seasonal[slot])  # s_{t-m}
        l_prev, b_prev = self.level, self.trend
        a, b, g = self.alpha, self.beta, self.gamma
        level = a * (y - s_prev) + (1 - a) * (l_prev + b_prev)
        self.trend = b * (level - l_prev) + (1 - b) * b_prev
        self._seasonal[slot] = g * (y - l_prev - b_prev) + (1 - g) * s_prev
        self.level = level

    def forecast(self, horizon_s: float) -> Optional[float]:
        """``max(0, l + h b + s_{t+h-m(k+1)})`` with ``h`` from
        :func:`horizon_steps`; None until initialized."""
        h = horizon_steps(horizon_s, self.step_s)
        if not self.initialized:
            return None
        # t + h - m(k+1), k = floor((h-1)/m), has the phase of t + h and lies in (t-m, t].
        s = float(self._seasonal[(self._last_k + h) % self.m])
        return max(0.0, self.level + h * self.trend + s)


def predictive_replicas(forecast_rate: Optional[float], capacity_per_pod_rps: float,
                        min_replicas: int, max_replicas: int) -> Optional[int]:
    """``clamp(ceil(forecast_rate / capacity_per_pod_rps), min, max)``; None
    when there is no forecast yet (AWS: < 24 h of history; here the
    forecaster's warm-up). The ceiling has a 1e-9 relative slack so float
    noise (``1.1 / 0.1 = 11.000000000000002``) does not add a pod.
    ``capacity_per_pod_rps`` is the rate one pod serves *at the target
    utilization* (e.g. HPA target x pod capacity), like AWS's target value.
    """
    cap = _positive("capacity_per_pod_rps", capacity_per_pod_rps)
    low = _int_at_least("min_replicas", min_replicas, 0)
    high = _int_at_least("max_replicas", max_replicas, 0)
    if low > high:
        raise ValueError(f"min_replicas={min_replicas} must not exceed max_replicas={max_replicas}")
    if forecast_rate is None:
        return None
    rate = _rate(forecast_rate)
    need = math.ceil(rate / cap * (1 - _REL_EPS))
    return min(max(need, low), high)


def combine(reactive: int, predictive: Optional[int]) -> int:
    """Desired replicas under "forecast and scale": ``max(reactive,
    predictive)``, or ``reactive`` without a forecast. Predictions only raise
    capacity and never scale in, as in AWS predictive scaling
    (``ForecastAndScale``: capacity is the larger of forecast and dynamic
    scaling) and GCP MIG predictive autoscaling (covers the larger of current
    and forecast load). Both inputs are assumed already clamped to the same
    ``[min, max]``, so the result is too. Invariant: ``combine(r, p) >= r``.
    """
    _int_at_least("reactive", reactive, 0)
    if predictive is None:
        return reactive
    return max(reactive, _int_at_least("predictive", predictive, 0))
