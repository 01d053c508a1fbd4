"""The simulation engine: advance a scenario in time and yield readings and ground truth.

Python API (no processes, no wire)::

    from blueranch.sim.engine import Simulation
    from blueranch.sim.scenario import load_scenario
    sim = Simulation(load_scenario("single-buoy"), seed=1, days=2)
    for rec in sim.run():
        if isinstance(rec, Reading): ...   # what a device reports (faults applied)
        else: ...                          # a truth record (dict), the same as in --truth-out

The engine steps ``step_s`` at a time; physics for each simulated day is computed at once (vectorised);
biomass advances hourly; every device reports every ``interval_s``. The live server (``sim run``) asks
:meth:`Simulation.state` for a device's true values at the current simulated time instead.
Same scenario and seed give the same records, byte for byte.
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from blueranch.sim.devices import values as V
from blueranch.sim.faults import FaultInjector
from blueranch.sim.physics.biology import Stock
from blueranch.sim.physics.energy import diesel_l_h, grid_kw
from blueranch.sim.physics.environment import Environment, TimedEvent, buoy_power_at, water_at, weather_at
from blueranch.sim.physics.water import seasonal
from blueranch.sim.physics.weather import Synoptic
from blueranch.sim.scenario import Event, Scenario
from blueranch.sim.timeutil import epoch, iso

METER_QUANTITY = {"energy_meter": "grid_kwh_total", "fuel_meter": "diesel_l_total"}
#: Metres per degree of latitude (WGS84 mean, ~111.2 km).
M_PER_DEG = 111_195.0
SWING_RADIUS_M = 30.0  # a buoy's watch circle on its mooring (assumed)


@dataclass
class Reading:
    """One report of one device: the values it sends (faults applied) at true simulated ``time_s``."""

    time_s: float
    device: str
    kind: str
    protocol: str
    values: dict[str, float]
    edge_device: str
    asset: str | None = None
    farm: str | None = None
    #: the device's own clock (differs from time_s under clock skew)
    node_time_s: float = 0.0
    fcnt: int = 0
    #: a wire fault hit this frame: the payload/frame is corrupted on the wire
    garbled: bool = False


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """An independent, reproducible random stream per (seed, purpose)."""
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


class Simulation:
    def __init__(self, scenario: Scenario, seed: int = 1, days: float | None = None):
        self.scenario = scenario
        self.seed = seed
        self.start_s = epoch(scenario.start)
        self.end_s = self.start_s + (days if days is not None else scenario.days) * 86400.0
        self.step_s = scenario.step_s
        self.t = self.start_s
        self.events = self._resolve_events()
        self.syn = Synoptic.draw(rng_for(seed, "synoptic"))
        self.env = Environment(scenario.climate, self.syn, self.events)
        self.stock = Stock(scenario.assets, scenario.biology)
        c = scenario.climate
        self.stock.spin_up(self.start_s, lambda t: seasonal(t, c.sst_mean_c, c.sst_amp_c, c.sst_peak_doy))
        self._asset_index = {a.id: i for i, a in enumerate(scenario.assets)}
        self._pending: list[dict] = []
        e = scenario.energy
        self.counters = {
            d.id: (e.grid_start_kwh if d.kind == "energy_meter" else e.diesel_start_l)
            for d in scenario.devices
            if d.kind in METER_QUANTITY
        }
        self._counter_t = self.start_s
        self.faults = {
            d.id: FaultInjector(d.id, d.faults, rng_for(seed, "faults", d.id), lambda: self.t, self.emit, self.start_s)
            for d in scenario.devices
        }
        self._noise = {d.id: rng_for(seed, "noise", d.id) for d in scenario.devices}
        self._fcnt: dict[str, int] = defaultdict(int)
        self._started = False
        self._next_due = {d.id: self.start_s for d in scenario.devices}
        #: mass moved today per (kind, asset, cause), flushed as truth at the end of each simulated day
        self._flows_day: dict[tuple, float] = defaultdict(float)
        self._resets: dict[str, int] = defaultdict(int)

    # ---- events --------------------------------------------------------------------------------
    def _resolve_events(self) -> list[TimedEvent]:
        out = [
            TimedEvent(e.kind, self.start_s + e.at_h * 3600.0, e.duration_h * 3600.0, e) for e in self.scenario.events
        ]
        rate = self.scenario.random_storms_per_year
        if rate > 0:
            rng = rng_for(self.seed, "storms")
            span_yr = (self.end_s - self.start_s) / (365.2425 * 86400.0)
            for _ in range(int(rng.poisson(rate * span_yr))):
                t = self.start_s + rng.uniform(0, self.end_s - self.start_s)
                if rng.random() < self.scenario.climate.storm_summer_share:  # move into Jul-Sep
                    year0 = t - ((t / 86400.0) % 365.2425) * 86400.0
                    t = year0 + rng.uniform(182, 273) * 86400.0
                    if not self.start_s <= t < self.end_s:
                        continue
                # Tropical storm to typhoon: 17.2-32.6 m/s sustained wind (China's tropical cyclone grades,
                # GB/T 19201-2006); a day or two over the site; pressure drops of 10-45 hPa (assumed).
                spec = Event(
                    kind="storm",
                    at_h=(t - self.start_s) / 3600.0,
                    duration_h=float(rng.uniform(18, 60)),
                    wind_m_s=float(rng.uniform(17.2, 32.6)),
                    pressure_drop_hpa=float(rng.uniform(10, 45)),
                )
                out.append(TimedEvent("storm", t, spec.duration_h * 3600.0, spec))
        return sorted(out, key=lambda e: (e.start_s, e.kind))

    def silent(self, device: str, t_s: float) -> bool:
        return any(
            e.kind == "silent_device" and e.spec.device == device and e.start_s <= t_s < e.end_s for e in self.events
        )

    def emit(self, record: dict) -> None:
        """Queue a truth record (faults injected by devices, live or batch)."""
        self._pending.append(record)

    # ---- state of one device -------------------------------------------------------------------
    def _position(self, device: str, t_s: float, env: dict, i) -> dict[str, float]:
        loc = self.scenario.location
        down = math.radians((float(env["wind_dir_deg"][i]) + 180.0) % 360.0)
        north = SWING_RADIUS_M * math.cos(down)
        east = SWING_RADIUS_M * math.sin(down)
        speed, course = 0.2, math.degrees(down) % 360.0
        for e in self.events:
            if e.kind == "mooring_break" and e.spec.device == device and t_s >= e.start_s:
                # adrift from start to until (then recovered or aground: it stays where it got to)
                adrift_s = min(t_s, e.end_s) - e.start_s
                dist = e.spec.drift_kn * 1852.0 / 3600.0 * adrift_s
                heading = math.radians(45.0 + 20.0 * math.sin(adrift_s / 21600.0))
                north += dist * math.cos(heading)
                east += dist * math.sin(heading)
                adrift = t_s < e.end_s
                speed, course = (e.spec.drift_kn if adrift else 0.0), math.degrees(heading) % 360.0
        lat = loc.lat_deg + north / M_PER_DEG
        lon = loc.lon_deg + east / (M_PER_DEG * math.cos(math.radians(loc.lat_deg)))
        return {"lat_deg": lat, "lon_deg": lon, "speed_kn": speed, "course_deg": course, "gps_sats": 9.0, "hdop": 0.9}

    def _load_kg(self, asset: str) -> float:
        a = self.scenario.assets[self._asset_index[asset]]
        wet_line = float(self.stock.wet_kg_per_line()[self._asset_index[asset]])
        return a.tare_kg + wet_line / a.wet_per_submerged

    def _counter(self, device: str, t_s: float) -> float:
        d = self.scenario.device(device)
        rate = grid_kw if d.kind == "energy_meter" else diesel_l_h
        # Extrapolated either way from the last integration point, so a meter polled between engine steps
        # (the engine runs up to one step ahead of the wall clock) reads a smooth, increasing counter.
        return self.counters[device] + float(rate(t_s, self.scenario.energy)) * (t_s - self._counter_t) / 3600.0

    def true_values(self, device: str, t_s: float, env: dict | None = None, i=0) -> dict[str, float]:
        """The true values a device would measure at ``t_s`` (no noise, no faults)."""
        if env is None:
            env, i = self.env.at(np.array([t_s])), 0
        d = self.scenario.device(device)
        if d.kind == "sonde":
            return water_at(env, i, d.mount_depth_m)
        if d.kind == "gps_weather":
            return {**self._position(device, t_s, env, i), **weather_at(env, i)}
        if d.kind == "load_cell":
            return {"load_kg": self._load_kg(d.asset)}
        if d.kind == "energy_meter":
            return {"grid_kwh_total": self._counter(device, t_s), "power_kw": float(grid_kw(t_s, self.scenario.energy))}
        if d.kind == "fuel_meter":
            return {"diesel_l_total": self._counter(device, t_s)}
        if d.kind == "buoy_power":
            return buoy_power_at(env, i, self.syn, t_s)
        if d.kind == "reef_monitor":
            wet = float(self.stock.wet_t(t_s)[self._asset_index[d.asset]]) if d.asset else 0.0
            return V.reef_values(wet, self.scenario.biology, t_s, d.interval_s, self._noise[device])
        raise KeyError(f"device {device}: no value model for kind {d.kind!r}")

    def state(self, device: str, t_s: float | None = None) -> dict[str, float]:
        """What a device measures now (true values plus noise): the live serial devices call this."""
        t = self.t if t_s is None else t_s
        vals = self.true_values(device, t)
        return V.add_noise(vals, self._noise[device])

    # ---- time loop -----------------------------------------------------------------------------
    def run(self, until_s: float | None = None, devices: set[str] | None = None) -> Iterator[Reading | dict]:
        """Advance to ``until_s`` (default: the scenario's end), yielding readings and truth records.

        ``devices`` limits readings to those device ids (the live server produces only its MQTT nodes'
        readings: its serial devices are polled); ``None`` means every device.
        """
        end = min(self.end_s, until_s if until_s is not None else self.end_s)
        if self.t == self.start_s and not self._started:
            self._started = True
            yield self.meta()
        next_due, flows_day = self._next_due, self._flows_day
        while self.t < end:
            day_end = min(end, (math.floor(self.t / 86400.0) + 1) * 86400.0)
            times = np.arange(self.t, day_end, self.step_s)
            env = self.env.at(times)
            for i, t in enumerate(times):
                self.t = float(t)
                if (self.t - self.start_s) % 3600.0 < self.step_s:
                    yield from self._hourly(env, i, flows_day)
                yield from self._drain()
                for d in self.scenario.devices:
                    if (devices is None or d.id in devices) and self.t >= next_due[d.id]:
                        next_due[d.id] += d.interval_s
                        got = list(self._reading(d, env, i))
                        yield from self._drain()  # faults injected into this reading come first
                        yield from got
                self._advance_counters(self.t + self.step_s)
            self.t = float(times[-1] + self.step_s) if len(times) else day_end
            yield from self._flush_flows(flows_day)
        yield from self._drain()

    def _drain(self) -> Iterator[dict]:
        while self._pending:
            yield self._pending.pop(0)

    def _advance_counters(self, t_next: float) -> None:
        for dev in self.counters:
            self.counters[dev] = self._counter(dev, t_next)
        self._counter_t = t_next

    def _hourly(self, env: dict, i: int, flows_day: dict) -> Iterator[dict]:
        t = self.t
        for e in self.events:
            if t <= e.start_s < t + 3600.0:
                yield from self._start_event(e)
        for e in self.events:
            if e.kind == "biomass_loss" and e.start_s <= t < e.end_s:
                hours = max(1.0, e.spec.duration_h)
                frac = 1.0 - (1.0 - e.spec.fraction) ** (1.0 / hours)
                for f in self.stock.remove(self._asset_index[e.spec.asset], frac, "loss", "fall_off"):
                    flows_day[(f.kind, f.asset, f.cause)] += f.wet_t
        for f in self.stock.step(
            t, 1.0, float(env["temp_c"][i]), float(env["do_mg_l"][i]), float(env["wave_height_m"][i])
        ):
            flows_day[(f.kind, f.asset, f.cause)] += f.wet_t
        ts = iso(t)
        for a, w in zip(self.stock.ids, self.stock.wet_t(t), strict=False):
            yield {"type": "biomass", "time": ts, "asset": a, "wet_t": round(float(w), 6)}
        for d in self.scenario.devices:
            if d.kind == "sonde":
                yield {"type": "water", "time": ts, "device": d.id, **_rounded(water_at(env, i, d.mount_depth_m))}
            elif d.kind == "gps_weather":
                yield {
                    "type": "weather",
                    "time": ts,
                    "device": d.id,
                    **_rounded({**self._position(d.id, t, env, i), **weather_at(env, i)}),
                }
        for dev in self.counters:
            q = METER_QUANTITY[self.scenario.device(dev).kind]
            yield {"type": "energy", "time": ts, "meter": dev, q: round(self.counters[dev], 3)}

    def _start_event(self, e: TimedEvent) -> Iterator[dict]:
        s = e.spec
        detail = {
            "storm": lambda: f"peak wind {s.wind_m_s:.1f} m/s, pressure -{s.pressure_drop_hpa:.0f} hPa",
            "hypoxia": lambda: f"night DO down to {s.min_do_mg_l:.2f} mg/L",
            "heatwave": lambda: f"+{s.anomaly_c:.1f} degC",
            "mooring_break": lambda: f"buoy adrift at {s.drift_kn:.1f} kn",
            "biomass_loss": lambda: f"{s.fraction:.0%} of {s.asset} falls off",
            "silent_device": lambda: "device stops answering",
            "harvest": lambda: f"{s.fraction:.0%} of {s.asset} harvested",
        }[e.kind]()
        rec = {"type": "event", "time": iso(e.start_s), "kind": e.kind, "until": iso(e.end_s), "detail": detail}
        if s.device:
            rec["device"] = s.device
        if s.asset:
            rec["asset"] = s.asset
        yield rec
        if e.kind == "silent_device":
            yield {
                "type": "fault",
                "time": iso(e.start_s),
                "device": s.device,
                "sensor": s.device,
                "kind": "silent",
                "detail": f"no answer until {iso(e.end_s)}",
            }
        if e.kind == "harvest":
            for f in self.stock.remove(self._asset_index[s.asset], s.fraction, "harvest", "harvest"):
                yield {"type": "harvest", "time": iso(e.start_s), "asset": f.asset, "wet_t": round(f.wet_t, 6)}

    def _flush_flows(self, flows_day: dict) -> Iterator[dict]:
        ts = iso(self.t)
        for (kind, asset, cause), wet in sorted(flows_day.items()):
            if wet <= 0:
                continue
            rec = {"type": kind, "time": ts, "asset": asset, "wet_t": round(wet, 6)}
            if kind == "loss":
                rec["cause"] = cause
            yield rec
        flows_day.clear()

    def _reading(self, d, env: dict, i: int) -> Iterator[Reading]:
        """The device's report now: nothing when it is silent, times out or drops out."""
        t = self.t
        if self.silent(d.id, t):
            return
        inj = self.faults[d.id]
        if d.protocol in ("sdi12", "modbus") and (inj.roll("missing" if d.protocol == "sdi12" else "timeout")):
            return
        vals = V.add_noise(self.true_values(d.id, t, env, i), self._noise[d.id])
        if d.protocol == "mqtt_node" and d.kind == "load_cell":
            vals["battery_v"] = V.node_battery_v(t, self.start_s)
        vals = inj.apply_values(d.id, vals)
        if not vals:
            return
        if inj.resets != self._resets[d.id]:  # brownout: the node's frame counter restarts
            self._resets[d.id] = inj.resets
            self._fcnt[d.id] = 0
        self._fcnt[d.id] += 1
        garbled = inj.roll("garbled", d.id, "corrupted frame")
        yield Reading(
            t,
            d.id,
            d.kind,
            d.protocol,
            {k: float(v) for k, v in vals.items()},
            d.edge_device,
            d.asset,
            d.farm,
            t + inj.clock_offset_s(),
            self._fcnt[d.id],
            garbled,
        )

    def meta(self) -> dict:
        from blueranch.sim.truth import meta_record

        return meta_record(self)


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in values.items()}
