"""Load-cell readings -> wet biomass levels, harvest/loss events, gaps and completeness (pure numpy).

Pipeline for one asset (all steps over the asset's readings sorted by time):

1. QC: readings flagged 4 (fail) or 9 (missing) are dropped, 3 (suspect) per config; non-finite values too.
2. Calibration (agreement 3): ``wet_t = (load_kg - tare_kg) x wet_per_submerged x lines_per_sensor / 1000``.
3. Spikes: a running median over ``median_window`` valid readings removes spikes shorter than half the
   window (a stuck or drifting sensor is the edge QC's job; its flags are honoured in step 1).
4. Steps: at each reading, the median of the ``step_window`` filtered levels after it is compared with the
   median of those before it. A drop larger than both ``min_step_fraction`` x level and ``noise_multiple`` x
   the robust reading noise (MAD of first differences) is a step; contiguous candidates form one event whose
   size is the level before the run minus the level after it (a *persistent* shift: a spike shorter than
   the window cannot produce one). Drops of at least ``harvest_min_fraction`` of the level are harvests,
   smaller ones losses (fall-off). Increases (seeding, growth across a gap) are not events.
5. Stocks at a time: the filtered level of the last valid reading at or before it, or, failing that, the
   first one after it, if at most ``max_stale_s`` away; otherwise the stock is missing (NaN) and reported
   as such - nothing is interpolated across gaps.

Limitation: a harvest spread over much more than ``step_window`` readings may be missed (each window sees a
drop smaller than the threshold); raise ``step_window`` for sites that harvest a line over days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from models.carbon.config import Calibration, DetectionConfig

#: QARTOD flags (IOOS QARTOD manuals, as blueranch.contracts.mqtt.QcFlag).
QC_SUSPECT, QC_FAIL, QC_MISSING = 3, 4, 9
MAD_TO_SD = 1.4826  # SD of a normal distribution = 1.4826 x MAD (consistency constant)


@dataclass(frozen=True)
class StepEvent:
    time_ms: int
    kind: Literal["harvest", "loss"]
    wet_t: float
    before_wet_t: float
    after_wet_t: float


@dataclass
class AssetSeries:
    """The cleaned biomass record of one asset. Times are ms since the epoch (UTC)."""

    asset: str
    times_ms: np.ndarray          # valid readings
    level_wet_t: np.ndarray       # median-filtered wet biomass at those readings
    all_times_ms: np.ndarray      # every reading received (any flag)
    qc: np.ndarray                # flag of every reading (2 where none was stored)
    used: np.ndarray              # bool per reading: used after QC
    raw_load_kg: np.ndarray       # value of every reading as received (for the report's digest)
    events: list[StepEvent]
    noise_wet_t: float            # robust SD of one reading
    detection: DetectionConfig
    level_sd_wet_t: float = field(init=False)

    def __post_init__(self) -> None:
        k = self.detection.median_window
        # SD of a median of k normal values ~ 1.2533 sigma / sqrt(k) (asymptotic efficiency of the median).
        self.level_sd_wet_t = float(1.2533 * self.noise_wet_t / np.sqrt(k))

    def stock_at(self, t_ms: np.ndarray | int) -> np.ndarray:
        """Wet t standing just before each time (NaN where no valid reading lies within ``max_stale_s``).

        "Just before": a reading at exactly ``t`` belongs to the period that starts at ``t``, like an event
        at ``t`` (:meth:`moved_between` is half-open), so consecutive periods telescope.
        """
        t = np.atleast_1d(np.asarray(t_ms, dtype=np.int64))
        out = np.full(t.shape, np.nan)
        n = self.times_ms.size
        if n == 0:
            return out
        stale_ms = self.detection.max_stale_s * 1000
        i = np.searchsorted(self.times_ms, t, side="left") - 1  # last reading strictly before t
        before_ok = (i >= 0) & (t - self.times_ms[np.clip(i, 0, n - 1)] <= stale_ms)
        out[before_ok] = self.level_wet_t[i[before_ok]]
        j = np.clip(i + 1, 0, n - 1)
        after_ok = ~before_ok & (i + 1 < n) & (self.times_ms[j] - t <= stale_ms)
        out[after_ok] = self.level_wet_t[j[after_ok]]
        return out

    def period_stocks(self, start_ms: int, end_ms: int) -> tuple[float, float]:
        """(stock at start, stock at end) of a period, by :meth:`stock_at`, except where the record begins
        or ends inside the period: then its first (last) level stands for the start (end), so the period's
        sink covers the monitored part of it (its completeness says how much). A gap inside the record
        still gives NaN at a boundary it spans."""
        start, end = self.stock_at(np.array([start_ms, end_ms]))
        if self.times_ms.size:
            if np.isnan(start) and start_ms < self.times_ms[0] < end_ms:
                start = self.level_wet_t[0]
            if np.isnan(end) and start_ms < self.times_ms[-1] < end_ms:
                end = self.level_wet_t[-1]
        return float(start), float(end)

    def moved_between(self, start_ms: int, end_ms: int) -> tuple[float, float]:
        """(harvested wet t, lost wet t) of the events in ``[start_ms, end_ms)``."""
        h = sum(e.wet_t for e in self.events if start_ms <= e.time_ms < end_ms and e.kind == "harvest")
        lo = sum(e.wet_t for e in self.events if start_ms <= e.time_ms < end_ms and e.kind == "loss")
        return float(h), float(lo)

    def completeness(self, start_ms: int, end_ms: int) -> float:
        """Share of the readings expected in ``[start_ms, end_ms)`` that were received and passed QC."""
        expected = (end_ms - start_ms) / 1000.0 / self.detection.expected_interval_s
        if expected <= 0:
            return 1.0
        a, b = np.searchsorted(self.times_ms, [start_ms, end_ms])
        return float(min(1.0, (b - a) / expected))

    def qc_counts(self, start_ms: int, end_ms: int) -> dict[int, int]:
        a, b = np.searchsorted(self.all_times_ms, [start_ms, end_ms])
        flags, counts = np.unique(self.qc[a:b], return_counts=True)
        return {int(f): int(c) for f, c in zip(flags, counts)}

    def gaps(self, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """Intervals longer than ``gap_intervals`` expected intervals without a valid reading."""
        limit_ms = self.detection.gap_intervals * self.detection.expected_interval_s * 1000
        t = self.times_ms[(self.times_ms >= start_ms) & (self.times_ms < end_ms)]
        edges = np.concatenate([[start_ms], t, [end_ms]])
        d = np.diff(edges)
        idx = np.nonzero(d > limit_ms)[0]
        return [(int(edges[k]), int(edges[k + 1])) for k in idx]


def to_wet_t(load_kg: np.ndarray, cal: Calibration) -> np.ndarray:
    """Asset wet biomass (t) from the load on the instrumented line (kg), agreement 3."""
    return (np.asarray(load_kg, dtype=float) - cal.tare_kg) * cal.wet_per_submerged * cal.lines_per_sensor / 1000.0


def running_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median; within half a window of either end the window shrinks to the readings
    that exist (no padding, which would give the end reading too much weight)."""
    n = x.size
    if window <= 1 or n == 0:
        return x.astype(float, copy=True)
    half = window // 2
    out = np.empty(n)
    if n > 2 * half:
        out[half:n - half] = np.median(sliding_window_view(x, window), axis=1)
    for i in list(range(min(half, n))) + list(range(max(n - half, 0), n)):
        out[i] = np.median(x[max(0, i - half):i + half + 1])
    return out


def robust_noise(x: np.ndarray) -> float:
    """SD of reading noise from first differences: 1.4826 x MAD(diff) / sqrt(2)."""
    if x.size < 3:
        return 0.0
    d = np.diff(x)
    return float(MAD_TO_SD * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def detect_steps(times_ms: np.ndarray, level: np.ndarray, noise: float, det: DetectionConfig) -> list[StepEvent]:
    """Persistent downward level shifts in a filtered series (see the module docstring, step 4)."""
    w = det.step_window
    n = level.size
    if n < 2 * w:
        return []
    med = np.median(sliding_window_view(level, w), axis=1)  # med[i] = median(level[i:i+w])
    idx = np.arange(w, n - w + 1)
    left, right = med[idx - w], med[idx]
    thr = np.maximum(det.min_step_fraction * np.abs(left), det.noise_multiple * noise)
    cand = (right - left) < -thr
    events: list[StepEvent] = []
    if not cand.any():
        return events
    c = cand.astype(np.int8)
    starts = np.nonzero(np.diff(np.concatenate([[0], c])) == 1)[0]
    ends = np.nonzero(np.diff(np.concatenate([c, [0]])) == -1)[0]
    for s, e in zip(starts, ends):
        r0, r1 = idx[s], idx[e]
        before = float(np.median(level[r0 - w:r0]))
        after = float(np.median(level[r1:r1 + w]))
        size = before - after
        if size <= 0:
            continue
        mid = (before + after) / 2.0
        seg = np.arange(max(0, r0 - w), min(n, r1 + w))
        below = seg[level[seg] <= mid]
        at = int(below[0]) if below.size else int(r1)
        kind: Literal["harvest", "loss"] = (
            "harvest" if before > 0 and size >= det.harvest_min_fraction * before else "loss")
        events.append(StepEvent(int(times_ms[at]), kind, size, before, after))
    return events


def build_series(asset: str, times_ms: np.ndarray, load_kg: np.ndarray, qc: np.ndarray, cal: Calibration,
                 det: DetectionConfig, exclude_suspect: bool = False) -> AssetSeries:
    """Clean one asset's load-cell readings (any order, duplicates: the last one wins)."""
    t = np.asarray(times_ms, dtype=np.int64)
    v = np.asarray(load_kg, dtype=float)
    f = np.asarray(qc, dtype=np.int64)
    if not (t.shape == v.shape == f.shape):
        raise ValueError(f"asset {asset}: times, load_kg and qc must have one shape, got {t.shape}, {v.shape}, "
                         f"{f.shape}")
    order = np.argsort(t, kind="stable")
    t, v, f = t[order], v[order], f[order]
    if t.size:
        last = np.concatenate([t[1:] != t[:-1], [True]])
        t, v, f = t[last], v[last], f[last]
    bad = {QC_FAIL, QC_MISSING} | ({QC_SUSPECT} if exclude_suspect else set())
    used = np.isfinite(v) & ~np.isin(f, list(bad))
    wet = to_wet_t(v[used], cal)
    level = running_median(wet, det.median_window)
    noise = robust_noise(wet)
    events = detect_steps(t[used], level, noise, det)
    return AssetSeries(asset, t[used], level, t, f, used, v, events, noise, det)
