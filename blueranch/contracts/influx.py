"""Contract 2: InfluxDB measurements, tags, fields, units and retention policies.

Everything that writes to or reads from InfluxDB uses these definitions: telemetry becomes lines through
:func:`blueranch.contracts.lineprotocol.telemetry_lines` (one field and its ``_qc`` flag per sample, in the
measurement of the sample's quantity), the workers write the derived measurements, and the dashboards are
generated from :data:`MEASUREMENTS`, so a panel query can never name a field that is never written.

Tags hold only bounded, configured identifiers (site, farm, asset, device, sensor, enumerations); sequence
numbers, free text and numbers are always fields. Timestamps are written with millisecond precision.
Writes are idempotent: a point is identified by measurement, tag set and time, and a replayed reading
produces exactly the same point (the backfill marker is deliberately not stored in the point).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from blueranch.contracts.mqtt import Status, Telemetry, time_ms
from blueranch.contracts.quantities import QUANTITIES

FieldType = Literal["float", "integer", "string", "boolean"]

#: Timestamps are written and read in milliseconds (``precision=ms`` on /write).
PRECISION = "ms"
DEFAULT_DATABASE = "blueranch"


@dataclass(frozen=True)
class RetentionPolicy:
    name: str
    duration: str  # InfluxQL duration literal; "INF" keeps forever
    default: bool = False
    description: str = ""


RETENTION_POLICIES: dict[str, RetentionPolicy] = {
    rp.name: rp
    for rp in [
        RetentionPolicy("raw", "730d", True, "Sensor telemetry as received: two years for audit and re-computation."),
        RetentionPolicy(
            "derived", "INF", False, "Carbon stocks, budgets and alerts: the auditable record, kept forever."
        ),
        RetentionPolicy("ops", "30d", False, "Ingest statistics and errors: operational, short-lived."),
    ]
}


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType
    unit: str
    description: str


@dataclass(frozen=True)
class Measurement:
    name: str
    retention_policy: str
    tags: tuple[str, ...]
    fields: tuple[FieldDef, ...]
    description: str
    #: Tags that may be absent on a point (all others are always present).
    optional_tags: tuple[str, ...] = field(default=())

    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"measurement {self.name!r} has no field {name!r}; fields: {[f.name for f in self.fields]}")


QC_SUFFIX = "_qc"
#: Where every telemetry measurement is kept.
TELEMETRY_RETENTION_POLICY = "raw"
TELEMETRY_TAGS = ("site", "device", "sensor", "farm", "asset")
TELEMETRY_OPTIONAL_TAGS = ("farm", "asset")


def _telemetry_measurement(name: str, description: str) -> Measurement:
    fields: list[FieldDef] = []
    for q in QUANTITIES.values():
        if q.measurement == name:
            fields.append(FieldDef(q.name, "float", q.unit, q.description))
            fields.append(FieldDef(q.name + QC_SUFFIX, "integer", "QARTOD", f"QARTOD flag of {q.name}"))
    return Measurement(
        name, TELEMETRY_RETENTION_POLICY, TELEMETRY_TAGS, tuple(fields), description, TELEMETRY_OPTIONAL_TAGS
    )


_F = FieldDef
_TELEMETRY_MEASUREMENTS = {
    "water_quality": "Sonde readings: temperature, salinity, oxygen, pH, chlorophyll, turbidity.",
    "weather": "Wind, air pressure and temperature, waves.",
    "position": "Buoy GPS position and fix quality.",
    "biomass_load": "Load cells on longline droppers and kelp raft lines.",
    "energy": "Island energy meters: grid kWh and diesel litres (cumulative registers).",
    "reef": "Artificial reef monitor: echosounder density and camera fish counts.",
    "device_health": "Buoy power and housekeeping, edge buffer depth and drops.",
}

MEASUREMENTS: dict[str, Measurement] = {
    **{n: _telemetry_measurement(n, d) for n, d in _TELEMETRY_MEASUREMENTS.items()},
    "device_status": Measurement(
        "device_status",
        "raw",
        ("site", "device"),
        (
            _F("online", "integer", "1", "1 when the agent is online, 0 when offline (Last Will)"),
            _F("buffer_depth", "integer", "count", "Readings waiting in the edge buffer"),
            _F("buffer_dropped_total", "integer", "count", "Readings evicted from the edge buffer since install"),
            _F("sw_version", "string", "", "Edge agent software version"),
            _F("config_version", "string", "", "Edge agent config version"),
            _F(
                "epoch", "string", "", "Edge buffer epoch: a new value means the buffer was lost, replaced or recovered"
            ),
            _F("refused_total", "integer", "count", "Telemetry publishes the broker refused since the agent started"),
        ),
        "Retained status messages from edge agents.",
    ),
    "carbon_stock": Measurement(
        "carbon_stock",
        "derived",
        ("site", "farm", "asset", "category", "group"),
        (
            _F("wet_t", "float", "t", "Wet biomass (live weight) standing stock"),
            _F("t_c", "float", "t C", "Carbon in the standing stock"),
            _F("t_co2e", "float", "t CO2e", "Carbon in the standing stock as CO2 equivalent (x 44/12)"),
            _F("harvested_wet_t", "float", "t", "Wet biomass harvested since the previous point"),
            _F("lost_wet_t", "float", "t", "Wet biomass lost (fall-off) since the previous point"),
            _F("completeness", "float", "1", "Share of expected readings present, 0..1"),
        ),
        "Carbon stock per farmed asset (longline, raft, reef zone) from load cells and models.",
    ),
    "carbon_budget": Measurement(
        "carbon_budget",
        "derived",
        ("site", "scope", "key", "period", "method"),
        (
            _F("sinks_t_c", "float", "t C", "Creditable sinks over the period"),
            _F("sinks_t_co2e", "float", "t CO2e", "Creditable sinks over the period"),
            _F("sinks_lo95_t_co2e", "float", "t CO2e", "Lower bound of the 95 % interval of sinks"),
            _F("sinks_hi95_t_co2e", "float", "t CO2e", "Upper bound of the 95 % interval of sinks"),
            _F("scope1_t_co2e", "float", "t CO2e", "Energy sources, scope 1: diesel burnt on the island (CO2 only)"),
            _F("scope2_t_co2e", "float", "t CO2e", "Energy sources, scope 2: grid electricity (CO2 only)"),
            _F("sources_t_co2e", "float", "t CO2e", "Energy sources (scope 1 + scope 2); feed is apart"),
            _F("sources_lo95_t_co2e", "float", "t CO2e", "Lower bound of the 95 % interval of energy sources"),
            _F("sources_hi95_t_co2e", "float", "t CO2e", "Upper bound of the 95 % interval of energy sources"),
            _F("feed_t_co2e", "float", "t CO2e", "Feed carbon of fed pens: biogenic, its own line, an estimate"),
            _F("net_emissions_t_co2e", "float", "t CO2e", "Energy sources minus creditable sinks"),
            _F("net_lo95_t_co2e", "float", "t CO2e", "Lower bound of the 95 % interval of net emissions"),
            _F("net_hi95_t_co2e", "float", "t CO2e", "Upper bound of the 95 % interval of net emissions"),
            _F("reef_stock_t_c", "float", "t C", "Reef standing stock (reported, not creditable by default)"),
            _F("uncertainty_deduction_t_co2e", "float", "t CO2e", "Credits: deduction for the sinks' uncertainty"),
            _F("buffer_t_co2e", "float", "t CO2e", "Credits: buffer held back against reversals"),
            _F("creditable_t_co2e", "float", "t CO2e", "Credits: net creditable after the deductions (0: none)"),
            _F("value", "float", "currency", "Value of the net creditable t CO2e at the configured price"),
            _F("completeness", "float", "1", "Lowest completeness of the data behind the net (biomass, energy)"),
            _F("completeness_biomass", "float", "1", "Share of expected load-cell readings present, 0..1"),
            _F("completeness_energy", "float", "1", "Share of expected meter readings present, 0..1"),
            _F("completeness_reef", "float", "1", "Share of expected reef-monitor readings present, 0..1"),
            _F("data_sufficient", "integer", "1", "1 when completeness reaches the threshold, 0: insufficient data"),
            _F("meter_resets", "integer", "count", "Meter registers that went backwards (not counted as use)"),
            _F("meter_jumps", "integer", "count", "Meter readings beyond the maximum rate (flagged, not counted)"),
        ),
        "Island carbon budget per scope (site, farm, category, asset) and period (day, month, ytd).",
    ),
    "alerts": Measurement(
        "alerts",
        "derived",
        ("site", "device", "kind", "severity", "state", "subject"),
        (
            _F("alert_id", "string", "", "Stable alert id (one per condition per device)"),
            _F("message", "string", "", "Human-readable description"),
            _F("value", "float", "", "The value that triggered or cleared the alert"),
            _F("threshold", "float", "", "The threshold in force"),
            _F("open", "integer", "1", "1 while open or acknowledged, 0 once resolved"),
        ),
        "Alert lifecycle events (open, acknowledged, escalated, resolved). ``subject`` (optional) tells "
        "alerts of one device apart: the sensor or the asset (a load-cell gateway weighs several lines).",
        ("subject",),
    ),
    "ingest_errors": Measurement(
        "ingest_errors",
        "ops",
        ("reason", "worker"),
        (
            _F("count", "integer", "count", "1 per rejected message"),
            _F("topic", "string", "", "Topic of the rejected message (escaped, truncated)"),
            _F("detail", "string", "", "What was wrong: field, value and rule"),
        ),
        "Messages the ingest rejected, with the reason.",
    ),
    "ingest_stats": Measurement(
        "ingest_stats",
        "ops",
        ("worker",),
        (
            _F("messages_total", "integer", "count", "Messages received"),
            _F("points_total", "integer", "count", "Points written"),
            _F("batches_total", "integer", "count", "Batches written"),
            _F("errors_total", "integer", "count", "Messages rejected"),
            _F("backfill_messages_total", "integer", "count", "Replayed (backfill) messages received"),
            _F("batch_latency_s", "float", "s", "Latency of the last write batch"),
            _F("lag_s", "float", "s", "Server time minus the newest sample time written"),
        ),
        "Ingest self-metrics.",
    ),
}

#: Tag values that are enumerations (bounded by construction).
ENUM_TAG_VALUES: dict[str, tuple[str, ...]] = {
    "category": ("bivalve", "macroalgae", "reef", "source"),
    "scope": ("site", "farm", "category", "asset"),
    "period": ("hour", "day", "month", "year", "ytd"),
    "method": ("count", "deduct"),
    "severity": ("info", "warning", "critical"),
    "state": ("open", "acknowledged", "escalated", "resolved"),
}


@dataclass(frozen=True)
class Point:
    """One InfluxDB point. ``time_ms`` is milliseconds since the Unix epoch (UTC)."""

    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | int | str | bool]
    time_ms: int


def to_ms(t: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime (its instant, whatever its zone)."""
    if t.tzinfo is None:
        raise ValueError("naive datetime: timestamps must be UTC-aware")
    return time_ms(t)


def position_point(site: str, msg: Telemetry) -> Point | None:
    """The payload's ``position`` as a ``position`` point (sensor ``payload``, QC 2, at the newest sample's
    time), only for a message that has no ``lat_deg``/``lon_deg`` sample: one GPS fix is one series.

    An edge agent copies its GPS sensor's fix into ``position`` (metadata for MQTT subscribers); that fix is
    already written by the sensor's own samples, so a second ``sensor=payload`` copy would make a drifting
    buoy two mooring tracks and give the silent-device rule a sensor that does not exist. A device whose
    only fix is the payload's position (no GPS samples) still gets it written, once.
    """
    if msg.position is None or any(s.quantity in _FIX_QUANTITIES for s in msg.samples):
        return None
    t = max(s.time for s in msg.samples)
    return Point(
        "position",
        {"site": site, "device": msg.device, "sensor": PAYLOAD_SENSOR},
        {"lat_deg": msg.position.lat_deg, "lon_deg": msg.position.lon_deg, "lat_deg_qc": 2, "lon_deg_qc": 2},
        to_ms(t),
    )


#: The sensor tag of a position written from the payload's ``position`` (no GPS samples in the message).
PAYLOAD_SENSOR = "payload"
_FIX_QUANTITIES = frozenset({"lat_deg", "lon_deg"})


def status_points(site: str, status: Status, received_ms: int) -> list[Point]:
    """Map an edge agent's status message (retained, or its Last Will) to a ``device_status`` point.

    The point is stamped with the status's own time when it has one (so a re-delivered retained status
    rewrites the same point), otherwise with the time the server received it (a Last Will has no time of
    its own: the broker sends it when the agent is gone).
    """
    fields: dict[str, float | int | str | bool] = {"online": 1 if status.state == "online" else 0}
    for name in ("buffer_depth", "buffer_dropped_total", "sw_version", "config_version", "epoch", "refused_total"):
        value = getattr(status, name)
        if value is not None:
            fields[name] = value
    t = to_ms(status.time) if status.time is not None else received_ms
    return [Point("device_status", {"site": site, "device": status.device}, fields, t)]
