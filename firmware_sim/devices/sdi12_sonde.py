"""A water-quality sonde on SDI-12, like a YSI EXO or In-Situ Aqua TROLL.

The device is a state machine over complete commands (``a...!``); it returns the bytes to send back
and, for ``aM!``, the service request to send once the measurement is ready. A command that is
malformed or addressed to another sensor returns nothing, as on a real bus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from firmware_sim import sdi12

#: (quantity, decimals) in the order the sonde reports them after aM!/aD0!.
DEFAULT_PARAMETERS: tuple[tuple[str, int], ...] = (
    ("temp_c", 2),
    ("sp_cond_us_cm", 1),
    ("salinity_psu", 2),
    ("depth_m", 3),
    ("do_mg_l", 2),
    ("do_sat_pct", 1),
    ("ph", 2),
    ("chl_ug_l", 2),
    ("turbidity_ntu", 2),
)


@dataclass
class Response:
    now: bytes = b""
    #: bytes to send after ``delay_s`` (the service request ``a\r\n`` of an ``aM!``)
    later: bytes = b""
    delay_s: float = 0.0


@dataclass
class Sdi12Sonde:
    address: str = "0"
    #: returns the current value of each quantity (the physics model plugs in here)
    read: Callable[[], dict[str, float]] = field(default=lambda: {})
    parameters: tuple[tuple[str, int], ...] = DEFAULT_PARAMETERS
    measure_time_s: int = 2
    vendor: str = "BLUERNCH"
    model: str = "SONDE9"
    version: str = "100"
    serial: str = "SIM0001"
    _pages: list[bytes] = field(default_factory=list)
    _crc: bool = False

    def identification(self) -> bytes:
        # aI! -> allccccccccmmmmmmvvvxxx...: SDI-12 version 14, vendor (8), model (6), version (3), serial.
        return f"{self.address}14{self.vendor:<8.8}{self.model:<6.6}{self.version:>3.3}{self.serial}".encode()

    def handle(self, command: bytes) -> Response | None:
        """Answer one command, including its trailing ``!``; ``None`` means stay silent."""
        if not command.endswith(b"!") or len(command) < 2:
            return None
        text = command[:-1].decode("ascii", errors="replace")
        addr, body = text[0], text[1:]
        if text == "?":
            return Response(self.address.encode() + b"\r\n")
        if addr != self.address:
            return None
        if body == "":
            return Response(self.address.encode() + b"\r\n")
        if body == "I":
            return Response(self.identification() + b"\r\n")
        if body.startswith("A") and len(body) == 2:
            self.address = body[1]
            return Response(self.address.encode() + b"\r\n")
        if body in ("M", "MC"):
            self._measure(crc=body == "MC")
            n = len(self.parameters)
            return Response(f"{self.address}{self.measure_time_s:03d}{min(n, 9)}\r\n".encode(),
                            later=f"{self.address}\r\n".encode(), delay_s=float(self.measure_time_s))
        if body in ("C", "CC"):
            self._measure(crc=body == "CC")
            return Response(f"{self.address}{self.measure_time_s:03d}{len(self.parameters):02d}\r\n".encode())
        if len(body) == 2 and body[0] == "D" and body[1].isdigit():
            page = int(body[1])
            values = self._pages[page] if page < len(self._pages) else b""
            payload = self.address.encode() + values
            return Response(sdi12.add_crc(payload) if self._crc else payload + b"\r\n")
        if body == "V":
            self._pages = [b"+0"]
            self._crc = False
            return Response(f"{self.address}0011\r\n".encode())
        return None

    def _measure(self, crc: bool) -> None:
        current = self.read()
        values = [sdi12.format_value(current.get(q, float("nan")), d) for q, d in self.parameters]
        self._pages = sdi12.pack_values(values)
        self._crc = crc
