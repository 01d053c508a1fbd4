"""InfluxDB line protocol serialisation with complete escaping.

Escaping follows the InfluxDB 1.x line protocol reference: in measurements, commas and spaces are
escaped; in tag keys, tag values and field keys, commas, equals signs and spaces; in string field
values, double quotes and backslashes. A line feed or carriage return cannot be escaped in any of them,
so it is refused in names and tags (:class:`ContractError`) and written as the two characters
``\\n``/``\\r`` in string fields, where it can only be free text. Nothing a device sends can therefore
end a line early and create a second point. A backslash is refused in measurements, tag keys and field keys
(InfluxDB 1.x cannot read some backslash sequences back there); tag values keep it, except at the end.
``tests/ingest/test_lineprotocol_roundtrip.py`` round-trips arbitrary values through the real InfluxDB.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from blueranch.contracts.errors import ContractError
from blueranch.contracts.influx import QC_SUFFIX, Point, position_point, to_ms
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES

if TYPE_CHECKING:
    from blueranch.contracts.mqtt import Telemetry

_MEAS = str.maketrans({",": "\\,", " ": "\\ "})
_KEY = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STR = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _name(value: str, table: dict, what: str, backslash: bool = True) -> str:
    if not value:
        raise ContractError.single("bad_point", what, value, "must not be empty")
    if "\n" in value or "\r" in value:
        raise ContractError.single("bad_point", what, value, "must not contain a line feed or carriage return")
    if value.endswith("\\"):
        raise ContractError.single("bad_point", what, value, "must not end with a backslash")
    if not backslash and "\\" in value:
        # InfluxDB 1.x scans names treating a backslash as escaping the next character but unescapes only
        # "\,", "\ ", "\=" and '\"': "k\ " or "f\=" cannot be written and read back (found by hypothesis).
        raise ContractError.single("bad_point", what, value, "must not contain a backslash")
    return value.translate(table)


# Escaped names by raw name. Measurements, tag keys, field keys and tag values repeat (a fleet has a
# bounded set of sites, devices and sensors), so each is checked and escaped once: serialising is the
# ingest's hot path. Only valid names are cached; the caches are cleared when they grow past the bound.
_CACHE_MAX = 50_000
_meas_cache: dict[str, str] = {}
_key_cache: dict[str, str] = {}  # tag values
_field_key_cache: dict[str, str] = {}  # tag keys and field keys (no backslash)


def _cached(value: str, cache: dict[str, str], table: dict, what: str, backslash: bool = True) -> str:
    out = cache.get(value)
    if out is None:
        out = _name(value, table, what, backslash)
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[value] = out
    return out


def _field_value(name: str, value: float | int | str | bool) -> str:
    t = type(value)
    if t is float:
        if not math.isfinite(value):
            raise ContractError.single("bad_point", f"fields.{name}", value, "must be finite")
        return repr(value)
    if t is int:
        return f"{value}i"
    if t is str:
        return '"' + value.translate(_STR) + '"'
    if t is bool:
        return "true" if value else "false"
    # subclasses (IntEnum, numpy scalars registered as float/int...) take the slow, exact path
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{int(value)}i"
    if isinstance(value, float):
        return _field_value(name, float(value))
    if isinstance(value, str):
        return _field_value(name, str(value))
    raise ContractError.single("bad_point", f"fields.{name}", value, "must be float, int, str or bool")


def line(point: Point) -> str:
    """One point as one line (no trailing newline)."""
    fields = point.fields
    if not fields:
        raise ContractError.single("bad_point", "fields", fields, "must have at least one field")
    head_key = (point.measurement, *point.tags.items())
    head = _head_cache.get(head_key)
    if head is None:
        head = _head(point)
        if len(_head_cache) >= _CACHE_MAX:
            _head_cache.clear()
        _head_cache[head_key] = head
    body = ",".join(
        [
            (_field_key_cache.get(k) or _cached(k, _field_key_cache, _KEY, "field key", backslash=False))
            + "="
            + _field_value(k, v)
            for k, v in fields.items()
        ]
    )
    return f"{head} {body} {point.time_ms}"


#: measurement and tag set (in the point's own tag order) -> escaped series key; one per series
_head_cache: dict[tuple, str] = {}


def _head(point: Point) -> str:
    parts = [_cached(point.measurement, _meas_cache, _MEAS, "measurement", backslash=False)]
    tags = point.tags
    for k in sorted(tags):
        v = tags[k]
        if v == "":
            continue  # InfluxDB drops empty tags; skipping keeps the series key stable
        parts.append(
            _cached(k, _field_key_cache, _KEY, "tag key", backslash=False)
            + "="
            + _cached(v, _key_cache, _KEY, f"tags.{k}")
        )
    return ",".join(parts)


def lines(points: Iterable[Point]) -> bytes:
    """Many points as a line-protocol body for ``/write?precision=ms``."""
    return "\n".join([line(p) for p in points]).encode("utf-8")


# ---------------------------------------------------------------- telemetry
#: (quantity, site, device, sensor, farm, asset) -> the escaped ``"{series key} {field}="``, ``",{field}_qc="``
#: and ``"{series key} {field}_qc="`` (a sample without a value)
_telemetry_starts: dict[tuple, tuple[str, str, str]] = {}
_SUSPECT = int(QcFlag.SUSPECT)


def _telemetry_start(key: tuple) -> tuple[str, str, str]:
    quantity, site, device, sensor, farm, asset = key
    q = QUANTITIES[quantity]
    tags = {"site": site, "device": device, "sensor": sensor}
    if farm is not None:
        tags["farm"] = farm
    if asset is not None:
        tags["asset"] = asset
    head = _head(Point(q.measurement, tags, {}, 0))
    start = (f"{head} {q.name}=", f",{q.name}{QC_SUFFIX}=", f"{head} {q.name}{QC_SUFFIX}=")
    if len(_telemetry_starts) >= _CACHE_MAX:
        _telemetry_starts.clear()
    _telemetry_starts[key] = start
    return start


def telemetry_lines(site: str, msg: Telemetry, suspect: Collection[int] = ()) -> list[str]:
    """A validated telemetry message as lines, one per sample, in sample order, then the payload's position
    if :func:`blueranch.contracts.influx.position_point` writes one. The only serialiser of telemetry: the
    ingest and every other writer of telemetry call it.

    A sample ``s`` of quantity ``q`` becomes the point ``q.measurement`` tagged site, device, sensor (farm
    and asset when given) with the fields ``q.name`` and ``q.name_qc`` (only ``q.name_qc`` when the sample has no
    value) at the sample's time; samples of one
    series at one time merge into one InfluxDB point (a sonde's quantities read together form one row).
    The samples at the indices in ``suspect`` get their flag raised to at least SUSPECT (3); FAIL and
    MISSING stay (the ingest's clock policy ``flag``).

    Built without :class:`Point` objects (the ingest's hot path): each series key is checked and escaped
    once by :func:`line`'s own code and cached with the quantity's field names.
    ``tests/foundation/test_lineprotocol_fast.py`` checks the lines against :func:`line` of the points the
    contract describes.
    """
    out: list[str] = []
    device = msg.device
    starts = _telemetry_starts
    for i, s in enumerate(msg.samples):
        key = (s.quantity, site, device, s.sensor, s.farm, s.asset)
        start = starts.get(key)
        if start is None:
            start = _telemetry_start(key)
        qc = s.qc
        if suspect and qc < _SUSPECT and i in suspect:
            qc = _SUSPECT
        if s.value is None:  # a reading without a value: its flag (MISSING) alone
            out.append(f"{start[2]}{qc}i {to_ms(s.time)}")
            continue
        value = float(s.value)
        if not math.isfinite(value):
            raise ContractError.single("bad_point", f"fields.{s.quantity}", value, "must be finite")
        out.append(f"{start[0]}{value!r}{start[1]}{qc}i {to_ms(s.time)}")
    position = position_point(site, msg)
    if position is not None:
        out.append(line(position))
    return out
