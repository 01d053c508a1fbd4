"""One ingest worker: MQTT 5 shared subscription -> validate -> batch -> InfluxDB -> acknowledge.

At-least-once, end to end:

- The session is persistent (clean start off, session expiry ``session_expiry_s``, 120 s by default) under
  a stable client id, so the broker keeps the worker's messages through a restart and resends the
  unacknowledged ones. The expiry is short on purpose: a worker that does not come back hands its share
  of the shared group back to the others when its session expires; the agents resend what it held
  (they delete a reading only once it was committed).
- Messages are acknowledged (paho ``manual_ack``) only after InfluxDB accepted every point of theirs,
  in the order they arrived. A rejected message is acknowledged once its ``ingest_errors`` point is
  written, after it was published to the dead-letter topic. InfluxDB points are idempotent (same series
  and time), so a redelivered message rewrites the same points: nothing is lost and nothing counted twice.
- What is in flight is bounded twice: by the MQTT 5 Receive Maximum (the broker sends at most
  ``receive_maximum`` unacknowledged messages) and by ``max_pending_points`` inside the worker (above it
  ``on_message`` waits, which pushes back on the TCP connection, and logs loudly).
- Acknowledgements carry the connection generation: after a reconnect, packet ids of the old connection
  are not acknowledged (the broker resends those messages instead), so an ack can never hit the wrong
  message.
- Then each device is told what was committed (:mod:`blueranch.ingest.acks`): the edge deletes only that.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError
from blueranch.contracts.influx import MEASUREMENTS, Point
from blueranch.contracts.lineprotocol import lines
from blueranch.influxdb import InfluxClient, InfluxError, MissingDatabase
from blueranch.ingest import deadletter
from blueranch.ingest.acks import Acks, Commit
from blueranch.ingest.config import IngestConfig
from blueranch.ingest.metrics import Metrics
from blueranch.ingest.validate import ErrorClock, Validator
from blueranch.ingest.writer import Refused, Stopped, Writer, check_databases
from blueranch.mqttc import make_client, parse_url
from blueranch.outage import Outage

log = logging.getLogger("blueranch.ingest")

ERRORS = MEASUREMENTS["ingest_errors"]
RAW_RP = MEASUREMENTS["water_quality"].retention_policy
OPS_RP = ERRORS.retention_policy
#: Kinds of contract topics the ingest receives (it subscribes to the whole root) and leaves to others;
#: ``ack`` is reserved for commit acknowledgements (blueranch.deploy.dynsec.ack_topic).
_OTHER_KINDS = frozenset(contract.KINDS) - {"telemetry", "status"} | {"ack"}
#: what workers before the root subscription subscribed to (unsubscribed when their session is resumed)
_EARLIER_FILTERS = (contract.TELEMETRY_FILTER, contract.STATUS_FILTER)


@dataclass(slots=True)
class _Entry:
    """A received message (or a stats tick, ``mid`` None) waiting for its batch to be written."""

    mid: int | None
    qos: int
    generation: int
    body: bytes | None = None
    points: int = 0
    newest_ms: int = 0
    ops: list[Point] = field(default_factory=list)
    topic: str = ""
    #: what to acknowledge to the device once the batch is written (ingest/acks.py)
    commit: Commit | None = None


class Worker:
    def __init__(
        self,
        mqtt_url: str,
        influx: InfluxClient,
        config: IngestConfig | None = None,
        index: int = 1,
        username: str | None = None,
        password: str | None = None,
        metrics_port: int | None = None,
        metrics_addr: str = "127.0.0.1",
    ):
        self.config = config or IngestConfig()
        self.influx = influx
        self.worker_id = f"{self.config.client_id}-{index}"
        self.metrics_port = metrics_port
        self.metrics_addr = metrics_addr
        self.stop_event = threading.Event()
        self.subscribed = threading.Event()
        self.metrics = Metrics(self.worker_id)
        self.validator = Validator(self.config)
        self.influx_outage = Outage(log, "InfluxDB", influx.url)
        self.writer = Writer(
            influx,
            self.config.retry,
            self.stop_event,
            compress=self.config.batch.gzip,
            on_retry=self.metrics.retries.inc,
            outage=self.influx_outage,
        )
        self.errors_clock = ErrorClock()
        self._log_limit = _LogLimit()
        self._cond = threading.Condition()
        self._pending: list[_Entry] = []
        self._pending_points = 0
        self._oldest = 0.0
        self._closing = False
        self._stop_requested = False
        self._unacked = 0
        #: high-water marks of the two in-flight bounds (tests and the outage benchmark read them)
        self.peak_pending_points = 0
        self.peak_unacked = 0
        self._ack_lock = threading.Lock()
        self._generation = 0
        #: the broker's Maximum Packet Size from CONNACK (None: it set none); bounds every dead letter
        self.broker_max_packet: int | None = None
        self._url = parse_url(mqtt_url)
        self.broker_outage = Outage(log, "the MQTT broker", f"{self._url.host}:{self._url.port}")
        self.client = make_client(
            self.worker_id, clean=False, manual_ack=True, tls=self._url.tls, username=username, password=password
        )
        self.client.max_inflight_messages_set(100)  # our own publishes: dead letters
        self.client.reconnect_delay_set(0.2, 10)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.acks = Acks(self.client, self.worker_id, self.config.acks)

    # ------------------------------------------------------------ MQTT callbacks (network thread)
    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry_s
        props.ReceiveMaximum = self.config.receive_maximum
        return props

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._ack_lock:
            self._generation += 1
        if reason_code.is_failure:
            self.broker_outage.failed(f"it refused the connection of {self.worker_id}: {reason_code}")
            return
        self.broker_outage.ok()
        self.broker_max_packet = getattr(properties, "MaximumPacketSize", None)
        log.info("%s connected (session present: %s)", self.worker_id, flags.session_present)
        if flags.session_present:
            # A session of an earlier version subscribed telemetry and status filters of their own: both
            # would match alongside the root, and every message would come twice.
            client.unsubscribe([contract.shared_subscription(self.config.group, f) for f in _EARLIER_FILTERS])
        client.subscribe(self._subscription())

    def _subscription(self) -> list[tuple[str, SubscribeOptions]]:
        """The whole root, so telemetry on a topic the contract does not know (``.../Telemetry``,
        ``blueranch/V1/...``) is counted and dead-lettered instead of vanishing (:meth:`_route`).

        Retained messages are not replayed when the worker subscribes (``retainHandling`` 2): a retained
        message is handled once, when it is published, not again on every start; ``retainAsPublished`` keeps
        its flag, so retained telemetry (the contract says QoS 1, not retained) is counted."""
        opts = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND, retainAsPublished=True)
        return [(contract.shared_subscription(self.config.group, f"{contract.ROOT}/#"), opts)]

    def _route(self, topic: str) -> str:
        """``telemetry``, ``status``, ``other`` (a contract topic for someone else) or ``unknown``."""
        if topic.endswith("/telemetry"):
            return "telemetry"
        if topic.endswith("/status"):
            return "status"
        parts = topic.split("/")
        if parts[:2] == [contract.ROOT, contract.VERSION] and (
            (len(parts) == 5 and parts[4] in _OTHER_KINDS)
            or (len(parts) == 4 and parts[3] == "_alerts")
            or topic == contract.DEADLETTER_TOPIC
        ):
            return "other"
        if topic == self.config.deadletter_topic:  # its own dead letters, if configured elsewhere under the root
            return "other"
        return "unknown"

    def _on_connect_fail(self, client, userdata) -> None:
        """paho calls this from inside its ``except OSError`` (connection refused, unknown host, TLS)."""
        exc = sys.exc_info()[1]
        self.broker_outage.failed(f"{type(exc).__name__}: {exc}" if exc else "the connection failed")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._ack_lock:
            self._generation += 1
        if not self.stop_event.is_set():
            log.warning("%s lost the broker (%s); unacknowledged messages will be resent", self.worker_id, reason_code)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        if self._closing:
            return  # not acknowledged: the broker resends it to the next session
        entry = _Entry(msg.mid, msg.qos, self._generation)
        try:
            topic = msg.topic
            route = self._route(topic)
            if route == "other":
                self._enqueue(entry)  # acknowledged in order with the rest, nothing written
                return
            if route == "status":
                acc = self.validator.accept_status(topic, msg.payload)
            else:
                if msg.retain:
                    self.metrics.flagged.labels("retained_telemetry").inc()
                if route == "unknown":
                    contract.parse_topic(topic)  # raises bad_topic naming the level that is wrong
                    raise ContractError.single("bad_topic", "topic", topic, "is not a topic the ingest reads")
                acc = self.validator.accept(topic, msg.payload)
        except ContractError as exc:
            self._reject(entry, msg, exc)
        except Exception as exc:  # a bug must not stop the worker nor block the messages behind this one
            log.exception("unexpected error on a message on %r; dead-lettering it", msg._topic[:200])
            self._reject(
                entry, msg, ContractError.single("internal_error", "payload", type(exc).__name__, str(exc)[:300])
            )
        else:
            self.metrics.received(acc.backfill)
            entry.body, entry.points, entry.newest_ms, entry.topic = acc.body, acc.points, acc.newest_ms, topic
            if acc.seq >= 0:
                entry.commit = self.acks.accepted(topic, acc.device, acc.epoch, acc.seq)
            for reason in acc.flags:
                self.metrics.flagged.labels(reason).inc()
        self._enqueue(entry)

    # ------------------------------------------------------------ rejection and dead letters
    def _reject(self, entry: _Entry, msg: mqtt.MQTTMessage, exc: ContractError) -> None:
        self.metrics.received(False)
        topic = msg._topic.decode("utf-8", errors="replace")
        detail = deadletter.summary(exc.violations) or exc.reason
        if self._log_limit.allow(exc.reason):
            log.warning("rejected message on %r (%s, %d bytes): %s", topic[:200], exc.reason, len(msg.payload), detail)
        self.metrics.error(exc.reason)
        entry.topic = topic
        entry.commit = self.acks.rejected(topic, msg.payload, exc.reason)
        entry.ops.append(self._error_point(exc.reason, topic, detail))
        self._deadletter(exc.reason, topic, msg.payload, exc.violations, detail)

    def _error_point(self, reason: str, topic: str, detail: str) -> Point:
        return Point(
            ERRORS.name,
            {"reason": reason, "worker": self.worker_id},
            {"count": 1, "topic": topic[:200], "detail": detail[:1000]},
            self.errors_clock.next_ms(),
        )

    def _deadletter(self, reason: str, topic: str, payload: bytes, violations, detail: str) -> None:
        """Publish a bounded dead letter (:mod:`blueranch.ingest.deadletter`). If none fits, or the client
        refuses it, it is counted; the message is acknowledged all the same once its ingest_errors point is
        written."""
        dl_topic = self.config.deadletter_topic
        limit = deadletter.budget(self.config.deadletter_max_bytes, self.broker_max_packet, dl_topic)
        body = deadletter.build(reason, topic, payload, violations, self.worker_id, limit, detail)
        rc = mqtt.MQTT_ERR_PAYLOAD_SIZE if body is None else self.client.publish(dl_topic, body, qos=1).rc
        if rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):  # NO_CONN: queued, sent after the reconnect
            self.metrics.deadletters.labels("published").inc()
            return
        self.metrics.deadletters.labels("failed").inc()
        if self._log_limit.allow("deadletter_failed"):
            log.error("could not dead-letter a %s rejection from %r: %s", reason, topic[:200], mqtt.error_string(rc))

    # ------------------------------------------------------------ batching
    def _enqueue(self, entry: _Entry) -> None:
        with self._cond:
            waited = False
            while self._pending_points >= self.config.max_pending_points and not self.stop_event.is_set():
                if not waited:
                    log.warning(
                        "%s holds %d unwritten points (max_pending_points %d): reading paused until "
                        "InfluxDB catches up",
                        self.worker_id,
                        self._pending_points,
                        self.config.max_pending_points,
                    )
                    waited = True
                self._cond.wait(1.0)
            if not self._pending:
                self._oldest = time.monotonic()
                self._cond.notify()
            self._pending.append(entry)
            self._pending_points += entry.points
            if entry.mid is not None:
                self._unacked += 1
                self.peak_unacked = max(self.peak_unacked, self._unacked)
            self.peak_pending_points = max(self.peak_pending_points, self._pending_points)
            if self._pending_points >= self.config.batch.max_points:
                self._cond.notify()

    def _take(self) -> list[_Entry] | None:
        """Wait for a full or old-enough batch; None once stopping and nothing is left."""
        max_points, max_age = self.config.batch.max_points, self.config.batch.max_age_s
        with self._cond:
            while True:
                if self._pending:
                    age = time.monotonic() - self._oldest
                    if self._pending_points >= max_points or age >= max_age or self.stop_event.is_set():
                        break
                    self._cond.wait(max_age - age)
                elif self.stop_event.is_set():
                    return None
                else:
                    self._cond.wait()
            taken, n = [], 0
            stopping = self.stop_event.is_set()  # when stopping, one last batch with everything (one attempt)
            for entry in self._pending:
                if taken and n + entry.points > max_points and not stopping:
                    break
                taken.append(entry)
                n += entry.points
            del self._pending[: len(taken)]
            self._pending_points -= n
            self._oldest = time.monotonic()
            self._cond.notify_all()
            return taken

    def _flush_loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._flush(batch)
            except Stopped as exc:
                log.warning(
                    "%s stopped with %d messages unwritten and unacknowledged (the broker keeps them): %s",
                    self.worker_id,
                    sum(e.mid is not None for e in batch),
                    exc,
                )

    def _flush(self, batch: list[_Entry]) -> None:
        t0 = time.monotonic()
        chunks, owners = [], []
        for i, e in enumerate(batch):
            if e.body:
                chunks.append(e.body)
                owners.append(i)
        refused = self.writer.write(chunks, owners, RAW_RP)
        for r in refused:
            self._refused(batch[r.owner], r)
        ops = [p for e in batch for p in e.ops]
        if ops:
            for r in self.writer.write([lines(ops)], [0], OPS_RP):
                log.error("InfluxDB refused an ingest record %r: %s", r.line[:300], r.error)
        points = sum(e.points for e in batch) - len(refused)
        newest = max(e.newest_ms for e in batch)
        self.metrics.batch_written(points, time.monotonic() - t0, newest)
        with self._cond:  # before acking: the broker may send the next messages as soon as it has the acks
            self._unacked -= sum(e.mid is not None for e in batch)
        with self._ack_lock:
            generation = self._generation
            stale = 0
            for e in batch:
                if e.mid is None:
                    continue
                if e.generation != generation:
                    stale += 1
                    continue
                self.client.ack(e.mid, e.qos)
        self.acks.publish(e.commit for e in batch if e.commit is not None)
        self.metrics.unacked.set(self._unacked)
        self.metrics.pending_points.set(self._pending_points)
        if stale:
            log.info(
                "%s: %d written messages came on a previous connection; the broker resends them", self.worker_id, stale
            )

    def _refused(self, entry: _Entry, r: Refused) -> None:
        """A point InfluxDB refused (4xx): dead-letter it alone; the message's other points are written."""
        line = r.line.decode("utf-8", errors="replace")
        log.error(
            "InfluxDB refused a point of a message from %r: %s; line: %s", entry.topic or "?", r.error, line[:300]
        )
        self.metrics.error("influx_refused")
        detail = f"{r.error[:300]}; line: {line[:600]}"
        entry.ops.append(self._error_point("influx_refused", entry.topic, detail))
        self._deadletter("influx_refused", entry.topic, r.line, [], detail)

    def _stats_loop(self) -> None:
        while not self.stop_event.wait(self.config.stats_interval_s):
            self._enqueue(_Entry(None, 0, 0, ops=[self.metrics.stats_point(self.errors_clock.next_ms())]))

    # ------------------------------------------------------------ lifecycle
    def prepare_database(self) -> None:
        """Check that the databases and policies the ingest writes to exist (``blueranch deploy init-db`` creates
        them; the ingest never does): :class:`~blueranch.influxdb.MissingDatabase` if not. An unreachable
        InfluxDB is an outage, logged, and the writes wait for it."""
        try:
            check_databases(self.influx)
        except MissingDatabase:
            raise
        except InfluxError as exc:
            if exc.status in (401, 403):
                log.warning("cannot check database %r with these credentials (%s)", self.influx.database, exc)
            elif exc.retryable:
                self.influx_outage.failed(exc)
            else:
                raise

    def run(self) -> None:
        """Run until :meth:`stop`; then write what is pending (one attempt), acknowledge it and disconnect."""
        self.prepare_database()
        if self.metrics_port is not None:
            self.metrics.serve(self.metrics_port, self.metrics_addr)
            log.info("%s serves Prometheus metrics on port %d", self.worker_id, self.metrics_port)
        flusher = threading.Thread(target=self._flush_loop, name=f"{self.worker_id}-flush", daemon=True)
        stats = threading.Thread(target=self._stats_loop, name=f"{self.worker_id}-stats", daemon=True)
        flusher.start()
        stats.start()
        self.client.connect_async(
            self._url.host,
            self._url.port,
            keepalive=self.config.keepalive_s,
            clean_start=False,
            properties=self._connect_properties(),
        )
        self.client.loop_start()
        while not self.stop_event.wait(0.2):
            if self._stop_requested:
                self.stop_event.set()
        self._closing = True
        with self._cond:
            self._cond.notify_all()
        flusher.join(60)
        self.client.disconnect()
        self.client.loop_stop()
        log.info("%s stopped: %s", self.worker_id, self.metrics.totals)

    def stop(self) -> None:
        """Ask :meth:`run` to finish (from another thread)."""
        self.stop_event.set()

    def request_stop(self) -> None:
        """Ask :meth:`run` to finish, from a signal handler.

        A handler runs in the main thread, which may at that instant hold the lock inside
        ``stop_event`` (in ``Event.wait``); ``Event.set`` would then deadlock. So the handler only sets
        a flag, and :meth:`run` turns it into the event within 0.2 s.
        """
        self._stop_requested = True


class _LogLimit:
    """At most ``per_window`` log lines per reason per ``window_s``; then one line saying how many were not.

    A misconfigured fleet can send thousands of bad messages a second: every one is still counted, recorded
    in ``ingest_errors`` and dead-lettered, but the log stays readable.
    """

    def __init__(self, per_window: int = 20, window_s: float = 60.0):
        self.per_window = per_window
        self.window_s = window_s
        self._windows: dict[str, list] = {}  # reason -> [window start, logged, suppressed]

    def allow(self, reason: str) -> bool:
        now = time.monotonic()
        w = self._windows.get(reason)
        if w is None or now - w[0] >= self.window_s:
            if w is not None and w[2]:
                log.warning("%d more rejections (%s) were not logged in the last %.0f s", w[2], reason, self.window_s)
            w = self._windows[reason] = [now, 0, 0]
        if w[1] < self.per_window:
            w[1] += 1
            return True
        w[2] += 1
        return False
