"""Helpers for ingest tests and benchmarks: point counts, recorded rejections, a dead-letter collector."""

from __future__ import annotations

import json
import threading

from blueranch.contracts.quantities import QUANTITIES
from blueranch.contracts.query import TagEq, aggregate, window
from blueranch.influxdb import InfluxClient
from blueranch.mqttc import make_client, parse_url
from blueranch.reader import Reader


def count_points(influx: InfluxClient, site: str, field: str = "do_mg_l", measurement: str = "water_quality") -> int:
    """Points of ``site`` that carry ``field`` (all time)."""
    series = Reader(influx).run(aggregate(measurement, "count", field, None, where=(TagEq("site", site),)))
    return series[0].values[0][1] if series else 0


def count_samples(influx: InfluxClient, device: str, quantities) -> int:
    """Samples of ``device`` that InfluxDB holds, over the fields of ``quantities`` (all time): one per sensor,
    quantity and millisecond, so a message written twice counts once."""
    total = 0
    reader = Reader(influx)
    for name in sorted(set(quantities)):
        q = QUANTITIES[name]
        for s in reader.run(aggregate(q.measurement, "count", q.name, None, where=(TagEq("device", device),))):
            total += s.values[0][1]
    return total


def error_rows(influx: InfluxClient) -> list[dict]:
    """Every recorded rejection (``ingest_errors``): fields and the ``reason`` and ``worker`` tags."""
    q = window("ingest_errors", ("count", "topic", "detail"), None, tag_columns=("reason", "worker"))
    series = Reader(influx).run(q)
    return series[0].rows() if series else []


class Collector:
    """Subscribes to a topic and keeps every payload (dead letters)."""

    def __init__(self, url: str, topic: str, client_id: str, username=None, password=None):
        u = parse_url(url)
        self.messages: list[dict] = []
        self.subscribed = threading.Event()
        self.client = make_client(client_id, clean=True, username=username, password=password)
        self.client.on_message = lambda c, ud, m: self.messages.append(json.loads(m.payload))
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.connect(u.host, u.port, clean_start=True)
        self.client.loop_start()
        assert self.subscribed.wait(30)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
