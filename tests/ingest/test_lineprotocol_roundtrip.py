"""Property tests: arbitrary tag values and string fields round-trip through the real InfluxDB.

A newline or carriage return cannot be escaped in line protocol: it is refused in names and tag values
(:class:`ContractError`) and written as the two characters ``\\n``/``\\r`` in string fields (documented
in ``blueranch/contracts/lineprotocol.py``), so it can never start a second point.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from blueranch.contracts.errors import ContractError
from blueranch.contracts.influx import Point
from blueranch.contracts.lineprotocol import line, lines

pytestmark = pytest.mark.integration

T0 = 1_795_000_000_000
_ids = itertools.count()
_text = st.characters(blacklist_categories=("Cs",))  # any Unicode scalar value (no lone surrogates)
tag_values = st.text(_text, min_size=1, max_size=24).filter(
    lambda s: "\n" not in s and "\r" not in s and not s.endswith("\\")
)
names = st.text(st.sampled_from("ab, =\"'é_水-#{}"), min_size=1, max_size=10)  # tag and field keys
field_strings = st.text(_text, max_size=40)


def _as_stored(value: str) -> str:
    return value.replace("\n", "\\n").replace("\r", "\\r")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(tag_values, field_strings), min_size=1, max_size=12), tag_key=names, field_key=names)
@example(
    rows=[
        ("a\\,b", "\\"),
        ("a\\ b", '"'),
        ("\\\\x", '\\"'),
        ("tab\tx", "a\nb"),
        (" lead", ""),
        ("\x00nul", "\\n"),
        ("é水 ,=", "line1\r\nline2"),
    ],
    tag_key='x=,"y',
    field_key='q" =,z',
)
def test_tag_values_and_string_fields_round_trip(influx, rows, tag_key, field_key):
    measurement = f"rt {next(_ids)},x"  # a space and a comma in the measurement too
    tag_key = "t" + tag_key  # distinct from the fixed tag "k"
    field_key = "f" + field_key if field_key != tag_key else "f"
    points = [
        Point(measurement, {tag_key: tag, "k": "fixed"}, {field_key: text, "i": i}, T0 + i)
        for i, (tag, text) in enumerate(rows)
    ]
    influx.write(lines(points))
    quoted = measurement.replace('"', '\\"')
    series = influx.query(f'SELECT * FROM "raw"."{quoted}"')
    got = sorted(series[0].rows(), key=lambda r: r["i"])
    assert len(got) == len(rows), "a value created or lost a point"
    for row, (tag, text) in zip(got, rows, strict=False):
        assert row[tag_key] == tag
        assert row[field_key] == _as_stored(text)
        assert row["k"] == "fixed"


@given(st.sampled_from(["\n", "\r", "a\nb=c d", "x\r\ny"]))
def test_line_breaks_in_names_and_tags_are_refused(bad):
    for p in (
        Point("m", {"t": bad}, {"f": 1.0}, 1),
        Point(bad, {}, {"f": 1.0}, 1),
        Point("m", {bad: "v"}, {"f": 1.0}, 1),
        Point("m", {}, {bad: 1.0}, 1),
    ):
        with pytest.raises(ContractError):
            line(p)


def test_backslashes_are_refused_in_measurements_tag_keys_and_field_keys():
    for p in (
        Point("m\\x", {}, {"f": 1.0}, 1),
        Point("m", {}, {"f\\=": 1.0}, 1),
        Point("m", {"t": "v\\"}, {"f": 1.0}, 1),
        Point("m", {"k\\ ": "v"}, {"f": 1.0}, 1),
    ):
        with pytest.raises(ContractError, match="backslash"):
            line(p)
