"""``blueranch carbon compute``: the budget of reported tonnages and fuel/energy figures (no sensors).

Input and output are JSON; the schema is :class:`ComputeInput` (the issue's calculator schema). The 95 %
intervals cover the coefficients (and psi in ``deduct`` mode), the reported tonnages (harvests weighed at
landing, standing stocks estimated: ``UncertaintyConfig.harvest_weight_rel_sd`` and
``stock_estimate_rel_sd``, or a sink's own ``harvested_rel_sd``/``stock_rel_sd``), the reported litres and
kWh (``meter_rel_sd``) and the emission factors. Credits are the sinks after the uncertainty deduction and
the buffer (:mod:`~blueranch.models.carbon.credits`, rules of ``credits``, default as in the site config).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from blueranch.contracts.mqtt import UtcTime
from blueranch.contracts.strict import StrictModel
from blueranch.models.carbon import kinds
from blueranch.models.carbon.calculator import Calculator, EnergyItem, SinkItem
from blueranch.models.carbon.coefficients import COEFF_FIELDS, groups_of, load_coefficients, load_emission_factors
from blueranch.models.carbon.config import CreditsConfig, UncertaintyConfig
from blueranch.models.carbon.credits import credits
from blueranch.models.carbon.method import PSI_DEFAULT, diesel_t_co2, grid_t_co2, stock_change_wet_t, to_t_co2e

#: Grid factor used when an electricity source gives none: the national average published by the Ministry
#: of Ecology and Environment (emission_factors.csv, 2023 vintage); the provincial row is marked "verify".
DEFAULT_GRID_FACTOR = "grid_china_national"
DRAWS, SEED = 10_000, 20231031
#: ``draws x (sinks + sources)`` at most. The calculator holds about five float64 arrays of that many cells
#: (measured: about 40 bytes a cell, so 10,000,000 cells peak near 400 MB). At the default 10,000 draws that is
#: 1,000 items; the schema's 100,000 sinks need ``--draws 100``. Beyond it the command refuses (exit 2) rather
#: than exhaust the machine's memory.
MAX_MONTE_CARLO_CELLS = 10_000_000
TONNES = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]


class PeriodIn(StrictModel):
    start: UtcTime
    end: UtcTime

    @model_validator(mode="after")
    def _order(self) -> PeriodIn:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} must be after start {self.start.isoformat()}")
        return self


class SinkIn(StrictModel):
    id: str = Field(min_length=1, max_length=64)
    kind: Literal[kinds.names()]  # type: ignore[valid-type]
    group: str
    harvested_wet_t: TONNES
    stock_start_wet_t: TONNES = 0.0
    stock_end_wet_t: TONNES = 0.0
    #: Relative SDs of the reported harvest and stocks (default: UncertaintyConfig's, stated assumptions).
    harvested_rel_sd: Annotated[float, Field(ge=0, le=1)] | None = None
    stock_rel_sd: Annotated[float, Field(ge=0, le=1)] | None = None

    @model_validator(mode="after")
    def _group(self) -> SinkIn:
        allowed = groups_of(self.kind, load_coefficients())
        if self.group not in allowed:
            raise ValueError(f"group {self.group!r} is not a {self.kind} group; allowed values: {', '.join(allowed)}")
        return self


class DieselIn(StrictModel):
    id: str = Field(min_length=1, max_length=64)
    kind: Literal["diesel"]
    litres: Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]


class ElectricityIn(StrictModel):
    id: str = Field(min_length=1, max_length=64)
    kind: Literal["electricity"]
    kwh: Annotated[float, Field(ge=0, le=1e13, allow_inf_nan=False)]
    factor_kg_co2_per_kwh: Annotated[float, Field(ge=0, le=5)] | None = None


class ComputeInput(StrictModel):
    site: str = Field(min_length=1, max_length=64)
    period: PeriodIn
    calcification: Literal["count", "deduct"] = "count"
    psi: Annotated[float, Field(ge=0, le=1)] = PSI_DEFAULT
    price_per_t_co2e: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    credits: CreditsConfig = CreditsConfig()
    sinks: list[SinkIn] = Field(default_factory=list, max_length=100_000)
    sources: list[Annotated[DieselIn | ElectricityIn, Field(discriminator="kind")]] = Field(
        default_factory=list, max_length=100_000
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> ComputeInput:
        """An id names one item: a sink given twice would be counted twice."""
        first: dict[str, str] = {}
        for where, items in (("sinks", self.sinks), ("sources", self.sources)):
            for i, item in enumerate(items):
                here = f"{where}[{i}]"
                seen = first.setdefault(item.id, here)
                if seen != here:
                    raise ValueError(f"{here}.id {item.id!r} is used by {seen} (ids must be unique)")
        return self


def check_size(inp: ComputeInput, draws: int) -> None:
    """Refuse (``ValueError``) an input whose Monte Carlo would pass :data:`MAX_MONTE_CARLO_CELLS`."""
    items = len(inp.sinks) + len(inp.sources)
    if draws * items > MAX_MONTE_CARLO_CELLS:
        most = MAX_MONTE_CARLO_CELLS // items
        advice = f"give --draws {most} or fewer, or split the input" if most >= 100 else "split the input"
        raise ValueError(
            f"{items} sinks and sources x {draws} draws is {draws * items:,} Monte Carlo cells, more than the limit "
            f"of {MAX_MONTE_CARLO_CELLS:,} (about 40 bytes of memory a cell): {advice}"
        )


def _interval(lo: float, hi: float, factor: float = 1.0, digits: int = 6) -> dict[str, float]:
    return {"lo95": round(float(lo) * factor, digits), "hi95": round(float(hi) * factor, digits)}


def _source(src: DieselIn | ElectricityIn, factors: dict) -> tuple[EnergyItem, float, dict]:
    """One source's item for the calculator, its t CO2, and its factor as the output states it."""
    site = (("site", ""),)
    if isinstance(src, DieselIn):
        f = factors["diesel"]
        t_co2 = float(diesel_t_co2(src.litres, f.kg_co2_per_unit))
        factor = {"key": "diesel", "kg_co2_per_unit": f.kg_co2_per_unit, "gas": f.gas, "source": f.source}
        return EnergyItem(1, "diesel", "diesel", site), t_co2, factor
    f = factors[DEFAULT_GRID_FACTOR]
    given = src.factor_kg_co2_per_kwh is not None
    value = src.factor_kg_co2_per_kwh if given else f.kg_co2_per_unit
    key = f"input:{src.id}" if given else DEFAULT_GRID_FACTOR
    factor = {
        "key": key,
        "kg_co2_per_unit": value,
        "gas": "CO2" if not given else "as given",
        "source": "given in the input" if given else f.source,
    }
    return EnergyItem(2, "grid", key, site), float(grid_t_co2(src.kwh, value)), factor


def _sink_sd(s: SinkIn, unc: UncertaintyConfig) -> float:
    """SD (wet t) of a reported stock change: harvest weighed, stocks estimated, independent."""
    h = unc.harvest_weight_rel_sd if s.harvested_rel_sd is None else s.harvested_rel_sd
    st = unc.stock_estimate_rel_sd if s.stock_rel_sd is None else s.stock_rel_sd
    return float(
        np.sqrt((h * s.harvested_wet_t) ** 2 + (st * s.stock_start_wet_t) ** 2 + (st * s.stock_end_wet_t) ** 2)
    )


def compute(inp: ComputeInput, draws: int = DRAWS, seed: int = SEED) -> dict:
    """The calculator's output document (all figures rounded to 1e-6 of their unit).

    The figures come from the worker's calculator (:class:`~blueranch.models.carbon.calculator.Calculator`)
    with one scope, the site, and no calibration error (the tonnages are reported, not weighed by a load cell).
    """
    check_size(inp, draws)
    coeffs = load_coefficients()
    factors = load_emission_factors()
    unc = UncertaintyConfig(lines_rel_sd=0.0, wet_per_submerged_rel_sd=0.0)
    site = ("site", "")
    sink_wet = np.array(
        [float(stock_change_wet_t(s.stock_start_wet_t, s.stock_end_wet_t, s.harvested_wet_t)) for s in inp.sinks]
    )
    sink_sd = np.array([_sink_sd(s, unc) for s in inp.sinks])
    flows = [_source(src, factors) for src in inp.sources]
    groups = [s.group for s in inp.sinks]
    calc = Calculator(
        [site],
        coeffs,
        [SinkItem(g, (site,)) for g in groups],
        [item for item, _, _ in flows],
        [],
        inp.calcification,
        inp.psi,
        unc,
        draws,
        seed,
        measurement_label="reported tonnages",
    )
    fig = calc.period(sink_wet, sink_sd, [t for _, t, _ in flows])
    cr = credits(fig.sinks_t_co2e, fig.sinks_lo95_t_co2e, fig.sinks_hi95_t_co2e, np.array([True]), inp.credits)
    items = []
    for s, wet, sd in zip(inp.sinks, sink_wet, sink_sd, strict=True):
        t_c = calc.sink_t_c(s.group, float(wet))
        items.append(
            {
                "id": s.id,
                "category": s.kind,
                "group": s.group,
                "wet_t": round(float(wet), 6),
                "wet_t_sd": round(float(sd), 6),
                "t_c": round(t_c, 6),
                "t_co2e": round(float(to_t_co2e(t_c)), 6),
            }
        )
    for src, (item, t_co2, factor) in zip(inp.sources, flows, strict=True):
        items.append(
            {
                "id": src.id,
                "category": "source",
                "kind": src.kind,
                "ghg_scope": item.ghg_scope,
                "t_c": round(t_co2 * 12 / 44, 6),
                "t_co2e": round(t_co2, 6),
                "factor": factor,
            }
        )
    sinks_co2e = float(fig.sinks_t_co2e[0])
    out = {
        "site": inp.site,
        "period": {
            "start": inp.period.start.isoformat().replace("+00:00", "Z"),
            "end": inp.period.end.isoformat().replace("+00:00", "Z"),
        },
        "method": {
            "standard": "HY/T 0305-2021 carbon stock change: end - start + harvested",
            "calcification": inp.calcification,
            "psi": inp.psi if inp.calcification == "deduct" else None,
            "net_emissions": "energy sources (scope 1 diesel + scope 2 grid) - creditable sinks",
        },
        "basis": "reported figures (no sensor data): completeness is not judged",
        "units": {
            "t_c": "tonnes of carbon",
            "t_co2e": "tonnes of CO2 equivalent (t C x 44/12; sources: CO2 only, as the factors are)",
            "wet_t": "tonnes of wet (live) biomass",
        },
        "sinks_t_c": round(float(fig.sinks_t_c[0]), 6),
        "sinks_t_co2e": round(sinks_co2e, 6),
        "scope1_t_co2e": round(float(fig.scope1_t_co2e[0]), 6),
        "scope2_t_co2e": round(float(fig.scope2_t_co2e[0]), 6),
        "sources_t_co2e": round(float(fig.sources_t_co2e[0]), 6),
        "net_emissions_t_co2e": round(float(fig.net_emissions_t_co2e[0]), 6),
        "credits": {
            "gross_t_co2e": round(sinks_co2e, 6),
            "uncertainty_deduction_t_co2e": round(float(cr.uncertainty_deduction_t_co2e[0]), 6),
            "buffer_t_co2e": round(float(cr.buffer_t_co2e[0]), 6),
            "creditable_t_co2e": round(float(cr.creditable_t_co2e[0]), 6),
            "rule": inp.credits.uncertainty_deduction,
            "buffer_share": inp.credits.buffer_share,
            "sources": {"deduction": inp.credits.deduction_source, "buffer": inp.credits.buffer_source},
        },
        "items": items,
        "uncertainty": {
            "monte_carlo": {
                "draws": draws,
                "seed": seed,
                "sinks_t_co2e": _interval(fig.sinks_lo95_t_co2e[0], fig.sinks_hi95_t_co2e[0]),
                "sources_t_co2e": _interval(fig.sources_lo95_t_co2e[0], fig.sources_hi95_t_co2e[0]),
                "net_emissions_t_co2e": _interval(fig.net_lo95_t_co2e[0], fig.net_hi95_t_co2e[0]),
            },
            "ipcc_approach1": {
                "sinks_u_pct": round(100 * float(fig.ipcc_u_sinks[0]), 3),
                "sources_u_pct": round(100 * float(fig.ipcc_u_sources[0]), 3),
                "net_u_pct": round(100 * float(fig.ipcc_u_net[0]), 3),
                "rule": "IPCC 2006 Vol. 1 Ch. 3 Eq. 3.1/3.2, inputs shared by several items aggregated first",
            },
            "attribution": {
                "sinks": [{"input": k, "share": round(v, 6)} for k, v in fig.attribution(0, ("sinks",))],
                "net_emissions": [
                    {"input": k, "share": round(v, 6)} for k, v in fig.attribution(0, ("sinks", "sources"))
                ],
            },
            "note": "intervals cover coefficients, psi, reported tonnages, reported litres and kWh, and factors",
        },
        "parameters": {
            g: {**{k: getattr(coeffs[g], k) for k in COEFF_FIELDS}, "source": coeffs[g].source}
            for g in sorted(set(groups))
        },
    }
    if inp.price_per_t_co2e is not None:
        price = inp.price_per_t_co2e
        out["price_per_t_co2e"] = price
        out["sinks_value"] = round(sinks_co2e * price, 2)
        out["sinks_value_interval"] = _interval(fig.sinks_lo95_t_co2e[0], fig.sinks_hi95_t_co2e[0], price, 2)
        out["credits"]["value"] = round(float(cr.creditable_t_co2e[0]) * price, 2)
    return out
