"""The ingest's fast telemetry decoder: msgspec on the hot path, the contract's pydantic model as the reference.

Decoding and validating a telemetry message with :class:`blueranch.contracts.mqtt.Telemetry` costs about
3.4 us a sample (a Python validator per sample for the quantity, unit, range and UTC time), most of the
ingest's time. Here msgspec decodes the payload into :class:`Telemetry`/:class:`Sample` structs in one C
pass (types, ids, ``seq``, ``qc``, unknown keys, ``min/max_length``), and a Python loop checks what is left
with a per-quantity table: known quantity and unit, the flag a value outside the physical range or a
missing value gets, and the time, which must be RFC 3339 in
UTC in its canonical form (``2026-11-21T14:00:00.250Z`` or ``+00:00``, up to 6 decimals).

Whatever this path does not accept goes to the reference, :func:`blueranch.contracts.mqtt.parse_telemetry`:
every refusal is the contract's own (the same reason, violations and words), and a message this path is too
strict for (an int timestamp, a lower-case ``t``, a ``"qc": 1.0``, which pydantic's lax parsing accepts) is
still accepted, by the reference. The other direction is held by property tests
(``tests/ingest/test_fastdecode.py``): what this path accepts, the reference accepts with the same values.
The structs mirror the pydantic models field for field (a test checks it), so a new contract field must be
added here too; until it is, messages carrying it take the reference path (slower, never wrong).
"""

from __future__ import annotations

import re
from datetime import datetime
from math import isfinite
from typing import Annotated, Literal

import msgspec

from blueranch.contracts import mqtt as contract
from blueranch.contracts.quantities import QUANTITIES

#: ``contract.ID_PATTERN`` ends with ``$``, the end of the text in pydantic-core's regex; msgspec uses
#: Python's ``re.search``, where ``$`` also matches before a final newline: ``\Z`` is the same rule here.
_ID = contract.ID_PATTERN.removesuffix("$") + r"\Z"
SafeId = Annotated[str, msgspec.Meta(pattern=_ID)]
Epoch = Annotated[str, msgspec.Meta(pattern=contract.EPOCH_PATTERN.removesuffix("$") + r"\Z")]
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|\+00:00)").fullmatch
#: quantity -> (unit, gross_min, gross_max): the checks of ``Sample._known_quantity_and_unit``
_LIMITS = {q.name: (q.unit, q.gross_min, q.gross_max) for q in QUANTITIES.values()}


class Sample(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    time: str  # decoded as the text; decode() replaces it with its (UTC) datetime
    sensor: SafeId
    quantity: str
    unit: str
    value: float | None = None
    qc: Literal[1, 2, 3, 4, 9] = 2
    farm: SafeId | None = None
    asset: SafeId | None = None

    def model_copy(self, *, update: dict) -> Sample:
        """As pydantic's (:meth:`blueranch.ingest.registry.Registry.bind` sets farm and asset)."""
        return msgspec.structs.replace(self, **update)


class Position(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    lat_deg: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon_deg: Annotated[float, msgspec.Meta(ge=-180, le=180)]


class Telemetry(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    device: SafeId
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    samples: Annotated[list[Sample], msgspec.Meta(min_length=1, max_length=contract.MAX_SAMPLES)]
    epoch: Epoch | None = None
    schema: Literal["blueranch.telemetry/v1"] = contract.TELEMETRY_SCHEMA
    backfill: bool = False
    position: Position | None = None

    def model_copy(self, *, update: dict) -> Telemetry:
        return msgspec.structs.replace(self, **update)


_DECODER = msgspec.json.Decoder(Telemetry)
_fromisoformat = datetime.fromisoformat
_time_ms = contract.time_ms
_FAIL, _MISSING = contract.FAIL_QC, contract.MISSING_QC


def decode(payload: bytes) -> Telemetry | None:
    """The message if this path accepts it, else None (the reference then decides)."""
    try:
        msg = _DECODER.decode(payload)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    limits, canonical, parse = _LIMITS, _TIME, _fromisoformat
    try:
        for s in msg.samples:
            unit, lo, hi = limits[s.quantity]
            if s.unit != unit or not canonical(s.time):
                return None
            v = s.value
            if v is None:
                s.qc = _MISSING  # as the contract's Sample: no value, flag MISSING
            elif not (lo <= v <= hi):
                if not isfinite(v):
                    return None  # msgspec reads 1e400 as inf; the contract refuses it
                s.qc = _FAIL  # outside the physical range: kept with its value, flag FAIL
            s.time = parse(s.time)
    except (KeyError, ValueError):  # an unknown quantity; no such date or time (2026-02-30, 24:00:00)
        return None
    samples = msg.samples
    if len(samples) > 1 and len({(s.sensor, s.quantity, _time_ms(s.time)) for s in samples}) != len(samples):
        return None  # two samples of one sensor, quantity and millisecond: the reference refuses it
    return msg


def parse_telemetry(
    payload: bytes, topic: contract.TopicParts, max_bytes: int = contract.MAX_PAYLOAD_BYTES
) -> Telemetry | contract.Telemetry:
    """:func:`blueranch.contracts.mqtt.parse_telemetry` for a parsed topic, fast when the message is valid."""
    if len(payload) <= max_bytes and topic.kind == "telemetry":
        msg = decode(payload)
        if msg is not None and msg.device == topic.device:
            return msg
    return contract.parse_telemetry(payload, topic, max_bytes)
