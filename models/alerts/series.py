"""Time series the rules read: fetched once from InfluxDB, then sliced in memory at each evaluation time.

The worker fetches the look-back window at each tick; a replay (``alerts replay``) fetches a whole
period once and steps the evaluation time through it, so rules never query the database themselves
and stay pure functions of arrays. Readings flagged QARTOD fail (4) or missing (9) are left out; the
flags of the others are kept (``<field>_qc``) so that the worker can tell a sensor that has been suspect
for hours (held back) from a suspect reading in a real event (marked).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from blueranch.contracts.influx import MEASUREMENTS, QC_SUFFIX
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import quantity
from blueranch.contracts.query import Between, FieldCmp, Query, aggregate, qc_fields, window
from blueranch.reader import Reader

#: Telemetry fields the rules read (each is a contract quantity).
RULE_FIELDS = ("do_mg_l", "temp_c", "wind_speed_m_s", "wave_height_m", "load_kg", "buffer_dropped_total")
POSITION_FIELDS = ("lat_deg", "lon_deg")
TELEMETRY_MEASUREMENTS = tuple(m.name for m in MEASUREMENTS.values() if "sensor" in m.tags)
BAD_QC = (QcFlag.FAIL, QcFlag.MISSING)


@dataclass
class Track:
    """One series: a (site, device, sensor, asset) and its readings, time-ordered, in ms since the epoch."""

    site: str
    device: str
    sensor: str = ""
    asset: str = ""
    t_ms: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def v(self, name: str) -> np.ndarray:
        return self.values[name]

    def window(self, start_ms: int, end_ms: int) -> Track:
        """Readings with ``start_ms <= t <= end_ms`` (views, no copy)."""
        i = int(np.searchsorted(self.t_ms, start_ms, side="left"))
        j = int(np.searchsorted(self.t_ms, end_ms, side="right"))
        return Track(
            self.site, self.device, self.sensor, self.asset, self.t_ms[i:j], {k: a[i:j] for k, a in self.values.items()}
        )

    def __len__(self) -> int:
        return len(self.t_ms)


@dataclass
class Frames:
    """Everything the rules need for one period: series by field, and every reading time by device."""

    start_ms: int
    end_ms: int
    tracks: dict[str, list[Track]] = field(default_factory=dict)
    #: (site, device, sensor) -> sorted times of any telemetry (sensor "" : status of the edge agent).
    seen: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)

    def window(self, start_ms: int, end_ms: int) -> Frames:
        tracks = {k: [t.window(start_ms, end_ms) for t in ts] for k, ts in self.tracks.items()}
        seen = {k: a[: np.searchsorted(a, end_ms, side="right")] for k, a in self.seen.items()}
        return Frames(start_ms, end_ms, tracks, seen)

    def get(self, name: str) -> list[Track]:
        return [t for t in self.tracks.get(name, []) if len(t)]

    def suspect_since(self, name: str) -> dict[tuple[str, str, str], int]:
        """(site, device, sensor) whose newest reading of ``name`` is flagged suspect (3) -> the time of the
        first reading of the unbroken run of suspect readings that ends with it (ms)."""
        flag = name + QC_SUFFIX
        out = {}
        for t in self.get(name):
            f = t.values.get(flag)
            if f is None or f[-1] != QcFlag.SUSPECT:
                continue
            good = np.nonzero(f != QcFlag.SUSPECT)[0]
            out[(t.site, t.device, t.sensor)] = int(t.t_ms[good[-1] + 1 if len(good) else 0])
        return out


_BY_SERIES = ("site", "device", "sensor", "asset")


def _tracks(reader: Reader, q: Query, names: tuple[str, ...]) -> list[Track]:
    out = []
    for s in reader.run(q):
        rows = s.values
        t = np.array([r[0] for r in rows], dtype=np.int64)
        cols = {c: i for i, c in enumerate(s.columns)}
        vals = {
            n: np.array([np.nan if r[cols[n]] is None else r[cols[n]] for r in rows], dtype=np.float64) for n in names
        }
        order = np.argsort(t, kind="stable")
        out.append(
            Track(
                s.tags.get("site", ""),
                s.tags.get("device", ""),
                s.tags.get("sensor", ""),
                s.tags.get("asset", ""),
                t[order],
                {k: a[order] for k, a in vals.items()},
            )
        )
    return out


def fetch_fields(reader: Reader, names: tuple[str, ...], start_ms: int, end_ms: int) -> list[Track]:
    """Readings of quantities that share one measurement, good or suspect QC only, one track per series,
    with their flags (``<name>_qc``)."""
    flags = tuple(n + QC_SUFFIX for n in names)
    q = window(
        quantity(names[0]).measurement,
        names + flags,
        Between(start_ms, end_ms),
        where=tuple(FieldCmp(f, "!=", int(b)) for f in flags for b in BAD_QC),
        group_by=_BY_SERIES,
    )
    return _tracks(reader, q, names + flags)


def fetch_seen(reader: Reader, start_ms: int, end_ms: int) -> dict[tuple[str, str, str], np.ndarray]:
    """Every time a sensor reported anything (any telemetry measurement), and every status message of an
    edge agent (sensor ""). A sensor can fall silent while its buoy's agent goes on publishing."""
    acc: dict[tuple[str, str, str], list[np.ndarray]] = {}
    span = Between(start_ms, end_ms)
    queries = [window(m, qc_fields(m), span, group_by=("site", "device", "sensor")) for m in TELEMETRY_MEASUREMENTS]
    # Only "online" statuses count as signs of life: the Last Will's "offline" is the broker speaking.
    queries.append(
        window("device_status", ("online",), span, where=(FieldCmp("online", "=", 1),), group_by=("site", "device"))
    )
    for q in queries:
        for s in reader.run(q):
            key = (s.tags.get("site", ""), s.tags.get("device", ""), s.tags.get("sensor", ""))
            acc.setdefault(key, []).append(np.array([r[0] for r in s.values], dtype=np.int64))
    return {k: np.unique(np.concatenate(v)) for k, v in acc.items()}


def fetch_status_drops(reader: Reader, start_ms: int, end_ms: int) -> list[Track]:
    """``buffer_dropped_total`` from retained status messages (``device_status``)."""
    q = window("device_status", ("buffer_dropped_total",), Between(start_ms, end_ms), group_by=("site", "device"))
    tracks = _tracks(reader, q, ("buffer_dropped_total",))
    for t in tracks:
        t.sensor = "status"
    return tracks


def fetch_frames(reader: Reader, start_ms: int, end_ms: int, lookback_h: dict[str, float] | None = None) -> Frames:
    """All series the rules read between ``start_ms`` and ``end_ms``; ``lookback_h`` narrows the window
    per series (keys: the rule fields, ``position``, ``seen``) to what the rules need."""
    lookback_h = lookback_h or {}

    def start(key: str) -> int:
        return max(start_ms, end_ms - int(lookback_h[key] * 3_600_000)) if key in lookback_h else start_ms

    frames = Frames(start_ms, end_ms)
    for name in RULE_FIELDS:
        frames.tracks[name] = fetch_fields(reader, (name,), start(name), end_ms)
    frames.tracks["buffer_dropped_total"] += fetch_status_drops(reader, start("buffer_dropped_total"), end_ms)
    frames.tracks["position"] = fetch_fields(reader, POSITION_FIELDS, start("position"), end_ms)
    frames.seen = fetch_seen(reader, start("seen"), end_ms)
    return frames


def fetch_daily_means(reader: Reader, name: str, start_ms: int, end_ms: int) -> list[Track]:
    """Daily means of a quantity per (site, device) — the history a climatology is computed from (good
    readings only: a drifting sensor's suspect readings would bias its own climatology)."""
    q = aggregate(
        quantity(name).measurement,
        "mean",
        name,
        Between(start_ms, end_ms),
        every="1d",
        group_by=("site", "device"),
        exclude_qc=(QcFlag.FAIL, QcFlag.SUSPECT, QcFlag.MISSING),
    )
    return _tracks(reader, q, (name,))
