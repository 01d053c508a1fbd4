"""Telemetry load for tests and benchmarks: contract-valid payloads built fast, published at QoS 1.

Each sample of a generated stream has its own millisecond (``start_ms + seq * samples + i``), so every
sample is a distinct InfluxDB point and ``count()`` over the field counts exactly the samples written
(a duplicate delivery rewrites the same point and does not change the count).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from blueranch.contracts import mqtt as contract
from blueranch.mqttc import make_client, parse_url

QUANTITY = "do_mg_l"  # water_quality, mg/L: the contract's most common telemetry field
UNIT = "mg/L"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def payload(
    device: str, seq: int, start_ms: int, samples: int = 1, sensor: str = "sonde-1", value: float = 7.25
) -> bytes:
    """A valid telemetry message of ``samples`` samples of dissolved oxygen."""
    base = start_ms + seq * samples
    body = ",".join(
        f'{{"time":"{_iso(base + i)}","sensor":"{sensor}","quantity":"{QUANTITY}","value":{value},'
        f'"unit":"{UNIT}","qc":1}}'
        for i in range(samples)
    )
    return (f'{{"schema":"{contract.TELEMETRY_SCHEMA}","device":"{device}","seq":{seq},"samples":[{body}]}}').encode()


def stream(
    site: str, devices: list[str], messages: int, samples: int = 1, start_ms: int | None = None
) -> Iterator[tuple[str, bytes]]:
    """``messages`` (topic, payload) pairs spread round-robin over ``devices``."""
    start = int(time.time() * 1000) - 3_600_000 if start_ms is None else start_ms
    topics = [contract.telemetry_topic(site, d) for d in devices]
    for n in range(messages):
        k = n % len(devices)
        yield topics[k], payload(devices[k], n // len(devices), start + k * messages * samples, samples)


class Publisher:
    """A paho QoS 1 publisher with a wide in-flight window; :meth:`publish_all` returns once all are acked."""

    def __init__(
        self,
        url: str,
        client_id: str = "loadgen",
        username: str | None = None,
        password: str | None = None,
        inflight: int = 1000,
    ):
        u = parse_url(url)
        self.client = make_client(client_id, clean=True, username=username, password=password)
        self.client.max_inflight_messages_set(inflight)
        self._acked = 0
        self._lock = threading.Condition()
        self.client.on_publish = self._on_publish
        self.client.connect(u.host, u.port, clean_start=True)
        self.client.loop_start()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self._acked += 1
            self._lock.notify_all()

    def publish_all(
        self,
        messages: Iterable[tuple[str, bytes]],
        rate_per_s: float | None = None,
        timeout_s: float = 300,
        on_send=None,
    ) -> int:
        """Publish at QoS 1 (optionally paced); wait for every PUBACK. Returns the number sent."""
        with self._lock:
            start_acked = self._acked
        sent = 0
        t0 = time.monotonic()
        for topic, body in messages:
            if rate_per_s:
                due = t0 + sent / rate_per_s
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # pacing the load, not synchronising
            if on_send is not None:
                on_send(sent)
            self.client.publish(topic, body, qos=1)
            sent += 1
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._acked - start_acked < sent:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{sent - (self._acked - start_acked)} of {sent} publishes not acknowledged")
                self._lock.wait(min(left, 1.0))
        return sent

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
