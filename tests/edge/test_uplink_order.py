"""The uplink's replay order, with a fake paho client (a unit test of one class; the real broker is in
test_agent_integration.py): live messages go out first, the backlog follows in seq order, as backfill.
And, on the real broker, that one thread does the uplink's socket I/O."""

import json
import threading
from types import SimpleNamespace

import paho.mqtt.client as mqtt
import pytest

from blueranch.contracts import mqtt as contract
from blueranch.edge.buffer import Buffer
from blueranch.edge.config import MqttConfig
from blueranch.edge.uplink import REPLAY_CHUNK, Uplink


class FakeClient:
    def __init__(self):
        self.published: list[dict] = []
        self.mid = 0

    def publish(self, topic, payload, qos=0, retain=False):
        self.mid += 1
        if topic.endswith("/telemetry"):
            self.published.append(json.loads(payload))
        return SimpleNamespace(rc=mqtt.MQTT_ERR_SUCCESS, mid=self.mid)


def body(epoch: str, seq: int) -> bytes:
    return contract.Telemetry(
        device="buoy-01",
        epoch=epoch,
        seq=seq,
        samples=[contract.Sample(time="2026-11-21T00:00:00Z", sensor="s", quantity="ph", value=8.0, unit="pH")],
    ).to_json()


def sending_only(buf: Buffer, **cfg) -> Uplink:
    """An Uplink without a network: only the sending logic is under test."""
    up = Uplink.__new__(Uplink)
    up.cfg = MqttConfig(**{"inflight_max": 1000, **cfg})
    up.buffer, up.client, up.telemetry_topic = buf, FakeClient(), contract.telemetry_topic("dachen", "buoy-01")
    up.connected = threading.Event()
    up._init_sending(buf, up.cfg)
    return up


def test_live_messages_are_not_held_back_by_the_backlog(tmp_path):
    buf = Buffer(tmp_path / "b.sqlite")
    for _ in range(3 * REPLAY_CHUNK):
        buf.append(body, 1)
    up = sending_only(buf)
    up.live_from = buf.next_seq  # as at a reconnect: everything stored so far is backlog
    up._live_cursor, up._backlog_cursor = up.live_from - 1, 0
    rounds = []
    for _ in range(4):
        buf.append(body, 1)  # a live reading arrives while the backlog is being replayed
        up._send_round()
        rounds.append([(m["seq"], m["backfill"]) for m in up.client.published])
        up.client.published = []
    for i, sent in enumerate(rounds[:3]):
        live = [s for s, bf in sent if not bf]
        backfill = [s for s, bf in sent if bf]
        assert live == [3 * REPLAY_CHUNK + 1 + i], sent  # the new live message goes first, every round
        assert backfill == list(range(i * REPLAY_CHUNK + 1, (i + 1) * REPLAY_CHUNK + 1))
        assert sent[0] == (live[0], False)
    assert rounds[3] == [(3 * REPLAY_CHUNK + 4, False)]  # backlog done


def test_a_stored_message_that_no_longer_validates_is_replayed_as_stored(tmp_path, caplog):
    """The backfill marker is set by rebuilding the message; a body the contract refuses (an older agent's)
    is sent unchanged, so the shore dead-letters it with its reason instead of the edge jamming or losing it."""
    buf = Buffer(tmp_path / "b.sqlite")
    buf.append(body, 1)
    buf.append(lambda e, seq: b'{"device":"buoy-01","seq":%d,"backfill":false,"samples":[{"x":1}]}' % seq, 1)
    up = sending_only(buf)
    up.live_from = buf.next_seq
    up._live_cursor, up._backlog_cursor = up.live_from - 1, 0
    with caplog.at_level("ERROR"):
        assert up._send_round() == 2
    assert [(m["seq"], m["backfill"]) for m in up.client.published] == [(1, True), (2, False)]
    assert "buffered seq 2 is not a valid telemetry message" in caplog.text


@pytest.mark.integration
def test_only_the_network_thread_touches_the_socket(tmp_path, mosquitto):
    """paho's publish() writes to the socket from the caller's thread unless the loop is paho's own or a
    register-write hook is set; the sender publishing while the network thread reads corrupted TLS streams
    (a lost connection every few minutes in the demo). Every write here must come from the network thread."""
    from blueranch.edge.config import MqttConfig as Cfg
    from blueranch.testing.ingest_checks import Collector
    from blueranch.testing.wait import wait_until

    sink = Collector(mosquitto.url, contract.telemetry_topic("dachen", "buoy-order"), "order-sink")  # PUBACK 0x00
    buf = Buffer(tmp_path / "b.sqlite")
    up = Uplink(
        Cfg(url=mosquitto.url, delivery="puback", status_interval_s=0.2),
        "dachen",
        "buoy-order",
        buf,
        lambda state: contract.Status(device="buoy-order", state=state),
    )
    writers: set[str] = set()
    loop_write = up.client.loop_write

    def recorded():
        writers.add(threading.current_thread().name)
        return loop_write()

    up.client.loop_write = recorded
    up.start()
    try:
        for _ in range(200):
            buf.append(body, 1)
            up.wake.set()
        wait_until(lambda: up.acked >= 200, 60, 0.05, "200 messages acknowledged")
        running = set(writers)  # stop() drains from the caller's thread once the network thread has ended
    finally:
        up.stop()
        buf.close()
        sink.close()
    assert running == {"uplink-net"}, running
    assert len({m["seq"] for m in sink.messages}) == 200
