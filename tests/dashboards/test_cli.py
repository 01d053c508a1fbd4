"""``blueranch dashboards build | check``: what a technician runs, with clear errors."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from click.testing import CliRunner

from blueranch.cli import main
from blueranch.influxdb import InfluxClient


def cli(bin_, *args, env=None):
    return subprocess.run([bin_, "dashboards", *args], capture_output=True, text=True, timeout=120, env=env)


def test_build_writes_one_folder_per_audience(tmp_path, blueranch_bin):
    r = cli(blueranch_bin, "build", "--out", str(tmp_path), "--currency", "USD")
    assert r.returncode == 0, r.stderr
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert files == [
        "en/government/blueranch-island-carbon-budget.json",
        "en/operators/blueranch-farm-operations.json",
        "en/technicians/blueranch-fleet-health.json",
        "zh/government/blueranch-island-carbon-budget-zh.json",
        "zh/operators/blueranch-farm-operations-zh.json",
        "zh/technicians/blueranch-fleet-health-zh.json",
    ]
    gov = json.loads((tmp_path / files[0]).read_text())
    assert "currency:USD" in {p["fieldConfig"]["defaults"]["unit"] for p in gov["panels"]}


def test_build_one_language(tmp_path):
    r = in_process("build", "--out", str(tmp_path), "--lang", "zh")
    assert r.exit_code == 0, r.output
    (path,) = (tmp_path / "zh" / "operators").glob("*.json")
    assert json.loads(path.read_text(encoding="utf-8"))["title"] == "养殖运营"
    assert not (tmp_path / "en").exists()


def test_build_removes_stale_dashboards(tmp_path, blueranch_bin):
    stale = tmp_path / "en" / "operators" / "old-dashboard.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    assert cli(blueranch_bin, "build", "--out", str(tmp_path)).returncode == 0
    assert not stale.exists()


def in_process(*args: str):
    """The CLI in this process (for error paths: no interpreter start-up per case)."""
    return CliRunner().invoke(main, ["dashboards", *args])


@pytest.mark.parametrize(
    "args,message",
    [
        (("build", "--currency", "yuan"), "currency"),
        (("build", "--lang", "fr"), "'fr' is not one of 'en', 'zh'"),
        (("build", "--datasource-uid", "bad uid!"), "datasource_uid"),
        (("check", "--influx", "http://127.0.0.1:9", "--var", "site"), "expected NAME=V1,V2"),
        (("sample-data", "--influx", "http://127.0.0.1:9", "--site", "dachen/x"), "--site"),
        (("publish", "--grafana", "http://127.0.0.1:9", "--token-env", "DASHTEST_UNSET_TOKEN"), "DASHTEST_UNSET_TOKEN"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path, args, message):
    r = in_process(*args, "--out", str(tmp_path)) if args[0] == "build" else in_process(*args)
    assert r.exit_code != 0 and message in r.output


@pytest.mark.integration
def test_check_reports_every_query_ok_on_live_data(influxdb, shared_day, blueranch_bin):
    r = cli(blueranch_bin, "check", "--influx", influxdb.url, "--database", shared_day.influx.database, "--hours", "24")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ok    ") >= 40 and "EMPTY" not in r.stdout and "ERROR" not in r.stdout


@pytest.mark.integration
def test_check_fails_on_an_empty_database(influx, influxdb, blueranch_bin):
    r = cli(blueranch_bin, "check", "--influx", influxdb.url, "--database", influx.database)
    assert r.returncode == 1 and "EMPTY" in r.stdout and "queries failed or returned no data" in r.stderr


@pytest.mark.integration
def test_sample_data_then_check_passes(influxdb):
    db = f"dashtest_sample_{os.getpid()}"
    try:
        r = in_process(
            "sample-data", "--influx", influxdb.url, "--database", db, "--site", "dachen", "--site", "xiangshan"
        )
        assert r.exit_code == 0, r.output
        assert "dachen, xiangshan" in r.output
        r = in_process("check", "--influx", influxdb.url, "--database", db, "--var", "site=xiangshan")
        assert r.exit_code == 0, r.output
    finally:
        InfluxClient(influxdb.url, db).query(f'DROP DATABASE "{db}"', method="POST", database=None)


@pytest.mark.parametrize("command", ["sample-data", "check"])
def test_an_unreachable_influx_is_a_clear_error(command):
    r = in_process(command, "--influx", "http://127.0.0.1:9")
    assert r.exit_code == 1 and "http://127.0.0.1:9" in r.output and "unreachable" in r.output
