"""``blueranch alerts run --once | replay | list | ack | check-config`` against the real InfluxDB."""

from __future__ import annotations

import json
import subprocess
import time
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from blueranch.cli import main
from blueranch.testing.alerts_synthetic import MIN_MS, T0_MS, write_series
from blueranch.testing.services import free_port

pytestmark = pytest.mark.integration


def cli(bin_, *args, ok=True):
    """``blueranch alerts ARGS``: the real executable for ``run`` (signal handlers, process exit), the
    same command in-process for the rest (saves a Python start-up per call)."""
    if args[0] == "run":
        r = subprocess.run([bin_, "alerts", *args], capture_output=True, text=True, timeout=120)
    else:
        res = CliRunner().invoke(main, ["alerts", *args])
        r = SimpleNamespace(returncode=res.exit_code, stdout=res.stdout, stderr=res.stderr)
    if ok:
        assert r.returncode == 0, r.stderr + r.stdout
    return r


def test_run_once_list_and_ack(influx, influxdb, blueranch_bin, tmp_path):
    now = int(time.time() * 1000)
    t = np.arange(now - 6 * 3600_000, now, 10 * MIN_MS)
    do = np.where(t > now - 30 * MIN_MS, 2.2, 7.0)
    write_series(influx, "dachen", "buoy-01", t, {"do_mg_l": do}, sensor="sonde")
    cfg = tmp_path / "alerts.yaml"
    cfg.write_text(yaml.safe_dump({"state_path": str(tmp_path / "state.sqlite")}))
    cli(
        blueranch_bin,
        "run",
        "--influx",
        influxdb.url,
        "--database",
        influx.database,
        "--config",
        str(cfg),
        "--once",
        "--metrics-port",
        str(free_port()),
    )
    out = cli(blueranch_bin, "list", "--open", "--config", str(cfg)).stdout
    assert "do_low" in out and "critical" in out and "dachen/buoy-01/sonde" in out
    alert_id = out.split()[0]
    rows = influx.query('SELECT * FROM "derived"."alerts"')[0].rows()
    assert [(r["kind"], r["state"], r["alert_id"]) for r in rows] == [("do_low", "open", alert_id)]

    assert "acknowledged" in cli(blueranch_bin, "ack", alert_id, "--by", "Li Na", "--config", str(cfg)).stdout
    assert "acknowledged by Li Na" in cli(blueranch_bin, "list", "--config", str(cfg)).stdout
    bad = cli(blueranch_bin, "ack", alert_id, "--by", "Li Na", "--config", str(cfg), ok=False)
    assert bad.returncode != 0 and "only open or escalated" in bad.stderr
    unknown = cli(blueranch_bin, "ack", "0000", "--by", "x", "--config", str(cfg), ok=False)
    assert unknown.returncode != 0 and "no alert with id '0000'" in unknown.stderr
    # The next evaluation delivers the acknowledgement to the alerts measurement.
    cli(blueranch_bin, "run", "--influx", influxdb.url, "--database", influx.database, "--config", str(cfg), "--once")
    states = {r["state"] for r in influx.query('SELECT * FROM "derived"."alerts"')[0].rows()}
    assert states == {"open", "acknowledged"}


def test_replay_prints_events(influx, influxdb, blueranch_bin, tmp_path):
    t = np.arange(T0_MS, T0_MS + 6 * 3600_000, 5 * MIN_MS)
    write_series(
        influx, "dachen", "wx-01", t, {"wind_speed_m_s": np.where(t > T0_MS + 3 * 3600_000, 26.0, 5.0)}, sensor="wx"
    )
    out = cli(
        blueranch_bin,
        "replay",
        "--influx",
        influxdb.url,
        "--database",
        influx.database,
        "--state",
        str(tmp_path / "s.sqlite"),
        "--from",
        "2026-07-01T01:00:00Z",
        "--to",
        "2026-07-01T05:00:00Z",
    ).stdout
    assert "open" in out and "storm" in out and "critical" in out
    truth = tmp_path / "truth.jsonl"
    meta = {"type": "meta", "site": "dachen", "devices": [{"device": "wx", "edge_device": "wx-01"}]}
    ev = {"type": "event", "kind": "storm", "time": "2026-07-01T03:00:00Z", "until": "2026-07-01T06:00:00Z"}
    truth.write_text(json.dumps(meta) + "\n" + json.dumps(ev) + "\n")
    args = ["--influx", influxdb.url, "--database", influx.database, "--state", str(tmp_path / "t.sqlite")]
    span = ["--from", "2026-07-01T01:00:00Z", "--to", "2026-07-01T05:00:00Z", "--truth", str(truth)]
    scored = cli(blueranch_bin, "replay", *args, *span).stdout
    assert [ln.split()[:5] for ln in scored.splitlines() if ln.startswith("storm ")] == [["storm", "1", "1", "0", "0"]]
    truth.write_text('{"type": "water"}\n')
    bad = cli(blueranch_bin, "replay", *args, *span, ok=False)
    assert bad.returncode == 2 and "not a truth file" in bad.stderr
    bad = cli(
        blueranch_bin,
        "replay",
        "--influx",
        influxdb.url,
        "--database",
        influx.database,
        "--state",
        str(tmp_path / "s.sqlite"),
        "--from",
        "2026-07-01T01:00:00",
        "--to",
        "x",
        ok=False,
    )
    assert bad.returncode != 0 and "has no zone" in bad.stderr


def test_config_errors_are_clear(blueranch_bin, tmp_path):
    cfg = tmp_path / "alerts.yaml"
    cfg.write_text("rules:\n  do_low: {threshold_mg_l: 3, colour: red}\n")
    r = cli(blueranch_bin, "check-config", str(cfg), ok=False)
    assert r.returncode != 0 and "colour" in r.stderr and "Traceback" not in r.stderr
    cfg.write_text("rules:\n  do_low: {threshold_mg_l: 3.5}\n")
    assert "OK" in cli(blueranch_bin, "check-config", str(cfg)).stdout


def test_run_once_publishes_on_the_alert_topic(influx, influxdb, mosquitto, blueranch_bin, tmp_path):
    import json
    import threading

    from blueranch.contracts.mqtt import alerts_topic
    from blueranch.mqttc import make_client
    from blueranch.testing.wait import wait_until

    got, subscribed = [], threading.Event()
    sub = make_client("alerts-cli-sub", clean=True)
    sub.on_message = lambda c, u, m: got.append(json.loads(m.payload))
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe(alerts_topic("dachen"), qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect("127.0.0.1", mosquitto.port)
    sub.loop_start()
    try:
        wait_until(subscribed.is_set, 30, message="subscribed")
        now = int(time.time() * 1000)
        t = np.arange(now - 3600_000, now, 5 * MIN_MS)
        write_series(influx, "dachen", "wx-01", t, {"wind_speed_m_s": np.full(len(t), 26.0)}, sensor="wx")
        cli(
            blueranch_bin,
            "run",
            "--influx",
            influxdb.url,
            "--database",
            influx.database,
            "--once",
            "--state",
            str(tmp_path / "s.sqlite"),
            "--mqtt",
            mosquitto.url,
        )
        wait_until(lambda: got, 30, message="an alert on the MQTT topic")
        assert got[0]["kind"] == "storm" and got[0]["severity"] == "critical" and got[0]["event"] == "open"
    finally:
        sub.loop_stop()
        sub.disconnect()


def test_alert_worker_prefers_its_own_mqtt_password(monkeypatch):
    from blueranch.models.alerts.cli import _mqtt_password

    monkeypatch.setenv("BLUERANCH_MQTT_PASSWORD", "ingest-secret")
    monkeypatch.delenv("BLUERANCH_ALERTS_MQTT_PASSWORD", raising=False)
    assert _mqtt_password() == "ingest-secret"
    monkeypatch.setenv("BLUERANCH_ALERTS_MQTT_PASSWORD", "alerts-secret")
    assert _mqtt_password() == "alerts-secret"
