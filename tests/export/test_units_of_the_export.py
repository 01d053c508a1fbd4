"""Pure parts of the export: times, pages, the metadata config, the registry's optional position fields."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueranch.contracts.errors import ContractError
from blueranch.contracts.query import counts, pages
from blueranch.export.config import ExportConfig, load_config, parse_config
from blueranch.export.times import iso, iso_duration, parse_time
from blueranch.ingest.registry import load_registry, parse_registry

MS_2000, MS_2100 = 946_684_800_000, 4_102_444_800_000


# -- times ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2026-11-01", 1_793_491_200_000),
        ("2026-11-01T08:00", 1_793_520_000_000),
        ("2026-11-01T08:00Z", 1_793_520_000_000),
        ("2026-11-01T16:00:00+08:00", 1_793_520_000_000),
        ("2026-11-01T08:00:00.250Z", 1_793_520_000_250),
    ],
)
def test_parse_time_reads_dates_and_zoned_times_naive_is_utc(text, ms):
    assert parse_time(text, "--from") == ms


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "2026-11-01T25:00", "1e12", "2026-11-01'; DROP"])
def test_parse_time_names_the_option_and_the_value(text):
    with pytest.raises(ValueError, match=r"^--to .* is not an ISO 8601 date or time"):
        parse_time(text, "--to")


@given(st.integers(MS_2000, MS_2100), st.sampled_from([UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")]))
def test_iso_round_trips_every_millisecond(ms, zone):
    text = iso(ms, zone)
    assert parse_time(text, "--from") == ms
    assert text.endswith("Z") == (zone is UTC)


@pytest.mark.parametrize(
    ("ms", "text"), [(0, "PT0S"), (60_000, "PT1M"), (90_061_500, "P1DT1H1M1.5S"), (86_400_000 * 365, "P365D")]
)
def test_iso_duration(ms, text):
    assert iso_duration(ms) == text


# -- pages and counts -------------------------------------------------------------------------------------


@given(st.integers(0, 10**13), st.integers(1, 10**9), st.integers(1, 2000))
def test_pages_cover_the_period_once_half_open(start, length, n):
    page = max(1, length // n)  # at most ~2000 pages
    spans = list(pages(start, start + length, page))
    assert spans[0].start_ms == start and spans[-1].end_ms == start + length
    assert all(not s.end_inclusive and 0 < s.end_ms - s.start_ms <= page for s in spans)
    assert all(a.end_ms == b.start_ms for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize(("start", "end", "page"), [(0, 10, 0), (0, 10, -1), (10, 0, 5), (0, 10, 1.5), (0.5, 10, 1)])
def test_pages_refuse_bad_bounds(start, end, page):
    with pytest.raises(ValueError):
        list(pages(start, end, page))


def test_counts_is_one_count_per_field_named_after_it():
    q = counts("water_quality", ("temp_c", "do_mg_l"), None, group_by=("device",))
    cols = 'count("temp_c") AS "temp_c", count("do_mg_l") AS "do_mg_l"'
    assert q.text == f'SELECT {cols} FROM "raw"."water_quality" GROUP BY "device"'
    with pytest.raises(KeyError):
        counts("water_quality", ("wind_speed_m_s",), None)


# -- the metadata config -----------------------------------------------------------------------------------


def test_defaults_are_valid_and_carry_no_contact():
    c = ExportConfig()
    assert c.creator is None and c.publisher is None and c.naming_authority is None and c.license == "CC-BY-4.0"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"licence": "CC0"}, "licence"),
        ({"creator": {"email": "not-an-address"}}, "creator.email"),
        ({"creator": {"sector": "pirates"}}, "creator.sector"),
        ({"publisher": {"url": "ftp://x"}}, "publisher.url"),
        ({"naming_authority": "not a domain"}, "naming_authority"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"platform": "moored buoy"}, "platform"),
        ({"variables": {"tempc": {"accuracy": 0.1}}}, "variables"),
        ({"variables": {"temp_c": {"accuracy": -1}}}, "variables.temp_c.accuracy"),
        ({"variables": {"temp_c": {"accuracy": float("nan")}}}, "variables.temp_c.accuracy"),
        ({"contributor": {"name": "x", "role": "boss"}}, "contributor.role"),
    ],
)
def test_config_errors_name_the_field(data, field):
    with pytest.raises(ContractError) as err:
        parse_config(data, "export.yaml")
    assert f"export.yaml: {field}" in str(err.value)


def test_config_file_refuses_duplicate_keys_and_unreadable_files(tmp_path):
    p = tmp_path / "export.yaml"
    p.write_text("license: CC0\nlicense: CC-BY-4.0\n")
    with pytest.raises(ContractError, match="'license' is given twice"):
        load_config(p)
    with pytest.raises(ContractError, match="cannot be read"):
        load_config(tmp_path / "missing.yaml")
    p.write_text("a: [1,\n")
    with pytest.raises(ContractError, match="is not valid YAML"):
        load_config(p)


def test_shipped_example_config_is_valid():
    from pathlib import Path

    c = load_config(Path(__file__).resolve().parents[2] / "deploy" / "blueranch" / "export.yaml")
    assert c.time_zone == "Asia/Shanghai"


# -- the registry's optional position -----------------------------------------------------------------------


def test_registry_takes_an_optional_position_and_depth():
    r = parse_registry({"devices": {"buoy-03": {"site": "dachen", "lat_deg": 28.45, "lon_deg": 121.9, "depth_m": 4}}})
    e = r.entry("buoy-03")
    assert (e.lat_deg, e.lon_deg, e.depth_m) == (28.45, 121.9, 4.0)
    assert parse_registry({"devices": {"b": {"site": "s"}}}).entry("b").lat_deg is None


@pytest.mark.parametrize(
    "extra",
    [
        {"lat_deg": 91, "lon_deg": 0},
        {"lat_deg": 0, "lon_deg": -181},
        {"lat_deg": float("nan"), "lon_deg": 0},
        {"lat_deg": 10},
        {"lon_deg": 10},
        {"depth_m": 100_000},
        {"lat_deg": "north", "lon_deg": 0},
    ],
)
def test_registry_refuses_impossible_positions(extra, tmp_path):
    p = tmp_path / "registry.yaml"
    import yaml

    p.write_text(yaml.safe_dump({"devices": {"buoy-03": {"site": "dachen", **extra}}}))
    with pytest.raises(ContractError, match=r"registry.yaml: devices\.buoy-03"):
        load_registry(p)


def test_iso_is_utc_for_utc():
    assert iso(0) == "1970-01-01T00:00:00.000Z"
    assert iso(0, ZoneInfo("Asia/Shanghai")) == "1970-01-01T08:00:00.000+08:00"
    assert datetime.fromisoformat(iso(1_793_520_000_250).replace("Z", "+00:00")).microsecond == 250_000
