"""Coefficient and emission-factor tables, read from the packaged reference tables with their citations.

``carbon_coefficients.csv`` and ``emission_factors.csv`` live once, in :mod:`blueranch.reference`
(verbatim copies of the shared reference folder; their ``#`` comment lines carry the citations).
Every row's ``kind`` names a registered sink kind (:mod:`blueranch.models.carbon.kinds`), whose formula
turns the row into carbon per wet tonne. A site can override any coefficient or factor in its config; an
override must name its own source (see :mod:`blueranch.models.carbon.config`), and the MRV report lists
the source actually used for every value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from blueranch import reference
from blueranch.models.carbon import kinds
from blueranch.models.carbon.kinds import SinkKind
from blueranch.models.carbon.method import Calcification

#: Citation of every row of carbon_coefficients.csv (from the file's header comment).
COEFFICIENTS_SOURCE = (
    "Sun Kang et al. 2020, Geographical Research (Dili Yanjiu) 39(11):2508, Table 2 "
    "(coefficients of Zhang Jihong, Yue Dongdong et al.); package file carbon_coefficients.csv"
)
EMISSION_FACTORS_FILE = "emission_factors.csv"
COEFFICIENTS_FILE = "carbon_coefficients.csv"
#: The coefficient columns of carbon_coefficients.csv (each kind's formula reads some of them).
COEFF_FIELDS = ("dry_wet_ratio", "tissue_fraction", "shell_fraction", "tissue_c", "shell_c", "algae_c")


@dataclass(frozen=True)
class GroupCoefficients:
    """Coefficients of one species group. Fractions are of dry weight; C contents are mass fractions."""

    kind: str
    group: str
    dry_wet_ratio: float
    tissue_fraction: float = 0.0
    shell_fraction: float = 0.0
    tissue_c: float = 0.0
    shell_c: float = 0.0
    algae_c: float = 0.0
    source: str = COEFFICIENTS_SOURCE

    @property
    def sink_kind(self) -> SinkKind:
        return kinds.get(self.kind)

    def values(self) -> dict[str, float]:
        """The coefficient columns by name (the mapping a kind's formula reads)."""
        return {f: getattr(self, f) for f in COEFF_FIELDS}

    @property
    def t_c_per_wet_t(self) -> float:
        """Total carbon per wet (live) tonne: shell and tissue for bivalves, thallus for algae."""
        return float(self.sink_kind.t_c_per_wet_t(self.values()))

    @property
    def shell_t_c_per_wet_t(self) -> float:
        """Shell (CaCO3) carbon per wet tonne; 0 for a kind without shell."""
        return float(self.sink_kind.shell_t_c_per_wet_t(self.values()))

    def creditable_t_c_per_wet_t(self, mode: Calcification, psi: float) -> float:
        """t C credited per wet t under a calcification mode (``deduct``: minus psi x shell carbon)."""
        return float(self.sink_kind.creditable_t_c_per_wet_t(self.values(), mode, psi))

    def with_values(self, source: str, **values: float) -> GroupCoefficients:
        return replace(self, source=source, **values)


#: What the packaged factors cover: the table's header says "value is kg CO2 per unit" (CO2 only: CH4 and
#: N2O of diesel combustion, about 0.3-1 % on top, are not included).
PACKAGED_FACTOR_GAS = "CO2"


@dataclass(frozen=True)
class EmissionFactor:
    """``kg_co2_per_unit`` kg of ``gas`` (CO2 only, or CO2e) per ``unit`` (litre of diesel, kWh of grid power)."""

    key: str
    unit: str
    kg_co2_per_unit: float
    vintage: str
    source: str
    gas: str = PACKAGED_FACTOR_GAS


def _f(value: str) -> float:
    return float(value) if value else 0.0


def _rows(name: str, tables: Mapping[str, str] | None) -> tuple[dict[str, str], ...]:
    """The packaged table, or the given text of it (a report package's copy)."""
    return reference.parse_rows(tables[name]) if tables and name in tables else reference.rows(name)


def load_coefficients(tables: Mapping[str, str] | None = None) -> dict[str, GroupCoefficients]:
    """Species groups by name (``mussel``, ``kelp``, ...) from the packaged table (or ``tables``' copy).

    A row's kind must be registered and its formula's columns filled in; an empty column it does not read is 0.
    """
    out: dict[str, GroupCoefficients] = {}
    for row in _rows(COEFFICIENTS_FILE, tables):
        try:
            kind = kinds.get(row["kind"])
        except KeyError as exc:
            raise ValueError(f"{COEFFICIENTS_FILE}: row {row['group']!r}: {exc.args[0]}") from None
        empty = [f for f in kind.fields if not row[f]]
        if empty:
            raise ValueError(f"{COEFFICIENTS_FILE}: row {row['group']!r} ({kind.name}) lacks {', '.join(empty)}")
        out[row["group"]] = GroupCoefficients(
            kind=kind.name, group=row["group"], **{f: _f(row[f]) for f in COEFF_FIELDS}
        )
    return out


def load_emission_factors(tables: Mapping[str, str] | None = None) -> dict[str, EmissionFactor]:
    """Emission factors by key (``diesel``, ``grid_china_national``, ...) from the packaged table."""
    return {
        row["source"]: EmissionFactor(
            key=row["source"],
            unit=row["unit"],
            kg_co2_per_unit=float(row["value"]),
            vintage=row["vintage"],
            source=f"{row['note']} ({row['vintage']}); package file {EMISSION_FACTORS_FILE}",
        )
        for row in _rows(EMISSION_FACTORS_FILE, tables)
    }


def groups_of(kind: str, coefficients: dict[str, GroupCoefficients]) -> list[str]:
    return sorted(g for g, c in coefficients.items() if c.kind == kind)
