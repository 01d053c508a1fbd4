"""Typed edge agent configuration. Unknown keys are errors; every error names its dotted path and, when
read from a file, the line and column (PyYAML's node marks) and, for an unknown key, the nearest known one.

The file is YAML. ``sensors`` is a list whose items are validated by their driver's own ``Config``
(chosen by the ``driver`` key); ``qc`` maps a quantity to its QARTOD tests (:mod:`blueranch.edge.qc`);
``mqtt`` is required (an agent without an uplink only fills its buffer). A key given twice in one mapping
is an error (YAML loaders silently keep the last one). Secrets never live in the file: the MQTT password
comes from an environment variable or a file.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from blueranch.contracts.errors import ContractError, Violation, dotted_path
from blueranch.contracts.mqtt import SafeId
from blueranch.contracts.strict import StrictModel
from blueranch.edge import drivers
from blueranch.edge.drivers.base import QuantityName, SerialSensorBase
from blueranch.edge.qc import QuantityQc
from blueranch.loader import decode, parse_yaml, read_bytes
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
    #: reconnects, and publishes the broker refused or had no subscriber for, back off from min to max
    reconnect_min_s: float = Field(default=1.0, gt=0, le=60)
    reconnect_max_s: float = Field(default=120.0, gt=0, le=3600)
    status_interval_s: float = Field(default=60.0, gt=0, le=3600)
    #: when a buffered message is deleted (docs/edge.md, "Delivery"): ``auto`` (on the shore's commit once it
    #: has sent one; before that, PUBACK only if the shore never commits), ``commit`` (only on a commit),
    #: ``puback`` (on the broker's PUBACK 0x00: a shore without commit acknowledgements)
    delivery: Literal["auto", "commit", "puback"] = "auto"
    #: a message the broker accepted and the shore did not commit within this is sent again (doubling per resend)
    commit_timeout_s: float = Field(default=60.0, gt=0, le=86400)
    commit_timeout_max_s: float = Field(default=3600.0, gt=0, le=7 * 86400)
    #: ``auto`` with no commit ever seen: fall back to PUBACK mode after the broker accepted messages this long
    commit_wait_s: float = Field(default=300.0, gt=0, le=86400)
    #: messages out at once (in flight or waiting for their commit); the rest wait in the buffer
    commit_window: int = Field(default=2000, ge=1, le=100_000)

    @model_validator(mode="after")
    def _one_password_source(self) -> MqttConfig:
        if self.password_env and self.password_file:
            raise ValueError("give password_env or password_file, not both")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give cert_file and key_file together (the client certificate and its key)")
        if self.cert_file is not None and not self.url.startswith("mqtts://"):
            raise ValueError("cert_file/key_file need an mqtts:// url (a client certificate is sent over TLS)")
        if self.commit_timeout_max_s < self.commit_timeout_s:
            raise ValueError("commit_timeout_max_s must be at least commit_timeout_s")
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
    #: while the disk refuses writes (full, read-only, I/O error), new messages are held in memory up to this
    #: (oldest evicted, counted); lost if the agent stops before the disk is back
    memory_max_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=256 * 1024 * 1024)
    #: how often a refusing disk is tried again
    disk_retry_s: float = Field(default=5.0, gt=0, le=3600)


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
    mqtt: MqttConfig
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


@dataclass(frozen=True)
class ConfigViolation(Violation):
    """A violation with where it is in the file (1-based; ``None`` when the data did not come from a file)."""

    line: int | None = None
    column: int | None = None

    def where(self) -> str:
        return f"{self.line}:{self.column}" if self.line is not None else ""


def _unwrap(t: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> ``X``."""
    while True:
        origin = get_origin(t)
        if origin is Annotated:
            t = get_args(t)[0]
        elif origin is Union and type(None) in get_args(t) and len(get_args(t)) == 2:
            t = next(a for a in get_args(t) if a is not type(None))
        else:
            return t


def _step(t: Any, part: object) -> Any:
    """The type found at ``part`` inside type ``t`` (pydantic's location steps, driver tags included)."""
    t = _unwrap(t)
    if isinstance(t, type) and issubclass(t, BaseModel):
        f = t.model_fields.get(part) if isinstance(part, str) else None
        return f.annotation if f is not None else None
    origin = get_origin(t)
    if origin in (list, tuple):
        return get_args(t)[0]
    if origin is dict:
        return get_args(t)[1]
    if origin is Union:  # the sensors' union: the location names the driver's tag
        for member in get_args(t):
            args = get_args(member)
            if any(isinstance(a, Tag) and a.tag == part for a in args[1:]):
                return args[0]
    return None


def _known_keys(loc: tuple) -> list[str]:
    """The field names allowed in the mapping that holds the last element of ``loc``."""
    t: Any = EdgeConfig
    for part in loc[:-1]:
        t = _step(t, part)
        if t is None:
            return []
    t = _unwrap(t)
    return list(t.model_fields) if isinstance(t, type) and issubclass(t, BaseModel) else []


def _did_you_mean(key: object, known: list[str]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _NotGiven:
    def __repr__(self) -> str:
        return "(not given)"


def _violations(exc: ValidationError) -> list[tuple[tuple, Violation, bool]]:
    """(location, violation, whether the key itself is wrong) triples; dotted paths without pydantic's union tags
    (``sensors[0].sdi12.address`` -> ``sensors[0].address``)."""
    names = set(drivers.load_all())
    out = []
    for err in exc.errors(include_url=False):
        tagged = tuple(p for p in err["loc"] if p != "[key]")
        loc = list(tagged)
        if len(loc) >= 3 and loc[0] == "sensors" and isinstance(loc[1], int) and loc[2] in names:
            del loc[2]
        if err["type"] == "unknown_driver":
            loc.append("driver")
        rule = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            rule = "is not a known field (unknown keys are errors)" + _did_you_mean(tagged[-1], _known_keys(tagged))
        elif err["type"] == "missing":
            rule = "is required"
        value = _NotGiven() if err["type"] == "missing" else err.get("input")
        if loc == ["mqtt", "url"] and isinstance(value, str):
            value = redact_url(value)  # never echo a password put in the URL
        violation = Violation(dotted_path(tuple(loc)), value, rule)
        out.append((tuple(loc), violation, err["type"] == "extra_forbidden"))
    return out


def _mark(root: yaml.Node | None, loc: tuple, at_key: bool = False) -> yaml.Mark | None:
    """Where ``loc`` is in the composed YAML: its value (its key when ``at_key``: an unknown field), the item
    of a list, or the deepest mapping found for a field that is missing."""
    node, mark = root, root.start_mark if root is not None else None
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if hit is None:
                return mark
            last = i == len(loc) - 1
            mark, node = (hit[0].start_mark if at_key and last else hit[1].start_mark), hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            return mark
    return mark


def _located(root: yaml.Node | None, loc: tuple, v: Violation, at_key: bool = False) -> ConfigViolation:
    m = _mark(root, loc, at_key)
    return ConfigViolation(v.field, v.value, v.rule, *((m.line + 1, m.column + 1) if m else (None, None)))


def parse_config(data: object, _root: yaml.Node | None = None) -> EdgeConfig:
    """Validate already-loaded data; raise :class:`ContractError` listing every problem."""
    try:
        cfg = EdgeConfig.model_validate(data)
    except ValidationError as exc:
        raise ContractError("bad_config", [_located(_root, loc, v, key) for loc, v, key in _violations(exc)]) from None
    problems = consistency(cfg)
    if problems:
        raise ContractError("bad_config", [_located(_root, _loc_of(v.field), v) for v in problems])
    return cfg


def _loc_of(field: str) -> tuple:
    """``sensors[2].port`` -> ``('sensors', 2, 'port')``."""
    out: list[object] = []
    for part in field.replace("]", "").replace("[", ".").split("."):
        out.append(int(part) if part.isdigit() else part)
    return tuple(out)


def load_config(path: Path) -> EdgeConfig:
    """Read and validate a YAML config; raise :class:`ContractError` listing every problem: the file's own
    (from :mod:`blueranch.loader`: unreadable, too big, duplicate keys, too deep, aliases that expand, ...) and
    the config's, each with its line and column."""
    text = decode(read_bytes(path), str(path))
    data = parse_yaml(text, str(path))
    # The node tree (aliases are not expanded in it) gives each violation its line and column.
    return parse_config(data, yaml.compose(text, Loader=yaml.SafeLoader))


def device_problems(cfg: EdgeConfig) -> list[Violation]:
    """Serial ports given as a local device path must exist here and be a character device (a tty, a pty,
    a symlink to one). Network ports (``socket://``, ``rfc2217://``) are not checked: they need the network."""
    out: list[Violation] = []
    for i, s in enumerate(cfg.sensors):
        if not isinstance(s, SerialSensorBase) or "://" in s.port:
            continue
        try:
            mode = os.stat(s.port).st_mode
        except FileNotFoundError:
            out.append(
                Violation(
                    f"sensors[{i}].port",
                    s.port,
                    "does not exist on this machine (is the adapter plugged in? its name in /dev/serial/by-id/?); "
                    "check-config --offline skips this check for a config prepared elsewhere",
                )
            )
            continue
        except OSError as exc:
            out.append(Violation(f"sensors[{i}].port", s.port, f"cannot be checked: {exc.strerror}"))
            continue
        if not stat.S_ISCHR(mode):
            out.append(Violation(f"sensors[{i}].port", s.port, "is not a serial device (a character device)"))
    return out


def locate(path: Path, violations: list[Violation]) -> list[ConfigViolation]:
    """Give violations found after loading (device checks) their line and column in the file."""
    root = yaml.compose(Path(path).read_text(), Loader=yaml.SafeLoader)
    return [_located(root, _loc_of(v.field), v) for v in violations]


def config_version(path: Path) -> str:
    """A short fingerprint of the config file, reported in the status message."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
