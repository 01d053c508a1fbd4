"""Fixtures of the dashboard tests: a sample day in the real InfluxDB (see dashboards/sample_day.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # helper modules beside this file (dashtest_fake_grafana)

from dashboards.sample_day import Day, simulated_day  # noqa: E402


@pytest.fixture
def day(influx) -> Day:
    """One simulated day ending at the current minute, written to this test's database."""
    return simulated_day(influx)
