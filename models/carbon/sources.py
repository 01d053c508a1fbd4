"""Island sources (energy meters, fed pens) and the reef standing stock, per period.

Meters are cumulative registers (``grid_kwh_total``, ``diesel_l_total``): the consumption of a period is
the sum of the increments between consecutive valid readings whose later reading falls in the period. A
register that goes backwards is a reset and one that jumps faster than the meter's maximum rate is
flagged; neither is counted, use counts on from the new reading (:func:`~blueranch.models.carbon.method.
meter_increments`), and both are counted per period (``meter_resets``, ``meter_jumps``) and logged by the
worker. A gap moves consumption into the period where the meter is next read; it is never estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blueranch.contracts.qc import QcFlag
from blueranch.models.carbon.coefficients import EmissionFactor, GroupCoefficients
from blueranch.models.carbon.config import MeterConfig, PenConfig, ReefConfig
from blueranch.models.carbon.method import (
    METER_JUMP,
    METER_OUTLIER,
    METER_RESET,
    biomass_t_c,
    diesel_t_co2,
    feed_t_co2e,
    fish_wet_g,
    grid_t_co2,
    meter_increments,
)
from blueranch.models.carbon.periods import Period

YEAR_MS = 365.25 * 86_400_000  # Julian year, for pro-rating annual production


@dataclass
class MeterSeries:
    times_ms: np.ndarray
    values: np.ndarray
    qc: np.ndarray

    def cleaned(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.times_ms, kind="stable")
        t, v, f = self.times_ms[order], np.asarray(self.values, float)[order], self.qc[order]
        ok = np.isfinite(v) & ~np.isin(f, [QcFlag.FAIL, QcFlag.MISSING])
        return t[ok], v[ok]


@dataclass
class SourceRow:
    id: str
    kind: str  # diesel | electricity
    farm: str | None
    period: Period
    amount: float  # litres or kWh
    unit: str
    t_co2e: float
    factor_key: str
    factor_kind: str  # diesel | grid (for the uncertainty distributions)
    completeness: float
    ghg_scope: int = 1  # 1: fuel burnt on site; 2: purchased electricity (GHG Protocol Corporate Standard)
    gas: str = "CO2"  # what the factor covers: CO2 only, or CO2e
    resets: int = 0  # meter register resets in the period (not counted as use)
    jumps: int = 0  # readings beyond the meter's maximum rate or single bad readings (not counted)


@dataclass(frozen=True)
class MeterEvent:
    meter: str
    time_ms: int
    kind: str  # reset | jump | outlier
    before: float  # the baseline reading
    value: float  # the reading that did not count


@dataclass
class MeterUse:
    """A meter's readings turned into use once for all periods (see the module docstring)."""

    times_ms: np.ndarray
    cum: np.ndarray  # cumulative use up to and including each reading (len + 1, cum[0] = 0)
    cum_resets: np.ndarray
    cum_jumps: np.ndarray
    events: list[MeterEvent]

    @classmethod
    def of(cls, m: MeterConfig, series: MeterSeries) -> MeterUse:
        t, v = series.cleaned()
        inc, ev = meter_increments(t, v, m.max_rate_per_h, m.resolution)
        names = {METER_RESET: "reset", METER_JUMP: "jump", METER_OUTLIER: "outlier"}
        events, base = [], v[0] if v.size else 0.0
        for k in range(v.size):
            if ev[k] in names:
                events.append(MeterEvent(meter_id(m), int(t[k]), names[ev[k]], float(base), float(v[k])))
            if ev[k] != METER_OUTLIER:
                base = v[k]
        zero = np.zeros(1)
        return cls(
            t,
            np.concatenate([zero, np.cumsum(inc)]),
            np.concatenate([zero, np.cumsum(ev == METER_RESET)]),
            np.concatenate([zero, np.cumsum((ev == METER_JUMP) | (ev == METER_OUTLIER))]),
            events,
        )


def meter_id(m: MeterConfig) -> str:
    return f"{m.device}.{m.sensor}" if m.sensor else m.device


def meter_rows(
    m: MeterConfig,
    series: MeterSeries,
    factor: EmissionFactor,
    periods: list[Period],
    latest_ms: int,
    use: MeterUse | None = None,
) -> list[SourceRow]:
    """One row per period; ``use`` (from :meth:`MeterUse.of`) saves recomputing the increments."""
    use = MeterUse.of(m, series) if use is None else use
    t = use.times_ms
    rows = []
    for p in periods:
        a, b = np.searchsorted(t, [p.start_ms, p.end_ms])
        amount = float(use.cum[b] - use.cum[a])
        expected = (min(p.end_ms, latest_ms + 1) - p.start_ms) / 1000 / m.expected_interval_s
        if m.quantity == "diesel_l_total":
            kind, fk, t_co2 = "diesel", "diesel", float(diesel_t_co2(amount, factor.kg_co2_per_unit))
        else:
            kind, fk, t_co2 = "electricity", "grid", float(grid_t_co2(amount, factor.kg_co2_per_unit))
        rows.append(
            SourceRow(
                meter_id(m),
                kind,
                m.farm,
                p,
                amount,
                "L" if kind == "diesel" else "kWh",
                t_co2,
                factor.key,
                fk,
                min(1.0, (b - a) / expected) if expected > 0 else 1.0,
                1 if kind == "diesel" else 2,
                factor.gas,
                int(use.cum_resets[b] - use.cum_resets[a]),
                int(use.cum_jumps[b] - use.cum_jumps[a]),
            )
        )
    return rows


@dataclass
class FeedRow:
    """The feed carbon of one fed pen in a period: biogenic, its own account, an estimate from configuration."""

    pen: str
    farm: str
    period: Period
    production_wet_t: float  # fish produced in the period (pro-rated from the configured t/year)
    feed_t: float
    t_co2e: float
    rule: str
    estimate: bool = True  # computed from configured production, not from a meter or sensor


def feed_rows(pen: PenConfig, periods: list[Period], latest_ms: int) -> list[FeedRow]:
    """Feed carbon, pro-rated from the annual production over the elapsed part of each period."""
    rows = []
    for p in periods:
        elapsed = max(0, min(p.end_ms, latest_ms) - p.start_ms)
        fish_t = pen.production_wet_t_per_year * elapsed / YEAR_MS
        feed_t = fish_t * pen.fcr
        retained = fish_t if pen.rule == "net_of_retention" else 0.0
        t_co2e = float(feed_t_co2e(feed_t, pen.feed_c, retained, pen.fish_t_c_per_wet_t))
        rows.append(FeedRow(pen.pen, pen.farm, p, fish_t, feed_t, t_co2e, pen.rule))
    return rows


@dataclass
class ReefRow:
    zone: str
    farm: str
    period: Period
    fish_wet_t: float
    fish_t_c: float
    attached_t_c: float
    completeness: float

    @property
    def stock_t_c(self) -> float:
        return self.fish_t_c + self.attached_t_c


def reef_stock_at(
    reef: ReefConfig,
    coeffs: dict[str, GroupCoefficients],
    t_ms: int,
    density: MeterSeries | None,
    length: MeterSeries | None,
    window_ms: int = 86_400_000,
) -> tuple[float, float, float]:
    """(fish wet t, fish t C, attached t C) from the readings of the day before ``t_ms``.

    Fish wet t = mean density (1/m3) x volume (m3) x W(mean length) (g) / 1e6. W at the mean length
    underestimates the mean W when lengths vary (W is convex in L); stated in docs/carbon.md.
    Missing readings give NaN fish values (reported as missing).
    """
    attached = float(reef.attached_wet_t * coeffs[reef.attached_group].t_c_per_wet_t)

    def mean_in(s: MeterSeries | None) -> float:
        if s is None:
            return float("nan")
        t, v = s.cleaned()
        sel = v[(t >= t_ms - window_ms) & (t < t_ms)]
        return float(sel.mean()) if sel.size else float("nan")

    dens, length_cm = mean_in(density), mean_in(length)
    wet_t = float(dens * reef.volume_m3 * fish_wet_g(length_cm, reef.species.a_g_per_cm_b, reef.species.b) / 1e6)
    fish_c = float(biomass_t_c(wet_t, reef.fish_dry_wet_ratio, reef.fish_c_of_dry))
    return wet_t, fish_c, attached
