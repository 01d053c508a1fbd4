"""Each event kind, written as contract points into the real InfluxDB, raises its alert within the lead
time stated in docs/alerts.md (the clean month is in test_simulator_scenarios.py)."""

from __future__ import annotations

import numpy as np
import pytest

from blueranch.testing.alerts_synthetic import DAY_MS, HOUR_MS, MIN_MS, T0_MS, diel_do, write_series

pytestmark = pytest.mark.integration
SITE = "dachen"
STEP_S = 600


def opened(events, kind, event="open"):
    return [e for e in events if e["kind"] == kind and e["event"] == event]


def test_slow_decline_warned_before_do_low(influx, make_worker):
    t = np.arange(T0_MS, T0_MS + 5 * DAY_MS, 10 * MIN_MS)
    do = diel_do(t, mean=7.8, amp=1.2, trend_per_day=-1.0)
    write_series(influx, SITE, "buoy-01", t, {"do_mg_l": do, "temp_c": np.full(len(t), 22.0)}, sensor="sonde")
    cross_ms = int(t[np.argmax(do < 3.0)])
    w = make_worker()
    events = w.replay(T0_MS + 2 * DAY_MS, cross_ms + 12 * HOUR_MS, STEP_S)
    low = opened(events, "do_low")
    daily = opened(events, "do_daily")
    assert len(low) == 1 and len(daily) == 1, [(e["kind"], e["event"], e["time"]) for e in events]
    assert low[0]["severity"] == "critical"
    assert cross_ms <= low[0]["time_ms"] <= cross_ms + STEP_S * 1000  # lead time: one evaluation step
    # A slow decline is warned hours ahead by do_daily (too few hours above 5 mg/L); the forecast, tuned to
    # warn only when it predicts < 1.5 mg/L (docs/alerts.md: no near-miss false alarms), warns at most once.
    assert cross_ms - daily[0]["time_ms"] >= 3 * HOUR_MS
    assert len(opened(events, "do_forecast")) <= 1
    # One alert per condition per device, not one per evaluation: the night's readings below 3 mg/L
    # keep the same alert, which resolves after the morning recovery.
    low_events = [e for e in events if e["kind"] == "do_low"]
    assert len({e["alert_id"] for e in low_events}) == 1
    assert low_events[-1]["event"] == "resolved", [(e["event"], e["time"], e["value"]) for e in low_events]


def test_heatwave_after_five_days_above_p90(influx, make_worker):
    t = np.arange(T0_MS, T0_MS + 12 * DAY_MS, HOUR_MS)
    onset = T0_MS + 4 * DAY_MS
    temp = np.where(t >= onset, 28.0, 24.0) + 0.3 * np.sin(2 * np.pi * t / DAY_MS)
    write_series(influx, SITE, "buoy-01", t, {"temp_c": temp}, sensor="sonde")
    w = make_worker({"rules": {"heatwave": {"climatology": {"p90_c_by_month": [26.0] * 12}}}})
    events = w.replay(T0_MS + DAY_MS, T0_MS + 12 * DAY_MS - 1, 3600)
    hw = opened(events, "heatwave")
    assert len(hw) == 1
    assert onset + 5 * DAY_MS <= hw[0]["time_ms"] <= onset + 6 * DAY_MS


def test_storm_opens_escalates_severity_and_resolves(influx, make_worker):
    t = np.arange(T0_MS, T0_MS + 2 * DAY_MS, 10 * MIN_MS)
    onset, peak, calm = T0_MS + DAY_MS, T0_MS + DAY_MS + 6 * HOUR_MS, T0_MS + DAY_MS + 9 * HOUR_MS
    wind = np.select([t < onset, t < peak, t < calm], [8.0, 20.0, 27.0], 6.0)
    wave = np.select([t < onset, t < calm], [1.0, 4.5], 1.0)
    write_series(influx, SITE, "wx-01", t, {"wind_speed_m_s": wind, "wave_height_m": wave}, sensor="wx")
    w = make_worker()
    events = w.replay(T0_MS + 12 * HOUR_MS, T0_MS + 2 * DAY_MS - 1, STEP_S)
    st = [e for e in events if e["kind"] == "storm"]
    kinds = [e["event"] for e in st]
    assert kinds[0] == "open" and "severity" in kinds and kinds[-1] == "resolved"
    assert onset <= st[0]["time_ms"] <= onset + STEP_S * 1000
    assert [e for e in st if e["event"] == "severity"][0]["severity"] == "critical"
    assert st[-1]["time_ms"] >= calm + 30 * MIN_MS  # clear_after_s: resolved only after 30 min calm


def test_mooring_break_outside_watch_circle(influx, make_worker):
    rng = np.random.default_rng(1)
    t = np.arange(T0_MS, T0_MS + 2 * DAY_MS, 10 * MIN_MS)
    brk = T0_MS + DAY_MS
    drift_m = np.where(t > brk, (t - brk) / 1000 * 0.2, 0.0) + rng.normal(0, 4, len(t))
    lat = 28.45 + drift_m / 111_195.0
    lon = np.full(len(t), 121.89)
    write_series(influx, SITE, "buoy-02", t, {"lat_deg": lat, "lon_deg": lon}, sensor="gps")
    # The same buoy's payload position, a second series of the same fixes: still one buoy, one alert.
    write_series(influx, SITE, "buoy-02", t[::2] + 1, {"lat_deg": lat[::2], "lon_deg": lon[::2]}, sensor="payload")
    out_ms = int(t[np.argmax(drift_m > 100)])
    w = make_worker()
    events = w.replay(T0_MS + 6 * HOUR_MS, T0_MS + 2 * DAY_MS - 1, STEP_S)
    m = opened(events, "mooring")
    assert len(m) == 1 and m[0]["severity"] == "critical" and m[0]["subject"] == ""
    assert out_ms <= m[0]["time_ms"] <= out_ms + 3 * 10 * MIN_MS + STEP_S * 1000


def test_biomass_loss_but_not_harvest(influx, make_worker):
    rng = np.random.default_rng(2)
    t = np.arange(T0_MS, T0_MS + 3 * DAY_MS, 10 * MIN_MS)
    event = T0_MS + 2 * DAY_MS + 12 * HOUR_MS
    for asset in ("ml-01", "ml-02"):
        load = np.where(t >= event, 650.0, 800.0) + rng.normal(0, 5, len(t))
        write_series(influx, SITE, "lc-01", t, {"load_kg": load}, sensor=asset, asset=asset)
    w = make_worker({"harvests": [{"asset": "ml-02", "start": "2026-07-03T11:00:00Z", "end": "2026-07-03T13:00:00Z"}]})
    events = w.replay(T0_MS + 2 * DAY_MS, T0_MS + 3 * DAY_MS - 1, STEP_S)
    b = opened(events, "biomass_loss")
    assert [e["subject"] for e in b] == ["ml-01"]
    assert event <= b[0]["time_ms"] <= event + 2 * HOUR_MS
    rows = influx.query('SELECT * FROM "derived"."alerts" WHERE "kind" = \'biomass_loss\'')[0].rows()
    assert {(r["device"], r["subject"], r["state"]) for r in rows} >= {("lc-01", "ml-01", "open")}


def test_silent_device_and_recovery(influx, make_worker):
    t1 = np.arange(T0_MS, T0_MS + DAY_MS, 5 * MIN_MS)
    t2 = np.arange(T0_MS + DAY_MS + 6 * HOUR_MS, T0_MS + 2 * DAY_MS, 5 * MIN_MS)
    t = np.concatenate([t1, t2])
    write_series(influx, SITE, "buoy-03", t, {"battery_v": np.full(len(t), 12.6)}, sensor="power")
    w = make_worker()
    events = w.replay(T0_MS + 12 * HOUR_MS, T0_MS + 2 * DAY_MS - 1, 300)
    s = [e for e in events if e["kind"] == "silent"]
    assert s[0]["event"] == "open" and s[-1]["event"] == "resolved"
    last = int(t1[-1])
    assert last + 15 * MIN_MS < s[0]["time_ms"] <= last + 15 * MIN_MS + 300_000  # 3 x 5 min + one step
    assert s[-1]["time_ms"] >= int(t2[0])


def test_buffer_drops(influx, make_worker):
    t = np.arange(T0_MS, T0_MS + DAY_MS, 10 * MIN_MS)
    jump = T0_MS + 12 * HOUR_MS
    dropped = np.where(t >= jump, 40.0, 0.0)
    write_series(
        influx, SITE, "buoy-04", t, {"buffer_dropped_total": dropped, "buffer_depth": np.zeros(len(t))}, sensor="agent"
    )
    w = make_worker()
    events = w.replay(T0_MS + 6 * HOUR_MS, T0_MS + DAY_MS - 1, STEP_S)
    b = [e for e in events if e["kind"] == "buffer_drops"]
    assert b[0]["event"] == "open" and jump <= b[0]["time_ms"] <= jump + STEP_S * 1000
    assert b[0]["value"] == 40
    assert b[-1]["event"] == "resolved"  # no further drops for window_h + clear_after_s


def test_a_drifting_buoy_through_the_ingest_is_one_track_and_one_mooring_alert(influx, make_worker):
    """The edge agent copies its GPS sensor's fix into the payload's ``position``; through the ingest's own
    path that fix is one ``position`` series (the sensor's), so the buoy opens one mooring alert and no
    ``sensor=payload`` series appears for the silent-device rule to watch."""
    from datetime import UTC, datetime

    from blueranch.contracts import mqtt
    from blueranch.ingest.config import IngestConfig
    from blueranch.ingest.validate import Validator

    validator, topic = Validator(IngestConfig()), mqtt.telemetry_topic(SITE, "buoy-05")
    t = np.arange(T0_MS, T0_MS + 2 * DAY_MS, 10 * MIN_MS)
    brk = T0_MS + DAY_MS
    lat = 28.45 + np.where(t > brk, (t - brk) / 1000 * 0.2, 0.0) / 111_195.0
    body = []
    for seq, (ms, la) in enumerate(zip(t, lat, strict=True)):
        when = datetime.fromtimestamp(int(ms) / 1000, UTC)
        fix = {"time": when, "sensor": "gps-1", "unit": "deg", "qc": 1}
        msg = mqtt.Telemetry(
            device="buoy-05",
            seq=seq,
            position=mqtt.Position(lat_deg=float(la), lon_deg=121.89),
            samples=[
                mqtt.Sample(quantity="lat_deg", value=float(la), **fix),
                mqtt.Sample(quantity="lon_deg", value=121.89, **fix),
            ],
        )
        body.append(validator.accept(topic, msg.to_json(), when).body)
    influx.write(b"\n".join(body), retention_policy="raw")
    sensors = influx.query('SHOW TAG VALUES FROM "raw"."position" WITH KEY = "sensor" WHERE "device" = \'buoy-05\'')
    assert [v[1] for v in sensors[0].values] == ["gps-1"]
    events = make_worker().replay(T0_MS + 6 * HOUR_MS, T0_MS + 2 * DAY_MS - 1, STEP_S)
    m = opened(events, "mooring")
    assert [(e["device"], e["subject"]) for e in m] == [("buoy-05", "")]


def test_suspect_readings_are_held_back(influx, make_worker):
    """A fouled sonde under-reads DO: once the edge has flagged it suspect (3) for ``qc_hold_after_s`` (6 h)
    it raises nothing, and an alert it raised before resolves (held back); with ``qc_suspect: use`` the
    same data alerts."""
    t = np.arange(T0_MS, T0_MS + 4 * DAY_MS, 10 * MIN_MS)
    do = np.where(t < T0_MS + 2 * DAY_MS, 6.0, 2.0)  # the sensor's story, not the sea's
    flagged = t >= T0_MS + 2 * DAY_MS + 2 * HOUR_MS  # the edge flags it 2 h after the fall
    for sel, qc in ((~flagged, 1), (flagged, 3)):
        write_series(influx, SITE, "buoy-03", t[sel], {"do_mg_l": do[sel]}, sensor="sonde-3", qc=qc)
    events = make_worker().replay(T0_MS + DAY_MS, T0_MS + 4 * DAY_MS - 1, STEP_S)
    low = [e for e in events if e["kind"] == "do_low"]
    assert [e["event"] for e in low][:1] == ["open"] and low[-1]["event"] == "resolved"
    assert "held back" in low[-1]["message"] and low[-1]["time_ms"] <= T0_MS + 2 * DAY_MS + 9 * HOUR_MS
    assert len({e["alert_id"] for e in events}) == len({e["alert_id"] for e in events if e["event"] == "open"})
    # Within the first 6 h a suspect reading is judged and marked; after that nothing opens.
    marked = [e for e in events if e["event"] == "open" and e["time_ms"] > T0_MS + 2 * DAY_MS + 2 * HOUR_MS]
    assert all(e["message"].startswith("[QC suspect") for e in marked), marked
    assert not [e for e in marked if e["time_ms"] >= T0_MS + 2 * DAY_MS + 8 * HOUR_MS]
    used = make_worker({"qc_suspect": "use"}, state="use.sqlite").replay(
        T0_MS + 3 * DAY_MS, T0_MS + 4 * DAY_MS - 1, 3600
    )
    assert opened(used, "do_low")
