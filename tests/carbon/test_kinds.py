"""The sink-kind table: every kind is registered and in the coefficient table, and the point estimate, the
Monte Carlo, Approach 1, the worker's budget and ``carbon compute`` all evaluate the kind's one formula."""

from __future__ import annotations

import numpy as np
import pytest

from blueranch import reference
from blueranch.models.carbon import kinds, method
from blueranch.models.carbon.biomass import build_series
from blueranch.models.carbon.budget import Inputs, compute_budget
from blueranch.models.carbon.coefficients import COEFF_FIELDS, GroupCoefficients, load_coefficients
from blueranch.models.carbon.compute import ComputeInput, compute
from blueranch.models.carbon.config import UncertaintyConfig
from blueranch.models.carbon.periods import periods_between
from blueranch.models.carbon.uncertainty import SinkSampler, u_coefficient, u_product
from blueranch.testing.carbon_synthetic import START_MS

EXACT = UncertaintyConfig(coefficient_rel_sd={}, psi_half_width_95=0.0)


def test_every_kind_module_registers_its_kind_with_rows_in_the_table():
    assert set(kinds.load_all()) == set(kinds.MODULES) == set(kinds.names())
    table_kinds = {r["kind"] for r in reference.rows("carbon_coefficients.csv")}
    assert table_kinds == set(kinds.names())
    for name in kinds.names():
        k = kinds.get(name)
        assert k.fields and set(k.fields) <= set(COEFF_FIELDS), name
        assert set(k.shell_fields) <= set(k.fields), name
    with pytest.raises(KeyError, match="known: bivalve, macroalgae"):
        kinds.get("seagrass")


def test_kinds_route_to_the_method_formulas():
    assert kinds.get("bivalve").t_c is method.bivalve_t_c
    assert kinds.get("bivalve").shell_t_c is method.bivalve_shell_t_c
    assert kinds.get("macroalgae").t_c is method.macroalgae_t_c
    assert kinds.get("macroalgae").shell_t_c is None


@pytest.mark.parametrize("mode", ["count", "deduct"])
def test_monte_carlo_without_spread_is_the_point_estimate(mode):
    coeffs = load_coefficients()
    groups = sorted(coeffs)
    s = SinkSampler.create(groups, coeffs, mode, 0.7, EXACT, 50, seed=3)
    expected = [coeffs[g].creditable_t_c_per_wet_t(mode, 0.7) for g in groups]
    np.testing.assert_allclose(s.c_draws, np.tile(expected, (50, 1)), rtol=1e-15)


def test_approach_1_follows_the_formula():
    unc = UncertaintyConfig()
    r = {f: 1.959964 * sd for f, sd in unc.coefficient_rel_sd.items()}
    kelp = load_coefficients()["kelp"]
    assert u_coefficient(kelp, "count", 0.7, unc) == pytest.approx(u_product(r["dry_wet_ratio"], r["algae_c"]))
    mussel = load_coefficients()["mussel"]
    tissue, shell = mussel.tissue_fraction * mussel.tissue_c, mussel.shell_fraction * mussel.shell_c
    inner = np.hypot(
        tissue * np.hypot(r["tissue_fraction"], r["tissue_c"]), shell * np.hypot(r["shell_fraction"], r["shell_c"])
    )
    expected = np.hypot(r["dry_wet_ratio"], inner / (tissue + shell))
    assert u_coefficient(mussel, "count", 0.7, unc) == pytest.approx(expected, rel=1e-9)


def test_a_new_kind_is_one_registration(monkeypatch):
    """A kind registered with its formula is routed through the point estimate, the Monte Carlo and Approach 1."""

    def seagrass_t_c(wet_t, dry_wet_ratio, algae_c):
        return np.asarray(wet_t) * dry_wet_ratio * algae_c * 0.5

    monkeypatch.setitem(kinds.REGISTRY, "seagrass", kinds.SinkKind("seagrass", seagrass_t_c))
    c = GroupCoefficients(kind="seagrass", group="zostera", dry_wet_ratio=0.2, algae_c=0.3)
    assert c.t_c_per_wet_t == pytest.approx(0.03) and c.shell_t_c_per_wet_t == 0.0
    assert c.creditable_t_c_per_wet_t("deduct", 0.7) == pytest.approx(0.03)
    s = SinkSampler.create(["zostera"], {"zostera": c}, "count", 0.7, EXACT, 10, seed=1)
    np.testing.assert_allclose(s.c_draws, 0.03)
    unc = UncertaintyConfig()
    assert u_coefficient(c, "count", 0.7, unc) == pytest.approx(
        u_product(1.959964 * unc.coefficient_rel_sd["dry_wet_ratio"], 1.959964 * unc.coefficient_rel_sd["algae_c"])
    )


def test_compute_and_the_budget_call_the_kinds_formula(monkeypatch, scenario):
    """Spy on the registered bivalve formula: ``carbon compute`` and the worker's budget evaluate it for the
    point estimate (scalars) and the Monte Carlo (arrays of draws)."""
    calls: list[tuple] = []
    real = kinds.get("bivalve")

    def spy(wet_t, dry_wet_ratio, tissue_fraction, tissue_c, shell_fraction, shell_c):
        calls.append(np.shape(dry_wet_ratio))
        return real.t_c(wet_t, dry_wet_ratio, tissue_fraction, tissue_c, shell_fraction, shell_c)

    monkeypatch.setitem(kinds.REGISTRY, "bivalve", kinds.SinkKind("bivalve", spy, real.shell_t_c))
    doc = {
        "site": "s",
        "period": {"start": "2023-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        "sinks": [{"id": "m", "kind": "bivalve", "group": "mussel", "harvested_wet_t": 100}],
    }
    out = compute(ComputeInput.model_validate(doc), draws=200)
    assert () in calls and (200,) in calls
    assert out["sinks_t_c"] == pytest.approx(100 * load_coefficients()["mussel"].t_c_per_wet_t, abs=1e-6)

    calls.clear()
    cfg, synth = scenario
    a = synth["m-01"]
    series = {"m-01": build_series("m-01", a.times_ms, a.load_kg, a.qc, a.calibration, cfg.detection)}
    latest = int(a.times_ms[-1])
    compute_budget(cfg, Inputs(series), periods_between(START_MS, latest, ("month",)), latest, draws=150)
    assert () in calls and (150,) in calls
