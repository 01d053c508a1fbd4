"""Typed ingest configuration (``--config FILE``, YAML). Unknown keys are errors.

Every field has a default, so ``blueranch ingest run`` works without a file; command-line options override
the file. Sizes and times carry their unit in the name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import from_pydantic
from blueranch.contracts.strict import StrictModel
from blueranch.loader import load_yaml


class ClockPolicy(StrictModel):
    """What to do with samples whose time is implausible against the server clock.

    ``reject`` dead-letters the whole message; ``flag`` writes it with the sample's QARTOD flag raised
    to SUSPECT (3) and counts it under the reason ``clock_future``/``clock_past``.
    """

    max_future_s: float = Field(default=contract.DEFAULT_MAX_FUTURE.total_seconds(), gt=0)
    max_past_s: float = Field(default=contract.DEFAULT_MAX_PAST.total_seconds(), gt=0)
    future: Literal["reject", "flag"] = "reject"
    past: Literal["reject", "flag"] = "reject"


class DevicePolicy(StrictModel):
    """Which devices may send telemetry. With ``unknown: accept`` every device with a valid id is written."""

    unknown: Literal["accept", "reject"] = "accept"
    known: list[contract.SafeId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_needed(self) -> DevicePolicy:
        if self.unknown == "reject" and not self.known:
            raise ValueError("unknown: reject needs a list of known devices (known: [buoy-01, ...])")
        return self


class BatchConfig(StrictModel):
    """A batch is written when it holds ``max_points`` points or its oldest message is ``max_age_s`` old."""

    max_points: int = Field(default=5000, ge=1, le=100_000)
    max_age_s: float = Field(default=0.2, gt=0, le=60)
    gzip: bool = True


class RetryConfig(StrictModel):
    """Backoff for 5xx, timeouts and connection errors: exponential with full jitter, retried until stopped."""

    initial_s: float = Field(default=0.1, gt=0)
    max_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=10.0, gt=0)


class IngestConfig(StrictModel):
    group: contract.SafeId = "ingest"
    #: MQTT client id prefix; worker ``i`` uses ``{client_id}-{i}`` so its persistent session survives restarts.
    client_id: contract.SafeId = "ingest"
    #: MQTT 5 Receive Maximum: unacknowledged messages the broker may send to one worker.
    receive_maximum: int = Field(default=5000, ge=1, le=65535)
    #: Internal bound: points accepted but not yet written; on_message waits above it.
    max_pending_points: int = Field(default=200_000, ge=1)
    max_payload_bytes: int = Field(default=contract.MAX_PAYLOAD_BYTES, ge=1, le=contract.MAX_PAYLOAD_BYTES)
    #: How long the broker keeps a worker's session (and queues its share of the group) after it drops. Short,
    #: so that a worker that dies hands its share back to the group: while its session lives the broker keeps
    #: queueing that share for it, and when the session expires the queue is dropped, not given to the other
    #: workers (Mosquitto 2.0; EMQX documents the same and recommends short-expiry sessions for shared
    #: subscriptions). What a dead worker held is sent again by the agents (commit acknowledgements), so a
    #: short expiry loses nothing; it only bounds how long that share waits. 120 s covers a restart.
    session_expiry_s: int = Field(default=120, ge=0, le=2**32 - 1)
    keepalive_s: int = Field(default=30, ge=5)
    deadletter_topic: str = contract.DEADLETTER_TOPIC
    #: a dead letter's size at most (it is also kept under the broker's Maximum Packet Size from CONNACK)
    deadletter_max_bytes: int = Field(default=16 * 1024, ge=1024, le=contract.MAX_PAYLOAD_BYTES)
    stats_interval_s: float = Field(default=10.0, gt=0)
    clock: ClockPolicy = Field(default_factory=ClockPolicy)
    devices: DevicePolicy = Field(default_factory=DevicePolicy)
    #: the shore's device registry (YAML, :mod:`blueranch.ingest.registry`): the only source of the site, farm
    #: and asset tags. Without one the ingest trusts topics and payloads, and says so when it starts.
    registry: Path | None = None
    batch: BatchConfig = Field(default_factory=BatchConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    #: publish commit acknowledgements to the devices (``ingest/acks.py``); off, agents fall back to PUBACK
    acks: bool = True


def load_config(path: Path | None) -> IngestConfig:
    """Read a YAML config; raise :class:`ContractError` (reason ``config``, or ``bad_file`` from the loader) naming
    the bad key."""
    if path is None:
        return IngestConfig()
    data = load_yaml(path) or {}
    try:
        return IngestConfig.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic("config", exc) from None
