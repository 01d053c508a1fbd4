"""Fixtures for the alert tests."""

from __future__ import annotations

import pytest

from blueranch.models.alerts.config import AlertsConfig
from blueranch.models.alerts.store import Store
from blueranch.models.alerts.worker import Worker


@pytest.fixture
def make_worker(influx, tmp_path):
    made: list[Worker] = []

    def make(cfg: dict | None = None, mqtt_client=None, clock=None, state: str = "alerts.sqlite") -> Worker:
        config = AlertsConfig.model_validate({"state_path": str(tmp_path / state), **(cfg or {})})
        kwargs = {"clock": clock} if clock else {}
        w = Worker(influx, config, Store(config.state_path), mqtt_client=mqtt_client, **kwargs)
        made.append(w)
        return w

    yield make
    for w in made:
        w.store.close()
