"""``blueranch dashboards``: build, check and publish the Grafana dashboards."""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from blueranch.cliapp import Group
from blueranch.cliopts import influx_options
from blueranch.i18n import LANGUAGES

DEFAULT_OUT = Path(__file__).with_name("build")
DEFAULT_ALERT_RULES = Path(__file__).parent / "provisioning" / "alerting" / "blueranch.yaml"


def _settings(datasource_uid: str | None, currency: str | None):
    """Build settings from the options; a bad value is a usage error naming the option, value and rule."""
    from pydantic import ValidationError

    from blueranch.dashboards.common import Settings

    kwargs = {k: v for k, v in (("datasource_uid", datasource_uid), ("currency", currency)) if v}
    try:
        return Settings(**kwargs)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0])
        raise click.BadParameter(
            f"{err['input']!r}: {err['msg']}", param_hint=f"--{name.replace('_', '-')} ({name})"
        ) from None


_settings_options = [
    click.option(
        "--datasource-uid",
        default=None,
        help="Uid of the InfluxDB data source in Grafana (default: blueranch-influxdb, as provisioned).",
    ),
    click.option("--currency", default=None, help="ISO 4217 code of the carbon price (default CNY)."),
]


_lang_option = click.option(
    "--lang",
    "langs",
    type=click.Choice(LANGUAGES),
    multiple=True,
    help=f"Language of the dashboards' text (repeatable; default: all of {', '.join(LANGUAGES)}).",
)


def settings_options(f):
    for option in reversed(_settings_options):
        f = option(f)
    return f


@click.group("dashboards", cls=Group)
def group() -> None:
    """Build, check and publish the Grafana dashboards (generated from the InfluxDB contract)."""


@group.command("build")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Directory for the dashboard JSON (one sub-folder per language and audience).",
)
@click.option(
    "--alert-rules",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the Grafana alert-rule provisioning file here.",
)
@_lang_option
@settings_options
def build_cmd(
    out_dir: Path, alert_rules: Path | None, langs: tuple[str, ...], datasource_uid: str | None, currency: str | None
) -> None:
    """Write the dashboards as Grafana JSON: OUT/<lang>/<audience>/<uid>.json."""
    from blueranch.dashboards.build import write

    s = _settings(datasource_uid, currency)
    for path in write(out_dir, s, langs or LANGUAGES):
        click.echo(str(path))
    if alert_rules is not None:
        from blueranch.dashboards.alerting import write_rules

        write_rules(alert_rules, s)
        click.echo(str(alert_rules))


@group.command("check")
@influx_options
@click.option(
    "--hours", type=click.FloatRange(min=0.01), default=24.0, show_default=True, help="Time range to query, ending now."
)
@click.option(
    "--var",
    "var_values",
    multiple=True,
    metavar="NAME=V1,V2",
    help="Select template variable values instead of All (repeatable).",
)
@settings_options
def check_cmd(
    influx_url: str,
    database: str,
    hours: float,
    var_values: tuple[str, ...],
    datasource_uid: str | None,
    currency: str | None,
) -> None:
    """Run every panel query against InfluxDB as Grafana would; exit 1 if any fails or is empty.

    Panels that show events (rejected messages, harvests) are reported as "event" when empty, not as failures.

    Credentials come from BLUERANCH_INFLUX_USERNAME / BLUERANCH_INFLUX_PASSWORD.
    """
    from blueranch.dashboards.build import build_all
    from blueranch.dashboards.check import run
    from blueranch.influxdb import InfluxClient, InfluxError

    chosen: dict[str, tuple[str, ...]] = {}
    for item in var_values:
        name, sep, values = item.partition("=")
        if not sep or not name or not values:
            raise click.BadParameter(f"{item!r}: expected NAME=V1,V2", param_hint="--var")
        chosen[name] = tuple(values.split(","))
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    client = InfluxClient(
        influx_url, database, os.environ.get("BLUERANCH_INFLUX_USERNAME"), os.environ.get("BLUERANCH_INFLUX_PASSWORD")
    )
    failed = 0
    try:
        for _, d in build_all(_settings(datasource_uid, currency)):
            span = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
            for r in run(client, d.to_json(), *span, chosen, event_only=d.event_only()):
                failed += not r.ok
                click.echo(
                    f"{r.status:5} {r.dashboard} | {r.panel} [{r.ref}] rows={r.rows}"
                    + (f"\n      {r.error}" if r.error else "")
                )
    except InfluxError as exc:  # a template-variable query failed: nothing else can run
        raise click.ClickException(f"{influx_url} database {database}: {exc}") from exc
    finally:
        client.close()
    if failed:
        click.echo(f"{failed} queries failed or returned no data", err=True)
        sys.exit(1)


@group.command("sample-data")
@influx_options
@click.option(
    "--site",
    "sites",
    multiple=True,
    default=("dachen",),
    show_default=True,
    help="Site id to write a day for (repeatable).",
)
@click.option(
    "--derived/--no-derived",
    default=True,
    show_default=True,
    help="Also write carbon stock and budget and alerts (else only what edge agents and ingest write).",
)
def sample_data_cmd(influx_url: str, database: str, sites: tuple[str, ...], derived: bool) -> None:
    """Write a sample day, ending now, of every measurement the dashboards read (to preview them).

    Not for a production database: the points are made up. Credentials come from
    BLUERANCH_INFLUX_USERNAME / BLUERANCH_INFLUX_PASSWORD.
    """
    from blueranch.contracts.mqtt import ID_PATTERN
    from blueranch.dashboards.sample_day import simulated_day
    from blueranch.influxdb import InfluxClient, InfluxError

    for site in sites:
        if not re.fullmatch(ID_PATTERN, site):
            raise click.BadParameter(f"{site!r} must match {ID_PATTERN}", param_hint="--site")
    client = InfluxClient(
        influx_url, database, os.environ.get("BLUERANCH_INFLUX_USERNAME"), os.environ.get("BLUERANCH_INFLUX_PASSWORD")
    )
    try:
        client.ensure_database()
        day = simulated_day(client, derived=derived, sites=sites)
    except InfluxError as exc:
        raise click.ClickException(f"{influx_url} database {database}: {exc}") from exc
    finally:
        client.close()
    click.echo(
        f"wrote {day.points} points for {', '.join(sites)} from {day.start.isoformat()} to "
        f"{day.end.isoformat()} into {database}"
    )


@group.command("publish")
@click.option("--grafana", "grafana_url", required=True, help="Grafana URL, e.g. http://localhost:3000")
@click.option(
    "--token-env",
    default="GRAFANA_TOKEN",
    show_default=True,
    help="Environment variable holding a Grafana service-account token.",
)
@click.option(
    "--timeout-s",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds to wait for each Grafana request.",
)
@_lang_option
@settings_options
def publish_cmd(
    grafana_url: str,
    token_env: str,
    timeout_s: float,
    langs: tuple[str, ...],
    datasource_uid: str | None,
    currency: str | None,
) -> None:
    """Push the dashboards to a running Grafana, one folder per audience (idempotent: stable uids)."""
    from blueranch.dashboards.publish import PublishError, publish
    from blueranch.influxdb import check_url

    check_url(grafana_url, "Grafana")
    token = os.environ.get(token_env)
    if not token:
        raise click.UsageError(f"set {token_env} to a Grafana service-account token (Editor role or more)")
    try:
        report = publish(
            grafana_url, token, _settings(datasource_uid, currency), timeout_s=timeout_s, langs=langs or LANGUAGES
        )
    except PublishError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(report, indent=2))
