"""``blueranch sim``: run a scenario's devices on pseudo-terminals, TCP and MQTT; list its devices."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from blueranch.cliapp import Group
from blueranch.cliopts import log_options, mqtt_option, setup_logging
from blueranch.signals import on_stop_signals
from blueranch.sim.scenario import Scenario, ScenarioError, builtin_names, load_scenario


def _scenario(value: str) -> Scenario:
    try:
        return load_scenario(value)
    except ScenarioError as exc:
        raise click.BadParameter(str(exc), param_hint="--scenario") from None


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number or 'max'", param_hint="--speed") from None
    if not 0 < speed <= 1e7:
        raise click.BadParameter(f"{speed} must be > 0 and <= 1e7 (or 'max')", param_hint="--speed")
    return speed


def _start(value: str, step_s: float) -> datetime:
    if value == "now":
        now = time.time()
        return datetime.fromtimestamp(now - now % step_s, UTC)
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an RFC 3339 time or 'now'", param_hint="--start") from None
    if dt.utcoffset() != timedelta(0):
        raise click.BadParameter(f"{value!r} must be UTC (end it with Z)", param_hint="--start")
    return dt


_start_opt = click.option(
    "--start",
    "start",
    default=None,
    help="Override the scenario's start: an RFC 3339 UTC time, or 'now' (rounded down to the step).",
)


@click.group("sim", cls=Group)
def group() -> None:
    """Simulated marine ranch speaking the real sensor protocols."""


@group.command("devices")
@click.option(
    "--scenario",
    default="single-buoy",
    show_default=True,
    help=f"Scenario name ({', '.join(builtin_names())}) or YAML path.",
)
@click.option(
    "--tcp-base-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Also show the TCP port each serial device would get.",
)
def devices(scenario: str, tcp_base_port: int | None) -> None:
    """Print each device id, protocol, address, link name (serial) or MQTT topic (nodes)."""
    from blueranch.sim.runner import serial_devices
    from blueranch.sim.truth import link_name

    sc = _scenario(scenario)
    ports = {d.id: tcp_base_port + i for i, d in enumerate(serial_devices(sc))} if tcp_base_port else {}
    click.echo("device\tprotocol\taddress\tlink\tkind\tedge_device" + ("\ttcp_port" if ports else ""))
    for d in sc.devices:
        link = link_name(d) or f"mqtt:nodes/{d.id}/up"
        row = [d.id, d.protocol, d.address if d.protocol != "mqtt_node" else "-", link, d.kind, d.edge_device]
        if ports:
            row.append(str(ports.get(d.id, "-")))
        click.echo("\t".join(row))


@group.command("registry")
@click.option("--scenario", default="dachen", show_default=True, help="Scenario name or YAML path.")
def registry(scenario: str) -> None:
    """Print the scenario's devices as the shore's device registry (YAML; blueranch ingest run --registry)."""
    import yaml

    from blueranch.sim.registry import registry_data

    sc = _scenario(scenario)
    click.echo(f"# The shore's device registry of the {sc.name} scenario: blueranch sim registry --scenario {scenario}")
    click.echo(yaml.safe_dump(registry_data(sc), sort_keys=False), nl=False)


@group.command("validate")
@click.argument("scenario")
def validate(scenario: str) -> None:
    """Check a scenario file; exit 2 with the failing path and rule."""
    sc = _scenario(scenario)
    click.echo(f"{sc.name}: ok ({len(sc.devices)} devices, {len(sc.assets)} assets, {len(sc.events)} events)")


@group.command("run")
@click.option("--scenario", default="single-buoy", show_default=True, help="Scenario name or YAML path.")
@click.option(
    "--pty-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for one symlink per serial device, named by device id.",
)
@mqtt_option(optional=True, purpose="for the LoRa/MQTT nodes")
@click.option(
    "--mqtt-username",
    envvar="BLUERANCH_MQTT_USERNAME",
    show_envvar=True,
    help="Broker user (the password comes from $BLUERANCH_MQTT_PASSWORD).",
)
@click.option("--speed", default="1", show_default=True, help="Simulated seconds per wall second, or 'max'.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True, max=3660),
    default=None,
    help="Simulated days to run (default: the scenario's).",
)
@click.option(
    "--truth-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the ground truth here (JSON Lines; docs/simulator.md).",
)
@click.option(
    "--clock-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the simulated clock here for the edge agent (docs/simulator.md, 'Commands').",
)
@click.option(
    "--tcp-base-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Also serve serial device N (in scenario order) as raw TCP on this port + N.",
)
@click.option(
    "--tcp-host",
    default="127.0.0.1",
    show_default=True,
    help="Address the TCP ports listen on (0.0.0.0 for other containers).",
)
@click.option(
    "--rfc2217",
    is_flag=True,
    help="Serve the TCP ports as RFC 2217 (ser2net's telnet mode), reached as rfc2217://HOST:PORT: the "
    "client's baud rate and parity reach the devices.",
)
@_start_opt
@log_options
def run(
    scenario: str,
    pty_dir: Path | None,
    mqtt_url: str | None,
    mqtt_username: str | None,
    speed: str,
    seed: int,
    days: float | None,
    truth_out: Path | None,
    clock_file: Path | None,
    tcp_base_port: int | None,
    tcp_host: str,
    rfc2217: bool,
    start: str | None,
    log_level: str,
) -> None:
    """Run the scenario until its end, Ctrl-C or SIGTERM."""
    from blueranch.sim.runner import RunOptions
    from blueranch.sim.runner import run as run_scenario

    setup_logging(log_level)
    if tcp_base_port is not None and pty_dir is None:
        raise click.UsageError(
            "--tcp-base-port serves the serial devices' pseudo-terminals over TCP too: give --pty-dir as well"
        )
    sc = _scenario(scenario)
    if start is not None:
        sc = sc.model_copy(update={"start": _start(start, sc.step_s)})
    opts = RunOptions(
        seed=seed,
        days=days,
        speed=_speed(speed),
        pty_dir=pty_dir,
        mqtt_url=mqtt_url,
        mqtt_username=mqtt_username,
        mqtt_password=os.environ.get("BLUERANCH_MQTT_PASSWORD") or None,
        tcp_base_port=tcp_base_port,
        tcp_host=tcp_host,
        rfc2217=rfc2217,
        truth_out=truth_out,
        clock_file=clock_file,
    )
    stop = threading.Event()
    on_stop_signals(stop.set)

    def ready() -> None:
        click.echo(
            f"sim {sc.name}: seed {seed}, speed {speed}, devices ready" + (f" in {pty_dir}" if pty_dir else ""),
            err=True,
        )

    try:
        counts = run_scenario(sc, opts, stop, on_ready=ready)
    except OSError as exc:  # a busy TCP port, an unreachable broker, an unwritable truth file
        raise click.ClickException(str(exc.strerror or exc)) from None
    click.echo("sim stopped: " + ", ".join(f"{k}={v}" for k, v in counts.items()), err=True)


@group.command("feed")
@mqtt_option()
@click.option(
    "--mqtt-username",
    envvar="BLUERANCH_MQTT_USERNAME",
    show_envvar=True,
    help="Broker user (the password comes from $BLUERANCH_MQTT_PASSWORD).",
)
@click.option("--scenario", default="dachen", show_default=True, help="Scenario name or YAML path.")
@click.option("--days", type=click.FloatRange(0.01, 3660), help="Simulated days (default: the scenario's).")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same readings.")
@click.option("--truth-out", type=click.Path(dir_okay=False), required=True, help="Ground-truth JSON Lines file.")
@_start_opt
@click.option(
    "--every-device",
    is_flag=True,
    help="Every device's readings (water, weather, power, meters), not only the load cells.",
)
def feed(
    mqtt_url: str,
    mqtt_username: str | None,
    scenario: str,
    days: float | None,
    seed: int,
    truth_out: str,
    start: str | None,
    every_device: bool,
) -> None:
    """The scenario's load cells as contract telemetry straight to MQTT, as fast as it can (no edge agent).

    Publishes each load-cell reading (with --every-device: every reading) from its edge device, as a gateway
    would forward it (firmware_sim/feed.py): the demo's history and the carbon accuracy test. Prints a
    progress line on stderr after each simulated day. Pair it with 'blueranch ingest run' and
    'blueranch carbon worker'.
    """
    import json

    from blueranch.mqttc import redact_url
    from blueranch.sim.engine import Simulation
    from blueranch.sim.feed import ContractPublisher, run_simulation

    sc = _scenario(scenario)
    if days is not None:
        sc = sc.model_copy(update={"days": days})
    if start is not None:
        sc = sc.model_copy(update={"start": _start(start, sc.step_s)})
    if not every_device:
        sc = sc.model_copy(update={"devices": [d for d in sc.devices if d.kind == "load_cell"]})
    try:
        publisher = ContractPublisher(
            mqtt_url,
            sc.site,
            username=mqtt_username,
            password=os.environ.get("BLUERANCH_MQTT_PASSWORD") or None,
            measurements=None if every_device else frozenset({"biomass_load"}),
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot reach the MQTT broker at {redact_url(mqtt_url)}: {exc.strerror or exc}"
        ) from None
    total = sc.days

    def progress(done_days: float) -> None:
        click.echo(f"history: {done_days:.0f} of {total:g} days fed", err=True)

    stats = run_simulation(Simulation(sc, seed=seed), publisher, Path(truth_out), progress)
    summary = {
        "samples_published": stats.samples_published,
        "messages": stats.messages,
        "garbled_dropped": stats.garbled_dropped,
        "truth_records": stats.truth_records,
    }
    click.echo(json.dumps(summary))
