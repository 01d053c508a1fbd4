"""SDI-12 sensors through a USB/RS-232 SDI-12 adapter or a pseudo-terminal (1200 baud, 7E1)."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import serial

from edge.drivers import register
from edge.drivers.sdi12_framing import Sdi12Error, parse_data_reply, parse_measure_reply
from edge.reading import Reading


def line_parity(url: str) -> str:
    """SDI-12 is 7E1 (spec 4.2); a pseudo-terminal has no parity to set (EINVAL), so it gets none."""
    if "://" not in url and os.path.realpath(url).startswith("/dev/pts/"):
        return serial.PARITY_NONE
    return serial.PARITY_EVEN


@register("sdi12")
class Sdi12Driver:
    def __init__(self, sensor, port: serial.SerialBase | None = None):
        self.sensor = sensor
        self.port = port or serial.serial_for_url(sensor.port, baudrate=1200, bytesize=serial.SEVENBITS,
                                                  parity=line_parity(sensor.port), stopbits=serial.STOPBITS_ONE,
                                                  timeout=1.0)

    def close(self) -> None:
        self.port.close()

    def _command(self, cmd: str) -> bytes:
        self.port.reset_input_buffer()
        self.port.write(cmd.encode("ascii"))
        line = self.port.read_until(b"\r\n")
        if not line.endswith(b"\r\n"):
            raise Sdi12Error(f"no reply to {cmd!r} within {self.port.timeout} s (got {line!r})")
        return line

    def read(self) -> list[Reading]:
        a = self.sensor.address
        reply = parse_measure_reply(self._command(f"{a}MC!"), a)
        if reply.wait_s:
            # Wait for the service request 'a<CR><LF>' or the announced time, whichever comes first.
            # (The port's timeout is not changed: reconfiguring a pseudo-terminal's termios fails.)
            deadline = time.monotonic() + reply.wait_s + 1.0
            got = b""
            while not got.endswith(b"\r\n") and time.monotonic() < deadline:
                got += self.port.read_until(b"\r\n")
        taken = datetime.now(timezone.utc)
        values: list[float] = []
        page = 0
        while len(values) < reply.count and page < 10:
            values += parse_data_reply(self._command(f"{a}D{page}!"), a, crc=True)
            page += 1
        if len(values) < reply.count:
            raise Sdi12Error(f"sensor {a} announced {reply.count} values but sent {len(values)}")
        return [Reading(self.sensor.id, q, v, taken) for q, v in zip(self.sensor.quantities, values)]
