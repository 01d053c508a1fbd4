"""Simulator scenarios -> contract points in the real InfluxDB -> alert replay, checked against the
truth file's events (docs/simulator.md, 'Truth file') and the lead times of docs/alerts.md.

Readings are mapped as the edge agent publishes them: ``device`` = the simulator device's
``edge_device``, ``sensor`` = the simulator device id, with its ``asset``/``farm``; frames garbled on
the wire are dropped (the edge rejects them). The alert config comes from the truth meta line
(:func:`blueranch.testing.alerts_truth.config_from_truth_meta`); the truth file is the harvest log.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from blueranch.models.alerts.config import deep_merge
from blueranch.testing.alerts_truth import config_from_truth_meta

alerts_sim = pytest.importorskip("blueranch.testing.alerts_sim")
build, simulate, to_points, write = alerts_sim.build, alerts_sim.simulate, alerts_sim.to_points, alerts_sim.write
scenario_mod = pytest.importorskip("blueranch.sim.scenario")
water = pytest.importorskip("blueranch.sim.physics.water")

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
STEP_S = 600
HOUR_S = 3600.0
#: The event scenarios the simulator ships (used when present), else built here from single-buoy.
BUILTIN = ("hypoxia-night", "heatwave", "storm", "mooring-break", "biomass-loss", "silent-device")


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


OWN = {
    "hypoxia-night": lambda: build(
        "hypoxia-night",
        "2026-07-20T00:00:00Z",
        6,
        [{"kind": "hypoxia", "at_h": 96, "duration_h": 30, "min_do_mg_l": 1.8}],
    ),
    "heatwave": lambda: build(
        "heatwave", "2026-07-01T00:00:00Z", 12, [{"kind": "heatwave", "at_h": 48, "duration_h": 168, "anomaly_c": 3.0}]
    ),
    "storm": lambda: build(
        "storm", "2026-08-01T00:00:00Z", 4, [{"kind": "storm", "at_h": 48, "duration_h": 24, "wind_m_s": 28}]
    ),
    "mooring-break": lambda: build(
        "mooring-break",
        "2026-06-01T00:00:00Z",
        3,
        [{"kind": "mooring_break", "at_h": 36, "device": "gps-1", "drift_kn": 1.0}],
    ),
    "biomass-loss": lambda: build(
        "biomass-loss",
        "2026-01-05T00:00:00Z",
        5,
        [
            {"kind": "biomass_loss", "at_h": 60, "asset": "m1-ll-01", "fraction": 0.3, "duration_h": 6},
            {"kind": "harvest", "at_h": 60, "asset": "m1-ll-02", "fraction": 0.4},
        ],
    ),
    "silent-device": lambda: build(
        "silent-device",
        "2026-06-01T00:00:00Z",
        3,
        [{"kind": "silent_device", "at_h": 30, "duration_h": 12, "device": "lc-2"}],
    ),
}


def scenario(name: str):
    if name in scenario_mod.builtin_names():
        return scenario_mod.load_scenario(name)
    return OWN[name]()


def run_alerts(influx, make_worker, tmp_path, name: str, step_s: float = STEP_S):
    sc = scenario(name)
    readings, truth = simulate(sc)
    write(influx, to_points(sc.site, readings))
    path = tmp_path / "truth.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in truth))
    meta = truth[0]
    cfg = config_from_truth_meta(meta, path)
    c = sc.climate
    mid = [datetime(2026, m, 15).timestamp() for m in range(1, 13)]
    # The simulator's seasonal cycle + 1 degC stands in for a 30-year p90 (its sea has no weather noise).
    cfg["rules"] = {
        "heatwave": {
            "climatology": {
                "p90_c_by_month": [
                    float(water.seasonal(t, c.sst_mean_c, c.sst_amp_c, c.sst_peak_doy)) + 1.0 for t in mid
                ],
                "source": "simulator seasonal SST + 1 degC",
            }
        }
    }
    events = [t for t in truth if t["type"] == "event"]
    assert events, f"scenario {name} has no event"
    first = min(ms(e["time"]) for e in events)
    last_end = max(ms(e["until"]) for e in events)
    start = max(ms(meta["start"]) + 2 * 3_600_000, first - 12 * 3_600_000)
    end = min(ms(meta["end"]), last_end + 12 * 3_600_000, first + 7 * 86_400_000)
    out = make_worker(cfg).replay(start, end, step_s)
    return meta, truth, readings, events, out


def opened(alerts, kind, device=None, subject=None):
    return [
        a
        for a in alerts
        if a["event"] == "open"
        and a["kind"] == kind
        and (device is None or a["device"] == device)
        and (subject is None or a["subject"] == subject)
    ]


def edge_of(meta, sim_device: str) -> str:
    return next(d["edge_device"] for d in meta["devices"] if d["device"] == sim_device)


def test_hypoxia_night(influx, make_worker, tmp_path):
    meta, truth, readings, events, alerts = run_alerts(influx, make_worker, tmp_path, "hypoxia-night")
    ev = next(e for e in events if e["kind"] == "hypoxia")
    sondes = [r for r in readings if r.kind == "sonde" and r.time_s * 1000 >= ms(ev["time"]) - 12 * 3_600_000]
    cross = next(r for r in sondes if r.values.get("do_mg_l", 99) < 3.0)
    cross_ms = int(cross.time_s * 1000)
    low = opened(alerts, "do_low", cross.edge_device, cross.device)
    fc = opened(alerts, "do_forecast", cross.edge_device, cross.device)
    assert low and cross_ms <= low[0]["time_ms"] <= cross_ms + STEP_S * 1000
    assert fc and fc[0]["time_ms"] < cross_ms, "the forecast must warn before DO crosses 3 mg/L"
    print(
        f"hypoxia-night: forecast {(cross_ms - fc[0]['time_ms']) / 60000:.0f} min ahead of the crossing, "
        f"do_low {(low[0]['time_ms'] - cross_ms) / 60000:.0f} min after"
    )


def test_heatwave(influx, make_worker, tmp_path):
    meta, truth, readings, events, alerts = run_alerts(influx, make_worker, tmp_path, "heatwave", 3600)
    ev = next(e for e in events if e["kind"] == "heatwave")
    hw = opened(alerts, "heatwave")
    assert hw and ms(ev["time"]) + 5 * 86_400_000 <= hw[0]["time_ms"] <= ms(ev["time"]) + 6 * 86_400_000 + 3_600_000


def test_storm(influx, make_worker, tmp_path):
    meta, truth, readings, events, alerts = run_alerts(influx, make_worker, tmp_path, "storm")
    gale = next(
        r for r in readings if r.values.get("wind_speed_m_s", 0) >= 17.2 or r.values.get("wave_height_m", 0) >= 4
    )
    st = opened(alerts, "storm", gale.edge_device)
    assert st and int(gale.time_s * 1000) <= st[0]["time_ms"] <= int(gale.time_s * 1000) + 2 * STEP_S * 1000
    assert [e for e in truth if e["type"] == "event" and e["kind"] == "storm"]


def test_mooring_break(influx, make_worker, tmp_path):
    meta, truth, readings, events, alerts = run_alerts(influx, make_worker, tmp_path, "mooring-break")
    ev = next(e for e in events if e["kind"] == "mooring_break")
    m = opened(alerts, "mooring", edge_of(meta, ev["device"]))
    assert len(m) == 1, "one mooring alert per buoy"
    drift_m_s = 1.0 * 1852 / 3600
    bound = ms(ev["time"]) + int(((100 + 30) / drift_m_s + 3 * 600 + STEP_S) * 1000)
    assert m and ms(ev["time"]) <= m[0]["time_ms"] <= bound and m[0]["severity"] == "critical"


def test_biomass_loss_not_harvest(influx, make_worker, tmp_path):
    meta, truth, readings, events, alerts = run_alerts(influx, make_worker, tmp_path, "biomass-loss")
    loss = next(e for e in events if e["kind"] == "biomass_loss")
    bio = [t for t in truth if t["type"] == "biomass" and t["asset"] == loss["asset"]]
    w0 = next(t["wet_t"] for t in bio if ms(t["time"]) >= ms(loss["time"]))
    t_drop = next(ms(t["time"]) for t in bio if ms(t["time"]) >= ms(loss["time"]) and t["wet_t"] <= 0.9 * w0)
    b = opened(alerts, "biomass_loss", subject=loss["asset"])
    assert b and ms(loss["time"]) <= b[0]["time_ms"] <= t_drop + 3 * 3_600_000 + STEP_S * 1000
    for h in (e for e in events if e["kind"] == "harvest"):
        assert opened(alerts, "biomass_loss", subject=h["asset"]) == [], "a recorded harvest is not a loss"


def test_silent_device(influx, make_worker, tmp_path):
    meta, truth, readings, events, alerts = run_alerts(influx, make_worker, tmp_path, "silent-device")
    silent = [e for e in events if e["kind"] == "silent_device"]
    for ev in silent:
        interval = next(d["interval_s"] for d in meta["devices"] if d["device"] == ev["device"])
        s = [
            a
            for a in opened(alerts, "silent", edge_of(meta, ev["device"]), ev["device"])
            if a["time_ms"] >= ms(ev["time"])
        ]
        assert s and s[0]["time_ms"] <= ms(ev["time"]) + int((3 * interval + STEP_S) * 1000), ev
        resolved = [a for a in alerts if a["alert_id"] == s[0]["alert_id"] and a["event"] == "resolved"]
        assert resolved and resolved[0]["time_ms"] >= ms(ev["until"])
        # The message states the real duration of the silence, not the age of the reading that ended it.
        gap_min = float(resolved[0]["message"].split("longest gap in the window ")[1].split(" min")[0])
        assert gap_min >= (ms(ev["until"]) - ms(ev["time"])) / 60000, resolved[0]["message"]
    # Only the silenced sensors: the buoy's other sensors and its agent go on reporting.
    assert {a["subject"] for a in alerts if a["kind"] == "silent"} == {e["device"] for e in silent}


@pytest.mark.slow
def test_clean_simulated_month_raises_no_critical_alert(influx, make_worker, tmp_path):
    sc = build("clean-month", "2026-06-01T00:00:00Z", 30, [])
    readings, truth = simulate(sc)
    write(influx, to_points(sc.site, readings))
    # The deployed config (anchor, placeholder climatology) with the truth meta's tares and intervals.
    deployed = yaml.safe_load((REPO / "deploy/blueranch/alerts.yaml").read_text())
    deployed.pop("state_path")
    cfg = deep_merge(deployed, config_from_truth_meta(truth[0]))
    alerts = make_worker(cfg).replay(ms(truth[0]["start"]) + 86_400_000, ms(truth[0]["end"]) - 1, 3600)
    assert [a for a in alerts if a["severity"] == "critical"] == []
