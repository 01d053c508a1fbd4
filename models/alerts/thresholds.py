"""Reference thresholds for the alert defaults, read from the packaged copy of the thresholds table.

``data/water_quality_thresholds.csv`` is a verbatim copy of
``shared/reference/water_quality_thresholds.csv`` (a test checks they agree). Each default in
:mod:`blueranch.models.alerts.config` takes its number and its citation from a row of that table, so the number
and its source cannot drift apart.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Reference:
    parameter: str
    context: str
    threshold: str
    unit: str
    meaning: str
    source: str

    @property
    def value(self) -> float:
        return float(self.threshold)

    @property
    def citation(self) -> str:
        return f"{self.source} ({self.context}: {self.meaning}); water_quality_thresholds.csv"


@lru_cache(maxsize=1)
def references() -> tuple[Reference, ...]:
    text = resources.files("blueranch.models.alerts").joinpath("data/water_quality_thresholds.csv").read_text("utf-8")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(Reference(**{k: v.strip() for k, v in row.items()}) for row in csv.DictReader(rows))


def reference(parameter: str, context: str) -> Reference:
    """The row whose parameter matches and whose context contains ``context``; raises if not exactly one."""
    found = [r for r in references() if r.parameter == parameter and context in r.context]
    if len(found) != 1:
        raise KeyError(f"thresholds table: {len(found)} rows for parameter={parameter!r} context~{context!r}")
    return found[0]


def do_reference(context: str, value: float) -> Reference:
    """The dissolved-oxygen row for ``context`` with the given threshold (two GB 11607 rows share a context)."""
    found = [r for r in references() if r.parameter == "dissolved_oxygen" and context in r.context and r.value == value]
    if len(found) != 1:
        raise KeyError(f"thresholds table: no unique dissolved_oxygen row for {context!r} at {value} mg/L")
    return found[0]
