"""Shared fixtures: real Mosquitto and InfluxDB on free ports, in temporary folders.

- ``mosquitto`` / ``influxdb``: one broker and one database server for the whole session.
- ``influx``: an :class:`InfluxClient` on a fresh database (one per test), contract policies created.
- ``mosquitto_factory`` / ``influxdb_factory``: private servers for tests that kill or restart them.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

from blueranch.influxdb import InfluxClient
from blueranch.testing.services import InfluxDB, Mosquitto

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "blueranch"
_db_counter = itertools.count(1)


@pytest.fixture(scope="session")
def blueranch_bin() -> str:
    assert BIN.exists(), f"{BIN} missing: install the package into the venv (make venv)"
    return str(BIN)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory):
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory):
    server = InfluxDB(tmp_path_factory.mktemp("influxdb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influx(influxdb, request):
    """A client on a database of this test's own (created with the contract's retention policies)."""
    name = f"t{os.getpid()}_{next(_db_counter)}"
    client = InfluxClient(influxdb.url, name)
    client.ensure_database()  # what blueranch deploy init-db runs (the ingest never creates databases)
    yield client
    try:
        client.query(f'DROP DATABASE "{name}"', method="POST", database=None)
    finally:
        client.close()


@pytest.fixture
def mosquitto_factory(tmp_path):
    started: list[Mosquitto] = []

    def make(**kwargs) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"mosquitto{len(started)}", **kwargs)
        started.append(broker)
        return broker.start()

    yield make
    for b in started:
        b.stop()


@pytest.fixture
def influxdb_factory(tmp_path):
    started: list[InfluxDB] = []

    def make(**kwargs) -> InfluxDB:
        server = InfluxDB(tmp_path / f"influxdb{len(started)}", **kwargs)
        started.append(server)
        return server.start()

    yield make
    for s in started:
        s.stop()
