"""``blueranch carbon compute``: output against hand calculations, bad input exits 2 naming field and values."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from blueranch.models.carbon.biomass import build_series
from blueranch.models.carbon.budget import Inputs, compute_budget
from blueranch.models.carbon.cli import group
from blueranch.models.carbon.compute import ComputeInput, compute
from blueranch.models.carbon.periods import periods_between
from blueranch.testing.carbon_synthetic import START_MS

MUSSEL_C_PER_WET = 0.7528 * (0.0847 * 0.4440 + 0.9153 * 0.1176)  # carbon_coefficients.csv, mussel
MUSSEL_SHELL_C_PER_WET = 0.7528 * 0.9153 * 0.1176
KELP_C_PER_WET = 0.20 * 0.3120

DOC = {
    "site": "dachen",
    "period": {"start": "2023-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
    "calcification": "count",
    "price_per_t_co2e": 45.2,
    "sinks": [
        {
            "id": "m1",
            "kind": "bivalve",
            "group": "mussel",
            "harvested_wet_t": 2000,
            "stock_start_wet_t": 100,
            "stock_end_wet_t": 150,
        },
        {"id": "k1", "kind": "macroalgae", "group": "kelp", "harvested_wet_t": 500},
    ],
    "sources": [
        {"id": "boats", "kind": "diesel", "litres": 20000},
        {"id": "grid", "kind": "electricity", "kwh": 100000, "factor_kg_co2_per_kwh": 0.5},
    ],
}


def run(tmp_path, doc, *args):
    p = tmp_path / "in.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return CliRunner().invoke(group, ["compute", "--input", str(p), "--draws", "2000", *args])


def test_compute_matches_hand_calculation(tmp_path):
    r = run(tmp_path, DOC)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    sinks_t_c = 2050 * MUSSEL_C_PER_WET + 500 * KELP_C_PER_WET
    assert out["sinks_t_c"] == pytest.approx(sinks_t_c, abs=1e-5)
    assert out["sinks_t_co2e"] == pytest.approx(sinks_t_c * 44 / 12, abs=1e-5)
    sources = 20000 * 2.68 / 1000 + 100000 * 0.5 / 1000
    assert out["sources_t_co2e"] == pytest.approx(sources)
    assert out["net_emissions_t_co2e"] == pytest.approx(sources - sinks_t_c * 44 / 12, abs=1e-5)
    assert [i["id"] for i in out["items"]] == ["m1", "k1", "boats", "grid"]
    assert all({"id", "t_c", "t_co2e"} <= set(i) for i in out["items"])
    assert out["sinks_value"] == pytest.approx(sinks_t_c * 44 / 12 * 45.2, abs=0.01)
    mc = out["uncertainty"]["monte_carlo"]["sinks_t_co2e"]
    assert mc["lo95"] < out["sinks_t_co2e"] < mc["hi95"]
    assert 0 < out["uncertainty"]["ipcc_approach1"]["sinks_u_pct"] < 50
    assert "Sun Kang" in out["parameters"]["mussel"]["source"]


@pytest.mark.parametrize("mode", ["count", "deduct"])
def test_compute_and_the_worker_budget_agree_on_the_same_stock_changes(scenario, mode):
    """One calculator: the worker's per-asset stock changes, given to ``carbon compute`` as reported tonnages,
    give the worker's site sinks (point estimate; the intervals differ since compute has no sensor error)."""
    cfg, synth = scenario
    cfg = cfg.model_copy(update={"calcification": mode})
    series = {
        a.asset: build_series(a.asset, s.times_ms, s.load_kg, s.qc, a.calibration, cfg.detection)
        for a, s in ((a, synth[a.asset]) for a in cfg.assets)
    }
    latest = max(int(s.times_ms[-1]) for s in series.values())
    budget = compute_budget(cfg, Inputs(series), periods_between(START_MS, latest, ("ytd",)), latest, draws=200)
    (period,) = budget.periods
    rows = [r for r in budget.sinks if r.period == period]
    doc = {
        "site": cfg.site,
        "period": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
        "calcification": mode,
        "sinks": [
            {
                "id": r.asset,
                "kind": r.kind,
                "group": r.group,
                "harvested_wet_t": r.harvested_wet_t,
                "stock_start_wet_t": r.start_wet_t,
                "stock_end_wet_t": r.end_wet_t,
            }
            for r in rows
        ],
    }
    out = compute(ComputeInput.model_validate(doc), draws=200)
    site = budget.total("site", cfg.site, period)
    assert out["sinks_t_c"] == pytest.approx(site.sinks_t_c, abs=1e-5)
    assert [i["t_c"] for i in out["items"]] == pytest.approx([r.t_c for r in rows], abs=1e-6)


def test_deduct_mode(tmp_path):
    doc = {**DOC, "calcification": "deduct", "psi": 0.7, "sinks": DOC["sinks"][:1], "sources": []}
    out = json.loads(run(tmp_path, doc).output)
    assert out["sinks_t_c"] == pytest.approx(2050 * (MUSSEL_C_PER_WET - 0.7 * MUSSEL_SHELL_C_PER_WET), abs=1e-5)
    assert "sinks_value" in out and out["sources_t_co2e"] == 0


def test_no_price_no_value(tmp_path):
    doc = {k: v for k, v in DOC.items() if k != "price_per_t_co2e"}
    assert "sinks_value" not in json.loads(run(tmp_path, doc).output)


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (lambda d: d["sinks"][0].update(harvested_wet_t=-5), "sinks.0.harvested_wet_t", "greater than or equal to 0"),
        (lambda d: d["sinks"][0].update(group="seagrass"), "sinks.0", "allowed values: clam, mussel, other_bivalve"),
        (lambda d: d["sinks"][1].update(kind="fish"), "sinks.1.kind", "'bivalve' or 'macroalgae'"),
        (lambda d: d["sinks"][0].pop("harvested_wet_t"), "sinks.0.harvested_wet_t", "Field required"),
        (lambda d: d.pop("site"), "site", "Field required"),
        (lambda d: d.update(calcification="partial"), "calcification", "'count' or 'deduct'"),
        (lambda d: d["sources"][0].update(kind="gas"), "sources.0", "'diesel', 'electricity'"),
        (lambda d: d["sources"][0].update(litres="lots"), "sources.0.diesel.litres", "valid number"),
        (lambda d: d["period"].update(end="2022-01-01T00:00:00Z"), "period", "must be after start"),
        (lambda d: d["period"].update(start="2023-01-01T00:00:00"), "period.start", "UTC"),
        (lambda d: d.update(extra_field=1), "extra_field", "Extra inputs are not permitted"),
        # JSON has no Infinity: the loader refuses the literal before the schema sees it (blueranch.loader)
        (lambda d: d["sinks"][0].update(harvested_wet_t=float("inf")), "(file)", "Infinity is not a JSON number"),
    ],
)
def test_bad_input_exits_2_naming_field_and_allowed_values(tmp_path, mutate, field, words):
    doc = json.loads(json.dumps(DOC))
    mutate(doc)
    r = run(tmp_path, json.dumps(doc, allow_nan=True))
    assert r.exit_code == 2, r.output
    assert f"{field}:" in r.output and words in r.output, r.output


@pytest.mark.parametrize(
    "text, words",
    [("{not json", "not valid JSON"), ("[1, 2]", "valid dictionary"), ("\x00\xff", "a NUL byte at offset 0")],
)
def test_garbage_input(tmp_path, text, words):
    r = run(tmp_path, text)
    assert r.exit_code == 2 and words in r.output, r.output


def test_cli_entry_point(blueranch_bin, tmp_path):
    p = tmp_path / "in.json"
    p.write_text(json.dumps(DOC))
    ok = subprocess.run(
        [blueranch_bin, "carbon", "compute", "--input", str(p), "--draws", "500"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["sinks_t_co2e"] > 0
    bad = subprocess.run(
        [blueranch_bin, "carbon", "compute", "--input", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "missing.json" in bad.stderr
