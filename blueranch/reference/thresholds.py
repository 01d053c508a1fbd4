"""The water-quality thresholds table (``water_quality_thresholds.csv``), read once for every role.

Each alert default (:mod:`blueranch.models.alerts.config`) and each dashboard band
(:mod:`blueranch.dashboards.thresholds`) looks its row up here, so the number and its source travel together
and a change of the table is noticed where it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from blueranch import reference

FILE = "water_quality_thresholds.csv"


@dataclass(frozen=True)
class Threshold:
    """One row; ``threshold`` is the cell as written (a number, or a rule such as ``90th percentile``)."""

    parameter: str
    context: str
    threshold: str
    unit: str
    meaning: str
    source: str

    @property
    def numeric(self) -> bool:
        try:
            float(self.threshold)
        except ValueError:
            return False
        return True

    @property
    def value(self) -> float:
        """The threshold as a number; ``ValueError`` for a rule row."""
        return float(self.threshold)

    @property
    def citation(self) -> str:
        """Source first: ``GB 11607-89 (sea cages ...: must never fall below); water_quality_thresholds.csv``."""
        return f"{self.source} ({self.context}: {self.meaning}); {FILE}"

    @property
    def value_citation(self) -> str:
        """Value first: ``3 mg/L (sea cages ...: must never fall below; GB 11607-89)``."""
        return f"{self.value:g} {self.unit} ({self.context}: {self.meaning}; {self.source})"


@cache
def thresholds() -> tuple[Threshold, ...]:
    """Every row of the packaged table, in file order."""
    return tuple(Threshold(**row) for row in reference.rows(FILE))


def find(parameter: str, context: str, value: float | None = None) -> Threshold:
    """The one row of ``parameter`` whose context contains ``context`` (and whose threshold is ``value``).

    Two GB 11607-89 rows share a context, hence ``value``. Raises ``KeyError`` naming the candidates unless
    exactly one row matches.
    """
    found = [
        t
        for t in thresholds()
        if t.parameter == parameter and context in t.context and (value is None or (t.numeric and t.value == value))
    ]
    if len(found) != 1:
        candidates = [f"{t.context} = {t.threshold}" for t in thresholds() if t.parameter == parameter]
        wanted = f"parameter={parameter!r} context~{context!r}" + ("" if value is None else f" value={value}")
        raise KeyError(f"{FILE}: {len(found)} rows for {wanted}; rows of {parameter!r}: {candidates}")
    return found[0]
