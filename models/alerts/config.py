"""Typed configuration of the alert worker (YAML), validated before any data is read.

Unknown keys are errors everywhere (``extra="forbid"``), and so is an unknown rule name in a site,
species or device override. Rule settings resolve per device in this order:
built-in defaults -> ``rules:`` -> the site's ``rules:`` -> species profiles of the device (device
``species``, else its farm's, else the site's) -> the device's ``rules:``. Every default number carries a ``source``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, Field, PrivateAttr, ValidationError, model_validator

from blueranch.contracts.strict import StrictModel
from blueranch.loader import load_yaml
from blueranch.reference.thresholds import find

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


class Lifecycle(StrictModel):
    """How an alert moves: opened after ``min_duration_s`` of continuous trigger, resolved after
    ``clear_after_s`` of continuous clear (time hysteresis), escalated after ``escalate_after_s`` open
    without acknowledgement, reminded while unacknowledged (``repeat_every_s``, 0 = never), the wait
    backing off: each reminder waits at least ``repeat_backoff`` - 1 times as long as the alert had been
    open at the previous notification (2: doubling), at most ``repeat_max_s``."""

    min_duration_s: float = Field(0, ge=0)
    clear_after_s: float = Field(1800, ge=0)
    escalate_after_s: float = Field(3600, ge=0)
    repeat_every_s: float = Field(4 * 3600, ge=0)
    repeat_backoff: float = Field(2.0, ge=1)  # 1: a fixed interval
    repeat_max_s: float = Field(86400, gt=0)  # operator setting: at least one reminder a day


class LifecycleOverride(StrictModel):
    min_duration_s: float | None = Field(None, ge=0)
    clear_after_s: float | None = Field(None, ge=0)
    escalate_after_s: float | None = Field(None, ge=0)
    repeat_every_s: float | None = Field(None, ge=0)
    repeat_backoff: float | None = Field(None, ge=1)
    repeat_max_s: float | None = Field(None, gt=0)


class RuleBase(StrictModel):
    enabled: bool = True
    severity: Severity = "warning"
    lifecycle: LifecycleOverride = LifecycleOverride()
    source: str = ""


# Every default number and its citation: a row of the packaged thresholds table (blueranch.reference).
_GB_LOW = find("dissolved_oxygen", "sea cages", 3.0)
_GB_DAILY = find("dissolved_oxygen", "sea cages", 5.0)
_MUSSEL_LETHAL = find("dissolved_oxygen", "blue mussel")
_MUSSEL_BYSSUS = find("dissolved_oxygen", "mussel longlines")
_MHW = find("sea_temperature", "marine heatwave")
# Mytilus coruscus (the thick-shell mussel farmed off Zhejiang). The packaged table is a verbatim copy of the
# shared one, which has no M. coruscus row, so the values and their citations live here.
_CORUSCUS_BYSSUS_MG_L = 2.0
_CORUSCUS_BYSSUS_SOURCE = (
    "M. coruscus: Sui et al. 2017, Front. Physiol. 8:145 (doi:10.3389/fphys.2017.00145), hypoxia impairs the "
    "defence responses incl. byssus; their hypoxic treatment taken as 2.0 mg/L (as recalled: check the methods); "
    "agrees with George et al. 2019 (blue mussel); review: Qian et al. 2024, Aquaculture 580:740350"
)
_CORUSCUS_LETHAL_MG_L = _MUSSEL_LETHAL.value
_CORUSCUS_LETHAL_SOURCE = (
    "no M. coruscus lethal-DO value found: proxy "
    + _MUSSEL_LETHAL.citation
    + " (blue mussel); species value unverified"
)


class DoLowRule(RuleBase):
    """Latest dissolved oxygen below ``threshold_mg_l``; clears above threshold + hysteresis."""

    threshold_mg_l: float = Field(gt=0)
    hysteresis_mg_l: float = Field(0.3, ge=0)


class DoDailyRule(RuleBase):
    """Hours above ``threshold_mg_l`` in the trailing ``window_h`` fewer than ``min_hours_above``."""

    threshold_mg_l: float = Field(_GB_DAILY.value, gt=0)
    min_hours_above: float = Field(16.0, gt=0)  # GB 11607-89: above 5 mg/L for 16 h of every 24 h
    window_h: float = Field(24.0, gt=0)
    min_coverage: float = Field(0.8, gt=0, le=1)
    source: str = _GB_DAILY.citation


class DoForecastRule(RuleBase):
    """Harmonic regression (diel cycle + linear trend) over ``fit_window_h``, plus the departure of the
    last ``anomaly_window_h`` from it continued as a damped trend (time constant ``damping_h``); warns
    when the minimum predicted within ``horizon_h`` falls below ``threshold_mg_l`` + ``margin_mg_l``."""

    threshold_mg_l: float = Field(_GB_LOW.value, gt=0)
    #: Tuned on simulated crossing and near-miss nights (python -m blueranch.testing.forecast_tuning, 3 seeds
    #: x 7 nights): warning when the predicted minimum is under 1.5 mg/L caught 9/9 crossings 1.7-2.3 h
    #: ahead with 0/12 near-miss false alarms; at 0 (predicted < 3 mg/L) 9/9 but 9/12 false alarms, as a
    #: plain "DO below 4" rule. The damped trend overshoots a falling night, so the bar sits below 3.
    margin_mg_l: float = Field(-1.5, ge=-3, le=3)
    hysteresis_mg_l: float = Field(0.3, ge=0)
    fit_window_h: float = Field(72.0, gt=0)
    min_span_h: float = Field(36.0, gt=0)
    horizon_h: float = Field(12.0, gt=0)
    harmonics: int = Field(2, ge=1, le=4)
    anomaly_window_h: float = Field(1.0, gt=0)
    damping_h: float = Field(3.0, gt=0)  # damped trend (Gardner & McKenzie 1985): a slope fades, not runs on
    source: str = _GB_LOW.citation + "; forecast: diel harmonic regression with linear trend"


class Climatology(StrictModel):
    """Seasonal 90th percentile of sea temperature. From the site's own history (``from_history``) once it
    holds ``min_history_years`` of good daily means; until then (or instead) from an external SST
    climatology the operator loads (``file``: CSV ``month,p90_c`` with 12 rows or ``day_of_year,p90_c``
    with 365-366 rows, cited in ``file_source``), or twelve monthly values in the config
    (``p90_c_by_month``, cited in ``source``). The heatwave message names the one in use."""

    p90_c_by_month: list[float] | None = Field(None, min_length=12, max_length=12)
    file: Path | None = None
    #: The dataset the file comes from, e.g. "NOAA OISST v2.1 (Huang et al. 2021), 1991-2020 daily p90 at
    #: 28.375N 121.875E". Required with ``file``.
    file_source: str = ""
    from_history: bool = False
    #: One year sees each day of the year once (11 days per window): the least that gives a seasonal p90.
    #: Hobday et al. 2016 recommend 30 years; below that the p90 is noisy and the message says how many.
    min_history_years: float = Field(1.0, gt=0)
    window_days: int = Field(11, ge=1)  # Hobday et al. 2016: 11-day window centred on the day of year
    #: History newer than this is left out, so an ongoing event does not raise its own threshold.
    exclude_recent_days: float = Field(60.0, ge=0)
    source: str = "Hobday et al. 2016 (percentile over an 11-day window, 30-year baseline recommended)"

    @model_validator(mode="after")
    def _sources(self) -> Climatology:
        external = (self.p90_c_by_month is not None) + (self.file is not None)
        if external > 1:
            raise ValueError("climatology: give p90_c_by_month or file, not both")
        if not external and not self.from_history:
            raise ValueError(
                "climatology: give exactly one of p90_c_by_month or file, and/or from_history: true (history first)"
            )
        if self.file is not None and not self.file_source.strip():
            raise ValueError(f"climatology: file {self.file} needs file_source: the dataset it comes from (citation)")
        return self


class HeatwaveRule(RuleBase):
    """Daily mean temperature above the seasonal p90 for ``min_days`` consecutive days."""

    min_days: int = Field(5, ge=1)  # Hobday et al. 2016: five or more days
    climatology: Climatology | None = None
    lifecycle: LifecycleOverride = LifecycleOverride(clear_after_s=2 * 86400)  # Hobday: gaps <= 2 d join
    source: str = _MHW.citation


class StormRule(RuleBase):
    """10-minute mean wind and wave height against the Beaufort and WMO sea-state scales."""

    gale_wind_m_s: float = Field(17.2, gt=0)  # Beaufort 8 (gale), lower bound, WMO-No. 8
    storm_wind_m_s: float = Field(24.5, gt=0)  # Beaufort 10 (storm), lower bound, WMO-No. 8
    rough_wave_m: float = Field(4.0, gt=0)  # WMO sea state code 3700: 6 "very rough", 4-6 m
    high_wave_m: float = Field(6.0, gt=0)  # WMO sea state code 3700: 7 "high", 6-9 m
    average_s: float = Field(600, gt=0)  # WMO-No. 8: wind speed is a 10-minute mean
    hysteresis_wind_m_s: float = Field(2.0, ge=0)
    hysteresis_wave_m: float = Field(0.5, ge=0)
    source: str = "Beaufort scale and WMO sea state code 3700 (WMO-No. 8, WMO-No. 306)"


class BiomassLossRule(RuleBase):
    """Median net load (load - the asset's ``tare_kg``: the line's biomass as calibrated) over the last
    ``recent_h`` below the median of the ``reference_h`` ending ``reference_lag_h`` ago by ``drop_pct`` %
    of that reference, and by more than ``noise_z`` times the noise of a ``recent_h`` median (the spread of
    the reference window's own medians), with no recorded harvest in that span. No absolute kg floor: the
    limit scales with each line's load, whatever the season."""

    drop_pct: float = Field(10.0, gt=0, lt=100)
    #: 3 standard deviations: a false alarm from noise alone is ~0.1 % of evaluations (one-sided normal).
    noise_z: float = Field(3.0, gt=0)
    recent_h: float = Field(3.0, gt=0)
    reference_h: float = Field(24.0, gt=0)
    #: The reference ends this long ago: a typhoon strips a line over a day or more (the simulator's storm
    #: scenario: 15 % in 36 h), so a reference just before the recent window would go down with the loss.
    reference_lag_h: float = Field(24.0, gt=0)
    harvest_margin_h: float = Field(6.0, ge=0)
    source: str = "operator setting: 10 % of the line's biomass, beyond 3x its noise (George et al. 2019: fall-off)"

    @model_validator(mode="after")
    def _lag(self) -> BiomassLossRule:
        if self.reference_lag_h < self.recent_h:
            raise ValueError(f"reference_lag_h {self.reference_lag_h} must be >= recent_h {self.recent_h}")
        return self


class MooringRule(RuleBase):
    """Median of the last ``confirm_fixes`` positions farther than the watch radius from the anchor."""

    radius_m: float = Field(100.0, gt=0)
    hysteresis_m: float = Field(10.0, ge=0)
    confirm_fixes: int = Field(3, ge=1)
    auto_anchor_fixes: int = Field(12, ge=0)  # 0: only configured anchors
    severity: Severity = "critical"
    lifecycle: LifecycleOverride = LifecycleOverride(clear_after_s=3600)
    source: str = "operator setting: watch circle radius = scope x depth of the mooring plus GPS error"


class SilentRule(RuleBase):
    """No reading for ``missed_intervals`` times the device's interval (configured or inferred)."""

    missed_intervals: float = Field(3.0, gt=1)
    min_interval_s: float = Field(30.0, gt=0)
    source: str = "operator setting"


class BufferDropsRule(RuleBase):
    """``buffer_dropped_total`` rose within ``window_h`` (edge buffer evicted readings)."""

    window_h: float = Field(1.0, gt=0)
    lifecycle: LifecycleOverride = LifecycleOverride(clear_after_s=3600)
    source: str = "guide: bounded buffers must say loudly what they dropped"


class Rules(StrictModel):
    do_low: DoLowRule = DoLowRule(threshold_mg_l=_GB_LOW.value, severity="critical", source=_GB_LOW.citation)
    do_daily: DoDailyRule = DoDailyRule()
    do_mussel_byssus: DoLowRule = DoLowRule(
        enabled=False, threshold_mg_l=_MUSSEL_BYSSUS.value, source=_MUSSEL_BYSSUS.citation
    )
    do_mussel_lethal: DoLowRule = DoLowRule(
        enabled=False,
        threshold_mg_l=_MUSSEL_LETHAL.value,
        severity="critical",
        lifecycle=LifecycleOverride(min_duration_s=12 * 3600),
        source=_MUSSEL_LETHAL.citation + "; sustained = 12 h (operator margin)",
    )
    do_forecast: DoForecastRule = DoForecastRule()
    heatwave: HeatwaveRule = HeatwaveRule()
    storm: StormRule = StormRule()
    biomass_loss: BiomassLossRule = BiomassLossRule()
    mooring: MooringRule = MooringRule()
    silent: SilentRule = SilentRule(severity="warning")
    buffer_drops: BufferDropsRule = BufferDropsRule()


RULE_NAMES = tuple(Rules.model_fields)
#: Built-in species profiles (rule overrides), each limit cited. ``mytilus_coruscus``: the thick-shell mussel
#: farmed on Zhejiang's longlines; ``larimichthys_crocea``: large yellow croaker in sea pens, for which
#: GB 11607-89's sea-cage limits (the defaults) are adopted: no species-specific L. crocea DO limit was
#: found that we could cite with confidence. ``mussel``: the generic (blue-mussel) limits of before.
DEFAULT_SPECIES = {
    "mussel": {"do_mussel_byssus": {"enabled": True}, "do_mussel_lethal": {"enabled": True}},
    "mytilus_coruscus": {
        "do_mussel_byssus": {
            "enabled": True,
            "threshold_mg_l": _CORUSCUS_BYSSUS_MG_L,
            "source": _CORUSCUS_BYSSUS_SOURCE,
        },
        "do_mussel_lethal": {
            "enabled": True,
            "threshold_mg_l": _CORUSCUS_LETHAL_MG_L,
            "source": _CORUSCUS_LETHAL_SOURCE + "; sustained = 12 h (operator margin)",
        },
    },
    "larimichthys_crocea": {
        "do_low": {"source": _GB_LOW.citation + " (sea cages; adopted for L. crocea pens, no species value cited)"},
        "do_daily": {"source": _GB_DAILY.citation + " (sea cages; adopted for L. crocea pens)"},
        "biomass_loss": {"enabled": False},  # a pen has no load cell: stock is not weighed on a line
    },
}


class Anchor(StrictModel):
    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)
    radius_m: float | None = Field(None, gt=0)


class DeviceConfig(StrictModel):
    #: Reporting interval of every sensor of the device (else inferred from the data)...
    interval_s: float | None = Field(None, gt=0)
    #: ...or of one sensor.
    sensor_intervals_s: dict[str, float] = {}
    species: list[str] | None = None
    anchor: Anchor | None = None
    rules: dict[str, dict[str, Any]] = {}


class AssetConfig(StrictModel):
    """A farmed asset's load-cell calibration: the tare (rope, floats, shackles) is not biomass."""

    tare_kg: float = Field(0.0, ge=0)
    source: str = ""


class FarmConfig(StrictModel):
    """A farm of the site: its species profiles apply to the devices listed (those without their own)."""

    species: list[str] = []
    devices: list[str] = []


class SiteConfig(StrictModel):
    species: list[str] = []
    #: Species per farm (a device listed in a farm takes its species instead of the site's).
    farms: dict[str, FarmConfig] = {}
    assets: dict[str, AssetConfig] = {}
    devices: dict[str, DeviceConfig] = {}
    rules: dict[str, dict[str, Any]] = {}


class Harvest(StrictModel):
    asset: str
    start: AwareDatetime
    end: AwareDatetime | None = None


class WebhookChannel(StrictModel):
    name: str = "webhook"
    url: str = Field(pattern=r"^https?://")
    format: Literal["generic", "slack", "wecom", "dingtalk"] = "generic"
    headers: dict[str, str] = {}
    timeout_s: float = Field(5.0, gt=0)
    attempts: int = Field(3, ge=1, le=10)
    min_severity: Severity = "info"


class SmtpChannel(StrictModel):
    name: str = "smtp"
    host: str
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)
    timeout_s: float = Field(10.0, gt=0)
    min_severity: Severity = "warning"


class Channels(StrictModel):
    influx: bool = True
    mqtt_qos: int = Field(1, ge=0, le=2)
    webhooks: list[WebhookChannel] = []
    smtp: list[SmtpChannel] = []
    retry_base_s: float = Field(5.0, gt=0)
    retry_max_s: float = Field(600.0, gt=0)
    give_up_after_s: float = Field(7 * 86400, gt=0)
    #: Delivered (or abandoned) notifications are pruned from the outbox after this long.
    keep_delivered_s: float = Field(30 * 86400, gt=0)


class AlertsConfig(StrictModel):
    state_path: Path = Path("alerts.sqlite")
    #: Readings the edge flagged QARTOD suspect (3). ``hold``: a DO or temperature alert on a sensor whose
    #: readings have been suspect for ``qc_hold_after_s`` is held back (resolved; it cannot open again
    #: until good readings return): a drifting or fouled sonde does not page for months; a suspect reading
    #: newer than that is judged and the message marked (a real crash trips rate-of-change tests at first).
    #: ``use``: suspect readings are judged like good ones. Fail (4) and missing (9) are always left out.
    qc_suspect: Literal["hold", "use"] = "hold"
    #: operator setting: longer than the minutes a real event's first readings trip the spike and rate of
    #: change tests, far shorter than the weeks of a drift.
    qc_hold_after_s: float = Field(6 * 3600, ge=0)
    interval_s: float = Field(60.0, gt=0)
    lookback_h: float = Field(240.0, gt=0)
    lifecycle: Lifecycle = Lifecycle()
    rules: dict[str, dict[str, Any]] = {}
    species: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=lambda: copy.deepcopy(DEFAULT_SPECIES))
    sites: dict[str, SiteConfig] = {}
    harvests: list[Harvest] = []
    harvest_log: Path | None = None
    channels: Channels = Channels()
    _resolved: dict[tuple[str, str], Rules] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_overrides(self) -> AlertsConfig:
        self.resolve_rules("*", "*")
        for site_name, site in self.sites.items():
            for sp in site.species + [sp for f in site.farms.values() for sp in f.species]:
                self._species(sp)
            listed = [d for f in site.farms.values() for d in f.devices]
            if len(listed) != len(set(listed)):
                twice = sorted({d for d in listed if listed.count(d) > 1})
                raise ValueError(f"sites.{site_name}.farms: device(s) {', '.join(twice)} in more than one farm")
            self.resolve_rules(site_name, "*")
            for dev_name, dev in site.devices.items():
                for sp in dev.species or []:
                    self._species(sp)
                self.resolve_rules(site_name, dev_name)
        return self

    def _species(self, name: str) -> dict[str, dict[str, Any]]:
        if name not in self.species:
            raise ValueError(f"unknown species {name!r}; known: {sorted(self.species)}")
        return self.species[name]

    def device(self, site: str, device: str) -> DeviceConfig:
        s = self.sites.get(site)
        return s.devices.get(device, DeviceConfig()) if s else DeviceConfig()

    def tare_kg(self, site: str, asset: str) -> float:
        s = self.sites.get(site)
        a = s.assets.get(asset) if s is not None else None
        return a.tare_kg if a is not None else 0.0

    def resolve_rules(self, site: str, device: str) -> Rules:
        """Rule settings in force for one device (see the module docstring for the order); cached."""
        key = (site, device)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(site, device)
        return self._resolved[key]

    def _resolve(self, site: str, device: str) -> Rules:
        merged = Rules().model_dump(exclude_unset=False)
        layers = [("rules", self.rules)]
        s = self.sites.get(site)
        if s is not None:
            layers.append((f"sites.{site}.rules", s.rules))
            dev = s.devices.get(device)
            farm = next((f for f in s.farms.values() if device in f.devices), None)
            species = farm.species if farm is not None else s.species
            species = dev.species if dev is not None and dev.species is not None else species
            layers += [(f"species.{sp}", self._species(sp)) for sp in species]
            if dev is not None:
                layers.append((f"sites.{site}.devices.{device}.rules", dev.rules))
        for where, layer in layers:
            for rule, values in layer.items():
                if rule not in RULE_NAMES:
                    raise ValueError(f"{where}: unknown rule {rule!r}; known: {', '.join(RULE_NAMES)}")
                merged[rule] = deep_merge(merged[rule], values)
        return Rules.model_validate(merged)

    def lifecycle_for(self, rule: RuleBase) -> Lifecycle:
        over = {k: v for k, v in rule.lifecycle.model_dump().items() if v is not None}
        return self.lifecycle.model_copy(update=over)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path: str | Path | None) -> AlertsConfig:
    """Read and validate a YAML config; ``None`` gives the defaults. Errors name the key and the value."""
    if path is None:
        return AlertsConfig()
    data = load_yaml(path) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return AlertsConfig.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: invalid alerts config:\n{exc}") from exc
