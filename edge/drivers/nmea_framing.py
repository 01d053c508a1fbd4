"""NMEA 0183 framing: a line in, quantities out; no I/O. pynmea2 checks the frame and checksum and splits
talker, type and fields; the fields are then read here, strictly, by position.

NMEA 0183 v4.10 (5.3): a sentence starts with ``$`` or ``!``, ends with CR LF, is at most 82 characters
including both, and here must carry the ``*hh`` XOR checksum (checked by pynmea2 ``check=True``). Real
receivers exceed the 82 (DGPS GGA lines of 83 characters are common), so by default longer sentences up to
``max_chars`` are taken and reported as overlong; dropping real data is worse than a loose limit.

Supported sentences (any talker: GP, GN, GL, GA, GB, BD, WI, ...) and what they give:

- ``GGA`` fix data: lat_deg, lon_deg, gps_sats, hdop (only with a fix, quality > 0)
- ``RMC`` minimum data: lat_deg, lon_deg, speed_kn, course_deg and the receiver's own UTC date and time
  (status ``A``; ``V`` means the receiver warns the data are invalid, so nothing is taken)
- ``MWV`` wind speed and angle: wind_speed_m_s, and wind_dir_deg when the reference is ``T``
- ``MDA`` meteorological composite: air_pressure_hpa, air_temp_c, wind_speed_m_s, wind_dir_deg (true)
- ``XDR`` transducers (type, value, unit, id): pressure ``P`` in ``B`` (bar) or ``P`` (Pa) -> air_pressure_hpa;
  temperature ``C`` in ``C`` -> air_temp_c (temp_c when the id names water, e.g. ``WATER``/``WTEMP``);
  displacement ``D`` in ``M`` with an id starting ``WAVE`` -> wave_height_m. Other transducers are ignored.

Everything else raises :class:`NmeaError` (:class:`UnsupportedSentence` for a well-formed sentence of
another type, a proprietary ``$P...`` or a query ``$ttllQ,...``), and so does any field that is not a
plain decimal number where one is expected. A GGA or RMC whose coordinates, hemispheres or time are empty
or invalid gives no position (never 0, 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pynmea2

from blueranch.edge.drivers.base import DriverError

#: NMEA 0183 v4.10, 5.3: at most 82 characters including $ and CR LF.
MAX_SENTENCE_CHARS = 82
#: Longest sentence taken when lenient (the default): real receivers send a few characters more.
LENIENT_MAX_CHARS = 100
SENTENCES = ("GGA", "RMC", "MWV", "MDA", "XDR")
#: What each sentence can give (for the sample config's and the probe's QC defaults).
SENTENCE_QUANTITIES: dict[str, tuple[str, ...]] = {
    "GGA": ("lat_deg", "lon_deg", "gps_sats", "hdop"),
    "RMC": ("lat_deg", "lon_deg", "speed_kn", "course_deg"),
    "MWV": ("wind_speed_m_s", "wind_dir_deg"),
    "MDA": ("air_pressure_hpa", "air_temp_c", "wind_speed_m_s", "wind_dir_deg"),
    "XDR": ("air_pressure_hpa", "air_temp_c", "temp_c", "wave_height_m"),
}
#: 1 knot = 1852 m / 3600 s exactly (international nautical mile, BIPM SI brochure table 8).
KNOT_M_S = 1852 / 3600
#: MWV speed units: K km/h, M m/s, N knots, S statute miles/h (1 mi = 1609.344 m, exact by definition).
_SPEED_UNITS = {"K": 1 / 3.6, "M": 1.0, "N": KNOT_M_S, "S": 1609.344 / 3600}
#: A plain decimal number as NMEA writes it (no exponent, no "nan"/"inf" that float() would accept).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
#: ddmm.mmmm and dddmm.mmmm (NMEA 0183 v4.10, 6.2 "llll.ll" / "yyyyy.yy"; receivers vary the decimals).
_LAT = re.compile(r"(\d{2})(\d{2}(?:\.\d+)?)")
_LON = re.compile(r"(\d{3})(\d{2}(?:\.\d+)?)")
_TIME = re.compile(r"(\d{2})(\d{2})(\d{2})(?:\.(\d{1,6}))?")
_DATE = re.compile(r"(\d{2})(\d{2})(\d{2})")


class NmeaError(DriverError, ValueError):
    pass


class UnsupportedSentence(NmeaError):
    """A well-formed sentence this parser does not take (another type, proprietary, query); ``talker`` and
    ``type`` say what it was (the probe lists them)."""

    def __init__(self, message: str, talker: str = "", type: str = ""):
        super().__init__(message)
        self.talker, self.type = talker, type


@dataclass
class Sentence:
    talker: str
    type: str
    values: dict[str, float] = field(default_factory=dict)
    #: the receiver's own UTC time (RMC only)
    time: datetime | None = None
    #: characters including CR LF (more than 82 only when taken leniently)
    chars: int = 0


def parse_sentence(line: bytes, max_chars: int = LENIENT_MAX_CHARS) -> Sentence:
    """Parse one line; raise :class:`NmeaError` naming what is wrong (length, checksum, fields), whatever
    the line holds. ``max_chars`` is the longest sentence taken (82 for the standard's limit)."""
    raw = line.rstrip(b"\r\n")
    chars = len(raw) + 2
    if raw.startswith(b"$P"):  # proprietary (NMEA 0183 v4.10, 5.3.3), whatever its length (u-blox PUBX: 110)
        raise UnsupportedSentence(f"{raw[:40]!r}: proprietary sentence not taken")
    if chars > max_chars:
        raise NmeaError(f"sentence of {chars} characters is longer than {max_chars}")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise NmeaError(f"sentence {raw[:40]!r} is not ASCII") from None
    if not text.startswith(("$", "!")):
        raise NmeaError(f"sentence {text[:40]!r} does not start with '$' or '!'")
    if not text.isprintable():
        raise NmeaError(f"sentence {text[:40]!r} holds control characters")
    try:
        msg = pynmea2.parse(text, check=True)
    except pynmea2.ParseError as exc:
        raise NmeaError(f"{text[:40]!r}: {exc.args[0]}") from None
    except Exception as exc:  # pynmea2 builds sentence classes from the text; any failure is a bad frame
        raise NmeaError(f"{text[:40]!r}: unparsable ({type(exc).__name__}: {exc})") from None
    if isinstance(msg, pynmea2.QuerySentence):
        raise UnsupportedSentence(f"{text[:40]!r}: query sentence, not data")
    if isinstance(msg, pynmea2.ProprietarySentence):
        raise UnsupportedSentence(f"{text[:40]!r}: proprietary sentence not taken")
    if not isinstance(msg, pynmea2.TalkerSentence) or msg.sentence_type not in SENTENCES:
        talker, kind = str(getattr(msg, "talker", "")), str(getattr(msg, "sentence_type", ""))
        raise UnsupportedSentence(f"{text[:40]!r}: {kind or 'unknown'} sentence not taken", talker, kind)
    out = Sentence(msg.talker, msg.sentence_type, chars=chars)
    _EXTRACT[msg.sentence_type](list(msg.data), out)
    return out


def _field(fields: list[str], i: int) -> str:
    return fields[i].strip() if i < len(fields) else ""


def _num(fields: list[str], i: int, what: str) -> float | None:
    """Field ``i`` as a number; empty is ``None``; anything else is an error."""
    text = _field(fields, i)
    if text == "":
        return None
    if not _NUMBER.fullmatch(text):
        raise NmeaError(f"{what} {text!r} is not a number")
    return float(text)


def _put(out: Sentence, quantity: str, fields: list[str], i: int, what: str, scale: float = 1.0) -> None:
    """Take field ``i`` as ``quantity`` (times ``scale``) when it is not empty."""
    if (value := _num(fields, i, what)) is not None:
        out.values[quantity] = value * scale


def _coordinate(value: str, hemisphere: str, pattern: re.Pattern, limit: int, signs: str) -> float | None:
    m = pattern.fullmatch(value.strip())
    if m is None or len(hemisphere) != 1 or hemisphere not in signs:
        return None
    degrees, minutes = int(m.group(1)), float(m.group(2))
    if minutes >= 60 or degrees + minutes / 60 > limit:
        return None
    return (degrees + minutes / 60) * (1 if hemisphere == signs[0] else -1)


def _position(fields: list[str], i: int) -> tuple[float, float] | None:
    """(lat, lon) from the four fields at ``i`` (lat, N/S, lon, E/W), or None if any is empty or invalid."""
    lat = _coordinate(_field(fields, i), _field(fields, i + 1), _LAT, 90, "NS")
    lon = _coordinate(_field(fields, i + 2), _field(fields, i + 3), _LON, 180, "EW")
    return None if lat is None or lon is None else (lat, lon)


def _valid_time(text: str) -> tuple[int, int, int, int] | None:
    m = _TIME.fullmatch(text)
    if m is None:
        return None
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3))
    micro = int((m.group(4) or "0").ljust(6, "0"))
    # 60 s is a leap second: NMEA allows it, datetime does not; no position is better than a wrong one
    return (h, mi, s, micro) if h < 24 and mi < 60 and s < 60 else None


def _gga(f: list[str], out: Sentence) -> None:
    quality = _num(f, 5, "fix quality")
    if not quality:
        return
    if _valid_time(_field(f, 0)) is not None and (pos := _position(f, 1)) is not None:
        out.values["lat_deg"], out.values["lon_deg"] = pos
    _put(out, "gps_sats", f, 6, "satellites")
    _put(out, "hdop", f, 7, "HDOP")


def _rmc(f: list[str], out: Sentence) -> None:
    if _field(f, 1) != "A":
        return
    t, d = _valid_time(_field(f, 0)), _DATE.fullmatch(_field(f, 8))
    when = None
    if t is not None and d is not None:
        try:  # two-digit year as strptime's %y (POSIX: 69-99 -> 19xx, 00-68 -> 20xx), as pynmea2 reads it
            day = datetime.strptime(d.group(0), "%d%m%y")
            when = day.replace(hour=t[0], minute=t[1], second=t[2], microsecond=t[3], tzinfo=UTC)
        except ValueError:
            when = None
    out.time = when
    if when is not None and (pos := _position(f, 2)) is not None:
        out.values["lat_deg"], out.values["lon_deg"] = pos
    _put(out, "speed_kn", f, 6, "speed")
    _put(out, "course_deg", f, 7, "course")


def _mwv(f: list[str], out: Sentence) -> None:
    if _field(f, 4) != "A" or (s := _num(f, 2, "wind speed")) is None:
        return
    unit = _SPEED_UNITS.get(_field(f, 3))
    if unit is None:
        raise NmeaError(f"unknown wind speed unit {_field(f, 3)!r}")
    out.values["wind_speed_m_s"] = s * unit
    if _field(f, 1) == "T" and (a := _num(f, 0, "wind angle")) is not None:
        out.values["wind_dir_deg"] = a


def _mda(f: list[str], out: Sentence) -> None:
    _put(out, "air_pressure_hpa", f, 2, "pressure (bar)", 1000.0)  # 1 bar = 1000 hPa
    _put(out, "air_temp_c", f, 4, "air temperature")
    _put(out, "wind_dir_deg", f, 12, "wind direction (true)")
    _put(out, "wind_speed_m_s", f, 18, "wind speed (m/s)")


def _xdr(f: list[str], out: Sentence) -> None:
    for i in range(0, len(f) - 3, 4):
        kind, units, ident = _field(f, i), _field(f, i + 2), _field(f, i + 3).upper()
        value = _num(f, i + 1, f"transducer {ident or i // 4} value")
        if value is None:
            continue
        if kind == "P" and units in ("B", "P"):
            out.values["air_pressure_hpa"] = value * 1000.0 if units == "B" else value / 100.0  # 1 bar = 1000 hPa
        elif kind == "C" and units == "C":
            out.values["temp_c" if ident.startswith(("WATER", "WTEMP", "WT")) else "air_temp_c"] = value
        elif kind == "D" and units == "M" and ident.startswith("WAVE"):
            out.values["wave_height_m"] = value


_EXTRACT = {"GGA": _gga, "RMC": _rmc, "MWV": _mwv, "MDA": _mda, "XDR": _xdr}
