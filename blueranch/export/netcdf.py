"""CF 1.8 discrete-sampling-geometry NetCDF (featureType ``timeSeries``), written as the frames stream in.

One layout for one station or many: the contiguous ragged array of CF 1.8 appendix H.2.4. Stations lie
along ``timeseries`` (variable ``station``: their ids, ``cf_role = timeseries_id``; latitude, longitude, and
depth where known),
readings along ``obs``, station after station; ``row_size`` says how many readings each station has. A
file per station (the default) has a ``timeseries`` dimension of 1, which is what the IOOS Metadata Profile
1.2 asks of a time series (one platform per data set); ``--multi-station`` puts every station in one
file (valid CF; not a valid IOOS data set, for the same reason). ERDDAP reads the layout with
``EDDTableFromNcCFFiles`` (:mod:`blueranch.export.erddap`).

Values are written as stored (float64, in the quantity's unit; ``_FillValue`` where a variable has no
reading at a time), each with its QARTOD flag variable (int8). ``time`` is float64 seconds since the epoch
(millisecond readings are exact in float64). A file is written under a temporary name and renamed when
complete, so a server watching the folder never reads half a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import netCDF4
import numpy as np

from blueranch.contracts.qc import QcFlag
from blueranch.export.catalog import Catalog, Station
from blueranch.export.config import ExportConfig
from blueranch.export.frames import FLAG_DTYPE, Frame
from blueranch.export.metadata import (
    COORDINATES,
    FILL_VALUE,
    REFERENCE_TEMPERATURE,
    coverage,
    file_name,
    global_attributes,
    platform_attributes,
    variable_attributes,
)

TIME_UNITS = "seconds since 1970-01-01T00:00:00Z"
#: Readings per HDF5 chunk along the record dimension (a chunk of float64 is 64 KiB).
CHUNK = 8192
_COMPRESSION = {"zlib": True, "complevel": 4, "shuffle": True}


class NetcdfFile:
    """One file being written: :meth:`add_station` per station (once for a single-station file), then
    :meth:`close`. ``stations`` are the stations it will hold, in order."""

    def __init__(self, path: Path, catalog: Catalog, stations: list[Station], config: ExportConfig, multi: bool):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.multi = multi
        self.stations = stations
        self.rows = 0
        self._station_index = 0
        self._first_ms: int | None = None
        self._last_ms: int | None = None
        self._spacing_ms: int | None = None
        self.ds = netCDF4.Dataset(self.partial, "w", format="NETCDF4")
        try:
            self._define(catalog, config)
        except BaseException:
            self.ds.close()
            self.partial.unlink(missing_ok=True)
            raise

    def _define(self, catalog: Catalog, config: ExportConfig) -> None:
        ds, multi, stations = self.ds, self.multi, self.stations
        ds.setncatts(global_attributes(config, catalog.selection, stations, multi))
        obs = "obs"
        ds.createDimension("timeseries", len(stations))
        ds.createDimension(obs, None)
        sdim = ("timeseries",)
        station = ds.createVariable("station", str, sdim)
        station.setncatts({"cf_role": "timeseries_id", "long_name": "station (BlueRanch device id)"})
        for i, s in enumerate(stations):
            station[i] = s.device
        self._coordinate("latitude", sdim, [s.position.lat_deg for s in stations], "latitude", "degrees_north", "Y")
        self._coordinate("longitude", sdim, [s.position.lon_deg for s in stations], "longitude", "degrees_east", "X")
        ds["latitude"].comment = "; ".join(f"{s.device}: {s.position.source}" for s in stations)
        ds["longitude"].comment = ds["latitude"].comment
        coords = list(COORDINATES)
        if all(s.depth_m is not None for s in stations):
            self._coordinate("depth", sdim, [s.depth_m for s in stations], "depth", "m", "Z")
            ds["depth"].setncatts(
                {"positive": "down", "comment": "nominal sensor depth from the shore's device registry"}
            )
            coords.append("depth")
        coords.append("station")
        rs = ds.createVariable("row_size", "i4", sdim)
        rs.setncatts({"long_name": "number of readings of the station", "sample_dimension": obs})
        t = ds.createVariable("time", "f8", (obs,), chunksizes=(CHUNK,), **_COMPRESSION)
        t.setncatts(
            {
                "standard_name": "time",
                "long_name": "time of the reading (the sensor's clock)",
                "units": TIME_UNITS,
                "calendar": "standard",
                "axis": "T",
            }
        )
        platform = ds.createVariable("platform", "i4", ())
        platform.setncatts(platform_attributes(config, "stations" if multi else stations[0].device))
        columns = {c.name: c for s in stations for c in s.columns}
        coordinates = " ".join(coords)
        for name, col in columns.items():
            data, flag = variable_attributes(col, config, coordinates, multi)
            v = ds.createVariable(
                name, "f8", (obs,), fill_value=data.pop("_FillValue"), chunksizes=(CHUNK,), **_COMPRESSION
            )
            v.setncatts(data)
            f = ds.createVariable(name + "_qc", FLAG_DTYPE, (obs,), chunksizes=(CHUNK,), **_COMPRESSION)
            f.setncatts(flag)
        if any(c.quantity.name == REFERENCE_TEMPERATURE[0] for c in columns.values()):
            ref = ds.createVariable(REFERENCE_TEMPERATURE[1], "f8", ())
            ref.setncatts(
                {
                    "standard_name": "temperature_of_analysis_of_sea_water",
                    "long_name": "reference temperature of the specific conductance",
                    "units": "degree_Celsius",
                }
            )
            ref.assignValue(REFERENCE_TEMPERATURE[2])
        self._names = list(columns)
        for name in ["time", *self._names, *(n + "_qc" for n in self._names)]:
            # Written once, in order: a cache of one chunk is enough. The default (MiBs per variable) fills
            # with every chunk of a long file and made a year's export grow with the period.
            ds[name].set_var_chunk_cache(size=CHUNK * 8 * 2, nelems=31, preemption=1.0)

    def _coordinate(self, name: str, dims, values, standard_name: str, units: str, axis: str) -> None:
        v = self.ds.createVariable(name, "f8", dims)
        v.setncatts({"standard_name": standard_name, "long_name": standard_name, "units": units, "axis": axis})
        v[:] = np.array(values, dtype=np.float64)

    def add_station(self, station: Station, frames: Iterable[Frame]) -> int:
        """Append the station's frames; returns its number of rows. Frames are buffered up to a chunk
        (:data:`CHUNK` rows) so that each compressed HDF5 chunk is written once, not once per frame."""
        if self.stations[self._station_index] is not station:
            raise ValueError(f"stations must be added in order: expected {self.stations[self._station_index].device}")
        rows = 0
        pending: list[Frame] = []
        for frame in frames:
            n = len(frame)
            if not n:
                continue
            pending.append(frame)
            rows += n
            first, last = int(frame.time_ms[0]), int(frame.time_ms[-1])
            self._first_ms = first if self._first_ms is None else min(self._first_ms, first)
            self._last_ms = last if self._last_ms is None else max(self._last_ms, last)
            if self._spacing_ms is None and n > 1:  # the typical spacing: the median of the first frame's
                self._spacing_ms = int(np.median(np.diff(frame.time_ms)))
            if sum(len(f) for f in pending) >= CHUNK:
                self._write(pending)
                pending = []
        self._write(pending)
        self.ds["row_size"][self._station_index] = rows
        self._station_index += 1
        return rows

    def _write(self, frames: list[Frame]) -> None:
        if not frames:
            return
        n = sum(len(f) for f in frames)
        a, b = self.rows, self.rows + n
        self.ds["time"][a:b] = np.concatenate([f.time_ms for f in frames]) / 1000.0
        for name in self._names:
            if name not in frames[0].values:  # another station's variable (multi-station file)
                self.ds[name][a:b] = np.full(n, FILL_VALUE)
                self.ds[name + "_qc"][a:b] = np.full(n, QcFlag.MISSING, dtype=FLAG_DTYPE)
                continue
            values = np.concatenate([f.values[name] for f in frames])
            self.ds[name][a:b] = np.where(np.isnan(values), FILL_VALUE, values)
            self.ds[name + "_qc"][a:b] = np.concatenate([f.flags[name] for f in frames])
        self.rows = b

    def close(self) -> Path:
        """Finish the file (time coverage) and give it its name."""
        if self._first_ms is not None and self._last_ms is not None:
            self.ds.setncatts(coverage(self._first_ms, self._last_ms, self._spacing_ms))
        self.ds.close()
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        if self.ds.isopen():
            self.ds.close()
        self.partial.unlink(missing_ok=True)


def write_netcdf(
    catalog: Catalog,
    config: ExportConfig,
    out_dir: Path,
    station_frames: Callable[[Station], Iterable[Frame]],
    multi: bool = False,
) -> list[tuple[Path, int]]:
    """Write the catalog's stations to ``out_dir`` (one file each, or one multi-station file); returns the
    files written with their rows. ``station_frames(station)`` streams a station's frames."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sel = catalog.selection
    groups = [catalog.stations] if multi else [[s] for s in catalog.stations]
    written: list[tuple[Path, int]] = []
    for stations in groups:
        path = out_dir / file_name(sel, None if multi else stations[0].device, ".nc")
        nc = NetcdfFile(path, catalog, stations, config, multi)
        try:
            for s in stations:
                nc.add_station(s, station_frames(s))
            written.append((nc.close(), nc.rows))
        except BaseException:
            nc.abort()
            raise
    return written
