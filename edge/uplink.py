"""The uplink: one MQTT 5 session to the shore broker, fed from the SQLite buffer.

- QoS 1, persistent session (``clean_start=False`` with a session expiry), TLS for ``mqtts://`` and
  username/password (the password comes from the environment or a file and is never logged).
- A message leaves the buffer only on its PUBACK. Unacknowledged messages stay in paho's session queue
  across reconnects (paho resends them with DUP), so they are not sent twice by us.
- Live first: at each reconnect everything already buffered becomes the backlog and is replayed in seq order
  with ``backfill: true``, a chunk at a time, after whatever live message is waiting. At the first connect
  of a process the backlog is what earlier runs left; readings taken while connecting are live.
- Reconnects back off exponentially with jitter ("equal jitter", M. Brooker, "Exponential Backoff And
  Jitter", AWS Architecture Blog, 2015): a fleet of buoys coming back after a shore outage does not
  reconnect in lock-step.
- Last Will: the retained status with ``state: offline``; a retained ``online`` status on connect, then
  every ``status_interval_s``.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from blueranch.contracts import mqtt as contract
from blueranch.edge.buffer import Buffer, Stored
from blueranch.edge.config import MqttConfig
from blueranch.mqttc import connect_properties, edge_client_id, make_client, parse_url

log = logging.getLogger("blueranch.edge.uplink")

#: Backlog messages published per round before live messages get another look.
REPLAY_CHUNK = 50


def backoff_s(attempt: int, min_s: float, max_s: float, rng: random.Random = random._inst) -> float:
    """Equal jitter: half the capped exponential delay, plus a random part of the other half."""
    cap = min(max_s, min_s * (2 ** min(attempt, 30)))
    return cap / 2 + rng.uniform(0, cap / 2)


def as_backfill(body: bytes) -> bytes:
    """The stored message rebuilt as a replay: the same message (device, seq, samples) with ``backfill`` set.

    Raises ``ValueError`` (pydantic's ``ValidationError``) when the stored body is not a valid telemetry message.
    """
    return contract.Telemetry.model_validate_json(body).model_copy(update={"backfill": True}).to_json()


class Uplink:
    def __init__(
        self,
        cfg: MqttConfig,
        site: str,
        device: str,
        buffer: Buffer,
        status: Callable[[str], contract.Status],
        on_command: Callable[[bytes], None] | None = None,
    ):
        self.cfg = cfg
        self.buffer = buffer
        self.status = status
        self.on_command = on_command
        self.telemetry_topic = contract.telemetry_topic(site, device)
        self.status_topic = contract.status_topic(site, device)
        self.cmd_topic = contract.cmd_topic(site, device)
        self.events_topic = contract.events_topic(site, device)
        url = parse_url(cfg.url)
        self.host, self.port = url.host, url.port
        self.client = make_client(
            edge_client_id(site, device),
            clean=False,
            username=cfg.username,
            password=cfg.password(),
            tls=url.tls,
            ca_file=str(cfg.ca_file) if cfg.ca_file else None,
            cert_file=str(cfg.cert_file) if cfg.cert_file else None,
            key_file=str(cfg.key_file) if cfg.key_file else None,
        )
        self.client.max_inflight_messages_set(cfg.inflight_max)
        self.client.max_queued_messages_set(0)
        self.client.will_set(self.status_topic, status("offline").to_json(), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.state = "connecting"
        self.connected = threading.Event()
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self._acks: deque = deque()
        self._pending: dict[int, int] = {}  # mid -> seq; only the sender thread touches it
        self._reconnected = False
        self._first_connect = True
        self._attempt = 0
        self.live_from = buffer.next_seq
        self._live_cursor = self.live_from - 1
        self._backlog_cursor = 0
        self.sent_live = self.sent_backfill = self.acked = self.rejected = 0
        self._threads = [
            threading.Thread(target=self._network, name="uplink-net", daemon=True),
            threading.Thread(target=self._sender, name="uplink-send", daemon=True),
        ]

    # ------------------------------------------------------------ paho callbacks (network thread)
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.state = f"refused by {self.host}:{self.port}: {reason_code}"
            log.error("broker %s:%d refused the connection: %s", self.host, self.port, reason_code)
            return
        self._attempt = 0
        self.state = "connected"
        self._reconnected = True
        self.connected.set()
        log.info("connected to %s:%d (session present: %s)", self.host, self.port, flags.session_present)
        client.publish(self.status_topic, self.status("online").to_json(), qos=1, retain=True)
        if self.on_command is not None:
            client.subscribe(self.cmd_topic, qos=1)
        self.wake.set()

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic == self.cmd_topic and self.on_command is not None:
            self.on_command(msg.payload)

    def publish_event(self, body: bytes) -> None:
        """A reply or device event on the events topic (QoS 1; paho queues it while disconnected)."""
        self.client.publish(self.events_topic, body, qos=1)

    def publish_status(self) -> None:
        self.client.publish(self.status_topic, self.status("online").to_json(), qos=1, retain=True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self.stop_event.is_set():
            self.state = f"disconnected since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}: {reason_code}"
            log.warning("lost the broker %s:%d: %s", self.host, self.port, reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._acks.append((mid, reason_code))
        self.wake.set()

    # ------------------------------------------------------------ threads
    def start(self) -> None:
        for t in self._threads:
            t.start()

    def _network(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.client.connect(
                    self.host,
                    self.port,
                    keepalive=self.cfg.keepalive_s,
                    clean_start=False,
                    properties=connect_properties(self.cfg.session_expiry_s),
                )
            except (OSError, ssl.SSLError) as exc:
                self.state = f"cannot reach {self.host}:{self.port}: {exc.__class__.__name__}: {exc}"
                log.warning("%s", self.state)
            else:
                rc = mqtt.MQTT_ERR_SUCCESS
                while rc == mqtt.MQTT_ERR_SUCCESS and not self.stop_event.is_set():
                    rc = self.client.loop(timeout=0.2)
                    if self.stop_event.is_set():
                        return
            self.connected.clear()
            delay = backoff_s(self._attempt, self.cfg.reconnect_min_s, self.cfg.reconnect_max_s)
            self._attempt += 1
            log.info("reconnecting to %s:%d in %.1f s (attempt %d)", self.host, self.port, delay, self._attempt)
            self.stop_event.wait(delay)

    def _sender(self) -> None:
        last_status = time.monotonic()
        while not self.stop_event.is_set():
            self.wake.clear()
            self._settle_acks()
            if not self.connected.is_set():
                self.wake.wait(0.5)
                continue
            if self._reconnected:
                self._reconnected = False
                self.live_from = self._live_start()
                self._live_cursor = self.live_from - 1
                self._backlog_cursor = 0
            sent = self._send_round()
            if time.monotonic() - last_status >= self.cfg.status_interval_s:
                last_status = time.monotonic()
                self.publish_status()
            if not sent:
                self.wake.wait(0.5)

    def _live_start(self) -> int:
        """The first seq that goes out live after a (re)connect."""
        first, self._first_connect = self._first_connect, False
        if first and self.buffer.recent:
            return self.buffer.recent[0][0]
        return self.buffer.next_seq

    def _send_round(self) -> int:
        room = self.cfg.inflight_max - len(self._pending)
        if room <= 0:
            return 0
        sent = 0
        for m in self.buffer.fetch(self._live_cursor, limit=room, skip=set(self._pending.values())):
            self._publish(m, backfill=False)
            self._live_cursor = m.seq
            sent += 1
        room -= sent
        if room > 0 and self._backlog_cursor < self.live_from - 1:
            chunk = self.buffer.fetch(
                self._backlog_cursor, self.live_from, min(room, REPLAY_CHUNK), skip=set(self._pending.values())
            )
            for m in chunk:
                self._publish(m, backfill=True)
                self._backlog_cursor = m.seq
                sent += 1
            if not chunk:
                self._backlog_cursor = self.live_from - 1
                log.info("backlog replayed (up to seq %d)", self._backlog_cursor)
        return sent

    def _publish(self, m: Stored, backfill: bool) -> None:
        body = self._replayed(m) if backfill else m.body
        info = self.client.publish(self.telemetry_topic, body, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise RuntimeError(f"paho refused to queue seq {m.seq}: {mqtt.error_string(info.rc)}")
        self._pending[info.mid] = m.seq
        if backfill:
            self.sent_backfill += 1
        else:
            self.sent_live += 1

    def _replayed(self, m: Stored) -> bytes:
        try:
            return as_backfill(m.body)
        except ValueError as exc:  # stored by an agent whose contract differed: the shore says why, nothing is lost
            log.error("buffered seq %d is not a valid telemetry message (%s); replayed as stored", m.seq, exc)
            return m.body

    def _settle_acks(self) -> None:
        done: list[int] = []
        while self._acks:
            mid, rc = self._acks.popleft()
            seq = self._pending.pop(mid, None)
            if seq is None:
                continue  # a status message
            if rc is not None and getattr(rc, "is_failure", False):
                self.rejected += 1
                log.error("broker REJECTED telemetry seq %d: %s; dropped (rejected so far: %d)", seq, rc, self.rejected)
            done.append(seq)
        if done:
            self.acked += len(done)
            self.buffer.remove(done)

    @property
    def inflight(self) -> int:
        return len(self._pending)

    def stop(self, drain_s: float = 2.0) -> None:
        """Wait up to ``drain_s`` for outstanding acks, publish the offline status, disconnect."""
        deadline = time.monotonic() + drain_s
        while self._pending and self.connected.is_set() and time.monotonic() < deadline:
            self.wake.wait(0.05)
        self.stop_event.set()
        for t in self._threads:
            t.join(5)
        self._settle_acks()
        if self.connected.is_set():
            info = self.client.publish(self.status_topic, self.status("offline").to_json(), qos=1, retain=True)
            try:
                while not info.is_published() and time.monotonic() < deadline + 2:
                    self.client.loop(0.05)
            finally:
                self.client.disconnect()
                self.client.loop(0.1)
