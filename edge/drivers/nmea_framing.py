"""NMEA 0183 framing: a line in, quantities out (pynmea2 does the parsing); no I/O.

NMEA 0183 v4.10 (5.3): a sentence starts with ``$`` or ``!``, ends with CR LF, is at most 82 characters
including both, and here must carry the ``*hh`` XOR checksum (checked by pynmea2 ``check=True``).
Supported sentences and what they give:

- ``GGA`` fix data: lat_deg, lon_deg, gps_sats, hdop (only with a fix, quality > 0)
- ``RMC`` minimum data: lat_deg, lon_deg, speed_kn, course_deg and the receiver's own UTC date and time
  (status ``A``; ``V`` means the receiver warns the data are invalid, so nothing is taken)
- ``MWV`` wind speed and angle: wind_speed_m_s, and wind_dir_deg when the reference is ``T``
- ``MDA`` meteorological composite: air_pressure_hpa, air_temp_c, wind_speed_m_s, wind_dir_deg (true)
- ``XDR`` transducers (type, value, unit, id): pressure ``P`` in ``B`` (bar) or ``P`` (Pa) -> air_pressure_hpa;
  temperature ``C`` in ``C`` -> air_temp_c (temp_c when the id names water, e.g. ``WATER``/``WTEMP``);
  displacement ``D`` in ``M`` with an id starting ``WAVE`` -> wave_height_m. Other transducers are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pynmea2

from blueranch.edge.drivers.base import DriverError

#: NMEA 0183 v4.10, 5.3: at most 82 characters including $ and CR LF.
MAX_SENTENCE_CHARS = 82
SENTENCES = ("GGA", "RMC", "MWV", "MDA", "XDR")
#: 1 knot = 1852 m / 3600 s exactly (international nautical mile, BIPM SI brochure table 8).
KNOT_M_S = 1852 / 3600
#: MWV speed units: K km/h, M m/s, N knots, S statute miles/h (1 mi = 1609.344 m, exact by definition).
_SPEED_UNITS = {"K": 1 / 3.6, "M": 1.0, "N": KNOT_M_S, "S": 1609.344 / 3600}


class NmeaError(DriverError, ValueError):
    pass


@dataclass
class Sentence:
    talker: str
    type: str
    values: dict[str, float] = field(default_factory=dict)
    #: the receiver's own UTC time (RMC only)
    time: datetime | None = None


def parse_sentence(line: bytes) -> Sentence:
    """Parse one line; raise :class:`NmeaError` naming what is wrong (length, checksum, fields)."""
    raw = line.rstrip(b"\r\n")
    if len(raw) + 2 > MAX_SENTENCE_CHARS:
        raise NmeaError(f"sentence of {len(raw) + 2} characters is longer than {MAX_SENTENCE_CHARS}")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise NmeaError(f"sentence {raw[:40]!r} is not ASCII") from None
    if not text.startswith(("$", "!")):
        raise NmeaError(f"sentence {text[:40]!r} does not start with '$' or '!'")
    try:
        msg = pynmea2.parse(text, check=True)
    except pynmea2.ParseError as exc:
        raise NmeaError(f"{text[:40]!r}: {exc.args[0]}") from None
    talker = getattr(msg, "talker", "") or ""
    out = Sentence(talker, msg.sentence_type)
    try:
        _extract(msg, out)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise NmeaError(f"{text[:40]!r}: bad field: {exc}") from None
    return out


def _f(value) -> float | None:
    return None if value in (None, "") else float(value)


def _extract(msg, out: Sentence) -> None:
    t = msg.sentence_type
    v = out.values
    if t == "GGA":
        if int(msg.gps_qual or 0) > 0:
            v["lat_deg"], v["lon_deg"] = float(msg.latitude), float(msg.longitude)
            if msg.num_sats:
                v["gps_sats"] = float(int(msg.num_sats))
            if msg.horizontal_dil:
                v["hdop"] = float(msg.horizontal_dil)
    elif t == "RMC":
        if msg.status == "A":
            v["lat_deg"], v["lon_deg"] = float(msg.latitude), float(msg.longitude)
            if (s := _f(msg.spd_over_grnd)) is not None:
                v["speed_kn"] = s
            if (c := _f(msg.true_course)) is not None:
                v["course_deg"] = c
            if msg.datestamp and msg.timestamp:
                out.time = msg.datetime
    elif t == "MWV":
        if msg.status == "A" and (s := _f(msg.wind_speed)) is not None:
            unit = _SPEED_UNITS.get(msg.wind_speed_units)
            if unit is None:
                raise ValueError(f"unknown wind speed unit {msg.wind_speed_units!r}")
            v["wind_speed_m_s"] = s * unit
            if msg.reference == "T" and (a := _f(msg.wind_angle)) is not None:
                v["wind_dir_deg"] = a
    elif t == "MDA":
        if (p := _f(msg.b_pressure_bar)) is not None:
            v["air_pressure_hpa"] = p * 1000.0  # 1 bar = 1000 hPa
        if (a := _f(msg.air_temp)) is not None:
            v["air_temp_c"] = a
        if (w := _f(msg.wind_speed_meters)) is not None:
            v["wind_speed_m_s"] = w
        if (d := _f(msg.direction_true)) is not None:
            v["wind_dir_deg"] = d
    elif t == "XDR":
        for i in range(msg.num_transducers):
            x = msg.get_transducer(i)
            value = _f(x.value)
            if value is None:
                continue
            ident = (x.id or "").upper()
            if x.type == "P" and x.units in ("B", "P"):
                v["air_pressure_hpa"] = value * 1000.0 if x.units == "B" else value / 100.0  # 1 bar = 1000 hPa
            elif x.type == "C" and x.units == "C":
                v["temp_c" if ident.startswith(("WATER", "WTEMP", "WT")) else "air_temp_c"] = value
            elif x.type == "D" and x.units == "M" and ident.startswith("WAVE"):
                v["wave_height_m"] = value
