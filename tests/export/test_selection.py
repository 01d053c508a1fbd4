"""Selections on synthetic contract points in the real InfluxDB: variable names, positions, pages, flags, and
the command's one-line errors (exit 2 for bad input, 1 for an unreachable database)."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from blueranch.cli import main
from blueranch.contracts.influx import Point
from blueranch.contracts.lineprotocol import lines
from blueranch.contracts.qc import QcFlag
from blueranch.export.catalog import ExportError, Selection, build_catalog
from blueranch.export.frames import frames
from blueranch.export.times import iso
from blueranch.ingest.registry import parse_registry
from blueranch.reader import Reader
from blueranch.testing.alerts_synthetic import DAY_MS, HOUR_MS, MIN_MS, T0_MS, write_series

pytestmark = pytest.mark.integration
END_MS = T0_MS + DAY_MS


@pytest.fixture
def farm(influx):
    t = np.arange(T0_MS, T0_MS + 6 * HOUR_MS, 10 * MIN_MS)
    n = len(t)
    # buoy-01: a sonde whose flags vary, a GPS with one failed fix far away, and the payload's position
    for i, qc in enumerate((4, 1, 3)):
        write_series(influx, "dachen", "buoy-01", t[i::3], {"temp_c": 20.0 + t[i::3] / 1e13}, "sonde", qc=qc)
    write_series(influx, "dachen", "buoy-01", t, {"lat_deg": np.full(n, 28.45), "lon_deg": np.full(n, 121.89)}, "gps")
    write_series(influx, "dachen", "buoy-01", t[:1] + 1, {"lat_deg": [10.0], "lon_deg": [10.0]}, "gps", qc=4)
    write_series(influx, "dachen", "buoy-01", t, {"lat_deg": np.full(n, 1.0), "lon_deg": np.full(n, 1.0)}, "payload")
    # gw-01: two load cells (no standard name: only when asked for), registry position
    write_series(influx, "dachen", "gw-01", t, {"load_kg": np.full(n, 800.0)}, "lc-m2-01", asset="m2-ll-01")
    write_series(influx, "dachen", "gw-01", t, {"load_kg": np.full(n, 900.0)}, "lc-m2-02", asset="m2-ll-02")
    write_series(influx, "dachen", "gw-01", t, {"temp_c": np.full(n, 21.0)}, "sonde-g")
    # another site, never exported with dachen
    write_series(influx, "other", "buoy-01", t, {"temp_c": np.full(n, 5.0)}, "sonde")
    return influx


REGISTRY = parse_registry(
    {"devices": {"gw-01": {"site": "dachen", "lat_deg": 28.5, "lon_deg": 121.95, "depth_m": 0.5}}}
)


def test_gps_fixes_give_the_position_failed_fixes_and_the_payload_copy_do_not(farm):
    cat = build_catalog(Reader(farm), Selection("dachen", T0_MS, END_MS), REGISTRY)
    b1, gw = cat.stations
    assert (b1.device, gw.device) == ("buoy-01", "gw-01")
    assert (b1.position.lat_deg, b1.position.lon_deg, b1.position.lat_min) == (28.45, 121.89, 28.45)
    assert "GPS sensor gps" in b1.position.source and b1.depth_m is None
    assert (gw.position.lat_deg, gw.position.lon_deg, gw.depth_m) == (28.5, 121.95, 0.5)
    assert [c.name for c in b1.columns] == ["temp_c"] and [c.name for c in gw.columns] == ["temp_c"]


def test_two_sensors_of_one_quantity_get_one_variable_each(farm):
    sel = Selection("dachen", T0_MS, END_MS, devices=("gw-01",), quantities=("load_kg",))
    [gw] = build_catalog(Reader(farm), sel, REGISTRY).stations
    assert [(c.name, c.sensor, c.readings) for c in gw.columns] == [
        ("load_kg_lc_m2_01", "lc-m2-01", 36),
        ("load_kg_lc_m2_02", "lc-m2-02", 36),
    ]


@pytest.mark.parametrize("page_ms", [HOUR_MS, 10 * MIN_MS, 7 * MIN_MS, DAY_MS])
def test_pages_return_every_reading_once_with_its_flag(farm, page_ms):
    sel = Selection("dachen", T0_MS, END_MS, devices=("buoy-01",))
    [b1] = build_catalog(Reader(farm), sel).stations
    got = [f for _, f in frames(Reader(farm), sel, b1, page_ms)]
    times = np.concatenate([f.time_ms for f in got])
    flags = np.concatenate([f.flags["temp_c"] for f in got])
    values = np.concatenate([f.values["temp_c"] for f in got])
    t = np.arange(T0_MS, T0_MS + 6 * HOUR_MS, 10 * MIN_MS)
    assert np.array_equal(times, t)  # readings exactly on page boundaries come once
    assert list(flags[:3]) == [QcFlag.FAIL, QcFlag.GOOD, QcFlag.SUSPECT]
    assert np.array_equal(values, 20.0 + t / 1e13)


def test_a_reading_stored_without_a_flag_is_not_evaluated_and_no_reading_is_missing(influx):
    influx.write(lines([Point("water_quality", {"site": "s", "device": "d", "sensor": "x"}, {"ph": 8.1}, T0_MS)]))
    write_series(influx, "s", "d", [T0_MS + 1], {"temp_c": [20.0]}, "x")
    reg = parse_registry({"devices": {"d": {"site": "s", "lat_deg": 1, "lon_deg": 2}}})
    sel = Selection("s", T0_MS, END_MS)
    [d] = build_catalog(Reader(influx), sel, reg).stations
    [(_, f)] = list(frames(Reader(influx), sel, d))
    assert list(f.time_ms) == [T0_MS, T0_MS + 1]
    assert list(f.flags["ph"]) == [QcFlag.NOT_EVALUATED, QcFlag.MISSING]
    assert list(f.flags["temp_c"]) == [QcFlag.MISSING, QcFlag.GOOD]
    assert np.isnan(f.values["ph"][1]) and f.values["ph"][0] == 8.1


@pytest.mark.parametrize(
    ("sel", "message"),
    [
        (dict(devices=("buoy-09",)), "device buoy-09 has no readings"),
        (dict(quantities=("wind_speed_m_s",)), "nothing to export: no readings of wind_speed_m_s"),
    ],
)
def test_empty_selections_say_what_is_missing(farm, sel, message):
    with pytest.raises(ExportError, match=message):
        build_catalog(Reader(farm), Selection("dachen", T0_MS, END_MS, **sel), REGISTRY)


def test_a_station_without_position_is_refused_naming_the_fix(farm):
    with pytest.raises(ExportError, match=r"station 'gw-01' has no position: .* lat_deg/lon_deg in its entry"):
        build_catalog(Reader(farm), Selection("dachen", T0_MS, END_MS))


# -- the command ----------------------------------------------------------------------------------------------


def _run(*args: str):
    return CliRunner().invoke(main, ["export", *args])


def _base(influx, tmp_path, **over) -> list[str]:
    opts = {
        "--site": "dachen",
        "--from": iso(T0_MS),
        "--to": iso(END_MS),
        "--out": str(tmp_path / "out"),
        "--influx": influx.url,
        "--database": influx.database,
        **over,
    }
    return [x for k, v in opts.items() if v is not None for x in (k, v)]


def _one_line_error(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    text = result.output.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    for n in needles:
        assert n in text, text


@pytest.mark.parametrize(
    ("over", "needles"),
    [
        ({"--from": "yesterday"}, ("--from 'yesterday' is not an ISO 8601",)),
        ({"--to": iso(T0_MS - 1)}, ("--to", "must be after --from")),
        ({"--site": "dachen' OR 1=1"}, ("tag 'site' value", "must match")),
        ({"--quantity": "temp"}, ("--quantity 'temp' is not a quantity",)),
        ({"--quantity": "lat_deg"}, ("station's coordinates",)),
        ({"--device": "buoy-09"}, ("device buoy-09 has no readings",)),
    ],
)
def test_bad_input_is_one_line_exit_2(farm, tmp_path, over, needles):
    _one_line_error(_run("netcdf", *_base(farm, tmp_path, **over)), 2, *needles)


def test_bad_config_and_registry_are_one_line_exit_2(farm, tmp_path):
    (tmp_path / "c.yaml").write_text("licence: CC0\n")
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"devices": {"gw-01": {"site": "dachen", "lat_deg": 95}}}))
    args = _base(farm, tmp_path, **{"--config": str(tmp_path / "c.yaml")})
    _one_line_error(_run("csv", *args), 2, "c.yaml: licence", "unknown keys are errors")
    args = _base(farm, tmp_path, **{"--registry": str(tmp_path / "r.yaml")})
    _one_line_error(_run("netcdf", *args), 2, "r.yaml: devices.gw-01.lat_deg")


def test_unreachable_database_is_one_line_exit_1(tmp_path):
    from blueranch.testing.services import free_port

    class Nowhere:
        url, database = f"http://127.0.0.1:{free_port()}", "x"

    _one_line_error(_run("netcdf", *_base(Nowhere, tmp_path)), 1, "InfluxDB unreachable")


def test_progress_bar_on_request_and_files_named_in_the_output(farm, tmp_path):
    reg = tmp_path / "r.yaml"
    reg.write_text(yaml.safe_dump({"devices": {"gw-01": {"site": "dachen", "lat_deg": 28.5, "lon_deg": 121.95}}}))
    args = _base(farm, tmp_path, **{"--registry": str(reg), "--quantity": "load_kg"})
    result = _run("netcdf", *args, "--progress", "--chunk-hours", "1")
    assert result.exit_code == 0, result.output
    assert "exporting" in result.output
    [path] = (tmp_path / "out").glob("*.nc")
    assert f"{path}  36 rows" in result.output  # two load cells read at the same times
    assert not list((tmp_path / "out").glob("*.partial"))
    with netCDF4.Dataset(path) as ds:
        assert ds["load_kg_lc_m2_01"].blueranch_sensor == "lc-m2-01"
        assert "standard_name" not in ds["load_kg_lc_m2_01"].ncattrs()
        assert float(ds["load_kg_lc_m2_02"][0]) == 900.0


def test_erddap_without_exported_files_is_one_line_exit_2(tmp_path):
    _one_line_error(_run("erddap", "--out", str(tmp_path)), 2, "holds no NetCDF file exported")


def test_an_output_folder_that_cannot_be_made_is_one_line_exit_1(farm, tmp_path):
    (tmp_path / "file").write_text("")
    args = _base(farm, tmp_path, **{"--out": str(tmp_path / "file" / "out"), "--device": "buoy-01"})
    _one_line_error(_run("csv", *args), 1, "cannot write to")
