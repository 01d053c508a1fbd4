"""Sources and reef stock by hand: meters (resets, QC, gaps), fed pens, reef fish and fouling."""

from __future__ import annotations

import numpy as np
import pytest

from blueranch.models.carbon.coefficients import load_coefficients, load_emission_factors
from blueranch.models.carbon.config import MeterConfig, PenConfig, ReefConfig
from blueranch.models.carbon.periods import Period
from blueranch.models.carbon.sources import MeterSeries, feed_rows, meter_rows, reef_stock_at

H = 3_600_000
DAY = 24 * H


def test_meter_increments_reset_qc_and_periods():
    t = np.arange(6, dtype=np.int64) * H
    v = np.array([100.0, 110.0, 9999.0, 130.0, 5.0, 15.0])  # 9999 is flagged fail; 130 -> 5 is a reset
    qc = np.array([1, 1, 4, 1, 1, 1])
    m = MeterConfig(
        device="shore-01", sensor="fuel-1", quantity="diesel_l_total", factor="diesel", expected_interval_s=3600
    )
    f = load_emission_factors()["diesel"]
    p1, p2 = Period("day", 0, 3 * H), Period("day", 3 * H, 6 * H)
    r1, r2 = meter_rows(m, MeterSeries(t, v, qc), f, [p1, p2], latest_ms=6 * H)
    assert r1.amount == pytest.approx(10.0)  # 100 -> 110 (the flagged reading is skipped)
    # 110 -> 130 lands with the 130 reading; 130 -> 5 is a reset (not use); 5 -> 15
    assert r2.amount == pytest.approx(20 + 10)
    assert r2.t_co2e == pytest.approx(30 * 2.68 / 1000)
    assert (r1.resets, r2.resets) == (0, 1) and r2.jumps == 0
    assert r1.completeness == pytest.approx(2 / 3) and r1.unit == "L" and r1.factor_kind == "diesel"


def test_pen_feed_carbon_by_hand():
    pen = PenConfig(pen="pen-01", farm="pens-1", production_wet_t_per_year=3652.5, production_source="test")
    (row,) = feed_rows(pen, [Period("day", 0, 10 * DAY)], latest_ms=10 * DAY)
    fish = 3652.5 * 10 / 365.25  # 100 t in 10 days
    assert row.production_wet_t == pytest.approx(fish) and row.estimate
    assert row.feed_t == pytest.approx(fish * 1.6)
    assert row.t_co2e == pytest.approx((fish * 1.6 * 0.43 - fish * 0.25 * 0.43) * 44 / 12)
    gross = pen.model_copy(update={"rule": "gross"})
    assert feed_rows(gross, [Period("day", 0, 10 * DAY)], 10 * DAY)[0].t_co2e == pytest.approx(
        fish * 1.6 * 0.43 * 44 / 12
    )
    # The current period counts only its elapsed part.
    assert feed_rows(pen, [Period("day", 0, 10 * DAY)], latest_ms=5 * DAY)[0].feed_t == pytest.approx(fish * 0.8)


def test_reef_stock_by_hand():
    reef = ReefConfig(
        zone="reef-zone-1",
        farm="reef-1",
        volume_m3=105_000,
        volume_source="article",
        attached_wet_t=10.0,
        attached_source="survey",
    )
    t = np.arange(24, dtype=np.int64) * H
    dens = MeterSeries(t, np.full(24, 0.002), np.ones(24, dtype=np.int64))
    length = MeterSeries(t, np.full(24, 20.0), np.ones(24, dtype=np.int64))
    wet, fish_c, att = reef_stock_at(reef, load_coefficients(), DAY, dens, length)
    w_g = 0.0192 * 20**2.917  # Xu et al. 2017
    assert wet == pytest.approx(0.002 * 105_000 * w_g / 1e6)
    assert fish_c == pytest.approx(wet * 0.25 * 0.43)
    oyster = 0.6510 * (0.0614 * 0.4598 + 0.9386 * 0.1268)
    assert att == pytest.approx(10.0 * oyster)
    wet, fish_c, _ = reef_stock_at(reef, load_coefficients(), 5 * DAY, dens, length)  # no readings that day
    assert np.isnan(wet) and np.isnan(fish_c)


def _meter(**kw) -> MeterConfig:
    return MeterConfig(
        device="shore-01",
        sensor="energy-1",
        quantity="grid_kwh_total",
        factor="grid_china_national",
        expected_interval_s=900,
        **kw,
    )


def test_replaced_meter_and_a_jump_are_not_use():
    """A meter replaced by a new one (register from 0) and a jump of a garbled register: neither is use."""
    t = np.arange(8, dtype=np.int64) * H
    v = np.array([50_000, 50_400, 50_800, 12, 400, 790, 400_000, 400_390.0])  # replaced at 3 h; jump at 6 h
    f = load_emission_factors()["grid_china_national"]
    (row,) = meter_rows(
        _meter(max_rate_per_h=1000),
        MeterSeries(t, v, np.ones(8, dtype=np.int64)),
        f,
        [Period("day", 0, DAY)],
        latest_ms=8 * H,
    )
    assert row.amount == pytest.approx(400 + 400 + 388 + 390 + 390)
    assert (row.resets, row.jumps) == (1, 1)


def test_restarted_simulator_meters_count_only_what_was_metered():
    """Two runs of the simulator's island meters, the second restarted later (its registers start again
    from the scenario's start value): the budget counts each run's own use, nothing for the restart."""
    from datetime import timedelta

    from blueranch.models.carbon.budget import Inputs, compute_budget
    from blueranch.models.carbon.config import CarbonConfig
    from blueranch.sim.engine import Reading, Simulation
    from blueranch.sim.scenario import load_scenario

    base = load_scenario("dachen")
    meters = [d for d in base.devices if d.kind in ("energy_meter", "fuel_meter")]
    runs = []
    for offset_h in (0, 30):
        sc = base.model_copy(update={"devices": meters, "days": 0.5, "start": base.start + timedelta(hours=offset_h)})
        runs.append([r for r in Simulation(sc, seed=1).run() if isinstance(r, Reading) and not r.garbled])
    cfg = CarbonConfig(
        site="dachen",
        meters=[
            MeterConfig(
                device=d.edge_device,
                sensor=d.id,
                expected_interval_s=d.interval_s,
                max_rate_per_h=5000,
                quantity="grid_kwh_total" if d.kind == "energy_meter" else "diesel_l_total",
                factor="grid_china_national" if d.kind == "energy_meter" else "diesel",
            )
            for d in meters
        ],
    )
    series, metered = {}, {}
    for m in cfg.meters:
        rs = [r for run in runs for r in run if r.device == m.sensor]
        vals = [[r.values[m.quantity] for r in run if r.device == m.sensor] for run in runs]
        metered[m.sensor] = sum(v[-1] - v[0] for v in vals)
        series[f"{m.device}.{m.sensor}"] = MeterSeries(
            np.array([r.time_s * 1000 for r in rs], dtype=np.int64),
            np.array([r.values[m.quantity] for r in rs]),
            np.ones(len(rs), dtype=np.int64),
        )
    t0 = int(base.start.timestamp() * 1000)
    latest = int(max(s.times_ms.max() for s in series.values()))
    period = Period("custom", t0 - DAY, latest + DAY)
    b = compute_budget(cfg, Inputs({}, series), [period], latest, draws=100)
    by_id = {r.id: r for r in b.sources}
    for m in cfg.meters:
        row = by_id[f"{m.device}.{m.sensor}"]
        assert row.amount == pytest.approx(metered[m.sensor], rel=1e-9), m.sensor
        assert row.resets == 1
    assert [e.kind for e in b.meter_events] == ["reset", "reset"]
    assert b.total("site", "dachen", period).meter_resets == 2
