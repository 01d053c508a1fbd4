"""Biomass loss: the load on a longline or raft drops and no harvest was recorded.

Mussels fall off in storms and low oxygen (George et al. 2019: byssal attachment weakens), kelp tears
away; either shows as a step down in the line's submerged load. Medians make the test robust to
load-cell spikes and tidal drag; harvests (config ``harvests:`` or a ``harvest_log`` in JSON Lines)
suppress the alert for the asset around the harvest time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blueranch.models.alerts.config import BiomassLossRule
from blueranch.models.alerts.rules.base import HOUR_MS, Context, Observation, finite


def grouped_median(keys: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The median of ``v`` per distinct key (ascending keys), in one sort (a replay does this 10^5 times)."""
    order = np.lexsort((v, keys))
    k, x = keys[order], v[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    n = np.diff(np.r_[starts, len(k)])
    return (x[starts + (n - 1) // 2] + x[starts + n // 2]) / 2


@dataclass(frozen=True)
class Drop:
    pct: float  # of the line's net load (its biomass as calibrated: load - tare)
    kg: float
    reference_kg: float
    noise_kg: float  # standard deviation of a ``recent_h`` median of the line at rest


def load_drop(t_ms: np.ndarray, v: np.ndarray, now_ms: int, recent_h: float, reference_h: float, lag_h: float) -> Drop:
    """The median net load over the last ``recent_h`` against the median of the ``reference_h`` that end
    ``lag_h`` before now (the line before the loss: a storm strips a line over a day or more, a reference
    right before the recent window would follow it down), as a fraction of that reference; and the noise of
    a ``recent_h`` median, from the spread of the reference window's own ``recent_h`` medians (load-cell
    noise, drag, tide). Raises ``ValueError`` without data in both windows or with no net load."""
    recent = v[(t_ms > now_ms - int(recent_h * HOUR_MS)) & (t_ms <= now_ms)]
    ref_end = now_ms - int(lag_h * HOUR_MS)
    ref_start = ref_end - int(reference_h * HOUR_MS)
    sel = (t_ms > ref_start) & (t_ms <= ref_end)
    if not len(recent) or not sel.any():
        raise ValueError("load_drop: no readings in the recent or the reference window")
    ref = float(np.median(v[sel]))
    if ref <= 0:
        raise ValueError(f"load_drop: reference net load {ref:.3f} kg is not above 0 (no stock on the line)")
    medians = grouped_median((t_ms[sel] - ref_start) // int(recent_h * HOUR_MS), v[sel])
    if len(medians) >= 3:
        noise = float(np.std(medians, ddof=1))
    else:  # the standard error of a median of the recent window's size (1.2533 sigma / sqrt(n))
        mad = float(np.median(np.abs(v[sel] - ref))) * 1.4826
        noise = 1.2533 * mad / np.sqrt(len(recent))
    drop_kg = ref - float(np.median(recent))
    return Drop(100.0 * drop_kg / ref, drop_kg, ref, noise)


def harvested(harvests: list[tuple[str, int, int]], names: tuple[str, ...], start_ms: int, end_ms: int) -> bool:
    return any(a in names and s <= end_ms and e >= start_ms for a, s, e in harvests)


def evaluate(ctx: Context) -> list[Observation]:
    out = []
    for tr in ctx.frames.get("load_kg"):
        rule: BiomassLossRule = ctx.rules(tr.site, tr.device).biomass_loss
        if not rule.enabled:
            continue
        t, v = finite(tr.t_ms, tr.v("load_kg"))
        v = v - ctx.config.tare_kg(tr.site, tr.asset)
        try:
            d = load_drop(t, v, ctx.now_ms, rule.recent_h, rule.reference_h, rule.reference_lag_h)
        except ValueError:
            continue
        margin = int(rule.harvest_margin_h * HOUR_MS)
        span_start = ctx.now_ms - int((rule.reference_lag_h + rule.reference_h) * HOUR_MS) - margin
        names = tuple(n for n in (tr.asset, tr.device) if n)
        harvest = harvested(ctx.harvests, names, span_start, ctx.now_ms + margin)
        subject = tr.asset or tr.sensor
        floor_kg = rule.noise_z * d.noise_kg
        # A loss of drop_pct % must stand out of the line's own noise, or the line cannot be judged (yet).
        judged = rule.drop_pct / 100 * d.reference_kg >= floor_kg
        note = " (harvest recorded: not a loss)" if harvest else ""
        if not judged:
            note += f" (not judged: {rule.drop_pct:g} % of this line is within {rule.noise_z:g}x its noise)"
        out.append(
            Observation(
                tr.site,
                tr.device,
                "biomass_loss",
                subject,
                rule.severity,
                judged and d.pct >= rule.drop_pct and d.kg >= floor_kg and not harvest,
                judged and d.pct < rule.drop_pct / 2 or harvest,
                d.pct,
                rule.drop_pct,
                f"net load on {subject} {d.reference_kg - d.kg:.2f} kg against {d.reference_kg:.2f} kg "
                f"{rule.reference_lag_h:g}-{rule.reference_lag_h + rule.reference_h:g} h ago: down {d.pct:.1f} % "
                f"(limit {rule.drop_pct:g} %; noise {d.noise_kg:.3f} kg){note}; {rule.source}",
            )
        )
    return out
