"""The dachen accounts as the report shows them: energy sources, creditable sinks and net emissions without
the pens' feed, the feed line apart (an estimate), and credits after deductions."""

from __future__ import annotations

import pytest

from bench.bench_carbon import dachen_year_inputs
from blueranch.models.carbon.report import build_figures, render_html


@pytest.fixture(scope="module")
def dachen():
    cfg, inputs, start = dachen_year_inputs(days=12)
    end = start + 12 * 86_400_000
    latest = max(int(s.all_times_ms[-1]) for s in inputs.assets.values())
    figures, budget, period = build_figures(cfg, inputs, start, end, latest, "test", draws=500)
    return cfg, figures


def test_feed_is_apart_from_net_emissions(dachen):
    cfg, f = dachen
    s = f["site_total"]
    assert s["status"] == "measured" and s["completeness_reef"] == pytest.approx(1.0, abs=0.02)
    assert s["scope1_t_co2e"] > 0 and s["scope2_t_co2e"] > 0
    assert s["sources_t_co2e"] == pytest.approx(s["scope1_t_co2e"] + s["scope2_t_co2e"])
    assert s["net_emissions_t_co2e"] == pytest.approx(s["sources_t_co2e"] - s["sinks_t_co2e"])
    # 7,000 t of croaker a year: the feed line is large, an estimate, and not in net emissions
    assert s["feed_t_co2e"] > 2 * s["sources_t_co2e"]
    assert all(r["estimate"] for r in f["feed"]) and len(f["feed"]) == 2
    assert s["feed_lo95_t_co2e"] < s["feed_t_co2e"] < s["feed_hi95_t_co2e"]  # feed carries its uncertainty
    labels = [k for k, _ in s["attribution_net"]]
    assert not any(k.startswith("fed pens") for k in labels)
    html = render_html(f, "p.zip", "0" * 64, 1_780_000_000_000)
    assert "not in net emissions" in html and 'id="feed-t-co2e"' in html


def test_credits_after_deductions(dachen):
    _, f = dachen
    cr, s = f["credits"], f["site_total"]
    assert cr["gross_t_co2e"] == pytest.approx(s["sinks_t_co2e"])
    assert cr["uncertainty_deduction_t_co2e"] == pytest.approx(s["sinks_t_co2e"] - s["sinks_lo95_t_co2e"])
    assert cr["buffer_t_co2e"] == pytest.approx(0.1 * s["sinks_lo95_t_co2e"])
    assert cr["creditable_t_co2e"] == pytest.approx(0.9 * s["sinks_lo95_t_co2e"])
    assert cr["not_issuable"] == [] and cr["issuable_t_co2e"] == int(cr["creditable_t_co2e"])
    assert f["project"]["missing"] == [] and f["project"]["project_id"] == "BR-DACHEN-SIM-2026"


def test_feed_in_net_only_with_a_cited_method(dachen):
    cfg, _ = dachen
    cfg2 = cfg.model_copy(update={"feed_in_net_method": "a method that counts fed aquaculture (test)"})
    inputs_cfg, inputs, start = dachen_year_inputs(days=3)
    end = start + 3 * 86_400_000
    latest = max(int(s.all_times_ms[-1]) for s in inputs.assets.values())
    f, _, _ = build_figures(cfg2, inputs, start, end, latest, "test", draws=200)
    s = f["site_total"]
    assert s["net_emissions_t_co2e"] == pytest.approx(s["sources_t_co2e"] + s["feed_t_co2e"] - s["sinks_t_co2e"])
