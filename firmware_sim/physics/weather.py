"""Wind, waves, pressure and air temperature, with storms (vectorised, stateless in time).

Synoptic variability is a sum of sinusoids with seed-drawn phases, so the weather at any instant is a pure
function of time and seed: a serial device can ask for "now" at any moment and get the same answer the
batch engine computed for that instant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blueranch.sim.physics.water import seasonal

#: Gravity, m/s2.
G_M_S2 = 9.81
#: Pierson-Moskowitz fully developed sea: Hs = 0.21 U^2 / g (Pierson & Moskowitz 1964, J. Geophys. Res.
#: 69:5181; U at 19.5 m, used here for the 10 m wind).
PM_HS_COEFF = 0.21


@dataclass(frozen=True)
class Synoptic:
    """Seed-drawn periods (h) and phases (rad) of the weather's synoptic and diurnal wiggles."""

    periods_h: np.ndarray
    phases: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Synoptic:
        # Synoptic systems pass every ~3-7 days over the East China Sea (mid-latitude cyclone time scale).
        return cls(np.array([26.0, 71.0, 113.0, 167.0]) * rng.uniform(0.9, 1.1, 4), rng.uniform(0, 2 * np.pi, 4))

    def wiggle(self, t_s, k: int = 0):
        """A zero-mean signal in about [-1, 1]; ``k`` shifts phases to decorrelate different variables."""
        h = np.asarray(t_s, dtype=float)[..., None] / 3600.0
        w = np.array([0.15, 0.45, 0.3, 0.25])
        return np.sum(w * np.sin(2 * np.pi * h / self.periods_h + self.phases + 1.7 * k), axis=-1) / w.sum() * 1.4


def envelope(t_s, start_s: float, duration_s: float, ramp_s: float):
    """0 outside the event, 1 on its plateau, with linear ramps of ``ramp_s`` (at most half the event)."""
    t = np.asarray(t_s, dtype=float)
    ramp = max(1.0, min(ramp_s, duration_s / 2.0))
    up = (t - start_s) / ramp
    down = (start_s + duration_s - t) / ramp
    return np.clip(np.minimum(up, down), 0.0, 1.0)


def wind_speed_m_s(t_s, climate, syn: Synoptic):
    """Monsoon-season mean (stronger NE winter monsoon) times synoptic variability (storms are added by
    the caller as a floor)."""
    base = seasonal(t_s, climate.wind_mean_m_s, climate.wind_seasonal_amp_m_s, climate.wind_peak_doy)
    return np.maximum(0.3, base * (1.0 + 0.45 * syn.wiggle(t_s, 0)))


def wind_dir_deg(t_s, climate, syn: Synoptic):
    """NE (45 deg) in the winter monsoon, SW (225 deg) in summer, +-40 deg synoptic swing."""
    summer = 0.5 - 0.5 * np.cos(2 * np.pi * (np.asarray(t_s, dtype=float) / 86400.0 % 365.2425 - 15) / 365.2425)
    return (45.0 + 180.0 * np.round(summer) + 40.0 * syn.wiggle(t_s, 1)) % 360.0


def wave_height_m(wind_m_s, climate):
    """Significant wave height: fetch-limited fraction of Pierson-Moskowitz plus background swell."""
    return climate.swell_m + climate.fetch_factor * PM_HS_COEFF * np.asarray(wind_m_s) ** 2 / G_M_S2


def air_pressure_hpa(t_s, climate, syn: Synoptic, storm_env, storm_drop_hpa):
    return (
        seasonal(t_s, climate.pressure_mean_hpa, climate.pressure_seasonal_amp_hpa, 15.0)
        + 6.0 * syn.wiggle(t_s, 2)
        - storm_env * storm_drop_hpa
    )


def air_temp_c(t_s, climate, diurnal):
    return (
        seasonal(t_s, climate.air_temp_mean_c, climate.air_temp_amp_c, climate.sst_peak_doy - 15)
        + climate.air_diurnal_amp_c * diurnal
    )
