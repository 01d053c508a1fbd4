"""Turn one MQTT message into line protocol, or into a :class:`ContractError` that says why not.

One pass: the topic is parsed once (:func:`blueranch.contracts.mqtt.parse_topic`, cached) and its parts
are what the payload is checked against and what the site tag is taken from; the MQTT contract checks the
size (the ingest's ``max_payload_bytes``), the schema and that the topic's device is the payload's device
(the payload is decoded by :mod:`blueranch.ingest.fastdecode`, whose refusals are the contract's).
This module adds the ingest's policies: the device policy (reject devices that are not in the configured
list) and the clock policy (reject, or flag samples far in the future or past), then serialises with the
contract's one telemetry serialiser.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError
from blueranch.contracts.influx import status_points, to_ms
from blueranch.contracts.lineprotocol import lines, telemetry_lines
from blueranch.ingest import fastdecode
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
    #: the edge buffer's epoch (None from agents older than commit acknowledgements)
    epoch: str | None = None


class Validator:
    def __init__(self, config: IngestConfig):
        self.config = config
        self.max_bytes = config.max_payload_bytes
        self.max_future = timedelta(seconds=config.clock.max_future_s)
        self.max_past = timedelta(seconds=config.clock.max_past_s)
        self.known = frozenset(config.devices.known)
        self._policy = {"future": config.clock.future, "past": config.clock.past}
        self.registry = load_registry(config.registry)
        #: the fast decoder, whose every refusal is the contract's (tests swap in contract.parse_telemetry)
        self.parse_telemetry = fastdecode.parse_telemetry

    def _check_device(self, device: str) -> None:
        if self.config.devices.unknown == "reject" and device not in self.known:
            raise ContractError.single(
                "unknown_device", "device", device, "is not in the ingest's list of known devices (devices.known)"
            )

    def accept(self, topic: str, payload: bytes, now: datetime | None = None) -> Accepted:
        """Validate and serialise; raise :class:`ContractError` with a bounded ``reason``."""
        parts = contract.parse_topic(topic)
        msg = self.parse_telemetry(payload, parts, self.max_bytes)
        self._check_device(msg.device)
        site, msg = self.registry.bind(parts.site, msg)  # site, farm and asset from the shore (ingest/registry.py)
        skews = contract.check_clock(msg, now or datetime.now(UTC), self.max_future, self.max_past)
        suspect, flags = self._clock(skews) if skews else ((), ())
        body = telemetry_lines(site, msg, suspect)
        newest = to_ms(max(smp.time for smp in msg.samples))
        return Accepted(
            "\n".join(body).encode("utf-8"), len(body), msg.device, msg.seq, msg.backfill, newest, flags, msg.epoch
        )

    def accept_status(self, topic: str, payload: bytes, now: datetime | None = None) -> Accepted:
        """An edge agent's status message (``.../status``) as a ``device_status`` point.

        Nothing is written for an empty payload: it clears a retained status.
        """
        if not payload:
            return Accepted(b"", 0, "", -1, False, 0)
        parts = contract.parse_topic(topic)
        status = contract.parse_status(payload, parts, self.max_bytes)
        self._check_device(status.device)
        now = now or datetime.now(UTC)
        if status.time is not None and status.time > now + self.max_future:
            raise ContractError.single(
                "clock_future", "time", status.time.isoformat(), f"is more than {self.max_future} in the future"
            )
        self.registry.check_site(parts.site, status.device)
        points = status_points(parts.site, status, int(now.timestamp() * 1000))
        return Accepted(lines(points), len(points), status.device, -1, False, points[0].time_ms)

    def _clock(self, skews: list[contract.ClockSkew]) -> tuple[frozenset[int], tuple[str, ...]]:
        """Apply the clock policy: raise if any skew is to be rejected, else the indices of the samples to
        flag QARTOD SUSPECT and the reasons they are counted under."""
        rejected = [s for s in skews if self._policy[s.direction] == "reject"]
        if rejected:
            reason = "clock_future" if any(s.direction == "future" for s in rejected) else "clock_past"
            raise ContractError(reason, [s.violation() for s in rejected])
        return frozenset(s.index for s in skews), tuple(sorted({s.reason for s in skews}))


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
