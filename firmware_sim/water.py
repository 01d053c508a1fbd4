"""Minimal water model for the walking skeleton: smooth diurnal cycles, deterministic in time.

The simulator issue replaces this with tides, seasons, photosynthesis and respiration; the seam is
``WaterModel.state(t)`` returning a dict of quantity -> value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class WaterModel:
    mean_temp_c: float = 18.0
    mean_do_mg_l: float = 7.0

    def state(self, t_s: float) -> dict[str, float]:
        day = 2 * math.pi * (t_s % 86400) / 86400
        temp = self.mean_temp_c + 1.5 * math.sin(day - math.pi / 2)
        do = self.mean_do_mg_l + 1.2 * math.sin(day - math.pi / 2)
        sal = 30.5
        return {
            "temp_c": temp,
            "sp_cond_us_cm": 46_000.0 + 800 * math.sin(day),
            "salinity_psu": sal,
            "depth_m": 3.0 + 1.2 * math.sin(2 * math.pi * t_s / 44_712),  # M2 tide, 12.42 h
            "do_mg_l": do,
            "do_sat_pct": 100.0 * do / 7.6,
            "ph": 8.05 + 0.05 * math.sin(day),
            "chl_ug_l": 2.5 + 1.0 * math.sin(day),
            "turbidity_ntu": 4.0,
        }
