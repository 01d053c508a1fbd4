"""The carbon method as pure numpy functions (every argument may be an array; numpy broadcasting applies).

Units are in the names: ``wet_t`` wet (live) tonnes, ``t_c`` tonnes of carbon, ``t_co2e`` tonnes of CO2
equivalent, ``kg_co2`` kilograms of CO2. The same functions serve the point estimate and the Monte Carlo
(coefficient arrays of shape ``(draws, 1)`` broadcast against quantities of shape ``(assets,)``).

Method: China's marine industry standard HY/T 0305-2021, carbon stock change method for farmed
macroalgae and bivalves (reference README, "Method notes").
"""

from __future__ import annotations

from typing import Literal

import numpy as np

ArrayLike = float | np.ndarray
Calcification = Literal["count", "deduct"]
LossRule = Literal["exclude", "include"]

#: t CO2 per t C: molar mass ratio CO2/C, 44/12 (reference README: "t CO2e (t C x 44/12)").
CO2_PER_C = 44.0 / 12.0
#: Default psi, the share of shell carbon released as CO2 during calcification (reference README, "Method
#: notes": psi about 0.6-0.8 in the literature, default 0.7).
PSI_DEFAULT = 0.7


def bivalve_t_c(
    wet_t: ArrayLike,
    dry_wet_ratio: ArrayLike,
    tissue_fraction: ArrayLike,
    tissue_c: ArrayLike,
    shell_fraction: ArrayLike,
    shell_c: ArrayLike,
) -> np.ndarray:
    """t C = wet t x dry/wet x (tissue fraction x tissue C + shell fraction x shell C)."""
    return np.asarray(wet_t) * dry_wet_ratio * (tissue_fraction * np.asarray(tissue_c) + shell_fraction * shell_c)


def bivalve_shell_t_c(
    wet_t: ArrayLike, dry_wet_ratio: ArrayLike, shell_fraction: ArrayLike, shell_c: ArrayLike
) -> np.ndarray:
    """Shell carbon alone: wet t x dry/wet x shell fraction x shell C."""
    return np.asarray(wet_t) * dry_wet_ratio * shell_fraction * shell_c


def macroalgae_t_c(wet_t: ArrayLike, dry_wet_ratio: ArrayLike, algae_c: ArrayLike) -> np.ndarray:
    """t C = wet t x dry/wet x C."""
    return biomass_t_c(wet_t, dry_wet_ratio, algae_c)


def to_t_co2e(t_c: ArrayLike) -> np.ndarray:
    """t CO2e = t C x 44/12."""
    return np.asarray(t_c) * CO2_PER_C


def calcification_adjusted_t_c(
    total_t_c: ArrayLike, shell_t_c: ArrayLike, mode: Calcification, psi: ArrayLike = PSI_DEFAULT
) -> np.ndarray:
    """``count``: shell carbon is a sink (Chinese practice). ``deduct``: total - psi x shell carbon."""
    if mode == "count":
        return np.asarray(total_t_c, dtype=float)
    if mode == "deduct":
        return np.asarray(total_t_c) - np.asarray(psi) * shell_t_c
    raise ValueError(f"calcification mode {mode!r}: must be 'count' or 'deduct'")


def stock_change_wet_t(
    start_wet_t: ArrayLike,
    end_wet_t: ArrayLike,
    harvested_wet_t: ArrayLike,
    lost_wet_t: ArrayLike = 0.0,
    losses: LossRule = "exclude",
) -> np.ndarray:
    """Sink over a period in wet t: end - start + harvested (+ lost when ``losses == 'include'``).

    ``exclude`` (default, conservative): biomass that fell off the lines (storms, mooring breaks) left the
    farm with an unknown fate, so the growth it carried is not credited. ``include`` counts it, for methods
    that treat fall-off reaching the seabed as sequestered.
    """
    sink = np.asarray(end_wet_t, dtype=float) - start_wet_t + harvested_wet_t
    if losses == "include":
        return sink + lost_wet_t
    if losses == "exclude":
        return sink
    raise ValueError(f"loss rule {losses!r}: must be 'exclude' or 'include'")


def fish_wet_g(length_cm: ArrayLike, a_g_per_cm_b: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Length-weight relationship W = a L^b (FishBase convention: L in cm, W in g)."""
    return np.asarray(a_g_per_cm_b) * np.power(np.asarray(length_cm, dtype=float), b)


def biomass_t_c(wet_t: ArrayLike, dry_wet_ratio: ArrayLike, c_of_dry: ArrayLike) -> np.ndarray:
    """Carbon of a standing stock given its dry/wet ratio and carbon fraction of dry weight (fish, fouling)."""
    return np.asarray(wet_t) * dry_wet_ratio * c_of_dry


def diesel_t_co2(litres: ArrayLike, kg_co2_per_l: ArrayLike) -> np.ndarray:
    """Combustion emissions of diesel: litres x kg CO2/L / 1000."""
    return np.asarray(litres) * kg_co2_per_l / 1000.0


def grid_t_co2(kwh: ArrayLike, kg_co2_per_kwh: ArrayLike) -> np.ndarray:
    """Indirect emissions of grid electricity: kWh x kg CO2/kWh / 1000."""
    return np.asarray(kwh) * kg_co2_per_kwh / 1000.0


def feed_t_co2e(
    feed_t: ArrayLike, feed_c: ArrayLike, fish_wet_t: ArrayLike = 0.0, fish_t_c_per_wet_t: ArrayLike = 0.0
) -> np.ndarray:
    """Feed carbon of fed pens not retained in the harvested fish, as CO2e.

    ``(feed t x feed C - fish wet t x fish C per wet t) x 44/12``: the carbon fed and not built into the
    fish is respired or excreted on site. Pass ``fish_wet_t=0`` for the gross feed carbon.
    """
    return (np.asarray(feed_t) * feed_c - np.asarray(fish_wet_t) * fish_t_c_per_wet_t) * CO2_PER_C


def net_emissions_t_co2e(sources_t_co2e: ArrayLike, sinks_t_co2e: ArrayLike) -> np.ndarray:
    """Net emissions = sources - sinks (negative: a net sink)."""
    return np.asarray(sources_t_co2e) - sinks_t_co2e


#: Meter event codes of :func:`meter_increments` (one per reading).
METER_OK, METER_RESET, METER_JUMP, METER_OUTLIER = 0, 1, 2, 3


def meter_increments(
    times_ms: np.ndarray, values: np.ndarray, max_rate_per_h: float | None = None, resolution: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Use between consecutive readings of a cumulative register, and what happened at each reading.

    Returns ``(increments, events)``, both as long as the readings (time-ordered; element 0 is the first
    baseline, increment 0). A reading is compared with the baseline (the last reading taken as valid):

    - it counts ``value - baseline`` when that is >= 0 and at most ``max_rate_per_h`` x the hours since
      the baseline + ``resolution`` (no bound without a maximum rate);
    - otherwise, if the *next* reading is consistent with the baseline again, it was a single bad reading
      (``METER_OUTLIER``): not counted, the baseline stays;
    - otherwise the register moved for good: backwards is a reset (``METER_RESET``: a replaced meter, a
      reset, a restarted simulator), forwards a jump beyond the meter's maximum rate (``METER_JUMP``).
      Neither is counted; use counts from the new reading, which becomes the baseline.

    Use between the last reading before a reset and the reset is not known and not counted (it is at most
    the new reading's value when the register restarted from 0).
    """
    t = np.asarray(times_ms, dtype=np.int64)
    v = np.asarray(values, dtype=float)
    n = v.size
    inc = np.zeros(n)
    events = np.zeros(n, dtype=np.int8)
    if n == 0:
        return inc, events
    rate = float("inf") if max_rate_per_h is None else max_rate_per_h / 3_600_000.0  # units per ms
    tl, vl = t.tolist(), v.tolist()  # plain floats: a year of 15-minute readings in a few ms

    def consistent(k: int, b: int) -> bool:
        d = vl[k] - vl[b]
        return 0.0 <= d <= rate * (tl[k] - tl[b]) + resolution

    b = 0
    for k in range(1, n):
        if consistent(k, b):
            inc[k] = vl[k] - vl[b]
            b = k
        elif k + 1 < n and consistent(k + 1, b):
            events[k] = METER_OUTLIER
        else:
            events[k] = METER_RESET if vl[k] < vl[b] else METER_JUMP
            b = k
    return inc, events
