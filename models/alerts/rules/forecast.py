"""Oxygen forecast: tonight's minimum from the diel cycle and the trend of the last days.

Dissolved oxygen in a farm follows the sun: photosynthesis raises it by day, respiration of the
stock and the plankton draws it down by night, so the minimum comes near dawn. A least-squares fit
of ``a + b*t + sum_k (c_k cos(k w t) + s_k sin(k w t))`` with ``w = 2 pi / 24 h`` (harmonic regression
with a linear trend) captures both the daily swing and a slow decline (warming water, a bloom
collapsing), and is extrapolated over the next hours. A crash that the cycle does not foresee (a calm
night with a dying bloom) shows as a departure of the last hour's readings from the fit; that departure
and its slope are carried forward as a damped trend, so the warning comes while DO is still falling
towards the threshold.
"""

from __future__ import annotations

import numpy as np

from blueranch.models.alerts.config import DoForecastRule
from blueranch.models.alerts.rules.base import HOUR_MS, Context, Observation, finite

DAY_S = 86_400.0
STEP_S = 600.0


def design(t_s: np.ndarray, harmonics: int) -> np.ndarray:
    w = 2 * np.pi / DAY_S
    cols = [np.ones_like(t_s), t_s / DAY_S]
    for k in range(1, harmonics + 1):
        cols += [np.cos(k * w * t_s), np.sin(k * w * t_s)]
    return np.column_stack(cols)


def fit_diel(t_s: np.ndarray, v: np.ndarray, harmonics: int = 2) -> tuple[np.ndarray, float]:
    """Coefficients and residual standard deviation. ``t_s`` in seconds (any origin)."""
    if len(v) < 2 * harmonics + 3:
        raise ValueError(f"diel fit needs at least {2 * harmonics + 3} readings, got {len(v)}")
    a = design(t_s, harmonics)
    coef, *_ = np.linalg.lstsq(a, v, rcond=None)
    resid = v - a @ coef
    return coef, float(np.std(resid))


def theil_sen(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(level at t = 0, slope): the median of pairwise slopes (Theil 1950, Sen 1968), robust to a spike."""
    i, j = np.triu_indices(len(t), 1)
    dt = t[j] - t[i]
    ok = dt != 0
    b = float(np.median((y[j] - y[i])[ok] / dt[ok])) if ok.any() else 0.0
    return float(np.median(y - b * t)), b


def damped_anomaly(t_s: np.ndarray, resid: np.ndarray, horizon_s: np.ndarray, damping_s: float) -> np.ndarray:
    """Continue the recent departure from the diel fit: level ``a`` and slope ``b`` now (Theil-Sen over the
    recent residuals, ``t_s <= 0``, so one spike does not make a trend), then ``a + b tau (1 - exp(-h / tau))``
    (a damped trend, Gardner & McKenzie 1985). Fewer than three residuals: no departure."""
    if len(resid) < 3:
        return np.zeros_like(horizon_s)
    a, b = theil_sen(t_s, resid)
    return a + b * damping_s * (1.0 - np.exp(-horizon_s / damping_s))


def forecast_min(
    t_ms: np.ndarray,
    v: np.ndarray,
    now_ms: int,
    horizon_s: float,
    harmonics: int = 2,
    anomaly_window_s: float = 3600.0,
    damping_s: float = 3 * 3600.0,
) -> tuple[float, int, float]:
    """(predicted minimum, its time in ms, residual std of the diel fit) over ``(now, now + horizon]``.

    The diel fit uses readings before the anomaly window, so a crash in progress is measured against the
    normal cycle instead of bending it."""
    t_s = (t_ms - now_ms) / 1000.0
    recent = t_s > -anomaly_window_s
    coef, sd = fit_diel(t_s[~recent], v[~recent], harmonics)
    resid = v[recent] - design(t_s[recent], harmonics) @ coef
    grid = np.arange(STEP_S, horizon_s + STEP_S / 2, STEP_S)
    # Oxygen cannot go below zero: a steep fall predicts anoxia, not a negative concentration.
    pred = np.maximum(design(grid, harmonics) @ coef + damped_anomaly(t_s[recent], resid, grid, damping_s), 0.0)
    i = int(np.argmin(pred))
    return float(pred[i]), int(now_ms + grid[i] * 1000), sd


def evaluate(ctx: Context) -> list[Observation]:
    out = []
    for tr in ctx.frames.get("do_mg_l"):
        rule: DoForecastRule = ctx.rules(tr.site, tr.device).do_forecast
        if not rule.enabled:
            continue
        t, v = finite(tr.t_ms, tr.v("do_mg_l"))
        sel = t >= ctx.now_ms - int(rule.fit_window_h * HOUR_MS)
        t, v = t[sel], v[sel]
        if len(t) < 2 * rule.harmonics + 3 or (t[-1] - t[0]) < rule.min_span_h * HOUR_MS:
            continue
        lo, t_lo, sd = forecast_min(
            t, v, ctx.now_ms, rule.horizon_h * 3600, rule.harmonics, rule.anomaly_window_h * 3600, rule.damping_h * 3600
        )
        limit = rule.threshold_mg_l + rule.margin_mg_l
        lead_h = (t_lo - ctx.now_ms) / HOUR_MS
        out.append(
            Observation(
                tr.site,
                tr.device,
                "do_forecast",
                tr.sensor,
                rule.severity,
                lo < limit,
                lo >= limit + rule.hysteresis_mg_l,
                lo,
                rule.threshold_mg_l,
                f"dissolved oxygen forecast to fall to {lo:.2f} mg/L in {lead_h:.1f} h (threshold "
                f"{rule.threshold_mg_l} mg/L, fit residual {sd:.2f} mg/L; {rule.source})",
            )
        )
    return out
