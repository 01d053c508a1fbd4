"""What each kind of device measures, from the environment and the stock: true values plus sensor noise.

Noise standard deviations are of the order of the instruments' stated resolution/accuracy (e.g. YSI EXO
sensor specifications: temperature +-0.01 degC, ODO +-0.1 mg/L, pH +-0.1; assumed smaller random part).
"""

from __future__ import annotations

import math

import numpy as np

#: Random measurement noise (1 sd) per quantity, absolute units (assumed; see module docstring).
NOISE_SD = {
    "temp_c": 0.01,
    "sp_cond_us_cm": 5.0,
    "salinity_psu": 0.01,
    "depth_m": 0.005,
    "do_mg_l": 0.03,
    "do_sat_pct": 0.3,
    "ph": 0.005,
    "chl_ug_l": 0.05,
    "turbidity_ntu": 0.2,
    "wind_speed_m_s": 0.2,
    "wind_dir_deg": 3.0,
    "air_pressure_hpa": 0.1,
    "air_temp_c": 0.1,
    "wave_height_m": 0.03,
    "load_kg": 0.05,
    "battery_v": 0.01,
}
#: Relative noise for quantities whose scale varies a lot.
REL_NOISE = {"load_kg": 0.003, "fish_density_m3": 0.1, "nasc_m2_nmi2": 0.1}

#: Foote (1987), J. Acoust. Soc. Am. 82:981: TS = 20 log10(L cm) - 67.4 dB for physoclist (gadoid) fish,
#: used here for reef fish (croaker, rockfish). NASC = 4 pi 1852^2 s_a (MacLennan et al. 2002, ICES J.
#: Mar. Sci. 59:365), with s_a = density x sigma_bs x layer thickness.
TS_B20_DB = -67.4
REEF_LAYER_M = 10.0
CAMERA_VOLUME_M3 = 50.0  # water volume the camera counter sees per 10 min (assumed)


def add_noise(values: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    out = {}
    for q, v in values.items():
        sd = NOISE_SD.get(q, 0.0) + abs(v) * REL_NOISE.get(q, 0.0)
        out[q] = v + float(rng.normal(0.0, sd)) if sd else v
    if "wind_dir_deg" in out:
        out["wind_dir_deg"] %= 360.0
    for q in ("wind_speed_m_s", "wave_height_m", "turbidity_ntu", "chl_ug_l", "do_mg_l", "do_sat_pct"):
        if q in out:
            out[q] = max(0.0, out[q])
    return out


def reef_values(wet_t: float, bio, t_s: float, interval_s: float, rng: np.random.Generator) -> dict[str, float]:
    """Echosounder density/NASC and a camera counter's count and mean length for the reef stock."""
    doy = (t_s / 86400.0) % 365.2425
    length_cm = 18.0 - 3.0 * math.cos(2 * math.pi * (doy - 200.0) / 365.2425)  # summer recruits (assumed)
    density = wet_t * 1000.0 / bio.reef_mean_weight_kg / bio.reef_volume_m3
    sigma_bs = 10 ** ((20 * math.log10(length_cm) + TS_B20_DB) / 10.0)
    nasc = 4 * math.pi * 1852.0**2 * density * sigma_bs * REEF_LAYER_M
    lam = density * CAMERA_VOLUME_M3 * interval_s / 600.0
    return {
        "fish_density_m3": density,
        "nasc_m2_nmi2": nasc,
        "fish_count": float(rng.poisson(lam)),
        "fish_length_cm": length_cm + float(rng.normal(0, 0.5)),
    }


def node_battery_v(t_s: float, start_s: float) -> float:
    """A LoRa node's 3.6 V Li-SOCl2 cell: flat, sagging slowly (assumed 0.1 V per year)."""
    return 3.65 - 0.1 * (t_s - start_s) / (365.0 * 86400.0)
