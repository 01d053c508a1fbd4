"""Rules over the real InfluxDB: QC flags, species profiles, a climatology from the site's history."""

from __future__ import annotations

import numpy as np
import pytest

from blueranch.testing.alerts_synthetic import DAY_MS, HOUR_MS, MIN_MS, T0_MS, write_series

pytestmark = pytest.mark.integration


def test_readings_flagged_fail_are_ignored(influx, make_worker):
    t = np.arange(T0_MS, T0_MS + 6 * HOUR_MS, 10 * MIN_MS)
    write_series(influx, "dachen", "buoy-01", t, {"do_mg_l": np.full(len(t), 7.0)}, sensor="sonde")
    # A spike to 0.5 mg/L that the edge QC flagged as fail (4): not an alert.
    write_series(influx, "dachen", "buoy-01", t[-2:] + 1, {"do_mg_l": np.full(2, 0.5)}, sensor="sonde", qc=4)
    # The same spike flagged suspect (3) is still evaluated: a real crash is often suspect at first.
    write_series(influx, "dachen", "buoy-02", t, {"do_mg_l": np.where(t > t[-3], 0.5, 7.0)}, sensor="sonde", qc=3)
    events = make_worker().replay(int(t[-1]) + 10, int(t[-1]) + 10, 600)
    assert {(e["device"], e["kind"]) for e in events} == {("buoy-02", "do_low")}


def test_mussel_profile_needs_twelve_hours_below_one_mg_l(influx, make_worker):
    t = np.arange(T0_MS, T0_MS + 2 * DAY_MS, 10 * MIN_MS)
    start = T0_MS + 12 * HOUR_MS
    do = np.where(t >= start, 0.8, 6.5)
    write_series(influx, "dachen", "buoy-01", t, {"do_mg_l": do}, sensor="sonde")
    w = make_worker(
        {
            "sites": {"dachen": {"species": ["mussel"]}},
            "rules": {"do_forecast": {"enabled": False}, "do_daily": {"enabled": False}},
        }
    )
    events = w.replay(T0_MS + 6 * HOUR_MS, T0_MS + 2 * DAY_MS - 1, 600)
    opens = {e["kind"]: e["time_ms"] for e in events if e["event"] == "open"}
    assert set(opens) == {"do_low", "do_mussel_byssus", "do_mussel_lethal"}
    assert opens["do_low"] == opens["do_mussel_byssus"] < start + 600_000
    assert start + 12 * HOUR_MS <= opens["do_mussel_lethal"] <= start + 12 * HOUR_MS + 600_000
    # The other site has no mussels: no species alert there.
    assert make_worker({}, state="b.sqlite").config.resolve_rules("other", "x").do_mussel_lethal.enabled is False


def test_heatwave_climatology_from_history(influx, make_worker):
    t = np.arange(T0_MS - 450 * DAY_MS, T0_MS + 12 * DAY_MS, 2 * HOUR_MS)
    doy_phase = 2 * np.pi * (t - T0_MS) / (365.25 * DAY_MS)
    rng = np.random.default_rng(5)
    temp = 22 + 4 * np.cos(doy_phase) + rng.normal(0, 0.4, len(t))
    onset = T0_MS + 3 * DAY_MS
    temp = np.where(t >= onset, temp + 3.0, temp)
    write_series(influx, "dachen", "buoy-01", t, {"temp_c": temp}, sensor="sonde")
    w = make_worker({"rules": {"heatwave": {"climatology": {"from_history": True}}}})
    events = w.replay(T0_MS + DAY_MS, T0_MS + 12 * DAY_MS - 1, 6 * 3600)
    hw = [e for e in events if e["kind"] == "heatwave" and e["event"] == "open"]
    assert len(hw) == 1 and onset + 5 * DAY_MS <= hw[0]["time_ms"] <= onset + 6 * DAY_MS


def test_too_little_history_falls_back_to_the_operators_file_and_says_so(influx, make_worker, tmp_path):
    t = np.arange(T0_MS - 30 * DAY_MS, T0_MS + 12 * DAY_MS, 2 * HOUR_MS)
    temp = np.where(t >= T0_MS + 3 * DAY_MS, 29.0, 25.0)
    write_series(influx, "dachen", "buoy-01", t, {"temp_c": temp}, sensor="sonde")
    sst = tmp_path / "sst.csv"
    sst.write_text("month,p90_c\n" + "".join(f"{m},27.0\n" for m in range(1, 13)))
    clim = {"from_history": True, "file": str(sst), "file_source": "test values"}
    w = make_worker({"rules": {"heatwave": {"climatology": clim}}})
    hw = [e for e in w.replay(T0_MS + DAY_MS, T0_MS + 12 * DAY_MS - 1, 6 * 3600) if e["kind"] == "heatwave"]
    assert hw and hw[0]["event"] == "open" and "from file sst.csv (test values)" in hw[0]["message"]


def test_no_climatology_means_no_heatwave_evaluation(influx, make_worker):
    t = np.arange(T0_MS, T0_MS + 10 * DAY_MS, HOUR_MS)
    write_series(influx, "dachen", "buoy-01", t, {"temp_c": np.full(len(t), 35.0)}, sensor="sonde")
    events = make_worker().replay(T0_MS + 9 * DAY_MS, T0_MS + 10 * DAY_MS - 1, 3600)
    assert [e for e in events if e["kind"] == "heatwave"] == []


def test_edge_agent_silence_counts_online_statuses_only(influx, make_worker):
    from blueranch.contracts.influx import Point
    from blueranch.contracts.lineprotocol import lines

    t = np.arange(T0_MS, T0_MS + 2 * HOUR_MS, MIN_MS)
    pts = [
        Point(
            "device_status",
            {"site": "dachen", "device": "buoy-01"},
            {"online": 1, "buffer_depth": 0, "buffer_dropped_total": 0},
            int(x),
        )
        for x in t
    ]
    # The agent drops off; the broker publishes its Last Will ("offline") a keep-alive later.
    pts.append(Point("device_status", {"site": "dachen", "device": "buoy-01"}, {"online": 0}, int(t[-1]) + 90_000))
    influx.write(lines(pts), retention_policy="raw")
    events = make_worker().replay(int(t[-1]) + 60_000, int(t[-1]) + 10 * MIN_MS, 60)
    s = [e for e in events if e["kind"] == "silent" and e["event"] == "open"]
    assert len(s) == 1 and s[0]["subject"] == "" and s[0]["time_ms"] <= int(t[-1]) + 4 * MIN_MS
