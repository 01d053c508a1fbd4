"""A Modbus RTU slave (load cell, energy meter, fuel flow meter, buoy power controller).

Framing and PDUs are pymodbus's (``FramerRTU`` with a server-side ``DecodePDU``): this module only
decides what to answer. Functions 03 (holding) and 04 (input) read the register map of
:mod:`blueranch.sim.modbus_map`; other functions get exception 01, unmapped registers exception 02, a
sensor that cannot measure (a dropout) exception 04. Frames for another unit id and broadcasts get no
reply. Faults: ``timeout`` (no reply at all), ``garbled`` (a bit error, so the CRC fails), value faults.

With a ``line`` (:class:`blueranch.sim.devices.SerialLine`, e.g. 9600 8N1) the slave hears only a master
at those settings; the link compares them (links.py, 'Serial settings'). Without one it hears any.

RTU frames are delimited by 3.5 character times of silence; over a pseudo-terminal the timing is lost,
so a frame is recognised by its length and CRC (pymodbus does this), and a partial frame left for
``stale_s`` seconds is discarded, as a slave discards a frame cut by a silence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse, ReadInputRegistersResponse

from blueranch.sim.devices import Reply, SerialLine
from blueranch.sim.faults import FaultInjector, corrupt
from blueranch.sim.modbus_map import REGISTER_MAPS, IllegalAddress, Order, read_registers

log = logging.getLogger(__name__)

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
SLAVE_DEVICE_FAILURE = 0x04


@dataclass
class ModbusSlave:
    device_id: str
    kind: str
    unit: int = 1
    read: Callable[[], dict[str, float]] = field(default=lambda: {})
    byte_order: Order = "big"
    word_order: Order = "big"
    faults: FaultInjector | None = None
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    stale_s: float = 0.5
    clock: Callable[[], float] = time.monotonic
    tick_s: float | None = None
    #: False while the device is switched off or silent (a scenario's silent_device event)
    alive: Callable[[], bool] = lambda: True
    #: the serial settings it is configured with; None: it hears a master at any settings
    line: SerialLine | None = None
    _buf: bytes = b""
    _last_rx: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in REGISTER_MAPS:
            raise ValueError(
                f"device {self.device_id}: unknown Modbus kind {self.kind!r}; known: {', '.join(REGISTER_MAPS)}"
            )
        if not 1 <= self.unit <= 247:
            raise ValueError(f"device {self.device_id}: unit id {self.unit} outside 1..247 (Modbus spec 2.2)")
        self.regmap = REGISTER_MAPS[self.kind]
        self.framer = FramerRTU(DecodePDU(is_server=True))

    def tick(self) -> list[Reply]:
        return []

    def feed(self, data: bytes) -> list[Reply]:
        now = self.clock()
        if self._buf and now - self._last_rx > self.stale_s:
            log.info("device %s: dropped stale partial frame %s", self.device_id, self._buf.hex())
            self._buf = b""
        self._last_rx = now
        self._buf += data
        out: list[Reply] = []
        while self._buf:
            try:
                used, pdu = self.framer.handleFrame(self._buf, 0, 0)
            except ModbusIOException as exc:
                log.info("device %s: undecodable frame %s: %s", self.device_id, self._buf.hex(), exc)
                self._buf = b""
                break
            if used == 0:
                break
            self._buf = self._buf[used:]
            if pdu is not None:
                out += self.answer(pdu)
        if len(self._buf) > 256:  # the longest RTU frame is 256 bytes (Modbus over serial line 2.5.1.1)
            self._buf = b""
        return out

    def answer(self, pdu) -> list[Reply]:
        if pdu.dev_id != self.unit or not self.alive():
            return []
        if self.faults is not None and self.faults.roll(
            "timeout", self.device_id, f"no reply to function {pdu.function_code}"
        ):
            return []
        response = self._response(pdu)
        frame = self.framer.buildFrame(response)
        if self.faults is not None and self.faults.roll("garbled", self.device_id, "bit error in reply"):
            frame = corrupt(frame, self.rng)
        return [Reply(frame)]

    def _response(self, pdu):
        fc = pdu.function_code
        if fc not in (3, 4):
            return ExceptionResponse(fc, ILLEGAL_FUNCTION, device_id=self.unit)
        values = self.read()
        if self.faults is not None:
            values = self.faults.apply_values(self.device_id, values)
        if not values:
            return ExceptionResponse(fc, SLAVE_DEVICE_FAILURE, device_id=self.unit)
        try:
            regs = read_registers(self.regmap, values, pdu.address, pdu.count, self.byte_order, self.word_order)
        except IllegalAddress as exc:
            log.info("device %s: exception 02: %s", self.device_id, exc)
            return ExceptionResponse(fc, ILLEGAL_DATA_ADDRESS, device_id=self.unit)
        cls = ReadHoldingRegistersResponse if fc == 3 else ReadInputRegistersResponse
        return cls(dev_id=self.unit, registers=regs)
