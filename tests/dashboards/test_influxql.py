"""The query builder refuses anything the InfluxDB contract does not define."""

from __future__ import annotations

import pytest

from blueranch.contracts.influx import MEASUREMENTS
from blueranch.dashboards.influxql import (
    Col,
    FieldCmp,
    TagCol,
    TagEq,
    TagNe,
    VarMatch,
    select,
    select_from,
    show_tag_values,
)
from blueranch.dashboards.units import grafana_unit


def test_a_contract_query():
    q = select(
        "water_quality",
        Col("do_mg_l", "mean"),
        where=(VarMatch("site", "site"),),
        time="$__interval",
        group_by=("device",),
        fill="none",
    )
    assert q.text == (
        'SELECT mean("do_mg_l") FROM "raw"."water_quality" WHERE "site" =~ /^$site$/ AND '
        '$timeFilter GROUP BY time($__interval), "device" fill(none)'
    )
    assert q.fields == ("do_mg_l",)


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: select("water_quality", Col("dissolved_oxygen")), "has no field 'dissolved_oxygen'"),
        (lambda: select("waterquality", Col("do_mg_l")), "measurement 'waterquality' is not in the contract"),
        (lambda: select("water_quality", Col("do_mg_l"), group_by=("buoy",)), "has no tag 'buoy'"),
        (lambda: select("water_quality", Col("do_mg_l"), where=(VarMatch("kind", "k"),)), "has no tag 'kind'"),
        (lambda: select("water_quality", Col("do_mg_l"), where=(FieldCmp("o2", ">", 1),)), "has no field 'o2'"),
        (lambda: select("alerts", Col("open"), TagCol("colour")), "has no tag 'colour'"),
        (lambda: show_tag_values("weather", "farmer"), "has no tag 'farmer'"),
    ],
)
def test_unknown_names_are_refused(build, message):
    with pytest.raises(KeyError, match=message):
        build()


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: select("carbon_budget", Col("value"), where=(TagEq("scope", "planet"),)), "not one of"),
        (lambda: select("carbon_budget", Col("value"), where=(TagEq("key", "x' OR 1=1"),)), "must match"),
        (lambda: select("weather", Col("wave_height_m", "drop table")), "not allowed"),
        (lambda: select("weather", Col("wave_height_m", "max"), fill="7; DROP"), "not an InfluxQL fill"),
        (lambda: select("weather", Col("wave_height_m"), where=(VarMatch("site", "s$"),)), "variable name"),
        (lambda: select("weather", Col("wave_height_m", None, wrap="non_negative_difference")), "needs an aggregation"),
    ],
)
def test_bad_values_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_outer_query_names_only_inner_outputs():
    inner = select("alerts", Col("open", "last", "open"), group_by=("device",))
    assert "FROM (SELECT" in select_from(inner, Col("open", "sum")).text
    with pytest.raises(KeyError, match="not an output"):
        select_from(inner, Col("value", "sum"))


def test_every_contract_field_has_a_grafana_unit():
    for m in MEASUREMENTS.values():
        for f in m.fields:
            if f.type in ("float", "integer"):
                assert grafana_unit(f)


def test_tag_not_equal_is_validated_like_equal():
    q = select("carbon_budget", Col("sinks_t_co2e", "last"), where=(TagNe("key", "source"),))
    assert "\"key\" != 'source'" in q.text
    with pytest.raises(ValueError, match="not one of"):
        select("carbon_budget", Col("value"), where=(TagNe("scope", "galaxy"),))
