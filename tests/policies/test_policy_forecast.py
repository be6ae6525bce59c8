"""Tests for sim.policies.forecast.

Hand-computed series (the arithmetic is in each docstring), the
semantics-page vectors of section 6 (seasonal naive at 08:55 for 09:00;
forecast 300 rps vs reactive 5), and the "predictions only raise" property.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.policies.forecast import (
    HoltWinters,
    SeasonalNaive,
    combine,
    horizon_steps,
    predictive_replicas,
    season_length,
)

SAW = [10.0, 20.0, 30.0, 40.0]  # one period of a sawtooth, step 10 s, period 40 s


def feed(model, values, step_s, start_k=0):
    for i, v in enumerate(values):
        model.observe((start_k + i) * step_s, v)
    return model


# --- grid helpers ----------------------------------------------------------------
def test_season_length_and_horizon_steps():
    assert season_length(86400, 300) == 288
    assert season_length(40, 10) == 4
    with pytest.raises(ValueError):
        season_length(45, 10)
    assert horizon_steps(0, 10) == 0
    assert horizon_steps(10, 10) == 1
    assert horizon_steps(11, 10) == 2   # rounded up to the next sample time
    assert horizon_steps(30.000000000001, 10) == 3  # float noise does not add a step
    with pytest.raises(ValueError):
        horizon_steps(-1, 10)


# --- seasonal naive --------------------------------------------------------------
def test_seasonal_naive_none_until_one_full_period():
    f = SeasonalNaive(40, 10)
    assert f.forecast(10) is None
    feed(f, SAW[:3], 10)
    # last sample t=20; t+10 = 30 copies t=-10: never observed
    assert f.forecast(10) is None
    f.observe(30, SAW[3])
    assert f.forecast(10) == 10.0


def test_seasonal_naive_on_a_sawtooth():
    """Sawtooth 10,20,30,40 repeating, m=4. After t=0..50 (values 10,20,30,40,10,20),
    last k=5. Target k+h copies k+h-4*ceil(h/4): h=0 -> k=5 (20); h=1 -> k=2 (30);
    h=2 -> k=3 (40); h=3 -> k=4 (10); h=4 -> k=5 (20); h=5 -> k=10-8=2 (30)."""
    f = feed(SeasonalNaive(40, 10), SAW + SAW[:2], 10)
    assert [f.forecast(10 * h) for h in range(6)] == [20.0, 30.0, 40.0, 10.0, 20.0, 30.0]
    assert f.forecast(15) == 40.0      # t+15 rounds up to t+20
    assert f.last_t_s == 50.0


def test_seasonal_naive_tracks_a_changed_period():
    f = feed(SeasonalNaive(40, 10), SAW + [11.0, 21.0, 31.0, 41.0], 10)
    assert [f.forecast(10 * h) for h in range(1, 5)] == [11.0, 21.0, 31.0, 41.0]


def test_seasonal_naive_gap_gives_none_for_the_missing_phase():
    f = feed(SeasonalNaive(40, 10), SAW, 10)
    f.observe(60, 30.0)  # k=4 and k=5 missing
    assert f.forecast(10) == 40.0          # k=7 copies k=3
    assert f.forecast(20) is None          # k=8 copies k=4: missing
    assert f.forecast(30) is None          # k=9 copies k=5: missing
    assert f.forecast(40) == 30.0          # k=10 copies k=6


def test_seasonal_naive_rejects_bad_samples():
    f = SeasonalNaive(40, 10)
    f.observe(10, 1.0)
    with pytest.raises(ValueError):
        f.observe(10, 1.0)     # not after the last
    with pytest.raises(ValueError):
        f.observe(25, 1.0)     # off the grid
    with pytest.raises(ValueError):
        f.observe(30, -1.0)    # negative rate
    with pytest.raises(ValueError):
        f.observe(30, float("nan"))


def test_semantics_vector_yesterday_0900():
    """Section 6 [D]: yesterday 09:00 = 1000 rps, 100 rps/pod, buffer 300 s -> 10 pods
    at 08:55 while the reactive count is 1."""
    step, day = 300, 86400
    f = SeasonalNaive(day, step)
    nine = 9 * 3600
    for k in range(day // step):           # yesterday, 00:00 .. 23:55
        f.observe(k * step, 1000.0 if k * step == nine else 50.0)
    for k in range(day // step, (day + nine - step) // step + 1):   # today up to 08:55
        f.observe(k * step, 50.0)
    assert f.last_t_s == day + nine - 300
    pred = predictive_replicas(f.forecast(300), 100.0, 1, 20)
    assert pred == 10
    assert combine(1, pred) == 10


def test_semantics_vector_forecast_below_reactive():
    """Section 6 [D]: forecast 300 rps (3 pods at 100 rps/pod), reactive 5 -> 5."""
    assert predictive_replicas(300.0, 100.0, 1, 20) == 3
    assert combine(5, predictive_replicas(300.0, 100.0, 1, 20)) == 5


@pytest.mark.parametrize("model", ["naive", "hw"])
def test_periodic_peak_is_covered_one_horizon_before_it(model):
    """Period 3600 s, step 60 s (m=60), base 100 rps with a one-sample peak of
    1000 rps at phase 30. With horizon H = 300 s (5 steps) the forecast made at
    peak - H is the peak, so predictive scaling asks ceil(1000/100) = 10 pods
    one horizon early while the reactive count (current 100 rps) is 1; one step
    earlier it still asks 1. HW with a=b=g=0 after two identical periods behaves
    the same (its forecast is the initial pattern)."""
    step, period, horizon = 60, 3600, 300
    m, peak_phase = period // step, 30
    season = [1000.0 if i == peak_phase else 100.0 for i in range(m)]
    f = SeasonalNaive(period, step) if model == "naive" else HoltWinters(period, step, 0, 0, 0)
    feed(f, season * 2, step)
    before = [2 * m + i for i in range(peak_phase - 5)]   # next period, up to phase 24
    feed(f, [100.0] * len(before), step, start_k=2 * m)
    # last sample at phase 24: the peak (phase 30) is 6 steps away
    assert f.forecast(horizon) == pytest.approx(100.0)
    f.observe((2 * m + peak_phase - 5) * step, 100.0)   # phase 25 = peak - H
    assert f.forecast(horizon) == pytest.approx(1000.0)
    pred = predictive_replicas(f.forecast(horizon), 100.0, 1, 50)
    reactive = math.ceil(100.0 / 100.0)
    assert (reactive, pred, combine(reactive, pred)) == (1, 10, 10)


# --- Holt-Winters ---------------------------------------------------------------
@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan"), True])
def test_hw_validates_parameters(bad):
    with pytest.raises(ValueError):
        HoltWinters(40, 10, bad, 0.1, 0.1)
    with pytest.raises(ValueError):
        HoltWinters(40, 10, 0.1, bad, 0.1)
    with pytest.raises(ValueError):
        HoltWinters(40, 10, 0.1, 0.1, bad)


def test_hw_accepts_the_bounds_and_rejects_bad_init():
    HoltWinters(40, 10, 0, 0, 0)
    HoltWinters(40, 10, 1, 1, 1)
    with pytest.raises(ValueError):
        HoltWinters(40, 10, 0.5, 0.5, 0.5, init_seasons=3)


def test_hw_none_until_initialized():
    hw = HoltWinters(40, 10, 0.5, 0.5, 0.5)
    feed(hw, SAW + SAW[:3], 10)
    assert hw.forecast(10) is None and not hw.initialized
    hw.observe(70, SAW[3])
    assert hw.initialized and hw.forecast(10) is not None
    hw1 = feed(HoltWinters(40, 10, 0.5, 0.5, 0.5, init_seasons=1), SAW, 10)
    assert hw1.initialized


def test_hw_requires_consecutive_samples():
    hw = feed(HoltWinters(40, 10, 0.5, 0.5, 0.5), SAW, 10)
    with pytest.raises(ValueError):
        hw.observe(50, 1.0)


@pytest.mark.parametrize("init_seasons", [1, 2])
def test_hw_zero_parameters_reproduce_the_initial_pattern_exactly(init_seasons):
    """a=b=g=0: l, b and s never move after initialization; with a flat-trend start
    (level 25, trend 0, seasonal -15,-5,5,15) every forecast is the sawtooth,
    whatever is observed afterwards."""
    hw = feed(HoltWinters(40, 10, 0, 0, 0, init_seasons=init_seasons), SAW * init_seasons, 10)
    assert (hw.level, hw.trend) == (25.0, 0.0)
    assert list(hw.seasonal()) == [-15.0, -5.0, 5.0, 15.0]
    start = 4 * init_seasons
    feed(hw, [500.0, 0.0, 7.0, 1e6, 3.0], 10, start_k=start)   # ignored by a=b=g=0
    # last k = start + 4, phase 0 (value 10) next is phase 1 (20)
    got = [hw.forecast(10 * h) for h in range(1, 9)]
    assert got == [20.0, 30.0, 40.0, 10.0, 20.0, 30.0, 40.0, 10.0]


def test_hw_two_step_hand_computed_two_season_init():
    """m=2 (period 20 s, step 10 s), a=b=g=0.5, init_seasons=2, y = 10,20,14,24, 30,33.

    Init from 10,20 | 14,24: M1=15, M2=19, b0=(19-15)/2=2;
      s_0 = mean(10-15-2(-0.5), 14-19-2(-0.5)) = mean(-4,-4) = -4; s_1 = +4;
      l0 = M2 + b0*(m-1)/2 = 19 + 1 = 20 (state at t=3). Forecast h=1: 20+2-4 = 18.
    Step y_4 = 30 (phase 0, s_{t-m} = -4):
      l = .5(30+4) + .5(20+2) = 28; b = .5(28-20) + .5*2 = 5; s_0 = .5(30-20-2) + .5(-4) = 2.
    Step y_5 = 33 (phase 1, s_{t-m} = 4):
      l = .5(33-4) + .5(28+5) = 31; b = .5(31-28) + .5*5 = 4; s_1 = .5(33-28-5) + .5*4 = 2.
    Forecasts from t=5: h=1: 31+4+s_0(2) = 37; h=2: 31+8+s_1(2) = 41; h=3: 31+12+2 = 45;
    h=0: l + s_5 = 31+2 = 33.
    """
    hw = feed(HoltWinters(20, 10, 0.5, 0.5, 0.5), [10.0, 20.0, 14.0, 24.0], 10)
    assert (hw.level, hw.trend, list(hw.seasonal())) == (20.0, 2.0, [-4.0, 4.0])
    assert hw.forecast(10) == 18.0
    hw.observe(40, 30.0)
    assert (hw.level, hw.trend, list(hw.seasonal())) == (28.0, 5.0, [4.0, 2.0])
    hw.observe(50, 33.0)
    assert (hw.level, hw.trend, list(hw.seasonal())) == (31.0, 4.0, [2.0, 2.0])
    assert [hw.forecast(h) for h in (0, 10, 20, 30)] == [33.0, 37.0, 41.0, 45.0]


def test_hw_two_step_hand_computed_one_season_init():
    """m=2, a=b=g=0.5, init_seasons=1, y = 10,20, 14,24.

    Init from 10,20: l=15, b=0, s_0=-5, s_1=5 (state at t=1).
    y_2 = 14 (s_{t-m}=-5): l = .5(19)+.5(15) = 17; b = .5(2)+0 = 1; s_0 = .5(14-15-0)+.5(-5) = -3.
    y_3 = 24 (s_{t-m}=5):  l = .5(19)+.5(18) = 18.5; b = .5(1.5)+.5(1) = 1.25;
                           s_1 = .5(24-17-1)+.5(5) = 5.5.
    Forecasts: h=1: 18.5+1.25-3 = 16.75; h=2: 18.5+2.5+5.5 = 26.5.
    """
    hw = feed(HoltWinters(20, 10, 0.5, 0.5, 0.5, init_seasons=1), [10.0, 20.0], 10)
    assert (hw.level, hw.trend, list(hw.seasonal())) == (15.0, 0.0, [-5.0, 5.0])
    feed(hw, [14.0, 24.0], 10, start_k=2)
    assert (hw.level, hw.trend, list(hw.seasonal())) == (18.5, 1.25, [-3.0, 5.5])
    assert (hw.forecast(10), hw.forecast(20)) == (16.75, 26.5)


@pytest.mark.parametrize("params", [(0.5, 0.3, 0.2), (0.1, 0.9, 0.0), (1.0, 1.0, 1.0)])
def test_hw_extrapolates_a_pure_trend_linearly(params):
    """y = 100 + 3k, m=4, two-season init: b0 = (M2-M1)/4 = 3, s = 0, l = y_7 = 121;
    every one-step error is then 0, so l stays on the line, b = 3, s = 0 and the
    h-step forecast is y_t + 3h, for any parameters."""
    hw = HoltWinters(40, 10, *params)
    ys = [100.0 + 3 * k for k in range(20)]
    feed(hw, ys, 10)
    assert hw.trend == pytest.approx(3.0)
    assert np.allclose(hw.seasonal(), 0.0, atol=1e-9)
    for h in (1, 4, 10, 50):
        assert hw.forecast(10 * h) == pytest.approx(ys[-1] + 3 * h)


def test_hw_learns_a_trend_with_beta_only_when_beta_positive():
    """One-season init reads the first season's ramp as seasonality and starts with
    b=0: with beta>0 the trend is learnt and the forecast converges to the line;
    with beta=0 and alpha<1 the level lags and the 10-step forecast stays short."""
    ys = [100.0 + 3 * k for k in range(400)]
    learnt = feed(HoltWinters(40, 10, 0.5, 0.3, 0.1, init_seasons=1), ys, 10)
    assert learnt.trend == pytest.approx(3.0, rel=1e-3)
    assert learnt.forecast(100) == pytest.approx(ys[-1] + 30.0, rel=1e-3)
    flat = feed(HoltWinters(40, 10, 0.5, 0.0, 0.1, init_seasons=1), ys, 10)
    assert flat.trend == 0.0
    assert flat.forecast(100) < ys[-1]


def test_hw_forecast_is_never_negative():
    ys = [1000.0 - 100 * k for k in range(8)]        # falling to 300
    hw = feed(HoltWinters(40, 10, 0.5, 0.5, 0.5), ys, 10)
    assert hw.trend == pytest.approx(-100.0)
    assert hw.forecast(10) == pytest.approx(200.0)
    assert hw.forecast(100) == 0.0                    # 300 - 1000 clamped


# --- predictive replicas and combine -------------------------------------------
def test_predictive_replicas_ceil_and_clamp():
    assert predictive_replicas(None, 100.0, 1, 10) is None
    assert predictive_replicas(0.0, 100.0, 0, 10) == 0
    assert predictive_replicas(0.0, 100.0, 2, 10) == 2
    assert predictive_replicas(101.0, 100.0, 1, 10) == 2
    assert predictive_replicas(1.1, 0.1, 1, 100) == 11   # not 12 from float noise
    assert predictive_replicas(5000.0, 100.0, 1, 10) == 10
    with pytest.raises(ValueError):
        predictive_replicas(1.0, 0.0, 1, 10)
    with pytest.raises(ValueError):
        predictive_replicas(1.0, 1.0, 5, 4)
    with pytest.raises(ValueError):
        predictive_replicas(-1.0, 1.0, 1, 4)


def test_combine_without_forecast_is_reactive():
    assert combine(3, None) == 3
    with pytest.raises(ValueError):
        combine(-1, 2)


@given(st.integers(0, 10_000), st.one_of(st.none(), st.integers(0, 10_000)))
def test_combine_never_goes_below_reactive(reactive, predictive):
    out = combine(reactive, predictive)
    assert out >= reactive
    assert out == (reactive if predictive is None else max(reactive, predictive))


@given(st.floats(0, 1e7, allow_nan=False), st.floats(1e-3, 1e4),
       st.integers(0, 50), st.integers(0, 50))
def test_predictive_replicas_stays_within_bounds(rate, cap, a, b):
    low, high = min(a, b), max(a, b)
    n = predictive_replicas(rate, cap, low, high)
    assert low <= n <= high
    if low < n < high:
        assert (n - 1) * cap < rate <= n * cap * (1 + 1e-9)
