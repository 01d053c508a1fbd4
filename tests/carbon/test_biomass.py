"""Readings to biomass: calibration, QC, spikes vs declines, harvest vs loss, hidden growth, gaps."""

from __future__ import annotations

import numpy as np
import pytest

from blueranch.models.carbon.biomass import bin_means, build_series, in_windows, robust_noise, running_median, to_wet_t
from blueranch.models.carbon.config import Calibration, DetectionConfig, HarvestWindow
from blueranch.testing.carbon_synthetic import START_MS, make_asset

DET = DetectionConfig()
CAL = Calibration(tare_kg=20, wet_per_submerged=4, lines_per_sensor=50, source="test")
MIN = 60_000
DAY = 86_400_000


def flat(n=1000, level_kg=120.0, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    t = START_MS + np.arange(n, dtype=np.int64) * 10 * MIN
    v = np.full(n, level_kg) + rng.normal(0, noise, n)
    return t, v, np.ones(n, dtype=np.int64)


def test_calibration_of_docs_carbon_md():
    # wet_kg_line = (120 - 20) x 4 = 400 kg; asset = 400 x 50 lines = 20 t
    assert to_wet_t(np.array([120.0]), CAL)[0] == pytest.approx(20.0)


def test_spikes_and_noise_make_no_declines():
    t, v, q = flat(n=5000, noise=3.0, seed=3)  # 3 kg noise on 100 kg submerged
    v[100] += 300
    v[2000:2002] -= 90  # a two-reading dip
    v[3000] = -200
    s = build_series("a", t, v, q, CAL, DET)
    assert s.declines == []
    assert s.stock_at(t[1500])[0] == pytest.approx(20.0, rel=0.01)
    assert s.moved_between(int(t[0]), int(t[-1]) + 1) == (0.0, 0.0)


def test_sudden_drop_to_empty_is_a_harvest_and_a_partial_drop_a_loss():
    t, v, q = flat()
    v[500:] += 21.0 - 120.0  # to (near) empty
    s = build_series("a", t, v, q, CAL, DET)
    assert [d.kind for d in s.declines] == ["harvest"]
    h, lost = s.moved_between(int(t[0]), int(t[-1]) + 1)
    assert h == pytest.approx(19.8, rel=0.01) and lost == 0.0  # peak and trough carry a little noise
    # Nearly all of it lands after the step (the decline starts at the highest, noisy, level before it).
    assert s.moved_between(int(t[0]), int(t[480]))[0] < 0.01 * h
    t, v, q = flat()
    v[500:] -= 20  # 20 % of the submerged load
    s = build_series("a", t, v, q, CAL, DET)
    assert [d.kind for d in s.declines] == ["loss"]
    h, lost = s.moved_between(int(t[0]), int(t[-1]) + 1)
    assert (h, lost) == (0.0, pytest.approx(4.0, rel=0.03))


def test_gradual_harvest_in_window_with_hidden_growth():
    rng = np.random.default_rng(5)
    a = make_asset(rng, START_MS, 200, harvest_days=(120,), harvest_spread_days=30, growth_per_day=0.02, max_wet_t=200)
    # Day 120 from 1 March 2026 is 29 June.
    windows = [HarvestWindow(start="06-29", days=30)]
    s = build_series("a", a.times_ms, a.load_kg, a.qc, a.calibration, DET, windows=windows)
    assert [d.kind for d in s.declines] == ["harvest"]
    h, lost = s.moved_between(START_MS, int(a.truth_times_ms[-1]) + 1)
    truth_h = sum(x for _, x in a.harvests)
    assert h == pytest.approx(truth_h, rel=0.03)
    assert lost == pytest.approx(0.0, abs=0.02 * truth_h)
    # Without the hidden-growth estimate the harvest would be the visible decline only: clearly lower.
    assert s.declines[0].before_wet_t - s.declines[0].after_wet_t < 0.97 * truth_h


def test_decline_outside_the_window_is_a_loss():
    t, v, q = flat(n=3000)
    v[1500:] += 21.0 - 120.0
    windows = [HarvestWindow(start="12-01", days=10)]
    s = build_series("a", t, v, q, CAL, DET, windows=windows)
    assert [d.kind for d in s.declines] == ["loss"]


def test_windows_cross_the_year_and_widen_by_the_margin():
    t = np.array([START_MS - 70 * DAY, START_MS - 95 * DAY])  # 21 Dec 2025, 26 Nov 2025
    w = [HarvestWindow(start="12-20", days=20)]
    assert in_windows(t, w, 0).tolist() == [True, False]
    assert in_windows(np.array([START_MS - 60 * DAY + DAY]), w, 2).tolist() == [True]  # 1 Jan + margin


def test_qc_fail_excluded_and_suspect_configurable():
    t, v, q = flat(noise=0.0)
    v[50:56], q[50:56] = 5000.0, 4
    v[60:66], q[60:66] = 5000.0, 3
    det = DetectionConfig(median_window=1, bin_s=600)
    s = build_series("a", t, v, q, CAL, det)
    assert s.level_wet_t.max() > 100  # suspect used by default (no median filtering here)
    s = build_series("a", t, v, q, CAL, det, exclude_suspect=True)
    assert s.level_wet_t.max() == pytest.approx(20.0)
    assert s.qc_counts(0, int(t[-1]) + 1) == {1: 988, 3: 6, 4: 6}
    v[70], q[70] = np.nan, 1
    assert np.isfinite(build_series("a", t, v, q, CAL, DET).level_wet_t).all()


def test_gaps_are_reported_and_never_filled():
    t, v, q = flat(n=1000)
    keep = (t < t[100]) | (t >= t[700])  # 600 readings (100 h) missing
    s = build_series("a", t[keep], v[keep], q[keep], CAL, DetectionConfig(max_stale_s=86400))
    assert s.gaps(int(t[0]), int(t[-1]) + 1) == [(int(t[99]), int(t[700]))]
    assert np.isnan(s.stock_at(int(t[400]))[0])  # 50 h from any level: missing, not interpolated
    assert s.stock_at(int(t[110]))[0] == pytest.approx(20.0, rel=0.01)
    assert s.completeness(int(t[0]), int(t[-1]) + 10 * MIN) == pytest.approx(0.4)


def test_duplicates_and_order():
    t, v, q = flat(n=50)
    s1 = build_series("a", t, v, q, CAL, DET)
    s2 = build_series(
        "a",
        np.concatenate([t[::-1], t[:5]]),
        np.concatenate([v[::-1], v[:5]]),
        np.concatenate([q[::-1], q[:5]]),
        CAL,
        DET,
    )
    np.testing.assert_array_equal(s1.level_wet_t, s2.level_wet_t)
    with pytest.raises(ValueError, match="one shape"):
        build_series("a", t, v[:-1], q, CAL, DET)


def test_helpers():
    np.testing.assert_allclose(running_median(np.array([1.0, 1, 1, 9, 1, 1, 1]), 3), [1, 1, 1, 1, 1, 1, 1])
    assert robust_noise(np.random.default_rng(0).normal(0, 2.0, 20000)) == pytest.approx(2.0, rel=0.05)
    bt, m = bin_means(np.array([0, 10, 3600_000, 3600_010]), np.array([1.0, 3.0, 5.0, 7.0]), 3600_000)
    assert bt.tolist() == [0, 3600_000] and m.tolist() == [2.0, 6.0]


@pytest.mark.parametrize("seed", [7, 8])
def test_synthetic_year_sink_close_to_truth(seed):
    rng = np.random.default_rng(seed)
    a = make_asset(rng, START_MS, 365, harvest_days=(150, 330), loss_days=((90, 0.25),), gaps=((40, 44),))
    s = build_series("a", a.times_ms, a.load_kg, a.qc, a.calibration, DET)
    assert [d.kind for d in s.declines] == ["loss", "harvest", "harvest"]
    end = int(a.truth_times_ms[-1]) + 1
    start_est, end_est = s.stock_at([START_MS, end])
    h, _ = s.moved_between(START_MS, end)
    est = end_est - start_est + h
    truth = a.true_wet_t[-1] - a.true_wet_t[0] + sum(x for _, x in a.harvests)
    assert est == pytest.approx(truth, rel=0.02)
