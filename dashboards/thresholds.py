"""The water-quality rows the dashboards use: panel bands and Grafana alert rules.

The numbers and their sources come from the packaged reference table through
:func:`blueranch.reference.thresholds.find` (GB 11607-89, Li et al. 2022, George et al. 2019, Friends of
Casco Bay). Nothing here restates a number: each row is looked up by parameter, context and value, so a
change of the table is noticed, and the citation travels with the value.
"""

from __future__ import annotations

from blueranch.dashboards.model import ThresholdStep
from blueranch.reference.thresholds import Threshold, find


def do_never_below() -> Threshold:
    return find("dissolved_oxygen", "sea cages (large yellow croaker default)", 3.0)


def do_16h_of_24h() -> Threshold:
    return find("dissolved_oxygen", "sea cages (large yellow croaker default)", 5.0)


def do_mussel_falloff() -> Threshold:
    return find("dissolved_oxygen", "mussel longlines", 2.0)


def do_coastal_stress() -> Threshold:
    return find("dissolved_oxygen", "coastal stress", 5.5)


def do_bands() -> list[ThresholdStep]:
    """Colour bands for dissolved oxygen (mg/L): below 2 dark red (mussel fall-off risk, life-threatening),
    2-3 red, 3-5 orange (below the 16-of-24 h limit), 5-5.5 yellow (coastal stress), above 5.5 green."""
    falloff, never, h16, stress = do_mussel_falloff(), do_never_below(), do_16h_of_24h(), do_coastal_stress()
    return [
        ThresholdStep(color="dark-red", value=None, source="below " + falloff.value_citation),
        ThresholdStep(color="red", value=falloff.value, source=falloff.value_citation),
        ThresholdStep(color="orange", value=never.value, source=never.value_citation),
        ThresholdStep(color="yellow", value=h16.value, source=h16.value_citation),
        ThresholdStep(color="green", value=stress.value, source=stress.value_citation),
    ]
