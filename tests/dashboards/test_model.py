"""The typed Grafana model refuses what Grafana would silently ignore."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from blueranch.contracts.influx import MEASUREMENTS
from blueranch.contracts.query import Col, select
from blueranch.dashboards.common import Settings
from blueranch.dashboards.model import FieldDefaults, GridPos, Variable
from blueranch.dashboards.panels import Board, T
from blueranch.dashboards.units import grafana_unit


def test_misspelt_option_is_an_error():
    with pytest.raises(ValidationError, match="uint"):
        FieldDefaults(unit="volt", uint="volt")


def test_grid_and_variable_names_are_checked():
    with pytest.raises(ValidationError):
        GridPos(x=20, y=0, w=25, h=4)
    with pytest.raises(ValidationError, match="name"):
        Variable(type="query", name="Site Name", label="Site", query="SHOW TAG VALUES")


def test_a_panel_needs_a_target_and_gets_its_unit_from_the_contract():
    b = Board(Settings().datasource)
    with pytest.raises(ValueError, match="no target"):
        b.add("timeseries", "Empty")
    p = b.add("timeseries", "Oxygen", T(select("water_quality", Col("do_mg_l", "mean"))))
    assert p.fieldConfig.defaults.unit == "suffix: mg/L"


def test_the_board_wraps_rows_on_the_24_column_grid():
    b = Board(Settings().datasource)
    q = T(select("weather", Col("wave_height_m", "max")))
    first, second, third = (b.add("timeseries", f"p{i}", q, w=10, h=3) for i in range(3))
    assert (first.gridPos.x, second.gridPos.x, third.gridPos.x) == (0, 10, 0)
    assert third.gridPos.y == 3


def test_every_contract_field_has_a_grafana_unit():
    for m in MEASUREMENTS.values():
        for f in m.fields:
            if f.type in ("float", "integer"):
                assert grafana_unit(f)
