"""SDI-12 sensors through an SDI-12 adapter (USB/RS-232), a pseudo-terminal or ``socket://``.

A reading is one measurement cycle (SDI-12 v1.4, 4.4.6-4.4.8): ``aM!`` (or ``aMC!``, ``aC!``, ``aCC!``) ->
``atttn``; for M the sensor sends the service request ``a<CR><LF>`` when the data are ready, at most
``ttt`` seconds later; for C the recorder waits ``ttt`` seconds. Then ``aD0!``, ``aD1!``.. until ``n`` values.
The bus is held for the whole cycle: another command on the line during an M wait aborts the measurement
(4.4.6). A command without a valid reply is retried (``retries``; 7.2 asks recorders to retry).
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from pydantic import Field

from blueranch.edge.bus import read_until
from blueranch.edge.drivers import register
from blueranch.edge.drivers.base import LineSettings, QuantityName, SerialDriver, SerialSensorBase
from blueranch.edge.drivers.sdi12_framing import (
    MAX_REPLY_BYTES,
    Sdi12Error,
    command,
    parse_address_reply,
    parse_data_reply,
    parse_measure_reply,
)
from blueranch.edge.reading import Reading

log = logging.getLogger("blueranch.edge.sdi12")

#: 1200 baud, 7 data bits, even parity, 1 stop bit (SDI-12 v1.4, 4.2).
LINE = LineSettings(1200, 7, "E", 1, "sdi12")
#: Margin on top of ttt for the service request: adapters and ptys add latency the spec's 15 ms does not know.
SERVICE_REQUEST_MARGIN_S = 1.0

SAMPLE = """\
- id: sonde-1               # unique sensor id (letters, digits, _ - .)
  driver: sdi12
  port: /dev/ttyUSB0        # pyserial URL: device path, pty path or socket://host:port
  address: "0"              # SDI-12 address 0-9, a-z, A-Z (quote it)
  command: MC               # M, MC (with CRC), C or CC (concurrent)
  interval_s: 60
  timeout_s: 1.0            # reply timeout per command (the spec's 15 ms plus adapter latency)
  retries: 2
  farm: mussel-1
  quantities: [temp_c, sp_cond_us_cm, salinity_psu, depth_m, do_mg_l, do_sat_pct, ph, chl_ug_l, turbidity_ntu]
"""


class Config(SerialSensorBase):
    driver: Literal["sdi12"]
    address: str = Field(default="0", pattern=r"^[0-9A-Za-z]$")
    command: Literal["M", "MC", "C", "CC"] = "MC"
    #: value n of the measurement is quantities[n]; extra values are ignored
    quantities: list[QuantityName] = Field(min_length=1, max_length=99)

    def line_settings(self) -> LineSettings:
        return LINE


def transact(port, cmd: bytes, timeout_s: float, retries: int) -> bytes:
    """Send ``cmd`` and return one CR LF-terminated reply; retry on silence or a garbled line."""
    last = b""
    for _attempt in range(retries + 1):
        port.reset_input_buffer()
        port.write(cmd)
        last = read_until(port, b"\r\n", time.monotonic() + timeout_s, MAX_REPLY_BYTES)
        if last.endswith(b"\r\n"):
            return last
    raise Sdi12Error(f"no reply to {cmd.decode()!r} after {retries + 1} attempts of {timeout_s} s (got {last!r})")


@register("sdi12")
class Sdi12Driver(SerialDriver):
    Config = Config
    SAMPLE = SAMPLE

    def read(self) -> list[Reading]:
        c = self.config
        a = c.address
        crc = len(c.command) == 2
        with self.bus.conversation(c.id) as port:
            reply = parse_measure_reply(transact(port, command(a, c.command), c.timeout_s, c.retries), a)
            if c.command.startswith("M") or not reply.wait_s:
                if reply.wait_s:
                    self._wait_service_request(port, reply.wait_s)
                return self._readings(self._data(port, reply.count, crc))
        # Concurrent measurement (4.4.8): no service request; the line is free for others during ttt.
        time.sleep(reply.wait_s)
        with self.bus.conversation(c.id) as port:
            return self._readings(self._data(port, reply.count, crc))

    def _wait_service_request(self, port, wait_s: int) -> None:
        c = self.config
        got = read_until(port, b"\r\n", time.monotonic() + wait_s + SERVICE_REQUEST_MARGIN_S, MAX_REPLY_BYTES)
        if not got:
            log.info("sensor %s: no service request within %d s; asking for the data anyway", c.id, wait_s)
        elif parse_address_reply(got) != c.address:
            raise Sdi12Error(f"service request {got!r} is not from address {c.address!r}")

    def _data(self, port, count: int, crc: bool) -> list[float]:
        c = self.config
        values: list[float] = []
        for page in range(10):
            if len(values) >= count:
                break
            got = parse_data_reply(
                transact(port, command(c.address, f"D{page}"), c.timeout_s, c.retries), c.address, crc=crc
            )
            if not got:
                raise Sdi12Error(f"sensor {c.address} sent no values in D{page} (data not ready)")
            values += got
        if len(values) != count:
            raise Sdi12Error(f"sensor {c.address} announced {count} values but sent {len(values)}")
        return values

    def _readings(self, values: list[float]) -> list[Reading]:
        c = self.config
        taken = self.clock.now()
        if len(values) < len(c.quantities):
            log.warning(
                "sensor %s (sdi12 %s on %s): %d values for %d quantities; missing: %s",
                c.id,
                c.address,
                c.port,
                len(values),
                len(c.quantities),
                ", ".join(c.quantities[len(values) :]),
            )
        return [Reading(c.id, q, v, taken) for q, v in zip(c.quantities, values, strict=False)]
