"""``blueranch ingest run``: options, config errors and password files (no services needed)."""

from __future__ import annotations

from click.testing import CliRunner

from blueranch.ingest.cli import _password, group


def test_help_lists_the_interface():
    out = CliRunner().invoke(group, ["run", "--help"]).output
    for option in (
        "--mqtt",
        "--influx",
        "--database",
        "--workers",
        "--config",
        "--mqtt-username",
        "--mqtt-password-file",
        "--influx-username",
        "--influx-password-file",
        "--metrics-port",
    ):
        assert option in out, option
    assert "BLUERANCH_MQTT_PASSWORD" in out and "BLUERANCH_INFLUX_PASSWORD" in out


def test_a_bad_config_is_a_usage_error_naming_the_key(tmp_path):
    cfg = tmp_path / "ingest.yaml"
    cfg.write_text("batch:\n  max_points: 0\nretries: 3\n")
    result = CliRunner().invoke(group, ["run", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "batch.max_points" in result.output and "retries" in result.output


def test_a_bad_broker_url_is_a_usage_error():
    result = CliRunner().invoke(group, ["run", "--mqtt", "http://localhost:1883"])
    assert result.exit_code == 2 and "mqtt://HOST:PORT" in result.output


def test_passwords_come_from_a_file_first_then_the_environment(tmp_path, monkeypatch):
    secret = tmp_path / "pw"
    secret.write_text("from-file\nignored\n")
    monkeypatch.setenv("BLUERANCH_MQTT_PASSWORD", "from-env")
    assert _password(secret, "BLUERANCH_MQTT_PASSWORD") == "from-file"
    assert _password(None, "BLUERANCH_MQTT_PASSWORD") == "from-env"
    monkeypatch.delenv("BLUERANCH_MQTT_PASSWORD")
    assert _password(None, "BLUERANCH_MQTT_PASSWORD") is None


def test_a_missing_database_stops_the_ingest_with_one_line_naming_init_db(blueranch_bin, influxdb):
    """The ingest never creates databases: without 'blueranch deploy init-db' it exits 1 with one clear line."""
    import subprocess

    run = subprocess.run(
        [blueranch_bin, "ingest", "run", "--mqtt", "mqtt://127.0.0.1:1", "--influx", influxdb.url]
        + ["--database", "never_initialised"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "never_initialised" in errors[0] and "blueranch deploy init-db" in errors[0]
    assert "Traceback" not in run.stderr
