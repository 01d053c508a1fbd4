"""Contract 1: MQTT topics and payloads, version ``v1``.

Topics::

    blueranch/v1/{site}/{device}/telemetry   device -> server   Telemetry (QoS 1)
    blueranch/v1/{site}/{device}/status      device -> server   Status (QoS 1, retained; also the Last Will)
    blueranch/v1/{site}/{device}/events      device -> server   free-form device events (QoS 1)
    blueranch/v1/{site}/{device}/cmd         server -> device   commands (QoS 1)
    blueranch/v1/{site}/{device}/ack         ingest -> device   Ack: what the shore committed (QoS 1, retained)
    blueranch/v1/{site}/_alerts              alert worker -> anyone   alert notifications
    blueranch/v1/_system/deadletter          ingest -> operators      rejected messages with reasons

Site and device ids use a safe alphabet (:data:`ID_PATTERN`): ASCII letters, digits, ``_``, ``-`` and
``.``, starting with a letter or digit, at most 64 characters. No MQTT wildcard (``+``, ``#``), no ``/``,
no whitespace or control characters can appear, so an id can never widen a subscription, change a topic's
level or inject a line into InfluxDB. Names that start with ``_`` are reserved for the platform.

A telemetry payload is JSON (UTF-8)::

    {"schema": "blueranch.telemetry/v1", "device": "buoy-01", "seq": 1742, "backfill": false,
     "position": {"lat_deg": 28.46, "lon_deg": 121.89},
     "samples": [{"time": "2026-11-21T14:00:00.000Z", "sensor": "sonde-1", "quantity": "do_mg_l",
                  "value": 7.21, "unit": "mg/L", "qc": 1, "farm": "mussel-1", "asset": "ll-03"}]}

``seq`` counts messages per device (it is assigned when the edge buffers a message, and a replay resends
the same message with the same ``seq`` and ``backfill: true``). ``epoch`` names the edge buffer that assigned
``seq`` (a random id made with the buffer; a buffer lost, replaced or recovered starts a new one), so
(``epoch``, ``seq``) is never reused. Each sample carries the sensor's own UTC timestamp; ``qc`` is the QARTOD
flag (1 good, 2 not evaluated, 3 suspect, 4 fail, 9 missing). Two samples of one sensor and quantity in the
same millisecond would be one InfluxDB point: :func:`parse_telemetry` refuses such a message
(``duplicate_sample``).

After writing a batch, the ingest publishes on the device's ``ack`` topic what it committed
(:class:`Ack`: ranges of ``seq`` of one ``epoch``); the edge deletes a message only then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from blueranch.contracts.errors import ContractError, Violation, from_pydantic
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES

VERSION = "v1"
ROOT = "blueranch"
PREFIX = f"{ROOT}/{VERSION}"

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)

#: The largest payload the platform accepts, in bytes (checked before parsing; the ingest may set a lower limit).
MAX_PAYLOAD_BYTES = 256 * 1024
#: The most samples in one telemetry message.
MAX_SAMPLES = 2000
#: Default ingest policy for sensor clocks: how far ahead of the server clock a sample may be.
DEFAULT_MAX_FUTURE = timedelta(minutes=10)
#: Default ingest policy: the oldest sample accepted (the edge buffer holds at most this long).
DEFAULT_MAX_PAST = timedelta(days=400)

TELEMETRY_SCHEMA = "blueranch.telemetry/v1"
STATUS_SCHEMA = "blueranch.status/v1"
ACK_SCHEMA = "blueranch.ack/v1"

KINDS = ("telemetry", "status", "events", "cmd", "ack")
TELEMETRY_FILTER = f"{PREFIX}/+/+/telemetry"
STATUS_FILTER = f"{PREFIX}/+/+/status"
DEADLETTER_TOPIC = f"{PREFIX}/_system/deadletter"


def check_id(value: str, field: str = "id") -> str:
    """Return ``value`` if it is a safe site or device id, else raise :class:`ContractError`."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise ContractError.single("bad_id", field, value, f"must match {ID_PATTERN} (letters, digits, _ - .)")
    return value


#: A safe id inside a payload. The pattern is checked by pydantic-core (Rust regex, where ``$`` is the end
#: of the text); :func:`blueranch.contracts.errors.from_pydantic` words a mismatch as "must match ...".
SafeId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


# ---------------------------------------------------------------- topics
def telemetry_topic(site: str, device: str) -> str:
    return _topic(site, device, "telemetry")


def status_topic(site: str, device: str) -> str:
    return _topic(site, device, "status")


def events_topic(site: str, device: str) -> str:
    return _topic(site, device, "events")


def cmd_topic(site: str, device: str) -> str:
    return _topic(site, device, "cmd")


def ack_topic(site: str, device: str) -> str:
    return _topic(site, device, "ack")


def alerts_topic(site: str) -> str:
    return f"{PREFIX}/{check_id(site, 'site')}/_alerts"


def shared_subscription(group: str, topic_filter: str) -> str:
    """An MQTT 5 shared subscription: workers in one group split the messages between them."""
    check_id(group, "group")
    return f"$share/{group}/{topic_filter}"


def _topic(site: str, device: str, kind: str) -> str:
    return f"{PREFIX}/{check_id(site, 'site')}/{check_id(device, 'device')}/{kind}"


@dataclass(frozen=True)
class TopicParts:
    site: str
    device: str
    kind: str


#: Valid topics already parsed (a fleet has a bounded set of device topics; the ingest parses one per
#: message). Cleared when it reaches the bound; only valid topics are kept.
_TOPIC_CACHE: dict[str, TopicParts] = {}
_TOPIC_CACHE_MAX = 100_000


def parse_topic(topic: str) -> TopicParts:
    """Split a device topic; raise :class:`ContractError` (reason ``bad_topic``) if it is not one."""
    cached = _TOPIC_CACHE.get(topic)
    if cached is not None:
        return cached
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != ROOT or parts[1] != VERSION:
        raise ContractError.single("bad_topic", "topic", topic, f"must be {PREFIX}/{{site}}/{{device}}/{{kind}}")
    site, device, kind = parts[2], parts[3], parts[4]
    violations = []
    for name, value in (("topic.site", site), ("topic.device", device)):
        if not _ID_RE.fullmatch(value):
            violations.append(Violation(name, value, f"must match {ID_PATTERN}"))
    if kind not in KINDS:
        violations.append(Violation("topic.kind", kind, f"must be one of {', '.join(KINDS)}"))
    if violations:
        raise ContractError("bad_topic", violations)
    result = TopicParts(site, device, kind)
    if len(_TOPIC_CACHE) >= _TOPIC_CACHE_MAX:
        _TOPIC_CACHE.clear()
    _TOPIC_CACHE[topic] = result
    return result


# ---------------------------------------------------------------- payloads
_ZERO = timedelta(0)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() != _ZERO:
        raise ValueError("must be a UTC timestamp (end with 'Z' or '+00:00')")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)


#: The flags the contract sets itself: a value outside the physical range, a reading without a value.
FAIL_QC = int(QcFlag.FAIL)
MISSING_QC = int(QcFlag.MISSING)


class Sample(BaseModel):
    """One reading of one quantity by one sensor at the sensor's own time.

    No reading is refused because of its value (the QC flag says what it is worth): a value outside the
    quantity's physical range travels with its value and flag 4 (FAIL), and a reading without a finite value
    (a sensor's NaN, an overflow) travels without ``value`` (or ``null``) and with flag 9 (MISSING). The flag
    is set here whatever the device claimed, so a device cannot pass an impossible value as good. Consumers
    skip FAIL and MISSING (the carbon and alert workers, the dashboards' means).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    time: Annotated[UtcTime, Field(strict=False)]
    sensor: SafeId
    quantity: str
    #: ``None`` (JSON ``null`` or no ``value`` key) for a reading without a finite value; its flag is then
    #: MISSING. Messages leave ``value`` out then, as they leave out every field that is ``None``.
    value: Annotated[float, Field(allow_inf_nan=False)] | None = None
    unit: str
    #: QARTOD flag (:class:`blueranch.contracts.qc.QcFlag` values); a plain int so that pydantic-core checks it
    #: without a Python call
    qc: Literal[1, 2, 3, 4, 9] = 2
    farm: SafeId | None = None
    asset: SafeId | None = None

    @model_validator(mode="after")
    def _known_quantity_and_unit(self) -> Sample:
        q = QUANTITIES.get(self.quantity)
        if q is None:
            raise ValueError(f"quantity {self.quantity!r} is not known; see blueranch.contracts.quantities")
        if self.unit != q.unit:
            raise ValueError(f"unit {self.unit!r} is wrong for {q.name}: must be {q.unit!r}")
        # The model is frozen; the flag is the one field the contract itself decides (see the class docstring).
        if self.value is None:
            if self.qc != MISSING_QC:
                object.__setattr__(self, "qc", MISSING_QC)
        elif not (q.gross_min <= self.value <= q.gross_max) and self.qc != FAIL_QC:
            object.__setattr__(self, "qc", FAIL_QC)
        return self


#: A buffer epoch: a random id (the edge makes 16 hex digits), at most 32 characters of a safe alphabet.
EPOCH_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
Epoch = Annotated[str, StringConstraints(pattern=EPOCH_PATTERN)]


class Telemetry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["blueranch.telemetry/v1"] = Field(default=TELEMETRY_SCHEMA, alias="schema")
    device: SafeId
    #: the edge buffer's epoch (absent from agents older than commit acknowledgements)
    epoch: Epoch | None = None
    seq: int = Field(ge=0, lt=2**63, strict=True)
    backfill: bool = Field(default=False, strict=True)
    position: Position | None = None
    samples: list[Sample] = Field(min_length=1, max_length=MAX_SAMPLES)

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


class Status(BaseModel):
    """Retained device status; also published as the Last Will with ``state: offline``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["blueranch.status/v1"] = Field(default=STATUS_SCHEMA, alias="schema")
    device: SafeId
    state: Literal["online", "offline"]
    time: UtcTime | None = None
    sw_version: str | None = Field(default=None, max_length=64)
    config_version: str | None = Field(default=None, max_length=64)
    buffer_depth: int | None = Field(default=None, ge=0)
    buffer_dropped_total: int | None = Field(default=None, ge=0)
    battery_v: float | None = None
    rssi_dbm: float | None = None
    uplink: str | None = Field(default=None, max_length=200)
    last_reading: dict[SafeId, UtcTime] | None = None
    #: the edge buffer's epoch; a new one means the buffer was lost, replaced or recovered
    epoch: Epoch | None = None
    #: telemetry publishes the broker refused (PUBACK >= 0x80) since the agent started: worth an alert
    refused_total: int | None = Field(default=None, ge=0)

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


def parse_telemetry(
    payload: bytes, topic: str | TopicParts | None = None, max_bytes: int = MAX_PAYLOAD_BYTES
) -> Telemetry:
    """Validate a telemetry message of at most ``max_bytes``. Raises :class:`ContractError` naming field, value
    and rule.

    When ``topic`` is given (as text, or as the parts :func:`parse_topic` returned) it must be a telemetry topic
    whose device is the payload's device.
    """
    _check_size(payload, max_bytes)
    parts = _expect_topic(topic, "telemetry")
    try:
        msg = Telemetry.model_validate_json(payload)
    except ValidationError as exc:
        raise from_pydantic("invalid_json" if _is_json_error(exc) else "schema", exc) from None
    _expect_device(parts, msg.device)
    refuse_duplicate_samples(msg.samples)
    return msg


def parse_status(payload: bytes, topic: str | TopicParts | None = None, max_bytes: int = MAX_PAYLOAD_BYTES) -> Status:
    """Validate a status message; with ``topic``, it must be a status topic of the payload's device."""
    return _parse(Status, "status", payload, topic, max_bytes)


def _parse(model, kind: str, payload: bytes, topic: str | TopicParts | None, max_bytes: int):
    """Size, topic kind, schema, and the topic's device = the payload's device."""
    _check_size(payload, max_bytes)
    parts = _expect_topic(topic, kind)
    try:
        msg = model.model_validate_json(payload)
    except ValidationError as exc:
        raise from_pydantic("invalid_json" if _is_json_error(exc) else "schema", exc) from None
    _expect_device(parts, msg.device)
    return msg


def _check_size(payload: bytes, max_bytes: int) -> None:
    if len(payload) > max_bytes:
        raise ContractError.single("oversize", "payload", f"{len(payload)} bytes", f"must be at most {max_bytes} bytes")


def _expect_topic(topic: str | TopicParts | None, kind: str) -> TopicParts | None:
    parts = parse_topic(topic) if isinstance(topic, str) else topic
    if parts is not None and parts.kind != kind:
        raise ContractError.single("bad_topic", "topic.kind", parts.kind, f"must be {kind!r}")
    return parts


def _expect_device(parts: TopicParts | None, device: str) -> None:
    if parts is not None and device != parts.device:
        raise ContractError.single(
            "device_mismatch", "device", device, f"must equal the topic's device {parts.device!r}"
        )


def _is_json_error(exc: ValidationError) -> bool:
    return any(e["type"] == "json_invalid" for e in exc.errors())


@dataclass(frozen=True)
class ClockSkew:
    """A sample whose time is implausible against the server clock: ``samples[index]`` is more than ``limit``
    in the ``direction`` of ``now``."""

    index: int
    time: datetime
    direction: Literal["future", "past"]
    limit: timedelta

    @property
    def reason(self) -> str:
        """``clock_future`` or ``clock_past``: the reason a rejection or a flag is counted under."""
        return f"clock_{self.direction}"

    def violation(self) -> Violation:
        return Violation(
            f"samples[{self.index}].time", self.time.isoformat(), f"is more than {self.limit} in the {self.direction}"
        )


def check_clock(
    msg: Telemetry, now: datetime, max_future: timedelta = DEFAULT_MAX_FUTURE, max_past: timedelta = DEFAULT_MAX_PAST
) -> list[ClockSkew]:
    """Samples whose time is implausible against the server clock ``now`` (policy is the caller's)."""
    out = []
    latest, earliest = now + max_future, now - max_past
    for i, s in enumerate(msg.samples):
        if s.time > latest:
            out.append(ClockSkew(i, s.time, "future", max_future))
        elif s.time < earliest:
            out.append(ClockSkew(i, s.time, "past", max_past))
    return out


# ---------------------------------------------------------------- no silent merges
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def time_ms(t: datetime) -> int:
    """The millisecond an aware time is written at: floored, in exact integer arithmetic, so two times in
    different milliseconds stay different points (rounding merged 0.115_5 s and 0.116_5 s, and a float
    timestamp can land a whole millisecond early). :func:`blueranch.contracts.influx.to_ms` is this."""
    return (t - _EPOCH) // _ONE_MS


def sample_key(s: Sample) -> tuple[str, str, int]:
    """What makes a sample one InfluxDB value: sensor, quantity and the millisecond it is written at
    (precision ``ms``; a finer precision the sensor gave is kept in the payload)."""
    return (s.sensor, s.quantity, time_ms(s.time))


def refuse_duplicate_samples(samples: list[Sample]) -> None:
    """Raise :class:`ContractError` (``duplicate_sample``) when two samples have the same sensor, quantity and
    millisecond: InfluxDB would keep one value of the two (same series, field and time) without a word."""
    if len(samples) < 2:
        return
    seen: dict[tuple[str, str, int], int] = {}
    violations = []
    for i, s in enumerate(samples):
        first = seen.setdefault(sample_key(s), i)
        if first != i:
            violations.append(
                Violation(
                    f"samples[{i}]",
                    f"{s.sensor} {s.quantity} at {s.time.isoformat()}",
                    f"has the sensor, quantity and millisecond of samples[{first}] (one would overwrite the other)",
                )
            )
    if violations:
        raise ContractError("duplicate_sample", violations)


# ---------------------------------------------------------------- commit acknowledgements
#: The most ranges (committed) or entries (rejected) in one ack; a worker splits a longer list.
MAX_ACK_ITEMS = 1000
Seq = Annotated[int, Field(ge=0, lt=2**63, strict=True)]


class Rejected(BaseModel):
    """A message the ingest did not write but dead-lettered, with the reason (``blueranch/v1/_system/deadletter``
    has the details): the shore took responsibility for it, so the edge deletes it and counts it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: Seq
    reason: str = Field(max_length=64)


class Ack(BaseModel):
    """Ingest -> device on ``blueranch/v1/{site}/{device}/ack`` (QoS 1, retained): the messages of ``epoch``
    whose points InfluxDB holds (``committed``, inclusive ``[first, last]`` seq ranges) and those the ingest
    dead-lettered (``rejected``). Several workers of one group each acknowledge what they wrote; the last one
    is retained, which also tells an agent that subscribes that its shore sends commits."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["blueranch.ack/v1"] = Field(default=ACK_SCHEMA, alias="schema")
    device: SafeId
    epoch: Epoch
    committed: list[tuple[Seq, Seq]] = Field(default_factory=list, max_length=MAX_ACK_ITEMS)
    rejected: list[Rejected] = Field(default_factory=list, max_length=MAX_ACK_ITEMS)
    worker: SafeId | None = None

    @field_validator("committed")
    @classmethod
    def _ordered_ranges(cls, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
        for first, last in ranges:
            if first > last:
                raise ValueError(f"range [{first}, {last}] must have first <= last")
        return ranges

    def seqs(self) -> int:
        """How many messages the ack covers."""
        return sum(last - first + 1 for first, last in self.committed) + len(self.rejected)

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


def seq_ranges(seqs) -> list[tuple[int, int]]:
    """Sorted inclusive ``(first, last)`` runs of consecutive seqs: ``[1, 2, 3, 7]`` -> ``[(1, 3), (7, 7)]``."""
    out: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if out and seq == out[-1][1] + 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


def parse_ack(payload: bytes, topic: str | TopicParts | None = None, max_bytes: int = MAX_PAYLOAD_BYTES) -> Ack:
    """Validate an ack; with ``topic``, it must be an ack topic of the payload's device."""
    return _parse(Ack, "ack", payload, topic, max_bytes)
