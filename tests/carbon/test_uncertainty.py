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
    # Credits: the lower bound of the 95 % interval, less a 10 % buffer; the value is of what is creditable.
    assert site.creditable_t_co2e == pytest.approx(0.9 * site.sinks_lo95_t_co2e)
    assert site.uncertainty_deduction_t_co2e == pytest.approx(site.sinks_t_co2e - site.sinks_lo95_t_co2e)
    assert site.value == pytest.approx(site.creditable_t_co2e * 45.2)
    assert 0 < site.ipcc_u_sinks < 0.5
    assert site.completeness > 0.95
    assert b.total("category", "source", ytd).sinks_t_c == 0.0


# ---------------------------------------------------------------- Approach 1 with shared inputs (issue 16)
Z = 1.959964
SD = UncertaintyConfig().coefficient_rel_sd
U = {k: Z * v for k, v in SD.items()}  # 95 % half-widths as shares
M = load_coefficients()["mussel"]
K = load_coefficients()["kelp"]


def _doc(sinks, sources=(), mode="count", psi=0.7):
    return {
        "site": "s",
        "period": {"start": "2023-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        "calcification": mode,
        "psi": psi,
        "sinks": list(sinks),
        "sources": list(sources),
    }


def _mussel(i, t, rel_sd=0.0):
    return {"id": f"m{i}", "kind": "bivalve", "group": "mussel", "harvested_wet_t": t, "harvested_rel_sd": rel_sd}


def _run(doc, draws=20_000):
    from blueranch.models.carbon.compute import ComputeInput, compute

    out = compute(ComputeInput.model_validate(doc), draws=draws)
    mc = out["uncertainty"]["monte_carlo"]
    return out, out["uncertainty"]["ipcc_approach1"], mc


def _half_width_pct(interval, value):
    return 50 * (interval["hi95"] - interval["lo95"]) / value


def _u_mussel_by_hand():
    """IPCC Eq. 3.1 and 3.2 chained by hand over the mussel formula dwr x (tf x tc + sf x sc)."""
    tissue, shell = M.tissue_fraction * M.tissue_c, M.shell_fraction * M.shell_c
    u_tissue = np.hypot(U["tissue_fraction"], U["tissue_c"])  # Eq. 3.1
    u_shell = np.hypot(U["shell_fraction"], U["shell_c"])  # Eq. 3.1
    u_inner = np.hypot(u_tissue * tissue, u_shell * shell) / (tissue + shell)  # Eq. 3.2
    return np.hypot(U["dry_wet_ratio"], u_inner)  # Eq. 3.1


def test_hand_worked_approach_1_two_farms_of_one_group_share_the_coefficient():
    """600 t and 400 t of mussels: the coefficient error is shared, so the farms are summed first and the
    group's U applies to the 1000 t whole (not Eq. 3.2 over two 'independent' farms)."""
    _, a1, _ = _run(_doc([_mussel(1, 600), _mussel(2, 400)]), draws=200)
    assert a1["sinks_u_pct"] == pytest.approx(100 * _u_mussel_by_hand(), abs=1e-3)
    wrong = np.sqrt(600**2 + 400**2) / 1000 * _u_mussel_by_hand()  # the old, independent treatment
    assert a1["sinks_u_pct"] > 100 * wrong * 1.3


def test_hand_worked_approach_1_two_groups_and_reported_harvests():
    """Mussels (600 t + 400 t, harvests weighed +-2 % SD each) and 500 t of kelp: per group Eq. 3.1 of the
    coefficient and the aggregated activity (Eq. 3.2 over the independent weighings), then Eq. 3.2 over
    the independent groups."""
    out, a1, _ = _run(
        _doc(
            [
                _mussel(1, 600, 0.02),
                _mussel(2, 400, 0.02),
                {"id": "k", "kind": "macroalgae", "group": "kelp", "harvested_wet_t": 500, "harvested_rel_sd": 0.02},
            ]
        ),
        draws=200,
    )
    u_act_m = np.hypot(Z * 0.02 * 600, Z * 0.02 * 400) / 1000  # Eq. 3.2 over the two weighings
    u_m = np.hypot(_u_mussel_by_hand(), u_act_m)  # Eq. 3.1
    u_k = np.hypot(np.hypot(U["dry_wet_ratio"], U["algae_c"]), Z * 0.02)  # Eq. 3.1
    e_m, e_k = 1000 * M.t_c_per_wet_t, 500 * K.t_c_per_wet_t
    expected = np.hypot(u_m * e_m, u_k * e_k) / (e_m + e_k)  # Eq. 3.2 over the groups
    assert a1["sinks_u_pct"] == pytest.approx(100 * expected, abs=1e-3)
    shares = {a["input"]: a["share"] for a in out["uncertainty"]["attribution"]["sinks"]}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert max(shares, key=shares.get) in ("mussel shell_c", "mussel dry_wet_ratio")


def test_hand_worked_approach_1_sources_share_their_factor():
    """Two diesel meters (10,000 L and 30,000 L) share the diesel factor; a grid meter is independent."""
    sources = [
        {"id": "d1", "kind": "diesel", "litres": 10_000},
        {"id": "d2", "kind": "diesel", "litres": 30_000},
        {"id": "g", "kind": "electricity", "kwh": 100_000},
    ]
    _, a1, _ = _run(_doc([], sources), draws=200)
    d = np.array([10_000, 30_000]) * 2.68 / 1000
    g = 100_000 * 0.5306 / 1000
    u_reg = Z * 0.01
    u_d = np.hypot(Z * 0.016, np.hypot(*(u_reg * d)) / d.sum())  # Eq. 3.1: factor x summed litres (Eq. 3.2)
    u_g = np.hypot(Z * 0.05, u_reg)
    expected = np.hypot(u_d * d.sum(), u_g * g) / (d.sum() + g)  # Eq. 3.2
    assert a1["sources_u_pct"] == pytest.approx(100 * expected, abs=1e-3)


def test_hand_worked_approach_1_deduct_mode_psi_is_one_input_of_one_formula():
    """deduct: creditable = dwr x (tf tc + (1 - psi) sf sc); psi and the shell carbon are not independent."""
    _, a1, _ = _run(_doc([_mussel(1, 1000)], mode="deduct", psi=0.7), draws=200)
    tissue, shell = M.tissue_fraction * M.tissue_c, M.shell_fraction * M.shell_c
    inner = tissue + 0.3 * shell
    terms = [
        U["dry_wet_ratio"],
        tissue / inner * U["tissue_fraction"],
        tissue / inner * U["tissue_c"],
        0.3 * shell / inner * U["shell_fraction"],
        0.3 * shell / inner * U["shell_c"],
        0.7 * shell / inner * (0.1 / 0.7),  # psi: 95 % half-width 0.1
    ]
    assert a1["sinks_u_pct"] == pytest.approx(100 * np.sqrt(np.sum(np.square(terms))), abs=1e-3)


def test_approach_1_matches_the_monte_carlo_when_errors_are_small_and_normal():
    small = {k: v / 10 for k, v in SD.items()}
    unc = UncertaintyConfig(coefficient_rel_sd=small)
    coeffs = load_coefficients()
    for g in ("mussel", "kelp"):
        s = SinkSampler.create(
            [g], coeffs, "deduct", 0.7, unc.model_copy(update={"psi_half_width_95": 0.01}), 40_000, seed=2
        )
        lo, hi = interval95(s.c_draws[:, 0])
        point = coeffs[g].creditable_t_c_per_wet_t("deduct", 0.7)
        mc = (hi - lo) / 2 / point
        a1 = u_coefficient(coeffs[g], "deduct", 0.7, unc.model_copy(update={"psi_half_width_95": 0.01}))
        assert mc == pytest.approx(a1, rel=0.03), g


@pytest.mark.parametrize("mode", ["count", "deduct"])
def test_splitting_one_tonnage_into_1_10_100_farms_keeps_both_half_widths(mode):
    """1,000 t of mussels as 1, 10 or 100 farms (harvests weighed, 2 % SD each): neither half-width moves by
    more than a tenth, and Approach 1 agrees with the Monte Carlo."""
    mc, a1 = {}, {}
    for n in (1, 10, 100):
        out, u, m = _run(_doc([_mussel(i, 1000 / n, 0.02) for i in range(n)], mode=mode))
        mc[n], a1[n] = _half_width_pct(m["sinks_t_co2e"], out["sinks_t_co2e"]), u["sinks_u_pct"]
    for n in (10, 100):
        assert mc[n] == pytest.approx(mc[1], rel=0.1) and a1[n] == pytest.approx(a1[1], rel=0.1), (mc, a1)
    assert all(a1[n] == pytest.approx(mc[n], rel=0.1) for n in mc), (mc, a1)


@pytest.mark.parametrize("psi", [0.6, 0.95])
def test_deduct_point_estimate_lies_near_the_middle_of_the_monte_carlo_interval(psi):
    """The Monte Carlo draws psi around the configured value, so the point estimate is inside its own
    interval, near the middle (it used to draw 0.6-0.8 whatever was configured)."""
    out, _, m = _run(_doc([_mussel(i, 100) for i in range(10)], mode="deduct", psi=psi))
    lo, hi = m["sinks_t_co2e"]["lo95"], m["sinks_t_co2e"]["hi95"]
    assert 0.3 < (out["sinks_t_co2e"] - lo) / (hi - lo) < 0.7


def test_worker_budget_approach_1_agrees_with_the_monte_carlo(budget):
    """With calibration and load-cell noise per asset and coefficients shared per group."""
    _, b = budget
    ytd = next(p for p in b.periods if p.name == "ytd")
    site = b.total("site", "dachen", ytd)
    mc = (site.sinks_hi95_t_co2e - site.sinks_lo95_t_co2e) / 2 / site.sinks_t_co2e
    assert site.ipcc_u_sinks == pytest.approx(mc, rel=0.15)
    assert site.attribution_sinks and sum(v for _, v in site.attribution_sinks) == pytest.approx(1.0)
    assert b.total("farm", "f0", ytd).attribution_sinks is None  # attribution is the site's
