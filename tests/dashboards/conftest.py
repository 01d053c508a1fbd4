"""Fixtures of the dashboard tests: a simulated day in the real InfluxDB (see dashtest_simday.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the dashtest_* helper modules beside this file

from dashtest_simday import Day, simulated_day  # noqa: E402


@pytest.fixture
def day(influx) -> Day:
    """One simulated day ending at the current minute, written to this test's database."""
    return simulated_day(influx)
