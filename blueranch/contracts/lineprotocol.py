"""InfluxDB line protocol serialisation with complete escaping.

Escaping follows the InfluxDB 1.x line protocol reference: in measurements, commas and spaces are
escaped; in tag keys, tag values and field keys, commas, equals signs and spaces; in string field
values, double quotes and backslashes. A line feed or carriage return cannot be escaped in any of them,
so it is refused in names and tags (:class:`ContractError`) and written as the two characters
``\\n``/``\\r`` in string fields, where it can only be free text. Nothing a device sends can therefore
end a line early and create a second point.
"""

from __future__ import annotations

import math
from typing import Iterable

from blueranch.contracts.errors import ContractError
from blueranch.contracts.influx import Point

_MEAS = str.maketrans({",": "\\,", " ": "\\ "})
_KEY = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STR = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _name(value: str, table: dict, what: str) -> str:
    if not value:
        raise ContractError.single("bad_point", what, value, "must not be empty")
    if "\n" in value or "\r" in value:
        raise ContractError.single("bad_point", what, value, "must not contain a line feed or carriage return")
    if value.endswith("\\"):
        raise ContractError.single("bad_point", what, value, "must not end with a backslash")
    return value.translate(table)


def _field_value(name: str, value: float | int | str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ContractError.single("bad_point", f"fields.{name}", value, "must be finite")
        return repr(value)
    if isinstance(value, str):
        return '"' + value.translate(_STR) + '"'
    raise ContractError.single("bad_point", f"fields.{name}", value, "must be float, int, str or bool")


def line(point: Point) -> str:
    """One point as one line (no trailing newline)."""
    if not point.fields:
        raise ContractError.single("bad_point", "fields", point.fields, "must have at least one field")
    head = _name(point.measurement, _MEAS, "measurement")
    for k in sorted(point.tags):
        v = point.tags[k]
        if v == "":
            continue  # InfluxDB drops empty tags; skipping keeps the series key stable
        head += "," + _name(k, _KEY, "tag key") + "=" + _name(v, _KEY, f"tags.{k}")
    body = ",".join(_name(k, _KEY, "field key") + "=" + _field_value(k, v) for k, v in point.fields.items())
    return f"{head} {body} {point.time_ms}"


def lines(points: Iterable[Point]) -> bytes:
    """Many points as a line-protocol body for ``/write?precision=ms``."""
    return ("\n".join(line(p) for p in points)).encode("utf-8")
