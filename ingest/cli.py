"""``blueranch ingest``: MQTT to InfluxDB workers.

Credentials never go on the command line: user names may (``--mqtt-username``), passwords come from the
environment (``BLUERANCH_MQTT_PASSWORD``, ``BLUERANCH_INFLUX_PASSWORD``) or from a file
(``--mqtt-password-file``, ``--influx-password-file``; first line, trailing newline removed).

Worker ``i`` logs in to the broker as ``{--mqtt-username}-{i}`` (``ingest-1``, ``ingest-2``, ...), which is
also its client id: the broker config of ``blueranch deploy init`` binds each such user to that one client id,
so that no other credentials can take over (and so erase) a worker's persistent session (docs/security.md).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from blueranch.cliapp import Group
from blueranch.cliopts import influx_options, influx_username_option, log_options, mqtt_option, setup_logging
from blueranch.contracts.errors import ContractError
from blueranch.signals import on_stop_signals


def _password(file: Path | None, env: str) -> str | None:
    if file is not None:
        try:
            text = file.read_text()
        except OSError as exc:
            raise click.BadParameter(f"cannot read password file {file}: {exc}") from exc
        return text.splitlines()[0] if text else ""
    return os.environ.get(env) or None


def _check_ports(addr: str, ports: range) -> None:
    """Refuse, before any worker starts, metrics ports another process holds (``OSError``: one line, exit 1);
    a pool would otherwise restart a worker that cannot bind its port forever."""
    import socket

    for port in ports:
        if port > 65535:
            raise click.BadParameter(
                f"{ports.start} + {len(ports) - 1} workers passes 65535", param_hint="--metrics-port"
            )
        with socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((addr, port))
            except OSError as exc:
                raise OSError(
                    exc.errno, f"cannot serve metrics on {addr}:{port} (--metrics-port): {exc.strerror}"
                ) from None


@click.group("ingest", cls=Group)
def group() -> None:
    """MQTT to InfluxDB ingest workers."""


@group.command("run")
@mqtt_option()
@influx_options
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes in the shared-subscription group.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML ingest config (see docs/ingest.md); unknown keys are errors.",
)
@click.option(
    "--registry",
    "registry_file",
    envvar="BLUERANCH_REGISTRY",
    show_envvar=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The shore's device registry (YAML): the only source of site, farm and asset tags (overrides the "
    "config's 'registry').",
)
@click.option(
    "--mqtt-username",
    envvar="BLUERANCH_MQTT_USERNAME",
    show_envvar=True,
    help="Broker user name prefix: worker i logs in as NAME-i (its client id).",
)
@click.option(
    "--mqtt-password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the MQTT password (else $BLUERANCH_MQTT_PASSWORD).",
)
@influx_username_option
@click.option(
    "--influx-password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the InfluxDB password (else $BLUERANCH_INFLUX_PASSWORD).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve Prometheus metrics here (worker i of N uses PORT + i - 1).",
)
@click.option("--metrics-addr", default="127.0.0.1", show_default=True, help="Address the metrics server binds.")
@click.option("--worker-index", default=1, type=click.IntRange(1, 1024), hidden=True)
@log_options
def run(
    mqtt_url: str,
    influx_url: str,
    database: str,
    workers: int,
    config_file: Path | None,
    registry_file: Path | None,
    mqtt_username: str | None,
    mqtt_password_file: Path | None,
    influx_username: str | None,
    influx_password_file: Path | None,
    metrics_port: int | None,
    metrics_addr: str,
    worker_index: int,
    log_level: str,
) -> None:
    """Subscribe to telemetry, validate it and write it to InfluxDB until Ctrl-C or SIGTERM."""
    setup_logging(log_level)
    from blueranch.influxdb import InfluxClient, check_url
    from blueranch.ingest.config import load_config
    from blueranch.ingest.registry import load_registry
    from blueranch.mqttc import parse_url

    try:
        parse_url(mqtt_url)
        check_url(influx_url)
        config = load_config(config_file)
        if registry_file is not None:
            config = config.model_copy(update={"registry": registry_file})
        registry = load_registry(config.registry)  # refuse a bad registry before starting any worker
    except (ValueError, ContractError) as exc:
        raise click.UsageError(str(exc)) from exc
    if registry.is_open and worker_index == 1:
        logging.getLogger("blueranch.ingest").warning(
            "no device registry (--registry): site, farm and asset tags come from topics and payloads, which any "
            "device can claim; give the shore's registry in production (docs/security.md)"
        )
    if metrics_port is not None and worker_index == 1:
        _check_ports(metrics_addr, range(metrics_port, metrics_port + workers))
    influx = InfluxClient(
        influx_url,
        database,
        influx_username,
        _password(influx_password_file, "BLUERANCH_INFLUX_PASSWORD"),
        timeout_s=config.retry.timeout_s,
    )
    if worker_index == 1:
        _check_databases(influx)
    if workers > 1:
        from blueranch.ingest.pool import Pool

        influx.close()
        argv = [
            "--mqtt",
            mqtt_url,
            "--influx",
            influx_url,
            "--database",
            database,
            "--log-level",
            log_level,
            "--metrics-addr",
            metrics_addr,
        ]
        for flag, value in (
            ("--config", config_file),
            ("--registry", registry_file),
            ("--mqtt-username", mqtt_username),
            ("--mqtt-password-file", mqtt_password_file),
            ("--influx-username", influx_username),
            ("--influx-password-file", influx_password_file),
            ("--metrics-port", metrics_port),
        ):
            if value is not None:
                argv += [flag, str(value)]
        pool = Pool(argv, workers)
        on_stop_signals(pool.stop)
        sys.exit(pool.run())

    from blueranch.ingest.worker import Worker

    worker = Worker(
        mqtt_url,
        influx,
        config,
        index=worker_index,
        username=None if mqtt_username is None else f"{mqtt_username}-{worker_index}",
        password=_password(mqtt_password_file, "BLUERANCH_MQTT_PASSWORD"),
        metrics_port=None if metrics_port is None else metrics_port + worker_index - 1,
        metrics_addr=metrics_addr,
    )
    on_stop_signals(worker.request_stop)
    worker.run()


def _check_databases(influx) -> None:
    """One line and exit 1 if the databases are missing (``blueranch deploy init-db`` makes them); an
    unreachable InfluxDB is left to the workers, which wait for it."""
    from blueranch.influxdb import InfluxError, MissingDatabase
    from blueranch.ingest.writer import check_databases

    try:
        check_databases(influx)
    except MissingDatabase as exc:
        raise click.ClickException(f"{influx.url}: {exc}") from None
    except InfluxError:
        pass
