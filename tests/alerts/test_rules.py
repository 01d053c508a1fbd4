"""Rules as pure functions over arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueranch.models.alerts.config import StormRule
from blueranch.models.alerts.rules.biomass import harvested, load_drop
from blueranch.models.alerts.rules.devices import counter_increase, infer_interval_s
from blueranch.models.alerts.rules.forecast import fit_diel, forecast_min, theil_sen
from blueranch.models.alerts.rules.heatwave import (
    daily_means,
    day_of_year,
    history_climatology,
    monthly_climatology,
    run_above,
)
from blueranch.models.alerts.rules.mooring import haversine_m
from blueranch.models.alerts.rules.oxygen import hours_above, low_state
from blueranch.models.alerts.rules.storm import storm_level
from blueranch.testing.alerts_synthetic import DAY_MS, HOUR_MS, MIN_MS, T0_MS, diel_do


def test_low_state_hysteresis():
    assert low_state(2.9, 3.0, 0.3) == (True, False)
    assert low_state(3.1, 3.0, 0.3) == (False, False)
    assert low_state(3.3, 3.0, 0.3) == (False, True)


def test_low_message_states_the_value_against_the_limit_it_crossed():
    from blueranch.models.alerts.config import Rules
    from blueranch.models.alerts.rules.oxygen import low_message

    rule = Rules().do_low
    assert "2.85 mg/L, under the critical limit 3 mg/L" in low_message("dissolved oxygen", 2.85, rule, True, False)
    assert "4.16 mg/L, back above 3.3 mg/L" in low_message("dissolved oxygen", 4.16, rule, False, True)
    assert "not yet back above" in low_message("dissolved oxygen", 3.1, rule, False, False)


def test_hours_above_counts_time_not_readings_and_gaps_as_uncovered():
    t = np.arange(0, 24 * HOUR_MS, 10 * MIN_MS)
    v = np.where(t < 16 * HOUR_MS, 6.0, 4.0)
    above, covered = hours_above(t, v, 5.0, 0, 24 * HOUR_MS)
    assert above == pytest.approx(16.0) and covered == pytest.approx(24.0, abs=0.1)
    gap = (t < 6 * HOUR_MS) | (t > 12 * HOUR_MS)
    above, covered = hours_above(t[gap], v[gap], 5.0, 0, 24 * HOUR_MS)
    assert covered < 19
    assert hours_above(t[:1], v[:1], 5.0, 0, 24 * HOUR_MS) == (0.0, 0.0)


def test_forecast_finds_tomorrow_dawn_minimum():
    t = np.arange(T0_MS, T0_MS + 3 * DAY_MS, 10 * MIN_MS)
    v = diel_do(t, 7.0, 1.5, trend_per_day=-0.5)
    now = T0_MS + 3 * DAY_MS - 10 * MIN_MS  # 23:50
    lo, t_lo, sd = forecast_min(t, v, now, 12 * 3600)
    true_t = T0_MS + 3 * DAY_MS + 5 * HOUR_MS
    assert abs(t_lo - true_t) <= 30 * MIN_MS
    assert lo == pytest.approx(float(diel_do(np.array([T0_MS, true_t]), 7.0, 1.5, -0.5)[1]), abs=0.05)
    assert sd < 1e-6


def test_forecast_ignores_a_spike_and_never_goes_negative():
    t = np.arange(T0_MS, T0_MS + 3 * DAY_MS, 10 * MIN_MS)
    v = diel_do(t, 7.0, 1.0)
    v[-2] = 0.2  # one spike in the last hour
    lo, _, _ = forecast_min(t, v, int(t[-1]), 12 * 3600)
    assert lo > 5.5
    crash = v.copy()
    crash[-6:] = np.linspace(6.0, 1.0, 6)  # a real crash: every reading of the last hour falls
    lo, _, _ = forecast_min(t, crash, int(t[-1]), 12 * 3600)
    assert lo == 0.0


def test_theil_sen_is_robust():
    t = np.arange(10.0)
    y = 2.0 * t + 1
    y[3] = 100
    assert theil_sen(t, y) == pytest.approx((1.0, 2.0))


def test_forecast_needs_enough_readings():
    with pytest.raises(ValueError, match="at least"):
        fit_diel(np.arange(4.0), np.ones(4))


def test_heatwave_helpers():
    days = np.arange(20000, 20012)
    assert day_of_year(np.array([0]))[0] == 1  # 1970-01-01
    means = np.array([20] * 4 + [27] * 8, dtype=float)
    clim = monthly_climatology([25.0] * 12)
    assert clim.shape == (366,) and np.allclose(clim, 25.0)
    assert run_above(days, means, clim) == 8
    gap = np.delete(np.arange(12), 8)
    assert run_above(days[gap], means[gap], clim) == 3  # a missing day breaks the run
    assert run_above(days[:0], means[:0], clim) == 0
    # monthly values interpolate between mid-months
    clim2 = monthly_climatology([10, 20] + [15] * 10)
    assert 10 < clim2[30] < 20


def test_climatology_file_by_month_or_day_of_year_and_its_errors(tmp_path):
    from blueranch.models.alerts.rules.heatwave import file_climatology

    p = tmp_path / "sst.csv"
    p.write_text("# p90 by month\nmonth,p90_c\n" + "".join(f"{m},{10 + m}\n" for m in range(1, 13)))
    assert np.allclose(file_climatology(p), monthly_climatology([10.0 + m for m in range(1, 13)]))
    p.write_text("day_of_year,p90_c\n" + "".join(f"{d},{20 + d / 100}\n" for d in range(1, 366)))
    clim = file_climatology(p)
    assert len(clim) == 366 and clim[0] == 20.01 and clim[365] == clim[364]
    for text, match in (
        ("doy,p90\n1,2\n", "header"),
        ("month,p90_c\n1,x\n", ":2: expected"),
        ("month,p90_c\n1,55\n", "outside"),
        ("month,p90_c\n1,20\n3,20\n", "must run 1..12"),
    ):
        p.write_text(text)
        with pytest.raises(ValueError, match=match):
            file_climatology(p)


def test_history_climatology_is_the_seasonal_p90():
    days = np.arange(0, 3 * 365)
    seasonal = 20 + 5 * np.sin(2 * np.pi * days / 365.25)
    rng = np.random.default_rng(0)
    means = seasonal + rng.normal(0, 0.5, len(days))
    clim = history_climatology(days, means)
    doy = day_of_year(days[:365])
    assert np.nanmax(np.abs(clim[doy - 1] - (seasonal[:365] + 0.64))) < 0.6  # p90 of N(0, 0.5) ~ +0.64


def test_daily_means_drop_sparse_days():
    t = np.concatenate([np.arange(0, DAY_MS, HOUR_MS), np.arange(DAY_MS, DAY_MS + 3 * HOUR_MS, HOUR_MS)])
    days, means = daily_means(t, np.ones(len(t)))
    assert list(days) == [0]


def test_storm_levels():
    r = StormRule()
    assert storm_level(10, 1, r) == 0
    assert storm_level(17.2, 1, r) == 1 and storm_level(5, 4.0, r) == 1
    assert storm_level(24.5, 1, r) == 2 and storm_level(5, 6.5, r) == 2
    assert storm_level(float("nan"), float("nan"), r) == 0


def test_grouped_median_is_numpys_median_per_key():
    from blueranch.models.alerts.rules.biomass import grouped_median

    rng = np.random.default_rng(3)
    keys, v = rng.integers(0, 7, 200), rng.normal(0, 1, 200)
    assert np.allclose(grouped_median(keys, v), [np.median(v[keys == k]) for k in np.unique(keys)])


def test_load_drop_is_relative_to_the_line_and_knows_its_noise():
    t = np.arange(0, 50 * HOUR_MS, 10 * MIN_MS)
    for net in (0.5, 2.5, 800.0):  # a young line, September's, a heavy one: the same 25 % drop
        v = np.where(t < 47 * HOUR_MS, net, 0.75 * net)
        d = load_drop(t, v, int(t[-1]), 3, 24, 24)
        assert d.pct == pytest.approx(25.0) and d.kg == pytest.approx(0.25 * net) and d.noise_kg == 0
    with pytest.raises(ValueError, match="no readings"):
        load_drop(t[:3], v[:3], int(t[-1]), 3, 24, 24)
    with pytest.raises(ValueError, match="not above 0"):
        load_drop(t, v * 0, int(t[-1]), 3, 24, 24)
    rng = np.random.default_rng(7)
    noisy = 2.5 + rng.normal(0, 0.1, len(t))  # a steady line: noise alone is not a drop
    d = load_drop(t, noisy, int(t[-1]), 3, 24, 24)
    assert abs(d.kg) < 3 * d.noise_kg and 0.01 < d.noise_kg < 0.06  # ~1.25 x 0.1 / sqrt(18)
    assert harvested([("ml-1", 100, 200)], ("ml-1",), 150, 300)
    assert not harvested([("ml-1", 100, 200)], ("ml-2",), 150, 300)


def test_haversine_known_distance():
    # One minute of latitude is one nautical mile, 1852 m, to within the ellipsoid's variation (< 0.5 %).
    assert haversine_m(28.0, 121.0, 28.0 + 1 / 60, 121.0) == pytest.approx(1852, rel=0.005)
    assert haversine_m(28.0, 121.0, 28.0, 121.0) == 0


@settings(max_examples=50, deadline=None)
@given(st.floats(-89, 89), st.floats(-179, 179), st.floats(-89, 89), st.floats(-179, 179))
def test_haversine_is_symmetric_and_bounded(a, b, c, d):
    x = float(haversine_m(a, b, c, d))
    assert x == pytest.approx(float(haversine_m(c, d, a, b)), abs=1e-6)
    assert 0 <= x <= np.pi * 6_371_008.8 + 1


def test_counter_increase_and_reset():
    t = np.arange(0, 10 * MIN_MS, MIN_MS)
    v = np.array([5, 5, 5, 7, 7, 9, 2, 3, 3, 3], dtype=float)  # a reset at index 6
    assert counter_increase(t, v, 0) == 2 + 2 + 2 + 1
    assert counter_increase(t, v, 7 * MIN_MS) == 0
    assert counter_increase(t[:1], v[:1], 0) == 0


def test_interval_inference():
    assert infer_interval_s(np.array([0, 300_000, 600_000, 900_000]), 30) == 300
    assert infer_interval_s(np.array([0, 1]), 30) is None
    assert infer_interval_s(np.array([0, 1, 2, 3]), 30) == 30
