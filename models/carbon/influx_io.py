"""Reading raw telemetry from InfluxDB (``"raw"`` RP) and writing the derived carbon measurements.

:class:`DayCache` keeps one series per tag combination, split by UTC day. Each refresh first asks InfluxDB
for the number of readings per day and series (a cheap ``count ... GROUP BY time(1d)``) and re-reads only
the days whose count changed: a late or backfilled reading changes its day's count, so it is picked up
wherever in the past it lands, and a restarted worker simply starts with an empty cache (it rebuilds
everything from InfluxDB). A reading *replaced* at an existing timestamp keeps the count: a periodic full
refresh (``full_refresh_s``) catches that case.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from blueranch.contracts.influx import MEASUREMENTS, QC_SUFFIX, Point
from blueranch.contracts.lineprotocol import line
from blueranch.contracts.query import Between, TagEq, aggregate, window
from blueranch.influxdb import InfluxClient
from blueranch.reader import Reader

log = logging.getLogger("blueranch.carbon.influx")
DAY_MS = 86_400_000
#: Days per read query: bounds the size of one response.
QUERY_DAYS = 7


@dataclass
class SeriesData:
    times_ms: np.ndarray
    values: np.ndarray
    qc: np.ndarray


@dataclass
class DayCache:
    """Readings of one field of one measurement for one site, grouped by ``group_by`` tags."""

    client: InfluxClient
    measurement: str
    field_name: str
    site: str
    group_by: tuple[str, ...]
    full_refresh_s: float = 6 * 3600
    _counts: dict[tuple[tuple[str, ...], int], int] = field(default_factory=dict)
    _days: dict[tuple[tuple[str, ...], int], SeriesData] = field(default_factory=dict)
    _last_full: float = 0.0
    rows_read: int = 0

    def __post_init__(self) -> None:
        MEASUREMENTS[self.measurement].field(self.field_name)  # raises on a name the contract does not have
        self._site = (TagEq("site", self.site),)  # refuses a site that is not a plain id
        self._reader = Reader(self.client)

    def _key(self, tags: dict[str, str]) -> tuple[str, ...]:
        return tuple(tags.get(t, "") for t in self.group_by)

    def refresh(self, start_ms: int, end_ms: int) -> int:
        """Re-read changed days in ``[start_ms, end_ms)``; return how many (series, day) were re-read."""
        full = time.monotonic() - self._last_full > self.full_refresh_s
        q = aggregate(
            self.measurement,
            "count",
            self.field_name,
            Between(start_ms, end_ms, end_inclusive=False),
            every="1d",
            where=self._site,
            group_by=self.group_by,
        )
        counts: dict[tuple[tuple[str, ...], int], int] = {}
        for s in self._reader.run(q):
            key = self._key(s.tags)
            for row in s.rows():
                counts[(key, int(row["time"]))] = int(row[self.field_name])
        stale_days = sorted(
            {d for k, d in counts if full or self._counts.get((k, d)) != counts[(k, d)]}
            | {d for k, d in self._counts if (k, d) not in counts}
        )
        for k in [k for k in self._days if k not in counts]:
            del self._days[k]
        self._counts = counts
        if full:
            self._last_full = time.monotonic()
        reread = 0
        for chunk in _runs(stale_days):
            reread += self._read(chunk[0], chunk[-1] + DAY_MS)
        return reread

    def _read(self, start_ms: int, end_ms: int) -> int:
        fresh: dict[tuple[tuple[str, ...], int], list[tuple[int, float, int]]] = {}
        for t0 in range(start_ms, end_ms, QUERY_DAYS * DAY_MS):
            t1 = min(end_ms, t0 + QUERY_DAYS * DAY_MS)
            q = window(
                self.measurement,
                (self.field_name, self.field_name + QC_SUFFIX),
                Between(t0, t1, end_inclusive=False),
                where=self._site,
                group_by=self.group_by,
            )
            for s in self._reader.run(q):
                key = self._key(s.tags)
                for t, v, qc in s.values:
                    if v is None:
                        continue
                    day = int(t) // DAY_MS * DAY_MS
                    fresh.setdefault((key, day), []).append((int(t), float(v), 2 if qc is None else int(qc)))
                    self.rows_read += 1
        for day in range(start_ms, end_ms, DAY_MS):
            for k in [k for k in self._days if k[1] == day]:
                del self._days[k]
        for k, rows in fresh.items():
            a = np.array(rows, dtype=float)
            self._days[k] = SeriesData(a[:, 0].astype(np.int64), a[:, 1], a[:, 2].astype(np.int64))
        return len(fresh)

    def series(self) -> dict[tuple[str, ...], SeriesData]:
        """All cached readings per series key, in time order."""
        by_key: dict[tuple[str, ...], list[SeriesData]] = {}
        for (key, _day), d in sorted(self._days.items(), key=lambda kv: kv[0][1]):
            by_key.setdefault(key, []).append(d)
        return {
            k: SeriesData(
                np.concatenate([d.times_ms for d in ds]),
                np.concatenate([d.values for d in ds]),
                np.concatenate([d.qc for d in ds]),
            )
            for k, ds in by_key.items()
        }

    def latest_ms(self) -> int | None:
        return max((int(d.times_ms.max()) for d in self._days.values() if d.times_ms.size), default=None)


def _runs(days: list[int]) -> list[list[int]]:
    """Split sorted day starts into runs of consecutive days."""
    runs: list[list[int]] = []
    for d in days:
        if runs and d - runs[-1][-1] == DAY_MS:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


class PointWriter:
    """Writes derived points, skipping any whose line equals the one written before (per series and time).

    The first write after a start rewrites everything: same measurement, tags and timestamp, so InfluxDB
    replaces the points in place (idempotent).
    """

    def __init__(self, client: InfluxClient, batch: int = 5000):
        self.client = client
        self.batch = batch
        self._written: dict[str, bytes] = {}
        self.points_written = 0

    def write(self, points: list[Point]) -> int:
        todo: list[tuple[str, bytes, Point]] = []
        for p in points:
            if not p.fields:  # every figure missing: nothing to write (never a made-up value)
                continue
            body = line(p).encode()
            ident = body.split(b" ")[0].decode() + f"@{p.time_ms}"  # series key (ids have no spaces) and time
            if self._written.get(ident) != body:
                todo.append((ident, body, p))
        by_rp: dict[str, list[tuple[str, bytes, Point]]] = {}
        for item in todo:
            by_rp.setdefault(MEASUREMENTS[item[2].measurement].retention_policy, []).append(item)
        for rp, items in by_rp.items():
            for i in range(0, len(items), self.batch):
                chunk = items[i : i + self.batch]
                self.client.write(b"\n".join(b for _, b, _ in chunk), retention_policy=rp)
                for ident, body, _ in chunk:
                    self._written[ident] = body
        self.points_written += len(todo)
        return len(todo)
