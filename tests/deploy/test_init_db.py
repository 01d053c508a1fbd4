"""``blueranch deploy init-db`` against InfluxDB 3's database API, whose requests are those of its documentation
(``POST /api/v3/configure/database`` with ``db`` and ``retention_period``: docs.influxdata.com, "Create a
database", InfluxDB 3 Core). There is no InfluxDB 3 here: a stand-in answers ``/ping`` as version 3 and records
what it is sent; a database that exists is answered 409, as the real one does. The 1.x paths run against the real
InfluxDB in tests/foundation/test_storage_gate.py and test_cli_faults.py."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from blueranch.cli import main


class _InfluxDB3(BaseHTTPRequestHandler):
    created: list[dict] = []
    queries: list[str] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/ping"):
            body = json.dumps({"version": "3.8.3", "revision": "x"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def do_POST(self) -> None:  # noqa: N802
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/api/v3/configure/database":
            body = json.loads(data)
            exists = any(c["db"] == body["db"] for c in self.created)
            self.created.append(body)
            self.send_response(409 if exists else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.queries.append(data.decode())
            self.send_error(400)


@pytest.fixture
def influxdb3():
    _InfluxDB3.created, _InfluxDB3.queries = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _InfluxDB3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_init_db_makes_one_database_per_policy_through_the_v3_api_and_no_influxql(influxdb3):
    env = {"BLUERANCH_INFLUX_NAMING": "db/rp", "BLUERANCH_INFLUX_NAMING_SEPARATOR": ""}
    for _ in range(2):  # a second run: every database exists (409), nothing fails
        result = CliRunner().invoke(main, ["deploy", "init-db", "--influx", influxdb3], env=env)
        assert result.exit_code == 0, result.output
    assert "blueranch/raw, blueranch/derived, blueranch/ops ready (db/rp" in result.output
    assert _InfluxDB3.created[:3] == [
        {"db": "blueranch/raw", "retention_period": "730d"},
        {"db": "blueranch/derived"},  # INF: no retention period, data does not expire
        {"db": "blueranch/ops", "retention_period": "30d"},
    ]
    assert _InfluxDB3.queries == []  # no CREATE DATABASE / RETENTION POLICY over InfluxQL


def test_the_db_rp_naming_on_a_1x_server_refuses_the_slash_in_one_line(influxdb):
    """InfluxDB 1.6 answers 'invalid name' to db/rp: one line, exit 1 (use BLUERANCH_INFLUX_NAMING_SEPARATOR)."""
    env = {"BLUERANCH_INFLUX_NAMING": "db/rp", "BLUERANCH_INFLUX_NAMING_SEPARATOR": ""}
    result = CliRunner().invoke(main, ["deploy", "init-db", "--influx", influxdb.url, "--database", "x"], env=env)
    assert result.exit_code == 1 and "invalid name" in result.output and "Traceback" not in result.output
    assert "BLUERANCH_INFLUX_NAMING_SEPARATOR=-" in result.output
