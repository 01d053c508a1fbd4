"""The live carbon worker: raw telemetry in InfluxDB -> ``carbon_stock`` and ``carbon_budget`` (``"derived"`` RP).

Each cycle: refresh the day caches (only days whose reading counts changed are re-read), rebuild every
asset's biomass record, recompute the budget for every day, month and year-to-date since the accounting
start, and write the points whose values changed. Timestamps are deterministic (period start for budgets,
the hour for stocks), so a rewrite replaces a point in place: a late or backfilled reading corrects the
periods it belongs to, a restart rebuilds everything from InfluxDB, and writes are idempotent.

The accounting start is ``start`` from the config, else 1 January (UTC) of the newest reading's year;
"now" is the newest reading (the simulator may run in accelerated or past time), not the wall clock.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from blueranch.contracts.influx import Point
from blueranch.contracts.query import Between, TagEq, latest
from blueranch.influxdb import InfluxClient, InfluxError
from blueranch.models.carbon.biomass import AssetSeries
from blueranch.models.carbon.budget import Budget, Inputs, asset_series, compute_budget
from blueranch.models.carbon.config import CarbonConfig
from blueranch.models.carbon.influx_io import DAY_MS, DayCache, PointWriter, SeriesData
from blueranch.models.carbon.method import to_t_co2e
from blueranch.models.carbon.periods import periods_between, utc, year_start_ms
from blueranch.models.carbon.sources import MeterSeries, meter_id, reef_stock_at
from blueranch.reader import Reader

log = logging.getLogger("blueranch.carbon.worker")
HOUR_MS = 3_600_000


@dataclass
class CycleStats:
    latest_ms: int | None
    series_days_reread: int
    points_written: int
    periods: int
    seconds: float
    #: the site's year to date: "measured" or "insufficient data" (below min_completeness)
    site_ytd_status: str | None = None


def _merge(parts: list[SeriesData]) -> SeriesData:
    return SeriesData(
        np.concatenate([p.times_ms for p in parts]),
        np.concatenate([p.values for p in parts]),
        np.concatenate([p.qc for p in parts]),
    )


def select(
    series: dict[tuple[str, ...], SeriesData], keys: tuple[str, ...], want: dict[str, str | None]
) -> SeriesData | None:
    """The readings of the series whose tags match ``want`` (None matches anything), merged."""
    parts = [d for k, d in series.items() if all(v is None or k[keys.index(t)] == v for t, v in want.items())]
    return _merge(parts) if parts else None


class CarbonWorker:
    BIOMASS_TAGS = ("asset", "device", "sensor")
    METER_TAGS = ("device", "sensor")
    REEF_TAGS = ("asset", "device")

    def __init__(self, client: InfluxClient, cfg: CarbonConfig, lookback_s: float = 2 * 86400):
        self.client, self.cfg = client, cfg
        self.reader = Reader(client)
        self.lookback_ms = int(lookback_s * 1000)
        site = cfg.site
        self.biomass = DayCache(client, "biomass_load", "load_kg", site, self.BIOMASS_TAGS)
        self.meters = {
            q: DayCache(client, "energy", q, site, self.METER_TAGS) for q in ("grid_kwh_total", "diesel_l_total")
        }
        self.reef = {
            q: DayCache(client, "reef", q, site, self.REEF_TAGS) for q in ("fish_density_m3", "fish_length_cm")
        }
        self.writer = PointWriter(client)
        self.last_budget: Budget | None = None
        self._logged_events: set = set()

    def future_bound_ms(self) -> int:
        """Readings after this are ignored: the wall clock plus ``max_future_s`` (see the config)."""
        return int((time.time() + self.cfg.max_future_s) * 1000)

    def _latest_ms(self) -> int | None:
        bound = self.future_bound_ms()
        q = latest("biomass_load", ("load_kg",), span=Between(None, bound), where=(TagEq("site", self.cfg.site),))
        for s in self.reader.run(q):
            for row in s.rows():
                return int(row["time"])
        return None

    def inputs(self, start_ms: int | None = None, end_ms: int | None = None) -> tuple[Inputs, int | None, int]:
        """Refresh the caches and build the budget inputs; returns (inputs, latest_ms, series-days re-read).

        Without bounds: from the accounting start to the newest reading. With bounds (the report): the
        readings in ``[start_ms - lookback, end_ms + lookback)``, so boundary stocks can be found.
        """
        latest = self._latest_ms()
        if latest is None:
            return Inputs({}), None, 0
        start = self.start_ms(latest) if start_ms is None else start_ms
        lo = start - self.lookback_ms
        hi = self.future_bound_ms() if end_ms is None else min(end_ms + self.lookback_ms, self.future_bound_ms())
        reread = self.biomass.refresh(lo, hi)
        for c in (*self.meters.values(), *self.reef.values()):
            reread += c.refresh(lo, hi)
        bio = self.biomass.series()
        assets: dict[str, AssetSeries] = {}
        for a in self.cfg.assets:
            d = select(bio, self.BIOMASS_TAGS, {"asset": a.asset, "device": a.device, "sensor": a.sensor})
            if d is None:
                log.warning(
                    "asset=%s device=%s sensor=%s: no load_kg readings since %s", a.asset, a.device, a.sensor, start
                )
                continue
            assets[a.asset] = asset_series(self.cfg, a, d.times_ms, d.values, d.qc)
        meters = {}
        for m in self.cfg.meters:
            d = select(self.meters[m.quantity].series(), self.METER_TAGS, {"device": m.device, "sensor": m.sensor})
            if d is not None:
                meters[meter_id(m)] = MeterSeries(d.times_ms, d.values, d.qc)
        dens, length = {}, {}
        for r in self.cfg.reefs:
            for name, out in (("fish_density_m3", dens), ("fish_length_cm", length)):
                d = select(self.reef[name].series(), self.REEF_TAGS, {"asset": r.zone, "device": r.device})
                if d is not None:
                    out[r.zone] = MeterSeries(d.times_ms, d.values, d.qc)
        return Inputs(assets, meters, dens, length), latest, reread

    def start_ms(self, latest_ms: int) -> int:
        if self.cfg.start is not None:
            return int(self.cfg.start.timestamp() * 1000)
        return year_start_ms(latest_ms, self.cfg.zone)

    def cycle(self) -> CycleStats:
        t0 = time.monotonic()
        inputs, latest, reread = self.inputs()
        if latest is None:
            log.info("site=%s: no biomass readings yet", self.cfg.site)
            return CycleStats(None, 0, 0, 0, time.monotonic() - t0)
        # Days, months and years of the site's zone (config ``timezone``), as the report cuts them.
        periods = periods_between(self.start_ms(latest), latest, tz=self.cfg.zone)
        budget = compute_budget(self.cfg, inputs, periods, latest)
        self.last_budget = budget
        self._log_meter_events(budget)
        start = self.start_ms(latest)
        points = (
            budget_points(self.cfg, budget)
            + stock_points(self.cfg, inputs, start, latest)
            + reef_points(self.cfg, inputs, start, latest)
        )
        written = self.writer.write(points)
        ytd = [t for t in budget.totals if t.scope == "site" and t.period.name == "ytd"]
        status = ytd[-1].status if ytd else None
        stats = CycleStats(latest, reread, written, len(periods), time.monotonic() - t0, status)
        log.info(
            "site=%s latest=%d periods=%d series_days_reread=%d points_written=%d in %.2fs; year to date: %s",
            self.cfg.site,
            latest,
            stats.periods,
            reread,
            written,
            stats.seconds,
            status,
        )
        return stats

    def _log_meter_events(self, budget: Budget) -> None:
        """Each meter reset, jump or bad reading once per worker (a restarted worker logs them again)."""
        for e in budget.meter_events:
            if e in self._logged_events:
                continue
            self._logged_events.add(e)
            what = {
                "reset": "register went backwards (reset or replaced meter): use counts from the new reading",
                "jump": "register jumped beyond the meter's maximum rate: not counted, use counts from the new reading",
                "outlier": "single reading inconsistent with its neighbours: not counted",
            }[e.kind]
            log.warning(
                "site=%s meter=%s at %s: %s -> %s: %s",
                self.cfg.site,
                e.meter,
                utc(e.time_ms).isoformat(),
                f"{e.before:g}",
                f"{e.value:g}",
                what,
            )

    def run(self, interval_s: float, stop: threading.Event) -> None:
        """Cycle until ``stop`` is set; InfluxDB errors are logged and retried at the next cycle."""
        while not stop.is_set():
            try:
                self.cycle()
            except InfluxError as exc:
                log.error(
                    "site=%s: cycle failed, retrying in %.0fs: %s (retryable=%s)",
                    self.cfg.site,
                    interval_s,
                    exc,
                    exc.retryable,
                )
            stop.wait(interval_s)


def _fields(**values: float | int | None) -> dict[str, float | int]:
    """Finite values only: InfluxDB stores no NaN, and a missing figure is left out, never made up.
    Python ints stay integers (the contract's integer fields: counts, flags)."""
    return {
        k: v if isinstance(v, int) and not isinstance(v, bool) else float(v)
        for k, v in values.items()
        if v is not None and np.isfinite(v)
    }


def budget_points(cfg: CarbonConfig, budget: Budget) -> list[Point]:
    out = []
    for t in budget.totals:
        if t.period.name not in ("day", "month", "ytd"):
            continue
        fields = _fields(
            sinks_t_c=t.sinks_t_c,
            sinks_t_co2e=t.sinks_t_co2e,
            sinks_lo95_t_co2e=t.sinks_lo95_t_co2e,
            sinks_hi95_t_co2e=t.sinks_hi95_t_co2e,
            scope1_t_co2e=t.scope1_t_co2e,
            scope2_t_co2e=t.scope2_t_co2e,
            sources_t_co2e=t.sources_t_co2e,
            sources_lo95_t_co2e=t.sources_lo95_t_co2e,
            sources_hi95_t_co2e=t.sources_hi95_t_co2e,
            feed_t_co2e=t.feed_t_co2e,
            net_emissions_t_co2e=t.net_emissions_t_co2e,
            net_lo95_t_co2e=t.net_lo95_t_co2e,
            net_hi95_t_co2e=t.net_hi95_t_co2e,
            reef_stock_t_c=t.reef_stock_t_c,
            uncertainty_deduction_t_co2e=t.uncertainty_deduction_t_co2e,
            buffer_t_co2e=t.buffer_t_co2e,
            creditable_t_co2e=t.creditable_t_co2e,
            value=t.value,
            completeness=t.completeness,
            completeness_biomass=t.completeness_biomass,
            completeness_energy=t.completeness_energy,
            completeness_reef=t.completeness_reef,
            data_sufficient=int(t.data_sufficient),
            meter_resets=t.meter_resets,
            meter_jumps=t.meter_jumps,
        )
        tags = {"site": cfg.site, "scope": t.scope, "key": t.key, "period": t.period.name, "method": cfg.calcification}
        out.append(Point("carbon_budget", tags, fields, t.period.start_ms))
    return out


def stock_points(cfg: CarbonConfig, inputs: Inputs, start_ms: int, latest_ms: int) -> list[Point]:
    """Hourly standing stock per asset (the level just before each hour), with the hour's harvests/losses."""
    coeffs = cfg.coefficients()
    first = start_ms // HOUR_MS * HOUR_MS + HOUR_MS
    hours = np.arange(first, latest_ms // HOUR_MS * HOUR_MS + HOUR_MS + 1, HOUR_MS, dtype=np.int64)
    out: list[Point] = []
    for a in cfg.assets:
        s = inputs.assets.get(a.asset)
        if s is None or hours.size == 0:
            continue
        wet = s.stock_at(hours)
        c = coeffs[a.group].t_c_per_wet_t
        h_cum, l_cum = s.moved_cum(np.concatenate([[hours[0] - HOUR_MS], hours]))
        harvested, lost = np.diff(h_cum), np.diff(l_cum)  # in the hour before each point
        n_in = np.diff(np.searchsorted(s.times_ms, np.concatenate([[hours[0] - HOUR_MS], hours])))
        comp = np.minimum(1.0, n_in / (3600 / cfg.detection.expected_interval_s))
        tags = {"site": cfg.site, "farm": a.farm, "asset": a.asset, "category": a.kind, "group": a.group}
        for i in np.nonzero(np.isfinite(wet))[0]:
            out.append(
                Point(
                    "carbon_stock",
                    tags,
                    _fields(
                        wet_t=wet[i],
                        t_c=wet[i] * c,
                        t_co2e=float(to_t_co2e(wet[i] * c)),
                        harvested_wet_t=harvested[i],
                        lost_wet_t=lost[i],
                        completeness=comp[i],
                    ),
                    int(hours[i]),
                )
            )
    return out


def reef_points(cfg: CarbonConfig, inputs: Inputs, start_ms: int, latest_ms: int) -> list[Point]:
    """Daily reef standing stock per zone (fish from the day's readings before midnight, plus fouling)."""
    coeffs = cfg.coefficients()
    days = np.arange(start_ms // DAY_MS * DAY_MS + DAY_MS, latest_ms + DAY_MS, DAY_MS, dtype=np.int64)
    out = []
    for r in cfg.reefs:
        tags = {"site": cfg.site, "farm": r.farm, "asset": r.zone, "category": "reef", "group": "reef"}
        for d in days:
            wet, fish_c, att = reef_stock_at(
                r, coeffs, int(d), inputs.reef_density.get(r.zone), inputs.reef_length.get(r.zone)
            )
            out.append(
                Point(
                    "carbon_stock",
                    tags,
                    _fields(wet_t=wet, t_c=fish_c + att, t_co2e=float(to_t_co2e(fish_c + att))),
                    int(d),
                )
            )
    return out
