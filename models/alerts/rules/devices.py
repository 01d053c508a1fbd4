"""Device health: silent sensors and agents (no reading for N x their interval) and edge buffer drops.

Silence is judged per sensor of a device (a load cell can stop answering while its buoy's agent goes on
publishing the sonde) and per edge agent from its status messages (subject "")."""

from __future__ import annotations

import numpy as np

from blueranch.models.alerts.rules.base import HOUR_MS, Context, Observation


def infer_interval_s(times_ms: np.ndarray, floor_s: float) -> float | None:
    """Median spacing of the last readings (None with fewer than three)."""
    if len(times_ms) < 3:
        return None
    return max(float(np.median(np.diff(times_ms[-50:]))) / 1000.0, floor_s)


def longest_gap_s(times_ms: np.ndarray | None) -> float:
    """The longest spacing between readings (s): once a silent sensor reports again, how long it was silent."""
    if times_ms is None or len(times_ms) < 2:
        return 0.0
    return float(np.max(np.diff(times_ms))) / 1000.0


def counter_increase(t_ms: np.ndarray, v: np.ndarray, start_ms: int) -> float:
    """Increase of a cumulative counter over readings after ``start_ms`` (resets count from zero)."""
    if len(v) < 2:
        return 0.0
    i = max(int(np.searchsorted(t_ms, start_ms, side="right")) - 1, 0)
    d = np.diff(v[i:])
    d = np.where(d < 0, v[i + 1 :], d)  # a reset: the counter restarted, count what it holds now
    return float(np.nansum(d))


def evaluate_silent(ctx: Context) -> list[Observation]:
    out = []
    for (site, device, sensor), rec in ctx.devices.items():
        rule = ctx.rules(site, device).silent
        if not rule.enabled:
            continue
        dev = ctx.config.device(site, device)
        interval = dev.sensor_intervals_s.get(sensor) or dev.interval_s or rec.interval_s
        if interval is None:
            continue
        interval = max(interval, rule.min_interval_s)
        age_s = (ctx.now_ms - rec.last_seen_ms) / 1000.0
        limit = rule.missed_intervals * interval
        if age_s > limit:
            text = f"no data for {age_s / 60:.0f} min"
        else:
            gap = longest_gap_s(ctx.frames.seen.get((site, device, sensor)))
            text = f"reporting (last reading {age_s / 60:.0f} min ago; longest gap in the window {gap / 60:.0f} min)"
        out.append(
            Observation(
                site,
                device,
                "silent",
                sensor,
                rule.severity,
                age_s > limit,
                age_s <= 1.5 * interval,
                age_s,
                limit,
                f"{text} (expected every {interval:.0f} s; limit {rule.missed_intervals:g} "
                f"intervals = {limit / 60:.0f} min)",
            )
        )
    return out


def evaluate_buffer_drops(ctx: Context) -> list[Observation]:
    per_device: dict[tuple[str, str], float] = {}
    for tr in ctx.frames.get("buffer_dropped_total"):
        rule = ctx.rules(tr.site, tr.device).buffer_drops
        inc = counter_increase(tr.t_ms, tr.v("buffer_dropped_total"), ctx.now_ms - int(rule.window_h * HOUR_MS))
        key = (tr.site, tr.device)
        per_device[key] = max(per_device.get(key, 0.0), inc)
    out = []
    for (site, device), inc in per_device.items():
        rule = ctx.rules(site, device).buffer_drops
        if not rule.enabled:
            continue
        out.append(
            Observation(
                site,
                device,
                "buffer_drops",
                "",
                rule.severity,
                inc >= 1,
                inc == 0,
                inc,
                1.0,
                f"edge buffer dropped {inc:.0f} reading(s) in the last {rule.window_h:g} h: data was lost on the buoy",
            )
        )
    return out
