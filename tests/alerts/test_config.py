"""Config: defaults cite the thresholds table; unknown keys, rules and species are errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from blueranch.models.alerts.config import RULE_NAMES, AlertsConfig, Rules, load_config
from blueranch.models.alerts.rules import REGISTRY
from blueranch.reference.thresholds import find

REPO = Path(__file__).resolve().parents[2]


def test_defaults_read_the_one_packaged_thresholds_table():
    # The copy itself is compared with shared/reference in tests/foundation/test_reference.py.
    r = Rules()
    assert r.do_low.source == find("dissolved_oxygen", "sea cages", 3.0).citation
    assert r.do_mussel_lethal.threshold_mg_l == find("dissolved_oxygen", "blue mussel").value
    assert not (REPO / "models" / "alerts" / "data").exists()


def test_defaults_come_from_the_table_with_their_citations():
    r = Rules()
    assert r.do_low.threshold_mg_l == 3.0 and "GB 11607-89" in r.do_low.source
    assert r.do_daily.threshold_mg_l == 5.0 and r.do_daily.min_hours_above == 16 and "GB 11607-89" in r.do_daily.source
    assert r.do_mussel_lethal.threshold_mg_l == 1.0 and "Li et al. 2022" in r.do_mussel_lethal.source
    assert r.do_mussel_byssus.threshold_mg_l == 2.0 and "George et al. 2019" in r.do_mussel_byssus.source
    assert r.heatwave.min_days == 5 and "Hobday et al. 2016" in r.heatwave.source
    assert "Beaufort" in r.storm.source
    for name in RULE_NAMES:
        assert getattr(r, name).source, f"rule {name} has no source"


def test_every_rule_is_registered_and_every_registered_rule_configurable():
    assert set(REGISTRY) == set(RULE_NAMES)


def test_site_species_and_device_overrides_resolve_in_order():
    cfg = AlertsConfig.model_validate(
        {
            "rules": {"do_low": {"threshold_mg_l": 3.5}},
            "sites": {
                "dachen": {
                    "species": ["mussel"],
                    "rules": {"do_low": {"threshold_mg_l": 4.0}},
                    "devices": {"b2": {"species": [], "rules": {"storm": {"gale_wind_m_s": 15}}}},
                }
            },
        }
    )
    assert cfg.resolve_rules("other", "x").do_low.threshold_mg_l == 3.5
    d = cfg.resolve_rules("dachen", "b1")
    assert d.do_low.threshold_mg_l == 4.0 and d.do_mussel_lethal.enabled and d.do_mussel_byssus.enabled
    b2 = cfg.resolve_rules("dachen", "b2")
    assert not b2.do_mussel_lethal.enabled and b2.storm.gale_wind_m_s == 15
    assert cfg.lifecycle_for(d.do_mussel_lethal).min_duration_s == 12 * 3600
    assert cfg.lifecycle_for(d.heatwave).clear_after_s == 2 * 86400


@pytest.mark.parametrize(
    "data, match",
    [
        ({"rules": {"do_lowx": {}}}, "unknown rule 'do_lowx'"),
        ({"sites": {"d": {"rules": {"hypoxia": {}}}}}, "sites.d.rules: unknown rule 'hypoxia'"),
        ({"rules": {"do_low": {"threshold": 3}}}, "threshold"),
        ({"rules": {"do_low": {"threshold_mg_l": -1}}}, "greater than 0"),
        ({"rules": {"storm": {"severity": "panic"}}}, "severity"),
        ({"sites": {"d": {"species": ["oyster"]}}}, "unknown species 'oyster'"),
        ({"sites": {"d": {"farms": {"f": {"species": ["oyster"]}}}}}, "unknown species 'oyster'"),
        ({"sites": {"d": {"farms": {"f": {"devices": ["b"]}, "g": {"devices": ["b"]}}}}}, "more than one farm"),
        ({"channels": {"webhooks": [{"url": "ftp://x"}]}}, "url"),
        ({"channels": {"smtp": [{"host": "h", "sender": "a@b", "recipients": []}]}}, "recipients"),
        ({"interval": 5}, "interval"),
        ({"rules": {"heatwave": {"climatology": {}}}}, "exactly one"),
        ({"rules": {"heatwave": {"climatology": {"p90_c_by_month": [20] * 11}}}}, "12"),
        ({"rules": {"heatwave": {"climatology": {"file": "sst.csv"}}}}, "needs file_source"),
        (
            {"rules": {"heatwave": {"climatology": {"file": "a", "file_source": "b", "p90_c_by_month": [1] * 12}}}},
            "not both",
        ),
        ({"sites": {"d": {"devices": {"b": {"anchor": {"lat_deg": 95, "lon_deg": 0}}}}}}, "lat_deg"),
    ],
)
def test_bad_config_is_a_clear_error(data, match):
    with pytest.raises(ValueError, match=match):
        AlertsConfig.model_validate(data)


def test_load_config_file_errors_name_the_file(tmp_path):
    p = tmp_path / "alerts.yaml"
    p.write_text("- a list\n")
    with pytest.raises(ValueError, match="top level must be a mapping"):
        load_config(p)
    p.write_text(yaml.safe_dump({"rules": {"nope": {}}}))
    with pytest.raises(ValueError, match=r"(?s)alerts.yaml.*unknown rule 'nope'"):
        load_config(p)


def test_deployed_config_is_valid():
    cfg = load_config(REPO / "deploy/blueranch/alerts.yaml")
    assert cfg.state_path.is_absolute()


def test_harvest_log_lines_and_errors(tmp_path):
    from blueranch.models.alerts.worker import load_harvests

    log = tmp_path / "harvests.jsonl"
    log.write_text(
        '{"type": "meta"}\n\n{"type": "harvest", "time": "2026-04-01T06:00:00Z", "asset": "ml-1", "wet_t": 2}\n'
    )
    cfg = AlertsConfig(harvest_log=log, harvests=[{"asset": "ml-2", "start": "2026-04-02T00:00:00Z"}])
    assert [(a, s == e) for a, s, e in load_harvests(cfg)] == [("ml-2", True), ("ml-1", True)]
    log.write_text('{"type": "harvest", "asset": "ml-1"}\n')
    with pytest.raises(ValueError, match=r"harvests.jsonl:1: harvest needs 'time'"):
        load_harvests(cfg)
    log.write_text('{"type": "harvest", "time": "2026-04-01T06:00:00Z", "asset": "ml-1"\n')
    with pytest.raises(ValueError, match=r"harvests.jsonl:1: not JSON"):
        load_harvests(cfg)
    log.unlink()
    with pytest.raises(ValueError, match=r"harvest_log: cannot read"):
        load_harvests(cfg)


def test_config_from_truth_meta():
    from blueranch.testing.alerts_truth import config_from_truth_meta

    meta = {
        "type": "meta",
        "scenario": "s",
        "site": "dachen",
        "assets": [
            {"asset": "m1", "farm": "f1", "kind": "bivalve", "group": "mussel", "sensor": "lc-1", "tare_kg": 25.0},
            {"asset": "k1", "kind": "macroalgae", "group": "kelp", "sensor": None, "tare_kg": 40.0},
            {"asset": "p1", "farm": "f2", "kind": "pen", "group": "croaker"},
        ],
        "devices": [
            {"device": "lc-1", "edge_device": "buoy-01", "interval_s": 600, "farm": "f1"},
            {"device": "s3", "edge_device": "buoy-03", "interval_s": 600, "farm": "f2"},
        ],
    }
    cfg = AlertsConfig.model_validate(config_from_truth_meta(meta))
    assert cfg.resolve_rules("dachen", "buoy-01").do_mussel_byssus.source.startswith("M. coruscus: Sui et al. 2017")
    assert cfg.resolve_rules("dachen", "buoy-03").do_mussel_byssus.enabled is False
    assert "L. crocea" in cfg.resolve_rules("dachen", "buoy-03").do_low.source
    assert cfg.tare_kg("dachen", "m1") == 25.0
    assert cfg.tare_kg("dachen", "k1") == 0.0
    assert cfg.device("dachen", "buoy-01").sensor_intervals_s == {"lc-1": 600.0}
    with pytest.raises(ValueError, match="not a truth meta"):
        config_from_truth_meta({"type": "water"})


def test_each_series_is_read_only_as_far_back_as_its_rules_need():
    from blueranch.models.alerts.worker import needed_lookback_h

    need = needed_lookback_h(AlertsConfig())
    assert need["do_mg_l"] == 73 and need["wind_speed_m_s"] < 2 and need["load_kg"] == 49
    assert need["temp_c"] == 5 * 24 + 48
    wider = AlertsConfig.model_validate(
        {"sites": {"d": {"devices": {"b": {"rules": {"heatwave": {"min_days": 7}}}}}}, "lookback_h": 100}
    )
    assert needed_lookback_h(wider)["temp_c"] == 100  # capped by lookback_h


def test_harvest_times_must_carry_a_zone():
    with pytest.raises(ValueError, match="timezone"):
        AlertsConfig.model_validate({"harvests": [{"asset": "ml-1", "start": "2026-04-01T06:00:00"}]})
