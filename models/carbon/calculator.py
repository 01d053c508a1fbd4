"""The budget calculator shared by the live worker (:func:`blueranch.models.carbon.budget.compute_budget`) and
``blueranch carbon compute`` (:mod:`blueranch.models.carbon.compute`).

The caller lists the scopes (``("site", "dachen")``, ``("farm", "mussel-1")``, ...), the sink items (one
species group each) and the sources, and says which scopes each belongs to. The calculator draws the
coefficients once per run (:class:`~blueranch.models.carbon.uncertainty.SinkSampler`; the draws are shared
by every period, so consecutive periods are consistent), and turns one period's stock changes and source
emissions into per-scope totals: creditable sinks (the kind's formula under the calcification rule),
sources, net emissions, Monte Carlo 95 % intervals of each, and IPCC Approach 1 for comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from blueranch.models.carbon.coefficients import GroupCoefficients
from blueranch.models.carbon.config import UncertaintyConfig
from blueranch.models.carbon.method import Calcification, to_t_co2e
from blueranch.models.carbon.uncertainty import (
    Z95,
    SinkSampler,
    interval95,
    source_draws_t_co2,
    u_coefficient,
    u_sink_asset,
)

Scope = tuple[str, str]  # (scope, key)


@dataclass
class ScopeFigures:
    """One period's figures, one array element per scope (in the calculator's scope order).

    ``ipcc_u_*``: Approach 1, half the 95 % interval as a share of the value (0 where the value is 0).
    """

    sinks_t_c: np.ndarray
    sinks_t_co2e: np.ndarray
    sinks_lo95_t_co2e: np.ndarray
    sinks_hi95_t_co2e: np.ndarray
    sources_t_co2e: np.ndarray
    sources_lo95_t_co2e: np.ndarray
    sources_hi95_t_co2e: np.ndarray
    net_emissions_t_co2e: np.ndarray
    net_lo95_t_co2e: np.ndarray
    net_hi95_t_co2e: np.ndarray
    ipcc_u_sinks: np.ndarray
    ipcc_u_sources: np.ndarray


@dataclass
class SourceFlow:
    """One source's emissions in a period and the factor they were computed with (for the uncertainty)."""

    t_co2e: float
    factor_kind: str  # diesel | grid | feed: the key of UncertaintyConfig.factor_rel_sd
    factor_key: str  # one draw per key: sources sharing a factor share its error


class Calculator:
    def __init__(
        self,
        scopes: Sequence[Scope],
        coeffs: dict[str, GroupCoefficients],
        sink_groups: Sequence[str],
        sink_scopes: Sequence[Iterable[Scope]],
        source_scopes: Sequence[Iterable[Scope]],
        calcification: Calcification,
        psi: float,
        unc: UncertaintyConfig,
        draws: int,
        seed: int,
    ):
        """``sink_scopes[i]`` (``source_scopes[j]``): the scopes sink item i (source j) counts in; a scope
        not in ``scopes`` is ignored (a meter without a farm)."""
        self.scopes = list(scopes)
        self.index = {s: i for i, s in enumerate(self.scopes)}
        self.unc, self.draws, self.seed = unc, draws, seed
        used = sorted(set(sink_groups))
        #: creditable t C per wet t and its Approach 1 U, per species group
        self.c_per_wet = {g: coeffs[g].creditable_t_c_per_wet_t(calcification, psi) for g in used}
        self.u_c = {g: u_coefficient(coeffs[g], calcification, psi, unc) for g in used}
        self.groups = list(sink_groups)
        self.sink_c = np.array([self.c_per_wet[g] for g in self.groups], dtype=float)
        self.sampler = SinkSampler.create(self.groups, coeffs, calcification, psi, unc, draws, seed)
        self.m_sink = self.membership(sink_scopes)
        self.m_src = self.membership(source_scopes)

    def membership(self, members: Sequence[Iterable[Scope]]) -> np.ndarray:
        """(items x scopes) 0/1 matrix: a matrix product with it sums items into their scopes."""
        m = np.zeros((len(members), len(self.scopes)))
        for i, scopes in enumerate(members):
            for s in scopes:
                if s in self.index:
                    m[i, self.index[s]] = 1.0
        return m

    def sink_t_c(self, group: str, sink_wet_t: float) -> float:
        """Creditable t C of a stock change of ``sink_wet_t`` wet t of ``group``."""
        return sink_wet_t * self.c_per_wet[group]

    def period(
        self,
        sink_wet_t: np.ndarray,
        sink_sd_wet_t: np.ndarray,
        sources: Sequence[SourceFlow],
        extra_sink_t_c: np.ndarray | None = None,
    ) -> ScopeFigures:
        """Figures of one period. ``sink_wet_t[i]`` is item i's stock change (NaN: missing, left out of every
        total), ``sink_sd_wet_t[i]`` its measurement SD; ``extra_sink_t_c`` (per scope) is added to the sinks
        as it is (the credited reef stock change)."""
        n_scopes = len(self.scopes)
        extra = np.zeros(n_scopes) if extra_sink_t_c is None else np.asarray(extra_sink_t_c, dtype=float)
        wet = np.asarray(sink_wet_t, dtype=float)
        ok = np.isfinite(wet)
        wet0 = np.where(ok, wet, 0.0)
        sd = np.where(ok, sink_sd_wet_t, 0.0)
        d_sink = to_t_co2e(self.sampler.draws_t_c(wet0, sd) @ self.m_sink + extra)  # (draws x scopes) t CO2e
        t_c_items = wet0 * self.sink_c
        sinks_t_c = t_c_items @ self.m_sink + extra
        src_t = np.array([s.t_co2e for s in sources], dtype=float)
        kinds, keys = [s.factor_kind for s in sources], [s.factor_key for s in sources]
        d_src = source_draws_t_co2(src_t, kinds, keys, self.unc, self.draws, self.seed) @ self.m_src
        src_sum = src_t @ self.m_src if len(sources) else np.zeros(n_scopes)
        s_lo, s_hi = interval95(d_sink)
        # Scopes without sources: sources are exactly 0 and net = -sinks (skip two percentile passes).
        has_src = self.m_src.any(axis=0)
        q_lo, q_hi = np.zeros(n_scopes), np.zeros(n_scopes)
        n_lo, n_hi = -s_hi, -s_lo
        if has_src.any():
            q_lo[has_src], q_hi[has_src] = interval95(d_src[:, has_src])
            n_lo[has_src], n_hi[has_src] = interval95(d_src[:, has_src] - d_sink[:, has_src])
        # Approach 1 per scope (Eq. 3.2 over the member items) as matrix products over the memberships.
        u_sink = np.array(
            [
                u_sink_asset(self.u_c[g], float(wet[i]), float(sd[i]), self.unc) if ok[i] else 0.0
                for i, g in enumerate(self.groups)
            ]
        )
        u_src = np.array([Z95 * self.unc.factor_rel_sd.get(k, 0.0) for k in kinds])
        sinks_t_co2e = to_t_co2e(sinks_t_c)
        return ScopeFigures(
            sinks_t_c=sinks_t_c,
            sinks_t_co2e=sinks_t_co2e,
            sinks_lo95_t_co2e=s_lo,
            sinks_hi95_t_co2e=s_hi,
            sources_t_co2e=src_sum,
            sources_lo95_t_co2e=q_lo,
            sources_hi95_t_co2e=q_hi,
            net_emissions_t_co2e=src_sum - sinks_t_co2e,
            net_lo95_t_co2e=n_lo,
            net_hi95_t_co2e=n_hi,
            ipcc_u_sinks=_u_scopes(u_sink, t_c_items, self.m_sink),
            ipcc_u_sources=_u_scopes(u_src, src_t, self.m_src),
        )


def _u_scopes(u: np.ndarray, values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """IPCC Eq. 3.2 for every scope at once: sqrt(sum (U_i x_i)^2) / |sum x_i| over the scope's members."""
    if not len(values):
        return np.zeros(members.shape[1])
    num = np.sqrt(np.square(u * values) @ members)
    den = np.abs(values @ members)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)
