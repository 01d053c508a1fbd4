"""The island budget: per-asset sinks, sources and reef stock per period, totals per scope with 95 % intervals.

Scopes (contract ``carbon_budget``): ``asset`` (one longline/raft), ``farm``, ``category`` (bivalve,
macroalgae, reef, source) and ``site``. Creditable sinks are bivalves and macroalgae (and the reef stock
change only when ``credit_reef`` is set). An asset whose stock is missing at a period boundary has no sink
for that period (NaN, reported with ``missing_assets``) and is left out of the totals - never filled in.
This module turns readings into per-asset stock changes, sources and reef stocks; the totals and their
intervals come from :class:`blueranch.models.carbon.calculator.Calculator`, which ``carbon compute`` uses too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from blueranch.models.carbon.biomass import AssetSeries
from blueranch.models.carbon.calculator import Calculator, Scope, SourceFlow
from blueranch.models.carbon.config import CarbonConfig
from blueranch.models.carbon.method import stock_change_wet_t, to_t_co2e
from blueranch.models.carbon.periods import Period
from blueranch.models.carbon.sources import (
    MeterEvent,
    MeterSeries,
    MeterUse,
    ReefRow,
    SourceRow,
    meter_id,
    meter_rows,
    pen_rows,
    reef_stock_at,
)


@dataclass
class SinkRow:
    asset: str
    farm: str
    kind: str
    group: str
    period: Period
    start_wet_t: float
    end_wet_t: float
    harvested_wet_t: float
    lost_wet_t: float
    sink_wet_t: float
    sink_sd_wet_t: float
    t_c: float
    completeness: float

    @property
    def t_co2e(self) -> float:
        return float(to_t_co2e(self.t_c))


@dataclass
class Total:
    scope: str
    key: str
    period: Period
    sinks_t_c: float
    sinks_t_co2e: float
    sinks_lo95_t_co2e: float
    sinks_hi95_t_co2e: float
    sources_t_co2e: float
    sources_lo95_t_co2e: float
    sources_hi95_t_co2e: float
    net_emissions_t_co2e: float
    net_lo95_t_co2e: float
    net_hi95_t_co2e: float
    reef_stock_t_c: float
    value: float | None
    completeness: float
    missing_assets: int
    ipcc_u_sinks: float  # Approach 1: half the 95 % interval as a share of the sinks
    ipcc_u_sources: float  # ... and of the sources
    meter_resets: int = 0  # meter register resets in the period (use counted from the new reading)
    meter_jumps: int = 0  # meter readings beyond the maximum rate, flagged and not counted


@dataclass
class Inputs:
    """Everything the budget is computed from (the report digests exactly this)."""

    assets: dict[str, AssetSeries]
    meters: dict[str, MeterSeries] = field(default_factory=dict)
    reef_density: dict[str, MeterSeries] = field(default_factory=dict)
    reef_length: dict[str, MeterSeries] = field(default_factory=dict)


@dataclass
class Budget:
    periods: list[Period]
    sinks: list[SinkRow]
    sources: list[SourceRow]
    reefs: list[ReefRow]
    totals: list[Total]
    meter_events: list[MeterEvent] = field(default_factory=list)

    def total(self, scope: str, key: str, period: Period) -> Total:
        for t in self.totals:
            if t.scope == scope and t.key == key and t.period == period:
                return t
        raise KeyError(f"no total for {scope}={key} in {period}")


def _asset_figures(
    cfg: CarbonConfig, inputs: Inputs, periods: list[Period], latest_ms: int
) -> dict[str, dict[str, np.ndarray]]:
    """Per asset, the figures of every period at once (vectorised over periods)."""
    starts = np.array([p.start_ms for p in periods], dtype=np.int64)
    ends = np.array([min(p.end_ms, latest_ms + 1) for p in periods], dtype=np.int64)
    return {
        a.asset: inputs.assets[a.asset].period_figures(starts, ends) for a in cfg.assets if a.asset in inputs.assets
    }


def _sink_rows(
    cfg: CarbonConfig,
    inputs: Inputs,
    figures: dict[str, dict[str, np.ndarray]],
    k: int,
    p: Period,
    calc: Calculator,
) -> list[SinkRow]:
    rows = []
    for a in cfg.assets:
        f = figures.get(a.asset)
        if f is None:
            nan = float("nan")
            rows.append(SinkRow(a.asset, a.farm, a.kind, a.group, p, nan, nan, 0.0, 0.0, nan, nan, nan, 0.0))
            continue
        start, end = float(f["start_wet_t"][k]), float(f["end_wet_t"][k])
        harvested, lost = float(f["harvested_wet_t"][k]), float(f["lost_wet_t"][k])
        sink = float(stock_change_wet_t(start, end, harvested, lost, cfg.losses))
        sd = inputs.assets[a.asset].level_sd_wet_t * np.sqrt(2.0 + 2.0 * f["declines"][k])
        rows.append(
            SinkRow(
                a.asset,
                a.farm,
                a.kind,
                a.group,
                p,
                start,
                end,
                harvested,
                lost,
                sink,
                float(sd),
                calc.sink_t_c(a.group, sink),
                float(f["completeness"][k]),
            )
        )
    return rows


def _scopes(cfg: CarbonConfig) -> list[Scope]:
    out: list[Scope] = [("site", cfg.site)]
    farms = sorted(
        {a.farm for a in cfg.assets}
        | {m.farm for m in cfg.meters if m.farm}
        | {p.farm for p in cfg.pens}
        | {r.farm for r in cfg.reefs}
    )
    out += [("farm", f) for f in farms]
    cats = sorted(
        {a.kind for a in cfg.assets}
        | ({"reef"} if cfg.reefs else set())
        | ({"source"} if cfg.meters or cfg.pens else set())
    )
    out += [("category", c) for c in cats]
    out += [("asset", a.asset) for a in cfg.assets]
    return out


def compute_budget(
    cfg: CarbonConfig,
    inputs: Inputs,
    periods: list[Period],
    latest_ms: int,
    draws: int | None = None,
    seed: int | None = None,
) -> Budget:
    """Sinks, sources, reef stock and scope totals with Monte Carlo 95 % intervals for every period."""
    n = draws or cfg.uncertainty.draws
    seed = cfg.uncertainty.seed if seed is None else seed
    coeffs = cfg.coefficients()
    factors = cfg.emission_factors()
    scopes = _scopes(cfg)
    calc = Calculator(
        scopes,
        coeffs,
        [a.group for a in cfg.assets],
        [(("site", cfg.site), ("farm", a.farm), ("category", a.kind), ("asset", a.asset)) for a in cfg.assets],
        [(("site", cfg.site), ("farm", s.farm), ("category", "source")) for s in [*cfg.meters, *cfg.pens]],
        cfg.calcification,
        cfg.psi,
        cfg.uncertainty,
        n,
        seed,
    )
    idx = calc.index
    empty = (np.array([]), np.array([]), np.array([], dtype=np.int64))
    all_sinks: list[SinkRow] = []
    all_sources: list[SourceRow] = []
    all_reefs: list[ReefRow] = []
    totals: list[Total] = []
    figures = _asset_figures(cfg, inputs, periods, latest_ms)
    uses = [MeterUse.of(m, inputs.meters.get(meter_id(m), MeterSeries(*empty))) for m in cfg.meters]
    meter_by_period = list(
        zip(
            *(
                meter_rows(m, MeterSeries(*empty), factors[m.factor], periods, latest_ms, use)
                for m, use in zip(cfg.meters, uses, strict=True)
            ),
            strict=True,
        )
    ) or [()] * len(periods)
    for k, p in enumerate(periods):
        sinks = _sink_rows(cfg, inputs, figures, k, p, calc)
        sources = list(meter_by_period[k])
        sources += [r for pen in cfg.pens for r in pen_rows(pen, [p], latest_ms)]
        reefs = []
        end_ms = min(p.end_ms, latest_ms + 1)
        reef_sink_t_c = np.zeros(len(scopes))
        for r in cfg.reefs:
            wet, fish_c, att = reef_stock_at(
                r, coeffs, end_ms, inputs.reef_density.get(r.zone), inputs.reef_length.get(r.zone)
            )
            dens = inputs.reef_density.get(r.zone)
            present = (
                0 if dens is None else int(((dens.times_ms >= end_ms - 86_400_000) & (dens.times_ms < end_ms)).sum())
            )
            reefs.append(
                ReefRow(
                    r.zone, r.farm, p, wet, fish_c, att, min(1.0, present / (86400 / cfg.detection.expected_interval_s))
                )
            )
            if cfg.credit_reef:
                _, c0, a0 = reef_stock_at(r, coeffs, p.start_ms, dens, inputs.reef_length.get(r.zone))
                change = (fish_c + att) - (c0 + a0)
                if np.isfinite(change):
                    for s in (("site", cfg.site), ("farm", r.farm), ("category", "reef")):
                        reef_sink_t_c[idx[s]] += change
        fig = calc.period(
            np.array([r.sink_wet_t for r in sinks]),
            np.array([r.sink_sd_wet_t for r in sinks]),
            [SourceFlow(r.t_co2e, r.factor_kind, r.factor_key) for r in sources],
            reef_sink_t_c,
        )
        # Completeness and missing assets per scope, as matrix products over the membership matrices.
        ok = np.isfinite([r.sink_wet_t for r in sinks])
        metered = np.array([r.kind != "feed" for r in sources], dtype=bool)
        comp_sum = np.array([r.completeness for r in sinks]) @ calc.m_sink
        comp_n = calc.m_sink.sum(axis=0)
        if len(sources):
            comp_sum = comp_sum + np.where(metered, [r.completeness for r in sources], 0.0) @ calc.m_src
            comp_n = comp_n + metered.astype(float) @ calc.m_src
        missing = (~ok).astype(float) @ calc.m_sink
        resets = np.array([r.resets for r in sources], dtype=float) @ calc.m_src if sources else np.zeros(len(scopes))
        jumps = np.array([r.jumps for r in sources], dtype=float) @ calc.m_src if sources else np.zeros(len(scopes))
        reef_by_scope = np.zeros(len(scopes))
        for r in reefs:
            for sc in (("site", cfg.site), ("farm", r.farm), ("category", "reef")):
                comp_sum[idx[sc]] += r.completeness
                comp_n[idx[sc]] += 1
                if np.isfinite(r.stock_t_c):
                    reef_by_scope[idx[sc]] += r.stock_t_c
        for j, (scope, key) in enumerate(scopes):
            co2e = float(fig.sinks_t_co2e[j])
            totals.append(
                Total(
                    scope,
                    key,
                    p,
                    float(fig.sinks_t_c[j]),
                    co2e,
                    float(fig.sinks_lo95_t_co2e[j]),
                    float(fig.sinks_hi95_t_co2e[j]),
                    float(fig.sources_t_co2e[j]),
                    float(fig.sources_lo95_t_co2e[j]),
                    float(fig.sources_hi95_t_co2e[j]),
                    float(fig.net_emissions_t_co2e[j]),
                    float(fig.net_lo95_t_co2e[j]),
                    float(fig.net_hi95_t_co2e[j]),
                    float(reef_by_scope[j]),
                    co2e * cfg.price_per_t_co2e if cfg.price_per_t_co2e is not None else None,
                    float(comp_sum[j] / comp_n[j]) if comp_n[j] else 1.0,
                    int(missing[j]),
                    float(fig.ipcc_u_sinks[j]),
                    float(fig.ipcc_u_sources[j]),
                    int(resets[j]),
                    int(jumps[j]),
                )
            )
        all_sinks += sinks
        all_sources += sources
        all_reefs += reefs
    events = sorted((e for u in uses for e in u.events), key=lambda e: (e.time_ms, e.meter))
    return Budget(list(periods), all_sinks, all_sources, all_reefs, totals, events)
