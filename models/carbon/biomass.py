"""Load-cell readings -> wet biomass levels, harvests, losses, gaps and completeness (numpy).

Pipeline for one asset:

1. QC: readings flagged 4 (fail) or 9 (missing) are dropped, 3 (suspect) per config; non-finite values too.
2. Calibration (docs/carbon.md, 'Calibration'):
   ``wet_t = (load_kg - tare_kg) x wet_per_submerged x lines_per_sensor / 1000``.
3. Spikes: a running median over ``median_window`` valid readings removes spikes shorter than half of it.
4. Bins: the filtered values are averaged per ``bin_s`` (an hour by default); a bin without readings has
   no level (a gap is never filled).
5. Declines: a zigzag tracker over the binned levels finds every sustained decline - a sharp drop or a
   harvest spread over weeks - from a peak to a trough; it starts once the level is ``min_step_fraction``
   of the peak and ``noise_multiple`` SDs of one reading's noise below it, and ends once the level rises as many
   SDs above the trough. Noise and spikes make no declines. Each bin-to-bin decrease inside a decline is a harvest
   when the bin lies in one of the asset's harvest windows (the farm's calendar), else a loss; without
   windows a whole decline of at least ``harvest_min_fraction`` of its peak is a harvest.
6. Hidden growth: while a line is harvested gradually it keeps growing, which the load cell cannot see
   apart from the removal. The net specific growth rate over ``growth_lookback_days`` before the decline
   (bounded to [-2, +5] % per day) times the level is added to each harvested bin: the growth that the
   harvest removed with the rest.
7. Stocks at a time: the level of the last bin starting before it, or, failing that, the first bin after
   it, if within ``max_stale_s``; otherwise missing (NaN), reported as such.

Flows are kept as cumulative sums at bin starts, so the harvest or loss between two times is a difference
of two look-ups, and consecutive periods telescope exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from blueranch.contracts.qc import QcFlag
from blueranch.models.carbon.config import Calibration, DetectionConfig, HarvestWindow
from blueranch.models.carbon.periods import utc

MAD_TO_SD = 1.4826  # SD of a normal distribution = 1.4826 x MAD (consistency constant)
DAY_MS = 86_400_000
GROWTH_BOUNDS_PER_DAY = (-0.02, 0.05)  # plausible net specific growth of farmed stocks (assumption)
EDGE_BINS = 5  # bins at each end of a decline whose median level measures it


@dataclass(frozen=True)
class Decline:
    """One detected (or recorded) removal: summary for reports; the flows live in :class:`AssetSeries`."""

    start_ms: int
    end_ms: int
    kind: Literal["harvest", "loss", "mixed"]
    wet_t: float
    before_wet_t: float
    after_wet_t: float


@dataclass
class AssetSeries:
    """The cleaned biomass record of one asset. Times are ms since the epoch (UTC)."""

    asset: str
    times_ms: np.ndarray  # bin starts (or truth record times) with a level
    level_wet_t: np.ndarray  # wet biomass level at those times
    reading_times_ms: np.ndarray  # valid readings (after QC)
    all_times_ms: np.ndarray  # every reading received (any flag)
    qc: np.ndarray  # flag of every reading
    raw_load_kg: np.ndarray  # value of every reading as received (for the report's digest)
    flow_times_ms: np.ndarray  # times at which the cumulative flows below change
    harvest_cum_wet_t: np.ndarray  # harvested at or before each flow time, cumulative
    loss_cum_wet_t: np.ndarray
    declines: list[Decline]
    noise_wet_t: float  # robust SD of one reading
    detection: DetectionConfig
    level_sd_wet_t: float = field(init=False)
    _prefix: tuple | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        # SD of a median of k normal values ~ 1.2533 sigma / sqrt(k) (asymptotic efficiency of the median).
        self.level_sd_wet_t = float(1.2533 * self.noise_wet_t / np.sqrt(self.detection.median_window))

    def stock_at(self, t_ms: np.ndarray | int) -> np.ndarray:
        """Wet t standing just before each time (NaN where no level lies within ``max_stale_s``).

        "Just before": a level at exactly ``t`` belongs to the period that starts at ``t``, like a flow at
        ``t`` (:meth:`moved_between` is half-open), so consecutive periods telescope.
        """
        t = np.atleast_1d(np.asarray(t_ms, dtype=np.int64))
        out = np.full(t.shape, np.nan)
        n = self.times_ms.size
        if n == 0:
            return out
        stale_ms = self.detection.max_stale_s * 1000
        i = np.searchsorted(self.times_ms, t, side="left") - 1
        before_ok = (i >= 0) & (t - self.times_ms[np.clip(i, 0, n - 1)] <= stale_ms)
        out[before_ok] = self.level_wet_t[i[before_ok]]
        j = np.clip(i + 1, 0, n - 1)
        after_ok = ~before_ok & (i + 1 < n) & (self.times_ms[j] - t <= stale_ms)
        out[after_ok] = self.level_wet_t[j[after_ok]]
        return out

    def boundary_stock(self, t_ms: np.ndarray | int) -> np.ndarray:
        """Stock just before each time from a local straight-line fit (see ``boundary_fit_hours``).

        The fit is to the gross biomass G = level + harvested + lost so far, which is smooth across
        harvests and losses (it only grows and shrinks with growth and mortality); the stock is G at the
        boundary minus what was removed before it. Where too few bins lie in the window (a gap), the
        nearest level is used (:meth:`stock_at`).
        """
        t = np.atleast_1d(np.asarray(t_ms, dtype=np.int64))
        det = self.detection
        fallback = self.stock_at(t)
        if det.boundary_fit_hours <= 0 or self.times_ms.size < det.boundary_fit_min_bins:
            return fallback
        if self._prefix is None:
            h, lo = self.moved_cum(self.times_ms + 1)  # removed up to and including each bin
            x = (self.times_ms - self.times_ms[0]) / 3_600_000.0
            g = self.level_wet_t + h + lo
            self._prefix = tuple(np.concatenate([[0.0], np.cumsum(v)]) for v in (np.ones_like(x), x, g, x * x, x * g))
        n_, sx, sy, sxx, sxy = self._prefix
        w_ms = det.boundary_fit_hours * 3_600_000
        a = np.searchsorted(self.times_ms, t - w_ms, side="left")
        b = np.searchsorted(self.times_ms, t + w_ms, side="left")
        n = n_[b] - n_[a]
        xt = (t - self.times_ms[0]) / 3_600_000.0
        mx = (sx[b] - sx[a]) / np.maximum(n, 1)
        my = (sy[b] - sy[a]) / np.maximum(n, 1)
        var = (sxx[b] - sxx[a]) / np.maximum(n, 1) - mx * mx
        cov = (sxy[b] - sxy[a]) / np.maximum(n, 1) - mx * my
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(var > 1e-9, cov / var, 0.0)
        g_t = my + slope * (xt - mx)
        h, lo = self.moved_cum(t)
        ok = n >= det.boundary_fit_min_bins
        # Around an emptied line the fit's noise can dip below zero: a stock is never negative.
        return np.where(ok, np.maximum(g_t - h - lo, 0.0), fallback)

    def period_stocks(self, start_ms: int, end_ms: int) -> tuple[float, float]:
        """(stock at start, stock at end) of one period; see :meth:`period_figures`."""
        f = self.period_figures(np.array([start_ms]), np.array([end_ms]))
        return float(f["start_wet_t"][0]), float(f["end_wet_t"][0])

    def period_figures(self, starts_ms: np.ndarray, ends_ms: np.ndarray) -> dict[str, np.ndarray]:
        """Stocks at both ends, harvested, lost, declines and completeness of many periods at once.

        Boundary stocks come from :meth:`boundary_stock`, except where the record begins or ends inside a
        period: then its first (last) level stands for the start (end), so the sink covers the monitored
        part of the period (its completeness says how much). A gap inside the record still gives NaN at
        a boundary it spans.
        """
        s = np.asarray(starts_ms, dtype=np.int64)
        e = np.asarray(ends_ms, dtype=np.int64)
        n = s.size
        both = np.concatenate([s, e])
        stocks = self.boundary_stock(both)
        start, end = stocks[:n].copy(), stocks[n:].copy()
        if self.times_ms.size:
            first, last = self.times_ms[0], self.times_ms[-1]
            m = np.isnan(start) & (s < first) & (first < e)
            start[m] = self.level_wet_t[0]
            m = np.isnan(end) & (s < last) & (last < e)
            end[m] = self.level_wet_t[-1]
        h, lo = self.moved_cum(both)
        d0 = np.array([d.start_ms for d in self.declines], dtype=np.int64)
        d1 = np.array([d.end_ms for d in self.declines], dtype=np.int64)
        n_dec = ((d0[None, :] < e[:, None]) & (d1[None, :] >= s[:, None])).sum(axis=1) if d0.size else np.zeros(n)
        present = np.searchsorted(self.reading_times_ms, e) - np.searchsorted(self.reading_times_ms, s)
        expected = (e - s) / 1000.0 / self.detection.expected_interval_s
        with np.errstate(divide="ignore", invalid="ignore"):
            completeness = np.where(expected > 0, np.minimum(1.0, present / expected), 1.0)
        return {
            "start_wet_t": start,
            "end_wet_t": end,
            "harvested_wet_t": h[n:] - h[:n],
            "lost_wet_t": lo[n:] - lo[:n],
            "declines": n_dec,
            "completeness": completeness,
        }

    def _cum_before(self, cum: np.ndarray, t_ms: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.flow_times_ms, t_ms, side="left") - 1
        return np.where(i >= 0, cum[np.clip(i, 0, None)] if cum.size else 0.0, 0.0)

    def moved_cum(self, t_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative (harvested, lost) wet t strictly before each time."""
        t = np.atleast_1d(np.asarray(t_ms, dtype=np.int64))
        if self.flow_times_ms.size == 0:
            return np.zeros(t.shape), np.zeros(t.shape)
        return self._cum_before(self.harvest_cum_wet_t, t), self._cum_before(self.loss_cum_wet_t, t)

    def moved_between(self, start_ms: int, end_ms: int) -> tuple[float, float]:
        """(harvested wet t, lost wet t) in ``[start_ms, end_ms)``."""
        h, lo = self.moved_cum(np.array([start_ms, end_ms]))
        return float(h[1] - h[0]), float(lo[1] - lo[0])

    def declines_between(self, start_ms: int, end_ms: int) -> int:
        return sum(1 for d in self.declines if d.start_ms < end_ms and d.end_ms >= start_ms)

    def completeness(self, start_ms: int, end_ms: int) -> float:
        """Share of the readings expected in ``[start_ms, end_ms)`` that were received and passed QC."""
        expected = (end_ms - start_ms) / 1000.0 / self.detection.expected_interval_s
        if expected <= 0:
            return 1.0
        a, b = np.searchsorted(self.reading_times_ms, [start_ms, end_ms])
        return float(min(1.0, (b - a) / expected))

    def qc_counts(self, start_ms: int, end_ms: int) -> dict[int, int]:
        a, b = np.searchsorted(self.all_times_ms, [start_ms, end_ms])
        flags, counts = np.unique(self.qc[a:b], return_counts=True)
        return {int(f): int(c) for f, c in zip(flags, counts, strict=False)}

    def gaps(self, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """Intervals longer than ``gap_intervals`` expected intervals without a valid reading."""
        limit_ms = self.detection.gap_intervals * self.detection.expected_interval_s * 1000
        r = self.reading_times_ms
        t = r[(r >= start_ms) & (r < end_ms)]
        edges = np.concatenate([[start_ms], t, [end_ms]])
        idx = np.nonzero(np.diff(edges) > limit_ms)[0]
        return [(int(edges[k]), int(edges[k + 1])) for k in idx]


def to_wet_t(load_kg: np.ndarray, cal: Calibration) -> np.ndarray:
    """Asset wet biomass (t) from the load on the instrumented line (kg); see :class:`Calibration`."""
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
        out[half : n - half] = np.median(sliding_window_view(x, window), axis=1)
    for i in list(range(min(half, n))) + list(range(max(n - half, 0), n)):
        out[i] = np.median(x[max(0, i - half) : i + half + 1])
    return out


def robust_noise(x: np.ndarray) -> float:
    """SD of noise from first differences: 1.4826 x MAD(diff) / sqrt(2)."""
    if x.size < 3:
        return 0.0
    d = np.diff(x)
    return float(MAD_TO_SD * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def bin_means(times_ms: np.ndarray, values: np.ndarray, bin_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` per bin (sorted input); returns (bin starts, means) of non-empty bins."""
    if times_ms.size == 0:
        return times_ms.copy(), values.copy()
    b = times_ms // bin_ms
    starts = np.concatenate([[0], np.nonzero(np.diff(b))[0] + 1])
    sums = np.add.reduceat(values, starts)
    counts = np.diff(np.concatenate([starts, [values.size]]))
    return b[starts] * bin_ms, sums / counts


def in_windows(times_ms: np.ndarray, windows: list[HarvestWindow], margin_days: float) -> np.ndarray:
    """True where a time falls in a yearly harvest window widened by ``margin_days``."""
    out = np.zeros(times_ms.shape, dtype=bool)
    if not windows or times_ms.size == 0:
        return out
    years = range(utc(int(times_ms.min())).year - 1, utc(int(times_ms.max())).year + 1)
    for w in windows:
        month, day = (int(x) for x in w.start.split("-"))
        for y in years:
            s = int(utc(0).replace(year=y, month=month, day=min(day, 28) if month == 2 else day).timestamp() * 1000)
            lo, hi = s - margin_days * DAY_MS, s + (w.days + margin_days) * DAY_MS
            out |= (times_ms >= lo) & (times_ms < hi)
    return out


def zigzag_declines(level: np.ndarray, noise: float, det: DetectionConfig) -> list[tuple[int, int]]:
    """(peak index, trough index) of every sustained decline (see the module docstring, step 5)."""
    out: list[tuple[int, int]] = []
    n = level.size
    if n < 2:
        return out
    rise = det.noise_multiple * noise
    frac = det.min_step_fraction
    down, peak, trough = False, 0, 0
    lv = level.tolist()  # plain floats: this loop is the hot path
    for i in range(1, n):
        x = lv[i]
        if not down:
            if x >= lv[peak]:
                peak = i
            elif lv[peak] - x > max(frac * abs(lv[peak]), rise):
                down, trough = True, i
        else:
            if x <= lv[trough]:
                trough = i
            elif x - lv[trough] > max(rise, frac * abs(lv[trough]) * 0.5):
                out.append((peak, trough))
                down, peak = False, i
    if down:
        out.append((peak, trough))
    return out


def _growth_per_ms(t: np.ndarray, level: np.ndarray, peak: int, det: DetectionConfig) -> float:
    """Net specific growth rate before ``peak`` (per ms): least-squares slope of ln(level) over the
    ``growth_lookback_days`` before it; 0 when it cannot be estimated (too few or non-positive levels)."""
    lookback = det.growth_lookback_days * DAY_MS
    sel = np.nonzero((t >= t[peak] - lookback) & (t <= t[peak]))[0]
    if sel.size < 10 or np.any(level[sel] <= 0):
        return 0.0
    x = (t[sel] - t[peak]).astype(float)
    y = np.log(level[sel])
    var = np.var(x)
    if var <= 0:
        return 0.0
    slope = float(np.mean((x - x.mean()) * (y - y.mean())) / var)
    lo, hi = GROWTH_BOUNDS_PER_DAY
    return float(np.clip(slope, lo / DAY_MS, hi / DAY_MS))


def flows_from_levels(
    t: np.ndarray, level: np.ndarray, noise: float, det: DetectionConfig, windows: list[HarvestWindow]
) -> tuple[np.ndarray, np.ndarray, list[Decline]]:
    """Per-bin harvested and lost wet t (not cumulative) and the declines found."""
    harvest = np.zeros(level.size)
    loss = np.zeros(level.size)
    declines: list[Decline] = []
    in_win = in_windows(t, windows, det.harvest_margin_days)
    for p, q in zigzag_declines(level, noise, det):
        seg = slice(p + 1, q + 1)
        running_min = np.minimum.accumulate(level[p : q + 1])
        dec = -np.diff(running_min)  # removal per bin, >= 0, sums to peak - trough
        # The peak is the highest and the trough the lowest of noisy levels: measure the drop between the
        # medians of EDGE_BINS bins at either end instead, and share it out as the bins' decreases.
        drop = float(np.median(level[max(0, p - EDGE_BINS + 1) : p + 1]) - np.median(level[q : q + EDGE_BINS]))
        if dec.sum() > 0 and drop > 0:
            dec = dec * (drop / dec.sum())
        if windows:
            is_h = in_win[seg]
        else:
            is_h = np.full(dec.size, level[p] > 0 and (level[p] - level[q]) >= det.harvest_min_fraction * level[p])
        if is_h.any():
            g = _growth_per_ms(t, level, p, det)
            dt = np.diff(t[p : q + 1]).astype(float)
            hidden = g * level[p + 1 : q + 1] * dt  # growth during the bin, taken away by the harvest
            dec = np.where(is_h, dec + hidden, dec)
        harvest[seg] += np.where(is_h, dec, 0.0)
        loss[seg] += np.where(is_h, 0.0, dec)
        kind: Literal["harvest", "loss", "mixed"] = "harvest" if is_h.all() else ("loss" if not is_h.any() else "mixed")
        declines.append(Decline(int(t[p]), int(t[q]), kind, float(dec.sum()), float(level[p]), float(level[q])))
    return harvest, loss, declines


def build_series(
    asset: str,
    times_ms: np.ndarray,
    load_kg: np.ndarray,
    qc: np.ndarray,
    cal: Calibration,
    det: DetectionConfig,
    exclude_suspect: bool = False,
    windows: list[HarvestWindow] | None = None,
) -> AssetSeries:
    """Clean one asset's load-cell readings (any order; duplicates: the last one wins)."""
    t = np.asarray(times_ms, dtype=np.int64)
    v = np.asarray(load_kg, dtype=float)
    f = np.asarray(qc, dtype=np.int64)
    if not (t.shape == v.shape == f.shape):
        raise ValueError(
            f"asset {asset}: times, load_kg and qc must have one shape, got {t.shape}, {v.shape}, {f.shape}"
        )
    order = np.argsort(t, kind="stable")
    t, v, f = t[order], v[order], f[order]
    if t.size:
        last = np.concatenate([t[1:] != t[:-1], [True]])
        t, v, f = t[last], v[last], f[last]
    bad = {QcFlag.FAIL, QcFlag.MISSING} | ({QcFlag.SUSPECT} if exclude_suspect else set())
    used = np.isfinite(v) & ~np.isin(f, list(bad))
    wet = to_wet_t(v[used], cal)
    filtered = running_median(wet, det.median_window)
    bt, level = bin_means(t[used], filtered, int(det.bin_s * 1000))
    # Noise of one reading: the thresholds use it whole (binned levels are correlated through the running
    # median, and the peak of a long noisy record sits several of their SDs above its mean).
    noise = robust_noise(wet)
    harvest, loss, declines = flows_from_levels(bt, level, noise, det, windows or [])
    return AssetSeries(
        asset, bt, level, t[used], t, f, v, bt, np.cumsum(harvest), np.cumsum(loss), declines, noise, det
    )
