"""SDI-12 v1.4 framing: commands out, replies parsed. Bytes in, values out; no I/O.

References (SDI-12 Support Group, "SDI-12 A Serial-Digital Interface Standard for Microprocessor-Based
Sensors", version 1.4, 2017): 4.4.2 ``a!``; 4.4.4 ``aI!`` identification; 4.4.5 ``?!``; 4.4.6 ``aM!`` ->
``atttn`` then the service request ``a<CR><LF>``; 4.4.7 ``aD0!``..``aD9!``; 4.4.8 ``aC!`` -> ``atttnn`` (no
service request); 4.4.12 CRC (CRC-16/ARC over the reply, sent as 3 ASCII characters 0x40 | 6 bits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from blueranch.edge.drivers.base import DriverError
from blueranch.edge.drivers.crc import crc16_a001

#: Valid sensor addresses (4.4.1: '0'-'9' standard, 'a'-'z' and 'A'-'Z' extended).
ADDRESSES = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: A value in a data reply: sign, up to 7 digits, an optional decimal point (4.4.7).
_VALUE_RE = re.compile(rb"[+-]\d*\.?\d+")
#: The longest reply line a sensor may send: aI! is 3+8+6+3+13 characters + CRLF (4.4.4); D pages are shorter
#: than 75 + 3 (CRC) + 3 characters (4.4.7). Anything longer is garbage.
MAX_REPLY_BYTES = 96


class Sdi12Error(DriverError, ValueError):
    pass


def crc16(data: bytes) -> int:
    """CRC-16/ARC (poly 0xA001 reflected, init 0), as SDI-12 4.4.12 specifies."""
    return crc16_a001(data, 0)


def crc_chars(data: bytes) -> bytes:
    c = crc16(data)
    return bytes([0x40 | (c >> 12), 0x40 | ((c >> 6) & 0x3F), 0x40 | (c & 0x3F)])


def command(address: str, body: str = "") -> bytes:
    if address != "?" and address not in ADDRESSES:
        raise Sdi12Error(f"bad SDI-12 address {address!r}: must be one of {ADDRESSES}")
    return f"{address}{body}!".encode("ascii")


@dataclass(frozen=True)
class MeasureReply:
    address: str
    wait_s: int
    count: int


@dataclass(frozen=True)
class Identification:
    address: str
    sdi12_version: str
    vendor: str
    model: str
    version: str
    extra: str


def _text(line: bytes, what: str) -> str:
    if not line.endswith(b"\r\n"):
        raise Sdi12Error(f"{what}: reply {line!r} is not terminated by CR LF")
    if len(line) > MAX_REPLY_BYTES:
        raise Sdi12Error(f"{what}: reply of {len(line)} bytes is longer than {MAX_REPLY_BYTES}")
    try:
        return line[:-2].decode("ascii")
    except UnicodeDecodeError:
        raise Sdi12Error(f"{what}: reply {line!r} is not ASCII") from None


def parse_address_reply(line: bytes) -> str:
    """``a<CR><LF>`` (reply to ``a!``, ``?!`` and the service request)."""
    text = _text(line, "address reply")
    if len(text) != 1 or text not in ADDRESSES:
        raise Sdi12Error(f"bad address reply {text!r}: expected one address character")
    return text


def parse_measure_reply(line: bytes, address: str) -> MeasureReply:
    """``atttn`` (aM!) or ``atttnn`` (aC!)."""
    text = line.strip().decode("ascii", errors="replace")
    if len(text) not in (5, 6) or text[0] != address or not text[1:].isdigit():
        raise Sdi12Error(f"bad measurement reply {text!r} from address {address!r}: expected a+tttn")
    return MeasureReply(text[0], int(text[1:4]), int(text[4:]))


def parse_identification(line: bytes, address: str) -> Identification:
    """``allccccccccmmmmmmvvvxxx..`` (4.4.4): version ll, vendor 8, model 6, version 3, optional rest."""
    text = _text(line, "identification")
    if len(text) < 20 or text[0] != address or not text[1:3].isdigit():
        raise Sdi12Error(f"bad identification {text!r} from address {address!r}")
    return Identification(
        text[0], f"{text[1]}.{text[2]}", text[3:11].strip(), text[11:17].strip(), text[17:20].strip(), text[20:].strip()
    )


def parse_data_reply(line: bytes, address: str, crc: bool = False) -> list[float]:
    """``a+1.23-4.5`` (optionally followed by a 3-character CRC); returns the values."""
    body = line.rstrip(b"\r\n")
    if len(line) > MAX_REPLY_BYTES:
        raise Sdi12Error(f"data reply of {len(line)} bytes is longer than {MAX_REPLY_BYTES}")
    if not body or body[:1] != address.encode():
        raise Sdi12Error(f"data reply {body!r} is not from address {address!r}")
    if crc:
        if len(body) < 4:
            raise Sdi12Error(f"data reply {body!r} is too short to hold a CRC")
        payload, got = body[:-3], body[-3:]
        want = crc_chars(payload)
        if got != want:
            raise Sdi12Error(f"CRC mismatch in {body!r}: got {got!r}, computed {want!r}")
        body = payload
    values = body[1:]
    found = _VALUE_RE.findall(values)
    if b"".join(found) != values:
        raise Sdi12Error(f"garbled values {values!r} in data reply")
    return [float(v) for v in found]
