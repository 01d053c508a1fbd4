"""The budget calculator shared by the live worker (:func:`blueranch.models.carbon.budget.compute_budget`) and
``blueranch carbon compute`` (:mod:`blueranch.models.carbon.compute`).

The caller lists the scopes (``("site", "dachen")``, ``("farm", "mussel-1")``, ...) and the items of three
accounts, each with the scopes it counts in:

- **sinks** (:class:`SinkItem`, one species group each): creditable carbon, the kind's formula under the
  calcification rule;
- **energy sources** (:class:`EnergyItem`): diesel burnt on the island (scope 1) and grid electricity
  (scope 2), CO2 from a factor;
- **feed** (:class:`FeedItem`): the feed carbon of fed pens, biogenic, its own line, in net emissions only
  when the caller says so (a cited method).

Net emissions = energy sources - creditable sinks (+ feed with ``feed_in_net``). The calculator draws every
input once per run (the draws are shared by every period, so consecutive periods are consistent) and turns
one period's quantities into per-scope totals with Monte Carlo 95 % intervals, IPCC Approach 1 (correlated
inputs aggregated first, see :mod:`~blueranch.models.carbon.uncertainty`) and a variance attribution.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from blueranch.models.carbon.coefficients import GroupCoefficients
from blueranch.models.carbon.config import UncertaintyConfig
from blueranch.models.carbon.method import CO2_PER_C, Calcification, feed_t_co2e, to_t_co2e
from blueranch.models.carbon.uncertainty import (
    Z95,
    SinkSampler,
    coefficient_u,
    interval95,
    key_draws,
    normal_pos,
)

Scope = tuple[str, str]  # (scope, key)
ACCOUNTS = ("sinks", "sources", "feed")


@dataclass(frozen=True)
class SinkItem:
    group: str
    scopes: tuple[Scope, ...]


@dataclass(frozen=True)
class EnergyItem:
    """A metered or reported energy source. ``factor_key``: sources sharing a factor share its error."""

    ghg_scope: int  # 1: fuel burnt on site (diesel); 2: purchased electricity (GHG Protocol)
    factor_kind: str  # diesel | grid: the key of UncertaintyConfig.factor_rel_sd
    factor_key: str
    scopes: tuple[Scope, ...]


@dataclass(frozen=True)
class FeedItem:
    """A fed pen: feed t = production wet t x FCR; t CO2e = (feed t x feed C - fish wet t x fish C) x 44/12
    (fish C 0 for the gross feed carbon). ``*_key``: pens citing the same figure share its error."""

    fcr: float
    feed_c: float
    fish_c: float
    production_key: str
    fcr_key: str
    feed_c_key: str
    fish_c_key: str
    scopes: tuple[Scope, ...]


@dataclass
class ScopeFigures:
    """One period's figures, one array element per scope (in the calculator's scope order).

    ``ipcc_u_*``: Approach 1, half the 95 % interval as a share of the value (0 where the value is 0).
    ``variance[account]``: (labels x scopes) squared Approach 1 half-widths (t CO2e^2) per input label.
    """

    sinks_t_c: np.ndarray
    sinks_t_co2e: np.ndarray
    sinks_lo95_t_co2e: np.ndarray
    sinks_hi95_t_co2e: np.ndarray
    scope1_t_co2e: np.ndarray
    scope2_t_co2e: np.ndarray
    sources_t_co2e: np.ndarray
    sources_lo95_t_co2e: np.ndarray
    sources_hi95_t_co2e: np.ndarray
    feed_t_co2e: np.ndarray
    feed_lo95_t_co2e: np.ndarray
    feed_hi95_t_co2e: np.ndarray
    net_emissions_t_co2e: np.ndarray
    net_lo95_t_co2e: np.ndarray
    net_hi95_t_co2e: np.ndarray
    ipcc_u_sinks: np.ndarray
    ipcc_u_sources: np.ndarray
    ipcc_u_feed: np.ndarray
    ipcc_u_net: np.ndarray
    labels: list[str]
    variance: dict[str, np.ndarray]

    def attribution(self, j: int, accounts: Sequence[str]) -> list[tuple[str, float]]:
        """Share of the variance of the sum of ``accounts`` in scope ``j`` per input label, largest first."""
        v = sum(self.variance[a][:, j] for a in accounts)
        total = float(np.sum(v))
        if total <= 0:
            return []
        return sorted(
            ((lab, float(x) / total) for lab, x in zip(self.labels, v, strict=True) if x > 0), key=lambda kv: -kv[1]
        )


def _one_hot(keys: Sequence[str]) -> tuple[list[str], np.ndarray]:
    distinct = sorted(set(keys))
    idx = {k: i for i, k in enumerate(distinct)}
    m = np.zeros((len(keys), len(distinct)))
    for i, k in enumerate(keys):
        m[i, idx[k]] = 1.0
    return distinct, m


class Calculator:
    def __init__(
        self,
        scopes: Sequence[Scope],
        coeffs: dict[str, GroupCoefficients],
        sinks: Sequence[SinkItem],
        energy: Sequence[EnergyItem],
        feed: Sequence[FeedItem],
        calcification: Calcification,
        psi: float,
        unc: UncertaintyConfig,
        draws: int,
        seed: int,
        feed_in_net: bool = False,
        measurement_label: str = "measured stock change (load-cell noise)",
    ):
        """A scope an item names that is not in ``scopes`` is ignored (a meter without a farm)."""
        self.scopes = list(scopes)
        self.index = {s: i for i, s in enumerate(self.scopes)}
        self.unc, self.draws, self.seed = unc, draws, seed
        self.feed_in_net = feed_in_net
        self.measurement_label = measurement_label
        self.groups = [s.group for s in sinks]
        used = sorted(set(self.groups))
        #: creditable t C per wet t, per species group
        self.c_per_wet = {g: coeffs[g].creditable_t_c_per_wet_t(calcification, psi) for g in used}
        self.sink_c = np.array([self.c_per_wet[g] for g in self.groups], dtype=float)
        self.m_sink = self.membership([s.scopes for s in sinks])
        self.m_src = self.membership([e.scopes for e in energy])
        self.m_feed = self.membership([f.scopes for f in feed])
        self.energy, self.feed = list(energy), list(feed)
        self.sampler = SinkSampler.create(self.groups, coeffs, calcification, psi, unc, draws, seed)
        self._source_draws(unc, draws, seed)
        self._approach1_setup(coeffs, calcification, psi, unc)

    def membership(self, members: Sequence[Iterable[Scope]]) -> np.ndarray:
        """(items x scopes) 0/1 matrix: a matrix product with it sums items into their scopes."""
        m = np.zeros((len(members), len(self.scopes)))
        for i, scopes in enumerate(members):
            for s in scopes:
                if s in self.index:
                    m[i, self.index[s]] = 1.0
        return m

    # ------------------------------------------------------------------ Monte Carlo draws (once per run)
    def _source_draws(self, unc: UncertaintyConfig, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed + 1)
        e = self.energy
        sd = {x.factor_key: unc.factor_rel_sd.get(x.factor_kind, 0.0) for x in e}
        self.factor_mult = key_draws(rng, [x.factor_key for x in e], sd, n)
        self.register_mult = normal_pos(rng, 1.0, unc.meter_rel_sd, n * len(e)).reshape(n, len(e))
        rng = np.random.default_rng(seed + 2)
        f = self.feed
        self.production_mult = key_draws(
            rng, [x.production_key for x in f], {x.production_key: unc.feed_production_rel_sd for x in f}, n
        )
        self.fcr_d = key_draws(rng, [x.fcr_key for x in f], {x.fcr_key: unc.feed_fcr_rel_sd for x in f}, n) * [
            x.fcr for x in f
        ]
        self.feed_c_d = key_draws(rng, [x.feed_c_key for x in f], {x.feed_c_key: unc.feed_c_rel_sd for x in f}, n) * [
            x.feed_c for x in f
        ]
        self.fish_c_d = key_draws(rng, [x.fish_c_key for x in f], {x.fish_c_key: unc.fish_c_rel_sd for x in f}, n) * [
            x.fish_c for x in f
        ]

    # ------------------------------------------------------------------ Approach 1 (linear contributions)
    def _approach1_setup(self, coeffs, mode, psi, unc: UncertaintyConfig) -> None:
        """Per input, the contribution to the 95 % half-width per unit of what it multiplies."""
        groups, self._g_onehot = _one_hot(self.groups)
        self._g_names = groups
        # (groups x inputs) e x U of each group's creditable carbon, psi one input shared by all groups
        inputs = sorted({k for g in groups for k in coefficient_u(coeffs[g], mode, psi, unc)}, key=_input_order)
        self._coef_inputs = inputs
        self._coef_eu = np.array(
            [[coefficient_u(coeffs[g], mode, psi, unc).get(k, 0.0) for k in inputs] for g in groups]
        ).reshape(len(groups), len(inputs))
        self._u_cal = {"lines": Z95 * unc.lines_rel_sd, "wet_per_submerged": Z95 * unc.wet_per_submerged_rel_sd}
        keys, self._k_onehot = _one_hot([e.factor_key for e in self.energy])
        self._factor_keys = keys
        kinds = {e.factor_key: e.factor_kind for e in self.energy}
        self._u_factor = np.array([Z95 * unc.factor_rel_sd.get(kinds[k], 0.0) for k in keys])
        labels = [f"{g} {k}" if k != "psi" else "psi (calcification)" for g in groups for k in inputs]
        labels = list(dict.fromkeys(labels))
        labels += ["calibration: lines per sensor", "calibration: wet/submerged", self.measurement_label]
        labels += [f"emission factor {k}" for k in keys] + ["meter registers"]
        self._feed_params = (
            ("production", "production_key", unc.feed_production_rel_sd),
            ("fcr", "fcr_key", unc.feed_fcr_rel_sd),
            ("feed_c", "feed_c_key", unc.feed_c_rel_sd),
            ("fish_c", "fish_c_key", unc.fish_c_rel_sd),
        )
        names = {
            "production": "fed pens: production",
            "fcr": "fed pens: feed conversion ratio",
            "feed_c": "fed pens: feed carbon",
            "fish_c": "fed pens: fish carbon",
        }
        labels += [names[p] for p, _, _ in self._feed_params]
        self.labels = labels
        self._label_index = {lab: i for i, lab in enumerate(labels)}

    def sink_t_c(self, group: str, sink_wet_t: float) -> float:
        """Creditable t C of a stock change of ``sink_wet_t`` wet t of ``group``."""
        return sink_wet_t * self.c_per_wet[group]

    def period(
        self,
        sink_wet_t: np.ndarray,
        sink_sd_wet_t: np.ndarray,
        energy_t_co2: Sequence[float] = (),
        feed_production_wet_t: Sequence[float] = (),
        extra_sink_t_c: np.ndarray | None = None,
    ) -> ScopeFigures:
        """Figures of one period. ``sink_wet_t[i]`` is sink item i's stock change (NaN: missing, left out of
        every total), ``sink_sd_wet_t[i]`` its measurement SD; ``energy_t_co2[j]`` energy item j's CO2;
        ``feed_production_wet_t[k]`` pen k's fish production in the period; ``extra_sink_t_c`` (per scope)
        is added to the sinks as it is (the credited reef stock change)."""
        n_scopes = len(self.scopes)
        extra = np.zeros(n_scopes) if extra_sink_t_c is None else np.asarray(extra_sink_t_c, dtype=float)
        wet = np.asarray(sink_wet_t, dtype=float)
        ok = np.isfinite(wet)
        wet0 = np.where(ok, wet, 0.0)
        sd = np.where(ok, np.nan_to_num(np.asarray(sink_sd_wet_t, dtype=float)), 0.0)
        # Monte Carlo
        d_sink = to_t_co2e(self.sampler.draws_t_c(wet0, sd) @ self.m_sink + extra)
        src = np.asarray(energy_t_co2, dtype=float).reshape(len(self.energy))
        d_src = (self.factor_mult * self.register_mult * src) @ self.m_src
        prod = np.asarray(feed_production_wet_t, dtype=float).reshape(len(self.feed))
        fish_d = prod * self.production_mult
        d_feed = feed_t_co2e(fish_d * self.fcr_d, self.feed_c_d, fish_d, self.fish_c_d) @ self.m_feed
        # Point estimates
        t_c_items = wet0 * self.sink_c
        sinks_t_c = t_c_items @ self.m_sink + extra
        sinks_t_co2e = to_t_co2e(sinks_t_c)
        ghg = np.array([e.ghg_scope for e in self.energy])
        scope1 = (src * (ghg == 1)) @ self.m_src if len(src) else np.zeros(n_scopes)
        scope2 = (src * (ghg == 2)) @ self.m_src if len(src) else np.zeros(n_scopes)
        sources = scope1 + scope2
        fcr, fc, fish = (np.array([getattr(f, a) for f in self.feed]) for a in ("fcr", "feed_c", "fish_c"))
        feed_items = feed_t_co2e(prod * fcr, fc, prod, fish) if len(prod) else np.zeros(0)
        feed = feed_items @ self.m_feed if len(prod) else np.zeros(n_scopes)
        net = sources - sinks_t_co2e + (feed if self.feed_in_net else 0.0)
        d_net = d_src - d_sink + (d_feed if self.feed_in_net else 0.0)
        s_lo, s_hi = interval95(d_sink)
        q_lo, q_hi = _interval_where(d_src, self.m_src.any(axis=0))
        f_lo, f_hi = _interval_where(d_feed, self.m_feed.any(axis=0))
        # Scopes whose net is the sinks alone: net = -sinks (skip a percentile pass).
        own = self.m_src.any(axis=0) | (self.m_feed.any(axis=0) if self.feed_in_net else False)
        n_lo, n_hi = -s_hi, -s_lo
        if own.any():
            n_lo, n_hi = n_lo.copy(), n_hi.copy()
            n_lo[own], n_hi[own] = interval95(d_net[:, own])
        variance = self._variance(wet0, sd, ok, src, prod, feed_items)
        return ScopeFigures(
            sinks_t_c=sinks_t_c,
            sinks_t_co2e=sinks_t_co2e,
            sinks_lo95_t_co2e=s_lo,
            sinks_hi95_t_co2e=s_hi,
            scope1_t_co2e=scope1,
            scope2_t_co2e=scope2,
            sources_t_co2e=sources,
            sources_lo95_t_co2e=q_lo,
            sources_hi95_t_co2e=q_hi,
            feed_t_co2e=feed,
            feed_lo95_t_co2e=f_lo,
            feed_hi95_t_co2e=f_hi,
            net_emissions_t_co2e=net,
            net_lo95_t_co2e=n_lo,
            net_hi95_t_co2e=n_hi,
            ipcc_u_sinks=_u(variance["sinks"], sinks_t_co2e),
            ipcc_u_sources=_u(variance["sources"], sources),
            ipcc_u_feed=_u(variance["feed"], feed),
            ipcc_u_net=_u(sum(variance[a] for a in self.net_accounts), net),
            labels=self.labels,
            variance=variance,
        )

    @property
    def net_accounts(self) -> tuple[str, ...]:
        return ("sinks", "sources", "feed") if self.feed_in_net else ("sinks", "sources")

    def _variance(self, wet0, sd, ok, src, prod, feed_items) -> dict[str, np.ndarray]:
        """Approach 1: squared contributions (t CO2e^2) per input label and scope, correlated inputs summed
        before squaring (IPCC 2006 Vol. 1 Ch. 3: aggregate what shares a factor, then combine)."""
        n_scopes = len(self.scopes)
        out = {a: np.zeros((len(self.labels), n_scopes)) for a in ACCOUNTS}
        li = self._label_index
        v = out["sinks"]
        if len(wet0):
            co2e_items = to_t_co2e(wet0 * self.sink_c)  # t CO2e per item
            per_group = (self._g_onehot * co2e_items[:, None]).T @ self.m_sink  # (groups x scopes)
            contrib = np.einsum("gk,gs->ks", self._coef_eu, per_group)  # summed over groups per input
            for k, name in enumerate(self._coef_inputs):
                if name == "psi":
                    v[li["psi (calcification)"]] += contrib[k] ** 2
            for gi, g in enumerate(self._g_names):
                for k, name in enumerate(self._coef_inputs):
                    if name != "psi":
                        v[li[f"{g} {name}"]] += (self._coef_eu[gi, k] * per_group[gi]) ** 2
            v[li["calibration: lines per sensor"]] = (self._u_cal["lines"] * co2e_items) ** 2 @ self.m_sink
            v[li["calibration: wet/submerged"]] = (self._u_cal["wet_per_submerged"] * co2e_items) ** 2 @ self.m_sink
            meas = Z95 * sd * self.sink_c * CO2_PER_C
            v[li[self.measurement_label]] = np.where(ok, meas, 0.0) ** 2 @ self.m_sink
        v = out["sources"]
        if len(src):
            per_key = (self._k_onehot * src[:, None]).T @ self.m_src  # (keys x scopes): shared factors summed
            for k, key in enumerate(self._factor_keys):
                v[li[f"emission factor {key}"]] = (self._u_factor[k] * per_key[k]) ** 2
            v[li["meter registers"]] = (Z95 * self.unc.meter_rel_sd * src) ** 2 @ self.m_src
        v = out["feed"]
        if len(prod):
            fish_c = np.array([f.fish_c for f in self.feed])
            retained = to_t_co2e(prod * fish_c)
            gross = feed_items + retained  # feed t x feed C x 44/12
            # d F / d ln x for each parameter: production -> F, FCR and feed C -> gross, fish C -> -retained
            partial = {"production": feed_items, "fcr": gross, "feed_c": gross, "fish_c": -retained}
            for (param, key_attr, rel_sd), label in zip(self._feed_params, self.labels[-4:], strict=True):
                _, onehot = _one_hot([getattr(f, key_attr) for f in self.feed])
                per_key = (onehot * (Z95 * rel_sd * partial[param])[:, None]).T @ self.m_feed
                v[li[label]] = np.sum(per_key**2, axis=0)
        return out


def _input_order(name: str) -> tuple[int, str]:
    return (1, name) if name == "psi" else (0, name)


def _interval_where(draws: np.ndarray, has: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95 % interval of the scopes that have items of the account; exactly 0 elsewhere (skips percentiles)."""
    lo, hi = np.zeros(draws.shape[1]), np.zeros(draws.shape[1])
    if has.any():
        lo[has], hi[has] = interval95(draws[:, has])
    return lo, hi


def _u(variance: np.ndarray, total: np.ndarray) -> np.ndarray:
    """U = sqrt(sum of squared contributions) / |total| per scope (0 where the total is 0)."""
    num = np.sqrt(variance.sum(axis=0))
    den = np.abs(total)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)
