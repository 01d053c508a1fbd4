"""Mooring break: a buoy outside its watch circle (haversine distance from its anchor > radius).

The anchor comes from the device config or, if absent, is learned once from the median of the first
``auto_anchor_fixes`` fixes the worker sees and kept in the state store (so it survives restarts and
does not follow a drifting buoy)."""

from __future__ import annotations

import numpy as np

from blueranch.models.alerts.config import MooringRule
from blueranch.models.alerts.rules.base import Context, Observation

#: Mean Earth radius (IUGG, Moritz 2000), m.
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float | np.ndarray, lon1: float | np.ndarray, lat2: float, lon2: float) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def evaluate(ctx: Context) -> list[Observation]:
    out = []
    for tr in ctx.frames.get("position"):
        rule: MooringRule = ctx.rules(tr.site, tr.device).mooring
        if not rule.enabled:
            continue
        ok = np.isfinite(tr.v("lat_deg")) & np.isfinite(tr.v("lon_deg"))
        lat, lon = tr.v("lat_deg")[ok], tr.v("lon_deg")[ok]
        if len(lat) < rule.confirm_fixes:
            continue
        cfg = ctx.config.device(tr.site, tr.device).anchor
        radius = rule.radius_m
        if cfg is not None:
            anchor = (cfg.lat_deg, cfg.lon_deg)
            radius = cfg.radius_m or radius
        else:
            rec = ctx.devices.get((tr.site, tr.device, tr.sensor))
            if rec is None or rec.anchor is None:
                if rule.auto_anchor_fixes == 0 or len(lat) < rule.auto_anchor_fixes or rec is None:
                    continue
                rec.anchor = (
                    float(np.median(lat[: rule.auto_anchor_fixes])),
                    float(np.median(lon[: rule.auto_anchor_fixes])),
                )
            anchor = rec.anchor
        n = rule.confirm_fixes
        d = float(haversine_m(float(np.median(lat[-n:])), float(np.median(lon[-n:])), *anchor))
        out.append(
            Observation(
                tr.site,
                tr.device,
                "mooring",
                tr.sensor,
                rule.severity,
                d > radius,
                d <= radius - rule.hysteresis_m,
                d,
                radius,
                f"buoy {d:.0f} m from its anchor ({anchor[0]:.5f}, {anchor[1]:.5f}); watch circle {radius:.0f} m "
                f"({rule.source})",
            )
        )
    return out
