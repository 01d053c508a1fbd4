"""A water-quality sonde on SDI-12 (v1.4), like a YSI EXO or In-Situ Aqua TROLL.

The sonde is a state machine over complete commands (``a...!``). Commands: ``?!``, ``a!``, ``aI!``,
``aAb!``, ``aM!``/``aMC!`` (``atttn``, then the service request ``a<CR><LF>`` after ``ttt`` s),
``aC!``/``aCC!`` (``atttnn``, concurrent: no service request), ``aD0!``..``aD9!`` (with the CRC after a
``..C!`` measurement), ``aV!``. A malformed command or one for another address gets no answer, as on a
real bus. Commands are framed by their terminating ``!``, as USB SDI-12 adapters present them.

Breaks (SDI-12 v1.4, section 7, timing): a sensor ignores a break shorter than 6.5 ms and always
recognises one of 12 ms; it looks for an address after 8.33 ms of marking, and returns to low-power
standby after 100 ms of marking. A transparent adapter sends breaks itself, so by default the sonde
answers without one. With ``require_break`` it behaves as a sensor wired directly to the recorder's UART:
asleep after 100 ms of idle line, it ignores a command until a break of at least 12 ms followed by at
least 8.33 ms of marking (tolerance 0.40 ms, section 7). A pseudo-terminal carries no break; the link
server delivers them over RFC 2217 (:mod:`blueranch.sim.links`) as ``on_break(active)``.

Faults (see :mod:`blueranch.sim.faults`): ``missing`` (no answer), ``slow`` (the data is ready
``slow_extra_s`` after the announced time; an early ``aD0!`` gets an empty ``a<CR><LF>``), ``garbled``
(one bit flipped in a data reply, so its CRC fails), ``brownout`` (the sonde resets to its factory
address and forgets its measurement), plus every value fault.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from blueranch.sim import sdi12
from blueranch.sim.devices import Reply
from blueranch.sim.faults import FaultInjector, corrupt

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

#: SDI-12 v1.4 section 4.4.8: values of an aM! data reply fit in 35 characters, of aC! in 75.
M_VALUES_CHARS = 35
C_VALUES_CHARS = 75
#: SDI-12 v1.4 section 7 (timing): the break a sensor always recognises, the marking it waits for after
#: it, the idle time after which it sleeps, and the tolerance of every timing.
BREAK_S = 0.012
MARKING_S = 0.00833
STANDBY_AFTER_S = 0.100
TIMING_TOLERANCE_S = 0.0004


@dataclass
class Sdi12Sonde:
    device_id: str = "sonde-1"
    address: str = "0"
    #: returns the true current value of each quantity (the physics model plugs in here)
    read: Callable[[], dict[str, float]] = field(default=lambda: {})
    parameters: tuple[tuple[str, int], ...] = DEFAULT_PARAMETERS
    measure_time_s: int = 2
    slow_extra_s: float = 5.0
    vendor: str = "BLUERNCH"
    model: str = "SONDE9"
    version: str = "100"
    serial: str = "SIM0001"
    faults: FaultInjector | None = None
    #: wall clock, for when a measurement is ready (a parameter so tests can drive it)
    clock: Callable[[], float] = time.monotonic
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    tick_s: float | None = None
    #: False while the device is switched off or silent (a scenario's silent_device event)
    alive: Callable[[], bool] = lambda: True
    _factory_address: str = ""
    _pages: list[bytes] = field(default_factory=list)
    _crc: bool = False
    _ready_at: float = 0.0
    _buf: bytes = b""
    _resets_seen: int = 0
    #: behave as a directly wired sensor: a command after 100 ms of idle line needs a break first
    require_break: bool = False
    #: breaks recognised; breaks too short; commands ignored because no break (or too little marking) came
    breaks_seen: int = 0
    breaks_too_short: int = 0
    ignored_asleep: int = 0
    _break_started: float | None = None
    _break_ended: float | None = None
    _last_activity: float = float("-inf")
    _ignoring: bool = False

    def __post_init__(self) -> None:
        self._factory_address = self.address

    def identification(self) -> bytes:
        # aI! -> allccccccccmmmmmmvvvxxx...: SDI-12 version 14, vendor (8), model (6), version (3), serial.
        return f"{self.address}14{self.vendor:<8.8}{self.model:<6.6}{self.version:>3.3}{self.serial}".encode()

    def on_break(self, active: bool) -> None:
        """The line went to spacing (``True``) or back to marking (``False``)."""
        now = self.clock()
        if active:
            self._break_started, self._buf, self._ignoring = now, b"", False
            return
        if self._break_started is None:
            return
        if now - self._break_started >= BREAK_S - TIMING_TOLERANCE_S:
            self.breaks_seen += 1
            self._break_ended = self._last_activity = now
        else:
            self.breaks_too_short += 1
        self._break_started = None

    def _awake_for(self, now: float) -> bool:
        """May a command starting now be heard? (Only asked with ``require_break``.)"""
        if now - self._last_activity > STANDBY_AFTER_S + TIMING_TOLERANCE_S:
            return False  # asleep: only a break wakes the sensor
        if self._break_ended is not None and now - self._break_ended < MARKING_S - TIMING_TOLERANCE_S:
            return False  # woken, but the address came before 8.33 ms of marking
        return True

    def feed(self, data: bytes) -> list[Reply]:
        """Frame commands on ``!``; garbage longer than any command without one is dropped, as a bus would."""
        if self.require_break:
            now = self.clock()
            if not self._buf and not self._ignoring and not self._awake_for(now):
                self._ignoring = True
                self.ignored_asleep += 1
            if self._ignoring:  # asleep through the whole command, up to its '!'
                if b"!" not in data:
                    return []
                self._ignoring = False
                data = data.split(b"!", 1)[1]
                if not data:
                    return []
            self._last_activity, self._break_ended = now, None
        self._buf += data
        out: list[Reply] = []
        while b"!" in self._buf:
            command, self._buf = self._buf.split(b"!", 1)
            out += self.handle(command.lstrip(b"\r\n\x00 ") + b"!")
        if len(self._buf) > 64:
            self._buf = b""
        if out:  # the sensor's own replies keep the line busy until the last one is sent
            self._last_activity = max(self._last_activity, self.clock() + max(r.delay_s for r in out))
        return out

    def tick(self) -> list[Reply]:
        return []

    def handle(self, command: bytes) -> list[Reply]:
        """Answer one command, including its trailing ``!``; ``[]`` means stay silent."""
        if not command.endswith(b"!") or len(command) < 2 or not command.isascii():
            return []
        text = command[:-1].decode("ascii")
        addr, body = text[0], text[1:]
        if (text != "?" and addr != self.address) or not self.alive():
            return []
        if self.faults is not None and self.faults.roll("missing", self.device_id, f"no answer to {text}!"):
            return []
        return self._answer(body if text != "?" else "")

    def _answer(self, body: str) -> list[Reply]:
        a = self.address
        if body == "":
            return [Reply(f"{a}\r\n".encode())]
        if body == "I":
            return [Reply(self.identification() + b"\r\n")]
        if body.startswith("A") and len(body) == 2:
            if not (body[1].isalnum()):
                return []
            self.address = body[1]
            return [Reply(f"{self.address}\r\n".encode())]
        if body in ("M", "MC"):
            n = self._measure(crc=body == "MC", limit=M_VALUES_CHARS, max_count=9)
            wait = self._wait_s()
            return [Reply(f"{a}{self.measure_time_s:03d}{n}\r\n".encode()), Reply(f"{a}\r\n".encode(), wait)]
        if body in ("C", "CC"):
            n = self._measure(crc=body == "CC", limit=C_VALUES_CHARS, max_count=99)
            self._wait_s()
            return [Reply(f"{a}{self.measure_time_s:03d}{n:02d}\r\n".encode())]
        if len(body) == 2 and body[0] == "D" and body[1].isdigit():
            return [Reply(self._data_page(int(body[1])))]
        if body == "V":
            self._pages, self._crc, self._ready_at = [b"+0"], False, self.clock()
            return [Reply(f"{a}0011\r\n".encode())]
        return []

    def _wait_s(self) -> float:
        wait = float(self.measure_time_s)
        if self.faults is not None and self.faults.roll("slow", self.device_id, f"data {self.slow_extra_s:.1f} s late"):
            wait += self.slow_extra_s
        self._ready_at = self.clock() + wait
        return wait

    def _data_page(self, page: int) -> bytes:
        a = self.address.encode()
        if self.clock() < self._ready_at - 0.05:  # asked before the data is ready: address only
            return a + b"\r\n"
        values = self._pages[page] if page < len(self._pages) else b""
        frame = sdi12.add_crc(a + values) if self._crc else a + values + b"\r\n"
        if (
            values
            and self.faults is not None
            and self.faults.roll("garbled", self.device_id, f"bit error in D{page} reply")
        ):
            frame = corrupt(frame, self.rng)
        return frame

    def _measure(self, crc: bool, limit: int, max_count: int) -> int:
        values = self.read()
        if self.faults is not None:
            values = self.faults.apply_values(self.device_id, values)
            if self.faults.resets != self._resets_seen:  # brownout: factory address, no measurement
                self._resets_seen = self.faults.resets
                self.address = self._factory_address
        params = self.parameters[:max_count] if values else ()
        formatted = [sdi12.format_value(values.get(q, float("nan")), d) for q, d in params]
        self._pages = sdi12.pack_values(formatted, limit) if formatted else []
        self._crc = crc
        return len(formatted)
