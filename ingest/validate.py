"""Turn one MQTT message into line protocol, or into a :class:`ContractError` that says why not.

The MQTT contract (:func:`blueranch.contracts.mqtt.parse_telemetry`) checks the topic, the size, the
schema and that the topic's device is the payload's device. This module adds the ingest's policies:
a size limit of its own, the clock policy (reject or flag samples far in the future or past) and the
device policy (reject devices that are not in the configured list).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError, Violation
from blueranch.contracts.influx import QC_SUFFIX, Point, status_points, telemetry_points, to_ms
from blueranch.contracts.lineprotocol import lines, telemetry_lines
from blueranch.contracts.qc import QcFlag
from blueranch.ingest.config import IngestConfig
from blueranch.ingest.registry import load_registry


@dataclass(slots=True)
class Accepted:
    """A valid message: its line-protocol body for the ``raw`` policy and what is known about it."""

    body: bytes
    points: int
    device: str
    seq: int
    backfill: bool
    newest_ms: int
    #: reasons under which samples were written but flagged (clock policy ``flag``)
    flags: tuple[str, ...] = ()


class Validator:
    def __init__(self, config: IngestConfig):
        self.config = config
        self.max_future = timedelta(seconds=config.clock.max_future_s)
        self.max_past = timedelta(seconds=config.clock.max_past_s)
        self.known = frozenset(config.devices.known)
        self.registry = load_registry(config.registry)

    def _check_size(self, payload: bytes) -> None:
        if len(payload) > self.config.max_payload_bytes:
            raise ContractError.single(
                "oversize", "payload", f"{len(payload)} bytes", f"must be at most {self.config.max_payload_bytes} bytes"
            )

    def _check_device(self, device: str) -> None:
        if self.config.devices.unknown == "reject" and device not in self.known:
            raise ContractError.single(
                "unknown_device", "device", device, "is not in the ingest's list of known devices (devices.known)"
            )

    def accept(self, topic: str, payload: bytes, now: datetime | None = None) -> Accepted:
        """Validate and serialise; raise :class:`ContractError` with a bounded ``reason``."""
        self._check_size(payload)
        msg = contract.parse_telemetry(payload, topic)
        self._check_device(msg.device)
        site = topic.split("/", 3)[2]  # parse_telemetry has checked the topic's shape and ids
        site, msg = self.registry.bind(site, msg)  # site, farm and asset from the shore (ingest/registry.py)
        bad = contract.check_clock(msg, now or datetime.now(UTC), self.max_future, self.max_past)
        if not bad:  # the common case: serialise straight from the samples
            body = telemetry_lines(site, msg)
            newest = to_ms(max(smp.time for smp in msg.samples))
            return Accepted("\n".join(body).encode("utf-8"), len(body), msg.device, msg.seq, msg.backfill, newest)
        points = telemetry_points(site, msg)
        flags = self._clock(bad, points)
        newest = max(p.time_ms for p in points)
        return Accepted(lines(points), len(points), msg.device, msg.seq, msg.backfill, newest, flags)

    def accept_status(self, topic: str, payload: bytes, now: datetime | None = None) -> Accepted:
        """An edge agent's status message (``.../status``) as a ``device_status`` point.

        Nothing is written for an empty payload: it clears a retained status.
        """
        if not payload:
            return Accepted(b"", 0, "", -1, False, 0)
        self._check_size(payload)
        status = contract.parse_status(payload, topic)
        self._check_device(status.device)
        now = now or datetime.now(UTC)
        if status.time is not None and status.time > now + self.max_future:
            raise ContractError.single(
                "clock_future", "time", status.time.isoformat(), f"is more than {self.max_future} in the future"
            )
        site = topic.split("/", 3)[2]  # parse_status has checked the topic's shape and ids
        self.registry.check_site(site, status.device)
        points = status_points(site, status, int(now.timestamp() * 1000))
        return Accepted(lines(points), len(points), status.device, -1, False, points[0].time_ms)

    def _clock(self, bad: list[Violation], points: list[Point]) -> tuple[str, ...]:
        """Apply the clock policy to the samples in ``bad``: reject, or flag them QARTOD SUSPECT in
        ``points`` (edited in place)."""
        policy = self.config.clock
        flags: list[str] = []
        rejected: list[Violation] = []
        for v in bad:
            future = "future" in v.rule
            if (policy.future if future else policy.past) == "reject":
                rejected.append(v)
            else:
                flags.append("clock_future" if future else "clock_past")
                index = int(v.field[len("samples[") : v.field.index("]")])
                points[index] = _suspect(points[index])
        if rejected:
            future = any("future" in v.rule for v in rejected)
            raise ContractError("clock_future" if future else "clock_past", rejected)
        return tuple(sorted(set(flags)))


def _suspect(point: Point) -> Point:
    """The same point with every ``_qc`` flag raised to at least SUSPECT (3); FAIL and MISSING stay."""
    fields = dict(point.fields)
    for name, value in point.fields.items():
        if name.endswith(QC_SUFFIX) and value in (QcFlag.GOOD, QcFlag.NOT_EVALUATED):
            fields[name] = int(QcFlag.SUSPECT)
    return dataclasses.replace(point, fields=fields)


class ErrorClock:
    """Strictly increasing millisecond timestamps for ``ingest_errors`` points of one worker.

    Two rejections in the same millisecond would otherwise be the same InfluxDB point (same tags and
    time) and the second would overwrite the first, so the count of rejections would be wrong.
    """

    def __init__(self) -> None:
        self.last_ms = 0

    def next_ms(self) -> int:
        now = int(time.time() * 1000)
        self.last_ms = now if now > self.last_ms else self.last_ms + 1
        return self.last_ms
