"""Scenario files: typed, validated descriptions of a ranch, its devices, events and faults.

A scenario is YAML validated by pydantic with ``extra="forbid"``: an unknown key or an impossible value
fails with :class:`ScenarioError`, whose message names the dotted path (``devices.3.faults.spike``) and
the rule broken. Built-in scenarios live in ``firmware_sim/scenarios/NAME.yaml``; a path works too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from blueranch.contracts.mqtt import ID_PATTERN
from blueranch.contracts.strict import FrozenStrictModel
from blueranch.loader import LoadError, load_yaml
from blueranch.sim.faults import FaultRates
from blueranch.sim.physics.params import Biology, Climate, Energy

SCENARIO_DIR = Path(__file__).parent / "scenarios"

Id = Annotated[str, Field(pattern=ID_PATTERN)]
MonthDay = Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]


class ScenarioError(ValueError):
    """A scenario file that does not validate; ``errors`` holds ``(path, rule)`` pairs."""

    def __init__(self, source: str, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__(f"scenario {source}: " + "; ".join(f"{p}: {r}" for p, r in errors))


class Asset(FrozenStrictModel):
    """A farmed unit (longline block, kelp raft block), the reef zone or a pen, with its true biomass."""

    id: Id
    farm: Id
    kind: Literal["bivalve", "macroalgae", "reef", "pen"]
    group: str = Field(description="row of carbon_coefficients.csv (mussel, kelp, ...), or reef/croaker")
    area_mu: float = Field(gt=0, le=10_000, description="sea area, mu (1 mu = 666.7 m2)")
    lines: int = Field(1, ge=1, le=1_000_000, description="droppers/lines in the asset (lines_per_sensor)")
    seed_per_line: float = Field(0.0, ge=0, description="bivalve: individuals per line; kelp: wet kg per line")
    seeding: MonthDay | None = Field(None, description="yearly seeding (outplanting) date, MM-DD")
    harvest_start: MonthDay | None = None
    harvest_days: int = Field(30, ge=1, le=200, description="harvest spread evenly over this many days")
    standing_wet_t: float = Field(0.0, ge=0, description="reef/pen: mean standing stock, wet t")
    tare_kg: float = Field(25.0, ge=0, le=10_000, description="load cell: rope, floats and shackles")
    wet_per_submerged: float = Field(3.0, gt=0, le=100, description="in-air wet weight / submerged load")


class Device(FrozenStrictModel):
    id: Id
    protocol: Literal["sdi12", "nmea", "modbus", "mqtt_node"]
    kind: Literal["sonde", "gps_weather", "load_cell", "energy_meter", "fuel_meter", "buoy_power", "reef_monitor"]
    address: str = Field("0", description="SDI-12 address, Modbus unit id, or ignored")
    asset: Id | None = Field(None, description="load cell: the asset it weighs; sonde: where it hangs")
    farm: Id | None = None
    edge_device: Id = Field("buoy-01", description="the edge agent or gateway that reads this device")
    interval_s: float = Field(600.0, ge=1, le=86_400, description="MQTT node report interval")
    byte_order: Literal["big", "little"] = "big"
    word_order: Literal["big", "little"] = "big"
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] | None = Field(
        None, description="Modbus slave: the only speed it hears (None: any)"
    )
    parity: Literal["N", "E", "O"] | None = Field(None, description="Modbus slave: the only parity it hears")
    mount_depth_m: float = Field(3.0, ge=0, le=100, description="sonde depth below mean sea level")
    faults: FaultRates = FaultRates()

    @model_validator(mode="after")
    def _consistent(self) -> Device:
        allowed = {
            "sdi12": {"sonde"},
            "nmea": {"gps_weather"},
            "modbus": {"load_cell", "energy_meter", "fuel_meter", "buoy_power"},
            "mqtt_node": {"load_cell", "reef_monitor"},
        }[self.protocol]
        if self.kind not in allowed:
            raise ValueError(f"kind {self.kind!r} cannot speak {self.protocol}; allowed: {sorted(allowed)}")
        if self.protocol == "sdi12" and not (len(self.address) == 1 and self.address.isalnum()):
            raise ValueError(f"SDI-12 address {self.address!r} must be one character 0-9, a-z or A-Z")
        if self.protocol == "modbus" and not (self.address.isdigit() and 1 <= int(self.address) <= 247):
            raise ValueError(f"Modbus unit id {self.address!r} must be 1..247")
        if self.protocol != "modbus" and (self.baudrate is not None or self.parity is not None):
            raise ValueError("baudrate and parity are settings of Modbus slaves only")
        if self.kind == "load_cell" and self.asset is None:
            raise ValueError("a load cell needs the asset it weighs")
        return self


class Event(FrozenStrictModel):
    """A scheduled happening, ``at_h`` hours after the scenario start."""

    kind: Literal["storm", "hypoxia", "heatwave", "mooring_break", "biomass_loss", "silent_device", "harvest"]
    at_h: float = Field(ge=0)
    duration_h: float = Field(24.0, gt=0, le=24 * 60)
    wind_m_s: float = Field(24.0, ge=0, le=80, description="storm: peak wind")
    pressure_drop_hpa: float = Field(25.0, ge=0, le=120)
    min_do_mg_l: float = Field(1.5, ge=0, le=10, description="hypoxia: night-time DO at the event's peak")
    ramp_h: float = Field(
        3.0, gt=0, le=24, description="hypoxia: hours DO takes to fall (and recover); at most half the event"
    )
    diurnal: bool = Field(
        True,
        description="hypoxia: deepest before dawn (respiration draws DO down all night); false: as deep at any "
        "hour, a crash scripted for a demo",
    )
    anomaly_c: float = Field(3.0, ge=0, le=10, description="heatwave: temperature anomaly")
    device: Id | None = None
    asset: Id | None = None
    fraction: float = Field(0.3, gt=0, le=1, description="biomass_loss/harvest: fraction of the asset")
    drift_kn: float = Field(1.0, ge=0, le=10, description="mooring_break: drift speed")

    @model_validator(mode="after")
    def _targets(self) -> Event:
        if self.kind in ("mooring_break", "silent_device") and self.device is None:
            raise ValueError(f"a {self.kind} event needs a device")
        if self.kind in ("biomass_loss", "harvest") and self.asset is None:
            raise ValueError(f"a {self.kind} event needs an asset")
        return self


class Location(FrozenStrictModel):
    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)


class Scenario(FrozenStrictModel):
    name: Id
    description: str = ""
    site: Id
    start: datetime
    days: float = Field(gt=0, le=3660)
    step_s: float = Field(600.0, ge=10, le=3600, description="engine step: physics and nodes advance by this")
    location: Location
    climate: Climate = Climate()
    biology: Biology = Biology()
    energy: Energy = Energy()
    random_storms_per_year: float = Field(0.0, ge=0, le=50)
    assets: list[Asset] = []
    devices: list[Device]
    meters: list[Id] = Field([], description="energy/fuel meter device ids (truth 'energy' records)")
    events: list[Event] = []

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise ValueError(f"start {self.start.isoformat()} must be UTC (end it with Z)")
        for what, ids in (("asset", [a.id for a in self.assets]), ("device", [d.id for d in self.devices])):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"duplicate {what} ids: {dup}")
        assets = {a.id for a in self.assets}
        devices = {d.id for d in self.devices}
        for d in self.devices:
            if d.asset is not None and d.asset not in assets:
                raise ValueError(f"device {d.id} refers to unknown asset {d.asset!r}")
        for e in self.events:
            if e.device is not None and e.device not in devices:
                raise ValueError(f"{e.kind} event refers to unknown device {e.device!r}")
            if e.asset is not None and e.asset not in assets:
                raise ValueError(f"{e.kind} event refers to unknown asset {e.asset!r}")
        for m in self.meters:
            if m not in devices:
                raise ValueError(f"meter {m!r} is not a device")
        return self

    def device(self, device_id: str) -> Device:
        for d in self.devices:
            if d.id == device_id:
                return d
        raise KeyError(f"scenario {self.name} has no device {device_id!r}")


def _errors(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in exc.errors():
        path = ".".join(str(p) for p in e["loc"]) or "(top level)"
        out.append((path, f"{e['msg']} (got {e.get('input')!r})"[:300]))
    return out


def parse_scenario(data: object, source: str = "<data>") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _errors(exc)) from None


def builtin_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (``dachen``) or a YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ScenarioError(str(name_or_path), [("(name)", f"unknown scenario; built-in: {builtin_names()}")])
    try:
        data = load_yaml(path)
    except LoadError as exc:
        raise ScenarioError(str(path), [(v.field, v.rule) for v in exc.violations]) from None
    return parse_scenario(data, str(path))
