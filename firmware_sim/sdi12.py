"""SDI-12 framing for the simulated sensors (SDI-12 v1.4 specification, sections 4 and 7).

Only bytes: no I/O here. Responses end in CR LF. Values are sent as ``+d.ddd``/``-d.ddd`` with at most
seven digits each; a data response (``aDn!``) holds at most 75 characters of values (35 for ``aM!``-era
sensors; we use the 75 of v1.3+ concurrent/continuous responses, which every v1.3 recorder accepts).
"""

from __future__ import annotations

MAX_VALUES_CHARS = 75


def crc16(data: bytes) -> int:
    """SDI-12 CRC: CRC-16 with polynomial 0xA001 (reflected 0x8005), initial value 0 (spec 4.4.12.1)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def crc_ascii(crc: int) -> bytes:
    """Encode a CRC as the three printable characters the spec defines (spec 4.4.12.2)."""
    return bytes([0x40 | (crc >> 12), 0x40 | ((crc >> 6) & 0x3F), 0x40 | (crc & 0x3F)])


def add_crc(body: bytes) -> bytes:
    """``body`` (address + values, without CR LF) followed by its CRC and CR LF."""
    return body + crc_ascii(crc16(body)) + b"\r\n"


def format_value(value: float, decimals: int) -> bytes:
    """``+17.50``: sign always present, at most 7 digits (the spec's limit for one value).

    A value the sensor cannot produce (NaN, infinite) is sent as ``+9999``, the usual SDI-12 "invalid".
    """
    if value != value or value in (float("inf"), float("-inf")):
        return b"+9999"
    text = f"{value:+.{decimals}f}"
    digits = sum(c.isdigit() for c in text)
    while digits > 7 and decimals > 0:
        decimals -= 1
        text = f"{value:+.{decimals}f}"
        digits = sum(c.isdigit() for c in text)
    return text.encode()


def pack_values(values: list[bytes], limit: int = MAX_VALUES_CHARS) -> list[bytes]:
    """Split formatted values into ``aD0!``, ``aD1!``... pages of at most ``limit`` characters."""
    pages: list[bytes] = [b""]
    for v in values:
        if len(pages[-1]) + len(v) > limit:
            pages.append(b"")
        pages[-1] += v
    return pages
