"""The island budget: per-asset sinks, energy sources, feed and reef stock per period, totals per scope.

Scopes (contract ``carbon_budget``): ``asset`` (one longline/raft), ``farm``, ``category`` (bivalve,
macroalgae, reef, source: energy and feed, each its own field) and ``site``. Accounts, each total with
its own completeness:

- creditable sinks (bivalves, macroalgae; the reef stock change only with ``credit_reef``), from load cells;
- energy sources: scope 1 (diesel) and scope 2 (grid electricity), from meters, CO2 from the factor;
- feed of fed pens: biogenic, its own line, an estimate from configured production, in net emissions
  only when ``feed_in_net_method`` cites a method that counts it;
- reef standing stock: reported, not creditable.

Net emissions = energy sources - creditable sinks (+ feed with ``feed_in_net_method``). A total whose
completeness (the lowest of its data types) is below ``min_completeness`` is insufficient data and
issues no credits. An asset whose stock is missing at a period boundary has no sink for that period
(NaN, reported with ``missing_assets``) and is left out of the totals - never filled in. The totals and
their intervals come from :class:`blueranch.models.carbon.calculator.Calculator`, which ``carbon compute``
uses too; the credits from :func:`blueranch.models.carbon.credits.credits`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from blueranch.models.carbon.biomass import AssetSeries, build_series
from blueranch.models.carbon.calculator import Calculator, EnergyItem, FeedItem, Scope, ScopeFigures, SinkItem
from blueranch.models.carbon.config import AssetConfig, CarbonConfig
from blueranch.models.carbon.credits import credits
from blueranch.models.carbon.method import stock_change_wet_t, to_t_co2e
from blueranch.models.carbon.periods import Period
from blueranch.models.carbon.sources import (
    FeedRow,
    MeterEvent,
    MeterSeries,
    MeterUse,
    ReefRow,
    SourceRow,
    feed_rows,
    meter_id,
    meter_rows,
    reef_stock_at,
)

DAY_MS = 86_400_000


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
    """One scope's figures for one period (t CO2e unless the name says t C). NaN: no data of that type."""

    scope: str
    key: str
    period: Period
    sinks_t_c: float
    sinks_t_co2e: float
    sinks_lo95_t_co2e: float
    sinks_hi95_t_co2e: float
    scope1_t_co2e: float  # diesel burnt on the island (CO2)
    scope2_t_co2e: float  # grid electricity (CO2)
    sources_t_co2e: float  # energy sources: scope 1 + scope 2
    sources_lo95_t_co2e: float
    sources_hi95_t_co2e: float
    feed_t_co2e: float  # feed carbon of fed pens (biogenic, reported apart; an estimate)
    feed_lo95_t_co2e: float
    feed_hi95_t_co2e: float
    net_emissions_t_co2e: float  # energy sources - creditable sinks (+ feed with feed_in_net_method)
    net_lo95_t_co2e: float
    net_hi95_t_co2e: float
    reef_stock_t_c: float
    completeness: float  # the lowest of the data types behind the net (biomass, energy)
    completeness_biomass: float
    completeness_energy: float
    completeness_reef: float
    data_sufficient: bool
    missing_assets: int
    ipcc_u_sinks: float  # Approach 1: half the 95 % interval as a share of the sinks
    ipcc_u_sources: float  # ... of the energy sources
    ipcc_u_feed: float
    ipcc_u_net: float
    uncertainty_deduction_t_co2e: float
    buffer_t_co2e: float
    creditable_t_co2e: float  # after the uncertainty deduction and the buffer; 0 when insufficient
    value: float | None  # creditable t CO2e x price
    meter_resets: int = 0  # meter register resets in the period (use counted from the new reading)
    meter_jumps: int = 0  # meter readings beyond the maximum rate, flagged and not counted
    #: share of the variance per input label (site scope only): of the sinks, and of the net emissions
    attribution_sinks: list[tuple[str, float]] | None = None
    attribution_net: list[tuple[str, float]] | None = None

    @property
    def status(self) -> str:
        return "measured" if self.data_sufficient else "insufficient data"


@dataclass
class Inputs:
    """Everything the budget is computed from (the report package holds exactly this)."""

    assets: dict[str, AssetSeries]
    meters: dict[str, MeterSeries] = field(default_factory=dict)
    reef_density: dict[str, MeterSeries] = field(default_factory=dict)
    reef_length: dict[str, MeterSeries] = field(default_factory=dict)


def asset_series(cfg: CarbonConfig, a: AssetConfig, times_ms, load_kg, qc) -> AssetSeries:
    """One asset's readings (as read from InfluxDB or from a report package) to its biomass record."""
    return build_series(
        a.asset,
        times_ms,
        load_kg,
        qc,
        a.calibration,
        cfg.detection,
        exclude_suspect=cfg.suspect == "exclude",
        windows=a.harvest_windows,
    )


@dataclass
class Budget:
    periods: list[Period]
    sinks: list[SinkRow]
    sources: list[SourceRow]
    reefs: list[ReefRow]
    totals: list[Total]
    meter_events: list[MeterEvent] = field(default_factory=list)
    feed: list[FeedRow] = field(default_factory=list)

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


def make_calculator(
    cfg: CarbonConfig, draws: int, seed: int, tables: Mapping[str, str] | None = None
) -> tuple[Calculator, list[Scope]]:
    scopes = _scopes(cfg)
    site = ("site", cfg.site)
    factors = cfg.emission_factors(tables)
    sinks = [SinkItem(a.group, (site, ("farm", a.farm), ("category", a.kind), ("asset", a.asset))) for a in cfg.assets]
    energy = [
        EnergyItem(
            1 if m.quantity == "diesel_l_total" else 2,
            "diesel" if m.quantity == "diesel_l_total" else "grid",
            factors[m.factor].key,
            tuple(s for s in (site, ("farm", m.farm) if m.farm else None, ("category", "source")) if s),
        )
        for m in cfg.meters
    ]
    feed = [
        FeedItem(
            p.fcr,
            p.feed_c,
            p.fish_t_c_per_wet_t if p.rule == "net_of_retention" else 0.0,
            production_key=p.production_source,
            fcr_key=f"fcr {p.fcr} {p.feed_source}",
            feed_c_key=f"feed_c {p.feed_c} {p.feed_source}",
            fish_c_key=f"fish_c {p.fish_t_c_per_wet_t} {p.feed_source}",
            scopes=(site, ("farm", p.farm), ("category", "source")),
        )
        for p in cfg.pens
    ]
    calc = Calculator(
        scopes,
        cfg.coefficients(tables),
        sinks,
        energy,
        feed,
        cfg.calcification,
        cfg.psi,
        cfg.uncertainty,
        draws,
        seed,
        feed_in_net=cfg.feed_in_net_method is not None,
    )
    return calc, scopes


def _mean_by_scope(values: list[float], members: np.ndarray) -> np.ndarray:
    """Mean of the items' values per scope; NaN for a scope without items of the kind."""
    n = members.sum(axis=0)
    total = np.asarray(values, dtype=float) @ members if len(values) else np.zeros(members.shape[1])
    return np.divide(total, n, out=np.full(members.shape[1], np.nan), where=n > 0)


def compute_budget(
    cfg: CarbonConfig,
    inputs: Inputs,
    periods: list[Period],
    latest_ms: int,
    draws: int | None = None,
    seed: int | None = None,
    tables: Mapping[str, str] | None = None,
) -> Budget:
    """Sinks, sources, feed, reef stock and scope totals with 95 % intervals and credits for every period.

    ``tables``: the reference tables' text to use instead of the packaged ones (``carbon verify``).
    """
    n = draws or cfg.uncertainty.draws
    seed = cfg.uncertainty.seed if seed is None else seed
    coeffs = cfg.coefficients(tables)
    factors = cfg.emission_factors(tables)
    calc, scopes = make_calculator(cfg, n, seed, tables)
    idx = calc.index
    site_j = idx[("site", cfg.site)]
    empty = (np.array([]), np.array([]), np.array([], dtype=np.int64))
    all_sinks: list[SinkRow] = []
    all_sources: list[SourceRow] = []
    all_feed: list[FeedRow] = []
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
    m_reef = calc.membership([(("site", cfg.site), ("farm", r.farm), ("category", "reef")) for r in cfg.reefs])
    for k, p in enumerate(periods):
        sinks = _sink_rows(cfg, inputs, figures, k, p, calc)
        sources = list(meter_by_period[k])
        feed = [r for pen in cfg.pens for r in feed_rows(pen, [p], latest_ms)]
        reefs, reef_sink_t_c = _reefs(cfg, coeffs, inputs, p, latest_ms, idx, len(scopes))
        fig = calc.period(
            np.array([r.sink_wet_t for r in sinks]),
            np.array([r.sink_sd_wet_t for r in sinks]),
            [r.t_co2e for r in sources],
            [r.production_wet_t for r in feed],
            reef_sink_t_c,
        )
        totals += _totals(cfg, calc, scopes, site_j, p, fig, sinks, sources, reefs, m_reef)
        all_sinks += sinks
        all_sources += sources
        all_feed += feed
        all_reefs += reefs
    events = sorted((e for u in uses for e in u.events), key=lambda e: (e.time_ms, e.meter))
    return Budget(list(periods), all_sinks, all_sources, all_reefs, totals, events, all_feed)


def _reefs(cfg, coeffs, inputs: Inputs, p: Period, latest_ms: int, idx, n_scopes: int):
    """The reef rows of a period (stock at its end, completeness by the monitor's own interval) and, with
    ``credit_reef``, the stock change per scope."""
    reefs = []
    end_ms = min(p.end_ms, latest_ms + 1)
    reef_sink_t_c = np.zeros(n_scopes)
    for r in cfg.reefs:
        dens = inputs.reef_density.get(r.zone)
        wet, fish_c, att = reef_stock_at(r, coeffs, end_ms, dens, inputs.reef_length.get(r.zone))
        present = 0 if dens is None else int(((dens.times_ms >= end_ms - DAY_MS) & (dens.times_ms < end_ms)).sum())
        reefs.append(ReefRow(r.zone, r.farm, p, wet, fish_c, att, min(1.0, present / (86400 / r.expected_interval_s))))
        if cfg.credit_reef:
            _, c0, a0 = reef_stock_at(r, coeffs, p.start_ms, dens, inputs.reef_length.get(r.zone))
            change = (fish_c + att) - (c0 + a0)
            if np.isfinite(change):
                for s in (("site", cfg.site), ("farm", r.farm), ("category", "reef")):
                    reef_sink_t_c[idx[s]] += change
    return reefs, reef_sink_t_c


def _totals(
    cfg: CarbonConfig,
    calc: Calculator,
    scopes: list[Scope],
    site_j: int,
    p: Period,
    fig: ScopeFigures,
    sinks: list[SinkRow],
    sources: list[SourceRow],
    reefs: list[ReefRow],
    m_reef: np.ndarray,
) -> list[Total]:
    """Per scope: completeness per data type (each judged at its own interval), the data status, credits."""
    c_bio = _mean_by_scope([r.completeness for r in sinks], calc.m_sink)
    c_energy = _mean_by_scope([r.completeness for r in sources], calc.m_src)
    c_reef = _mean_by_scope([r.completeness for r in reefs], m_reef)
    behind_net = np.vstack([c_bio, c_energy])
    has = np.isfinite(behind_net).any(axis=0)
    completeness = np.where(has, np.nanmin(np.where(np.isfinite(behind_net), behind_net, np.inf), axis=0), c_reef)
    completeness = np.where(np.isfinite(completeness), completeness, 1.0)  # no data of any type: nothing to miss
    sufficient = completeness >= cfg.min_completeness
    # Credits rest on the sinks' own data: the biomass completeness.
    credit_ok = np.where(np.isfinite(c_bio), c_bio, 0.0) >= cfg.min_completeness
    cr = credits(fig.sinks_t_co2e, fig.sinks_lo95_t_co2e, fig.sinks_hi95_t_co2e, credit_ok, cfg.credits)
    missing = (~np.isfinite([r.sink_wet_t for r in sinks])).astype(float) @ calc.m_sink
    count = lambda attr: np.array([getattr(r, attr) for r in sources], dtype=float) @ calc.m_src  # noqa: E731
    resets = count("resets") if sources else np.zeros(len(scopes))
    jumps = count("jumps") if sources else np.zeros(len(scopes))
    reef_stock = np.array([r.stock_t_c if np.isfinite(r.stock_t_c) else 0.0 for r in reefs]) @ m_reef
    if not reefs:
        reef_stock = np.zeros(len(scopes))
    out = []
    for j, (scope, key) in enumerate(scopes):
        creditable = float(cr.creditable_t_co2e[j])
        out.append(
            Total(
                scope,
                key,
                p,
                float(fig.sinks_t_c[j]),
                float(fig.sinks_t_co2e[j]),
                float(fig.sinks_lo95_t_co2e[j]),
                float(fig.sinks_hi95_t_co2e[j]),
                float(fig.scope1_t_co2e[j]),
                float(fig.scope2_t_co2e[j]),
                float(fig.sources_t_co2e[j]),
                float(fig.sources_lo95_t_co2e[j]),
                float(fig.sources_hi95_t_co2e[j]),
                float(fig.feed_t_co2e[j]),
                float(fig.feed_lo95_t_co2e[j]),
                float(fig.feed_hi95_t_co2e[j]),
                float(fig.net_emissions_t_co2e[j]),
                float(fig.net_lo95_t_co2e[j]),
                float(fig.net_hi95_t_co2e[j]),
                float(reef_stock[j]),
                float(completeness[j]),
                float(c_bio[j]),
                float(c_energy[j]),
                float(c_reef[j]),
                bool(sufficient[j]),
                int(missing[j]),
                float(fig.ipcc_u_sinks[j]),
                float(fig.ipcc_u_sources[j]),
                float(fig.ipcc_u_feed[j]),
                float(fig.ipcc_u_net[j]),
                float(cr.uncertainty_deduction_t_co2e[j]),
                float(cr.buffer_t_co2e[j]),
                creditable,
                creditable * cfg.price_per_t_co2e if cfg.price_per_t_co2e is not None else None,
                int(resets[j]),
                int(jumps[j]),
                fig.attribution(j, ("sinks",)) if j == site_j else None,
                fig.attribution(j, calc.net_accounts) if j == site_j else None,
            )
        )
    return out
