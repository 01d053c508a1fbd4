"""Carbon config: the deploy file loads, every number carries a source, bad config names the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from blueranch.models.carbon.config import CarbonConfig, load_config
from blueranch.testing.carbon_truth import config_from_truth_meta

REPO = Path(__file__).resolve().parents[2]
ASSET = {
    "asset": "m-1",
    "farm": "f",
    "kind": "bivalve",
    "group": "mussel",
    "calibration": {"tare_kg": 25, "wet_per_submerged": 3, "lines_per_sensor": 2000, "source": "survey 2026"},
}


def test_deploy_config_for_dachen():
    cfg = load_config(REPO / "deploy/blueranch/carbon.yaml")
    assert cfg.site == "dachen" and len(cfg.assets) == 14
    assert {a.group for a in cfg.assets} == {"mussel", "kelp"}
    assert all(a.harvest_windows and a.calibration.source for a in cfg.assets)
    assert cfg.meters and cfg.reefs and cfg.pens


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
        ({"site": "da/chen"}, "site"),
    ],
)
def test_bad_config_names_the_field(patch, field):
    with pytest.raises(ValidationError) as exc:
        CarbonConfig.model_validate({"site": "dachen", **patch})
    assert field in str(exc.value).replace("\n", " ") or field in str(exc.value)


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
