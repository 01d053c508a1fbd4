"""The reflected CRC-16 (polynomial 0xA001) that SDI-12 and Modbus RTU both use, with their own initial value."""

from __future__ import annotations


def crc16_a001(data: bytes, init: int) -> int:
    """CRC-16 over ``data``, polynomial 0x8005 reflected (0xA001); ``init`` 0 is CRC-16/ARC (SDI-12),
    0xFFFF is CRC-16/MODBUS."""
    crc = init
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
