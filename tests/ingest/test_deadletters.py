"""Dead letters stay small whatever the message; the ingest never loops on one; nothing vanishes.

On the real broker with the shipped ``max_packet_size 270000`` (blueranch/deploy/broker.py): a 189 KB message
whose 1,500 samples carry one unknown key each (its full violation list is about 50 times its size) between
good messages. Every good message is written, the poison is acknowledged and counted, and the worker connects
once.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import PurePath

import pytest

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import Violation
from blueranch.deploy.broker import BrokerLayout, render
from blueranch.ingest import deadletter
from blueranch.testing.ingest_checks import Collector, count_points, error_rows
from blueranch.testing.loadgen import Publisher, payload
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration

START_MS = 1_795_000_000_000


def _shipped_max_packet_size() -> int:
    conf = render(BrokerLayout("plugin.so", PurePath("d.json"), PurePath("data"), PurePath("certs")))
    return int(re.search(r"^max_packet_size (\d+)$", conf, re.M).group(1))


@pytest.fixture
def broker(mosquitto_factory):
    return mosquitto_factory(extra_config=f"max_packet_size {_shipped_max_packet_size()}\n")


def poison(device: str = "buoy-01", samples: int = 1500) -> bytes:
    s = ",".join(
        f'{{"time":"2026-11-19T00:00:{i % 60:02d}.{i // 60:03d}Z","sensor":"sonde-1","quantity":"do_mg_l",'
        f'"value":7.2,"unit":"mg/L","qc":1,"x_{i:04d}":1}}'
        for i in range(samples)
    )
    return f'{{"schema":"{contract.TELEMETRY_SCHEMA}","device":"{device}","seq":7,"samples":[{s}]}}'.encode()


def _connects(caplog, worker) -> int:
    return sum(f"{worker.worker_id} connected" in r.getMessage() for r in caplog.records)


def test_a_poison_message_is_acknowledged_and_counted_and_the_ingest_connects_once(
    broker, influx, start_worker, unique, caplog
):
    assert _shipped_max_packet_size() == 270000
    caplog.set_level(logging.INFO, "blueranch.ingest")
    site = unique
    body = poison()
    assert 180_000 < len(body) < 200_000
    dead = Collector(broker.url, contract.DEADLETTER_TOPIC, f"{unique}-dl")
    worker = start_worker(url=broker.url, session_expiry_s=300)
    topic = contract.telemetry_topic(site, "buoy-01")
    msgs = [(topic, payload("buoy-01", i, START_MS)) for i in range(5)]
    msgs += [(topic, body)]
    msgs += [(topic, payload("buoy-01", i, START_MS)) for i in range(5, 10)]
    pub = Publisher(broker.url, f"{unique}-pub")
    try:
        pub.publish_all(msgs)
    finally:
        pub.close()
    wait_until(lambda: count_points(influx, site) == 10, 60, 0.1, message="every good message written")
    rows = wait_until(lambda: [r for r in error_rows(influx) if site in r["topic"]], 60, 0.1, message="counted")
    letters = wait_until(lambda: [m for m in dead.messages if site in m["topic"]], 60, 0.1, message="dead letter")
    dead.close()
    assert [r["reason"] for r in rows] == ["schema"] and len(rows[0]["detail"]) <= deadletter.SUMMARY_CHARS
    (letter,) = letters
    assert letter["reason"] == "schema" and letter["size_bytes"] == len(body)
    assert letter["violations_total"] == 1500 and len(letter["violations"]) == deadletter.MAX_VIOLATIONS
    assert "samples[0].x_0000" in letter["detail"] and "(+" in letter["detail"]
    assert len(json.dumps(letter).encode()) <= worker.config.deadletter_max_bytes
    assert worker.broker_max_packet == 270000  # from CONNACK
    assert _connects(caplog, worker) == 1, caplog.text
    assert "lost the broker" not in caplog.text
    assert max(len(r.getMessage()) for r in caplog.records) < 2000
    # Acknowledged: the same session, resumed by a new worker, gets nothing again.
    worker.stop()
    again = start_worker(url=broker.url, session_expiry_s=300)
    pub = Publisher(broker.url, f"{unique}-pub2")
    try:
        pub.publish_all([(topic, payload("buoy-01", 10, START_MS))])
    finally:
        pub.close()
    wait_until(lambda: count_points(influx, site) == 11, 60, 0.1, message="the next good message")
    assert len([r for r in error_rows(influx) if site in r["topic"]]) == 1
    assert again.metrics.totals["errors_total"] == 0


def test_repeated_rejections_are_summarised_and_every_one_counted(broker, influx, start_worker, unique, caplog):
    caplog.set_level(logging.WARNING, "blueranch.ingest")
    site = unique
    worker = start_worker(url=broker.url)
    topic = contract.telemetry_topic(site, "buoy-01")
    bad = poison(samples=800)  # about 100 KB, 800 violations
    pub = Publisher(broker.url, f"{unique}-pub")
    try:
        pub.publish_all([(topic, bad)] * 30 + [(topic, payload("buoy-01", 1, START_MS))])
    finally:
        pub.close()
    wait_until(lambda: count_points(influx, site) == 1, 60, 0.1, message="the good message after them")
    wait_until(lambda: len([r for r in error_rows(influx) if site in r["topic"]]) == 30, 60, 0.1, message="30")
    logged = [r.getMessage() for r in caplog.records if "rejected message" in r.getMessage()]
    assert len(logged) == 20  # at most 20 lines per reason a minute; then one line with how many were not
    assert max(len(m) for m in logged) < 1500
    assert worker.metrics.registry.get_sample_value("blueranch_ingest_deadletters_total", {"result": "published"}) == 30


def test_telemetry_on_topics_the_contract_does_not_know_is_counted_and_dead_lettered(
    broker, influx, start_worker, unique
):
    site = unique
    dead = Collector(broker.url, contract.DEADLETTER_TOPIC, f"{unique}-dl")
    start_worker(url=broker.url)
    good = payload("buoy-01", 1, START_MS)
    wrong = [
        f"{contract.PREFIX}/{site}/buoy-01/Telemetry",
        f"{contract.ROOT}/V1/{site}/buoy-01/telemetry",
        f"{contract.PREFIX}/{site}/telemetry",
        f"{contract.PREFIX}/{site}/buoy-01/telemetry/extra",
    ]
    others = [
        contract.events_topic(site, "buoy-01"),
        contract.cmd_topic(site, "buoy-01"),
        f"{contract.PREFIX}/{site}/buoy-01/ack",
    ]
    pub = Publisher(broker.url, f"{unique}-pub")
    try:
        pub.publish_all([(t, good) for t in wrong + others] + [(contract.telemetry_topic(site, "buoy-01"), good)])
    finally:
        pub.close()
    wait_until(lambda: count_points(influx, site) == 1, 60, 0.1, message="the good one")
    rows = wait_until(
        lambda: (r := [r for r in error_rows(influx) if site in r["topic"]]) and len(r) >= len(wrong) and r,
        60,
        0.1,
        message="each wrong topic counted",
    )
    assert sorted(r["topic"] for r in rows) == sorted(wrong) and {r["reason"] for r in rows} == {"bad_topic"}
    wait_until(lambda: len([m for m in dead.messages if site in m["topic"]]) == len(wrong), 60, 0.1, message="DLs")
    dead.close()


def test_retained_telemetry_is_handled_once_not_on_every_start(broker, influx, start_worker, unique):
    site = unique
    topic = contract.telemetry_topic(site, "buoy-01")
    dead = Collector(broker.url, contract.DEADLETTER_TOPIC, f"{unique}-dl")
    worker = start_worker(url=broker.url, session_expiry_s=300)
    pub = Publisher(broker.url, f"{unique}-pub")
    try:
        pub.client.publish(topic, b'{"garbage": true}', qos=1, retain=True).wait_for_publish(10)
        pub.publish_all([(topic, payload("buoy-01", 1, START_MS))])
    finally:
        pub.close()
    wait_until(lambda: count_points(influx, site) == 1, 60, 0.1, message="good one")
    wait_until(lambda: [m for m in dead.messages if site in m["topic"]], 60, 0.1, message="dead-lettered once")
    assert worker.metrics.registry.get_sample_value("blueranch_ingest_flagged_total", {"reason": "retained_telemetry"})
    # its error record written (and so the message acknowledged) before the stop: else it is resent, by design
    wait_until(lambda: [r for r in error_rows(influx) if site in r["topic"]], 60, 0.1, message="error record")
    worker.stop()
    for _ in range(2):  # restarts: the retained message is still on the broker, and not handled again
        w = start_worker(url=broker.url, session_expiry_s=300)
        pub = Publisher(broker.url, f"{unique}-pub")
        pub.publish_all([(topic, payload("buoy-01", 2, START_MS))])
        pub.close()
        wait_until(lambda: count_points(influx, site) == 2, 60, 0.1, message="the next good one")
        w.stop()
    assert len([r for r in error_rows(influx) if site in r["topic"]]) == 1
    assert len([m for m in dead.messages if site in m["topic"]]) == 1
    dead.close()


def test_a_dead_letter_fits_any_budget_whatever_the_violations():
    many = [Violation(f"samples[{i}].x" + "y" * 300, "v" * 10_000, "is not a known field " * 20) for i in range(5000)]
    for limit in (300, 1024, 16 * 1024):
        body = deadletter.build("schema", "t" * 5000, b"p" * 300_000, many, "ingest-1", limit)
        assert body is not None and len(body) <= limit
        doc = json.loads(body)
        assert doc["reason"] == "schema" and doc["violations_total"] == 5000 and doc["size_bytes"] == 300_000
    assert deadletter.build("schema", "t", b"", many, "ingest-1", 10) is None
    assert deadletter.budget(16 * 1024, 270000, contract.DEADLETTER_TOPIC) == 16 * 1024
    assert deadletter.budget(16 * 1024, 1000, contract.DEADLETTER_TOPIC) < 1000 - len(contract.DEADLETTER_TOPIC)
    assert len(deadletter.summary(many)) <= deadletter.SUMMARY_CHARS and "(+" in deadletter.summary(many)
