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

**Break.** USB SDI-12 adapters send the break themselves. A direct-wired interface (a UART with a level
shifter) needs the recorder to send it: with ``send_break`` the driver wakes the line with a break of
``break_s`` (at least 12 ms) and then waits 8.33 ms of marking before a command, whenever the line has been
idle for more than 87 ms or the previous command went to another address (SDI-12 v1.4, section 7 timing).
pyserial's ``send_break`` holds the break for ``break_s`` over ``rfc2217://`` and with the
``break_condition`` ioctls; on a local POSIX port it calls ``tcsendbreak(fd, 0)``, which Linux holds for
0.25 s: longer than needed, which the specification allows (a break is *at least* 12 ms). A
pseudo-terminal drops it silently and ``socket://`` (raw TCP) cannot carry it: use ``rfc2217://`` for a
remote port that must break (ser2net's telnet mode).
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
#: SDI-12 v1.4, section 7: the break (at least 12 ms), the marking after it before the address (8.33 ms), and
#: the idle time after which the next command needs a break (87 ms; sensors sleep after 100 ms).
BREAK_MIN_S = 0.012
MARKING_S = 0.00833
IDLE_BREAK_S = 0.087
#: ``edge probe``'s reply timeout per command when none is given (the probe's default before it was per protocol)
PROBE_TIMEOUT_S = 0.3

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
  send_break: false         # true for a direct-wired SDI-12 interface (USB adapters send breaks themselves)
  farm: mussel-1
  quantities: [temp_c, sp_cond_us_cm, salinity_psu, depth_m, do_mg_l, do_sat_pct, ph, chl_ug_l, turbidity_ntu]
"""


class Config(SerialSensorBase):
    driver: Literal["sdi12"]
    address: str = Field(default="0", pattern=r"^[0-9A-Za-z]$")
    command: Literal["M", "MC", "C", "CC"] = "MC"
    #: value n of the measurement is quantities[n]; extra values are ignored
    quantities: list[QuantityName] = Field(min_length=1, max_length=99)
    #: wake the line with a break before a command after it was idle (a direct-wired interface; see above)
    send_break: bool = False
    #: how long the break lasts, at least the specification's 12 ms
    break_s: float = Field(default=0.015, ge=BREAK_MIN_S, le=1.0)

    def line_settings(self) -> LineSettings:
        return LINE


class Waker:
    """Sends the break a direct-wired SDI-12 line needs before a command (section 7): after the line was idle
    more than 87 ms, or when the command goes to another address than the previous one. The line's state
    lives on its :class:`blueranch.edge.bus.Bus`, shared by every sensor on it."""

    def __init__(self, line_state: dict, break_s: float):
        self.state, self.break_s = line_state, break_s

    def before(self, port, cmd: bytes) -> None:
        address = cmd[:1]
        idle = time.monotonic() - float(self.state.get("sdi12_heard_s", float("-inf")))
        if idle > IDLE_BREAK_S or self.state.get("sdi12_address") != address:
            port.send_break(self.break_s)
            time.sleep(MARKING_S + 0.001)  # marking before the address; 1 ms above the spec's 8.33 ms
            self.state["sdi12_breaks"] = int(self.state.get("sdi12_breaks", 0)) + 1
        self.state["sdi12_address"] = address

    def heard(self) -> None:
        """The line carried a byte just now (a reply, a service request)."""
        self.state["sdi12_heard_s"] = time.monotonic()


def transact(port, cmd: bytes, timeout_s: float, retries: int, waker: Waker | None = None) -> bytes:
    """Send ``cmd`` and return one CR LF-terminated reply; retry on silence or a garbled line. With a
    ``waker`` the line gets a break first when it needs one."""
    last = b""
    for _attempt in range(retries + 1):
        port.reset_input_buffer()
        if waker is not None:
            waker.before(port, cmd)
        port.write(cmd)
        last = read_until(port, b"\r\n", time.monotonic() + timeout_s, MAX_REPLY_BYTES)
        if waker is not None and last:
            waker.heard()
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
            reply = self._transact(port, command.encode("ascii"))
        return reply.decode("ascii", errors="replace").rstrip("\r\n")

    def __init__(self, config: Config, bus, clock):
        super().__init__(config, bus, clock)
        self.waker = Waker(bus.line_state, config.break_s) if config.send_break else None

    def _transact(self, port, cmd: bytes) -> bytes:
        return transact(port, cmd, self.config.timeout_s, self.config.retries, self.waker)

    def read(self) -> list[Reading]:
        c = self.config
        a = c.address
        crc = len(c.command) == 2
        with self.bus.conversation(c.id) as port:
            reply = parse_measure_reply(self._transact(port, command(a, c.command)), a)
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
        if got and self.waker is not None:
            self.waker.heard()
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
            got = parse_data_reply(self._transact(port, command(c.address, f"D{page}")), c.address, crc=crc)
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
        timeout_s = options.timeout(PROBE_TIMEOUT_S)
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
