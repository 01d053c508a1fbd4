"""The uplink: one MQTT 5 session to the shore broker, fed from the SQLite buffer.

- QoS 1, persistent session (``clean_start=False`` with a session expiry), TLS for ``mqtts://`` and
  username/password (the password comes from the environment or a file and is never logged).
- A message leaves the buffer only once delivered: committed by the shore (its :class:`Ack` on the device's
  ``ack`` topic), or in PUBACK mode on PUBACK 0x00; :mod:`blueranch.edge.commits` holds that rule, the
  resends and the fallback. Messages without a PUBACK stay in paho's session queue across reconnects (paho
  resends them with DUP), so they are not sent twice by us.
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
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError
from blueranch.edge.buffer import Buffer, Stored
from blueranch.edge.commits import Delivery, backoff_s
from blueranch.edge.config import MqttConfig
from blueranch.mqttc import connect_properties, edge_client_id, make_client, parse_url

log = logging.getLogger("blueranch.edge.uplink")

#: Backlog messages published per round before live messages get another look.
REPLAY_CHUNK = 50


def as_backfill(body: bytes, epoch: str | None = None) -> bytes:
    """The stored message rebuilt as a replay: the same message (device, epoch, seq, samples) with ``backfill``
    set; ``epoch`` is given to a message stored before messages carried one (an older agent's buffer).

    Raises ``ValueError`` (pydantic's ``ValidationError``) when the stored body is not a valid telemetry message.
    """
    msg = contract.Telemetry.model_validate_json(body)
    update: dict = {"backfill": True}
    if msg.epoch is None and epoch is not None:
        update["epoch"] = epoch
    return msg.model_copy(update=update).to_json()


class _Out:
    """The seqs that are out (in flight, or waiting for their commit): what a fetch must leave out."""

    def __init__(self, in_flight: set[int], waiting: dict):
        self.in_flight, self.waiting = in_flight, waiting

    def __contains__(self, seq: object) -> bool:
        return seq in self.in_flight or seq in self.waiting

    def __len__(self) -> int:
        return len(self.in_flight) + len(self.waiting)


def _loop_writes(client, userdata, sock) -> None:
    """The network thread's loop() writes what is queued (see ``Uplink.__init__``): nothing to do here."""


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
        self.ack_topic = contract.ack_topic(site, device)
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
        self.client.on_subscribe = self._on_subscribe
        # One thread does all socket I/O: the network thread's ``loop()``. Without ``loop_start()`` paho's
        # publish() writes to the socket from the calling thread (paho 2.2, Client._packet_queue) while the
        # network thread reads or writes it too; over TLS the two corrupt the stream (Mosquitto: "decryption
        # failed or bad record mac", the agent: "lost the broker: Unspecified error"). With a
        # register-write hook set, publish() only queues the packet and wakes the loop, which sends it.
        self.client.on_socket_register_write = _loop_writes
        self.client.on_socket_unregister_write = _loop_writes
        self.state = "connecting"
        self.connected = threading.Event()
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self._init_sending(buffer, cfg)
        self._threads = [
            threading.Thread(target=self._network, name="uplink-net", daemon=True),
            threading.Thread(target=self._sender, name="uplink-send", daemon=True),
        ]

    def _init_sending(self, buffer: Buffer, cfg: MqttConfig) -> None:
        """The sender's state (also what a test of the sending logic sets up without a network)."""
        self.delivery = Delivery(cfg, commits_seen=buffer.recall("shore_commits") == "1")
        self._pubacks: deque = deque()  # (mid, reason code) from the network thread
        self._commits: deque[contract.Ack] = deque()
        self._sub_refusals: deque[str] = deque()
        self._ack_sub_mid: int | None = None
        self._pending: dict[int, int] = {}  # mid -> seq; only the sender thread touches it
        self._in_flight: set[int] = set()  # the seqs of _pending
        self._out = _Out(self._in_flight, self.delivery.waiting)
        self._reconnected = False
        self._first_connect = True
        self._attempt = 0
        self.live_from = buffer.next_seq
        self._live_cursor = self.live_from - 1
        self._backlog_cursor = 0
        self.sent_live = self.sent_backfill = self.acked = self.rejected = 0

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
        if self.cfg.delivery != "puback":
            self._ack_sub_mid = client.subscribe(self.ack_topic, qos=1)[1]
        self.wake.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if mid == self._ack_sub_mid and reason_codes and reason_codes[0].is_failure:
            self._sub_refusals.append(str(reason_codes[0]))
            self.wake.set()

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic == self.ack_topic:
            try:
                self._commits.append(contract.parse_ack(msg.payload, msg.topic))
            except ContractError as exc:
                log.warning("ignored an invalid commit acknowledgement on %s: %s", msg.topic, exc)
            self.wake.set()
        elif msg.topic == self.cmd_topic and self.on_command is not None:
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
        self._pubacks.append((mid, reason_code))
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
        #: the sender's heartbeat (monotonic s), for the agent's watchdog
        self.beat_s = time.monotonic()
        while not self.stop_event.is_set():
            self.beat_s = time.monotonic()
            self.wake.clear()
            self._settle()
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
        """Live messages first, then messages due to go out again, then a chunk of the backlog."""
        room = min(
            self.cfg.inflight_max - len(self._pending),
            self.cfg.commit_window - len(self._out),
        )
        sent = 0
        if room > 0:
            for m in self.buffer.fetch(self._live_cursor, limit=room, skip=self._out):
                self._publish(m, backfill=False)
                self._live_cursor = m.seq
                sent += 1
        due = self.delivery.due(time.monotonic(), self.cfg.inflight_max - len(self._pending))
        if due:
            found = {m.seq: m for m in self.buffer.get(due)}
            for seq in due:
                m = found.get(seq)
                if m is None:
                    self.delivery.forget(seq)  # committed by an earlier copy, or evicted
                    continue
                self.delivery.resending(seq)
                self._publish(m, backfill=True)
                sent += 1
        room = min(
            self.cfg.inflight_max - len(self._pending),
            self.cfg.commit_window - len(self._out),
        )
        if room > 0 and self._backlog_cursor < self.live_from - 1:
            chunk = self.buffer.fetch(self._backlog_cursor, self.live_from, min(room, REPLAY_CHUNK), skip=self._out)
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
        # NO_CONN, CONN_LOST: paho keeps the QoS 1 message and sends it after the reconnect
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN, mqtt.MQTT_ERR_CONN_LOST):
            raise RuntimeError(f"paho refused to queue seq {m.seq}: {mqtt.error_string(info.rc)}")
        self._pending[info.mid] = m.seq
        self._in_flight.add(m.seq)
        if backfill:
            self.sent_backfill += 1
        else:
            self.sent_live += 1

    def _replayed(self, m: Stored) -> bytes:
        try:
            return as_backfill(m.body, self.buffer.epochs[0] if self.buffer.epochs else None)
        except ValueError as exc:  # stored by an agent whose contract differed: the shore says why, nothing is lost
            log.error("buffered seq %d is not a valid telemetry message (%s); replayed as stored", m.seq, exc)
            return m.body

    def _settle(self) -> None:
        """Apply what the broker and the shore answered: PUBACKs, commits, refused subscriptions, the clock."""
        now = time.monotonic()
        done: list[int] = []
        while self._pubacks:
            mid, rc = self._pubacks.popleft()
            seq = self._pending.pop(mid, None)
            if seq is None:
                continue  # a status message or an event
            self._in_flight.discard(seq)
            if getattr(rc, "is_failure", False):
                self.rejected += 1
            if self.delivery.on_puback(seq, rc, now):
                done.append(seq)
        while self._commits:
            self._commit(self._commits.popleft())
        while self._sub_refusals:
            self.delivery.on_subscribe_refused(self._sub_refusals.popleft())
        done += self.delivery.tick(now)
        if done:
            self.acked += len(done)
            self.buffer.remove(done)

    def _commit(self, ack: contract.Ack) -> None:
        if not self.delivery.commits_seen:
            self.buffer.remember("shore_commits", "1")
        if ack.epoch not in self.buffer.epochs:
            self.delivery.commits_seen = True  # a commit of an older buffer: the shore commits, nothing to delete
            log.debug("commit for epoch %s, not this buffer's (%s)", ack.epoch, ",".join(self.buffer.epochs))
            return
        ranges = self.delivery.on_ack(ack)
        self.acked += self.buffer.remove_ranges(ack.epoch, ranges)

    @property
    def inflight(self) -> int:
        return len(self._pending)

    @property
    def uncommitted(self) -> int:
        """Messages the broker answered that are not delivered yet (waiting for a commit or a resend)."""
        return len(self.delivery.waiting)

    @property
    def state_text(self) -> str:
        """The connection and the delivery state, for the status file and message."""
        return f"{self.state}; {self.delivery.describe()}"

    def stop(self, drain_s: float = 2.0) -> None:
        """Wait up to ``drain_s`` for outstanding PUBACKs and commits, publish the offline status, disconnect."""
        deadline = time.monotonic() + drain_s
        while (
            (self._pending or any(w.why == "accepted" for w in list(self.delivery.waiting.values())))
            and self.connected.is_set()
            and time.monotonic() < deadline
        ):
            self.wake.wait(0.05)
        self.stop_event.set()
        for t in self._threads:
            t.join(5)
        self._settle()
        if self.connected.is_set():
            info = self.client.publish(self.status_topic, self.status("offline").to_json(), qos=1, retain=True)
            try:
                while not info.is_published() and time.monotonic() < deadline + 2:
                    self.client.loop(0.05)
            finally:
                self.client.disconnect()
                self.client.loop(0.1)
