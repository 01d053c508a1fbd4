"""The options every ``blueranch`` command shares, declared once: one name, one environment variable, one default.

- ``--influx`` (``$BLUERANCH_INFLUX``, default ``http://127.0.0.1:8086``) and ``--database``
  (``$BLUERANCH_DATABASE``, default ``blueranch``): the InfluxDB a command reads or writes;
- ``--mqtt`` (``$BLUERANCH_MQTT``, default ``mqtt://127.0.0.1:1883``): the broker. Where a broker is an
  extra (the alert worker's notifications, the simulator's radio nodes) the option keeps the name and the
  variable and has no default: unset, the command runs without a broker;
- ``--from`` / ``--to``: a time range;
- ``--log-level`` (``$BLUERANCH_LOG_LEVEL``, default ``INFO``) with ``-v`` (``--verbose``) as the shorthand for
  ``--log-level DEBUG``.

``tests/foundation/test_cli_vocabulary.py`` walks the whole command tree and fails on a command that
declares one of these another way.
"""

from __future__ import annotations

import functools
import logging
import sys

import click

from blueranch.contracts.influx import DEFAULT_DATABASE

INFLUX_ENV = "BLUERANCH_INFLUX"
DATABASE_ENV = "BLUERANCH_DATABASE"
MQTT_ENV = "BLUERANCH_MQTT"
LOG_LEVEL_ENV = "BLUERANCH_LOG_LEVEL"
INFLUX_DEFAULT = "http://127.0.0.1:8086"
MQTT_DEFAULT = "mqtt://127.0.0.1:1883"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _shared(name: str, dest: str, envvar: str, default: str, help_text: str):
    return click.option(name, dest, envvar=envvar, show_envvar=True, default=default, show_default=True, help=help_text)


#: ``--influx URL`` passed as ``influx_url``.
influx_option = _shared("--influx", "influx_url", INFLUX_ENV, INFLUX_DEFAULT, "InfluxDB base URL (v1 HTTP API).")
#: ``--database NAME`` passed as ``database``.
database_option = _shared("--database", "database", DATABASE_ENV, DEFAULT_DATABASE, "InfluxDB database.")


def influx_username_option(f):
    """``--influx-username USER`` (``$BLUERANCH_INFLUX_USERNAME``) passed as ``influx_username``."""
    return click.option(
        "--influx-username",
        envvar="BLUERANCH_INFLUX_USERNAME",
        show_envvar=True,
        help="InfluxDB user; the password comes from $BLUERANCH_INFLUX_PASSWORD.",
    )(f)


def influx_options(f):
    """``--influx`` and ``--database``."""
    return influx_option(database_option(f))


def mqtt_option(optional: bool = False, purpose: str = ""):
    """``--mqtt URL`` passed as ``mqtt_url``; ``optional``: no default, the command runs without a broker."""
    what = "Broker URL (mqtt://HOST:PORT or mqtts://HOST:PORT)"
    if purpose:
        what += f" {purpose}"
    if optional:
        return click.option(
            "--mqtt", "mqtt_url", envvar=MQTT_ENV, show_envvar=True, default=None, help=f"{what}; unset: none."
        )
    return _shared("--mqtt", "mqtt_url", MQTT_ENV, MQTT_DEFAULT, f"{what}.")


def renamed(old: str, new: str):
    """A hidden option under an old name that says what it is called now (exit 2), instead of click's
    "no such option"."""

    def refuse(ctx: click.Context, param: click.Parameter, value) -> None:
        if ctx.get_parameter_source(param.name) is click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError(f"{old} is now {new} (the same name in every blueranch command)", ctx)

    dest = "renamed_" + old.lstrip("-").replace("-", "_")  # not the new option's: that one holds the value
    return click.option(old, dest, hidden=True, expose_value=False, is_eager=True, callback=refuse)


def log_options(f):
    """``--log-level LEVEL`` and ``-v``; the command receives ``log_level`` (``DEBUG`` when ``-v`` is given)."""

    @functools.wraps(f)
    def wrapper(*args, verbose: bool, log_level: str, **kwargs):
        return f(*args, log_level="DEBUG" if verbose else log_level.upper(), **kwargs)

    wrapper = click.option("-v", "--verbose", is_flag=True, help="Shorthand for --log-level DEBUG.")(wrapper)
    return click.option(
        "--log-level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        envvar=LOG_LEVEL_ENV,
        show_envvar=True,
        default="INFO",
        show_default=True,
        help="Least severe log messages shown (on stderr).",
    )(wrapper)


def setup_logging(log_level: str) -> None:
    """The one log format of every service, on stderr."""
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr, format=LOG_FORMAT)
