"""NMEA 0183 sentence framing (NMEA 0183 v4.11 section 5): bytes only, no I/O.

A sentence is ``$`` + talker (2) + type (3) + ``,fields`` + ``*hh`` + CR LF, at most 82 characters in
all; ``hh`` is the XOR of every byte between ``$`` and ``*``, as two upper-case hex digits.
"""

from __future__ import annotations

from datetime import UTC, datetime

MAX_SENTENCE_CHARS = 82


class NmeaError(ValueError):
    pass


def checksum(body: str) -> int:
    """XOR of the characters between ``$`` and ``*``."""
    c = 0
    for ch in body.encode("ascii"):
        c ^= ch
    return c


def sentence(body: str) -> bytes:
    """``$body*hh\\r\\n``; raises if the sentence would exceed 82 characters."""
    out = f"${body}*{checksum(body):02X}\r\n".encode("ascii")
    if len(out) > MAX_SENTENCE_CHARS:
        raise NmeaError(f"sentence {out!r} is {len(out)} characters; NMEA 0183 allows {MAX_SENTENCE_CHARS}")
    return out


def _lat(lat: float) -> str:
    a = abs(lat)
    d = int(a)
    return f"{d:02d}{(a - d) * 60:07.4f},{'N' if lat >= 0 else 'S'}"


def _lon(lon: float) -> str:
    a = abs(lon)
    d = int(a)
    return f"{d:03d}{(a - d) * 60:07.4f},{'E' if lon >= 0 else 'W'}"


def _hms(t: datetime) -> str:
    return t.strftime("%H%M%S.") + f"{t.microsecond // 10000:02d}"


def gga(
    t_s: float, lat: float, lon: float, sats: int = 9, hdop: float = 0.9, alt_m: float = 2.0, talker: str = "GP"
) -> bytes:
    """Fix data: time, position, quality 1 (GPS fix), satellites, HDOP, antenna altitude, geoid separation."""
    t = datetime.fromtimestamp(t_s, UTC)
    return sentence(f"{talker}GGA,{_hms(t)},{_lat(lat)},{_lon(lon)},1,{sats:02d},{hdop:.1f},{alt_m:.1f},M,10.5,M,,")


def rmc(t_s: float, lat: float, lon: float, speed_kn: float, course_deg: float, talker: str = "GP") -> bytes:
    """Recommended minimum: time, status A, position, speed over ground, course, date, mode A (autonomous)."""
    t = datetime.fromtimestamp(t_s, UTC)
    return sentence(
        f"{talker}RMC,{_hms(t)},A,{_lat(lat)},{_lon(lon)},{speed_kn:.2f},{course_deg % 360:.1f},"
        f"{t.strftime('%d%m%y')},,,A"
    )


def mwv(angle_deg: float, speed_m_s: float, talker: str = "WI") -> bytes:
    """Wind speed and angle; reference T (true, relative to north here: the station is north-aligned), m/s."""
    return sentence(f"{talker}MWV,{angle_deg % 360:.1f},T,{speed_m_s:.1f},M,A")


def xdr(pressure_hpa: float, air_temp_c: float, wave_height_m: float | None = None, talker: str = "WI") -> bytes:
    """Transducer measurements: barometer (P, bar), air temperature (C, degC) and, if given, wave height
    (D, metres, transducer id ``WAVEH``)."""
    body = f"{talker}XDR,P,{pressure_hpa / 1000:.5f},B,BARO,C,{air_temp_c:.1f},C,AIRT"
    if wave_height_m is not None:
        body += f",D,{wave_height_m:.2f},M,WAVEH"
    return sentence(body)
