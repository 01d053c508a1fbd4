"""Modbus RTU slaves on RS-485 (load cells, energy meters, fuel flow meters) through pymodbus 3.x.

Generic: each sensor lists its registers (address, function, type, byte and word order, scale, offset,
quantity); value = raw * scale + offset. Many slaves share one line: the pymodbus client runs on the
:class:`blueranch.edge.bus.Bus`'s port, inside its conversation, so a poll never interleaves with another slave's
poll or a probe. An exception reply (e.g. 02, illegal data address) or a timeout fails that register
with the sensor, slave id and reason in the log; the other registers of the sensor are still read.

A float32 register that decodes to a value no instrument sends (subnormal, or below any resolution of its
quantity: edge/drivers/modbus_guess.py) is kept with flag 4 and a warning that names the likely cause, a
wrong ``byte_order``/``word_order``.

``edge probe`` (edge/drivers/modbus_probe.py) finds the line's serial settings and its slaves, reads what
each holds, decodes every 32-bit pair in the four orders and offers the template and order that fit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from blueranch.contracts.qc import QcFlag
from blueranch.contracts.strict import StrictModel
from blueranch.edge.drivers import register
from blueranch.edge.drivers.base import (
    DriverError,
    Found,
    LineSettings,
    Parity,
    ProbeOptions,
    QuantityName,
    Report,
    SerialDriver,
    SerialSensorBase,
)
from blueranch.edge.drivers.modbus_framing import WIDTH, Order, RegisterType, decode
from blueranch.edge.drivers.modbus_guess import misordered
from blueranch.edge.reading import Reading

if TYPE_CHECKING:  # pymodbus (about 12 MB resident) is imported when a Modbus sensor is polled
    from pymodbus.client import ModbusSerialClient

log = logging.getLogger("blueranch.edge.modbus_rtu")

SAMPLE = """\
- id: lc-m1-01
  driver: modbus_rtu
  port: /dev/ttyUSB2        # RS-485 adapter; several slaves may share it
  baudrate: 19200           # Modbus over Serial Line V1.02, 2.5.1: 19200 8E1 is the default
  parity: E
  slave_id: 1               # 1-247
  interval_s: 60
  timeout_s: 0.5
  asset: ll-03
  registers:
    - {address: 0, function: holding, type: float32, byte_order: big, word_order: big, quantity: load_kg}
"""


class Register(StrictModel):
    address: int = Field(ge=0, le=0xFFFF)
    function: Literal["holding", "input"] = "holding"
    type: RegisterType = "float32"
    byte_order: Order = "big"
    word_order: Order = "big"
    scale: float = 1.0
    offset: float = 0.0
    quantity: QuantityName

    @model_validator(mode="after")
    def _fits(self) -> Register:
        if self.address + WIDTH[self.type] - 1 > 0xFFFF:
            raise ValueError(f"a {self.type} at address {self.address} runs past register 65535")
        return self


class Config(SerialSensorBase):
    driver: Literal["modbus_rtu"]
    baudrate: int = Field(default=19200, ge=1200, le=115200)
    parity: Parity = "E"
    stopbits: Literal[1, 2] = 1
    #: Modbus over Serial Line V1.02, 2.2: individual slave addresses are 1..247
    slave_id: int = Field(ge=1, le=247)
    timeout_s: float = Field(default=0.5, gt=0, le=10)
    registers: list[Register] = Field(min_length=1, max_length=125)

    def line_settings(self) -> LineSettings:
        return LineSettings(self.baudrate, 8, self.parity, self.stopbits, "modbus_rtu")


def parse_slave_ids(text: str) -> list[int]:
    """``"1-10,20"`` -> [1..10, 20]; ids must be 1..247 (Modbus over Serial Line V1.02, 2.2)."""
    ids: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"{part!r} is not an id or a range like 1-10") from None
        if not (1 <= a <= b <= 247):
            raise ValueError(f"{part!r}: Modbus slave ids are 1..247")
        ids += range(a, b + 1)
    return ids


def client_on(port, url: str, timeout_s: float, retries: int, baudrate: int = 19200) -> ModbusSerialClient:
    """A pymodbus client that speaks over an already open (shared) pyserial port (``baudrate`` paces its reads)."""
    from pymodbus.client import ModbusSerialClient

    client = ModbusSerialClient(url, timeout=timeout_s, retries=retries, baudrate=baudrate)
    client.socket = port  # pymodbus's connect() keeps an existing socket; the Bus owns opening and closing
    return client


def read_registers(client: ModbusSerialClient, slave_id: int, function: str, address: int, count: int) -> list[int]:
    """Read ``count`` registers; raise :class:`DriverError` on a timeout or an exception reply."""
    from pymodbus.exceptions import ModbusException

    fn = client.read_holding_registers if function == "holding" else client.read_input_registers
    try:
        rr = fn(address, count=count, device_id=slave_id)
    except ModbusException as exc:
        raise DriverError(f"slave {slave_id} {function} register {address}: {exc}") from exc
    if rr.isError():
        code = getattr(rr, "exception_code", None)
        raise DriverError(
            f"slave {slave_id} {function} register {address}: exception {code:02d}"
            if code
            else f"slave {slave_id} {function} register {address}: error reply {rr}"
        )
    if len(rr.registers) != count:
        raise DriverError(f"slave {slave_id} register {address}: {len(rr.registers)} registers, asked {count}")
    return list(rr.registers)


@register("modbus_rtu")
class ModbusDriver(SerialDriver):
    Config = Config
    SAMPLE = SAMPLE

    def __init__(self, config, bus, clock):
        super().__init__(config, bus, clock)
        self._client: ModbusSerialClient | None = None
        #: addresses of the registers whose misordered-looking value was logged already
        self._warned: set[int] = set()

    def read(self) -> list[Reading]:
        c = self.config
        out: list[Reading] = []
        errors: list[str] = []
        with self.bus.conversation(c.id) as port:
            client = self._client
            if client is None or client.socket is not port:  # first poll, or the bus reopened its port
                client = self._client = client_on(port, c.port, c.timeout_s, c.retries, c.baudrate)
            taken = self.clock.now()
            for reg in c.registers:
                try:
                    regs = read_registers(client, c.slave_id, reg.function, reg.address, WIDTH[reg.type])
                    scaled = decode(regs, reg.type, reg.byte_order, reg.word_order) * reg.scale
                except (DriverError, ValueError) as exc:
                    errors.append(f"{reg.quantity}: {exc}")
                    continue
                out.append(Reading(c.id, reg.quantity, scaled + reg.offset, taken, self._judge(reg, regs, scaled)))
        if errors and not out:
            raise DriverError("; ".join(errors))
        for e in errors:
            log.warning("sensor %s (modbus_rtu slave %d on %s): %s", c.id, c.slave_id, c.port, e)
        return out

    def _judge(self, reg: Register, regs: list[int], scaled: float) -> QcFlag:
        """FAIL for a float32 no instrument sends (a misordered pair, most likely), with a warning the first time
        for this register; else not evaluated (the QC tests judge it)."""
        why = misordered(reg.quantity, scaled) if reg.type == "float32" else None
        if why is None:
            return QcFlag.NOT_EVALUATED
        if reg.address not in self._warned:
            self._warned.add(reg.address)
            log.warning(
                "sensor %s (modbus_rtu slave %d on %s): register %d (%s) reads %s: %s, flagged 4; "
                "byte_order %s / word_order %s are probably wrong ('blueranch edge probe' decodes all four orders)",
                self.config.id,
                self.config.slave_id,
                self.config.port,
                reg.address,
                reg.quantity,
                " ".join(f"{r:04x}" for r in regs),
                why,
                reg.byte_order,
                reg.word_order,
            )
        return QcFlag.FAIL

    # ------------------------------------------------------------ edge probe (edge/drivers/modbus_probe.py)
    @classmethod
    def probe(cls, url: str, options: ProbeOptions, report: Report) -> list[Found]:
        """Find the line's setting and its slaves; read and decode what each holds."""
        from blueranch.edge.drivers import modbus_probe

        return modbus_probe.scan(url, options, report)

    @classmethod
    def snippet(cls, found: Found, index: int) -> str:
        from blueranch.edge.drivers import modbus_probe

        return modbus_probe.snippet(found)
