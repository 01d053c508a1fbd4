"""CSV for a spreadsheet: one row per time and device, a column per variable and its flag, units in the header.

The columns are ``time (<zone>)``, ``site``, ``device``, then for every variable of every exported station
(in the contract's quantity order) ``<name> (<unit>)`` and ``<name>_qc``; a device without the variable,
or without a reading of it at that time, leaves both cells empty. Times are ISO 8601 with milliseconds and
the zone's offset (``2026-11-01T08:00:00.000+08:00``; ``Z`` for UTC), so every row names its instant.
Values are written with Python's shortest round-trip representation: reading the file back gives the
stored float64 exactly. Rows come device by device, each in time order; memory is bounded by one frame.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable
from datetime import UTC, tzinfo
from pathlib import Path

from blueranch.export.catalog import Catalog, Station
from blueranch.export.frames import Frame
from blueranch.export.metadata import file_name
from blueranch.export.times import iso


def header(catalog: Catalog, zone_name: str) -> list[str]:
    units = {c.name: c.quantity.unit for s in catalog.stations for c in s.columns}
    out = [f"time ({zone_name})", "site", "device"]
    for name in catalog.column_names:
        out += [f"{name} ({units[name]})", f"{name}_qc"]
    return out


def write_csv(
    catalog: Catalog,
    out_dir: Path,
    station_frames: Callable[[Station], Iterable[Frame]],
    zone: tzinfo = UTC,
    zone_name: str = "UTC",
) -> tuple[Path, int]:
    """Write every station of the catalog to one CSV file in ``out_dir``; returns the file and its rows."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / file_name(catalog.selection, None, ".csv")
    partial = path.with_name(path.name + ".partial")
    names = catalog.column_names
    site = catalog.selection.site
    rows = 0
    try:
        with open(partial, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header(catalog, zone_name))
            for station in catalog.stations:
                own = [n for n in names if n in {c.name for c in station.columns}]
                for frame in station_frames(station):
                    cols = {n: (frame.values[n].tolist(), frame.flags[n].tolist()) for n in own}
                    for i, t in enumerate(frame.time_ms.tolist()):
                        row = [iso(t, zone), site, station.device]
                        for n in names:
                            pair = cols.get(n)
                            v = pair[0][i] if pair is not None else None
                            if v is None or v != v:  # no such variable, or no reading at this time (NaN)
                                row += ["", ""]
                            else:
                                row += [repr(v), pair[1][i]]
                        w.writerow(row)
                    rows += len(frame)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path, rows
