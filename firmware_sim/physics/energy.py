"""Island electricity (grid import) and diesel use: daily and seasonal load shapes (vectorised)."""

from __future__ import annotations

import numpy as np

from blueranch.sim.physics.water import seasonal
from blueranch.sim.timeutil import local_hour


def grid_kw(t_s, e, utc_offset_h: float = 8.0):
    """Island load: morning and evening peaks, night trough (typical residential/commercial shape,
    assumed), summer air-conditioning peak."""
    h = local_hour(np.asarray(t_s, dtype=float), utc_offset_h)
    daily = 1.0 + e.grid_daily_amp * (
        0.7 * np.cos(2 * np.pi * (h - 19.5) / 24.0) + 0.3 * np.cos(4 * np.pi * (h - 10.0) / 24.0)
    )
    return e.grid_mean_kw * daily * seasonal(t_s, 1.0, e.grid_seasonal_amp, e.grid_peak_doy)


def diesel_l_h(t_s, e, utc_offset_h: float = 8.0):
    """Diesel: boats refuel and generators run by day (06-20 local), more in the autumn fishing season."""
    h = local_hour(np.asarray(t_s, dtype=float), utc_offset_h)
    day = np.where((h >= 6) & (h < 20), 1.6, 0.2)
    return e.diesel_mean_l_h * day * seasonal(t_s, 1.0, e.diesel_seasonal_amp, e.diesel_peak_doy)
