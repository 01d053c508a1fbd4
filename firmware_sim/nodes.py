"""LoRa-style sensor nodes over MQTT (docs/simulator.md, 'MQTT nodes'): topic ``nodes/{node_id}/up``, JSON payload
``{"node", "fcnt", "time", "values"}`` with the node's own clock in ``time`` and contract quantity names
as ``values`` keys. A garbled frame is published as a truncated payload (invalid JSON), as a radio CRC
miss passed on by a permissive gateway would be.
"""

from __future__ import annotations

import json
import logging

from blueranch.sim.engine import Reading
from blueranch.sim.timeutil import iso

log = logging.getLogger(__name__)


def node_topic(node_id: str) -> str:
    return f"nodes/{node_id}/up"


def node_payload(r: Reading) -> bytes:
    body = json.dumps(
        {
            "node": r.device,
            "fcnt": r.fcnt,
            "time": iso(r.node_time_s),
            "values": {k: round(v, 6) for k, v in r.values.items()},
        },
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
    if r.garbled:
        return body[: len(body) // 2]
    return body


class NodePublisher:
    """Publish node readings to a broker (QoS 1), waiting for each to leave when the queue is long."""

    def __init__(
        self, url: str, client_id: str = "blueranch-sim", username: str | None = None, password: str | None = None
    ):
        from blueranch.mqttc import make_client, parse_url

        target = parse_url(url)
        # A clean session: node uplinks are fire-and-forget radio frames; nothing to resume.
        self.client = make_client(client_id, clean=True, tls=target.tls, username=username, password=password)
        # paho allows 20 QoS 1 messages in flight by default: too few for --speed max (round-trip bound).
        self.client.max_inflight_messages_set(1000)
        try:
            self.client.connect(target.host, target.port, keepalive=30)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot reach the MQTT broker {url}: {exc.strerror or exc}") from None
        self.client.loop_start()
        self.published = 0
        self._infos = []

    def publish(self, r: Reading) -> None:
        info = self.client.publish(node_topic(r.device), node_payload(r), qos=1)
        self._infos.append(info)
        self.published += 1
        if len(self._infos) >= 2000:  # bound the client's queue
            for i in self._infos:
                i.wait_for_publish(timeout=30)
            self._infos.clear()

    def close(self) -> None:
        for i in self._infos:
            try:
                i.wait_for_publish(timeout=10)
            except RuntimeError as exc:
                log.warning("publish not confirmed before close: %s", exc)
        self.client.loop_stop()
        self.client.disconnect()
