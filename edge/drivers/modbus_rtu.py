"""Modbus RTU slaves on RS-485 (load cells, energy meters, fuel flow meters) through pymodbus 3.x.

Generic: each sensor lists its registers (address, function, type, byte and word order, scale, offset,
quantity); value = raw * scale + offset. Many slaves share one line: the pymodbus client runs on the
:class:`blueranch.edge.bus.Bus`'s port, inside its conversation, so a poll never interleaves with another slave's
poll or a probe. An exception reply (e.g. 02, illegal data address) or a timeout fails that register
with the sensor, slave id and reason in the log; the other registers of the sensor are still read.

``edge probe`` asks each slave id for one holding register at the usual speeds (:data:`PROBE_BAUDRATES`);
any reply (data or an exception) means a slave is there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from blueranch.contracts.strict import StrictModel
from blueranch.edge.bus import Bus
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
from blueranch.edge.reading import Reading

if TYPE_CHECKING:  # pymodbus (about 12 MB resident) is imported when a Modbus sensor is polled
    from pymodbus.client import ModbusSerialClient

log = logging.getLogger("blueranch.edge.modbus_rtu")

#: Speeds ``edge probe`` tries. Modbus over Serial Line V1.02, 2.5.1: 19200 is the default, 9600 also required.
PROBE_BAUDRATES = (19200, 9600)

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


def client_on(port, url: str, timeout_s: float, retries: int) -> ModbusSerialClient:
    """A pymodbus client that speaks over an already open (shared) pyserial port."""
    from pymodbus.client import ModbusSerialClient

    client = ModbusSerialClient(url, timeout=timeout_s, retries=retries)
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

    def read(self) -> list[Reading]:
        c = self.config
        out: list[Reading] = []
        errors: list[str] = []
        with self.bus.conversation(c.id) as port:
            client = getattr(self, "_client", None)
            if client is None or client.socket is not port:  # first poll, or the bus reopened its port
                client = self._client = client_on(port, c.port, c.timeout_s, c.retries)
            taken = self.clock.now()
            for reg in c.registers:
                try:
                    regs = read_registers(client, c.slave_id, reg.function, reg.address, WIDTH[reg.type])
                    value = decode(regs, reg.type, reg.byte_order, reg.word_order) * reg.scale + reg.offset
                except (DriverError, ValueError) as exc:
                    errors.append(f"{reg.quantity}: {exc}")
                    continue
                out.append(Reading(c.id, reg.quantity, value, taken))
        if errors and not out:
            raise DriverError("; ".join(errors))
        for e in errors:
            log.warning("sensor %s (modbus_rtu slave %d on %s): %s", c.id, c.slave_id, c.port, e)
        return out

    # ------------------------------------------------------------ edge probe
    @classmethod
    def probe(cls, url: str, options: ProbeOptions, report: Report) -> list[Found]:
        """Ask each id in ``slave_ids`` for holding registers 0-1 at each speed; the first speed with an answer
        wins."""
        for baud in (options.baudrate,) if options.baudrate else PROBE_BAUDRATES:
            bus = Bus(url, LineSettings(baud, 8, "E", 1, cls.name))
            found: list[Found] = []
            try:
                with bus.conversation("probe") as port:
                    client = client_on(port, url, options.timeout_s, 0)
                    for sid in options.slave_ids:
                        try:
                            regs = read_registers(client, sid, "holding", 0, 2)
                            detail = {"slave_id": sid, "baudrate": baud, "registers_0_1": regs}
                        except DriverError as exc:
                            if "exception" not in str(exc):
                                continue  # silence: nobody at this id
                            detail = {"slave_id": sid, "baudrate": baud, "reply": str(exc)}
                        report(f"modbus_rtu at {baud} baud: slave {sid} answered: {detail}")
                        found.append(Found(cls.name, url, detail))
            finally:
                bus.close()
            if found:
                return found
        return []

    @classmethod
    def snippet(cls, found: Found, index: int) -> str:
        d = found.detail
        return (
            f"  # slave {d['slave_id']}: {d.get('registers_0_1') or d.get('reply')}\n"
            f"  - id: modbus-{d['slave_id']}\n    driver: modbus_rtu\n    port: {found.port}\n"
            f"    baudrate: {d['baudrate']}\n    slave_id: {d['slave_id']}\n    interval_s: 60\n"
            f"    registers:   # FILL IN from the device's register map; e.g. a load cell:\n"
            f"      - {{address: 0, function: holding, type: float32, byte_order: big, "
            f"word_order: big, quantity: load_kg}}\n"
        )
