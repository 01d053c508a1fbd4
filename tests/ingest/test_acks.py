"""Commit acknowledgements (ingest/acks.py) with the real broker and InfluxDB: after a batch is written each
device is told, per epoch, which seqs InfluxDB holds and which were dead-lettered; several workers of one
group each acknowledge what they wrote."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from blueranch.contracts import mqtt as contract
from blueranch.mqttc import make_client, parse_url
from blueranch.testing.ingest_checks import count_points
from blueranch.testing.loadgen import Publisher
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration
T0 = datetime.now(UTC) - timedelta(hours=1)


def telemetry(device: str, epoch: str | None, seq: int, **extra) -> bytes:
    s = contract.Sample(
        time=T0 + timedelta(milliseconds=seq),
        sensor="sonde-1",
        quantity="do_mg_l",
        value=7.0,
        unit="mg/L",
        qc=1,
    )
    return contract.Telemetry(device=device, epoch=epoch, seq=seq, samples=[s], **extra).to_json()


class AckListener:
    """Subscribes to the ack topics of a site; keeps every ack with the points InfluxDB held when it came."""

    def __init__(self, url: str, site: str, influx=None):
        self.acks: list[contract.Ack] = []
        self.points_at_ack: list[int] = []
        self.influx, self.site = influx, site
        self.subscribed = threading.Event()
        u = parse_url(url)
        self.client = make_client(f"acks-{site}", clean=True)
        self.client.on_connect = lambda c, *a: c.subscribe(f"{contract.PREFIX}/{site}/+/ack", qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(u.host, u.port)
        self.client.loop_start()
        assert self.subscribed.wait(30)

    def _on_message(self, client, userdata, msg) -> None:
        if self.influx is not None and not msg.retain:
            self.points_at_ack.append(count_points(self.influx, self.site))
        self.acks.append(contract.parse_ack(msg.payload, msg.topic))

    def committed(self, device: str, epoch: str) -> set[int]:
        return {
            s
            for a in list(self.acks)
            if a.device == device and a.epoch == epoch
            for first, last in a.committed
            for s in range(first, last + 1)
        }

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_every_written_message_is_acknowledged_per_device_after_influxdb_holds_it(
    mosquitto, influx, start_worker, unique
):
    start_worker()
    acks = AckListener(mosquitto.url, unique, influx)
    pub = Publisher(mosquitto.url, f"{unique}-pub")
    n = 300
    msgs = [
        (contract.telemetry_topic(unique, d), telemetry(d, f"ep-{d}", seq))
        for seq in range(1, n + 1)
        for d in ("a", "b")
    ]
    pub.publish_all(msgs)
    wait_until(
        lambda: (
            acks.committed("a", "ep-a") | acks.committed("b", "ep-b")
            and len(acks.committed("a", "ep-a")) == n
            and len(acks.committed("b", "ep-b")) == n
        ),
        60,
        0.1,
        "acks",
    )
    assert acks.committed("a", "ep-a") == set(range(1, n + 1)) == acks.committed("b", "ep-b")
    assert count_points(influx, unique) == 2 * n
    # an ack only ever follows the write: InfluxDB held at least as many points as acknowledged before it
    acked = 0
    for a, held in zip([a for a in acks.acks], acks.points_at_ack, strict=True):
        acked += a.seqs()
        assert held >= acked, (held, acked)
    assert all(a.worker and a.worker.endswith("-1") for a in acks.acks)
    pub.close()
    acks.close()


def test_two_workers_of_one_group_each_acknowledge_what_they_wrote(mosquitto, influx, start_worker, unique):
    w1, w2 = start_worker(index=1), start_worker(index=2)
    acks = AckListener(mosquitto.url, unique)
    pub = Publisher(mosquitto.url, f"{unique}-pub")
    n = 1000
    pub.publish_all((contract.telemetry_topic(unique, "a"), telemetry("a", "e1", s)) for s in range(1, n + 1))
    wait_until(lambda: len(acks.committed("a", "e1")) == n, 60, 0.1, "every seq acknowledged")
    by_worker = {w: sum(a.seqs() for a in acks.acks if a.worker == w) for w in (w1.worker_id, w2.worker_id)}
    print(f"acknowledged by worker: {by_worker}")
    assert all(by_worker.values()) and sum(by_worker.values()) >= n
    assert w1.acks.published + w2.acks.published == len(acks.acks)
    pub.close()
    acks.close()


def test_dead_lettered_messages_are_acknowledged_as_rejected_others_not_at_all(
    mosquitto, influx, start_worker, unique, caplog
):
    start_worker()
    acks = AckListener(mosquitto.url, unique)
    pub = Publisher(mosquitto.url, f"{unique}-pub")
    topic = contract.telemetry_topic(unique, "a")
    good = telemetry("a", "e1", 1)
    bad = json.loads(telemetry("a", "e1", 2))
    bad["samples"][0]["unit"] = "ppm"  # wrong unit: schema
    duplicate = json.loads(telemetry("a", "e1", 3))
    duplicate["samples"].append(duplicate["samples"][0])  # same sensor, quantity, millisecond
    old_agent = telemetry("a", None, 4)  # no epoch: an agent that does not read acks
    with caplog.at_level(logging.WARNING, logger="blueranch.ingest.acks"):
        pub.publish_all(
            [
                (topic, good),
                (topic, json.dumps(bad).encode()),
                (topic, json.dumps(duplicate).encode()),
                (topic, old_agent),
                (topic, b"{not json"),
                (topic, telemetry("a", "e2", 5)),  # a new epoch: the edge lost or replaced its buffer
            ]
        )
        wait_until(lambda: count_points(influx, unique) == 3, 30, 0.1, "the good messages written")
        wait_until(lambda: 5 in acks.committed("a", "e2") and len(acks.acks) >= 2, 30, 0.1, "acks")
    rejected = {r.seq: r.reason for a in acks.acks for r in a.rejected}
    assert acks.committed("a", "e1") == {1} and rejected == {2: "schema", 3: "duplicate_sample"}
    assert all(4 not in acks.committed("a", e) for e in ("e1", "e2"))
    assert "a new buffer epoch e2 after e1" in caplog.text
    pub.close()
    acks.close()


def test_acks_can_be_turned_off(mosquitto, influx, start_worker, unique):
    worker = start_worker(acks=False)
    pub = Publisher(mosquitto.url, f"{unique}-pub")
    pub.publish_all([(contract.telemetry_topic(unique, "a"), telemetry("a", "e1", 1))])
    wait_until(lambda: count_points(influx, unique) == 1, 30, 0.1, "written")
    assert worker.acks.published == 0
    pub.close()
