"""Grafana's substitutions in InfluxQL, done the way Grafana does them, to run panel queries outside Grafana.

What Grafana (10.x/11.x, InfluxDB data source in InfluxQL mode) does before sending a query:

- ``$timeFilter`` / ``$__timeFilter`` -> ``time >= <from>ms and time <= <to>ms`` (epoch milliseconds);
- ``$__interval`` -> the panel interval: time range / max data points, rounded to a "nice" interval and
  never below the data source's minimum interval (``timeInterval``); ``$__interval_ms`` -> the same in ms;
- template variables ``$var``, ``${var}``, ``${var:format}``, ``[[var]]``: for a multi-value or
  include-All variable each value is regex-escaped and several values become ``(a|b)``, so
  ``"site" =~ /^$site$/`` reads ``/^(a|b)$/``; "All" (``$__all``) becomes the variable's ``allValue``
  unescaped when it has one, otherwise every option's value. A single-value variable is left as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALL = "$__all"
#: Grafana's regex escaping (``escapeRegex`` in @grafana/data): these characters get a backslash.
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_VAR_REF = re.compile(r"\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]")

# Grafana's roundInterval (pkg/tsdb/intervalv2): upper bound of the raw interval -> rounded interval (ms).
_S, _M, _H, _D = 1000, 60_000, 3_600_000, 86_400_000
_ROUNDING: tuple[tuple[float, int], ...] = (
    (1.5 * _S, _S),
    (3.5 * _S, 2 * _S),
    (7.5 * _S, 5 * _S),
    (12.5 * _S, 10 * _S),
    (17.5 * _S, 15 * _S),
    (25 * _S, 20 * _S),
    (45 * _S, 30 * _S),
    (1.5 * _M, _M),
    (3.5 * _M, 2 * _M),
    (7.5 * _M, 5 * _M),
    (12.5 * _M, 10 * _M),
    (17.5 * _M, 15 * _M),
    (25 * _M, 20 * _M),
    (45 * _M, 30 * _M),
    (1.5 * _H, _H),
    (2.5 * _H, 2 * _H),
    (4.5 * _H, 3 * _H),
    (9 * _H, 6 * _H),
    (24 * _H, 12 * _H),
    (7 * _D, _D),
    (21 * _D, 7 * _D),
    (float("inf"), 30 * _D),
)


@dataclass(frozen=True)
class Variable:
    """A template variable as Grafana sees it at query time."""

    name: str
    current: tuple[str, ...]  # selected values; (ALL,) when "All" is selected
    options: tuple[str, ...] = ()
    multi: bool = True
    include_all: bool = True
    all_value: str | None = None


def regex_escape(value: str) -> str:
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def round_interval_ms(raw_ms: float) -> int:
    for upper, rounded in _ROUNDING:
        if raw_ms <= upper:
            return rounded
    raise AssertionError("unreachable: the last bound is infinite")


def format_interval(ms: int) -> str:
    """``60000`` -> ``1m``: the largest unit that divides the interval, as InfluxQL durations read."""
    for unit, size in (("d", _D), ("h", _H), ("m", _M), ("s", _S)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def interval_ms(from_ms: int, to_ms: int, max_data_points: int = 1000, min_interval_ms: int = 10 * _S) -> int:
    """Grafana's ``$__interval`` for a range: range / max data points, rounded, at least the minimum."""
    if to_ms <= from_ms:
        raise ValueError(f"time range: to ({to_ms}) must be after from ({from_ms})")
    return max(round_interval_ms((to_ms - from_ms) / max_data_points), min_interval_ms)


def variable_value(v: Variable) -> str:
    values = v.current
    if values == (ALL,) or ALL in values:
        if v.all_value is not None:
            return v.all_value  # Grafana uses a custom all value verbatim
        values = v.options
        if not values:
            return "()"  # Grafana joins no options into an empty group: the query matches nothing
    if not values:
        raise ValueError(f"variable {v.name!r} has no value selected")
    if not v.multi and not v.include_all:
        return values[0]
    escaped = [regex_escape(x) for x in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def interpolate(
    query: str, from_ms: int, to_ms: int, variables: dict[str, Variable] | None = None, interval: int | None = None
) -> str:
    """``query`` with Grafana's macros and template variables substituted; an unknown variable raises."""
    step = interval if interval is not None else interval_ms(from_ms, to_ms)
    time_filter = f"time >= {from_ms}ms and time <= {to_ms}ms"
    builtins = {
        "timeFilter": time_filter,
        "__timeFilter": time_filter,
        "__interval": format_interval(step),
        "__interval_ms": str(step),
    }
    variables = variables or {}

    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        if name in builtins:
            return builtins[name]
        if name in variables:
            return variable_value(variables[name])
        raise KeyError(f"query uses ${name}, which is neither a Grafana macro nor a template variable: {query}")

    return _VAR_REF.sub(sub, query)
