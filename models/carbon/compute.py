"""``blueranch carbon compute``: the budget of reported tonnages and fuel/energy figures (no sensors).

Input and output are JSON; the schema is :class:`ComputeInput` (the issue's calculator schema). Reported
tonnages are taken as exact: the 95 % intervals cover the coefficients (and psi in ``deduct`` mode) and
the emission factors, with the Monte Carlo distributions of :class:`UncertaintyConfig`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from blueranch.contracts.mqtt import UtcTime
from blueranch.contracts.strict import StrictModel
from blueranch.models.carbon.coefficients import groups_of, load_coefficients, load_emission_factors
from blueranch.models.carbon.config import UncertaintyConfig
from blueranch.models.carbon.method import PSI_DEFAULT, diesel_t_co2, grid_t_co2, stock_change_wet_t, to_t_co2e
from blueranch.models.carbon.uncertainty import (
    Z95,
    SinkSampler,
    creditable_c_per_wet_t,
    interval95,
    source_draws_t_co2,
    u_coefficient,
    u_product,
    u_sum,
)

#: Grid factor used when an electricity source gives none: the national average published by the Ministry
#: of Ecology and Environment (emission_factors.csv, 2023 vintage); the provincial row is marked "verify".
DEFAULT_GRID_FACTOR = "grid_china_national"
DRAWS, SEED = 10_000, 20231031
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
    kind: Literal["bivalve", "macroalgae"]
    group: str
    harvested_wet_t: TONNES
    stock_start_wet_t: TONNES = 0.0
    stock_end_wet_t: TONNES = 0.0

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
    sinks: list[SinkIn] = Field(default_factory=list, max_length=100_000)
    sources: list[Annotated[DieselIn | ElectricityIn, Field(discriminator="kind")]] = Field(
        default_factory=list, max_length=100_000
    )


def _interval(draws: np.ndarray) -> dict[str, float]:
    lo, hi = interval95(draws)
    return {"lo95": round(float(lo), 6), "hi95": round(float(hi), 6)}


def compute(inp: ComputeInput, draws: int = DRAWS, seed: int = SEED) -> dict:
    """The calculator's output document (all figures rounded to 1e-6 of their unit)."""
    coeffs = load_coefficients()
    factors = load_emission_factors()
    unc = UncertaintyConfig(lines_rel_sd=0.0, wet_per_submerged_rel_sd=0.0)
    items, sink_wet, groups = [], [], []
    for s in inp.sinks:
        wet = float(stock_change_wet_t(s.stock_start_wet_t, s.stock_end_wet_t, s.harvested_wet_t))
        t_c = wet * float(creditable_c_per_wet_t(coeffs[s.group], inp.calcification, inp.psi))
        items.append(
            {
                "id": s.id,
                "category": s.kind,
                "group": s.group,
                "wet_t": round(wet, 6),
                "t_c": round(t_c, 6),
                "t_co2e": round(float(to_t_co2e(t_c)), 6),
            }
        )
        sink_wet.append(wet)
        groups.append(s.group)
    src_t, kinds, keys = [], [], []
    for src in inp.sources:
        if isinstance(src, DieselIn):
            f = factors["diesel"]
            t = float(diesel_t_co2(src.litres, f.kg_co2_per_unit))
            kinds.append("diesel")
            keys.append("diesel")
            factor = {"key": "diesel", "kg_co2_per_unit": f.kg_co2_per_unit, "source": f.source}
        else:
            f = factors[DEFAULT_GRID_FACTOR]
            value = src.factor_kg_co2_per_kwh if src.factor_kg_co2_per_kwh is not None else f.kg_co2_per_unit
            t = float(grid_t_co2(src.kwh, value))
            kinds.append("grid")
            keys.append(f"input:{src.id}" if src.factor_kg_co2_per_kwh is not None else DEFAULT_GRID_FACTOR)
            factor = {
                "key": keys[-1],
                "kg_co2_per_unit": value,
                "source": "given in the input" if src.factor_kg_co2_per_kwh is not None else f.source,
            }
        src_t.append(t)
        items.append(
            {
                "id": src.id,
                "category": "source",
                "kind": src.kind,
                "t_c": round(t * 12 / 44, 6),
                "t_co2e": round(t, 6),
                "factor": factor,
            }
        )
    wet = np.array(sink_wet)
    sampler = SinkSampler.create(groups, coeffs, inp.calcification, inp.psi, unc, draws, seed)
    d_sink = to_t_co2e(sampler.draws_t_c(wet, np.zeros_like(wet)).sum(axis=1))
    d_src = source_draws_t_co2(np.array(src_t), kinds, keys, unc, draws, seed).sum(axis=1)
    sinks_t_c = float(sum(i["t_c"] for i in items if i["category"] != "source"))
    sinks_co2e, sources_co2e = float(to_t_co2e(sinks_t_c)), float(sum(src_t))
    u_items = [u_product(u_coefficient(coeffs[g], inp.calcification, inp.psi, unc)) for g in groups]
    u_src = [Z95 * unc.factor_rel_sd.get(k, 0.0) for k in kinds]
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
        },
        "units": {
            "t_c": "tonnes of carbon",
            "t_co2e": "tonnes of CO2 equivalent (t C x 44/12)",
            "wet_t": "tonnes of wet (live) biomass",
        },
        "sinks_t_c": round(sinks_t_c, 6),
        "sinks_t_co2e": round(sinks_co2e, 6),
        "sources_t_co2e": round(sources_co2e, 6),
        "net_emissions_t_co2e": round(sources_co2e - sinks_co2e, 6),
        "items": items,
        "uncertainty": {
            "monte_carlo": {
                "draws": draws,
                "seed": seed,
                "sinks_t_co2e": _interval(d_sink),
                "sources_t_co2e": _interval(d_src),
                "net_emissions_t_co2e": _interval(d_src - d_sink),
            },
            "ipcc_approach1": {
                "sinks_u_pct": round(
                    100 * u_sum(np.array([i["t_c"] for i in items if i["category"] != "source"]), np.array(u_items)), 3
                )
                if groups
                else 0.0,
                "sources_u_pct": round(100 * u_sum(np.array(src_t), np.array(u_src)), 3) if src_t else 0.0,
            },
            "note": "reported tonnages taken as exact; intervals cover coefficients, psi and emission factors",
        },
        "parameters": {
            g: {
                **{
                    k: getattr(coeffs[g], k)
                    for k in ("dry_wet_ratio", "tissue_fraction", "shell_fraction", "tissue_c", "shell_c", "algae_c")
                },
                "source": coeffs[g].source,
            }
            for g in sorted(set(groups))
        },
    }
    if inp.price_per_t_co2e is not None:
        out["price_per_t_co2e"] = inp.price_per_t_co2e
        out["sinks_value"] = round(sinks_co2e * inp.price_per_t_co2e, 2)
        out["sinks_value_interval"] = {k: round(v * inp.price_per_t_co2e, 2) for k, v in _interval(d_sink).items()}
    return out
