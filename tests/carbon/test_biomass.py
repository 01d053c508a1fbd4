"""Readings to biomass: calibration, QC, spikes vs steps, harvest vs loss, gaps, completeness."""

from __future__ import annotations

import numpy as np
import pytest

from models.carbon.biomass import build_series, robust_noise, running_median, to_wet_t
from models.carbon.config import Calibration, DetectionConfig
from models.carbon.synthetic import make_asset

DET = DetectionConfig()
CAL = Calibration(tare_kg=20, wet_per_submerged=4, lines_per_sensor=50, source="test")
MIN = 60_000


def flat(n=400, level_kg=120.0, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.int64) * 10 * MIN
    v = np.full(n, level_kg) + rng.normal(0, noise, n)
    return t, v, np.ones(n, dtype=np.int64)


def test_calibration_agreement_3():
    # wet_kg_line = (120 - 20) x 4 = 400 kg; asset = 400 x 50 lines = 20 t
    assert to_wet_t(np.array([120.0]), CAL)[0] == pytest.approx(20.0)


def test_spikes_are_not_events_and_do_not_move_the_level():
    t, v, q = flat(noise=0.5)
    v[100] += 300
    v[200:202] -= 90  # a two-reading dip
    s = build_series("a", t, v, q, CAL, DET)
    assert s.events == []
    assert s.stock_at(t[150])[0] == pytest.approx(20.0, rel=0.01)


def test_persistent_drop_is_a_harvest_or_a_loss():
    t, v, q = flat(noise=0.3)
    v[200:] += 21.0 - 120.0  # to (near) empty: harvest
    s = build_series("a", t, v, q, CAL, DET)
    assert [e.kind for e in s.events] == ["harvest"]
    e = s.events[0]
    assert e.time_ms == t[200]
    assert e.wet_t == pytest.approx(20.0 - 0.2, abs=0.15)
    t, v, q = flat(noise=0.3)
    v[200:] -= 20  # 20 % of the submerged load: a loss
    s = build_series("a", t, v, q, CAL, DET)
    assert [e.kind for e in s.events] == ["loss"]
    assert s.events[0].wet_t == pytest.approx(4.0, rel=0.05)
    h, lost = s.moved_between(0, int(t[-1]) + 1)
    assert (h, lost) == (0.0, pytest.approx(4.0, rel=0.05))
    assert s.moved_between(0, int(t[200])) == (0.0, 0.0)  # half-open: the event belongs to the later period


def test_noise_alone_makes_no_events():
    t, v, q = flat(n=5000, noise=3.0, seed=3)  # 3 kg noise on 100 kg submerged
    assert build_series("a", t, v, q, CAL, DET).events == []


def test_qc_fail_excluded_and_suspect_configurable():
    t, v, q = flat()
    v[50], q[50] = 5000.0, 4
    v[60], q[60] = 5000.0, 3
    s = build_series("a", t, v, q, CAL, DetectionConfig(median_window=1))
    assert s.level_wet_t.max() > 100  # suspect used by default (median window 1: no filtering)
    s = build_series("a", t, v, q, CAL, DetectionConfig(median_window=1), exclude_suspect=True)
    assert s.level_wet_t.max() == pytest.approx(20.0)
    assert s.qc_counts(0, int(t[-1]) + 1) == {1: 398, 3: 1, 4: 1}
    v[70], q[70] = np.nan, 1
    s = build_series("a", t, v, q, CAL, DET)
    assert np.isfinite(s.level_wet_t).all()


def test_gaps_are_reported_and_never_filled():
    t, v, q = flat(n=1000)
    keep = (t < 100 * 10 * MIN) | (t >= 700 * 10 * MIN)  # 600 readings (100 h) missing
    det = DetectionConfig(max_stale_s=86400)
    s = build_series("a", t[keep], v[keep], q[keep], CAL, det)
    assert s.gaps(0, int(t[-1]) + 1) == [(int(t[99]), int(t[700]))]
    mid = int(t[400])
    assert np.isnan(s.stock_at(mid)[0])  # 50 h from any reading: missing, not interpolated
    assert s.stock_at(int(t[110]))[0] == pytest.approx(20.0)  # 11 readings after the last: still fresh
    assert s.completeness(0, int(t[-1]) + 10 * MIN) == pytest.approx(0.4)


def test_duplicates_and_order():
    t, v, q = flat(n=50)
    s1 = build_series("a", t, v, q, CAL, DET)
    s2 = build_series("a", np.concatenate([t[::-1], t[:5]]), np.concatenate([v[::-1], v[:5]]),
                      np.concatenate([q[::-1], q[:5]]), CAL, DET)
    np.testing.assert_array_equal(s1.times_ms, s2.times_ms)
    with pytest.raises(ValueError, match="one shape"):
        build_series("a", t, v[:-1], q, CAL, DET)


def test_running_median_edges_and_noise_estimate():
    x = np.array([1.0, 1, 1, 9, 1, 1, 1])
    np.testing.assert_allclose(running_median(x, 3), [1, 1, 1, 1, 1, 1, 1])
    rng = np.random.default_rng(0)
    assert robust_noise(rng.normal(0, 2.0, 20000)) == pytest.approx(2.0, rel=0.05)


def test_synthetic_year_sink_close_to_truth():
    rng = np.random.default_rng(7)
    a = make_asset(rng, 0, 365, harvest_days=(150, 330), loss_days=((90, 0.25),), gaps=((40, 44),))
    s = build_series("a", a.times_ms, a.load_kg, a.qc, a.calibration, DET)
    assert [e.kind for e in s.events] == ["loss", "harvest", "harvest"]
    end = int(a.truth_times_ms[-1]) + 1
    start_est, end_est = s.stock_at([0, end])
    h, _ = s.moved_between(0, end)
    est = end_est - start_est + h
    truth = a.true_wet_t[-1] - a.true_wet_t[0] + sum(x for _, x in a.harvests)
    assert est == pytest.approx(truth, rel=0.02)
