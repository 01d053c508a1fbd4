"""``blueranch alerts``: the alert worker and its lifecycle commands."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import click

from blueranch.cliapp import Group
from blueranch.cliopts import influx_options, log_options, mqtt_option, renamed, setup_logging
from blueranch.models.alerts.config import AlertsConfig, load_config
from blueranch.signals import on_stop_signals

log = logging.getLogger("blueranch.alerts")


def _config(path: str | None, state: str | None) -> AlertsConfig:
    cfg = load_config(path)  # a bad file is one line and exit 2 (blueranch.cliapp)
    if state:
        cfg = cfg.model_copy(update={"state_path": Path(state)})
    return cfg


# The file is checked when it is read (not by click): compose's test parses the container's command on the host.
_config_opt = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="Alerts config (YAML); defaults apply without it."
)
_state_opt = click.option("--state", help="State file (SQLite); overrides state_path of the config.")


@click.group("alerts", cls=Group)
def group() -> None:
    """Early warnings: hypoxia, heatwaves, storms, losses, silent devices."""


def _mqtt_password() -> str | None:
    """The alert worker's own broker password (it shares the secrets file with the ingest in docker compose),
    else the common one."""
    return os.environ.get("BLUERANCH_ALERTS_MQTT_PASSWORD") or os.environ.get("BLUERANCH_MQTT_PASSWORD")


def _mqtt(url: str, username: str | None, wait_s: float = 10.0):
    from blueranch.mqttc import connect_properties, make_client, parse_url

    b = parse_url(url)  # a ValueError naming the URL: exit 2 (blueranch.cliapp)
    client = make_client("alerts", clean=True, tls=b.tls, username=username, password=_mqtt_password())
    connected = threading.Event()
    client.on_connect = lambda c, u, flags, rc, props: (
        connected.set()
        if not rc.is_failure
        else log.error("alerts: MQTT broker %s refused the connection: %s", url, rc)
    )
    client.connect_async(b.host, b.port, keepalive=30, clean_start=True, properties=connect_properties(0))
    client.loop_start()
    # Give the broker a moment so the first notifications go out at once; if it is down, the outbox keeps
    # them and paho keeps reconnecting in the background.
    if not connected.wait(wait_s):
        log.warning("alerts: MQTT broker %s not reachable yet; alerts wait in the outbox", url)
    return client


_influx_user_opt = click.option(
    "--influx-username",
    envvar="BLUERANCH_INFLUX_USERNAME",
    show_envvar=True,
    help="InfluxDB user; the password comes from $BLUERANCH_INFLUX_PASSWORD.",
)


def _worker(
    influx: str,
    database: str,
    cfg: AlertsConfig,
    mqtt: str | None,
    influx_username: str | None = None,
    mqtt_username: str | None = None,
):
    from blueranch.influxdb import InfluxClient
    from blueranch.models.alerts.worker import Worker

    client = InfluxClient(
        influx, database, username=influx_username, password=os.environ.get("BLUERANCH_INFLUX_PASSWORD")
    )
    # a ValueError (a bad channel or broker URL) is one line and exit 2 (blueranch.cliapp)
    return Worker(client, cfg, mqtt_client=_mqtt(mqtt, mqtt_username) if mqtt else None)


@group.command("run")
@influx_options
@_config_opt
@_state_opt
@mqtt_option(optional=True, purpose="to publish alerts on blueranch/v1/{site}/_alerts")
@_influx_user_opt
@click.option(
    "--mqtt-username",
    envvar="BLUERANCH_MQTT_USERNAME",
    show_envvar=True,
    help="MQTT user; the password comes from $BLUERANCH_ALERTS_MQTT_PASSWORD, else $BLUERANCH_MQTT_PASSWORD.",
)
@click.option("--interval-s", type=click.FloatRange(min=0.1), help="Evaluation interval (config interval_s).")
@click.option("--once", is_flag=True, help="Evaluate once, deliver, and exit.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), help="Serve Prometheus metrics on this port.")
@click.option("--metrics-addr", default="127.0.0.1", show_default=True, help="Address the metrics server binds.")
@log_options
def run(
    influx_url,
    database,
    config_path,
    state,
    mqtt_url,
    influx_username,
    mqtt_username,
    interval_s,
    once,
    metrics_port,
    metrics_addr,
    log_level,
) -> None:
    """Evaluate the rules over InfluxDB data every interval; notify on lifecycle events."""
    setup_logging(log_level)
    cfg = _config(config_path, state)
    worker = _worker(influx_url, database, cfg, mqtt_url, influx_username, mqtt_username)
    stop = threading.Event()
    on_stop_signals(stop.set)
    metrics = None
    if metrics_port:
        from blueranch.models.alerts.metrics import Metrics

        metrics = Metrics()
        try:
            metrics.serve(metrics_port, metrics_addr)
        except OSError as exc:
            raise click.ClickException(f"--metrics-port {metrics_port}: cannot bind {metrics_addr}: {exc}") from exc
    worker.run(interval_s or cfg.interval_s, once=once, stop=stop, metrics=metrics)


@group.command("replay")
@influx_options
@_config_opt
@_state_opt
@click.option("--from", "start", required=True, help="RFC 3339 UTC start of the evaluation times.")
@click.option("--to", "end", required=True, help="RFC 3339 UTC end.")
@renamed("--start", "--from")
@renamed("--end", "--to")
@click.option(
    "--step-s", type=click.FloatRange(min=1), default=600, show_default=True, help="Seconds between evaluations."
)
@click.option("--truth", "truth_path", help="Simulator truth file (JSON Lines): score the alerts against it.")
@_influx_user_opt
def replay(influx_url, database, config_path, state, start, end, step_s, truth_path, influx_username) -> None:
    """Back-test: evaluate at every step between --from and --to over stored data; print the events, and with
    --truth hits, misses, false alarms and lead times against the truth file's events."""
    from blueranch.models.alerts.score import read_truth, score
    from blueranch.models.alerts.worker import utc_ms

    truth = read_truth(truth_path) if truth_path else None
    cfg = _config(config_path, state)
    worker = _worker(influx_url, database, cfg, None, influx_username)
    try:
        s, e = utc_ms(start), utc_ms(end)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    events = worker.replay(s, e, step_s)
    for ev in events:
        click.echo(
            f"{ev['time']} {ev['event']:<12} {ev['severity']:<8} {ev['kind']:<16} "
            f"{ev['site']}/{ev['device']} {ev['alert_id']} {ev['message']}"
        )
    if truth is not None:
        click.echo(score(events, truth).table())


def _existing_store(cfg: AlertsConfig):
    """The state file of a read-only command: it must exist (nothing is created); says which file it read."""
    from blueranch.models.alerts.store import Store

    store = Store(cfg.state_path, create=False)
    click.echo(f"state file: {store.path.resolve()}", err=True)
    return store


@group.command("list")
@_config_opt
@_state_opt
@click.option("--open", "open_only", is_flag=True, help="Only open, acknowledged or escalated alerts.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="The newest N alerts.")
def list_(config_path, state, open_only, limit) -> None:
    """List alerts from the state file."""
    from blueranch.models.alerts.lifecycle import iso

    store = _existing_store(_config(config_path, state))
    rows = store.list(open_only=open_only, limit=limit)
    if not rows:
        click.echo("no alerts")
    for a in rows:
        who = f" by {a.acked_by}" if a.acked_by else ""
        click.echo(
            f"{a.id}  {a.state + who:<24} {a.severity:<8} {a.kind:<16} {a.site}/{a.device}"
            f"{'/' + a.subject if a.subject else ''}  opened {iso(a.opened_ms)}  {a.message}"
        )


@group.command("ack")
@click.argument("alert_id")
@click.option("--by", required=True, help="Who acknowledges (name or initials).")
@_config_opt
@_state_opt
def ack(alert_id, by, config_path, state) -> None:
    """Acknowledge an alert: stops escalation and reminders; the worker sends the acknowledgement."""
    from blueranch.models.alerts.lifecycle import Engine

    cfg = _config(config_path, state)
    store = _existing_store(cfg)
    try:
        body = Engine(cfg, store).acknowledge(alert_id, by, int(time.time() * 1000))
    except (KeyError, ValueError) as exc:
        raise click.ClickException(str(exc).strip('"')) from exc
    click.echo(f"acknowledged {body['alert_id']} ({body['kind']} {body['site']}/{body['device']}) by {by}")


@group.command("check-config")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def check_config(path) -> None:
    """Validate an alerts config and print the rules in force per configured device."""
    cfg = _config(path, None)
    click.echo(
        f"{path}: OK ({len(cfg.sites)} site(s), {len(cfg.channels.webhooks)} webhook(s), "
        f"{len(cfg.channels.smtp)} SMTP channel(s))"
    )
