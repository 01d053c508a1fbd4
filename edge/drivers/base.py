"""What every driver shares: its typed config base, line settings of a serial bus, and the driver interface.

A driver module defines a ``Config`` (pydantic, ``extra="forbid"``, ``driver: Literal[name]``), a ``SAMPLE``
(a commented YAML snippet of one sensor that validates) and a :class:`DriverBase` subclass with
``read() -> list[Reading]`` and ``close()``. Drivers that talk over a serial line get a
:class:`blueranch.edge.bus.Bus` and only touch the line inside ``with bus.conversation(...)``; framing
(bytes <-> values) lives in separate ``*_framing`` modules.

A driver owns its protocol: what the agent and the technician's tools do in a protocol's own terms are
optional hooks of its class (:class:`DriverBase`), so neither names a protocol. A driver supports a hook by
overriding it (:func:`supports`).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from blueranch.contracts.mqtt import SafeId
from blueranch.contracts.quantities import QUANTITIES
from blueranch.contracts.strict import StrictModel
from blueranch.edge.reading import Reading


def _known_quantity(name: str) -> str:
    if name not in QUANTITIES:
        close = difflib.get_close_matches(name, QUANTITIES, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown quantity {name!r}; {hint}known: {', '.join(sorted(QUANTITIES))}")
    return name


#: A contract quantity name (``do_mg_l``); anything else is a config error.
QuantityName = Annotated[str, AfterValidator(_known_quantity)]

Parity = Literal["N", "E", "O"]


class SensorBase(StrictModel):
    """Fields every sensor has, whatever its driver."""

    id: SafeId
    driver: str
    interval_s: float = Field(
        default=60.0, gt=0, le=86400, description="Polling interval (simulated seconds with a clock file)"
    )
    timeout_s: float = Field(default=1.0, gt=0, le=60, description="How long to wait for one reply")
    retries: int = Field(default=2, ge=0, le=5, description="Extra attempts after a failed exchange")
    farm: SafeId | None = None
    asset: SafeId | None = None


@dataclass(frozen=True)
class LineSettings:
    """How a serial line is opened; every sensor on one port must agree on these (checked in the config)."""

    baudrate: int
    bytesize: int
    parity: str
    stopbits: int
    #: the protocol spoken on the line (sdi12, nmea0183, modbus_rtu): two protocols never share a line
    protocol: str


class SerialSensorBase(SensorBase):
    port: str = Field(
        min_length=1, description="A pyserial URL: /dev/ttyUSB0, a pty path, socket://host:port, rfc2217://host:port"
    )

    def line_settings(self) -> LineSettings:
        raise NotImplementedError


class DriverError(RuntimeError):
    """A reading could not be taken (timeout, garbled frame, exception reply); the message names the cause."""


@dataclass
class Found:
    """A sensor ``edge probe`` found: the driver that speaks to it, the port and what it answered."""

    driver: str
    port: str
    detail: dict = field(default_factory=dict)


#: How far a long probe got: ``(done, total, what)``, steps of the driver's own choosing (``total`` may shrink
#: as the probe learns); ``edge probe`` draws it on a terminal with an estimate of the time left.
Progress = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, what: str) -> None:
    """Progress goes nowhere unless the caller asks for it."""


def duration(seconds: float) -> str:
    """A time a technician waits for: ``2 min 28 s``, ``25 s``."""
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


@dataclass(frozen=True)
class ProbeOptions:
    """What the technician asked ``edge probe`` for; each driver's :meth:`DriverBase.probe` takes what applies."""

    #: the one line speed to try; None: the protocol's usual speeds
    baudrate: int | None = None
    #: the one parity to try (``N``, ``E``, ``O``); None: the protocol's usual ones
    parity: Parity | None = None
    #: keep trying every line setting after one was answered (a line normally has one: the probe stops there)
    all_settings: bool = False
    #: reply timeout per question; None: the protocol's own default (:meth:`timeout`)
    timeout_s: float | None = None
    #: how long to listen to a talker that sends on its own
    listen_s: float = 3.0
    #: bus addresses to ask (Modbus slave ids)
    slave_ids: tuple[int, ...] = tuple(range(1, 248))
    #: single-character bus addresses to ask (SDI-12); None: every address of the protocol
    addresses: str | None = None
    #: where a long probe reports how far it got
    progress: Progress = _no_progress

    def timeout(self, default_s: float) -> float:
        """The reply timeout the technician gave, else the protocol's ``default_s``."""
        return default_s if self.timeout_s is None else self.timeout_s


Report = Callable[[str], None]


class DriverBase:
    """A driver class in the registry (:func:`blueranch.edge.drivers.register`).

    Optional hooks, each supported by overriding it: :meth:`probe` with :meth:`snippet` (``edge probe``
    finds such sensors on a serial port and writes their config), :meth:`raw` with :attr:`RAW_COMMAND` (the
    shore's raw passthrough ``{"cmd": <driver name>, "sensor", "command"}``, edge/commands.py), and
    :attr:`bad_frames` (garbled frames counted, in the status file).
    """

    name: ClassVar[str]
    Config: ClassVar[type[SensorBase]]
    SAMPLE: ClassVar[str]
    #: the pattern every raw command must match (checked when the command is parsed); set with :meth:`raw`
    RAW_COMMAND: ClassVar[str | None] = None

    def read(self) -> list[Reading]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the driver opened."""

    def raw(self, command: str) -> str:
        """Send one raw command (matching :attr:`RAW_COMMAND`) to this sensor; return its reply."""
        raise NotImplementedError(f"{self.name} takes no raw commands")

    @property
    def bad_frames(self) -> int | None:
        """Frames or payloads the driver could not use so far; None when it does not count them."""
        return None

    @property
    def counters(self) -> dict[str, int] | None:
        """Other counts worth a technician's eye, by name (in the status file); None when there are none."""
        return None

    @classmethod
    def probe(cls, url: str, options: ProbeOptions, report: Report) -> list[Found]:
        """Find sensors of this protocol on the serial port ``url``; ``report`` gets one line per finding."""
        raise NotImplementedError(f"{cls.name} cannot be probed")

    @classmethod
    def snippet(cls, found: Found, index: int) -> str:
        """YAML items for ``sensors:`` (two-space indented) for a sensor :meth:`probe` found (``index`` from 1),
        with comments where a human must decide."""
        raise NotImplementedError(f"{cls.name} cannot be probed")


def supports(cls: type[DriverBase], hook: Literal["probe", "raw"]) -> bool:
    """Whether a driver class implements an optional hook of :class:`DriverBase` (overrides it)."""
    return inspect.getattr_static(cls, hook) is not inspect.getattr_static(DriverBase, hook)


class SerialDriver(DriverBase):
    """Shared constructor of drivers on a serial :class:`blueranch.edge.bus.Bus` (the agent owns and closes the bus)."""

    def __init__(self, config, bus, clock):
        self.config = config
        self.bus = bus
        self.clock = clock

    def close(self) -> None:
        """The bus belongs to the agent; nothing to release here."""
