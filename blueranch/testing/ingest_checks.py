"""Helpers for ingest tests and benchmarks: point counts, recorded rejections, a dead-letter collector."""

from __future__ import annotations

import json
import threading

from blueranch.mqttc import make_client, parse_url


def count_points(influx, site: str, field: str = "do_mg_l", measurement: str = "water_quality") -> int:
    series = influx.query(f'SELECT count("{field}") FROM "raw"."{measurement}" WHERE "site" = \'{site}\'')
    return series[0].values[0][1] if series else 0


def error_rows(influx) -> list[dict]:
    series = influx.query('SELECT * FROM "ops"."ingest_errors"')
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
