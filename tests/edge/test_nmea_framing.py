"""NMEA 0183 framing against what real receivers send: a corpus (proprietary, query, multi-constellation,
overlong DGPS lines, fixes with empty fields) and hypothesis over arbitrary bytes and mutated real
sentences (checksum recomputed). The parser must raise only NmeaError, or return valid values."""

from __future__ import annotations

import math
from datetime import datetime
from functools import reduce

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueranch.contracts.quantities import QUANTITIES
from blueranch.edge.drivers.nmea_framing import (
    MAX_SENTENCE_CHARS,
    NmeaError,
    Sentence,
    UnsupportedSentence,
    parse_sentence,
)


def nmea(body: str, start: str = "$") -> bytes:
    """A sentence with its checksum (XOR of the characters between the start and '*')."""
    checksum = reduce(lambda a, c: a ^ ord(c), body, 0)
    return f"{start}{body}*{checksum:02X}\r\n".encode("ascii")


GOOD = {
    "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,": (48.1173, 11.516667),
    "GNGGA,001043.00,4404.14036,N,12118.85961,W,1,12,0.98,1113.0,M,-21.3,M,,": (44.069006, -121.314327),
    "GAGGA,235959.99,3723.2475,S,12158.3416,E,1,07,1.0,9.0,M,,M,,": (-37.387458, 121.972360),
    "GBGGA,081836.00,2827.5100,N,12152.6280,E,1,10,0.8,12.1,M,9.5,M,,": (28.458500, 121.877133),
    "BDGGA,081836.00,2827.5100,N,12152.6280,E,1,10,0.8,12.1,M,9.5,M,,": (28.458500, 121.877133),
    "GLGGA,081836.00,2827.5100,N,12152.6280,E,1,10,0.8,12.1,M,9.5,M,,": (28.458500, 121.877133),
    "GNRMC,001031.00,A,4404.13993,N,12118.86023,W,0.146,,100117,,,A": (44.068999, -121.314337),
    "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W": (48.1173, 11.516667),
}

#: A differential fix from a survey receiver: 83 characters with CR LF, one over the standard's 82.
DGPS_83 = "GPGGA,172814.0,3723.465877,N,12202.269578,W,2,06,1.2,18.9,M,-25.67,M,2.0,0031"

NOT_TAKEN = [
    "PFEC,GPatt,123.4,+01.2,-00.5",  # Furuno attitude
    "PASHR,123519.00,123.45,T,+01.23,-00.45,+00.12,0.012,0.012,0.025,1,1",  # Ashtech/Trimble attitude
    "PMTK001,314,3",  # MediaTek acknowledgement
    "PMTK220,1000",
    "PUBX,00,123519.00,4807.03800,N,01131.00000,E,545.4,G3,2.1,2.0,0.007,77.52,0.007,,0.92,1.19,0.77,9,0,0",
    "PTNTHPR,85.9,N,-0.9,N,0.8,N",  # TCM heading, pitch, roll
    "CCGPQ,GGA",  # a query: the recorder asks for GGA
    "GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00",
    "GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1",
    "GPVTG,054.7,T,034.4,M,005.5,N,010.2,K",
    "GPZDA,201530.00,04,07,2002,00,00",
]

NO_POSITION = [
    "GPGGA,123519,,,,,1,08,0.9,545.4,M,46.9,M,,",  # fix quality 1 but no coordinates
    "GPGGA,123519,4807.038,,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",  # no hemisphere
    "GPGGA,123519,4807.038,N,01131.000,X,1,08,0.9,545.4,M,46.9,M,,",  # not a hemisphere
    "GPGGA,123519,4867.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",  # 67 minutes
    "GPGGA,,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",  # no time
    "GPGGA,256199,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",  # 25:61:99
    "GPRMC,123519,A,,,,,022.4,084.4,230394,003.1,W",  # status A, coordinates empty
    "GPRMC,123519,A,4807.038,N,18131.000,E,022.4,084.4,230394,003.1,W",  # 181 degrees east
    "GPRMC,,A,4807.038,N,01131.000,E,022.4,084.4,,003.1,W",  # no time, no date
]


def check_valid(s: Sentence) -> None:
    """What a parsed sentence may hold: known quantities, finite values, a position only as a pair."""
    for q, v in s.values.items():
        assert q in QUANTITIES and isinstance(v, float) and math.isfinite(v), (q, v)
    assert ("lat_deg" in s.values) == ("lon_deg" in s.values)
    if "lat_deg" in s.values:
        assert -90 <= s.values["lat_deg"] <= 90 and -180 <= s.values["lon_deg"] <= 180
    assert s.time is None or isinstance(s.time, datetime)


@pytest.mark.parametrize("body", list(GOOD))
def test_multi_constellation_fixes_give_their_position(body):
    s = parse_sentence(nmea(body))
    check_valid(s)
    lat, lon = GOOD[body]
    assert (s.values["lat_deg"], s.values["lon_deg"]) == (pytest.approx(lat, abs=1e-6), pytest.approx(lon, abs=1e-6))
    assert s.talker == body[:2]


@pytest.mark.parametrize("body", NOT_TAKEN)
def test_proprietary_query_and_other_sentences_raise_unsupported(body):
    with pytest.raises(UnsupportedSentence):
        parse_sentence(nmea(body))


@pytest.mark.parametrize("body", NO_POSITION)
def test_empty_or_invalid_coordinates_hemispheres_or_times_give_no_position(body):
    s = parse_sentence(nmea(body))
    check_valid(s)
    assert "lat_deg" not in s.values and "lon_deg" not in s.values


def test_rmc_keeps_its_time_and_speed_without_a_position():
    s = parse_sentence(nmea("GPRMC,123519,A,,,,,022.4,084.4,230394,003.1,W"))
    assert s.values == {"speed_kn": 22.4, "course_deg": 84.4}
    assert s.time.isoformat() == "1994-03-23T12:35:19+00:00"


def test_an_83_character_dgps_line_is_taken_leniently_and_refused_strictly():
    line = nmea(DGPS_83)
    assert len(line) == MAX_SENTENCE_CHARS + 1
    s = parse_sentence(line)
    assert s.chars == 83 and s.values["gps_sats"] == 6 and s.values["lat_deg"] == pytest.approx(37.391098, abs=1e-6)
    with pytest.raises(NmeaError, match="83 characters is longer than 82"):
        parse_sentence(line, MAX_SENTENCE_CHARS)


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"\r\n",
        b"$",
        b"$*00\r\n",
        b"$GPGGA\r\n",
        nmea("GPGGA,123519,4807.038,N,01131.000,E,1,08,nan,545.4,M,46.9,M,,"),
        nmea("GPGGA,123519,4807.038,N,01131.000,E,1,1e3,0.9,545.4,M,46.9,M,,"),
        nmea("WIMWV,214.8,T,inf,N,A"),
        nmea("WIMWV,214.8,T,10.0,Q,A"),
        nmea("WIXDR,P,1.0x,B,BARO"),
        nmea("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9\x01,545.4,M"),
        "$GPGGA,1235é9*00\r\n".encode(),
    ],
)
def test_garbage_raises_nmea_error_naming_the_problem(line):
    with pytest.raises(NmeaError):
        parse_sentence(line)


def parse_or_nmea_error(line: bytes) -> None:
    try:
        s = parse_sentence(line)
    except NmeaError:
        return
    check_valid(s)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=160))
def test_arbitrary_bytes_raise_only_nmea_error(data):
    parse_or_nmea_error(data)
    parse_or_nmea_error(b"$" + data + b"\r\n")


CORPUS = [*GOOD, DGPS_83, *NOT_TAKEN, *NO_POSITION, "WIMWV,214.8,T,10.0,N,A", "WIMDA,29.9,I,1.013,B,12.3,C"]
CORPUS += ["WIXDR,P,1.01325,B,BARO,C,12.3,C,AIRT,D,1.50,M,WAVEH", "YXXDR,C,15.2,C,WTEMP"]
FIELD = st.one_of(
    st.text(alphabet="0123456789.-+NSEWATVMKBCPDIQX", max_size=14),
    st.text(max_size=6),
    st.sampled_from(["", "nan", "inf", "-0", "9" * 30, ".", "-.", "00000.0000", "9000.0000", "18000.0000"]),
)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CORPUS),
    st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["set", "insert", "delete"]), FIELD), max_size=4),
)
def test_mutated_real_sentences_with_a_valid_checksum_raise_only_nmea_error(body, edits):
    fields = body.split(",")
    for i, how, value in edits:
        i %= len(fields)
        if how == "set":
            fields[i] = value
        elif how == "insert":
            fields.insert(i, value)
        elif len(fields) > 1:
            del fields[i]
    text = ",".join(fields).replace("*", "")
    try:
        line = nmea(text)
    except UnicodeEncodeError:
        line = ("$" + text + "*00\r\n").encode("utf-8")
    parse_or_nmea_error(line)
