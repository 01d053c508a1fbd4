"""``blueranch ingest``: MQTT to InfluxDB workers."""

from __future__ import annotations

import logging
import signal

import click

from blueranch.contracts.influx import DEFAULT_DATABASE


@click.group("ingest")
def group() -> None:
    """MQTT to InfluxDB ingest workers."""


@group.command("run")
@click.option("--mqtt", "mqtt_url", default="mqtt://127.0.0.1:1883", show_default=True, help="Broker URL.")
@click.option("--influx", "influx_url", default="http://127.0.0.1:8086", show_default=True,
              help="InfluxDB base URL (v1 HTTP API).")
@click.option("--database", default=DEFAULT_DATABASE, show_default=True)
@click.option("--log-level", default="INFO", show_default=True)
def run(mqtt_url: str, influx_url: str, database: str, log_level: str) -> None:
    """Subscribe to telemetry, validate it and write it to InfluxDB until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from blueranch.influxdb import InfluxClient
    from ingest.worker import Worker

    worker = Worker(mqtt_url, InfluxClient(influx_url, database))
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    worker.run()
