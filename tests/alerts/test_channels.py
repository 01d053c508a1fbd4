"""Channels: webhook retries and durable outbox, InfluxDB alerts measurement, MQTT, SMTP."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from blueranch.contracts.mqtt import alerts_topic
from blueranch.models.alerts.channels import (
    Dispatcher,
    InfluxChannel,
    MqttChannel,
    SmtpSender,
    WebhookSender,
    webhook_payload,
)
from blueranch.models.alerts.config import AlertsConfig, Channels, SmtpChannel, WebhookChannel
from blueranch.models.alerts.lifecycle import Engine
from blueranch.models.alerts.rules.base import Observation
from blueranch.models.alerts.store import Store
from blueranch.mqttc import make_client
from blueranch.testing.wait import wait_until

MIN = 60_000
T0 = 1_780_000_000_000


class Receiver:
    """A local HTTP receiver that answers ``fail_status`` to the first ``fail_first`` requests."""

    def __init__(self, fail_first: int, fail_status: int = 503):
        self.received: list[dict] = []
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests += 1
                if outer.requests <= fail_first:
                    self.send_response(fail_status)
                    self.end_headers()
                    return
                outer.received.append({"id": self.headers["X-BlueRanch-Notification-Id"], "body": json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make_events(store: Store, n_devices: int = 3) -> list[dict]:
    """Open, escalate and resolve a storm alert on each of ``n_devices`` devices."""
    cfg = AlertsConfig.model_validate({"rules": {"storm": {"lifecycle": {"escalate_after_s": 60, "clear_after_s": 0}}}})
    e = Engine(cfg, store)
    events = []
    for i, (trig, clear) in enumerate([(True, False), (True, False), (False, True)]):
        obs = [
            Observation("dachen", f"wx-{d}", "storm", "", "warning", trig, clear, 20.0, 17.2, "wind 20 m/s")
            for d in range(n_devices)
        ]
        events += e.apply(obs, T0 + i * 2 * MIN)
    return events


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "state.sqlite")
    yield s
    s.close()


def test_failing_then_recovering_webhook_gets_every_notification(store):
    rx = Receiver(fail_first=7)
    try:
        events = make_events(store)
        assert len(events) == 9
        clock = Clock()
        ch = Channels(retry_base_s=5, retry_max_s=60)
        d = Dispatcher(store, [WebhookSender(WebhookChannel(url=rx.url, attempts=2))], ch, clock)
        rounds = 0
        while store.outbox_counts()["waiting"] or rounds == 0:
            d.deliver()
            clock.t += 61  # past any back-off (the outbox's own clock, not a sleep)
            rounds += 1
            assert rounds < 20
        assert rx.requests > 7 and rounds > 1
        assert [r["id"] for r in rx.received] == [e["notification_id"] for e in events]  # all, in order, once
        assert store.outbox_counts() == {"delivered": 9, "failed": 0, "waiting": 0}
    finally:
        rx.close()


def test_outbox_survives_a_restart_before_the_receiver_recovers(tmp_path):
    rx = Receiver(fail_first=1000)
    path = tmp_path / "state.sqlite"
    s1 = Store(path)
    events = make_events(s1, n_devices=1)
    Dispatcher(s1, [WebhookSender(WebhookChannel(url=rx.url, attempts=1))], Channels(), Clock()).deliver()
    s1.close()
    rx.close()
    rx2 = Receiver(fail_first=0)
    try:
        s2 = Store(path)
        clock = Clock()
        clock.t += 3600
        # Same channel name, new URL (the receiver moved): the queued deliveries follow the channel.
        d = Dispatcher(s2, [WebhookSender(WebhookChannel(url=rx2.url, attempts=1))], Channels(), clock)
        d.deliver()
        assert [r["id"] for r in rx2.received] == [e["notification_id"] for e in events]
        s2.close()
    finally:
        rx2.close()


def test_webhook_4xx_is_permanent_and_logged_not_retried(store, caplog):
    rx = Receiver(fail_first=1000, fail_status=400)
    try:
        make_events(store, n_devices=1)
        d = Dispatcher(store, [WebhookSender(WebhookChannel(url=rx.url, attempts=3))], Channels(), Clock())
        d.deliver()
        assert rx.requests == 3  # one try per notification, no retries
        assert store.outbox_counts() == {"delivered": 0, "failed": 3, "waiting": 0}
        assert "rejected" in caplog.text and "HTTP 400" in caplog.text
    finally:
        rx.close()


def test_webhook_formats():
    body = {
        "severity": "critical",
        "event": "open",
        "kind": "do_low",
        "site": "dachen",
        "device": "b1",
        "subject": "",
        "message": "DO 2.1 mg/L",
        "alert_id": "abc",
        "time": "2026-07-01T00:00:00Z",
    }
    assert "DO 2.1 mg/L" in webhook_payload(body, "slack")["text"]
    assert webhook_payload(body, "wecom")["msgtype"] == "text"
    assert "CRITICAL" in webhook_payload(body, "dingtalk")["text"]["content"]
    assert webhook_payload(body, "generic") is body


@pytest.mark.integration
def test_influx_alerts_measurement(store, influx):
    make_events(store, n_devices=1)
    Dispatcher(store, [InfluxChannel(influx)], Channels(), Clock()).deliver()
    rows = influx.query('SELECT * FROM "derived"."alerts" GROUP BY *')
    got = sorted(
        (s.tags["state"], r["open"], r["kind"] if "kind" in r else s.tags["kind"]) for s in rows for r in s.rows()
    )
    assert got == [("escalated", 1, "storm"), ("open", 1, "storm"), ("resolved", 0, "storm")]
    assert {s.tags["device"] for s in rows} == {"wx-0"}


@pytest.mark.integration
def test_mqtt_alert_topic(store, mosquitto):
    got: list[dict] = []
    subscribed = threading.Event()
    sub = make_client("alerts-test-sub", clean=True)
    sub.on_message = lambda c, u, m: got.append(json.loads(m.payload))
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe(alerts_topic("dachen"), qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()
    pub = make_client("alerts-test-pub", clean=True)
    for c in (sub, pub):
        c.connect("127.0.0.1", mosquitto.port)
        c.loop_start()
    try:
        wait_until(lambda: pub.is_connected() and subscribed.is_set(), 30, message="MQTT connected and subscribed")
        events = make_events(store, n_devices=1)
        Dispatcher(store, [MqttChannel(pub)], Channels(), Clock()).deliver()
        wait_until(lambda: len(got) == len(events), 30, message="alerts on the MQTT topic")
        assert [g["notification_id"] for g in got] == [e["notification_id"] for e in events]
    finally:
        for c in (sub, pub):
            c.loop_stop()
            c.disconnect()


def test_mqtt_down_keeps_alerts_in_the_outbox(store):
    client = make_client("alerts-test-never-connected", clean=True)
    make_events(store, n_devices=1)
    Dispatcher(store, [MqttChannel(client)], Channels(), Clock()).deliver()
    assert store.outbox_counts() == {"delivered": 0, "failed": 0, "waiting": 3}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_smtp_channel_with_local_sink(store):
    from aiosmtpd.controller import Controller

    mails: list = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            mails.append(envelope)
            return "250 OK"

    port = _free_port()
    ctl = Controller(Sink(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        make_events(store, n_devices=1)
        cfg = SmtpChannel(
            host="127.0.0.1",
            port=port,
            sender="alerts@farm.example",
            recipients=["ops@farm.example"],
            min_severity="info",
        )
        Dispatcher(store, [SmtpSender(cfg)], Channels(), Clock()).deliver()
        assert len(mails) == 3
        assert mails[0].rcpt_tos == ["ops@farm.example"]
        assert b"storm" in mails[0].content
    finally:
        ctl.stop()


def test_smtp_password_env_must_exist():
    with pytest.raises(ValueError, match="NO_SUCH_VAR"):
        SmtpSender(SmtpChannel(host="h", sender="a@b", recipients=["c@d"], username="u", password_env="NO_SUCH_VAR"))


@pytest.mark.integration
def test_injected_names_are_refused_on_mqtt_and_escaped_in_influx(store, influx, caplog):
    """A site or device name that would escape its topic is a permanent, logged failure; in InfluxDB the
    line protocol escapes it, so it stays one tag value of one point."""
    e = Engine(AlertsConfig(), store)
    e.apply([Observation("dachen/#", "wx 1,kind=x", "storm", "", "warning", True, False, 20.0, 17.2, "a\nb")], T0)
    client = make_client("alerts-test-unconnected", clean=True)
    client.is_connected = lambda: True  # the topic check comes before any network I/O
    Dispatcher(store, [MqttChannel(client), InfluxChannel(influx)], Channels(), Clock()).deliver()
    assert store.outbox_counts() == {"delivered": 1, "failed": 1, "waiting": 0}
    assert "no alert topic for site" in caplog.text
    rows = influx.query('SELECT * FROM "derived"."alerts"')[0].rows()
    assert len(rows) == 1 and rows[0]["device"] == "wx 1,kind=x" and rows[0]["kind"] == "storm"


class _Collect:
    def __init__(self, name: str, fail: Exception | None = None):
        self.name, self.fail, self.got = name, fail, []

    def wants(self, body):
        return True

    def send(self, body):
        if self.fail is not None:
            raise self.fail
        self.got.append(body["notification_id"])


def test_a_broken_channel_does_not_block_the_others_and_the_outbox_is_pruned(store, caplog):
    events = make_events(store, n_devices=1)
    good, broken = _Collect("good"), _Collect("broken", KeyError("bug"))
    clock = Clock()
    Dispatcher(store, [good, broken], Channels(), clock).deliver()
    assert good.got == [e["notification_id"] for e in events]
    assert store.outbox_counts() == {"delivered": 3, "failed": 0, "waiting": 3}
    assert "broken failed on" in caplog.text and "KeyError" in caplog.text
    assert store.prune(clock.t + 1) == 3  # the delivered ones; the waiting ones stay
    assert store.outbox_counts() == {"delivered": 0, "failed": 0, "waiting": 3}
