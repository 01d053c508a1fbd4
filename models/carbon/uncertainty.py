"""Uncertainty of sinks and sources: Monte Carlo (IPCC Approach 2) and error propagation (Approach 1).

Monte Carlo (vectorised, seeded): one draw of every group coefficient per iteration, shared by all assets of
that group (they use the same table, so their errors are fully correlated); per asset independent draws of
the calibration (``wet_per_submerged`` and ``lines_per_sensor``: the sink scales with their product; the
tare cancels in a stock change) and of the measurement noise of the sink; per emission-factor key one draw,
per meter one draw of the register error. Normal distributions truncated at 0, except psi (uniform over
its literature range). Distributions and their sources: :class:`blueranch.models.carbon.config.UncertaintyConfig`
and ``docs/carbon.md``.

Approach 1 (IPCC 2006 Vol. 1 Ch. 3, Eq. 3.1 and 3.2): U is half the 95 % interval as a share of the value;
products: U = sqrt(sum U_i^2); sums: U = sqrt(sum (U_i x_i)^2) / |sum x_i|. It assumes small, normal,
independent errors, so it ignores the correlation between assets of one group; it is reported for
comparison only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from blueranch.models.carbon.coefficients import COEFF_FIELDS, GroupCoefficients
from blueranch.models.carbon.config import UncertaintyConfig

Z95 = 1.959964  # two-sided 95 % quantile of the standard normal


def _normal_pos(rng: np.random.Generator, mean: float, rel_sd: float, size: int) -> np.ndarray:
    if mean == 0 or rel_sd == 0:
        return np.full(size, mean, dtype=float)
    return np.maximum(rng.normal(mean, abs(mean) * rel_sd, size), 0.0)


@dataclass
class SinkSampler:
    """Draws shared by every period of one run: coefficient x calibration factors and noise normals.

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
        psi_d = rng.uniform(*unc.psi_range, draws) if mode == "deduct" else np.full(draws, psi)
        per_group: dict[str, np.ndarray] = {}
        for g in sorted(set(groups)):
            c = coeffs[g]
            v = {f: _normal_pos(rng, getattr(c, f), unc.coefficient_rel_sd.get(f, 0.0), draws) for f in COEFF_FIELDS}
            per_group[g] = c.sink_kind.creditable_t_c_per_wet_t(v, mode, psi_d)
        a = len(groups)
        c_draws = np.stack([per_group[g] for g in groups], axis=1) if a else np.zeros((draws, 0))
        cal = _normal_pos(rng, 1.0, unc.lines_rel_sd, draws * a).reshape(draws, a) * _normal_pos(
            rng, 1.0, unc.wet_per_submerged_rel_sd, draws * a
        ).reshape(draws, a)
        noise = rng.standard_normal((draws, a))
        return cls(c_draws, cal, noise)

    def draws_t_c(self, sink_wet_t: np.ndarray, sink_sd_wet_t: np.ndarray) -> np.ndarray:
        """(n x A) draws of each asset's creditable sink in t C for one period."""
        return (self.cal_mult * sink_wet_t + self.noise * sink_sd_wet_t) * self.c_draws


def source_draws_t_co2(
    t_co2: np.ndarray, factor_kinds: list[str], factor_keys: list[str], unc: UncertaintyConfig, draws: int, seed: int
) -> np.ndarray:
    """(n x M) draws of each source's t CO2: one factor draw per key, one register draw per meter."""
    rng = np.random.default_rng(seed + 1)
    m = len(t_co2)
    per_key = {
        k: _normal_pos(rng, 1.0, unc.factor_rel_sd.get(kind, 0.0), draws)
        for k, kind in sorted(set(zip(factor_keys, factor_kinds, strict=False)))
    }
    f = np.stack([per_key[k] for k in factor_keys], axis=1) if m else np.zeros((draws, 0))
    reg = _normal_pos(rng, 1.0, unc.meter_rel_sd, draws * m).reshape(draws, m)
    return f * reg * np.asarray(t_co2, dtype=float)


def interval95(draws: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """2.5th and 97.5th percentiles."""
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=axis)
    return lo, hi


# ---------------------------------------------------------------- IPCC Approach 1
def u_product(*u: float) -> float:
    """IPCC 2006 Vol.1 Ch.3 Eq. 3.1: U_total = sqrt(sum U_i^2) (U as a share)."""
    return float(np.sqrt(np.sum(np.square(u))))


def u_sum(values: np.ndarray, u: np.ndarray) -> float:
    """IPCC 2006 Vol.1 Ch.3 Eq. 3.2: U_total = sqrt(sum (U_i x_i)^2) / |sum x_i|."""
    values, u = np.asarray(values, dtype=float), np.asarray(u, dtype=float)
    total = abs(values.sum())
    if total == 0:
        return 0.0
    return float(np.sqrt(np.sum(np.square(u * values))) / total)


def u_first_order(f: Callable[[Mapping[str, float]], float], x: Mapping[str, float], u: Mapping[str, float]) -> float:
    """Approach 1 U of ``f(x)`` for independent inputs with U ``u`` (shares): sqrt(sum (e_i U_i)^2).

    ``e_i = d ln f / d ln x_i`` (central difference). This is the first-order propagation that Eq. 3.1
    (products: every e_i = 1) and Eq. 3.2 (sums: e_i = x_i / sum) are instances of; for a formula that is
    linear in each input, as the kinds' formulas are, it gives exactly what chaining the two equations does.
    """
    f0 = float(f(x))
    if f0 == 0:
        return 0.0
    h = 1e-4  # a linear input has no truncation error; rounding stays near 1e-12 of U
    terms = []
    for name, u_i in u.items():
        if u_i == 0 or x[name] == 0:
            continue
        hi, lo = float(f({**x, name: x[name] * (1 + h)})), float(f({**x, name: x[name] * (1 - h)}))
        terms.append((hi - lo) / (2 * h * f0) * u_i)
    return u_product(*terms) if terms else 0.0


def u_coefficient(c: GroupCoefficients, mode: str, psi: float, unc: UncertaintyConfig) -> float:
    """Approach 1 U of the creditable t C per wet t of a group (first order over the kind's formula)."""
    kind = c.sink_kind
    u_total = u_first_order(
        kind.t_c_per_wet_t, c.values(), {f: Z95 * unc.coefficient_rel_sd.get(f, 0.0) for f in kind.fields}
    )
    if mode == "count":
        return u_total
    lo, hi = unc.psi_range
    u_psi = ((hi - lo) / 2) / psi if psi else 0.0  # uniform half-range as the 95 % half-width (approximation)
    total, shell_c = c.t_c_per_wet_t, c.shell_t_c_per_wet_t
    return u_sum(np.array([total, -psi * shell_c]), np.array([u_total, u_product(u_psi, u_total)]))


def u_sink_asset(c_u: float, sink_wet_t: float, sink_sd_wet_t: float, unc: UncertaintyConfig) -> float:
    """Approach 1 U of one asset's sink: coefficient x calibration x measured stock change."""
    u_meas = Z95 * sink_sd_wet_t / abs(sink_wet_t) if sink_wet_t else 0.0
    return u_product(c_u, Z95 * unc.lines_rel_sd, Z95 * unc.wet_per_submerged_rel_sd, u_meas)
