"""The query builder (blueranch.contracts.query) refuses anything the InfluxDB contract does not define."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueranch.contracts.influx import MEASUREMENTS, RETENTION_POLICIES
from blueranch.contracts.query import (
    DEFAULT_NAMING,
    TAG_VALUE_PATTERN,
    Between,
    Col,
    FieldCmp,
    Naming,
    Recent,
    TagCol,
    TagEq,
    TagNe,
    VarMatch,
    aggregate,
    latest,
    qc_fields,
    select,
    select_from,
    show_tag_values,
    window,
)
from blueranch.contracts.query.naming import naming_from_env

REPO = Path(__file__).resolve().parents[2]


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
    assert q.retention_policy == "raw"


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
        (lambda: latest("biomass_load", ("load",)), "has no field 'load'"),
        (lambda: window("weather", ("wave_height_m",), None, exclude_qc=(4,), tag_columns=("buoy",)), "no tag"),
        (lambda: window("device_status", ("online",), None, exclude_qc=(4,)), "has no field 'online_qc'"),
        (lambda: aggregate("energy", "sum", "kwh", None), "has no field 'kwh'"),
        (lambda: qc_fields("sonde"), "not in the contract"),
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
        (lambda: Col("online", "count", wrap="moving_average", wrap_arg="2) FROM x --"), "count or a duration"),
        (lambda: select("weather", Col("wave_height_m", "max"), time="1h), * --"), "interval must be"),
        (lambda: select("weather", Col("wave_height_m"), limit=0), "positive integer"),
        (lambda: select("weather", Col("wave_height_m"), limit="1; DROP"), "positive integer"),
        (lambda: FieldCmp("online", "=", float("nan")), "finite number"),
        (lambda: FieldCmp("online", "=", float("inf")), "finite number"),
        (lambda: FieldCmp("online", "=", "1 OR 1=1"), "finite number"),
        (lambda: FieldCmp("online", "; DROP", 1), "not a comparison"),
        (lambda: Between(), "a start or an end"),
        (lambda: Between("0ms OR 1=1", None), "integer of milliseconds"),
        (lambda: Between(1.5, None), "integer of milliseconds"),
        (lambda: Recent("30d; DROP DATABASE x"), "must look like"),
        (lambda: Recent("0d"), "must look like"),
        (lambda: aggregate("weather", "max", "wave_height_m", None, every="1d"), "needs a span"),
        (lambda: latest("weather", ()), "at least one field"),
        (lambda: window("weather", (), None), "at least one field"),
        (lambda: Naming("db:rp"), "naming style"),
    ],
)
def test_bad_values_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_outer_query_names_only_inner_outputs():
    inner = select("alerts", Col("open", "last", "open"), group_by=("device",))
    outer = select_from(inner, Col("open", "sum"), span=Recent("30m"))
    assert outer.text == (
        'SELECT sum("open") FROM (SELECT last("open") AS "open" FROM "derived"."alerts" WHERE $timeFilter '
        'GROUP BY "device") WHERE time > now() - 30m'
    )
    with pytest.raises(KeyError, match="not an output"):
        select_from(inner, Col("value", "sum"))


def test_tag_not_equal_is_validated_like_equal():
    q = select("carbon_budget", Col("sinks_t_co2e", "last"), where=(TagNe("key", "source"),))
    assert "\"key\" != 'source'" in q.text
    with pytest.raises(ValueError, match="not one of"):
        select("carbon_budget", Col("value"), where=(TagNe("scope", "galaxy"),))


# ------------------------------------------------------------------ tag values given at run time


@pytest.mark.parametrize(
    "value",
    [
        "dachen' OR '1'='1",  # closes the string literal
        "dachen\\",  # escapes the closing quote
        "dachen\n; DROP DATABASE blueranch",
        'da"chen',
        "da chen",
        "dachen/*",
        "(a|b)",  # a regex where a literal is expected
        "",
        "x" * 129,
        "大陈",  # not ASCII: never an id of the contract
    ],
)
def test_a_hostile_tag_value_is_refused_before_any_query_is_built(value):
    with pytest.raises(ValueError, match="must match"):
        TagEq("site", value)
    with pytest.raises(ValueError, match="must match"):
        TagNe("site", value)


def test_a_tag_value_must_be_a_string():
    with pytest.raises(ValueError, match="must be a string"):
        TagEq("site", 7)


@given(st.text(max_size=40))
def test_any_site_id_is_either_refused_or_a_plain_literal(value):
    """Whatever a config holds, the rendered condition is ``"site" = '<id alphabet only>'`` or nothing."""
    try:
        cond = TagEq("site", value).render()
    except ValueError:
        assert not re.fullmatch(TAG_VALUE_PATTERN.strip("^$"), value)
        return
    assert cond == f"\"site\" = '{value}'"
    assert re.fullmatch(r"[A-Za-z0-9_.\-]{1,128}", value)


def test_enumerated_tags_accept_exactly_the_contract_values():
    for value in ("site", "farm", "category", "asset"):
        assert TagEq("scope", value).render() == f"\"scope\" = '{value}'"
    with pytest.raises(ValueError, match="not one of"):
        TagEq("severity", "fatal")


# ------------------------------------------------------------------ typed reads


def test_latest_names_each_column_after_its_field():
    q = latest("biomass_load", ("load_kg",), span=Between(None, 1000), where=(TagEq("site", "dachen"),))
    assert q.text == (
        'SELECT last("load_kg") AS "load_kg" FROM "raw"."biomass_load" WHERE "site" = \'dachen\' AND time <= 1000ms'
    )
    assert q.outputs == ("load_kg",)


def test_window_leaves_out_flags_per_field():
    q = window("position", ("lat_deg", "lon_deg"), Between(0, 10), group_by=("site", "device"), exclude_qc=(4, 9))
    assert q.text == (
        'SELECT "lat_deg", "lon_deg" FROM "raw"."position" WHERE "lat_deg_qc" != 4 AND "lat_deg_qc" != 9 AND '
        '"lon_deg_qc" != 4 AND "lon_deg_qc" != 9 AND time >= 0ms AND time <= 10ms GROUP BY "site", "device"'
    )
    assert window("ingest_errors", ("topic",), None, tag_columns=("reason",)).text == (
        'SELECT "topic", "reason"::tag FROM "ops"."ingest_errors"'
    )


def test_aggregate_per_interval_and_over_a_period():
    q = aggregate(
        "energy",
        "count",
        "grid_kwh_total",
        Between(0, 86_400_000, end_inclusive=False),
        every="1d",
        where=(TagEq("site", "dachen"),),
        group_by=("device", "sensor"),
    )
    assert q.text == (
        'SELECT count("grid_kwh_total") AS "grid_kwh_total" FROM "raw"."energy" WHERE "site" = \'dachen\' AND '
        'time >= 0ms AND time < 86400000ms GROUP BY time(1d), "device", "sensor" fill(none)'
    )
    assert aggregate("water_quality", "count", "do_mg_l", None).text == (
        'SELECT count("do_mg_l") AS "do_mg_l" FROM "raw"."water_quality"'
    )


def test_qc_fields_are_the_flag_fields_of_the_contract():
    assert qc_fields("biomass_load") == ("load_kg_qc",)
    assert qc_fields("device_status") == ()
    for name, m in MEASUREMENTS.items():
        if "sensor" in m.tags:
            assert len(qc_fields(name)) * 2 == len(m.fields)


# ------------------------------------------------------------------ naming: the one place a measurement is qualified


def test_the_default_naming_is_influxdb_1x():
    m = MEASUREMENTS["carbon_budget"]
    assert DEFAULT_NAMING.source(m) == '"derived"."carbon_budget"'
    assert DEFAULT_NAMING.database("blueranch", "derived") == "blueranch"


def test_influxdb_3_naming_reads_a_database_per_policy():
    v3 = Naming("db/rp")
    q = latest("carbon_budget", ("value",), where=(TagEq("scope", "site"),))
    assert q.render(v3) == 'SELECT last("value") AS "value" FROM "carbon_budget" WHERE "scope" = \'site\''
    assert v3.database("blueranch", q.retention_policy) == "blueranch/derived"
    inner = select("alerts", Col("open", "last", "open"), group_by=("device",))
    assert 'FROM (SELECT last("open") AS "open" FROM "alerts" ' in select_from(inner, Col("open", "sum")).render(v3)
    assert show_tag_values("weather", "site").render(v3) == 'SHOW TAG VALUES FROM "weather" WITH KEY = "site"'
    assert v3.databases("blueranch") == ["blueranch/raw", "blueranch/derived", "blueranch/ops"]
    assert v3.write_target("blueranch", "ops") == ("blueranch/ops", None)
    assert v3.write_target("blueranch", None) == ("blueranch/raw", None)  # the contract's default policy
    assert DEFAULT_NAMING.write_target("blueranch", "ops") == ("blueranch", "ops")
    # on a 1.x server (which refuses "/" in a name) the style is exercised with another separator
    stmts = Naming("db/rp", "-").create_statements("b")
    assert stmts[0] == (
        'CREATE DATABASE "b-raw" WITH DURATION 730d REPLICATION 1 NAME "autogen"',
        'ALTER RETENTION POLICY "autogen" ON "b-raw" DURATION 730d REPLICATION 1',
    )
    assert not any("RETENTION POLICY" in create for create, _ in stmts)


@pytest.mark.parametrize(
    ("env", "expect"),
    [
        ({}, Naming()),
        ({"BLUERANCH_INFLUX_NAMING": "db/rp"}, Naming("db/rp")),
        ({"BLUERANCH_INFLUX_NAMING": "db/rp", "BLUERANCH_INFLUX_NAMING_SEPARATOR": "-"}, Naming("db/rp", "-")),
        ({"BLUERANCH_INFLUX_NAMING": "db:rp"}, "BLUERANCH_INFLUX_NAMING='db:rp' is not one of db.rp, db/rp"),
        ({"BLUERANCH_INFLUX_NAMING_SEPARATOR": "."}, "BLUERANCH_INFLUX_NAMING_SEPARATOR='.'"),
    ],
)
def test_the_naming_is_one_setting_of_the_environment(env, expect):
    if isinstance(expect, Naming):
        assert naming_from_env(env) == expect
    else:
        with pytest.raises(ValueError, match=re.escape(expect)):
            naming_from_env(env)


def test_create_statements_name_every_policy_of_the_contract():
    stmts = DEFAULT_NAMING.create_statements('odd"name')
    assert stmts[0] == ('CREATE DATABASE "odd\\"name"', None)
    assert len(stmts) == 1 + len(RETENTION_POLICIES)
    spec = '"raw" ON "odd\\"name" DURATION 730d REPLICATION 1 DEFAULT'
    assert (f"CREATE RETENTION POLICY {spec}", f"ALTER RETENTION POLICY {spec}") in stmts


# ------------------------------------------------------------------ one reader: no InfluxQL elsewhere

#: Production packages, and the only files in them that may hold query text (the builder; SQLite stores).
_PRODUCTION = ("blueranch", "edge", "ingest", "models", "dashboards", "firmware_sim")
_ALLOWED = {"blueranch/contracts/query/builder.py", "blueranch/contracts/query/naming.py"}
_SQLITE = {"edge/buffer.py", "models/alerts/store.py", "models/carbon/ledger.py"}
#: user administration, not queries: the InfluxDB users 'blueranch deploy init' writes into the database's init
#: script (CREATE USER / GRANT; the query builder has no user statements)
_USER_ADMIN = {"blueranch/deploy/init.py"}
_QUERY_TEXT = re.compile(r"\b(SELECT|SHOW|CREATE|DROP|ALTER|DELETE)\s+[A-Z*\"/(]")


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_influxql_is_written_only_in_the_query_builder():
    found = []
    for top in _PRODUCTION:
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel in _ALLOWED | _SQLITE | _USER_ADMIN or "/build/" in rel:
                continue
            for lineno, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
                if _QUERY_TEXT.search(text):
                    found.append(f"{rel}:{lineno}: {text[:60]!r}")
    assert not found, "InfluxQL outside blueranch/contracts/query:\n" + "\n".join(found)
