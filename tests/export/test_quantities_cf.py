"""The quantity table's CF columns, checked against the CF standard name table and UDUNITS.

The table is the one bundled with the IOOS compliance checker (a test dependency; v93, CEDA 2026-03-17,
when the names were chosen); units are parsed by cf-units (UDUNITS-2), the checker's own unit library.
"""

from __future__ import annotations

import cf_units
import pytest
from compliance_checker.cf.util import StandardNameTable

from blueranch.contracts.quantities import CF_STANDARD_NAME_TABLE_VERSION, QUANTITIES
from blueranch.export.metadata import FILL_VALUE

#: Contract units UDUNITS reads as something else, or not at all: "pH" is picohenry, "m2/nmi2" has
#: nano-miles, "kWh" and "kn" are unknown, "deg" is not an angle, PSU and NTU are scale names.
UDUNITS_MISREADS = {"pH", "m2/nmi2", "kWh", "kn", "deg", "PSU", "NTU"}


@pytest.fixture(scope="module")
def table() -> StandardNameTable:
    return StandardNameTable()


def test_the_bundled_table_is_the_checked_one_or_newer(table):
    assert int(table._version) >= CF_STANDARD_NAME_TABLE_VERSION


@pytest.mark.parametrize("q", [q for q in QUANTITIES.values() if q.standard_name], ids=lambda q: q.name)
def test_standard_name_is_in_the_table_and_units_convert_to_its_canonical_units(table, q):
    assert q.standard_name in table, f"{q.name}: {q.standard_name} is not a CF standard name"
    canonical = cf_units.Unit(table[q.standard_name].canonical_units)
    assert cf_units.Unit(q.cf_units).is_convertible(canonical), (q.name, q.cf_units, canonical)


@pytest.mark.parametrize("q", list(QUANTITIES.values()), ids=lambda q: q.name)
def test_cf_units_is_udunits_and_the_same_unit_as_the_contract_unit(q):
    u = cf_units.Unit(q.cf_units)
    assert not u.is_unknown(), q.cf_units
    if q.unit not in UDUNITS_MISREADS and q.unit not in ("count",):
        # values are exported as stored: the UDUNITS spelling must not change their scale
        assert cf_units.Unit(q.unit).convert(1.0, u) == pytest.approx(1.0, rel=1e-12), (q.unit, q.cf_units)


def test_misread_units_have_their_meaning():
    by_unit = {q.unit: q.cf_units for q in QUANTITIES.values()}
    assert cf_units.Unit(by_unit["kn"]).convert(1.0, "m s-1") == pytest.approx(1852 / 3600)
    assert cf_units.Unit(by_unit["kWh"]).convert(1.0, "J") == pytest.approx(3.6e6)
    assert cf_units.Unit(by_unit["m2/nmi2"]).convert(1.0, "1") == pytest.approx(1 / 1852**2)
    assert by_unit["deg"] == "degree" and by_unit["pH"] == "1" and by_unit["PSU"] == "1" and by_unit["NTU"] == "1"


def test_fill_value_lies_outside_every_physical_range():
    for q in QUANTITIES.values():
        assert not q.gross_min <= FILL_VALUE <= q.gross_max, q.name
