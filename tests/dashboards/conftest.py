"""Fixtures of the dashboard tests: a sample day in the real InfluxDB (see dashboards/sample_day.py)."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # helper modules beside this file (dashtest_fake_grafana)

from blueranch.dashboards.sample_day import Day, simulated_day  # noqa: E402
from blueranch.influxdb import InfluxClient  # noqa: E402

_databases = itertools.count(1)


class SharedDay(NamedTuple):
    influx: InfluxClient
    day: Day


@pytest.fixture
def day(influx) -> Day:
    """One sample day ending at the current minute, written to this test's database."""
    return simulated_day(influx)


@pytest.fixture(scope="module")
def shared_day(influxdb) -> Iterator[SharedDay]:
    """One sample day for all the tests of a module that only read it (writing it once saves time)."""
    name = f"dash{os.getpid()}_{next(_databases)}"
    client = InfluxClient(influxdb.url, name)
    client.ensure_database()
    try:
        yield SharedDay(client, simulated_day(client))
    finally:
        client.query(f'DROP DATABASE "{name}"', method="POST", database=None)
        client.close()
