"""A simulated day through the real pipeline: MQTT (real Mosquitto) -> ``blueranch ingest run`` -> InfluxDB,
then the real carbon and alert workers, then every query of every dashboard must return data.

The day's telemetry is published exactly as edge agents publish it (contract topics, QoS 1, one
message per sensor reading cycle), plus a garbled message the ingest must reject into
``ingest_errors``; the ingest writes its own ``ingest_stats``. ``device_status`` points are written
directly: no component maps the retained status messages to that measurement yet (see
docs/dashboards.md).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
import yaml
from dashboards.sample_day import SITE, day_content, write_points
from test_real_workers import run_workers

from blueranch.contracts.influx import MEASUREMENTS
from blueranch.contracts.mqtt import telemetry_topic
from blueranch.mqttc import make_client, parse_url
from blueranch.procs import Supervisor
from blueranch.testing.wait import Timeout, wait_until
from dashboards import fleet_health
from dashboards.build import build_all
from dashboards.check import run

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RATE_PANEL = "Ingest rate (per second)"


def _count(influx, measurement: str, field: str) -> int:
    m = MEASUREMENTS[measurement]
    series = influx.query(f'SELECT count("{field}") FROM {m.qualified}')
    return int(series[0].values[0][1]) if series else 0


class Publisher:
    """A QoS 1 publisher that waits for the broker's PUBACK of every message."""

    def __init__(self, url: str):
        u = parse_url(url)
        self.client = make_client("dashtest-edge", clean=True)
        self.connected = threading.Event()
        self.client.on_connect = lambda *a: self.connected.set()
        self.client.connect(u.host, u.port, clean_start=True)
        self.client.loop_start()
        assert self.connected.wait(30), "publisher could not connect to the broker"

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=30)
        assert info.is_published(), topic

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _buckets(influx) -> list:
    q = f'SELECT count("messages_total") FROM {MEASUREMENTS["ingest_stats"].qualified} WHERE time > now() - 10m ' \
        'GROUP BY time(10s) fill(none)'
    return [v for s in influx.query(q) for v in s.values]


def _wait(sup: Supervisor, predicate, what: str) -> None:
    try:
        wait_until(predicate, 120, 0.5, what)
    except Timeout as exc:
        raise AssertionError(f"{exc}\n--- ingest log ---\n{sup.log('ingest')[-3000:]}") from None


def test_dashboards_on_a_day_through_mqtt_and_the_real_ingest(mosquitto, influxdb, influx, tmp_path, blueranch_bin):
    day = day_content(derived=False, ops=False)
    config = tmp_path / "ingest.yaml"
    config.write_text(yaml.safe_dump({"stats_interval_s": 0.5}))
    with Supervisor(tmp_path / "logs") as sup:
        sup.start("ingest", [blueranch_bin, "ingest", "run", "--mqtt", mosquitto.url, "--influx", influxdb.url,
                             "--database", influx.database, "--config", str(config)])
        pub = Publisher(mosquitto.url)
        try:
            first = day.telemetry[0]
            # The ingest's shared subscription exists once a (re)published message lands; republishing the
            # same message rewrites the same points, so this probe is idempotent.
            _wait(sup, lambda: pub.publish(telemetry_topic(SITE, first.device), first.to_json())
                  or _count(influx, "water_quality", "do_mg_l") > 0, "the ingest to write the probe message")
            for msg in day.telemetry:
                pub.publish(telemetry_topic(SITE, msg.device), msg.to_json())
            pub.publish(telemetry_topic(SITE, "buoy-02"), b'{"schema": "blueranch.telemetry/v1", "device": ')
        finally:
            pub.close()
        expected = sum(1 for m in day.telemetry for s in m.samples if s.quantity == "do_mg_l")
        _wait(sup, lambda: _count(influx, "water_quality", "do_mg_l") == expected, f"{expected} oxygen readings")
        _wait(sup, lambda: _count(influx, "ingest_errors", "count") >= 1, "the rejected message's ingest_errors")
        # Rates are derivatives: they need statistics in two intervals (10 s, the data source minimum).
        _wait(sup, lambda: len(_buckets(influx)) >= 2, "ingest_stats in two 10-s intervals")
    write_points(influx, day.points)  # device_status: see the module docstring
    run_workers(influx, tmp_path, day)
    now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    bad = []
    for _, d in build_all():
        results = run(influx, d.to_json(), int(day.start.timestamp() * 1000), now_ms)
        if d.uid == fleet_health.UID:
            # The ingest ran for seconds, not minutes: over the day (1-min intervals) its rates have a single
            # interval; over the last 10 minutes (10-s intervals) they must have data.
            results = [r for r in results if r.panel != RATE_PANEL]
            recent = [r for r in run(influx, d.to_json(), now_ms - 600_000, now_ms) if r.panel == RATE_PANEL]
            assert recent, RATE_PANEL
            results += recent
        bad += [f"{d.uid}: {r.panel} [{r.ref}]: {r.error or 'no rows'}\n    {r.query}" for r in results if not r.ok]
    assert not bad, "\n".join(bad)
