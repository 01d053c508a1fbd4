"""Modbus register decoding: 16-bit registers in, a number out; no I/O (pymodbus does the RTU framing).

Modbus sends each register big-endian (Modbus Application Protocol V1.1b3, 4.2), but 32-bit values span two
registers in an order the standard leaves to the vendor. ``byte_order`` is the order of the two bytes inside
each register as the device stores them, ``word_order`` the order of the two registers:
big/big = ABCD, big/little = CDAB, little/big = BADC, little/little = DCBA.
"""

from __future__ import annotations

import math
import struct
from typing import Literal

from blueranch.edge.drivers.crc import crc16_a001

RegisterType = Literal["uint16", "int16", "uint32", "int32", "float32"]
Order = Literal["big", "little"]

_STRUCT = {"uint16": ">H", "int16": ">h", "uint32": ">I", "int32": ">i", "float32": ">f"}
WIDTH = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2}

#: The four orders of a 32-bit value on two registers, by the letters vendors' manuals use (A the most
#: significant byte): (byte_order, word_order). Most preferred first: ABCD is the standard's own big-endian
#: order, CDAB the most common vendor swap.
ORDERS: dict[str, tuple[Order, Order]] = {
    "ABCD": ("big", "big"),
    "CDAB": ("big", "little"),
    "BADC": ("little", "big"),
    "DCBA": ("little", "little"),
}
#: The smallest normal float32 (IEEE 754 binary32: 2**-126); a nonzero value below it is subnormal.
FLOAT32_MIN_NORMAL = 2.0**-126


def _unpack(registers: list[int], type_: RegisterType, byte_order: Order, word_order: Order) -> float:
    n = WIDTH[type_]
    if len(registers) != n:
        raise ValueError(f"{type_} needs {n} registers, got {len(registers)}")
    if any(not 0 <= r <= 0xFFFF for r in registers):
        raise ValueError(f"registers {registers} are not 16-bit")
    words = list(registers) if word_order == "big" else list(reversed(registers))
    raw = b"".join(w.to_bytes(2, "big" if byte_order == "big" else "little") for w in words)
    (value,) = struct.unpack(_STRUCT[type_], raw)
    return float(value)


def decode(registers: list[int], type_: RegisterType, byte_order: Order = "big", word_order: Order = "big") -> float:
    """Turn ``WIDTH[type_]`` registers into a value; raise ``ValueError`` on a wrong count or a non-finite float."""
    value = _unpack(registers, type_, byte_order, word_order)
    if type_ == "float32" and not math.isfinite(value):
        raise ValueError(f"registers {registers} hold a non-finite float32 ({value})")
    return value


def float32_orders(pair: list[int]) -> dict[str, float]:
    """Two registers read as a float32 in each of the four :data:`ORDERS` (non-finite values included)."""
    return {name: _unpack(pair, "float32", bo, wo) for name, (bo, wo) in ORDERS.items()}


def is_subnormal(value: float) -> bool:
    """A nonzero float32 smaller than the smallest normal one: what a misordered pair often decodes to (a
    register whose low bytes are zero put where the exponent belongs), never what an instrument reports."""
    return value != 0 and abs(value) < FLOAT32_MIN_NORMAL


def encode(value: float, type_: RegisterType, byte_order: Order = "big", word_order: Order = "big") -> list[int]:
    """The inverse of :func:`decode` (used by tests and scripted peers)."""
    raw = struct.pack(_STRUCT[type_], int(value) if type_ != "float32" else value)
    words = [raw[i : i + 2] for i in range(0, len(raw), 2)]
    regs = [int.from_bytes(w, "big" if byte_order == "big" else "little") for w in words]
    return regs if word_order == "big" else list(reversed(regs))


def crc16_modbus(frame: bytes) -> bytes:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), low byte first (Modbus over serial line V1.02, 6.2.2)."""
    return crc16_a001(frame, 0xFFFF).to_bytes(2, "little")
