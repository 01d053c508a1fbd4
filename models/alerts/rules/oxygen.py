"""Dissolved-oxygen rules: low now (GB 11607-89, species limits) and hours above 5 mg/L per 24 h."""

from __future__ import annotations

import numpy as np

from blueranch.models.alerts.config import DoDailyRule, DoLowRule
from blueranch.models.alerts.rules.base import HOUR_MS, Context, Observation, finite


def low_state(latest: float, threshold: float, hysteresis: float) -> tuple[bool, bool]:
    """(triggered, cleared) for a value that must stay above ``threshold``."""
    return latest < threshold, latest >= threshold + hysteresis


def low_message(what: str, value: float, rule: DoLowRule, triggered: bool, cleared: bool) -> str:
    """The value and where it stands: under the (critical/warning) limit, between limit and clear level,
    or back above the clear level."""
    limit, back = rule.threshold_mg_l, rule.threshold_mg_l + rule.hysteresis_mg_l
    if triggered:
        where = f"under the {rule.severity} limit {limit:g} mg/L"
    elif cleared:
        where = f"back above {back:g} mg/L (limit {limit:g} mg/L)"
    else:
        where = f"above the {rule.severity} limit {limit:g} mg/L, not yet back above {back:g} mg/L"
    return f"{what} {value:.2f} mg/L, {where} ({rule.source})"


def hours_above(t_ms: np.ndarray, v: np.ndarray, threshold: float, start_ms: int, end_ms: int) -> tuple[float, float]:
    """Hours above ``threshold`` and hours covered by readings in ``[start_ms, end_ms]``.

    Each reading stands for the time until the next one, capped at twice the median spacing so a gap
    counts as not covered instead of as above or below."""
    sel = (t_ms >= start_ms) & (t_ms <= end_ms)
    t, x = t_ms[sel], v[sel]
    if len(t) < 2:
        return 0.0, 0.0
    dt = np.diff(t).astype(np.float64)
    cap = 2.0 * float(np.median(dt))
    w = np.minimum(np.append(dt, min(cap / 2, end_ms - t[-1])), cap)
    return float(w[x > threshold].sum()) / HOUR_MS, float(w.sum()) / HOUR_MS


def _low(ctx: Context, kind: str) -> list[Observation]:
    out = []
    for tr in ctx.frames.get("do_mg_l"):
        rule: DoLowRule = getattr(ctx.rules(tr.site, tr.device), kind)
        if not rule.enabled:
            continue
        t, v = finite(tr.t_ms, tr.v("do_mg_l"))
        if not len(v):
            continue
        trig, clear = low_state(float(v[-1]), rule.threshold_mg_l, rule.hysteresis_mg_l)
        out.append(
            Observation(
                tr.site,
                tr.device,
                kind,
                tr.sensor,
                rule.severity,
                trig,
                clear,
                float(v[-1]),
                rule.threshold_mg_l,
                low_message("dissolved oxygen", float(v[-1]), rule, trig, clear),
            )
        )
    return out


def evaluate_low(ctx: Context) -> list[Observation]:
    return _low(ctx, "do_low")


def evaluate_mussel_byssus(ctx: Context) -> list[Observation]:
    return _low(ctx, "do_mussel_byssus")


def evaluate_mussel_lethal(ctx: Context) -> list[Observation]:
    return _low(ctx, "do_mussel_lethal")


def evaluate_daily(ctx: Context) -> list[Observation]:
    out = []
    for tr in ctx.frames.get("do_mg_l"):
        rule: DoDailyRule = ctx.rules(tr.site, tr.device).do_daily
        if not rule.enabled:
            continue
        t, v = finite(tr.t_ms, tr.v("do_mg_l"))
        start = ctx.now_ms - int(rule.window_h * HOUR_MS)
        above, covered = hours_above(t, v, rule.threshold_mg_l, start, ctx.now_ms)
        if covered < rule.min_coverage * rule.window_h:
            continue
        # Scale to the full window so that a small gap does not count as hours below.
        above_h = above * rule.window_h / covered
        out.append(
            Observation(
                tr.site,
                tr.device,
                "do_daily",
                tr.sensor,
                rule.severity,
                above_h < rule.min_hours_above,
                above_h >= rule.min_hours_above,
                above_h,
                rule.min_hours_above,
                f"dissolved oxygen above {rule.threshold_mg_l} mg/L for {above_h:.1f} h of the last "
                f"{rule.window_h:g} h (required {rule.min_hours_above:g} h; {rule.source})",
            )
        )
    return out
