"""A fleet for delivery drills (tests and ``bench/``): buoys, what drives them, and what counts them.

- :class:`Buoy`: a ``blueranch edge run`` process in commit delivery, reading one LoRa-style node from its local
  broker (an island gateway's, or the shore's), its status file read back.
- :class:`NodeFeed`: publishes every node's uplinks (``nodes/{node}/up``) at a steady rate, each sample with its
  own millisecond, so that InfluxDB holds one point per sample.
- :class:`Seen` and its two kinds: :class:`TelemetryWatch` (when each message was first published where the
  buoys publish) and :class:`AckLedger` (each commit the ingest acknowledged: sequence gaps, messages written
  twice, when each was committed). Together: the lag from publish to commit and the time to recover.
- :class:`IngestWorkers`: ``blueranch ingest run`` processes of one shared group, each one killable.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from blueranch.contracts import mqtt as contract
from blueranch.influxdb import InfluxClient
from blueranch.mqttc import connect_properties, make_client, parse_url
from blueranch.procs import Supervisor, blueranch_command
from blueranch.testing.ingest_checks import count_samples
from blueranch.testing.wait import wait_until

Key = tuple[str, str, int]  # device, epoch, seq

#: the node quantity the buoys forward (load cells: the dachen scenario's most numerous sensors)
QUANTITY = "load_kg"


def expected_samples(status: dict) -> int:
    """Distinct samples an agent buffered: a spike-flag revision re-sends a reading already sent (the same
    point again), so it is not a sample of its own."""
    return status["samples_buffered"] - status.get("qc", {}).get("revisions_total", 0)


class NodeFeed:
    """One uplink per node every ``period_s``, on the broker at ``url``; values move slowly (no QC spike)."""

    def __init__(self, url: str, nodes: Iterable[str], period_s: float = 0.1, client_id: str = "node-feed"):
        u = parse_url(url)
        self.nodes = list(nodes)
        self.period_s = period_s
        self.published = 0
        self.client = make_client(client_id, clean=True)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect_async(u.host, u.port)
        self.client.loop_start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"feed-{client_id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        fcnt = 0
        while not self._stop.wait(self.period_s):
            fcnt += 1
            now_ms = int(time.time() * 1000)
            for k, node in enumerate(self.nodes):
                t = datetime.fromtimestamp((now_ms + k) / 1000, UTC)
                body = {
                    "node": node,
                    "fcnt": fcnt,
                    "time": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z",
                    "values": {QUANTITY: round(800 + 5 * math.sin(fcnt / 50), 3)},
                }
                if self.client.is_connected():  # a node's radio frame is lost while its gateway is down
                    self.client.publish(f"nodes/{node}/up", json.dumps(body), qos=0)
                    self.published += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.disconnect()
        self.client.loop_stop()


class Buoy:
    """An edge agent (process) of ``device`` at ``site`` publishing to the broker at ``url``, reading node
    ``node`` from the same broker; commit delivery with short resend timeouts (drills last seconds)."""

    def __init__(self, workdir: Path, site: str, device: str, url: str, node: str | None = None, **mqtt):
        self.site, self.device, self.url = site, device, url
        self.node = node or f"node-{device}"
        self.dir = Path(workdir) / f"buoy-{device}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.status_file = self.dir / "status.json"
        self.name = f"edge-{device}"
        self.mqtt = {
            "url": url,
            "delivery": "commit",
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 1.0,
            "status_interval_s": 1,
            "commit_timeout_s": 2,
            "commit_timeout_max_s": 4,
            **mqtt,
        }

    def config(self) -> Path:
        sensor = {"id": "lc-1", "driver": "mqtt_node", "broker_url": self.url, "node": self.node, "interval_s": 0.2}
        cfg = {
            "site": self.site,
            "device": self.device,
            "mqtt": self.mqtt,
            "buffer": {"path": str(self.dir / "buffer.sqlite"), "disk_retry_s": 0.5},
            "status_file": str(self.status_file),
            "health_interval_s": 0,
            "sensors": [sensor],
        }
        path = self.dir / "edge.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    def start(self, sup: Supervisor) -> None:
        sup.start(self.name, blueranch_command("edge", "run", "--config", str(self.config())))

    def status(self) -> dict:
        try:
            return json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}

    def drained(self) -> bool:
        s = self.status()
        return bool(s) and s["buffer_messages"] == 0 and s["inflight"] == 0


class Seen:
    """Subscribes to ``topic`` on one broker and keeps, per message key, when it was first seen and how often."""

    def __init__(self, url: str, topic: str, client_id: str, username: str | None = None, password: str | None = None):
        u = parse_url(url)
        self.first: dict[Key, float] = {}
        self.times = Counter()
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = make_client(client_id, username=username, password=password)
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect_async(u.host, u.port, clean_start=False, properties=connect_properties(3600))
        self.client.loop_start()

    def keys(self, topic: str, payload: bytes) -> list[Key]:
        raise NotImplementedError

    def _on_message(self, client, userdata, msg) -> None:
        if msg.retain:
            return  # the last one again, on subscribing
        now = time.monotonic()
        keys = self.keys(msg.topic, msg.payload)
        with self._lock:
            for k in keys:
                self.first.setdefault(k, now)
                self.times[k] += 1

    def snapshot(self) -> set[Key]:
        with self._lock:
            return set(self.first)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class TelemetryWatch(Seen):
    """Telemetry as the buoys publish it (where they publish it: an island broker), first sighting per seq."""

    def __init__(self, url: str, client_id: str = "telemetry-watch", **kw):
        super().__init__(url, contract.TELEMETRY_FILTER, client_id, **kw)

    def keys(self, topic: str, payload: bytes) -> list[Key]:
        m = json.loads(payload)
        return [(m["device"], m.get("epoch") or "", m["seq"])]


class AckLedger(Seen):
    """Every commit the ingest acknowledged (operator credentials may read acks). A message the ingest wrote
    twice is acknowledged twice: :attr:`duplicates`; a seq never committed is a gap (:meth:`gaps`)."""

    def __init__(self, url: str, client_id: str = "operator", topic: str | None = None, **kw):
        super().__init__(url, topic or f"{contract.PREFIX}/+/+/ack", client_id, **kw)

    def keys(self, topic: str, payload: bytes) -> list[Key]:
        ack = contract.parse_ack(payload, topic)
        return [(ack.device, ack.epoch, s) for a, b in ack.committed for s in range(a, b + 1)]

    @property
    def duplicates(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.times.values())

    def gaps(self, device: str, last_seq: int) -> int:
        """Seqs 1..``last_seq`` of ``device`` (its current epoch) never committed."""
        with self._lock:
            have = {s for d, _, s in self.first if d == device}
        return sum(1 for s in range(1, last_seq + 1) if s not in have)

    def covers(self, keys: set[Key]) -> bool:
        with self._lock:
            return keys <= self.first.keys()

    def lags_s(self, *watches: TelemetryWatch) -> list[float]:
        """Publish (first seen by one of ``watches``) to commit (first ack), per message, sorted."""
        with self._lock:
            committed = dict(self.first)
        seen: dict[Key, float] = {}
        for w in watches:
            seen.update(w.first)
        return sorted(t - seen[k] for k, t in committed.items() if k in seen)


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of sorted ``values``; 0.0 for none."""
    return values[max(0, min(len(values) - 1, math.ceil(q * len(values)) - 1))] if values else 0.0


def recover_s(ledger: AckLedger, watches: Iterable[TelemetryWatch], since: float, timeout_s: float = 120) -> float:
    """Seconds from ``since`` (monotonic) until every message published so far (as ``watches`` saw them) is
    committed."""
    pending = set().union(*(w.snapshot() for w in watches))
    wait_until(lambda: ledger.covers(pending), timeout_s, 0.05, "every message published so far committed")
    return time.monotonic() - since


class IngestWorkers:
    """Ingest worker processes of one shared group (``blueranch ingest run --worker-index i``)."""

    def __init__(self, sup: Supervisor, workdir: Path, mqtt_url: str, influx_url: str, database: str, **config):
        self.sup = sup
        self.args = ["--mqtt", mqtt_url, "--influx", influx_url, "--database", database]
        cfg = Path(workdir) / "ingest.yaml"
        cfg.write_text(yaml.safe_dump({"stats_interval_s": 1.0, **config}))
        self.args += ["--config", str(cfg)]
        self.running: list[int] = []

    def credentials(self, username: str, password_file: Path) -> None:
        self.args += ["--mqtt-username", username, "--mqtt-password-file", str(password_file)]

    def start(self, index: int) -> None:
        self.sup.start(f"ingest-{index}", blueranch_command("ingest", "run", *self.args, "--worker-index", str(index)))
        self.running.append(index)

    def kill(self, index: int) -> None:
        """SIGKILL: the worker dies holding what it had received (its session stays until it expires)."""
        self.sup.signal(f"ingest-{index}", signal.SIGKILL)
        self.sup.procs[f"ingest-{index}"].wait(10)
        self.running.remove(index)

    def stop(self, index: int) -> None:
        """Scale-in: SIGTERM, the worker writes and acknowledges what it holds, then leaves."""
        self.sup.stop(f"ingest-{index}", 30)
        self.running.remove(index)


def drain_and_count(
    sup: Supervisor, buoys: list[Buoy], feeds: list[NodeFeed], influx: InfluxClient, ledger: AckLedger
) -> dict[str, dict]:
    """Stop the feeds, wait for every buoy to deliver what it holds, stop it; per device: samples it took
    (``expected``), samples InfluxDB holds (``arrived``), messages, sequence gaps, resends."""
    for f in feeds:
        f.stop()
    out = {}
    for b in buoys:
        wait_until(b.drained, 120, 0.1, f"{b.device} drained: {b.status()}")
        code = sup.stop(b.name, 30)
        if code != 0:
            raise RuntimeError(f"{b.name} exited with {code}: {sup.log(b.name)[-3000:]}")
        s = b.status()
        out[b.device] = {
            "expected": expected_samples(s),
            "arrived": count_samples(influx, b.device, {QUANTITY}),
            "messages": s["next_seq"] - 1,
            "gaps": ledger.gaps(b.device, s["next_seq"] - 1),
            "resent": s["resent"],
        }
    return out


def check_counts(counts: dict[str, dict]) -> None:
    """Every sample once and no sequence gap, for every device (``AssertionError`` naming the device)."""
    for device, c in counts.items():
        assert c["arrived"] == c["expected"] > 0 and c["gaps"] == 0, (device, counts)
