"""Self-metrics: the Prometheus endpoint and the ``ingest_stats`` measurement (contract fields)."""

from __future__ import annotations

import pytest
import requests

from blueranch.contracts import mqtt as contract
from blueranch.contracts.influx import MEASUREMENTS
from blueranch.testing.ingest_checks import count_points
from blueranch.testing.loadgen import Publisher, stream
from blueranch.testing.services import free_port
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration


def test_prometheus_endpoint_and_ingest_stats(mosquitto, influx, start_worker, unique):
    port = free_port()
    worker = start_worker(metrics_port=port)
    pub = Publisher(mosquitto.url, f"{unique}-pub")
    pub.publish_all(
        [*stream(unique, ["buoy-01"], 50, samples=3), (contract.telemetry_topic(unique, "buoy-01"), b"not json")]
    )
    pub.close()
    wait_until(lambda: count_points(influx, unique) == 150, 60, 0.1, message="points written")

    def scrape() -> str:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return text if "blueranch_ingest_points_total 150.0" in text else ""

    text = wait_until(scrape, 30, 0.1, message="Prometheus counters")
    assert "blueranch_ingest_messages_total 51.0" in text
    assert 'blueranch_ingest_errors_total{reason="invalid_json"} 1.0' in text
    assert "blueranch_ingest_batch_latency_seconds_count" in text and "blueranch_ingest_lag_seconds" in text

    stats = MEASUREMENTS["ingest_stats"]

    def last_stats():
        s = influx.query(
            f'SELECT * FROM "ops"."ingest_stats" WHERE "worker" = \'{worker.worker_id}\' ORDER BY time DESC LIMIT 1'
        )
        row = s[0].rows()[0] if s else None
        return row if row and row["points_total"] == 150 else None

    row = wait_until(last_stats, 30, 0.2, message="ingest_stats written")
    assert {f.name for f in stats.fields} <= set(row)
    assert row["messages_total"] == 51 and row["errors_total"] == 1 and row["batches_total"] >= 1
    assert row["lag_s"] > 0 and row["batch_latency_s"] > 0
