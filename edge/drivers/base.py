"""What every driver shares: its typed config base, line settings of a serial bus, and the driver interface.

A driver module defines a ``Config`` (pydantic, ``extra="forbid"``, ``driver: Literal[name]``), a ``SAMPLE``
(a commented YAML snippet of one sensor that validates) and a class with ``read() -> list[Reading]`` and
``close()``. Drivers that talk over a serial line get a :class:`blueranch.edge.bus.Bus` and only touch the line inside
``with bus.conversation(...)``; framing (bytes <-> values) lives in separate ``*_framing`` modules.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal, Protocol

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


class Driver(Protocol):
    name: ClassVar[str]
    Config: ClassVar[type[SensorBase]]
    SAMPLE: ClassVar[str]

    def read(self) -> list[Reading]: ...

    def close(self) -> None: ...


class DriverError(RuntimeError):
    """A reading could not be taken (timeout, garbled frame, exception reply); the message names the cause."""


class SerialDriver:
    """Shared constructor of drivers on a serial :class:`blueranch.edge.bus.Bus` (the agent owns and closes the bus)."""

    Config: ClassVar[type[SensorBase]]
    SAMPLE: ClassVar[str]

    def __init__(self, config, bus, clock):
        self.config = config
        self.bus = bus
        self.clock = clock

    def close(self) -> None:
        """The bus belongs to the agent; nothing to release here."""
