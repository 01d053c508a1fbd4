"""Storm: 10-minute mean wind speed (Beaufort scale) and significant wave height (WMO sea state)."""

from __future__ import annotations

import numpy as np

from blueranch.models.alerts.config import StormRule
from blueranch.models.alerts.rules.base import Context, Observation, finite


def storm_level(wind_m_s: float, wave_m: float, rule: StormRule) -> int:
    """0 calm, 1 gale or very rough sea (warning), 2 storm or high sea (critical). NaN counts as calm."""
    if wind_m_s >= rule.storm_wind_m_s or wave_m >= rule.high_wave_m:
        return 2
    if wind_m_s >= rule.gale_wind_m_s or wave_m >= rule.rough_wave_m:
        return 1
    return 0


def recent_mean(t_ms: np.ndarray, v: np.ndarray, now_ms: int, span_s: float) -> float:
    sel = t_ms >= now_ms - span_s * 1000
    return float(np.mean(v[sel])) if sel.any() else float("nan")


def evaluate(ctx: Context) -> list[Observation]:
    by_device: dict[tuple[str, str], dict[str, float]] = {}
    for name in ("wind_speed_m_s", "wave_height_m"):
        for tr in ctx.frames.get(name):
            t, v = finite(tr.t_ms, tr.v(name))
            rule = ctx.rules(tr.site, tr.device).storm
            m = recent_mean(t, v, ctx.now_ms, rule.average_s)
            if np.isfinite(m):
                d = by_device.setdefault((tr.site, tr.device), {})
                d[name] = max(d.get(name, -np.inf), m)
    out = []
    for (site, device), vals in by_device.items():
        rule = ctx.rules(site, device).storm
        if not rule.enabled:
            continue
        wind = vals.get("wind_speed_m_s", float("nan"))
        wave = vals.get("wave_height_m", float("nan"))
        level = storm_level(wind, wave, rule)
        cleared = not (
            wind >= rule.gale_wind_m_s - rule.hysteresis_wind_m_s or wave >= rule.rough_wave_m - rule.hysteresis_wave_m
        )
        severity = "critical" if level == 2 else rule.severity
        value, threshold = (wind, rule.gale_wind_m_s) if np.isfinite(wind) else (wave, rule.rough_wave_m)
        out.append(
            Observation(
                site,
                device,
                "storm",
                "",
                severity,
                level >= 1,
                cleared,
                value,
                threshold,
                f"wind {wind:.1f} m/s (10-min mean; gale {rule.gale_wind_m_s}, storm {rule.storm_wind_m_s}), "
                f"waves {wave:.1f} m (very rough {rule.rough_wave_m}, high {rule.high_wave_m}; {rule.source})",
            )
        )
    return out
