"""``blueranch dashboards build | check``: what a technician runs, with clear errors."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from blueranch.influxdb import InfluxClient


def cli(bin_, *args, env=None):
    return subprocess.run([bin_, "dashboards", *args], capture_output=True, text=True, timeout=120, env=env)


def test_build_writes_one_folder_per_audience(tmp_path, blueranch_bin):
    r = cli(blueranch_bin, "build", "--out", str(tmp_path), "--currency", "USD")
    assert r.returncode == 0, r.stderr
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert files == ["government/blueranch-island-carbon-budget.json", "operators/blueranch-farm-operations.json",
                     "technicians/blueranch-fleet-health.json"]
    gov = json.loads((tmp_path / files[0]).read_text())
    assert "currency:USD" in {p["fieldConfig"]["defaults"]["unit"] for p in gov["panels"]}


def test_build_removes_stale_dashboards(tmp_path, blueranch_bin):
    stale = tmp_path / "operators" / "old-dashboard.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    assert cli(blueranch_bin, "build", "--out", str(tmp_path)).returncode == 0
    assert not stale.exists()


@pytest.mark.parametrize("args,message", [
    (("build", "--currency", "yuan"), "currency"),
    (("build", "--datasource-uid", "bad uid!"), "datasource_uid"),
    (("check", "--influx", "http://127.0.0.1:9", "--var", "site"), "expected NAME=V1,V2"),
])
def test_bad_options_are_clear_errors(tmp_path, blueranch_bin, args, message):
    r = cli(blueranch_bin, *args, "--out", str(tmp_path)) if args[0] == "build" else cli(blueranch_bin, *args)
    assert r.returncode != 0 and message in r.stderr


@pytest.mark.integration
def test_check_reports_every_query_ok_on_live_data(influx, influxdb, day, blueranch_bin):
    r = cli(blueranch_bin, "check", "--influx", influxdb.url, "--database", influx.database, "--hours", "24")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ok    ") >= 40 and "EMPTY" not in r.stdout and "ERROR" not in r.stdout


@pytest.mark.integration
def test_check_fails_on_an_empty_database(influx, influxdb, blueranch_bin):
    r = cli(blueranch_bin, "check", "--influx", influxdb.url, "--database", influx.database)
    assert r.returncode == 1 and "EMPTY" in r.stdout and "queries failed or returned no data" in r.stderr


@pytest.mark.integration
def test_sample_data_then_check_passes(influxdb, blueranch_bin):
    db = f"dashtest_sample_{os.getpid()}"
    try:
        r = cli(blueranch_bin, "sample-data", "--influx", influxdb.url, "--database", db, "--site", "dachen",
                "--site", "xiangshan")
        assert r.returncode == 0, r.stderr
        assert "dachen, xiangshan" in r.stdout
        r = cli(blueranch_bin, "check", "--influx", influxdb.url, "--database", db, "--var", "site=xiangshan")
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        InfluxClient(influxdb.url, db).query(f'DROP DATABASE "{db}"', method="POST", database=None)


def test_sample_data_refuses_a_bad_site_and_an_unreachable_influx(blueranch_bin):
    r = cli(blueranch_bin, "sample-data", "--influx", "http://127.0.0.1:9", "--site", "dachen/x")
    assert r.returncode == 2 and "--site" in r.stderr
    r = cli(blueranch_bin, "sample-data", "--influx", "http://127.0.0.1:9")
    assert r.returncode == 1 and "unreachable" in r.stderr
    r = cli(blueranch_bin, "check", "--influx", "http://127.0.0.1:9")
    assert r.returncode == 1 and "unreachable" in r.stderr
