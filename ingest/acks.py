"""Commit acknowledgements: after a batch is written, tell each device what InfluxDB now holds.

The edge deletes a reading only when its shore says so (docs/edge.md, "Delivery"). After the worker wrote a
batch (every point accepted by InfluxDB, or refused and dead-lettered) and acknowledged its MQTT messages, it
publishes per device and buffer epoch one :class:`blueranch.contracts.mqtt.Ack` on
``blueranch/v1/{site}/{device}/ack`` (QoS 1, retained): the committed seqs as ranges, and the seqs of messages
it dead-lettered with their reason (the shore took responsibility for those: the dead letter and
``ingest_errors`` record them). Every worker of a shared group acknowledges what it wrote; acks are idempotent
statements, so a redelivered message acknowledged twice does no harm, and a lost ack costs a resend, which
rewrites the same points.

Messages without an ``epoch`` (agents older than commit acknowledgements) get no ack: such an agent does not
read them. The worker also notices when a device's epoch changes (its buffer was lost, replaced or
recovered) and logs it at WARNING; ``device_status.epoch`` records it from the agent's status.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError

log = logging.getLogger("blueranch.ingest.acks")

_EPOCH_RE = re.compile(contract.EPOCH_PATTERN)
#: Devices whose last epoch a worker remembers (cleared when it grows past this).
_EPOCHS_MAX = 100_000
#: A rejected payload larger than this is not parsed to find its seq (it is dead-lettered all the same).
_IDENTIFY_MAX_BYTES = contract.MAX_PAYLOAD_BYTES


@dataclass(frozen=True, slots=True)
class Commit:
    """One message the worker dealt with: written (``reason`` None) or dead-lettered for ``reason``."""

    site: str
    device: str
    epoch: str
    seq: int
    reason: str | None = None


class Acks:
    def __init__(self, client, worker_id: str, enabled: bool = True):
        self.client = client
        self.worker_id = worker_id
        self.enabled = enabled
        self.published = 0
        #: (site, device) -> the device's recent epochs, newest last (a buffer replaying an older epoch's messages
        #: beside its current one is not a change)
        self._epochs: dict[tuple[str, str], tuple[str, ...]] = {}

    def accepted(self, topic: str, device: str, epoch: str | None, seq: int) -> Commit | None:
        """The commit a valid telemetry message gets once written (None: no ack for it)."""
        if not self.enabled or epoch is None:
            return None
        return Commit(contract.parse_topic(topic).site, device, epoch, seq)

    def rejected(self, topic: str, payload: bytes, reason: str) -> Commit | None:
        """The commit a dead-lettered message gets, when its topic, epoch and seq can be read from it."""
        if not self.enabled or len(payload) > _IDENTIFY_MAX_BYTES:
            return None
        try:
            parts = contract.parse_topic(topic)
            data = json.loads(payload)
        except (ContractError, ValueError, UnicodeDecodeError, RecursionError):
            return None
        if parts.kind != "telemetry" or not isinstance(data, dict):
            return None
        epoch, seq = data.get("epoch"), data.get("seq")
        if data.get("device") != parts.device or not isinstance(epoch, str) or not _EPOCH_RE.fullmatch(epoch):
            return None
        if type(seq) is not int or not 0 <= seq < 2**63:
            return None
        return Commit(parts.site, parts.device, epoch, seq, reason[:64])

    def publish(self, commits: Iterable[Commit]) -> int:
        """Publish one ack per (site, device, epoch) for ``commits`` (a written batch); returns how many."""
        groups: dict[tuple[str, str, str], list[Commit]] = {}
        for c in commits:
            groups.setdefault((c.site, c.device, c.epoch), []).append(c)
        sent = 0
        for (site, device, epoch), items in groups.items():
            self._note_epoch(site, device, epoch)
            committed = contract.seq_ranges(c.seq for c in items if c.reason is None)
            rejected = [contract.Rejected(seq=c.seq, reason=c.reason) for c in items if c.reason is not None]
            topic = contract.ack_topic(site, device)
            step = contract.MAX_ACK_ITEMS
            for i in range(0, max(len(committed), len(rejected)), step):
                ack = contract.Ack(
                    device=device,
                    epoch=epoch,
                    committed=committed[i : i + step],
                    rejected=rejected[i : i + step],
                    worker=self.worker_id,
                )
                self.client.publish(topic, ack.to_json(), qos=1, retain=True)
                sent += 1
        self.published += sent
        return sent

    def _note_epoch(self, site: str, device: str, epoch: str) -> None:
        key = (site, device)
        recent = self._epochs.get(key, ())
        if epoch in recent:
            return
        if len(self._epochs) >= _EPOCHS_MAX:
            self._epochs.clear()
        self._epochs[key] = (*recent[-3:], epoch)
        if recent:
            log.warning(
                "device %s at %s: a new buffer epoch %s after %s (the edge lost, replaced or recovered its buffer, "
                "or held readings in memory while its disk failed; its status and log say what was lost)",
                device,
                site,
                epoch,
                recent[-1],
            )
