"""Carbon config: the deploy file loads, every number carries a source, bad config names the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from blueranch.models.carbon.config import CarbonConfig, load_config
from blueranch.models.carbon.project import REQUIRED, ProjectConfig, missing
from blueranch.testing.carbon_truth import config_from_truth_meta

REPO = Path(__file__).resolve().parents[2]
ASSET = {
    "asset": "m-1",
    "farm": "f",
    "kind": "bivalve",
    "group": "mussel",
    "calibration": {"tare_kg": 25, "wet_per_submerged": 3, "lines_per_sensor": 2000, "source": "survey 2026"},
}


def _boundary(ring: list) -> dict:
    """A config patch with a one-farm project boundary of this ring."""
    feature = {"type": "Feature", "properties": {"farm": "f"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    return {"project": {"boundary": {"type": "FeatureCollection", "features": [feature]}}}


def test_deploy_config_for_dachen():
    cfg = load_config(REPO / "deploy/blueranch/carbon.yaml")
    assert cfg.site == "dachen" and len(cfg.assets) == 14
    assert {a.group for a in cfg.assets} == {"mussel", "kelp"}
    assert all(a.harvest_windows and a.calibration.source for a in cfg.assets)
    assert cfg.meters and cfg.reefs and cfg.pens
    assert all(m.max_rate_per_h for m in cfg.meters)
    # The project description is complete, every creditable farm inside the boundary and under a use right.
    assert missing(cfg.project, {a.farm for a in cfg.assets}) == []
    assert cfg.feed_in_net_method is None  # the pens' feed is reported apart


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"bogus": 1}, "bogus"),
        ({"assets": [{**ASSET, "group": "kelp"}]}, "assets[0].group: 'kelp' is not a bivalve group"),
        ({"assets": [{**ASSET, "calibration": {**ASSET["calibration"], "source": ""}}]}, "assets.0.calibration.source"),
        (
            {"assets": [{**ASSET, "calibration": {**ASSET["calibration"], "wet_per_submerged": 0}}]},
            "assets.0.calibration.wet_per_submerged",
        ),
        ({"assets": [ASSET, ASSET]}, "duplicate asset ids"),
        ({"assets": [{**ASSET, "asset": "m 1;drop"}]}, "assets.0.asset"),
        (
            {"assets": [{**ASSET, "harvest_windows": [{"start": "13-01", "days": 10}]}]},
            "assets.0.harvest_windows.0.start",
        ),
        ({"meters": [{"device": "d", "quantity": "diesel_l_total", "factor": "coal"}]}, "meters[0].factor: 'coal'"),
        ({"coefficient_overrides": [{"group": "mussel", "shell_c": 0.12}]}, "coefficient_overrides.0.source"),
        ({"calcification": "partial"}, "calcification"),
        ({"credits": {"uncertainty_deduction": "table"}}, "deduction_table: needed"),
        (
            {
                "credits": {
                    "uncertainty_deduction": "table",
                    "deduction_table": [{"max_half_width_pct": 10, "deduction_pct": 0}],
                }
            },
            "deduction_source: a deduction table must cite its source",
        ),
        (
            _boundary([[121.9, 28.4], [121.91, 28.4], [121.91, 28.41]]),
            "at least 4 positions",
        ),
        (
            _boundary([[121.9, 28.4], [121.91, 28.4], [121.91, 28.41], [121.9, 28.5]]),
            "must be closed",
        ),
        (
            {
                "project": {
                    "use_rights": [
                        {
                            "certificate": "c",
                            "holder": "h",
                            "farms": ["f"],
                            "area_ha": 1,
                            "valid_from": "2025-01-01",
                            "valid_to": "2024-01-01",
                        }
                    ]
                }
            },
            "must be after",
        ),
        ({"site": "da/chen"}, "site"),
    ],
)
def test_bad_config_names_the_field(patch, field):
    with pytest.raises(ValidationError) as exc:
        CarbonConfig.model_validate({"site": "dachen", **patch})
    assert field in str(exc.value).replace("\n", " ") or field in str(exc.value)


def test_missing_project_parts_are_listed():
    assert missing(None) == list(REQUIRED)
    p = ProjectConfig(
        project_id="P-1",
        proponent="coop",
        baseline="open water",
        additionality="revenue",
        method_version="HY/T 0305-2021",
    )
    assert missing(p) == ["boundary", "use_rights", "monitoring_plan"]
    full = load_config(REPO / "deploy/blueranch/carbon.yaml").project
    assert missing(full, {"mussel-1", "oyster-9"}) == ["boundary: farm oyster-9", "use_rights: farm oyster-9"]


def test_deduction_table_credits():
    from blueranch.models.carbon.config import CreditsConfig
    from blueranch.models.carbon.credits import credits

    cfg = CreditsConfig(
        uncertainty_deduction="table",
        deduction_table=[
            {"max_half_width_pct": 10, "deduction_pct": 0},
            {"max_half_width_pct": 20, "deduction_pct": 25},
        ],
        deduction_source="a method's table",
        buffer_share=0.1,
    )
    gross = np.array([100.0, 100.0, 100.0, -5.0])
    lo, hi = np.array([95.0, 85.0, 60.0, -6.0]), np.array([105.0, 115.0, 140.0, -4.0])  # 5 %, 15 %, 40 %
    c = credits(gross, lo, hi, np.array([True, True, True, True]), cfg)
    np.testing.assert_allclose(c.uncertainty_deduction_t_co2e, [0, 25, 100, 0])
    np.testing.assert_allclose(c.creditable_t_co2e, [90, 67.5, 0, 0])
    c = credits(gross, lo, hi, np.array([False, True, True, True]), cfg)
    assert c.creditable_t_co2e[0] == 0 and c.buffer_t_co2e[0] == 10  # insufficient data: shown, not credited


def test_overrides_carry_their_citation():
    cfg = CarbonConfig.model_validate(
        {
            "site": "dachen",
            "assets": [ASSET],
            "coefficient_overrides": [{"group": "mussel", "shell_c": 0.13, "source": "Sanshawan Bay survey 2022"}],
            "factor_overrides": [{"key": "grid_zhejiang", "kg_co2_per_unit": 0.5, "source": "Zhejiang DEE 2024"}],
        }
    )
    c = cfg.coefficients()["mussel"]
    assert c.shell_c == 0.13 and c.tissue_c == 0.4440 and c.source == "Sanshawan Bay survey 2022"
    assert cfg.emission_factors()["grid_zhejiang"].source == "Zhejiang DEE 2024"


def test_config_from_truth_meta():
    meta = {
        "type": "meta",
        "site": "dachen",
        "start": "2026-01-01T00:00:00Z",
        "assets": [
            {
                "asset": "m1-ll-01",
                "farm": "mussel-1",
                "kind": "bivalve",
                "group": "mussel",
                "sensor": "lc-m1-01",
                "device": "buoy-01",
                "tare_kg": 25.0,
                "wet_per_submerged": 3.0,
                "lines_per_sensor": 2000,
            },
            {
                "asset": "reef-zone-1",
                "farm": "reef-1",
                "kind": "reef",
                "group": "reef",
                "sensor": None,
                "device": None,
                "tare_kg": 25.0,
                "wet_per_submerged": 3.0,
                "lines_per_sensor": 1,
            },
        ],
    }
    cfg = config_from_truth_meta(meta)
    assert [a.asset for a in cfg.assets] == ["m1-ll-01"]
    assert cfg.assets[0].calibration.lines_per_sensor == 2000 and cfg.start.year == 2026
