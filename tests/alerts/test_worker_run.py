"""The run loop: evaluates on its interval, survives an InfluxDB outage, stops on request; future
timestamps are not evaluated as the present."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from blueranch.influxdb import InfluxClient
from blueranch.models.alerts.config import AlertsConfig
from blueranch.models.alerts.metrics import Metrics
from blueranch.models.alerts.store import Store
from blueranch.models.alerts.worker import Worker
from blueranch.testing.alerts_synthetic import DAY_MS, MIN_MS, write_series
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration


def test_run_loop_survives_an_influxdb_outage(influxdb_factory, tmp_path, caplog):
    server = influxdb_factory()
    client = InfluxClient(server.url, "alerts_run", timeout_s=2)
    client.ensure_database()
    cfg = AlertsConfig.model_validate({"state_path": str(tmp_path / "s.sqlite")})
    stop = threading.Event()

    metrics = Metrics()

    def work():  # the worker owns its SQLite connection in its own thread, as in the service
        Worker(InfluxClient(server.url, "alerts_run", timeout_s=2), cfg).run(0.2, stop=stop, metrics=metrics)

    store = Store(cfg.state_path)  # a second connection, as `blueranch alerts list` would open
    thread = threading.Thread(target=work, daemon=True)
    caplog.set_level(logging.WARNING, "blueranch.alerts")
    thread.start()
    try:
        server.kill()
        # one WARNING naming the address when the outage starts (then one a minute), no traceback
        wait_until(lambda: f"cannot reach InfluxDB at {server.url}" in caplog.text, 60, 0.1, "a logged outage")
        assert thread.is_alive() and not any(r.exc_info for r in caplog.records)
        server.start()
        now = int(time.time() * 1000)
        t = np.arange(now - 3 * 3600_000, now, 10 * MIN_MS)
        write_series(
            client, "dachen", "buoy-01", t, {"do_mg_l": np.where(t > now - 20 * MIN_MS, 2.0, 7.0)}, sensor="sonde"
        )
        wait_until(lambda: store.list(open_only=True), 60, 0.1, "an open alert after the outage")
        assert store.list(open_only=True)[0].kind == "do_low"
        wait_until(
            lambda: metrics.registry.get_sample_value("blueranch_alerts_active", {"state": "open"}) == 1,
            30,
            0.1,
            "the open alert in the metrics",
        )
        assert metrics.registry.get_sample_value("blueranch_alerts_evaluations_total", {"result": "failed"}) >= 1
        assert metrics.registry.get_sample_value("blueranch_alerts_events_total", {"event": "open"}) == 1
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    store.close()


def test_readings_from_the_future_are_not_the_present(influx, make_worker):
    now = int(time.time() * 1000)
    t = np.arange(now - 6 * 3600_000, now, 10 * MIN_MS)
    write_series(influx, "dachen", "buoy-01", t, {"do_mg_l": np.full(len(t), 7.0)}, sensor="sonde")
    write_series(influx, "dachen", "buoy-01", [now + DAY_MS], {"do_mg_l": np.array([0.5])}, sensor="sonde")
    events = make_worker().tick(now)
    assert [e for e in events if e["kind"] == "do_low"] == []
