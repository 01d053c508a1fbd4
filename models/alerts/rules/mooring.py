"""Mooring break: a buoy outside its watch circle (haversine distance from its anchor > radius).

The anchor comes from the device config or, if absent, is learned once from the median of the first
``auto_anchor_fixes`` fixes the worker sees and kept in the state store (so it survives restarts and
does not follow a drifting buoy).

The alert key is the buoy (subject ""), not the series: a buoy whose fixes arrive as several position
series (its GPS sensor's and the payload's ``position``) is one buoy, its fixes merged in time order,
and raises one mooring alert."""

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


def buoys(ctx: Context) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray, list[str]]]:
    """(site, device) -> (lat, lon) of every finite fix of all its position series in time order, and
    the series' sensors (where a learned anchor may be kept)."""
    acc: dict[tuple[str, str], list] = {}
    for tr in ctx.frames.get("position"):
        ok = np.isfinite(tr.v("lat_deg")) & np.isfinite(tr.v("lon_deg"))
        acc.setdefault((tr.site, tr.device), []).append(
            (tr.t_ms[ok], tr.v("lat_deg")[ok], tr.v("lon_deg")[ok], tr.sensor)
        )
    out = {}
    for key, parts in acc.items():
        t = np.concatenate([p[0] for p in parts])
        order = np.argsort(t, kind="stable")
        lat = np.concatenate([p[1] for p in parts])[order]
        lon = np.concatenate([p[2] for p in parts])[order]
        out[key] = (lat, lon, sorted(p[3] for p in parts))
    return out


def _learned_anchor(ctx: Context, site: str, device: str, sensors: list[str], lat, lon, rule: MooringRule):
    """The anchor learned earlier (kept on whichever series' record first learned it), else learned now."""
    recs = [r for r in (ctx.devices.get((site, device, s)) for s in sensors) if r is not None]
    for r in recs:
        if r.anchor is not None:
            return r.anchor
    if rule.auto_anchor_fixes == 0 or len(lat) < rule.auto_anchor_fixes or not recs:
        return None
    recs[0].anchor = (float(np.median(lat[: rule.auto_anchor_fixes])), float(np.median(lon[: rule.auto_anchor_fixes])))
    return recs[0].anchor


def evaluate(ctx: Context) -> list[Observation]:
    out = []
    for (site, device), (lat, lon, sensors) in buoys(ctx).items():
        rule: MooringRule = ctx.rules(site, device).mooring
        if not rule.enabled or len(lat) < rule.confirm_fixes:
            continue
        cfg = ctx.config.device(site, device).anchor
        radius = rule.radius_m
        if cfg is not None:
            anchor = (cfg.lat_deg, cfg.lon_deg)
            radius = cfg.radius_m or radius
        else:
            anchor = _learned_anchor(ctx, site, device, sensors, lat, lon, rule)
            if anchor is None:
                continue
        n = rule.confirm_fixes
        d = float(haversine_m(float(np.median(lat[-n:])), float(np.median(lon[-n:])), *anchor))
        where = "outside" if d > radius else "inside"
        out.append(
            Observation(
                site,
                device,
                "mooring",
                "",
                rule.severity,
                d > radius,
                d <= radius - rule.hysteresis_m,
                d,
                radius,
                f"buoy {d:.0f} m from its anchor ({anchor[0]:.5f}, {anchor[1]:.5f}), {where} its {radius:.0f} m "
                f"watch circle ({rule.source})",
            )
        )
    return out
