"""What an export will write: the stations (devices) of a site in a period, their variables and positions.

A station is one device (a buoy, a gateway, a shore station). Its variables are the (sensor, quantity)
pairs with readings in the period; a variable is named after its quantity (``temp_c``), or
``<quantity>_<sensor>`` when two sensors of the device report the same quantity (a load-cell gateway).
``lat_deg`` and ``lon_deg`` are not variables: the device's GPS fixes give the station's position (the
median of its fixes flagged good or not evaluated; the range of the fixes is kept for the geospatial
bounds), and the shore's registry gives it for a device without fixes (``lat_deg``/``lon_deg`` in its
entry, with its sensors' nominal ``depth_m``).

Everything is read through :class:`blueranch.reader.Reader` with the contract's typed reads.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from blueranch.contracts.influx import MEASUREMENTS, PAYLOAD_SENSOR
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES, Quantity
from blueranch.contracts.query import Between, TagEq, aggregate, counts, tag_literal
from blueranch.export.times import iso

if TYPE_CHECKING:
    from blueranch.ingest.registry import Registry
    from blueranch.reader import Reader

#: The station's coordinates, never data variables.
FIX = ("lat_deg", "lon_deg")
#: Quantities exported when none are named: those with a CF standard name (the observations; device
#: housekeeping, meters and load cells come only when named, see docs/export.md).
DEFAULT_QUANTITIES = tuple(q.name for q in QUANTITIES.values() if q.standard_name and q.name not in FIX)
#: Fixes trusted for the station position.
_BAD_FIX = (int(QcFlag.SUSPECT), int(QcFlag.FAIL), int(QcFlag.MISSING))


class ExportError(ValueError):
    """The selection cannot be exported; the message says why in one line (the CLI exits 2 with it)."""


@dataclass(frozen=True)
class Selection:
    """What to export: a site, a half-open period ``[start_ms, end_ms)``, optionally some devices and quantities."""

    site: str
    start_ms: int
    end_ms: int
    devices: tuple[str, ...] = ()
    quantities: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        tag_literal("site", self.site)
        for d in self.devices:
            tag_literal("device", d)
        if self.end_ms <= self.start_ms:
            raise ExportError(f"--to {iso(self.end_ms)} must be after --from {iso(self.start_ms)}")
        for q in self.quantities:
            if q not in QUANTITIES:
                raise ExportError(f"--quantity {q!r} is not a quantity; known: {', '.join(sorted(QUANTITIES))}")
            if q in FIX:
                raise ExportError(f"--quantity {q!r}: latitude and longitude are the station's coordinates")

    @property
    def wanted(self) -> tuple[str, ...]:
        return self.quantities or DEFAULT_QUANTITIES

    @property
    def span(self) -> Between:
        return Between(self.start_ms, self.end_ms, end_inclusive=False)


@dataclass(frozen=True)
class Column:
    """One exported variable: a quantity as one sensor of the station reports it."""

    name: str
    quantity: Quantity
    sensor: str
    readings: int


@dataclass(frozen=True)
class Position:
    lat_deg: float
    lon_deg: float
    #: the range of the fixes (equal to the position for a registry position)
    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float
    #: where it comes from, in words (written as the coordinates' ``comment``)
    source: str


@dataclass(frozen=True)
class Station:
    device: str
    columns: tuple[Column, ...]
    position: Position
    depth_m: float | None = None

    @property
    def readings(self) -> int:
        return sum(c.readings for c in self.columns)

    def by_measurement(self) -> dict[str, tuple[Column, ...]]:
        out: dict[str, list[Column]] = defaultdict(list)
        for c in self.columns:
            out[c.quantity.measurement].append(c)
        return {m: tuple(cs) for m, cs in out.items()}


@dataclass
class Catalog:
    selection: Selection
    stations: list[Station] = field(default_factory=list)

    @property
    def column_names(self) -> list[str]:
        """Every variable name of every station, in the contract's quantity order (a CSV header)."""
        order = {name: i for i, name in enumerate(QUANTITIES)}
        names = {c.name: (order[c.quantity.name], c.name) for s in self.stations for c in s.columns}
        return sorted(names, key=names.__getitem__)


def _variable_name(quantity: str, sensor: str) -> str:
    return f"{quantity}_{re.sub(r'[^A-Za-z0-9_]', '_', sensor)}"


def _columns(found: dict[str, dict[str, int]]) -> tuple[Column, ...]:
    """Columns of one device from {quantity: {sensor: readings}}, in the contract's quantity order."""
    cols: list[Column] = []
    for q in QUANTITIES.values():
        sensors = found.get(q.name)
        if not sensors:
            continue
        for sensor in sorted(sensors):
            name = q.name if len(sensors) == 1 else _variable_name(q.name, sensor)
            cols.append(Column(name, q, sensor, sensors[sensor]))
    names = [c.name for c in cols]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ExportError(f"sensor ids give the same variable name {dup}: rename a sensor or export it alone")
    return tuple(cols)


def build_catalog(reader: Reader, selection: Selection, registry: Registry | None = None) -> Catalog:
    """The stations of ``selection`` with readings of its quantities; :class:`ExportError` for an empty
    selection, a named device without readings, or a station without a position."""
    found: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    wanted = selection.wanted
    for m in MEASUREMENTS.values():
        fields = tuple(q for q in wanted if QUANTITIES[q].measurement == m.name)
        if not fields:
            continue
        q = counts(
            m.name, fields, selection.span, where=(TagEq("site", selection.site),), group_by=("device", "sensor")
        )
        for s in reader.run(q):
            device, sensor = s.tags["device"], s.tags["sensor"]
            if selection.devices and device not in selection.devices:
                continue
            row = s.rows()[0]
            for f in fields:
                if row.get(f):
                    found[device][f][sensor] = int(row[f])
    period = f"between {iso(selection.start_ms)} and {iso(selection.end_ms)}"
    missing = [d for d in selection.devices if d not in found]
    if missing:
        raise ExportError(
            f"device {', '.join(missing)} has no readings of {', '.join(wanted)} at site {selection.site!r} {period}"
        )
    if not found:
        raise ExportError(f"nothing to export: no readings of {', '.join(wanted)} at site {selection.site!r} {period}")
    cat = Catalog(selection)
    for device in sorted(found):
        entry = registry.entry(device) if registry is not None else None
        position = _gps_position(reader, selection, device) or _registry_position(entry)
        if position is None:
            raise ExportError(
                f"station {device!r} has no position: no GPS fix flagged good or not evaluated {period}, and no "
                f"lat_deg/lon_deg in its entry of the shore's registry (--registry); add them there"
            )
        depth = entry.depth_m if entry is not None else None
        cat.stations.append(Station(device, _columns(found[device]), position, depth))
    return cat


def _gps_position(reader: Reader, selection: Selection, device: str) -> Position | None:
    """The median of the device's trusted fixes in the period, from the sensor with the most fixes (a GPS
    sensor before the payload's position, which an edge agent copies from one)."""
    where = (TagEq("site", selection.site), TagEq("device", device))

    def stat(func: str, f: str) -> dict[str, float]:
        q = aggregate("position", func, f, selection.span, where=where, group_by=("sensor",), exclude_qc=_BAD_FIX)
        return {s.tags["sensor"]: s.values[0][1] for s in reader.run(q) if s.values and s.values[0][1] is not None}

    fixes = stat("count", "lat_deg")
    if not fixes:
        return None
    sensor = max(fixes, key=lambda s: (s != PAYLOAD_SENSOR, fixes[s], s))
    lat = {k: stat(k, "lat_deg")[sensor] for k in ("median", "min", "max")}
    lon = {k: stat(k, "lon_deg")[sensor] for k in ("median", "min", "max")}
    what = "the payload's position" if sensor == PAYLOAD_SENSOR else f"GPS sensor {sensor}"
    return Position(
        lat["median"],
        lon["median"],
        lat["min"],
        lat["max"],
        lon["min"],
        lon["max"],
        f"median of {int(fixes[sensor])} fixes of {what} flagged good or not evaluated, "
        f"{iso(selection.start_ms)} to {iso(selection.end_ms)}",
    )


def _registry_position(entry) -> Position | None:
    if entry is None or entry.lat_deg is None or entry.lon_deg is None:
        return None
    lat, lon = entry.lat_deg, entry.lon_deg
    return Position(lat, lon, lat, lat, lon, lon, "nominal mooring position from the shore's device registry")
