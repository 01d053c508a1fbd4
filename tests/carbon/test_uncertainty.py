"""Monte Carlo vs IPCC Approach 1, determinism, and the budget's scopes and periods."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from blueranch.models.carbon.biomass import build_series
from blueranch.models.carbon.budget import Inputs, compute_budget
from blueranch.models.carbon.coefficients import load_coefficients
from blueranch.models.carbon.config import AssetConfig, CarbonConfig, DetectionConfig, MeterConfig, UncertaintyConfig
from blueranch.models.carbon.periods import ms, periods_between
from blueranch.models.carbon.sources import MeterSeries
from blueranch.models.carbon.uncertainty import SinkSampler, interval95, u_coefficient, u_product, u_sum
from blueranch.testing.carbon_synthetic import make_asset

UNC = UncertaintyConfig()


def test_ipcc_equations():
    assert u_product(0.03, 0.04) == pytest.approx(0.05)
    # Eq 3.2: sqrt((0.1 x 100)^2 + (0.2 x 50)^2) / 150
    assert u_sum(np.array([100.0, 50.0]), np.array([0.1, 0.2])) == pytest.approx(np.sqrt(200) / 150)
    assert u_sum(np.array([0.0]), np.array([0.5])) == 0.0


@pytest.mark.parametrize("group", ["mussel", "kelp"])
def test_monte_carlo_agrees_with_approach_1_for_one_group(group):
    c = load_coefficients()[group]
    s = SinkSampler.create([group], load_coefficients(), "count", 0.7, UNC, 40_000, seed=1)
    d = s.c_draws[:, 0]
    lo, hi = interval95(d)
    u_mc = (hi - lo) / 2 / c.t_c_per_wet_t
    assert d.mean() == pytest.approx(c.t_c_per_wet_t, rel=0.01)
    assert u_mc == pytest.approx(u_coefficient(c, "count", 0.7, UNC), rel=0.1)


def test_sampler_is_seeded_and_deduct_is_lower():
    coeffs = load_coefficients()
    a = SinkSampler.create(["mussel", "kelp"], coeffs, "count", 0.7, UNC, 500, seed=5)
    b = SinkSampler.create(["mussel", "kelp"], coeffs, "count", 0.7, UNC, 500, seed=5)
    np.testing.assert_array_equal(a.c_draws, b.c_draws)
    d = SinkSampler.create(["mussel"], coeffs, "deduct", 0.7, UNC, 500, seed=5)
    assert d.c_draws.mean() < a.c_draws[:, 0].mean()
    x = a.draws_t_c(np.array([100.0, 50.0]), np.array([1.0, 1.0]))
    assert x.shape == (500, 2)


@pytest.fixture(scope="module")
def budget():
    start = ms(datetime(2026, 1, 1, tzinfo=UTC))
    rng = np.random.default_rng(11)
    assets, series = [], {}
    for i in range(4):
        kind, group = ("bivalve", "mussel") if i < 2 else ("macroalgae", "kelp")
        a = make_asset(rng, start, 70, harvest_days=(45,))
        assets.append(AssetConfig(asset=f"a{i}", farm=f"f{i % 2}", kind=kind, group=group, calibration=a.calibration))
        series[f"a{i}"] = build_series(f"a{i}", a.times_ms, a.load_kg, a.qc, a.calibration, DetectionConfig())
    cfg = CarbonConfig(
        site="dachen",
        assets=assets,
        price_per_t_co2e=45.2,
        meters=[
            MeterConfig(device="m1", quantity="diesel_l_total", factor="diesel", farm="f0", expected_interval_s=3600)
        ],
    )
    t = np.arange(start, start + 70 * 86_400_000, 3_600_000)
    inputs = Inputs(series, {"m1": MeterSeries(t, np.arange(t.size) * 10.0, np.ones(t.size, dtype=np.int64))})
    latest = int(max(s.times_ms[-1] for s in series.values()))
    periods = periods_between(start, latest)
    return cfg, compute_budget(cfg, inputs, periods, latest, draws=500)


def test_budget_periods_telescope_and_scopes_add_up(budget):
    cfg, b = budget
    ytd = next(p for p in b.periods if p.name == "ytd")
    site = b.total("site", "dachen", ytd)
    days = [t for t in b.totals if t.scope == "site" and t.period.name == "day"]
    months = [t for t in b.totals if t.scope == "site" and t.period.name == "month"]
    assert len(days) == 70 and len(months) == 3
    assert sum(t.sinks_t_c for t in days) == pytest.approx(site.sinks_t_c, rel=1e-9)
    assert sum(t.sinks_t_c for t in months) == pytest.approx(site.sinks_t_c, rel=1e-9)
    farms = [b.total("farm", f, ytd) for f in ("f0", "f1")]
    assert sum(f.sinks_t_c for f in farms) == pytest.approx(site.sinks_t_c)
    cats = [b.total("category", c, ytd) for c in ("bivalve", "macroalgae")]
    assert sum(c.sinks_t_c for c in cats) == pytest.approx(site.sinks_t_c)
    assert site.sinks_t_co2e == pytest.approx(site.sinks_t_c * 44 / 12)
    assert site.sinks_lo95_t_co2e < site.sinks_t_co2e < site.sinks_hi95_t_co2e
    # Diesel: 10 L per hour for 70 days (the first reading has no increment).
    assert site.sources_t_co2e == pytest.approx((70 * 24 - 1) * 10 * 2.68 / 1000, rel=1e-6)
    assert site.net_emissions_t_co2e == pytest.approx(site.sources_t_co2e - site.sinks_t_co2e)
    assert site.value == pytest.approx(site.sinks_t_co2e * 45.2)
    assert 0 < site.ipcc_u_sinks < 0.5
    assert site.completeness > 0.95
    assert b.total("category", "source", ytd).sinks_t_c == 0.0
