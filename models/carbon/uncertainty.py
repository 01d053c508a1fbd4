"""Uncertainty of sinks and sources: Monte Carlo (IPCC Approach 2) and error propagation (Approach 1).

Both treat every input the same way: an input is *one* quantity with one error, shared by every item that
uses it. The coefficients of a species group (one row of ``carbon_coefficients.csv``) are shared by all
assets of that group; psi by every bivalve of the site; an emission factor by every meter that uses it;
a feed assumption by every pen that cites it. Calibration, measurement noise, reported tonnages and meter
registers are per item and independent.

Monte Carlo (vectorised, seeded): one draw per shared input per iteration, independent draws per item.
Normal distributions, relative SD unless said, truncated to their physical range by redrawing (no point
mass at a bound); psi normal around the configured value (95 % half-width ``psi_half_width_95``) truncated
to [0, 1]. Distributions and their sources: :class:`blueranch.models.carbon.config.UncertaintyConfig` and
``docs/carbon.md``.

Approach 1 (IPCC 2006 Vol. 1 Ch. 3): U is half the 95 % interval as a share of the value. Eq. 3.1 (products:
U = sqrt(sum U_i^2)) and Eq. 3.2 (sums: U = sqrt(sum (U_i x_i)^2) / |sum x_i|) hold for independent terms,
so correlated terms are aggregated first (Ch. 3, "correlation": sum the quantities that share a factor,
then combine): the totals of a group are summed over its assets before its coefficient U is applied, the
litres of all meters that share a factor before the factor's U is. The calculator
(:meth:`blueranch.models.carbon.calculator.Calculator.period`) does that to first order for every input at
once: each input's contribution to a total is ``e x U x total`` (e the elasticity of the total to that
input, :func:`coefficient_u` for the coefficients), summed over the items that share the input, and U of
the total is the root sum of squares of the contributions; their squares are the variance attribution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from blueranch.models.carbon.coefficients import GroupCoefficients
from blueranch.models.carbon.config import UncertaintyConfig

Z95 = 1.959964  # two-sided 95 % quantile of the standard normal


def truncated_normal(
    rng: np.random.Generator, mean: float, sd: float, size: int, lo: float = 0.0, hi: float = np.inf
) -> np.ndarray:
    """Normal draws redrawn until they lie in ``[lo, hi]`` (a truncated normal; ``sd == 0``: the mean)."""
    if sd == 0:
        return np.full(size, float(mean))
    out = rng.normal(mean, sd, size)
    bad = (out < lo) | (out > hi)
    for _ in range(1000):
        if not bad.any():
            return out
        out[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (out < lo) | (out > hi)
    raise ValueError(f"normal({mean}, {sd}) has almost no mass in [{lo}, {hi}]")


def normal_pos(rng: np.random.Generator, mean: float, rel_sd: float, size: int) -> np.ndarray:
    """Draws of a positive quantity with a relative SD (a truncated normal; 0 stays 0)."""
    if mean == 0 or rel_sd == 0:
        return np.full(size, float(mean))
    return truncated_normal(rng, mean, abs(mean) * rel_sd, size)


def psi_draws(rng: np.random.Generator, psi: float, unc: UncertaintyConfig, size: int) -> np.ndarray:
    """psi around the configured value: normal with 95 % half-width ``psi_half_width_95``, in [0, 1]."""
    return truncated_normal(rng, psi, unc.psi_half_width_95 / Z95, size, 0.0, 1.0)


def key_draws(rng: np.random.Generator, keys: list[str], rel_sd: Mapping[str, float], size: int) -> np.ndarray:
    """(size x len(keys)) multipliers with mean 1: one draw per distinct key (items sharing a key share it)."""
    distinct = sorted(set(keys))
    per = {k: normal_pos(rng, 1.0, rel_sd.get(k, 0.0), size) for k in distinct}
    return np.stack([per[k] for k in keys], axis=1) if keys else np.zeros((size, 0))


@dataclass
class SinkSampler:
    """Draws shared by every period of one run: creditable carbon per wet t (one draw per group coefficient
    and one psi per iteration, shared), calibration multipliers and noise normals (per asset).

    ``c_draws`` (n x A): creditable t C per wet t; ``cal_mult`` (n x A): calibration multiplier (mean 1);
    ``noise`` (n x A): standard normals scaled by each period's sink SD.
    """

    c_draws: np.ndarray
    cal_mult: np.ndarray
    noise: np.ndarray

    @classmethod
    def create(
        cls,
        groups: list[str],
        coeffs: dict[str, GroupCoefficients],
        mode: str,
        psi: float,
        unc: UncertaintyConfig,
        draws: int,
        seed: int,
    ) -> SinkSampler:
        rng = np.random.default_rng(seed)
        psi_d = psi_draws(rng, psi, unc, draws) if mode == "deduct" else np.full(draws, psi)
        per_group = {}
        for g in sorted(set(groups)):
            c = coeffs[g]
            v = {f: normal_pos(rng, x, unc.coefficient_rel_sd.get(f, 0.0), draws) for f, x in c.values().items()}
            per_group[g] = c.sink_kind.creditable_t_c_per_wet_t(v, mode, psi_d)
        a = len(groups)
        c_draws = np.stack([per_group[g] for g in groups], axis=1) if a else np.zeros((draws, 0))
        lines = normal_pos(rng, 1.0, unc.lines_rel_sd, draws * a).reshape(draws, a)
        cal = lines * normal_pos(rng, 1.0, unc.wet_per_submerged_rel_sd, draws * a).reshape(draws, a)
        return cls(c_draws, cal, rng.standard_normal((draws, a)))

    def draws_t_c(self, sink_wet_t: np.ndarray, sink_sd_wet_t: np.ndarray) -> np.ndarray:
        """(n x A) draws of each asset's creditable sink in t C for one period."""
        return (self.cal_mult * sink_wet_t + self.noise * sink_sd_wet_t) * self.c_draws


def interval95(draws: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """2.5th and 97.5th percentiles."""
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=axis)
    return lo, hi


# ---------------------------------------------------------------- IPCC Approach 1
def u_product(*u: float) -> float:
    """IPCC 2006 Vol.1 Ch.3 Eq. 3.1: U_total = sqrt(sum U_i^2) (U as a share)."""
    return float(np.sqrt(np.sum(np.square(u))))


def u_sum(values: np.ndarray, u: np.ndarray) -> float:
    """IPCC 2006 Vol.1 Ch.3 Eq. 3.2: U_total = sqrt(sum (U_i x_i)^2) / |sum x_i| (independent terms)."""
    values, u = np.asarray(values, dtype=float), np.asarray(u, dtype=float)
    total = abs(values.sum())
    if total == 0:
        return 0.0
    return float(np.sqrt(np.sum(np.square(u * values))) / total)


def elasticities(f: Callable[[Mapping[str, float]], float], x: Mapping[str, float], names: list[str]) -> dict:
    """``d ln f / d ln x_i`` for each name (central difference; exact for a formula linear in x_i)."""
    f0 = float(f(x))
    out = {}
    h = 1e-4  # a linear input has no truncation error; rounding stays near 1e-12
    for name in names:
        if f0 == 0 or x[name] == 0:
            out[name] = 0.0
            continue
        hi, lo = float(f({**x, name: x[name] * (1 + h)})), float(f({**x, name: x[name] * (1 - h)}))
        out[name] = (hi - lo) / (2 * h * f0)
    return out


def u_first_order(f: Callable[[Mapping[str, float]], float], x: Mapping[str, float], u: Mapping[str, float]) -> float:
    """Approach 1 U of ``f(x)`` for independent inputs with U ``u`` (shares): sqrt(sum (e_i U_i)^2).

    ``e_i = d ln f / d ln x_i``. Eq. 3.1 (products: every e_i = 1) and Eq. 3.2 (sums: e_i = x_i / sum) are
    instances of it; for a formula linear in each input it gives exactly what chaining the two does.
    """
    e = elasticities(f, x, [n for n, u_i in u.items() if u_i])
    return u_product(*(e[n] * u[n] for n in e)) if e else 0.0


def coefficient_u(c: GroupCoefficients, mode: str, psi: float, unc: UncertaintyConfig) -> dict[str, float]:
    """Per input of a group's creditable t C per wet t: ``e_i x U_i`` (its share of the 95 % half-width).

    The inputs are the kind's coefficient columns and, in ``deduct`` mode, psi: creditable = total - psi x
    shell carbon is one formula of the same columns, so the shell carbon is not counted twice.
    """
    kind = c.sink_kind
    x = {**c.values(), "psi": psi}
    u = {f: Z95 * unc.coefficient_rel_sd.get(f, 0.0) for f in kind.fields}
    if mode == "deduct" and kind.shell_t_c is not None and psi:
        u["psi"] = unc.psi_half_width_95 / psi
    names = [n for n, v in u.items() if v]
    e = elasticities(lambda v: kind.creditable_t_c_per_wet_t(v, mode, v["psi"]), x, names)
    return {n: e[n] * u[n] for n in names}


def u_coefficient(c: GroupCoefficients, mode: str, psi: float, unc: UncertaintyConfig) -> float:
    """Approach 1 U of the creditable t C per wet t of a group (first order over the kind's formula)."""
    return u_product(*coefficient_u(c, mode, psi, unc).values())
