"""Water-quality thresholds for panel bands and alert rules, read from the cited reference table.

``dashboards/reference/water_quality_thresholds.csv`` is a verbatim copy of the project's reference
table (``shared/reference/water_quality_thresholds.csv``); each row carries its source (GB 11607-89,
Li et al. 2022, George et al. 2019, Friends of Casco Bay). Nothing here restates a number: the bands
are looked up by parameter and context, and the citation travels with the value.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from blueranch.dashboards.model import ThresholdStep

REFERENCE = Path(__file__).with_name("reference") / "water_quality_thresholds.csv"


@dataclass(frozen=True)
class Threshold:
    parameter: str
    context: str
    value: float
    unit: str
    meaning: str
    source: str

    @property
    def citation(self) -> str:
        return f"{self.value:g} {self.unit} ({self.context}: {self.meaning}; {self.source})"


@cache
def load(path: Path = REFERENCE) -> tuple[Threshold, ...]:
    """Numeric rows of the table (the heatwave row is a percentile rule, not a number, and is skipped)."""
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    out = []
    for r in csv.DictReader(rows):
        try:
            value = float(r["threshold"])
        except ValueError:
            continue
        out.append(Threshold(r["parameter"], r["context"], value, r["unit"], r["meaning"], r["source"]))
    return tuple(out)


def find(parameter: str, context: str, value: float) -> Threshold:
    """The row for ``parameter``/``context`` with ``value``; raises ``KeyError`` listing the rows."""
    for t in load():
        if t.parameter == parameter and t.context == context and t.value == value:
            return t
    raise KeyError(f"no threshold {parameter}/{context}/{value} in {REFERENCE}; rows: {load()}")


# The rows the dashboards and alert rules use (looked up, so a change of the table is noticed).
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
        ThresholdStep(color="dark-red", value=None, source="below " + falloff.citation),
        ThresholdStep(color="red", value=falloff.value, source=falloff.citation),
        ThresholdStep(color="orange", value=never.value, source=never.citation),
        ThresholdStep(color="yellow", value=h16.value, source=h16.citation),
        ThresholdStep(color="green", value=stress.value, source=stress.citation),
    ]
