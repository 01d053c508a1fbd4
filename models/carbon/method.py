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


def counter_increments(values: np.ndarray) -> np.ndarray:
    """Increments of a cumulative meter register; a decrease is a reset (the new value counts from 0).

    Returns an array as long as ``values``; element 0 is 0 (no previous reading).
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return v
    d = np.diff(v, prepend=v[0])
    reset = d < 0
    d[reset] = v[reset]
    return d
