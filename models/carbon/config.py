"""Typed carbon configuration (``deploy/blueranch/carbon.yaml``); unknown keys are errors.

Every number that is not a measurement carries a ``source`` (citation or stated assumption) next to it;
the MRV report prints them. For simulated runs, :func:`blueranch.testing.carbon_truth.config_from_truth_meta`
builds a config from a simulator truth file's meta line.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from blueranch.contracts.mqtt import SafeId, UtcTime
from blueranch.contracts.strict import FrozenStrictModel
from blueranch.loader import load_yaml
from blueranch.models.carbon import kinds
from blueranch.models.carbon.coefficients import (
    EmissionFactor,
    GroupCoefficients,
    load_coefficients,
    load_emission_factors,
)
from blueranch.models.carbon.method import PSI_DEFAULT
from blueranch.models.carbon.periods import zone
from blueranch.models.carbon.project import ProjectConfig

Citation = str


class Calibration(FrozenStrictModel):
    """Load cell -> wet biomass: ``wet_kg_line = (load_kg - tare_kg) x wet_per_submerged``;
    asset wet biomass = ``wet_kg_line x lines_per_sensor`` (docs/carbon.md, 'Calibration')."""

    tare_kg: float = Field(ge=-1000, le=100_000)
    wet_per_submerged: float = Field(gt=0, le=100)
    lines_per_sensor: float = Field(gt=0, le=100_000)
    source: Citation = Field(min_length=3)


class HarvestWindow(FrozenStrictModel):
    """A yearly harvest season from the farm's calendar or harvest log: ``start`` (MM-DD, UTC) for ``days``."""

    start: str = Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    days: float = Field(gt=0, le=366)


class AssetConfig(FrozenStrictModel):
    asset: SafeId
    farm: SafeId
    kind: Literal[kinds.names()]  # type: ignore[valid-type]  (the registered sink kinds)
    group: str
    sensor: SafeId | None = None
    device: SafeId | None = None
    calibration: Calibration
    #: Declines inside a window (+- ``DetectionConfig.harvest_margin_days``) are harvests, outside it
    #: losses. Without windows, a decline of at least ``harvest_min_fraction`` of the level is a harvest.
    harvest_windows: list[HarvestWindow] = Field(default_factory=list)
    harvest_source: Citation = "no harvest calendar configured: harvests told from losses by their size"


class CoefficientOverride(FrozenStrictModel):
    """Site-specific coefficients for one group (only the given values change)."""

    group: str
    dry_wet_ratio: float | None = Field(default=None, gt=0, le=1)
    tissue_fraction: float | None = Field(default=None, ge=0, le=1)
    shell_fraction: float | None = Field(default=None, ge=0, le=1)
    tissue_c: float | None = Field(default=None, ge=0, le=1)
    shell_c: float | None = Field(default=None, ge=0, le=1)
    algae_c: float | None = Field(default=None, ge=0, le=1)
    source: Citation = Field(min_length=3)


class FactorOverride(FrozenStrictModel):
    key: str
    kg_co2_per_unit: float = Field(ge=0, le=100)
    #: What the factor covers: CO2 only, or all greenhouse gases as CO2e.
    gas: Literal["CO2", "CO2e"] = "CO2"
    source: Citation = Field(min_length=3)


class MeterConfig(FrozenStrictModel):
    """An island energy meter; ``factor`` names a row of emission_factors.csv (or an override)."""

    device: SafeId
    sensor: SafeId | None = None
    quantity: Literal["grid_kwh_total", "diesel_l_total"]
    factor: str
    farm: SafeId | None = None
    expected_interval_s: float = Field(default=600, gt=0)
    #: The most the meter can register per hour (kWh/h = the connection's rated kW; L/h = the flow meter's
    #: rated flow): a reading further ahead of the last one than this allows is a jump, flagged and not
    #: counted. None: jumps are not checked (resets always are).
    max_rate_per_h: float | None = Field(default=None, gt=0)
    max_rate_source: Citation = "not configured: jumps are not checked"
    #: Register resolution in the meter's unit: slack added to the maximum-rate check.
    resolution: float = Field(default=0.0, ge=0)


class FishSpecies(FrozenStrictModel):
    name: str
    a_g_per_cm_b: float = Field(gt=0)
    b: float = Field(gt=1, lt=5)
    source: Citation = Field(min_length=3)


class ReefConfig(FrozenStrictModel):
    """An artificial reef zone watched by the reef monitor (``reef`` measurement, ``asset`` tag = ``zone``).

    Fish stock = mean density (fish/m3) x reef volume x W(mean length); attached organisms are a configured
    survey estimate. Both are reported; they are creditable only if ``CarbonConfig.credit_reef`` is true.
    """

    zone: SafeId
    farm: SafeId
    device: SafeId | None = None
    volume_m3: float = Field(gt=0)
    volume_source: Citation = Field(min_length=3)
    species: FishSpecies = FishSpecies(
        # Larimichthys polyactis (small yellow croaker), north coast of China, mixed-effects LWR:
        # a = 0.0192, b = 2.917 (cm, g). Xu et al. 2017, PLoS ONE 12(2): e0171811, doi:10.1371/journal.pone.0171811.
        name="Larimichthys polyactis",
        a_g_per_cm_b=0.0192,
        b=2.917,
        source="Xu et al. 2017, PLoS ONE 12(2):e0171811 (mixed-effects LWR, a=0.0192, b=2.917, cm/g)",
    )
    fish_dry_wet_ratio: float = Field(default=0.25, gt=0, le=1)
    fish_c_of_dry: float = Field(default=0.43, gt=0, le=1)
    fish_c_source: Citation = (
        "C of dry weight 0.43: whole-fish C 41.2 % (Lateolabrax maculatus) and 43.4 % (Acanthogobius ommaturus), "
        "Yangtze estuary, Sun et al. 2014, Acta Ecologica Sinica 34:71, doi:10.1016/j.chnaes.2013.06.009; "
        "dry/wet 0.25 is an assumption (fish are about 75 % water)"
    )
    #: The reef monitor's report interval: reef completeness is judged by it, not by the load cells'.
    expected_interval_s: float = Field(default=600, gt=0)
    attached_wet_t: float = Field(default=0.0, ge=0)
    attached_group: str = "oyster"
    attached_source: Citation = "no survey configured: attached organisms counted as 0 t"


class PenConfig(FrozenStrictModel):
    """A fed fish pen (large yellow croaker): feed carbon not retained in the fish is a source."""

    pen: SafeId
    farm: SafeId
    production_wet_t_per_year: float = Field(ge=0)
    production_source: Citation = Field(min_length=3)
    fcr: float = Field(default=1.6, gt=0, le=20)
    feed_c: float = Field(default=0.43, gt=0, le=1)
    fish_t_c_per_wet_t: float = Field(default=0.25 * 0.43, ge=0, le=1)
    feed_source: Citation = (
        "assumptions to verify with the feed supplier: FCR 1.6 for extruded compound feed, feed C 0.43 of feed "
        "as fed (about 90 % dry matter x 48 % C); fish C per wet t 0.25 x 0.43 as for reef fish"
    )
    rule: Literal["net_of_retention", "gross"] = "net_of_retention"


class DetectionConfig(FrozenStrictModel):
    """Readings -> biomass levels, harvests and losses (see :mod:`blueranch.models.carbon.biomass`)."""

    expected_interval_s: float = Field(default=600, gt=0)
    #: Running median over this many valid readings (odd): removes spikes shorter than half of it.
    median_window: int = Field(default=7, ge=1, le=101)
    #: Levels are averaged into bins of this length; harvests and losses are tracked bin by bin.
    bin_s: float = Field(default=3600, ge=60, le=86400)
    #: A decline counts once it exceeds this share of the level before it ...
    min_step_fraction: float = Field(default=0.05, gt=0, lt=1)
    #: ... and this many SDs of the binned level's noise; a rise of as many SDs ends it.
    noise_multiple: float = Field(default=6.0, gt=0)
    #: Without harvest windows: a decline of at least this share of the level is a harvest, else a loss.
    harvest_min_fraction: float = Field(default=0.5, gt=0, le=1)
    #: Harvest windows are widened by this many days on each side.
    harvest_margin_days: float = Field(default=2.0, ge=0, le=60)
    #: Growth hidden by a gradual harvest is estimated from the net growth rate over this many days before it.
    growth_lookback_days: float = Field(default=14.0, gt=0, le=120)
    #: A period-boundary stock is read off a straight line fitted to the gross biomass (level plus everything
    #: removed so far) over the bins within this many hours of the boundary; 0 uses the nearest level.
    boundary_fit_hours: float = Field(default=12.0, ge=0, le=240)
    #: ... when at least this many bins lie in that window (else the nearest level is used).
    boundary_fit_min_bins: int = Field(default=6, ge=2)
    #: A boundary stock uses the nearest level at most this old (else the value is missing).
    max_stale_s: float = Field(default=2 * 86400, gt=0)
    #: Consecutive valid readings further apart than this many intervals make a reported gap.
    gap_intervals: float = Field(default=3.0, gt=1)

    @field_validator("median_window")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError("must be odd")
        return v


class UncertaintyConfig(FrozenStrictModel):
    """Distributions of the Monte Carlo and of Approach 1 (normal, relative SD unless said).

    Every input with an error has one here, with its source or stated as an assumption; docs/carbon.md
    tabulates them.
    """

    draws: int = Field(default=2000, ge=100, le=1_000_000)
    seed: int = 20231031
    coefficient_rel_sd: dict[str, float] = {
        # Assumptions informed by the field ranges in carbon_coefficients.csv (Sanshawan Bay 2022: tissue
        # 23.67-43.89 % C, shell 11.12-15.05 % C): relative SDs of the group coefficients.
        "dry_wet_ratio": 0.05,
        "tissue_fraction": 0.05,
        "shell_fraction": 0.01,
        "tissue_c": 0.10,
        "shell_c": 0.07,
        "algae_c": 0.10,
    }
    #: Line-to-line variability of the instrumented line vs the asset (assumption).
    lines_rel_sd: float = Field(default=0.05, ge=0, le=1)
    #: Submerged-to-wet factor (assumption: calibration by weighing lifted droppers).
    wet_per_submerged_rel_sd: float = Field(default=0.03, ge=0, le=1)
    #: Emission factors. diesel 1.6 %: the CO2 factor 74,100 kg/TJ (95 % 72,600-74,800, IPCC 2006 Vol. 2
    #: Ch. 1 Table 1.4: SD 0.76 %), the net calorific value 43.0 TJ/Gg (41.4-43.3, Table 1.2: SD 1.13 %) and
    #: the density 0.84 kg/L (EN 590 diesel 0.820-0.845 kg/L: SD 0.77 %), combined as sqrt(sum SD^2).
    #: grid 5 %: assumption (the published grid factor is an average over a year and a grid).
    factor_rel_sd: dict[str, float] = {"diesel": 0.016, "grid": 0.05}
    #: Meter registers: class 1 (IEC 62053-21 active-energy meters, +-1 %; the same assumed for the fuel
    #: flow meter); also used for litres and kWh reported to ``carbon compute`` (invoices, meter readings).
    meter_rel_sd: float = Field(default=0.01, ge=0, le=1)
    #: psi in deduct mode: normal around the configured psi, 95 % half-width 0.1 (the literature range
    #: 0.6-0.8 of the reference README is 0.7 +- 0.1), truncated to [0, 1].
    psi_half_width_95: float = Field(default=0.1, ge=0, le=1)
    #: Reported tonnages (``carbon compute``): harvests weighed at landing, 2 % (assumption: the water held in
    #: the shells and the scale), and standing stocks estimated from sampled lines, 10 % (assumption).
    harvest_weight_rel_sd: float = Field(default=0.02, ge=0, le=1)
    stock_estimate_rel_sd: float = Field(default=0.10, ge=0, le=1)
    #: Fed pens (assumptions until the farm's records are used): annual production 10 % (a configured
    #: figure, "more than 7,000 t" in the article), feed conversion ratio 15 % (extruded feed FCR about
    #: 1.2-2.0 in sea cages), feed carbon 5 % (0.40-0.47 of feed as fed), fish carbon 10 %.
    feed_production_rel_sd: float = Field(default=0.10, ge=0, le=1)
    feed_fcr_rel_sd: float = Field(default=0.15, ge=0, le=1)
    feed_c_rel_sd: float = Field(default=0.05, ge=0, le=1)
    fish_c_rel_sd: float = Field(default=0.10, ge=0, le=1)


class DeductionStep(FrozenStrictModel):
    """A row of an uncertainty deduction table: up to this 95 % half-width (% of the sinks), deduct this share."""

    max_half_width_pct: float = Field(gt=0, le=1000)
    deduction_pct: float = Field(ge=0, le=100)


class CreditsConfig(FrozenStrictModel):
    """Creditable quantity = sinks after the uncertainty deduction, minus a buffer for reversals."""

    #: ``lower_bound``: credit the lower bound of the Monte Carlo 95 % interval (deduction = point - lower
    #: bound). ``table``: deduct the share of ``deduction_table`` for the sinks' half-width (above its last
    #: row: no credits).
    uncertainty_deduction: Literal["lower_bound", "table"] = "lower_bound"
    deduction_table: list[DeductionStep] = Field(default_factory=list)
    deduction_source: Citation = (
        "BlueRanch default: the lower bound of the 95 % interval is credited (the conservative reading of "
        "IPCC 2006 Vol. 1 Ch. 3 intervals; a method's own table can be configured instead)"
    )
    #: Share of the credits after the uncertainty deduction held back against reversals.
    buffer_share: float = Field(default=0.10, ge=0, lt=1)
    buffer_source: Citation = (
        "10 %: the minimum buffer of the VCS AFOLU Non-Permanence Risk Tool (risk ratings below 10 are set to "
        "10); farmed stock credited at a period's end can still be lost to storms, hypoxia or disease"
    )
    #: Prefix of every serial number: PREFIX-SITE-VINTAGE-FIRST-LAST.
    serial_prefix: str = Field(default="BR", pattern=r"^[A-Z]{1,8}$")

    @model_validator(mode="after")
    def _table(self) -> CreditsConfig:
        if self.uncertainty_deduction == "table":
            if not self.deduction_table:
                raise ValueError("deduction_table: needed with uncertainty_deduction: table")
            widths = [r.max_half_width_pct for r in self.deduction_table]
            if widths != sorted(widths) or len(set(widths)) != len(widths):
                raise ValueError(f"deduction_table: max_half_width_pct must increase, got {widths}")
            if self.deduction_source == CreditsConfig.model_fields["deduction_source"].default:
                raise ValueError("deduction_source: a deduction table must cite its source")
        return self


class CarbonConfig(FrozenStrictModel):
    site: SafeId
    calcification: Literal["count", "deduct"] = "count"
    psi: float = Field(default=PSI_DEFAULT, ge=0, le=1)
    psi_source: Citation = "reference README, Method notes: psi about 0.6-0.8, default 0.7"
    losses: Literal["exclude", "include"] = "exclude"
    #: QARTOD 3 (suspect) readings: used (default) or excluded. Flags 4 (fail) and 9 (missing) never are.
    suspect: Literal["include", "exclude"] = "include"
    credit_reef: bool = False
    #: Readings stamped later than the wall clock plus this are ignored (a device clock far in the future
    #: must not stretch the periods); generous so that a simulator running ahead of the wall clock works.
    max_future_s: float = Field(default=400 * 86400.0, ge=0)
    price_per_t_co2e: float | None = Field(default=None, ge=0)
    currency: str = "CNY"
    price_source: Citation = "Dachen mussel blue-carbon auction, Oct 2023: RMB 45.2 per t (reference README)"
    start: UtcTime | None = None
    #: The site's time zone (IANA name): ``carbon report`` cuts its days and months at local midnight in it
    #: and states every time in it (``--tz`` overrides; the package records the zone in force, so
    #: ``carbon verify`` recomputes the same periods). The live worker cuts its days, months and years there too.
    timezone: str = "UTC"
    assets: list[AssetConfig] = Field(default_factory=list)
    meters: list[MeterConfig] = Field(default_factory=list)
    reefs: list[ReefConfig] = Field(default_factory=list)
    pens: list[PenConfig] = Field(default_factory=list)
    coefficient_overrides: list[CoefficientOverride] = Field(default_factory=list)
    factor_overrides: list[FactorOverride] = Field(default_factory=list)
    #: Feed carbon of fed pens is biogenic and reported as its own line; it enters net emissions only when
    #: a method that counts it is cited here.
    feed_in_net_method: Citation | None = Field(default=None, min_length=3)
    #: Below this completeness a total is marked "insufficient data" and issues no credits.
    min_completeness: float = Field(default=0.8, ge=0, le=1)
    min_completeness_source: Citation = (
        "BlueRanch default 80 %: below it a figure rests on too few readings to be taken as measured; set the "
        "verifier's or the method's own threshold"
    )
    credits: CreditsConfig = CreditsConfig()
    project: ProjectConfig | None = None
    detection: DetectionConfig = DetectionConfig()
    uncertainty: UncertaintyConfig = UncertaintyConfig()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone(v)
        return v

    @property
    def zone(self) -> tzinfo:
        return zone(self.timezone)

    @model_validator(mode="after")
    def _references(self) -> CarbonConfig:
        coeffs = self.coefficients()
        for i, a in enumerate(self.assets):
            allowed = sorted(g for g, c in coeffs.items() if c.kind == a.kind)
            if a.group not in allowed:
                raise ValueError(f"assets[{i}].group: {a.group!r} is not a {a.kind} group; allowed: {allowed}")
        ids = [a.asset for a in self.assets]
        if len(ids) != len(set(ids)):
            raise ValueError(f"assets: duplicate asset ids {sorted({i for i in ids if ids.count(i) > 1})}")
        factors = self.emission_factors()
        for i, m in enumerate(self.meters):
            if m.factor not in factors:
                raise ValueError(f"meters[{i}].factor: {m.factor!r} unknown; allowed: {sorted(factors)}")
        for i, r in enumerate(self.reefs):
            if r.attached_group not in coeffs:
                raise ValueError(f"reefs[{i}].attached_group: {r.attached_group!r}; allowed: {sorted(coeffs)}")
        return self

    def coefficients(self, tables: Mapping[str, str] | None = None) -> dict[str, GroupCoefficients]:
        """The coefficient table in force (the packaged one, or ``tables``' copy) with the site's overrides."""
        coeffs = load_coefficients(tables)
        for i, o in enumerate(self.coefficient_overrides):
            if o.group not in coeffs:
                raise ValueError(f"coefficient_overrides[{i}].group: {o.group!r}; allowed: {sorted(coeffs)}")
            values = {k: v for k, v in o.model_dump(exclude={"group", "source"}).items() if v is not None}
            coeffs[o.group] = coeffs[o.group].with_values(o.source, **values)
        return coeffs

    def emission_factors(self, tables: Mapping[str, str] | None = None) -> dict[str, EmissionFactor]:
        factors = load_emission_factors(tables)
        for o in self.factor_overrides:
            base = factors.get(o.key)
            unit = base.unit if base else ("litre" if o.key.startswith("diesel") else "kWh")
            factors[o.key] = EmissionFactor(o.key, unit, o.kg_co2_per_unit, "site override", o.source, o.gas)
        return factors

    def asset(self, asset_id: str) -> AssetConfig:
        for a in self.assets:
            if a.asset == asset_id:
                return a
        raise KeyError(f"asset {asset_id!r} is not configured; configured: {[a.asset for a in self.assets]}")


def load_config(path: str | Path) -> CarbonConfig:
    """Read a YAML config; pydantic errors name the field, value and rule."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a carbon config must be a YAML mapping")
    return CarbonConfig.model_validate(data)
