"""SDI-12 response parsing (SDI-12 v1.4). Bytes in, values out; no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VALUE_RE = re.compile(rb"[+-]\d*\.?\d+")


class Sdi12Error(ValueError):
    pass


def crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@dataclass(frozen=True)
class MeasureReply:
    address: str
    wait_s: int
    count: int


def parse_measure_reply(line: bytes, address: str) -> MeasureReply:
    """``atttn`` (aM!) or ``atttnn`` (aC!)."""
    text = line.strip().decode("ascii", errors="replace")
    if len(text) not in (5, 6) or text[0] != address or not text[1:].isdigit():
        raise Sdi12Error(f"bad measurement reply {text!r} from address {address!r}: expected a+tttn")
    return MeasureReply(text[0], int(text[1:4]), int(text[4:]))


def parse_data_reply(line: bytes, address: str, crc: bool = False) -> list[float]:
    """``a+1.23-4.5`` (optionally followed by a 3-character CRC); returns the values."""
    body = line.rstrip(b"\r\n")
    if not body or body[:1] != address.encode():
        raise Sdi12Error(f"data reply {body!r} is not from address {address!r}")
    if crc:
        if len(body) < 4:
            raise Sdi12Error(f"data reply {body!r} is too short to hold a CRC")
        payload, got = body[:-3], body[-3:]
        c = crc16(payload)
        want = bytes([0x40 | (c >> 12), 0x40 | ((c >> 6) & 0x3F), 0x40 | (c & 0x3F)])
        if got != want:
            raise Sdi12Error(f"CRC mismatch in {body!r}: got {got!r}, computed {want!r}")
        body = payload
    values = body[1:]
    found = _VALUE_RE.findall(values)
    if b"".join(found) != values:
        raise Sdi12Error(f"garbled values {values!r} in data reply")
    return [float(v) for v in found]
