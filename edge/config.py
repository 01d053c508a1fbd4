"""Typed edge agent configuration. Unknown keys are errors; every error names its dotted path.

The file is YAML. ``sensors`` is a list whose items are validated by their driver's own ``Config``
(chosen by the ``driver`` key); ``qc`` maps a quantity to its QARTOD tests (:mod:`blueranch.edge.qc`).
Secrets never live in the file: the MQTT password comes from an environment variable or a file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated, Union

from pydantic import Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from blueranch.contracts.errors import ContractError, Violation, dotted_path
from blueranch.contracts.mqtt import SafeId
from blueranch.contracts.strict import StrictModel
from blueranch.edge import drivers
from blueranch.edge.drivers.base import QuantityName, SerialSensorBase
from blueranch.edge.qc import QuantityQc
from blueranch.loader import load_yaml
from blueranch.mqttc import parse_url, redact_url

#: The sensor id of the agent's own housekeeping readings.
AGENT_SENSOR = "agent"


class MqttConfig(StrictModel):
    #: ``mqtt://HOST:PORT`` or ``mqtts://HOST:PORT``; credentials in it are refused (they go below)
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    #: read the password from this environment variable or file, never from the config itself
    password_env: str | None = None
    password_file: Path | None = None
    #: CA bundle for mqtts:// (default: the system's)
    ca_file: Path | None = None
    #: client certificate and its key (PEM), for a broker that requires one on mqtts:// (docs/security.md)
    cert_file: Path | None = None
    key_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parse_url(value)  # its ValueError names the problem without repeating a password
        if "/" in value.partition("://")[2].rstrip("/"):
            raise ValueError("must be mqtt://HOST:PORT or mqtts://HOST:PORT, without a path")
        return value

    keepalive_s: int = Field(default=60, ge=5, le=3600)
    #: MQTT 5 session expiry: the broker keeps the session (and queued commands) this long after a drop
    session_expiry_s: int = Field(default=7 * 86400, ge=0, le=2**32 - 1)
    #: messages handed to the broker and not yet acknowledged (PUBACK), at most
    inflight_max: int = Field(default=100, ge=1, le=65535)
    reconnect_min_s: float = Field(default=1.0, gt=0, le=60)
    reconnect_max_s: float = Field(default=120.0, gt=0, le=3600)
    status_interval_s: float = Field(default=60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_password_source(self) -> MqttConfig:
        if self.password_env and self.password_file:
            raise ValueError("give password_env or password_file, not both")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give cert_file and key_file together (the client certificate and its key)")
        if self.cert_file is not None and not self.url.startswith("mqtts://"):
            raise ValueError("cert_file/key_file need an mqtts:// url (a client certificate is sent over TLS)")
        return self

    def password(self) -> str | None:
        """The password from the environment or the file; raise ``ValueError`` naming the source, never the value."""
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ValueError(f"mqtt.password_env: environment variable {self.password_env} is not set")
            return value
        if self.password_file:
            try:
                return self.password_file.read_text().rstrip("\r\n")
            except OSError as exc:
                raise ValueError(f"mqtt.password_file: cannot read {self.password_file}: {exc.strerror}") from None
        return None


class BufferConfig(StrictModel):
    path: Path = Path("/var/lib/blueranch/edge-buffer.sqlite")
    #: bound on the stored messages' size; beyond it the oldest are evicted (counted, logged)
    max_bytes: int = Field(default=256 * 1024 * 1024, ge=64 * 1024)
    #: messages older than this are evicted (the ingest accepts samples at most 400 days old)
    max_age_s: float = Field(default=30 * 86400, gt=0, le=400 * 86400)
    #: SQLite synchronous mode: FULL survives power loss, NORMAL only a process crash (see docs/edge.md)
    synchronous: str = Field(default="FULL", pattern="^(FULL|NORMAL)$")


def _driver_of(value) -> str:
    if isinstance(value, dict):
        return str(value.get("driver", ""))
    return str(getattr(value, "driver", ""))


def _sensor_union():
    registry = drivers.load_all()
    members = tuple(Annotated[cls.Config, Tag(name)] for name, cls in sorted(registry.items()))
    return Annotated[
        Union[members],  # noqa: UP007 (a union built from a tuple at run time)
        Discriminator(
            _driver_of,
            custom_error_type="unknown_driver",
            custom_error_message=f"driver must be one of {', '.join(sorted(registry))}",
        ),
    ]


SensorConfig = _sensor_union()


class EdgeConfig(StrictModel):
    site: SafeId
    device: SafeId
    mqtt: MqttConfig = MqttConfig()
    buffer: BufferConfig = BufferConfig()
    #: where the running agent keeps its status for ``blueranch edge status`` (default: next to the buffer)
    status_file: Path | None = None
    #: the simulator's clock file (accelerated time); absent means real time
    clock_file: Path | None = None
    #: the agent's own housekeeping readings (sensor ``agent``: buffer_depth, buffer_dropped_total, uptime_s)
    #: go into the buffer this often (0: never); unlike the status message they survive an outage
    health_interval_s: float = Field(default=300.0, ge=0, le=86400)
    #: QARTOD tests per quantity
    qc: dict[QuantityName, QuantityQc] = {}
    sensors: list[SensorConfig] = Field(min_length=1)  # type: ignore[valid-type]

    @property
    def status_path(self) -> Path:
        return self.status_file or self.buffer.path.with_suffix(".status.json")


def consistency(cfg: EdgeConfig) -> list[Violation]:
    """Rules across sensors: unique ids; one line, one protocol and speed per port."""
    out: list[Violation] = []
    seen: set[str] = set()
    lines: dict[str, tuple[str, object]] = {}
    for i, s in enumerate(cfg.sensors):
        if s.id == AGENT_SENSOR:
            out.append(Violation(f"sensors[{i}].id", s.id, "is reserved for the agent's own housekeeping readings"))
        if s.id in seen:
            out.append(Violation(f"sensors[{i}].id", s.id, "is used by another sensor (ids must be unique)"))
        seen.add(s.id)
        if isinstance(s, SerialSensorBase):
            line = s.line_settings()
            first = lines.setdefault(s.port, (s.id, line))
            if first[1] != line:
                out.append(
                    Violation(
                        f"sensors[{i}].port",
                        s.port,
                        f"is shared with sensor {first[0]!r}, which uses "
                        f"{first[1]}; this sensor uses {line}: one line, one protocol and speed",
                    )
                )
    return out


def _violations(exc: ValidationError) -> list[Violation]:
    """Dotted paths without pydantic's union tags (``sensors[0].sdi12.address`` -> ``sensors[0].address``)."""
    names = set(drivers.load_all())
    out = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        if len(loc) >= 3 and loc[0] == "sensors" and isinstance(loc[1], int) and loc[2] in names:
            del loc[2]
        loc = [p for p in loc if p != "[key]"]
        if err["type"] == "unknown_driver":
            loc.append("driver")
        rule = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            rule = "is not a known field (unknown keys are errors)"
        elif err["type"] == "missing":
            rule = "is required"
        value = err.get("input")
        if loc == ["mqtt", "url"] and isinstance(value, str):
            value = redact_url(value)  # never echo a password put in the URL
        out.append(Violation(dotted_path(tuple(loc)), value, rule))
    return out


def parse_config(data: object) -> EdgeConfig:
    """Validate already-loaded data; raise :class:`ContractError` listing every problem."""
    try:
        cfg = EdgeConfig.model_validate(data)
    except ValidationError as exc:
        raise ContractError("bad_config", _violations(exc)) from None
    problems = consistency(cfg)
    if problems:
        raise ContractError("bad_config", problems)
    return cfg


def load_config(path: Path) -> EdgeConfig:
    """Read and validate a YAML config; raise :class:`ContractError` listing every problem (the file's own
    problems, from :func:`blueranch.loader.load_yaml`: unreadable, too big, duplicate keys, too deep, ...)."""
    return parse_config(load_yaml(path))


def config_version(path: Path) -> str:
    """A short fingerprint of the config file, reported in the status message."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
