"""A sample day of every measurement the dashboards read, written as the platform writes it.

Used by the tests (every panel must return data on it), the benchmark, and
``blueranch dashboards sample-data`` to preview the dashboards on a Grafana without a ranch behind it.

Telemetry goes through the contract's own serialiser (:class:`Telemetry` -> :func:`telemetry_lines`), as
the ingest does; derived measurements (device status, carbon stock and budget, alerts, ingest
self-metrics) are contract :class:`Point` objects written with :func:`lines`. Every field a panel
reads is written; the numbers are plausible test data, not domain figures.

The day ends at the current minute so that queries relative to ``now()`` (the stale-device rule) see
it. One buoy stops reporting two hours before the end and goes offline; one buoy drops buffered
readings in the last hours; dissolved oxygen at one buoy falls below the hypoxia thresholds; the
mussel longline is harvested at noon (its load drops to a few per cent). Budget points are stamped,
like the carbon worker's, at the start of their period (day, month, year to date).

``derived=False`` writes only what the edge and ingest write (telemetry, device status, ingest
self-metrics), for tests that run the real carbon and alert workers on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from blueranch.contracts.influx import MEASUREMENTS, TELEMETRY_RETENTION_POLICY, Point, to_ms
from blueranch.contracts.lineprotocol import lines, telemetry_lines
from blueranch.contracts.mqtt import Position, Sample, Telemetry
from blueranch.contracts.quantities import QUANTITIES
from blueranch.influxdb import InfluxClient

SITE = "dachen"
STEP = timedelta(minutes=10)
#: (device, farm or None, asset of its load cell or None, latitude, longitude)
BUOYS = [
    ("buoy-01", "m1", "m1-line-01", 28.452, 121.891),
    ("buoy-02", "k1", "k1-raft-01", 28.447, 121.902),
    ("buoy-03", None, None, 28.459, 121.884),
]
STALE = "buoy-03"
METER = "shore-meter-01"
HARVESTED = "m1-line-01"
HARVEST_STEP = 72  # noon of the simulated day
DROPPING = "buoy-02"
HYPOXIC = "buoy-01"


@dataclass(frozen=True)
class Day:
    start: datetime
    end: datetime
    points: int

    @property
    def from_ms(self) -> int:
        return to_ms(self.start)

    @property
    def to_ms(self) -> int:
        return to_ms(self.end)


def _wq(name: str, i: int, device: str, hours_left: float) -> float:
    wave = math.sin(i / 12)
    base = {
        "temp_c": 18 + wave,
        "sp_cond_us_cm": 48_000 + 200 * wave,
        "salinity_psu": 31 + wave / 4,
        "depth_m": 3 + wave / 10,
        "do_mg_l": 6.5 + wave / 2,
        "do_sat_pct": 95 + 5 * wave,
        "ph": 8.05,
        "chl_ug_l": 4 + wave,
        "turbidity_ntu": 6 + wave,
        "orp_mv": 180 + 10 * wave,
    }[name]
    if device == HYPOXIC and name == "do_mg_l" and hours_left < 3:
        return 1.6 + hours_left / 10  # hypoxia in the last three hours
    return base


def _dropped(device: str, i: int) -> int:
    """Readings the edge buffer of ``device`` evicted by step ``i``: the dropping buoy loses 3 per step
    in the last four hours."""
    return max(0, i - 120) * 3 if device == DROPPING else 0


def _samples(t: datetime, i: int, device: str, farm: str | None, asset: str | None, hours_left: float):
    def s(sensor: str, name: str, value: float, **tags) -> Sample:
        return Sample(
            time=t,
            sensor=sensor,
            quantity=name,
            value=float(value),
            unit=QUANTITIES[name].unit,
            qc=1,
            farm=farm,
            **tags,
        )

    out = [
        s("sonde", n, _wq(n, i, device, hours_left)) for n, q in QUANTITIES.items() if q.measurement == "water_quality"
    ]
    dropped = _dropped(device, i)
    out += [
        s("power", "battery_v", 12.6 - i / 400),
        s("modem", "rssi_dbm", -80 - (i % 7)),
        s("agent", "buffer_depth", 40 if dropped else i % 5),
        s("agent", "buffer_dropped_total", dropped),
        s("agent", "uptime_s", 600 * i),
        s("agent", "solar_a", 1.2),
        s("agent", "enclosure_rh_pct", 40),
    ]
    if device == "buoy-01":
        out += [
            s("met", "wind_speed_m_s", 6 + 3 * math.sin(i / 20)),
            s("met", "wind_dir_deg", 90),
            s("met", "wave_height_m", 1.2 + math.sin(i / 30) / 2),
            s("met", "air_pressure_hpa", 1012),
            s("met", "air_temp_c", 17),
        ]
    if asset is not None:
        harvested = asset == HARVESTED and i >= HARVEST_STEP
        out.append(s("loadcell", "load_kg", 45 + 0.1 * (i - HARVEST_STEP) if harvested else 800 + 2 * i, asset=asset))
    return out


def _meters(t: datetime, i: int) -> Telemetry:
    """The island's diesel and grid meters (cumulative registers)."""
    samples = [
        Sample(time=t, sensor="fuel", quantity="diesel_l_total", value=1000.0 + 2.1 * i, unit="L", qc=1),
        Sample(time=t, sensor="grid", quantity="grid_kwh_total", value=50_000.0 + 40.0 * i, unit="kWh", qc=1),
    ]
    return Telemetry(device=METER, seq=i, samples=samples)


def _period_start(t: datetime, period: str) -> int:
    day = t.replace(hour=0, minute=0)
    return to_ms({"day": day, "month": day.replace(day=1), "ytd": day.replace(month=1, day=1)}[period])


#: Sample-only figures. C_PER_WET_T is a round made-up carbon share (the real per-species coefficients are
#: in the carbon worker's carbon_coefficients.csv); CO2E_PER_C is 44/12 (molar masses of CO2 and C);
#: PRICE_PER_T_CO2E is the Dachen mussel blue-carbon auction, Oct 2023: RMB 45.2 per t
#: (shared/reference/README.md).
C_PER_WET_T = 0.05
CO2E_PER_C = 44 / 12
PRICE_PER_T_CO2E = 45.2


def _derived(site: str, t: datetime, i: int, hour: int) -> list[Point]:
    ms = to_ms(t)
    pts = []
    for _device, farm, asset, *_ in BUOYS:
        if asset is None:
            continue
        category, group = ("bivalve", "mussel") if farm == "m1" else ("macroalgae", "kelp")
        wet = 120 + hour - (10 if hour >= 12 else 0)
        pts.append(
            Point(
                "carbon_stock",
                {"site": site, "farm": farm, "asset": asset, "category": category, "group": group},
                {
                    "wet_t": float(wet),
                    "t_c": wet * C_PER_WET_T,
                    "t_co2e": wet * C_PER_WET_T * CO2E_PER_C,
                    "harvested_wet_t": 10.0 if hour == 12 else 0.0,
                    "lost_wet_t": 0.0,
                    "completeness": 0.97,
                },
                ms,
            )
        )
    scopes = [("site", site), ("category", "bivalve"), ("category", "macroalgae"), ("farm", "m1"), ("farm", "k1")]
    for method in ("count", "deduct"):
        for scope, key in scopes:
            for period in ("day", "month", "ytd"):
                sinks = (1000.0 if period == "ytd" else 0.0) + 3 * hour + (20 if method == "count" else 0)
                pts.append(
                    Point(
                        "carbon_budget",
                        {"site": site, "scope": scope, "key": key, "period": period, "method": method},
                        {
                            "sinks_t_c": sinks / CO2E_PER_C,
                            "sinks_t_co2e": sinks,
                            "sources_t_co2e": sinks / 3,
                            "net_emissions_t_co2e": -sinks * 2 / 3,
                            "sinks_lo95_t_co2e": sinks * 0.85,
                            "sinks_hi95_t_co2e": sinks * 1.15,
                            "feed_t_co2e": sinks * 1.5,  # the fed pens' feed: apart, larger than the sinks
                            "reef_stock_t_c": 55.0,
                            "creditable_t_co2e": 0.9 * sinks * 0.85,  # lower bound, less a 10 % buffer
                            "value": 0.9 * sinks * 0.85 * PRICE_PER_T_CO2E,  # of the net creditable tonnes
                            "completeness": 0.96,
                        },
                        _period_start(t, period),
                    )
                )
    return pts


def _ops(t: datetime, i: int) -> list[Point]:
    ms = to_ms(t)
    pts = [
        Point(
            "ingest_stats",
            {"worker": w},
            {
                "messages_total": 30 * i,
                "points_total": 300 * i,
                "batches_total": 3 * i,
                "errors_total": i // 10,
                "backfill_messages_total": 0,
                "batch_latency_s": 0.02,
                "lag_s": 1.5,
            },
            ms,
        )
        for w in ("w0", "w1")
    ]
    if i % 10 == 0:
        pts.append(
            Point(
                "ingest_errors",
                {"reason": "out_of_range", "worker": "w0"},
                {
                    "count": 1,
                    "topic": "blueranch/v1/dachen/buoy-02/telemetry",
                    "detail": "do_mg_l: value 99 outside [0, 30]",
                },
                ms + 1,
            )
        )
    return pts


@dataclass
class DayContent:
    """What a simulated day consists of: telemetry messages (as edge agents publish them) and other points."""

    site: str
    start: datetime
    end: datetime
    telemetry: list[Telemetry]
    points: list[Point]


def day_content(end: datetime | None = None, derived: bool = True, ops: bool = True, site: str = SITE) -> DayContent:
    """Build the day. ``derived``: carbon and alert points; ``ops``: ingest self-metrics and errors."""
    end = (end or datetime.now(UTC)).replace(second=0, microsecond=0)
    start = end - timedelta(days=1)
    steps = int(timedelta(days=1) / STEP)
    telemetry: list[Telemetry] = []
    pts: list[Point] = []
    for i in range(steps + 1):
        t = start + i * STEP
        hours_left = (end - t) / timedelta(hours=1)
        for device, farm, asset, lat, lon in BUOYS:
            if device == STALE and hours_left < 2:
                continue
            telemetry.append(
                Telemetry(
                    device=device,
                    seq=i,
                    position=Position(lat_deg=lat, lon_deg=lon),
                    samples=_samples(t, i, device, farm, asset, hours_left),
                )
            )
            online = 0 if device == STALE and hours_left < 2.5 else 1
            dropped = _dropped(device, i)
            pts.append(
                Point(
                    "device_status",
                    {"site": site, "device": device},
                    {
                        "online": online,
                        "buffer_depth": 40 if dropped else i % 5,
                        "buffer_dropped_total": dropped,
                        "sw_version": "0.1.0",
                        "config_version": "1",
                    },
                    to_ms(t),
                )
            )
        telemetry.append(_meters(t, i))
        if derived and i % 6 == 0:
            pts += _derived(site, t, i, i // 6)
        if ops:
            pts += _ops(t, i)
    if derived:
        pts += _alerts(site, end)
    return DayContent(site, start, end, telemetry, pts)


def _alerts(site: str, end: datetime) -> list[Point]:
    return [
        Point(
            "alerts",
            {"site": site, "device": HYPOXIC, "kind": "hypoxia", "severity": "critical", "state": "open"},
            {
                "alert_id": f"{HYPOXIC}-hypoxia",
                "message": "dissolved oxygen below 3 mg/L",
                "value": 1.7,
                "threshold": 3.0,
                "open": 1,
            },
            to_ms(end - timedelta(hours=2)),
        ),
        Point(
            "alerts",
            {"site": site, "device": DROPPING, "kind": "buffer_drops", "severity": "warning", "state": "open"},
            {
                "alert_id": f"{DROPPING}-buffer",
                "message": "edge buffer dropped readings",
                "value": 3.0,
                "threshold": 0.0,
                "open": 1,
            },
            to_ms(end - timedelta(hours=4)),
        ),
        Point(
            "alerts",
            {"site": site, "device": DROPPING, "kind": "buffer_drops", "severity": "warning", "state": "resolved"},
            {
                "alert_id": f"{DROPPING}-buffer",
                "message": "edge buffer drained",
                "value": 0.0,
                "threshold": 0.0,
                "open": 0,
            },
            to_ms(end - timedelta(hours=1)),
        ),
    ]


def write_points(client: InfluxClient, points: list[Point]) -> None:
    """Write points to their contract retention policies, in batches."""
    by_rp: dict[str, list[Point]] = {}
    for p in points:
        by_rp.setdefault(MEASUREMENTS[p.measurement].retention_policy, []).append(p)
    for rp, pts in by_rp.items():
        for k in range(0, len(pts), 5000):
            client.write(lines(pts[k : k + 5000]), retention_policy=rp)


def simulated_day(
    client: InfluxClient, end: datetime | None = None, derived: bool = True, sites: tuple[str, ...] = (SITE,)
) -> Day:
    """Write one day of contract-conformant points for every measurement the dashboards read; telemetry
    goes through the contract's own serialiser (``telemetry_lines``), as the ingest writes it."""
    total = 0
    for k, site in enumerate(sites):
        day = day_content(end, derived, ops=k == 0, site=site)  # one ingest serves every site
        telemetry = [ln for msg in day.telemetry for ln in telemetry_lines(site, msg)]
        for i in range(0, len(telemetry), 5000):
            client.write("\n".join(telemetry[i : i + 5000]).encode(), retention_policy=TELEMETRY_RETENTION_POLICY)
        write_points(client, day.points)
        total += len(telemetry) + len(day.points)
    return Day(day.start, day.end, total)
