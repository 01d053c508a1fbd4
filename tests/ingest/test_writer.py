"""Writes against the real InfluxDB: partial writes isolate the refused points; outages are retried."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from blueranch.contracts import mqtt as contract
from blueranch.influxdb import InfluxClient, MissingDatabase
from blueranch.ingest.config import RetryConfig
from blueranch.ingest.writer import Stopped, Writer, check_databases
from blueranch.testing.ingest_checks import Collector, count_points, error_rows
from blueranch.testing.loadgen import Publisher
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration

WEEK_MS = 7 * 86400_000
T0 = 1_795_000_000_000  # 2026-11-19


def _line(site: str, t_ms: int, value: str = "7.5") -> bytes:
    return f"water_quality,device=buoy-01,sensor=sonde-1,site={site} do_mg_l={value} {t_ms}".encode()


def test_a_partial_write_refuses_only_the_conflicting_points(influx):
    # An integer do_mg_l in one shard (one week) makes every float do_mg_l of that shard a type conflict.
    influx.write(_line("a", T0 - 10 * WEEK_MS, "1i"))
    writer = Writer(influx, RetryConfig(), threading.Event())
    chunks = [
        b"\n".join(_line("a", T0 - k * 1000) for k in range(10)),  # good shard
        _line("a", T0 - 10 * WEEK_MS + 1),  # refused
        b"\n".join(_line("a", T0 - k * 1000 - 500) for k in range(7)),
    ]
    refused = writer.write(chunks, [0, 1, 2], "raw")
    assert [(r.owner, r.line) for r in refused] == [(1, _line("a", T0 - 10 * WEEK_MS + 1))]
    assert "conflict" in refused[0].error
    assert count_points(influx, "a") == 1 + 17


def test_retries_until_influxdb_returns_and_stops_when_told(influxdb_factory):
    server = influxdb_factory()
    client = InfluxClient(server.url, "w", timeout_s=2)
    client.ensure_database()
    server.kill()
    stop = threading.Event()
    writer = Writer(client, RetryConfig(initial_s=0.05, max_s=0.2), stop)
    done = threading.Event()
    result: list = []

    def write():
        result.append(writer.write([_line("b", T0)], [0], "raw"))
        done.set()

    threading.Thread(target=write, daemon=True).start()
    wait_until(lambda: writer.retries >= 2, 30, message="retries while InfluxDB is down")
    server.start()
    assert done.wait(60) and result == [[]]
    assert count_points(client, "b") == 1
    server.kill()
    stop.set()
    with pytest.raises(Stopped):
        writer.write([_line("b", T0 + 1)], [0], "raw")


def test_worker_dead_letters_only_the_refused_point_of_a_message(mosquitto, influx, start_worker, unique):
    site = unique
    influx.write(_line(site, T0 - 10 * WEEK_MS, "1i"))
    dead = Collector(mosquitto.url, contract.DEADLETTER_TOPIC, f"{unique}-dl")
    worker = start_worker()
    times = [T0 - 1000, T0 - 10 * WEEK_MS + 5, T0 - 2000]
    samples = [
        {
            "time": datetime.fromtimestamp(t / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "sensor": "sonde-1",
            "quantity": "do_mg_l",
            "value": 6.5,
            "unit": "mg/L",
        }
        for t in times
    ]
    body = json.dumps({"schema": contract.TELEMETRY_SCHEMA, "device": "buoy-01", "seq": 9, "samples": samples})
    pub = Publisher(mosquitto.url, f"{unique}-pub")
    pub.publish_all([(contract.telemetry_topic(site, "buoy-01"), body.encode())])
    pub.close()
    wait_until(lambda: count_points(influx, site) == 3, 60, 0.1, message="two good points + the poison")
    rows = wait_until(
        lambda: [r for r in error_rows(influx) if r["reason"] == "influx_refused"],
        60,
        0.1,
        message="the refused point recorded",
    )
    assert len(rows) == 1 and "conflict" in rows[0]["detail"] and site in rows[0]["topic"]
    letters = wait_until(
        lambda: [m for m in dead.messages if m["reason"] == "influx_refused"],
        60,
        0.1,
        message="the refused point dead-lettered",
    )
    dead.close()
    assert str(times[1]).encode().decode() in letters[0]["payload_excerpt"]
    assert worker.metrics.totals["points_total"] == 2


def test_a_missing_database_is_not_created_by_the_ingest_and_writes_wait_for_init_db(influxdb, unique, caplog):
    client = InfluxClient(influxdb.url, f"late_{unique}")  # nobody ran 'blueranch deploy init-db' yet
    stop = threading.Event()
    writer = Writer(client, RetryConfig(initial_s=0.01, max_s=0.05), stop)
    result: list = []
    done = threading.Event()
    try:
        with pytest.raises(MissingDatabase, match="init-db"):
            check_databases(client)

        def write():
            result.append(writer.write([_line("c", T0)], [0], "raw"))
            done.set()

        threading.Thread(target=write, daemon=True).start()
        wait_until(lambda: writer.retries >= 2, 30, message="retries while the database is missing")
        names = [v[0] for s in client.query("SHOW DATABASES", database=None) for v in s.values]
        assert f"late_{unique}" not in names  # the ingest never creates it
        assert any("blueranch deploy init-db" in r.getMessage() for r in caplog.records)
        client.ensure_database()  # what init-db runs
        assert done.wait(30) and result == [[]]
        assert count_points(client, "c") == 1
        check_databases(client)
    finally:
        stop.set()
        client.query(f'DROP DATABASE "late_{unique}"', method="POST", database=None)
