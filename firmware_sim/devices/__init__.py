"""Simulated devices. Each serial device turns request bytes into timed replies; links carry the bytes.

A serial device implements :class:`SerialDevice`: ``feed(data)`` takes whatever bytes arrived (possibly
a partial or several commands) and returns :class:`Reply` objects, each sent after ``delay_s`` wall-clock
seconds; ``tick()`` is called every ``tick_s`` seconds for talkers that speak unprompted (NMEA at 1 Hz).

A device with a ``line`` (:class:`SerialLine`) hears only a master whose serial settings match it, as a
UART set to other settings hears framing and parity errors; the link (links.py) compares what it can see of
the master's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Reply:
    data: bytes
    delay_s: float = 0.0


@dataclass(frozen=True)
class SerialLine:
    """The serial settings a device is configured with; None: it hears any (the simulator's default).

    Stop bits are not compared: a UART checks only the first stop bit, so 1 and 2 interoperate."""

    baudrate: int | None = None
    #: ``N``, ``E`` or ``O``
    parity: str | None = None
    bytesize: int = 8

    def mismatch(self, baudrate: int | None, parity: str | None, bytesize: int | None) -> str | None:
        """What differs from a master's settings (None: unknown, so not compared), or None when it hears it."""
        diffs = [
            f"{name} {theirs} (device: {mine})"
            for name, mine, theirs in (
                ("baud rate", self.baudrate, baudrate),
                ("parity", self.parity, parity),
                ("data bits", self.bytesize, bytesize),
            )
            if mine is not None and theirs is not None and mine != theirs
        ]
        return ", ".join(diffs) or None

    @property
    def label(self) -> str:
        return f"{self.bytesize}{self.parity or '?'}1 {self.baudrate or 'any'}"


class SerialDevice(Protocol):
    device_id: str
    tick_s: float | None

    def feed(self, data: bytes) -> list[Reply]: ...

    def tick(self) -> list[Reply]: ...
