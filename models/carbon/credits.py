"""Credits after deductions: what of a period's creditable sinks may be issued (pure, vectorised over scopes).

gross = the creditable sinks (t CO2e, point estimate); uncertainty deduction = gross - the lower bound of
the 95 % interval (``lower_bound``) or gross x the share a configured table gives for the half-width
(``table``); buffer = ``buffer_share`` x (gross - deduction), held back against reversals; creditable =
gross - deduction - buffer, and 0 where the sinks are not positive or the data are insufficient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blueranch.models.carbon.config import CreditsConfig


@dataclass
class Credits:
    gross_t_co2e: np.ndarray
    uncertainty_deduction_t_co2e: np.ndarray
    buffer_t_co2e: np.ndarray
    creditable_t_co2e: np.ndarray


def table_share(half_width_pct: np.ndarray, cfg: CreditsConfig) -> np.ndarray:
    """The deduction share (0..1) of the first table row whose ``max_half_width_pct`` covers the half-width;
    1 (everything) above the last row."""
    widths = np.array([r.max_half_width_pct for r in cfg.deduction_table])
    shares = np.array([r.deduction_pct / 100 for r in cfg.deduction_table] + [1.0])
    return shares[np.searchsorted(widths, half_width_pct, side="left")]


def credits(
    gross_t_co2e: np.ndarray,
    lo95_t_co2e: np.ndarray,
    hi95_t_co2e: np.ndarray,
    sufficient: np.ndarray,
    cfg: CreditsConfig,
) -> Credits:
    gross = np.asarray(gross_t_co2e, dtype=float)
    lo, hi = np.asarray(lo95_t_co2e, dtype=float), np.asarray(hi95_t_co2e, dtype=float)
    positive = gross > 0
    if cfg.uncertainty_deduction == "lower_bound":
        deduction = np.clip(gross - lo, 0.0, np.maximum(gross, 0.0))
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            hw_pct = np.where(positive, 50.0 * (hi - lo) / gross, np.inf)
        deduction = np.maximum(gross, 0.0) * table_share(hw_pct, cfg)
    after = np.where(positive, gross - deduction, 0.0)
    buffer = after * cfg.buffer_share
    creditable = np.where(positive & np.asarray(sufficient, dtype=bool), after - buffer, 0.0)
    return Credits(gross, np.where(positive, deduction, 0.0), buffer, creditable)
