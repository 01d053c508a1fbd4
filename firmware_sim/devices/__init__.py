"""Simulated devices. Each serial device turns request bytes into timed replies; links carry the bytes.

A serial device implements :class:`SerialDevice`: ``feed(data)`` takes whatever bytes arrived (possibly
a partial or several commands) and returns :class:`Reply` objects, each sent after ``delay_s`` wall-clock
seconds; ``tick()`` is called every ``tick_s`` seconds for talkers that speak unprompted (NMEA at 1 Hz).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Reply:
    data: bytes
    delay_s: float = 0.0


class SerialDevice(Protocol):
    device_id: str
    tick_s: float | None

    def feed(self, data: bytes) -> list[Reply]: ...

    def tick(self) -> list[Reply]: ...
