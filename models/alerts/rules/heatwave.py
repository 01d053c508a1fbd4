"""Marine heatwave (Hobday et al. 2016): daily mean sea temperature above the seasonal 90th
percentile of a climatology for five or more consecutive days.

The climatology comes from the site's own history (p90 of all daily means within an 11-day window around
each day of year, as Hobday et al. do over a 30-year baseline) once there is enough of it, else from an
external SST climatology file the operator loads, or twelve monthly p90 values in the config; the message
names the one used. Only complete UTC days count.
"""

from __future__ import annotations

import numpy as np

from blueranch.models.alerts.config import HeatwaveRule
from blueranch.models.alerts.rules.base import DAY_MS, Context, Observation, finite

_MID_MONTH_DOY = np.array([15.5, 45, 74.5, 105, 135.5, 166, 196.5, 227.5, 258, 288.5, 319, 349.5])


def day_of_year(day_index: np.ndarray) -> np.ndarray:
    """1-based day of year of epoch days (days since 1970-01-01, UTC)."""
    d = day_index.astype("datetime64[D]")
    return (d - d.astype("datetime64[Y]")).astype(np.int64) + 1


def daily_means(t_ms: np.ndarray, v: np.ndarray, min_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(epoch days, daily means) of days with at least ``min_fraction`` of the typical count of readings."""
    days = t_ms // DAY_MS
    uniq, idx, counts = np.unique(days, return_inverse=True, return_counts=True)
    if not len(uniq):
        return uniq, np.zeros(0)
    sums = np.bincount(idx, weights=v)
    keep = counts >= min_fraction * np.median(counts)
    return uniq[keep], (sums / counts)[keep]


def monthly_climatology(p90_by_month: list[float]) -> np.ndarray:
    """366 daily p90 values, linear between mid-months (wrapping over the new year)."""
    x = np.concatenate([_MID_MONTH_DOY - 365, _MID_MONTH_DOY, _MID_MONTH_DOY + 365])
    y = np.tile(np.asarray(p90_by_month, dtype=np.float64), 3)
    return np.interp(np.arange(1, 367), x, y)


def file_climatology(path) -> np.ndarray:
    """366 daily p90 values from an operator's CSV: ``month,p90_c`` (12 rows, linear between mid-months) or
    ``day_of_year,p90_c`` (365 or 366 rows; day 366 repeats day 365 if absent). Errors name line and value."""
    from blueranch.loader import decode, read_bytes

    text = decode(read_bytes(path), str(path))
    rows = [r.strip() for r in text.splitlines() if r.strip() and not r.lstrip().startswith("#")]
    if not rows:
        raise ValueError(f"{path}: empty climatology file")
    head = [c.strip() for c in rows[0].split(",")]
    if head not in (["month", "p90_c"], ["day_of_year", "p90_c"]):
        raise ValueError(f"{path}:1: header must be 'month,p90_c' or 'day_of_year,p90_c', got {rows[0]!r}")
    keys, vals = [], []
    for n, r in enumerate(rows[1:], 2):
        try:
            k, v = (c.strip() for c in r.split(","))
            keys.append(int(k))
            vals.append(float(v))
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: expected '<int>,<degC>', got {r!r}") from exc
        if not -5.0 <= vals[-1] <= 40.0:
            raise ValueError(f"{path}:{n}: p90_c {vals[-1]} outside -5..40 degC (sea surface temperature)")
    want = list(range(1, 13)) if head[0] == "month" else list(range(1, len(keys) + 1))
    if keys != want or (head[0] == "day_of_year" and len(keys) not in (365, 366)):
        limit = "1..12" if head[0] == "month" else "1..365 (or 366)"
        raise ValueError(f"{path}: {head[0]} must run {limit} in order, got {len(keys)} rows")
    if head[0] == "month":
        return monthly_climatology(vals)
    return np.asarray(vals + vals[-1:] if len(vals) == 365 else vals, dtype=np.float64)


def history_climatology(
    days: np.ndarray, means: np.ndarray, window_days: int = 11, percentile: float = 90.0
) -> np.ndarray:
    """366 daily percentiles from daily means, pooling days within +-window/2 of each day of year."""
    doy = day_of_year(days)
    half = window_days // 2
    out = np.full(366, np.nan)
    for d in range(1, 367):
        dist = np.abs(doy - d)
        dist = np.minimum(dist, 366 - dist)
        sel = means[dist <= half]
        if len(sel):
            out[d - 1] = np.percentile(sel, percentile)
    return out


def run_above(days: np.ndarray, means: np.ndarray, p90: np.ndarray) -> int:
    """Consecutive days above p90 ending at the last day given (a missing day breaks the run)."""
    if not len(days):
        return 0
    above = means > p90[day_of_year(days) - 1]
    n = 0
    for i in range(len(days) - 1, -1, -1):
        if not above[i] or (i < len(days) - 1 and days[i + 1] - days[i] != 1):
            break
        n += 1
    return n


def evaluate(ctx: Context) -> list[Observation]:
    out = []
    today = ctx.now_ms // DAY_MS
    for tr in ctx.frames.get("temp_c"):
        rule: HeatwaveRule = ctx.rules(tr.site, tr.device).heatwave
        if not rule.enabled:
            continue
        found = ctx.climatology(tr.site, tr.device)
        if found is None:
            continue
        clim, which = found
        t, v = finite(tr.t_ms, tr.v("temp_c"))
        days, means = daily_means(t, v)
        complete = days < today
        days, means = days[complete], means[complete]
        if not len(days) or days[-1] != today - 1:
            continue
        n = run_above(days, means, clim)
        p90 = float(clim[day_of_year(days[-1:])[0] - 1])
        out.append(
            Observation(
                tr.site,
                tr.device,
                "heatwave",
                tr.sensor,
                rule.severity,
                n >= rule.min_days,
                n == 0,
                float(n),
                float(rule.min_days),
                f"sea temperature above the seasonal 90th percentile for {n} day(s) (yesterday {means[-1]:.2f} degC, "
                f"p90 {p90:.2f} degC from {which}; heatwave from {rule.min_days} days; {rule.source})",
            )
        )
    return out
