"""Files exported from data that went through the real pipeline (tests/export/conftest.py): the IOOS
compliance checker accepts them (CF 1.8, ACDD 1.3, IOOS 1.2), and every value and flag read back from the
NetCDF and the CSV is the one in InfluxDB; the ERDDAP fragment is well-formed and names every variable.

The expected readings come from InfluxDB with this test's own ``SELECT *``, not the exporter's queries.
The checker runs in this process, offline: the files name the CF standard name table the checker bundles
(v93), and a download of any other table is refused (docs/export.md, "Compliance").
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import netCDF4
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from blueranch.cli import main
from blueranch.contracts.qc import QcFlag
from blueranch.export.catalog import DEFAULT_QUANTITIES
from blueranch.export.metadata import FILL_VALUE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONTACT = {
    "naming_authority": "org.example.dachen",
    "info_url": "https://example.org/dachen/data",
    "creator": {
        "name": "Dachen marine ranch data team",
        "email": "data@example.org",
        "url": "https://example.org/dachen",
        "institution": "Dachen Marine Ranch (example)",
        "type": "institution",
        "sector": "industry",
        "country": "China",
        "address": "1 Harbour Road",
        "city": "Taizhou",
        "state": "Zhejiang",
        "postalcode": "318000",
        "phone": "+86 576 0000 0000",
    },
    "publisher": {
        "name": "Dachen data office",
        "email": "publisher@example.org",
        "url": "https://example.org/dachen/publisher",
        "institution": "Dachen Marine Ranch (example)",
        "type": "institution",
        "country": "China",
        "address": "1 Harbour Road",
        "city": "Taizhou",
        "state": "Zhejiang",
        "postalcode": "318000",
        "phone": "+86 576 0000 0001",
    },
    "contributor": {
        "name": "Field team",
        "role": "originator",
        "email": "field@example.org",
        "url": "https://example.org/dachen/field",
    },
}
#: What the site knows besides its contacts: its instruments and their datasheet figures (test values).
SITE = {
    "institution": "Dachen Marine Ranch (example)",
    "instrument": "multiparameter sonde, GPS receiver, marine weather station",
    "time_zone": "Asia/Shanghai",
    "variables": {q: {"accuracy": 0.1, "precision": 0.01, "resolution": 0.01} for q in DEFAULT_QUANTITIES},
}
#: IOOS 1.2 checks that fail exactly when the site config has no contact (docs/export.md).
CONTACT_CHECKS = {
    "creator_country",
    "creator_email",
    "creator_institution",
    "creator_sector",
    "creator_url",
    "creator_address",
    "creator_city",
    "creator_name",
    "creator_phone",
    "creator_postalcode",
    "creator_state",
    "publisher_country",
    "publisher_email",
    "publisher_institution",
    "publisher_url",
    "publisher_address",
    "publisher_city",
    "publisher_name",
    "publisher_phone",
    "publisher_postalcode",
    "publisher_state",
    "contributor_email",
    "contributor_name",
    "contributor_role",
    "contributor_role_vocabulary",
    "contributor_url",
    "infoUrl",
    "naming_authority",
}
#: compliance-checker 6.1 fails this IOOS check on every file, by design: it lists the variables that
#: qualify for NDBC/GTS ingest (its docstring: "This check will always fail").
ALWAYS_FAILS = {"NDBC/GTS Ingest Requirements"}
_CONTACT_ATTR = re.compile(r"\b(creator_\w+|publisher_\w+|contributor_\w+|naming_authority|infoUrl)\b")


# -- helpers ------------------------------------------------------------------------------------------------


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _config(path: Path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _failures(path: Path, test: str, lowest: int = 2) -> list[tuple[int, str, list[str]]]:
    """(priority, check name, messages) of every failed check of ``test`` on the file, from priority
    ``lowest`` up (3 high, 2 medium: what the checker reports by default; 1 low: ACDD's "suggested")."""
    from compliance_checker.runner import CheckSuite

    suite = CheckSuite()
    suite.load_all_available_checkers()
    ds = suite.load_dataset(str(path))
    try:
        groups, errors = suite.run_all(ds, [test], skip_checks=[])[test]
    finally:
        ds.close()
    assert not errors, f"{test} checks raised: {errors}"
    return [
        (g.weight, g.name, list(g.msgs))
        for g in groups
        if g.weight >= lowest and g.value[1] and g.value[0] < g.value[1]
    ]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """The checker may only use its bundled standard name table (no network here, nor in CI)."""
    import compliance_checker.cf.util as util

    def refuse(version, location=None):
        raise RuntimeError(f"test is offline: will not download CF standard name table {version}")

    monkeypatch.setattr(util, "download_cf_standard_name_table", refuse)


def _influx_readings(ranch) -> dict[tuple[str, str, int], tuple[float, int, str]]:
    """(device, quantity, time_ms) -> (value, flag, sensor) of every reading of the exported quantities."""
    out: dict[tuple[str, str, int], tuple[float, int, str]] = {}
    for m in ("water_quality", "weather", "position"):
        for s in ranch.influx.query(f'SELECT * FROM "raw"."{m}" WHERE "site" = \'dachen\''):
            for row in s.rows():
                for q in DEFAULT_QUANTITIES:
                    if row.get(q) is not None:
                        key = (row["device"], q, int(row["time"]))
                        assert key not in out, f"two sensors of {key[0]} report {q}: the test keys by quantity"
                        out[key] = (row[q], row[q + "_qc"], row["sensor"])
    assert out
    return out


def _netcdf_readings(paths: list[Path]) -> dict[tuple[str, str, int], tuple[float, int, str | None]]:
    out: dict[tuple[str, str, int], tuple[float, int, str | None]] = {}
    for path in paths:
        with netCDF4.Dataset(path) as ds:
            ds.set_auto_mask(False)
            stations = list(ds["station"][:])
            sizes = ds["row_size"][:]
            times = np.round(ds["time"][:] * 1000).astype(np.int64)
            starts = np.concatenate([[0], np.cumsum(sizes)])
            for name, v in ds.variables.items():
                if getattr(v, "ancillary_variables", None) is None:
                    continue
                values, flags = v[:], ds[name + "_qc"][:]
                q, sensor = v.blueranch_quantity, getattr(v, "blueranch_sensor", None)
                for i, device in enumerate(stations):
                    for k in range(starts[i], starts[i + 1]):
                        if values[k] == FILL_VALUE:
                            assert flags[k] == QcFlag.MISSING, (path.name, name, k)
                            continue
                        out[(device, q, int(times[k]))] = (float(values[k]), int(flags[k]), sensor)
    return out


def _csv_readings(path: Path) -> dict[tuple[str, str, int], tuple[float, int]]:
    out: dict[tuple[str, str, int], tuple[float, int]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        head = next(rows)
        columns = [(i, h.split(" (")[0]) for i, h in enumerate(head) if i > 2 and not h.endswith("_qc")]
        for row in rows:
            t = round(datetime.fromisoformat(row[0].replace("Z", "+00:00")).timestamp() * 1000)
            for i, name in columns:
                if row[i] == "":
                    assert row[i + 1] == "", (row, name)
                    continue
                out[(row[2], name, t)] = (float(row[i]), int(row[i + 1]))
    return out


# -- the exports ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(ranch, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("exported")
    full = _config(d / "full.yaml", {**SITE, **CONTACT})
    no_contact = _config(d / "site.yaml", SITE)
    args = ranch.export_args()
    _cli("export", "netcdf", *args, "--config", full, "--out", str(d / "full"))
    _cli("export", "netcdf", *args, "--config", no_contact, "--out", str(d / "no_contact"))
    _cli("export", "netcdf", *args, "--config", full, "--out", str(d / "chunked"), "--chunk-hours", "0.01")
    _cli("export", "netcdf", *args, "--config", full, "--out", str(d / "multi"), "--multi-station")
    _cli("export", "csv", *args, "--config", full, "--out", str(d / "csv_utc"))
    _cli("export", "csv", *args, "--config", full, "--out", str(d / "csv_local"), "--time", "local")
    return {k: d / k for k in ("full", "no_contact", "chunked", "multi", "csv_utc", "csv_local")}


def _nc(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.nc"))


def test_one_file_per_buoy_with_positions_from_gps_and_registry(exported, ranch):
    files = _nc(exported["full"])
    assert [p.name.split("_")[1] for p in files] == ["buoy-01", "buoy-03"]
    with netCDF4.Dataset(files[0]) as b1, netCDF4.Dataset(files[1]) as b3:
        assert "GPS sensor gps-1" in b1["latitude"].comment
        assert b3["latitude"][0] == 28.4521 and b3["longitude"][0] == 121.8974
        assert "registry" in b3["latitude"].comment
        assert b1["depth"][0] == 3.0 and b3["depth"][0] == 4.0
        assert {"wind_speed_m_s", "temp_c", "do_mg_l"} <= set(b1.variables)
        assert "wind_speed_m_s" not in b3.variables and "temp_c" in b3.variables
        assert b1["temp_c"].standard_name == "sea_water_temperature" and b1["temp_c"].units == "degree_Celsius"
        assert b1["temp_c"].ancillary_variables == "temp_c_qc"
        assert list(b1["temp_c_qc"].flag_values) == [1, 2, 3, 4, 9]
        assert b1["temp_c_qc"].flag_meanings == "PASS NOT_EVALUATED SUSPECT FAIL MISSING"
        assert b1.featureType == "timeSeries" and "CF-1.8" in b1.Conventions


def test_files_pass_cf_acdd_and_ioos_with_a_complete_site_config(exported):
    for path in _nc(exported["full"]):
        assert _failures(path, "cf:1.8") == [], path.name
        assert _failures(path, "acdd:1.3") == [], path.name
        ioos = _failures(path, "ioos:1.2")
        assert {name for _, name, _ in ioos} <= ALWAYS_FAILS, (path.name, ioos)


def test_without_a_contact_only_the_contact_checks_fail(exported):
    for path in _nc(exported["no_contact"]):
        assert _failures(path, "cf:1.8") == [], path.name
        for priority, name, msgs in _failures(path, "acdd:1.3"):
            assert priority < 3 and all(_CONTACT_ATTR.search(m) for m in msgs), (path.name, name, msgs)
        ioos = {name for _, name, _ in _failures(path, "ioos:1.2")}
        assert ioos - ALWAYS_FAILS, "no contact check failed: is the config really without contacts?"
        assert ioos <= CONTACT_CHECKS | ALWAYS_FAILS, (path.name, ioos - CONTACT_CHECKS - ALWAYS_FAILS)


def test_multi_station_file_is_cf_and_acdd(exported):
    [path] = _nc(exported["multi"])
    assert _failures(path, "cf:1.8") == []
    assert [f for f in _failures(path, "acdd:1.3") if f[0] == 3] == []


@pytest.mark.parametrize("folder", ["full", "multi"])
def test_netcdf_round_trips_every_value_and_flag(exported, ranch, folder):
    expected = _influx_readings(ranch)
    got = _netcdf_readings(_nc(exported[folder]))
    assert got.keys() == expected.keys()
    for key, (value, flag, sensor) in expected.items():
        v, f, s = got[key]
        assert (v, f) == (value, flag), key
        assert s in (None, sensor), key


def test_reading_in_small_chunks_writes_the_same_files(exported):
    for a, b in zip(_nc(exported["full"]), _nc(exported["chunked"]), strict=True):
        with netCDF4.Dataset(a) as x, netCDF4.Dataset(b) as y:
            assert set(x.variables) == set(y.variables)
            for name in x.variables:
                assert np.array_equal(x[name][:], y[name][:]), (a.name, name)


def test_csv_round_trips_every_value_and_flag_in_utc_and_local_time(exported, ranch):
    expected = {k: (v, f) for k, (v, f, _) in _influx_readings(ranch).items()}
    [utc] = exported["csv_utc"].glob("*.csv")
    [local] = exported["csv_local"].glob("*.csv")
    assert _csv_readings(utc) == expected
    assert _csv_readings(local) == expected
    with open(local, encoding="utf-8") as fh:
        head, first = fh.readline(), fh.readline()
    assert head.startswith("time (Asia/Shanghai),site,device,") and "temp_c (degC),temp_c_qc" in head
    assert first.split(",")[0].endswith("+08:00")


def test_erddap_fragment_is_well_formed_and_names_every_variable(exported):
    folder = exported["full"]
    out = _cli("export", "erddap", "--out", str(folder), "--file-dir", "/erddapData/blueranch")
    root = ET.parse(out.strip()).getroot()
    [dataset] = root.findall("dataset")
    assert dataset.get("type") == "EDDTableFromNcCFFiles" and dataset.get("datasetID") == "blueranch_dachen"
    assert dataset.findtext("fileDir") == "/erddapData/blueranch/"
    regex = dataset.findtext("fileNameRegex")
    assert all(re.fullmatch(regex, p.name) for p in _nc(folder))
    named = {v.findtext("sourceName") for v in dataset.findall("dataVariable")}
    in_files: set[str] = set()
    for path in _nc(folder):
        with netCDF4.Dataset(path) as ds:
            in_files |= set(ds.variables) - {"row_size", "platform", "conductivity_reference_temperature"}
    assert named == in_files
    assert {"time", "latitude", "longitude", "depth", "station", "temp_c", "temp_c_qc"} <= named
    atts = {a.get("name"): a.text for a in dataset.find("addAttributes")}
    assert atts["cdm_data_type"] == "TimeSeries" and atts["infoUrl"] == CONTACT["info_url"]
