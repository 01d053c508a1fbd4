"""Standing biomass of every asset, advanced in time steps, vectorised across assets.

Bivalves (one cohort per asset): shell length by temperature-scaled von Bertalanffy growth, numbers by
natural mortality, storm fall-off and hypoxia losses; total wet weight ``n * a L^b``. Macroalgae:
temperature-scaled logistic growth of wet kg per line from outplanting to harvest. Reef fish and pens:
a seasonal standing stock. Seeding and harvest dates come from each asset; harvest is spread evenly
over ``harvest_days``. Every mass moved (seeding, harvest, loss) is returned as a :class:`Flow`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from blueranch.sim.physics.params import Biology
from blueranch.sim.physics.water import seasonal

HOURS_PER_YEAR = 8766.0


@dataclass(frozen=True)
class Flow:
    kind: str  # seeding | harvest | loss
    asset: str
    wet_t: float
    cause: str = ""


def _md_in_year(md: str, year: int) -> float:
    m, d = (int(x) for x in md.split("-"))
    d = min(d, 28) if m == 2 else d
    return datetime(year, m, d, tzinfo=UTC).timestamp()


def _thermal(temp_c: float, topt: float, width: float) -> float:
    return float(np.exp(-(((temp_c - topt) / width) ** 2)))


class Stock:
    """Biomass state of all assets; :meth:`step` advances it by ``dt_h`` hours at time ``t_s``."""

    def __init__(self, assets, bio: Biology):
        self.assets = list(assets)
        self.p = bio
        self.ids = [a.id for a in self.assets]
        n = len(self.assets)
        self.n_line = np.zeros(n)  # bivalve individuals per line
        self.length_cm = np.zeros(n)
        self.kelp_kg_line = np.zeros(n)
        self.harvest_left = np.zeros(n)  # hours of the harvest window left (0: not harvesting)
        self.is_bivalve = np.array([a.kind == "bivalve" for a in self.assets], dtype=bool)
        self.is_algae = np.array([a.kind == "macroalgae" for a in self.assets], dtype=bool)
        self.lines = np.array([a.lines for a in self.assets], dtype=float)
        self._cache: np.ndarray | None = None

    # ---- mass per line and per asset -------------------------------------------------------------
    def wet_kg_per_line(self) -> np.ndarray:
        """Wet kg on one line of each asset (cached until the stock changes)."""
        if self._cache is None:
            self._cache = self._wet_kg_per_line()
        return self._cache

    def _wet_kg_per_line(self) -> np.ndarray:
        w_g = self.p.mussel_wa_g_cm3 * self.length_cm**self.p.mussel_wb
        out = np.where(self.is_bivalve, self.n_line * w_g / 1000.0, 0.0)
        return np.where(self.is_algae, self.kelp_kg_line, out)

    def wet_t(self, t_s: float) -> np.ndarray:
        """True standing wet biomass of each whole asset, tonnes."""
        farmed = self.wet_kg_per_line() * self.lines / 1000.0
        out = farmed.copy()
        for i, a in enumerate(self.assets):
            if a.kind == "reef":
                out[i] = a.standing_wet_t * (
                    1.0
                    + self.p.reef_seasonal_frac
                    * float(np.cos(2 * np.pi * ((t_s / 86400.0) % 365.2425 - self.p.reef_peak_doy) / 365.2425))
                )
            elif a.kind == "pen":  # croaker stocked in spring, grown out to a late-autumn harvest (assumed)
                out[i] = float(seasonal(t_s, a.standing_wet_t, 0.6 * a.standing_wet_t, 320.0))
        return out

    # ---- time step -----------------------------------------------------------------------------
    def step(self, t_s: float, dt_h: float, temp_c: float, do_mg_l: float, wave_m: float) -> list[Flow]:
        """Advance from ``t_s`` to ``t_s + dt_h`` hours under the given water and sea state."""
        flows: list[Flow] = []
        self._cache = None
        p = self.p
        end_s = t_s + dt_h * 3600.0
        year = datetime.fromtimestamp(t_s, UTC).year
        for i, a in enumerate(self.assets):
            if a.kind not in ("bivalve", "macroalgae"):
                continue
            if a.seeding and t_s <= _md_in_year(a.seeding, year) < end_s:
                flows += self._seed(i)
            if a.harvest_start and t_s <= _md_in_year(a.harvest_start, year) < end_s:
                self.harvest_left[i] = a.harvest_days * 24.0
        # growth
        f_mussel = _thermal(temp_c, p.mussel_topt_c, p.mussel_twidth_c)
        k = p.mussel_k_per_yr / HOURS_PER_YEAR * f_mussel * dt_h
        grow = self.is_bivalve & (self.n_line > 0)
        self.length_cm = np.where(grow, self.length_cm + k * (p.mussel_linf_cm - self.length_cm), self.length_cm)
        f_kelp = _thermal(temp_c, p.kelp_topt_c, p.kelp_twidth_c)
        cap = np.array([a.seed_per_line * p.kelp_max_factor for a in self.assets])
        r = p.kelp_r_per_day / 24.0 * f_kelp * dt_h
        with np.errstate(divide="ignore", invalid="ignore"):
            kelp_growth = np.where(cap > 0, r * self.kelp_kg_line * (1.0 - self.kelp_kg_line / cap), 0.0)
        self.kelp_kg_line = np.where(self.is_algae, self.kelp_kg_line + kelp_growth, self.kelp_kg_line)
        self._cache = None
        # losses: natural mortality (bivalves), storm fall-off and hypoxia (both)
        mort = 1.0 - np.exp(-p.mussel_mortality_per_yr / HOURS_PER_YEAR * dt_h)
        storm = min(0.5, max(0.0, wave_m - p.falloff_wave_threshold_m) * p.falloff_per_m_h * dt_h)
        hyp = min(0.5, p.hypoxia_loss_per_h * dt_h) if do_mg_l < p.hypoxia_do_mg_l else 0.0
        mass = self.wet_kg_per_line() * self.lines / 1000.0
        for cause, frac in (("natural_mortality", mort), ("storm", storm), ("hypoxia", hyp)):
            fr = np.where(self.is_bivalve, frac, 0.0 if cause == "natural_mortality" else frac)
            lost = mass * fr
            mass = mass - lost
            flows += [Flow("loss", self.ids[i], float(lost[i]), cause) for i in np.nonzero(lost > 0)[0]]
            self.n_line = np.where(self.is_bivalve, self.n_line * (1.0 - fr), self.n_line)
            self.kelp_kg_line = np.where(self.is_algae, self.kelp_kg_line * (1.0 - fr), self.kelp_kg_line)
            self._cache = None
        # harvest, spread over the window
        for i in np.nonzero(self.harvest_left > 0)[0]:
            frac = min(1.0, dt_h / self.harvest_left[i])
            flows += self.remove(i, frac, "harvest", "harvest")
            self.harvest_left[i] = max(0.0, self.harvest_left[i] - dt_h)
        return flows

    def _seed(self, i: int) -> list[Flow]:
        a = self.assets[i]
        flows = []
        if self.wet_kg_per_line()[i] > 0:  # a cohort still on the lines is harvested before re-seeding
            flows += self.remove(i, 1.0, "harvest", "harvest")
        self._cache = None
        if a.kind == "bivalve":
            self.n_line[i] = a.seed_per_line
            self.length_cm[i] = self.p.mussel_seed_length_cm
        else:
            self.kelp_kg_line[i] = a.seed_per_line
        self._cache = None
        flows.append(Flow("seeding", a.id, float(self.wet_kg_per_line()[i] * a.lines / 1000.0)))
        return flows

    def remove(self, i: int, frac: float, kind: str, cause: str) -> list[Flow]:
        """Take ``frac`` of asset ``i``'s farmed biomass away (harvest or a loss event)."""
        wet = float(self.wet_kg_per_line()[i] * self.lines[i] / 1000.0) * frac
        self._cache = None
        if self.is_bivalve[i]:
            self.n_line[i] *= 1.0 - frac
        elif self.is_algae[i]:
            self.kelp_kg_line[i] *= 1.0 - frac
        else:
            return []
        if frac >= 1.0:
            self.harvest_left[i] = 0.0
        return [Flow(kind, self.ids[i], wet, cause)] if wet > 0 else []

    def spin_up(self, start_s: float, climate_temp, days: int = 400) -> None:
        """Grow the stock through the ``days`` before ``start_s`` under climatological temperature (no
        storms, no hypoxia), so a scenario starts with the cohorts a real farm would have on its lines."""
        t = start_s - days * 86400.0
        for _ in range(days):
            self.step(t, 24.0, float(climate_temp(t)), 8.0, 0.0)
            t += 86400.0
