"""The project's reference tables, packaged once and read by every role that needs a number from them.

The CSV files beside this module are verbatim copies of the shared reference folder
(``shared/reference/`` next to the repository, described in its README); their ``#`` comment lines carry
the citations and stay in the files. ``tests/foundation/test_reference.py`` compares each copy with the
shared folder. Readers: the carbon coefficients and emission factors
(:mod:`blueranch.models.carbon.coefficients`) and the water-quality thresholds
(:mod:`blueranch.reference.thresholds`, used by the alert defaults and the dashboard bands).
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

#: Every packaged table (file names as in the shared reference folder).
FILES = ("carbon_coefficients.csv", "emission_factors.csv", "water_quality_thresholds.csv")


def text(name: str) -> str:
    """The packaged file as it is, comment lines included."""
    if name not in FILES:
        raise KeyError(f"no reference table {name!r}; packaged: {', '.join(FILES)}")
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


@cache
def rows(name: str) -> tuple[dict[str, str], ...]:
    """The data rows by column name, values stripped; comment and blank lines are skipped."""
    return parse_rows(text(name))


def parse_rows(table_text: str) -> tuple[dict[str, str], ...]:
    """The data rows of a table's text (the packaged file, or a copy of it in a carbon report package)."""
    body = [line for line in table_text.splitlines() if line.strip() and not line.startswith("#")]
    return tuple({k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(body))


def comments(name: str, table_text: str | None = None) -> list[str]:
    """The citation and comment lines of a table (or of the given copy's text), without their ``#``."""
    body = text(name) if table_text is None else table_text
    return [line.lstrip("# ").rstrip() for line in body.splitlines() if line.startswith("#")]
