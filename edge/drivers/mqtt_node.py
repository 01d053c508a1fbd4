"""Wireless sensor nodes (LoRa gateways, reef monitor) that publish to a local MQTT broker.

The node uplink of docs/simulator.md, 'MQTT nodes': topic ``nodes/{node_id}/up``, JSON
``{"node": "lc-m1-01", "fcnt": 123, "time": "2026-11-21T14:00:00.000Z", "values": {"load_kg": 812.3}}``;
``time`` is the node's own UTC clock and is kept; ``values`` keys are contract quantity names.

One :class:`NodeHub` per local broker subscribes to ``nodes/+/up`` and queues uplinks per node; each
``mqtt_node`` sensor drains its node's queue when polled. Malformed payloads (bad JSON, wrong types,
unknown quantities, oversize, topic/payload node mismatch) are logged with the node and reason and counted;
a repeated frame counter is a retransmission and is skipped. A node clock more than ``max_future_s`` ahead
keeps the value but takes the agent's receive time and QARTOD flag 3 (suspect), with a warning.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from datetime import timedelta
from typing import Literal

from pydantic import Field, ValidationError

from blueranch.contracts.mqtt import SafeId, UtcTime
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES
from blueranch.contracts.strict import StrictModel
from blueranch.edge.clock import Clock
from blueranch.edge.drivers import register
from blueranch.edge.drivers.base import DriverBase, QuantityName, SensorBase
from blueranch.edge.reading import Reading
from blueranch.mqttc import make_client, parse_url

log = logging.getLogger("blueranch.edge.mqtt_node")

MAX_NODE_PAYLOAD_BYTES = 16 * 1024
#: Uplinks kept per node between polls; older ones are dropped (and counted) beyond this.
MAX_QUEUED_PER_NODE = 10_000
TOPIC_FILTER = "nodes/+/up"

SAMPLE = """\
- id: reef-mon-1
  driver: mqtt_node
  broker_url: mqtt://127.0.0.1:1883   # the gateway's local broker the nodes (or LoRa bridge) publish to
  node: reef-mon-01                   # the node id in nodes/{node}/up
  interval_s: 10                      # how often queued uplinks are taken into a message
  asset: reef-a
  quantities: [fish_density_m3, fish_count, fish_length_cm, battery_v]  # empty: all it sends
"""


class Config(SensorBase):
    driver: Literal["mqtt_node"]
    broker_url: str = Field(default="mqtt://127.0.0.1:1883", pattern=r"^mqtts?://[^/\s]+(:\d+)?/?$")
    node: SafeId
    quantities: list[QuantityName] = []
    max_future_s: float = Field(default=600, gt=0, description="node clock further ahead than this is not trusted")


class NodeUplink(StrictModel):
    node: SafeId
    fcnt: int = Field(ge=0, lt=2**32)
    time: UtcTime
    values: dict[str, float] = Field(min_length=1, max_length=64)


class NodeHub:
    """One subscription to ``nodes/+/up`` on one broker, shared by every mqtt_node sensor on it."""

    def __init__(self, url: str):
        self.url = url
        self.queues: dict[str, deque] = defaultdict(lambda: deque(maxlen=MAX_QUEUED_PER_NODE))
        self.last_fcnt: dict[str, int] = {}
        self.errors_total = 0
        self.lock = threading.Lock()
        self.users = 0
        u = parse_url(url)
        self.client = make_client(f"edge-nodes-{id(self):x}", clean=True, tls=u.tls)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect_async(u.host, u.port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("local broker %s refused the connection: %s", self.url, reason_code)
            return
        client.subscribe(TOPIC_FILTER, qos=1)

    def _reject(self, node: str, reason: str) -> None:
        self.errors_total += 1
        log.warning("node %s on %s: %s (rejected payloads: %d)", node, self.url, reason, self.errors_total)

    def _on_message(self, client, userdata, msg) -> None:
        topic_node = msg.topic.split("/")[1] if msg.topic.count("/") == 2 else msg.topic
        if len(msg.payload) > MAX_NODE_PAYLOAD_BYTES:
            return self._reject(topic_node, f"payload of {len(msg.payload)} bytes exceeds {MAX_NODE_PAYLOAD_BYTES}")
        try:
            up = NodeUplink.model_validate_json(msg.payload)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "(payload)"
            return self._reject(topic_node, f"{where}: {first['msg']} ({exc.error_count()} errors)")
        if up.node != topic_node:
            return self._reject(topic_node, f"payload node {up.node!r} is not the topic's node {topic_node!r}")
        with self.lock:
            last = self.last_fcnt.get(up.node)
            if last == up.fcnt:
                log.debug("node %s: frame %d repeated (retransmission), skipped", up.node, up.fcnt)
                return None
            if last is not None and up.fcnt < last:
                log.info("node %s: frame counter went back from %d to %d (node reset?)", up.node, last, up.fcnt)
            self.last_fcnt[up.node] = up.fcnt
            self.queues[up.node].append(up)
        return None

    def drain(self, node: str) -> list[NodeUplink]:
        with self.lock:
            q = self.queues[node]
            out = list(q)
            q.clear()
            return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


_hubs: dict[str, NodeHub] = {}
_hubs_lock = threading.Lock()


def hub(url: str) -> NodeHub:
    with _hubs_lock:
        h = _hubs.get(url)
        if h is None:
            h = _hubs[url] = NodeHub(url)
        h.users += 1
        return h


def release(h: NodeHub) -> None:
    with _hubs_lock:
        h.users -= 1
        if h.users <= 0:
            _hubs.pop(h.url, None)
            h.close()


@register("mqtt_node")
class MqttNodeDriver(DriverBase):
    Config = Config
    SAMPLE = SAMPLE

    def __init__(self, config: Config, bus: None, clock: Clock):
        self.config = config
        self.clock = clock
        self.hub = hub(config.broker_url)

    def close(self) -> None:
        release(self.hub)

    @property
    def bad_frames(self) -> int:
        """Rejected node payloads on this sensor's local broker (all nodes on it)."""
        return self.hub.errors_total

    def read(self) -> list[Reading]:
        c = self.config
        out: list[Reading] = []
        for up in self.hub.drain(c.node):
            when, qc = up.time, QcFlag.NOT_EVALUATED
            now = self.clock.now()
            if when > now + timedelta(seconds=c.max_future_s):
                log.warning(
                    "node %s: clock %s is more than %s s ahead of %s; using the receive time, flag 3",
                    c.node,
                    when.isoformat(),
                    c.max_future_s,
                    now.isoformat(),
                )
                when, qc = now, QcFlag.SUSPECT
            for q, v in up.values.items():
                if q not in QUANTITIES:
                    self.hub._reject(c.node, f"values.{q}: unknown quantity (frame {up.fcnt})")
                elif not c.quantities or q in c.quantities:
                    out.append(Reading(c.id, q, v, when, qc))
        return out
