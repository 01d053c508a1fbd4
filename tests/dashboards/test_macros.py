"""Grafana's macro and template-variable substitution, case by case."""

from __future__ import annotations

import pytest

from blueranch.dashboards.macros import ALL, Variable, format_interval, interpolate, interval_ms, regex_escape

DAY_MS = 86_400_000
Q = (
    'SELECT mean("do_mg_l") FROM "raw"."water_quality" WHERE "device" =~ /^$device$/ AND $timeFilter '
    "GROUP BY time($__interval)"
)


def test_time_filter_and_interval():
    out = interpolate(Q, 1_000, 1_000 + DAY_MS, {"device": Variable("device", ("b1",))})
    assert "time >= 1000ms and time <= 86401000ms" in out
    assert "GROUP BY time(1m)" in out  # a day over 1000 points is 86.4 s, rounded to 1 min
    assert interpolate("$__interval_ms", 0, 30 * DAY_MS) == "1800000"
    assert interpolate("${__interval}", 0, 30 * DAY_MS) == "30m"


@pytest.mark.parametrize(
    "range_ms,expected",
    [(3_600_000, "10s"), (DAY_MS, "1m"), (7 * DAY_MS, "10m"), (30 * DAY_MS, "30m"), (365 * DAY_MS, "6h")],
)
def test_interval_rounds_like_grafana(range_ms, expected):
    assert format_interval(interval_ms(0, range_ms)) == expected


def test_multi_value_becomes_an_escaped_alternation():
    v = {"device": Variable("device", ("buoy-01", "buoy.02"))}
    assert "/^(buoy-01|buoy\\.02)$/" in interpolate(Q, 0, DAY_MS, v)


def test_all_expands_to_every_option_or_to_the_all_value():
    every = Variable("device", (ALL,), options=("a", "b/c"))
    assert "/^(a|b\\/c)$/" in interpolate(Q, 0, DAY_MS, {"device": every})
    custom = Variable("device", (ALL,), options=("a", "b"), all_value=".*")
    assert "/^.*$/" in interpolate(Q, 0, DAY_MS, {"device": custom})
    nothing = Variable("device", (ALL,), options=())
    assert "/^()$/" in interpolate(Q, 0, DAY_MS, {"device": nothing})


def test_every_variable_syntax():
    v = {"site": Variable("site", ("dachen",))}
    assert interpolate("$site ${site} ${site:regex} [[site]]", 0, DAY_MS, v) == "dachen " * 3 + "dachen"


def test_single_value_variable_is_not_escaped():
    v = {"method": Variable("method", ("count",), multi=False, include_all=False)}
    assert interpolate("/^$method$/", 0, DAY_MS, v) == "/^count$/"


def test_regex_escape_closes_injection():
    assert regex_escape("a/b") == "a\\/b"
    assert regex_escape("x|.*") == "x\\|\\.\\*"


def test_unknown_variable_and_bad_range_are_errors():
    with pytest.raises(KeyError, match=r"\$farm"):
        interpolate("$farm", 0, DAY_MS)
    with pytest.raises(ValueError, match="must be after"):
        interval_ms(DAY_MS, 0)
    with pytest.raises(ValueError, match="no value"):
        interpolate("$site", 0, DAY_MS, {"site": Variable("site", ())})
