"""Coefficient tables shipped as package data, with their citations.

``data/carbon_coefficients.csv`` and ``data/emission_factors.csv`` are verbatim copies of
the project's shared reference folder (``../shared/reference/`` beside the repository); their ``#``
comment lines carry the citations and stay in the files.
A site can override any coefficient or factor in its config; an override must name its own source
(see :mod:`blueranch.models.carbon.config`), and the MRV report lists the source actually used for every value.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from importlib import resources
from typing import Literal

Kind = Literal["bivalve", "macroalgae"]

#: Citation of every row of carbon_coefficients.csv (from the file's header comment).
COEFFICIENTS_SOURCE = (
    "Sun Kang et al. 2020, Geographical Research (Dili Yanjiu) 39(11):2508, Table 2 "
    "(coefficients of Zhang Jihong, Yue Dongdong et al.); package file carbon_coefficients.csv"
)
EMISSION_FACTORS_FILE = "emission_factors.csv"
COEFFICIENTS_FILE = "carbon_coefficients.csv"


@dataclass(frozen=True)
class GroupCoefficients:
    """Coefficients of one species group. Fractions are of dry weight; C contents are mass fractions."""

    kind: Kind
    group: str
    dry_wet_ratio: float
    tissue_fraction: float = 0.0
    shell_fraction: float = 0.0
    tissue_c: float = 0.0
    shell_c: float = 0.0
    algae_c: float = 0.0
    source: str = COEFFICIENTS_SOURCE

    @property
    def t_c_per_wet_t(self) -> float:
        """Total carbon per wet (live) tonne: shell and tissue for bivalves, thallus for algae."""
        if self.kind == "bivalve":
            return self.dry_wet_ratio * (self.tissue_fraction * self.tissue_c + self.shell_fraction * self.shell_c)
        return self.dry_wet_ratio * self.algae_c

    @property
    def shell_t_c_per_wet_t(self) -> float:
        """Shell (CaCO3) carbon per wet tonne; 0 for algae."""
        if self.kind == "bivalve":
            return self.dry_wet_ratio * self.shell_fraction * self.shell_c
        return 0.0

    def with_values(self, source: str, **values: float) -> GroupCoefficients:
        return replace(self, source=source, **values)


@dataclass(frozen=True)
class EmissionFactor:
    """``kg_co2_per_unit`` kg CO2 per ``unit`` (litre of diesel, kWh of grid electricity)."""

    key: str
    unit: str
    kg_co2_per_unit: float
    vintage: str
    source: str


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("blueranch.models.carbon").joinpath("data", filename).read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(body)))


def header_comments(filename: str) -> list[str]:
    """The citation/comment lines of a packaged table (for the report)."""
    text = resources.files("blueranch.models.carbon").joinpath("data", filename).read_text(encoding="utf-8")
    return [line.lstrip("# ").rstrip() for line in text.splitlines() if line.startswith("#")]


def _f(value: str) -> float:
    return float(value) if value.strip() else 0.0


def load_coefficients() -> dict[str, GroupCoefficients]:
    """Species groups by name (``mussel``, ``kelp``, ...) from the packaged table."""
    out: dict[str, GroupCoefficients] = {}
    for row in _rows(COEFFICIENTS_FILE):
        kind = row["kind"]
        if kind not in ("bivalve", "macroalgae"):
            raise ValueError(f"{COEFFICIENTS_FILE}: row {row['group']!r} has unknown kind {kind!r}")
        out[row["group"]] = GroupCoefficients(
            kind=kind,
            group=row["group"],
            dry_wet_ratio=_f(row["dry_wet_ratio"]),
            tissue_fraction=_f(row["tissue_fraction"]),
            shell_fraction=_f(row["shell_fraction"]),
            tissue_c=_f(row["tissue_c"]),
            shell_c=_f(row["shell_c"]),
            algae_c=_f(row["algae_c"]),
        )
    return out


def load_emission_factors() -> dict[str, EmissionFactor]:
    """Emission factors by key (``diesel``, ``grid_china_national``, ...) from the packaged table."""
    return {
        row["source"]: EmissionFactor(
            key=row["source"],
            unit=row["unit"],
            kg_co2_per_unit=float(row["value"]),
            vintage=row["vintage"],
            source=f"{row['note']} ({row['vintage']}); package file {EMISSION_FACTORS_FILE}",
        )
        for row in _rows(EMISSION_FACTORS_FILE)
    }


def groups_of(kind: str, coefficients: dict[str, GroupCoefficients]) -> list[str]:
    return sorted(g for g, c in coefficients.items() if c.kind == kind)
