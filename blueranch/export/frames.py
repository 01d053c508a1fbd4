"""A station's readings as a stream of bounded frames: one page of the period at a time.

Each page (:func:`blueranch.contracts.query.pages`, a day by default) is read with one
:func:`~blueranch.contracts.query.window` per measurement of the station, and merged into a
:class:`Frame`: the page's distinct reading times (every sensor of the device), a value array per
variable (NaN where the variable has no reading at that time) and a flag array (the reading's QARTOD
flag; :attr:`QcFlag.MISSING` where there is no reading, :attr:`QcFlag.NOT_EVALUATED` for a reading
stored without a flag). Memory is bounded by the page, not the period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from blueranch.contracts.influx import QC_SUFFIX
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.query import Between, TagEq, pages, window

if TYPE_CHECKING:
    from blueranch.export.catalog import Selection, Station
    from blueranch.reader import Reader

DAY_MS = 86_400_000
FLAG_DTYPE = np.int8


@dataclass
class Frame:
    time_ms: np.ndarray  # int64, ascending, distinct
    values: dict[str, np.ndarray]  # variable name -> float64
    flags: dict[str, np.ndarray]  # variable name -> int8

    def __len__(self) -> int:
        return len(self.time_ms)


def frames(
    reader: Reader, selection: Selection, station: Station, page_ms: int = DAY_MS
) -> Iterator[tuple[Between, Frame]]:
    """Every page of the period with the station's frame for it (possibly empty), in time order."""
    where = (TagEq("site", selection.site), TagEq("device", station.device))
    groups = station.by_measurement()
    for span in pages(selection.start_ms, selection.end_ms, page_ms):
        parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        for m, cols in groups.items():
            quantities = tuple(dict.fromkeys(c.quantity.name for c in cols))
            fields = tuple(f for q in quantities for f in (q, q + QC_SUFFIX))
            by_sensor = {(c.sensor, c.quantity.name): c.name for c in cols}
            for s in reader.run(window(m, fields, span, where=where, group_by=("sensor",))):
                if not s.values:
                    continue
                table = np.array(s.values, dtype=np.float64)  # None -> NaN
                t = table[:, 0].astype(np.int64)
                for i, q in enumerate(quantities):
                    name = by_sensor.get((s.tags.get("sensor", ""), q))
                    if name is not None:
                        parts.append((name, t, table[:, 1 + 2 * i], table[:, 2 + 2 * i]))
        yield span, _merge(parts, [c.name for c in station.columns])


def _merge(parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], names: list[str]) -> Frame:
    times = np.unique(np.concatenate([p[1] for p in parts])) if parts else np.empty(0, np.int64)
    values = {n: np.full(len(times), np.nan) for n in names}
    flags = {n: np.full(len(times), QcFlag.MISSING, dtype=FLAG_DTYPE) for n in names}
    for name, t, v, qc in parts:
        present = ~np.isnan(v)
        idx = np.searchsorted(times, t[present])
        values[name][idx] = v[present]
        qc = qc[present]
        flags[name][idx] = np.where(np.isnan(qc), QcFlag.NOT_EVALUATED, qc).astype(FLAG_DTYPE)
    return Frame(times, values, flags)
