"""Biomass loss: the load on a longline or raft drops and no harvest was recorded.

Mussels fall off in storms and low oxygen (George et al. 2019: byssal attachment weakens), kelp tears
away; either shows as a step down in the line's submerged load. Medians make the test robust to
load-cell spikes and tidal drag; harvests (config ``harvests:`` or a ``harvest_log`` in JSON Lines)
suppress the alert for the asset around the harvest time.
"""

from __future__ import annotations

import numpy as np

from blueranch.models.alerts.config import BiomassLossRule
from blueranch.models.alerts.rules.base import HOUR_MS, Context, Observation, finite


def load_drop(
    t_ms: np.ndarray, v: np.ndarray, now_ms: int, recent_h: float, reference_h: float, min_reference: float = 0.0
) -> tuple[float, float]:
    """(drop in %, drop in kg) of the median load over the last ``recent_h`` against the median of the
    ``reference_h`` before it (a line grows by well under 1 % a day, so the reference median is its level;
    a maximum of hourly medians would be biased up by the noise). Raises ``ValueError`` without data in
    both windows or with a reference load not above ``min_reference``."""
    split = now_ms - int(recent_h * HOUR_MS)
    start = split - int(reference_h * HOUR_MS)
    recent = v[(t_ms > split) & (t_ms <= now_ms)]
    ref_sel = (t_ms > start) & (t_ms <= split)
    if not len(recent) or not ref_sel.any():
        raise ValueError("load_drop: no readings in the recent or the reference window")
    ref = float(np.median(v[ref_sel]))
    if ref <= max(min_reference, 0.0):
        raise ValueError(f"load_drop: reference load {ref:.2f} kg is not above {min_reference} kg")
    drop_kg = ref - float(np.median(recent))
    return 100.0 * drop_kg / ref, drop_kg


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
            drop, drop_kg = load_drop(t, v, ctx.now_ms, rule.recent_h, rule.reference_h, rule.min_net_load_kg)
        except ValueError:
            continue
        margin = int(rule.harvest_margin_h * HOUR_MS)
        span_start = ctx.now_ms - int((rule.recent_h + rule.reference_h) * HOUR_MS) - margin
        names = tuple(n for n in (tr.asset, tr.device) if n)
        harvest = harvested(ctx.harvests, names, span_start, ctx.now_ms + margin)
        subject = tr.asset or tr.sensor
        note = " (harvest recorded: not a loss)" if harvest else ""
        out.append(
            Observation(
                tr.site,
                tr.device,
                "biomass_loss",
                subject,
                rule.severity,
                drop >= rule.drop_pct and drop_kg >= rule.min_drop_kg and not harvest,
                drop < rule.drop_pct / 2 or drop_kg < rule.min_drop_kg / 2 or harvest,
                drop,
                rule.drop_pct,
                f"net load on {subject} dropped {drop:.1f} % = {drop_kg:.1f} kg (limits {rule.drop_pct} % and "
                f"{rule.min_drop_kg} kg){note}; {rule.source}",
            )
        )
    return out
