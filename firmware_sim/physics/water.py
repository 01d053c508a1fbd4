"""Sea water: tides, temperature, salinity, dissolved oxygen, pH, chlorophyll, turbidity (vectorised).

Every function takes numpy arrays of simulated epoch seconds and returns arrays. Parameters come from
the scenario's :class:`blueranch.sim.scenario.Climate`, where each default cites its source.
"""

from __future__ import annotations

import numpy as np

from blueranch.sim.timeutil import day_of_year, local_hour

#: Tidal constituent periods in hours (Doodson; speeds 28.9841042 and 30.0 deg/h, e.g. NOAA CO-OPS
#: harmonic constituent tables).
M2_PERIOD_H = 360.0 / 28.9841042
S2_PERIOD_H = 12.0

#: Garcia & Gordon (1992), Limnol. Oceanogr. 37(6):1307-1312, Table 1, fit to Benson & Krause (1984)
#: data, oxygen solubility in mL/L (air-saturated water at 1 atm).
_GG_A = (2.00907, 3.22014, 4.05010, 4.94457, -0.256847, 3.88767)
_GG_B = (-6.24523e-3, -7.37614e-3, -1.03410e-2, -8.17083e-3)
_GG_C0 = -4.88682e-7
#: Molar volume of O2: 1 mL of O2 at STP weighs 1.42905 mg (Garcia & Gordon 1992, p. 1310).
O2_MG_PER_ML = 1.42905


def oxygen_solubility_mg_l(temp_c, salinity_psu):
    """Air-saturated dissolved oxygen in mg/L (Garcia & Gordon 1992, Benson-Krause coefficients)."""
    t = np.asarray(temp_c, dtype=float)
    s = np.asarray(salinity_psu, dtype=float)
    ts = np.log((298.15 - t) / (273.15 + t))
    a = _GG_A
    ln_c = (
        a[0]
        + a[1] * ts
        + a[2] * ts**2
        + a[3] * ts**3
        + a[4] * ts**4
        + a[5] * ts**5
        + s * (_GG_B[0] + _GG_B[1] * ts + _GG_B[2] * ts**2 + _GG_B[3] * ts**3)
        + _GG_C0 * s**2
    )
    return np.exp(ln_c) * O2_MG_PER_ML


def tide_m(t_s, m2_amp_m: float, s2_amp_m: float, m2_phase_rad: float = 0.0, s2_phase_rad: float = 0.0):
    """Tidal elevation about mean sea level from the M2 and S2 constituents (spring-neap beat ~14.77 d)."""
    h = np.asarray(t_s, dtype=float) / 3600.0
    return m2_amp_m * np.cos(2 * np.pi * h / M2_PERIOD_H - m2_phase_rad) + s2_amp_m * np.cos(
        2 * np.pi * h / S2_PERIOD_H - s2_phase_rad
    )


def seasonal(t_s, mean: float, amp: float, peak_doy: float):
    """``mean + amp * cos(2 pi (doy - peak) / 365.2425)``."""
    return mean + amp * np.cos(2 * np.pi * (day_of_year(np.asarray(t_s, dtype=float)) - peak_doy) / 365.2425)


def daylight(t_s, utc_offset_h: float = 8.0):
    """0 at night, up to 1 at local noon: a half-sine from 06:00 to 18:00 (equinox day length; enough for
    a production/respiration cycle, not for solar engineering)."""
    h = local_hour(np.asarray(t_s, dtype=float), utc_offset_h)
    return np.clip(np.sin(np.pi * (h - 6.0) / 12.0), 0.0, None)


def metabolic_cycle(t_s, utc_offset_h: float = 8.0):
    """Net photosynthesis minus respiration as a DO anomaly shape in [-1, 1]: oxygen builds through the
    day and is drawn down at night, so the curve lags the sun by ~3 h (maximum near 15:00, minimum near
    03:00-06:00), the classic diel DO curve of productive coastal water (e.g. Odum 1956, Limnol. Oceanogr.
    1:102)."""
    h = local_hour(np.asarray(t_s, dtype=float), utc_offset_h)
    return np.sin(2 * np.pi * (h - 9.0) / 24.0)


def q10_factor(temp_c, q10: float = 2.0, ref_c: float = 20.0):
    """Rate multiplier for a biological rate with the given Q10 (Q10 ~ 2 for respiration; e.g. Raven &
    Geider 1988, New Phytol. 110:441)."""
    return q10 ** ((np.asarray(temp_c, dtype=float) - ref_c) / 10.0)


def sp_cond_us_cm(salinity_psu, temp_c):
    """Specific conductance at 25 degC from practical salinity: the inverse of PSS-78 at 25 degC,
    approximated linearly about S = 30 (C(35, 25 degC) = 53,065 uS/cm; UNESCO 1983 tech. paper 44; slope
    ~1,440 uS/cm per PSU near S = 30). Temperature is already compensated in a specific conductance."""
    del temp_c
    s = np.asarray(salinity_psu, dtype=float)
    return 53_065.0 + (s - 35.0) * 1_440.0


def ph_from_do(do_sat_pct, ph_mean: float):
    """pH follows the CO2 drawdown of photosynthesis: about +0.1 pH per +50 % DO saturation in productive
    coastal water (assumed slope; order of diel pH/DO covariation reported e.g. by Cai et al. 2011,
    Nature Geosci. 4:766)."""
    return ph_mean + 0.002 * (np.asarray(do_sat_pct, dtype=float) - 100.0)
