"""One vocabulary across the whole ``blueranch`` command tree (blueranch/cliopts.py).

Walks every command of every group in :data:`blueranch.cli.GROUPS` and checks that the shared options have
one name, one environment variable and one default everywhere, that time ranges are ``--from``/``--to``,
that ``--log-level`` and ``-v`` come together, and that every visible option says what it is for without
pointing at something a reader cannot follow.
"""

from __future__ import annotations

import re

import click
from click.testing import CliRunner

from blueranch.cli import GROUPS, main
from blueranch.cliopts import (
    DATABASE_ENV,
    INFLUX_DEFAULT,
    INFLUX_ENV,
    LOG_LEVEL_ENV,
    MQTT_DEFAULT,
    MQTT_ENV,
    influx_options,
    log_options,
)
from blueranch.contracts.influx import DEFAULT_DATABASE
from tests.foundation.test_cli_faults import walk

#: option -> (environment variable, default); the optional --mqtt (no broker) has no default.
SHARED = {
    "--influx": (INFLUX_ENV, INFLUX_DEFAULT),
    "--database": (DATABASE_ENV, DEFAULT_DATABASE),
    "--mqtt": (MQTT_ENV, MQTT_DEFAULT),
    "--log-level": (LOG_LEVEL_ENV, "INFO"),
}
#: help text a reader cannot follow: "agreement 7", "issue 17", "#12", "see above"
UNFOLLOWABLE = re.compile(r"\b(agreement|issue|ticket|item)\s+#?\d+|(?<![\w&])#\d+\b|\bsee above\b", re.IGNORECASE)


def _options(cmd: click.Command):
    return [p for p in cmd.params if isinstance(p, click.Option) and not p.hidden]


def test_shared_options_have_one_name_one_variable_and_one_default():
    seen: dict[str, set] = {name: set() for name in SHARED}
    for path, cmd in walk().items():
        for p in _options(cmd):
            for name in p.opts:
                if name in SHARED:
                    env, default = SHARED[name]
                    assert p.envvar == env, f"{path} {name}: envvar {p.envvar!r}, expected {env!r}"
                    optional_mqtt = name == "--mqtt" and p.default is None and "unset: none" in (p.help or "")
                    assert p.default == default or optional_mqtt, f"{path} {name}: default {p.default!r}"
                    assert not p.required, f"{path} {name}: required (defaults from ${env})"
                    assert p.show_envvar, f"{path} {name}: the help does not name ${env}"
                    seen[name].add(path)
            # the same option is spelt the same way: no --influx-url, --db, --broker, --loglevel
            for alias in ("--influx-url", "--influxdb", "--db", "--broker", "--mqtt-url", "--loglevel", "--verbosity"):
                assert alias not in p.opts, f"{path}: {alias} (use the shared name)"
    # every group that talks to InfluxDB or the broker is covered
    assert {"ingest run", "carbon worker", "carbon report", "alerts run", "alerts replay", "dashboards check"} <= seen[
        "--influx"
    ]
    assert {"ingest run", "alerts run", "sim feed"} <= seen["--mqtt"]


def test_log_level_and_v_come_together_and_mean_the_same():
    services = {"ingest run", "carbon worker", "alerts run", "edge run", "sim run", "demo"}
    with_logging = set()
    for path, cmd in walk().items():
        names = {n for p in _options(cmd) for n in p.opts}
        if "--log-level" in names or "-v" in names:
            assert {"--log-level", "-v", "--verbose"} <= names, f"{path}: --log-level and -v go together"
            with_logging.add(path)
    assert services <= with_logging


def test_time_ranges_are_from_and_to():
    for path, cmd in walk().items():
        names = {n for p in _options(cmd) for n in p.opts}
        assert "--end" not in names and "--until" not in names, f"{path}: use --from/--to"
        if "--from" in names or "--to" in names:
            assert {"--from", "--to"} <= names, path
        # --start remains only as the simulator's start override (one time, not a range)
        assert "--start" not in names or path in ("sim run", "sim feed"), f"{path}: use --from"


def test_every_option_and_command_has_help_a_reader_can_follow():
    for path, cmd in walk().items():
        assert cmd.help or cmd.short_help, f"{path}: no help"
        assert not UNFOLLOWABLE.search(cmd.help or ""), f"{path}: {cmd.help!r}"
        for p in _options(cmd):
            assert p.help, f"{path} {p.opts[0]}: no help text"
            assert not UNFOLLOWABLE.search(p.help), f"{path} {p.opts[0]}: {p.help!r}"


def test_group_help_a_reader_can_follow():
    for name, (_, line) in GROUPS.items():
        assert line and not UNFOLLOWABLE.search(line), name
        group = main.get_command(click.Context(main), name)
        texts = [group.help or ""] + [c.help or "" for c in getattr(group, "commands", {}).values()]
        assert not any(UNFOLLOWABLE.search(x) for x in texts), name


def test_demo_help_shows_no_subcommand():
    out = CliRunner().invoke(main, ["demo", "--help"], prog_name="blueranch").output
    assert out.startswith("Usage: blueranch demo [OPTIONS]\n"), out
    assert "COMMAND" not in out and "--log-level" in out and "--history-days" in out


def test_v_means_debug_and_the_environment_sets_the_defaults(monkeypatch):
    got = {}

    @click.command()
    @log_options
    @influx_options
    def probe(log_level, influx_url, database):
        got.update(log_level=log_level, influx_url=influx_url, database=database)

    runner = CliRunner()
    assert runner.invoke(probe, ["-v"]).exit_code == 0 and got["log_level"] == "DEBUG"
    assert runner.invoke(probe, ["--log-level", "warning"]).exit_code == 0 and got["log_level"] == "WARNING"
    monkeypatch.setenv(INFLUX_ENV, "http://influx.example:8086")
    monkeypatch.setenv(DATABASE_ENV, "farm")
    assert runner.invoke(probe, []).exit_code == 0
    assert got == {"log_level": "INFO", "influx_url": "http://influx.example:8086", "database": "farm"}


def test_the_unfollowable_pattern_knows_a_reference_from_a_standard():
    for bad in ("as agreed in agreement 7", "(issue 17)", "see #12", "Item 3 of the plan", "see above"):
        assert UNFOLLOWABLE.search(bad), bad
    for fine in ("ISO 8601", "RFC 3339 UTC time", "GB 11607-89", "docs/carbon.md 'Ledger'", "mqtt://HOST:PORT"):
        assert not UNFOLLOWABLE.search(fine), fine


def test_an_old_range_name_says_what_it_is_called_now():
    out = CliRunner().invoke(main, ["alerts", "replay", "--start", "2026-07-01T00:00:00Z", "--end", "x"])
    assert out.exit_code == 2 and "--start is now --from" in out.output
