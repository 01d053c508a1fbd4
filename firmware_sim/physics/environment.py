"""The site's environment at any instants: water, weather, tides and events (vectorised, stateless).

:meth:`Environment.at` maps an array of simulated epoch seconds to arrays of every contract quantity the
sondes and the weather station measure, plus internal drivers (``storm_env``, ``hypoxia_env``). It is a
pure function of time, the scenario and the seed-drawn :class:`Synoptic` phases and storm list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blueranch.sim.physics import water as W
from blueranch.sim.physics import weather as WX
from blueranch.sim.physics.params import Climate


@dataclass(frozen=True)
class TimedEvent:
    """An event resolved to absolute simulated time."""

    kind: str
    start_s: float
    duration_s: float
    spec: object  # the scenario Event (or a generated storm's Event)

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


class Environment:
    def __init__(self, climate: Climate, syn: WX.Synoptic, events: list[TimedEvent]):
        self.c = climate
        self.syn = syn
        self.storms = [e for e in events if e.kind == "storm"]
        self.hypoxias = [e for e in events if e.kind == "hypoxia"]
        self.heatwaves = [e for e in events if e.kind == "heatwave"]

    @staticmethod
    def _max_env(t, events, value=None, ramp_s=6 * 3600.0):
        out = np.zeros_like(t)
        for e in events:
            if e.end_s < t.min() or e.start_s > t.max():
                continue
            env = WX.envelope(t, e.start_s, e.duration_s, ramp_s)
            out = np.maximum(out, env * (value(e.spec) if value else 1.0))
        return out

    def at(self, t_s) -> dict[str, np.ndarray]:
        c = self.c
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        storm_env = self._max_env(t, self.storms)
        storm_wind = self._max_env(t, self.storms, lambda s: s.wind_m_s)
        storm_drop = self._max_env(t, self.storms, lambda s: s.pressure_drop_hpa)
        heat = self._max_env(t, self.heatwaves, lambda s: s.anomaly_c, ramp_s=24 * 3600.0)
        metab = W.metabolic_cycle(t, c.utc_offset_h)
        # a hypoxia event bites hardest before dawn, when respiration has drawn DO down all night
        night = np.clip(0.6 - 0.4 * metab, 0.0, 1.0)
        hyp_env, hyp_bite = np.zeros_like(t), np.zeros_like(t)
        hyp_min = np.full_like(t, 10.0)
        for e in self.hypoxias:
            env = WX.envelope(t, e.start_s, e.duration_s, e.spec.ramp_h * 3600.0)
            hyp_env = np.maximum(hyp_env, env)
            hyp_bite = np.maximum(hyp_bite, env * (night if e.spec.diurnal else 1.0))
            hyp_min = np.where(env > 0, np.minimum(hyp_min, e.spec.min_do_mg_l), hyp_min)
        light = W.daylight(t, c.utc_offset_h)

        temp = W.seasonal(t, c.sst_mean_c, c.sst_amp_c, c.sst_peak_doy) + c.sst_diurnal_amp_c * metab + heat
        temp = temp - 1.0 * storm_env  # storm mixing brings up cooler water (assumed 1 degC)
        # storm rain and runoff freshen the surface by ~1 PSU (assumed)
        sal = W.seasonal(t, c.salinity_mean_psu, c.salinity_amp_psu, c.salinity_peak_doy) - 1.0 * storm_env
        sat = W.oxygen_solubility_mg_l(temp, sal)
        chl_season = np.maximum(0.2, W.seasonal(t, c.chl_mean_ug_l, c.chl_amp_ug_l, c.chl_peak_doy))
        # non-photochemical quenching dims midday fluorescence by ~20 % (assumed)
        chl = chl_season * (1.0 - 0.2 * light)
        pct = (
            100.0
            + c.do_production_pct * (chl_season / max(c.chl_mean_ug_l, 0.1)) * metab
            - c.do_respiration_pct * W.q10_factor(temp)
        )
        pct = pct + (100.0 - pct) * 0.8 * storm_env  # wind mixing pulls DO towards saturation
        do = sat * pct / 100.0
        do = do - hyp_bite * np.maximum(0.0, do - hyp_min)
        pct = 100.0 * do / sat
        tide = W.tide_m(t, c.tide_m2_amp_m, c.tide_s2_amp_m)
        current = np.abs(np.sin(2 * np.pi * t / 3600.0 / W.M2_PERIOD_H))  # tidal current ~ d(tide)/dt
        wind = np.maximum(WX.wind_speed_m_s(t, c, self.syn), storm_wind)
        waves = WX.wave_height_m(wind, c)
        # tidal resuspension adds up to +50 % at peak flow; storm waves up to x9 (both assumed: suspended
        # sediment on this coast rises several-fold in typhoons)
        turb = c.turbidity_ntu * (1.0 + 0.5 * current) * (1.0 + 8.0 * storm_env)
        return {
            "temp_c": temp,
            "salinity_psu": sal,
            "sp_cond_us_cm": W.sp_cond_us_cm(sal, temp),
            "do_mg_l": do,
            "do_sat_pct": pct,
            "ph": W.ph_from_do(pct, c.ph_mean),
            "chl_ug_l": chl,
            "turbidity_ntu": turb,
            "tide_m": tide,
            "wind_speed_m_s": wind,
            "wind_dir_deg": WX.wind_dir_deg(t, c, self.syn),
            "wave_height_m": waves,
            "air_pressure_hpa": WX.air_pressure_hpa(t, c, self.syn, storm_env, storm_drop),
            "air_temp_c": WX.air_temp_c(t, c, metab) - 2.0 * storm_env,  # rain-cooled air (assumed 2 degC)
            "storm_env": storm_env,
            "hypoxia_env": hyp_env,
            "daylight": light,
        }


WATER_QUANTITIES = (
    "temp_c",
    "sp_cond_us_cm",
    "salinity_psu",
    "depth_m",
    "do_mg_l",
    "do_sat_pct",
    "ph",
    "chl_ug_l",
    "turbidity_ntu",
)
WEATHER_QUANTITIES = ("wind_speed_m_s", "wind_dir_deg", "air_pressure_hpa", "air_temp_c", "wave_height_m")


def water_at(env: dict, i, mount_depth_m: float) -> dict[str, float]:
    """A sonde's true values at index ``i`` of an :meth:`Environment.at` result."""
    out = {q: float(env[q][i]) for q in WATER_QUANTITIES if q != "depth_m"}
    out["depth_m"] = max(0.0, mount_depth_m + float(env["tide_m"][i]))
    return {q: out[q] for q in WATER_QUANTITIES}


def weather_at(env: dict, i) -> dict[str, float]:
    return {q: float(env[q][i]) for q in WEATHER_QUANTITIES}


def buoy_power_at(env: dict, i, syn: WX.Synoptic, t_s: float) -> dict[str, float]:
    """Housekeeping of a solar-powered buoy: a 12 V lead/LiFePO4 bank charging by day (assumed profile)."""
    light = float(env["daylight"][i])
    storm = float(env["storm_env"][i])
    wig = float(syn.wiggle(np.array([t_s]), 3)[0])
    return {
        "battery_v": 12.4 + 0.9 * light - 0.2 * storm,
        "solar_a": max(0.0, 4.0 * light * (1.0 - 0.6 * storm) * (0.85 + 0.15 * wig)),
        "enclosure_rh_pct": float(np.clip(60.0 + 12.0 * wig - 10.0 * light + 20.0 * storm, 5, 100)),
        "rssi_dbm": -78.0 + 6.0 * wig - 15.0 * storm,
    }
