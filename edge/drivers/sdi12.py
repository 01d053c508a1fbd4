"""SDI-12 sensors through an SDI-12 adapter (USB/RS-232), a pseudo-terminal or ``socket://``.

A reading is one measurement cycle (SDI-12 v1.4, 4.4.6-4.4.8): ``aM!`` (or ``aMC!``, ``aC!``, ``aCC!``) ->
``atttn``; for M the sensor sends the service request ``a<CR><LF>`` when the data are ready, at most
``ttt`` seconds later; for C the recorder waits ``ttt`` seconds. Then ``aD0!``, ``aD1!``.. until ``n`` values.
The bus is held for the whole cycle: another command on the line during an M wait aborts the measurement
(4.4.6). A command without a valid reply is retried (``retries``; 7.2 asks recorders to retry).

The driver also owns the protocol's other exchanges: ``edge probe`` (``?!``, then ``a!`` for each address,
then ``aI!`` identification and ``aM!`` for each sensor found; the quantities are filled in for the sensor
models in :data:`KNOWN_SENSORS`) and the shore's raw passthrough (``{"cmd": "sdi12", "command": "0I!"}``,
one command to the sensor's own address).
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from pydantic import Field

from blueranch.edge.bus import Bus, read_until
from blueranch.edge.drivers import register
from blueranch.edge.drivers.base import (
    Found,
    LineSettings,
    ProbeOptions,
    QuantityName,
    Report,
    SerialDriver,
    SerialSensorBase,
)
from blueranch.edge.drivers.sdi12_framing import (
    ADDRESSES,
    MAX_REPLY_BYTES,
    Sdi12Error,
    command,
    parse_address_reply,
    parse_data_reply,
    parse_identification,
    parse_measure_reply,
)
from blueranch.edge.reading import Reading

log = logging.getLogger("blueranch.edge.sdi12")

#: 1200 baud, 7 data bits, even parity, 1 stop bit (SDI-12 v1.4, 4.2).
LINE = LineSettings(1200, 7, "E", 1, "sdi12")
#: Margin on top of ttt for the service request: adapters and ptys add latency the spec's 15 ms does not know.
SERVICE_REQUEST_MARGIN_S = 1.0

#: SDI-12 sensors whose value order is known: (vendor, model) as ``aI!`` names them -> quantities in aM!/aD0!
#: order.
KNOWN_SENSORS: dict[tuple[str, str], list[str]] = {
    # BlueRanch's reference sonde, the one the simulator plays (firmware_sim/devices/sdi12_sonde.py,
    # DEFAULT_PARAMETERS).
    ("BLUERNCH", "SONDE9"): [
        "temp_c",
        "sp_cond_us_cm",
        "salinity_psu",
        "depth_m",
        "do_mg_l",
        "do_sat_pct",
        "ph",
        "chl_ug_l",
        "turbidity_ntu",
    ],
}

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
    #: printable SDI-12 command ending in '!', at most 20 characters (the longest standard ones are ~8)
    RAW_COMMAND = r"^[0-9A-Za-z?][A-Za-z0-9+.\-]{0,18}!$"

    def raw(self, command: str) -> str:
        """One command to this sensor's address (``0I!``, ``0V!``), inside the bus's conversation; the reply
        line without CR LF."""
        c = self.config
        if command[0] != c.address:
            raise ValueError(f"command {command!r} is not for sensor {c.id}'s address {c.address!r}")
        with self.bus.conversation(f"cmd:{c.id}") as port:
            reply = transact(port, command.encode("ascii"), c.timeout_s, c.retries)
        return reply.decode("ascii", errors="replace").rstrip("\r\n")

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

    # ------------------------------------------------------------ edge probe
    @classmethod
    def probe(cls, url: str, options: ProbeOptions, report: Report) -> list[Found]:
        """``?!`` (only meaningful with one sensor on the line), ``a!`` for each address, then ``aI!`` and
        ``aM!`` for each one found."""
        timeout_s = options.timeout_s
        bus = Bus(url, LINE)
        found: list[Found] = []
        try:
            with bus.conversation("probe") as port:
                try:
                    only = parse_address_reply(transact(port, b"?!", timeout_s, 0))
                    report(f"sdi12: '?!' answered by address {only}")
                except Sdi12Error:
                    only = None
                for a in options.addresses or ADDRESSES:
                    try:
                        if parse_address_reply(transact(port, command(a), timeout_s, 0)) != a:
                            continue
                    except Sdi12Error:
                        continue
                    detail = {"address": a}
                    try:
                        ident = parse_identification(transact(port, command(a, "I"), timeout_s, 1), a)
                        detail.update(
                            vendor=ident.vendor,
                            model=ident.model,
                            version=ident.version,
                            serial=ident.extra,
                            sdi12=ident.sdi12_version,
                        )
                        m = parse_measure_reply(transact(port, command(a, "M"), timeout_s, 1), a)
                        detail.update(values=m.count, wait_s=m.wait_s)
                        read_until(port, b"\r\n", time.monotonic() + m.wait_s + 1.0)  # let the measurement finish
                    except Sdi12Error as exc:
                        detail["error"] = str(exc)
                    report(f"sdi12: address {a}: {detail}")
                    found.append(Found(cls.name, url, detail))
                if only is not None and not found:
                    found.append(Found(cls.name, url, {"address": only}))
        finally:
            bus.close()
        return found

    @classmethod
    def snippet(cls, found: Found, index: int) -> str:
        d = found.detail
        known = KNOWN_SENSORS.get((d.get("vendor"), d.get("model")))
        out = [
            f"  # {d.get('vendor', '?')} {d.get('model', '?')} v{d.get('version', '?')} "
            f"serial {d.get('serial', '?')}: {d.get('values', '?')} values per aM!\n",
            f"  - id: sdi12-{d['address']}\n    driver: sdi12\n    port: {found.port}\n"
            f'    address: "{d["address"]}"\n    interval_s: 60\n',
        ]
        if known:
            out.append(f"    quantities: [{', '.join(known)}]\n")
        else:
            out.append(
                f"    quantities: []   # FILL IN the {d.get('values', '?')} quantities in the "
                f"sensor's output order (its manual)\n"
            )
        return "".join(out)
