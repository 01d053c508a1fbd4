"""Register maps of the simulated Modbus RTU slaves, and 32-bit value encoding with configurable order.

Agreement 2 (docs/simulator.md): float32 holding registers by default, big byte order and big word order
(``ABCD``). ``byte_order: little`` swaps the two bytes inside each register (``BADC``); ``word_order:
little`` puts the low word first (``CDAB``); both give ``DCBA``. The same value is served as holding
(function 03) and input (function 04) registers. Any register outside the map answers exception 02
(illegal data address), including a read that starts inside the map and runs past its end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

Order = Literal["big", "little"]
RegType = Literal["uint16", "int16", "uint32", "int32", "float32"]

_FMT = {"uint16": ">H", "int16": ">h", "uint32": ">I", "int32": ">i", "float32": ">f"}


@dataclass(frozen=True)
class Register:
    address: int
    quantity: str
    type: RegType = "float32"

    @property
    def width(self) -> int:
        return 1 if self.type in ("uint16", "int16") else 2


#: Register maps per device kind (documented in docs/simulator.md, 'Modbus RTU slaves').
REGISTER_MAPS: dict[str, tuple[Register, ...]] = {
    "load_cell": (Register(0x0000, "load_kg"),),
    "energy_meter": (Register(0x0000, "grid_kwh_total"), Register(0x0002, "power_kw")),
    "fuel_meter": (Register(0x0000, "diesel_l_total"),),
    "buoy_power": (
        Register(0x0000, "battery_v"),
        Register(0x0002, "solar_a"),
        Register(0x0004, "enclosure_rh_pct"),
        Register(0x0006, "rssi_dbm"),
    ),
}


def encode(value: float, type_: RegType = "float32", byte_order: Order = "big", word_order: Order = "big") -> list[int]:
    """The 16-bit register words that carry ``value``."""
    if type_ != "float32":
        value = int(round(value))
    raw = struct.pack(_FMT[type_], value)
    words = [raw[i : i + 2] for i in range(0, len(raw), 2)]
    if byte_order == "little":
        words = [w[::-1] for w in words]
    if word_order == "little":
        words = words[::-1]
    return [int.from_bytes(w, "big") for w in words]


def decode(words: list[int], type_: RegType = "float32", byte_order: Order = "big", word_order: Order = "big") -> float:
    """Inverse of :func:`encode` (used by tests and by ``sim`` diagnostics)."""
    ws = [w.to_bytes(2, "big") for w in words]
    if word_order == "little":
        ws = ws[::-1]
    if byte_order == "little":
        ws = [w[::-1] for w in ws]
    return struct.unpack(_FMT[type_], b"".join(ws))[0]


class IllegalAddress(LookupError):
    """A read outside the register map (Modbus exception 02)."""


def read_registers(
    regmap: tuple[Register, ...], values: dict[str, float], start: int, count: int, byte_order: Order, word_order: Order
) -> list[int]:
    """Registers ``start .. start+count-1``; every one must belong to a mapped value, else IllegalAddress."""
    words: dict[int, int] = {}
    for reg in regmap:
        for i, w in enumerate(encode(values[reg.quantity], reg.type, byte_order, word_order)):
            words[reg.address + i] = w
    missing = [a for a in range(start, start + count) if a not in words]
    if count < 1 or missing:
        raise IllegalAddress(
            f"registers {start:#06x}..{start + count - 1:#06x}: "
            f"{'none requested' if count < 1 else f'{missing[0]:#06x} is not mapped'}"
        )
    return [words[a] for a in range(start, start + count)]
