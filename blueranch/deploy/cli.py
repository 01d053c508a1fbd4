"""``blueranch deploy``: generate a shore server's secrets and broker security (docs/security.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from blueranch.cliapp import Group
from blueranch.cliopts import influx_options, influx_username_option
from blueranch.contracts.errors import ContractError

_registry_opt = click.option(
    "--registry",
    "registry_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The shore's device registry (YAML; e.g. deploy/blueranch/registry.yaml): one broker user and role "
    "per device, pinned to its site.",
)


def _registry(path: Path):
    from blueranch.ingest.registry import load_registry

    try:
        registry = load_registry(path)
    except ContractError as exc:
        raise click.UsageError(str(exc)) from None
    assert registry.config is not None
    return registry.config


#: ingest services of docker compose's cluster profile (cluster-ingest-1 and -2: users ingest-1 and ingest-2)
CLUSTER_INGEST_WORKERS = 2


@click.group("deploy", cls=Group)
def group() -> None:
    """Generate a shore server's secrets, certificates and broker security."""


@group.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@_registry_opt
@click.option("--ingest-workers", default=4, show_default=True, type=click.IntRange(1, 64), help="Ingest users.")
@click.option(
    "--hostname",
    "hosts",
    multiple=True,
    help="A name or address clients use to reach the broker (repeatable; added to localhost, mosquitto, "
    "127.0.0.1 and ::1 in its certificate).",
)
@click.option(
    "--client-certs/--no-client-certs",
    default=True,
    show_default=True,
    help="The TLS listener requires a client certificate from the local CA (besides the password).",
)
@click.option("--sim", is_flag=True, help="Also the simulator's users (docker compose --profile sim, the demo).")
def init_cmd(
    directory: Path, registry_file: Path, ingest_workers: int, hosts: tuple[str, ...], client_certs: bool, sim: bool
) -> None:
    """Create DIRECTORY's passwords, CA and certificates, broker config and env files; keep what exists."""
    from blueranch.deploy.init import DEFAULT_HOSTS, InitOptions, init

    opts = InitOptions(
        _registry(registry_file),
        ingest_workers=ingest_workers,
        hosts=tuple(dict.fromkeys((*DEFAULT_HOSTS, *hosts))),
        require_client_certs=client_certs,
        sim=sim,
    )
    report = init(directory, opts)  # OSError, ValueError: one line and an exit code (blueranch.cliapp)
    for path in report.created:
        click.echo(f"created {path}")
    for item in report.added_to_broker:
        click.echo(f"added {item} to the broker's dynamic-security config (restart the broker to load it)")
    click.echo(f"{directory}: {len(report.created)} files created, {report.kept} kept (never overwritten)")


@group.command("rotate")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("user")
@_registry_opt
def rotate_cmd(directory: Path, user: str, registry_file: Path) -> None:
    """New broker password (and client certificate) for USER: a device id, ingest, alerts, operator, ..."""
    from blueranch.deploy.init import rotate

    try:
        changed = rotate(directory, user, _registry(registry_file))
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    for path in changed:
        click.echo(f"rewrote {path}")
    click.echo(
        f"restart the broker to load the new password of {user} (or set it live: mosquitto_ctrl -i dynsec-admin "
        f"-u dynsec-admin ... dynsec setClientPassword {user}), then give the device its new files"
    )


@group.command("bridge")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_registry_opt
@click.option("--gateway", required=True, help="The island gateway (the registry's 'gateway:' of its devices).")
@click.option(
    "--shore",
    "shore",
    required=True,
    metavar="HOST:PORT",
    help="The shore broker's TLS listener as the island reaches it.",
)
@click.option(
    "--files-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the island's broker finds bridge.conf's certificate files (default: where they are written).",
)
@click.option(
    "--keepalive-s",
    default=30,
    show_default=True,
    type=click.IntRange(5, 3600),
    help="The bridge connection's MQTT keepalive, seconds.",
)
@click.option(
    "--restart-s",
    default=(5, 30),
    show_default=True,
    nargs=2,
    type=click.IntRange(1, 3600),
    help="The bridge's reconnect backoff: first and longest wait, seconds.",
)
def bridge_cmd(
    directory: Path,
    registry_file: Path,
    gateway: str,
    shore: str,
    files_dir: Path | None,
    keepalive_s: int,
    restart_s: tuple[int, int],
) -> None:
    """An island gateway's Mosquitto bridge to the shore (QoS 1, persistent, TLS), and its shore-side user and
    ACL, for the registry's devices with 'gateway: GATEWAY'; DIRECTORY is a 'deploy init' folder."""
    from blueranch.deploy.bridge import BridgeOptions, bridge, island_devices

    host, sep, port = shore.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise click.BadParameter(f"{shore!r} is not HOST:PORT (a port of 1 to 65535)", param_hint="--shore")
    if restart_s[0] > restart_s[1]:
        raise click.BadParameter(
            f"{restart_s[0]} is more than the longest wait {restart_s[1]}", param_hint="--restart-s"
        )
    registry = _registry(registry_file)
    try:
        island_devices(registry, gateway)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--gateway") from None
    if not (directory / "mosquitto" / "dynamic-security.json").exists():
        raise click.UsageError(
            f"{directory} is not a 'blueranch deploy init' folder: run 'blueranch deploy init' first"
        )
    opts = BridgeOptions(registry, gateway, host.strip("[]"), int(port), files_dir, keepalive_s, *restart_s)
    report = bridge(directory, opts)
    for path in report.created:
        click.echo(f"created {path}")
    for item in report.added_to_broker:
        click.echo(f"added {item} to the shore broker's dynamic-security config (restart the broker to load it)")
    click.echo(f"{directory}: {len(report.created)} files created, {report.kept} kept (never overwritten)")


@group.command("example")
@_registry_opt
@click.option("--write", "out", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
@click.option(
    "--emqx-acl",
    is_flag=True,
    help="The same roles as EMQX's acl.conf (deploy/emqx/acl.conf, docker compose --profile cluster).",
)
def example_cmd(registry_file: Path, out: Path | None, emqx_acl: bool) -> None:
    """The committed example broker config: every user and role, no password (nobody can log in with it)."""
    from blueranch.deploy.init import example_dynsec

    if emqx_acl:
        from blueranch.deploy.emqx import acl

        text = acl(_registry(registry_file), ingest_workers=CLUSTER_INGEST_WORKERS)
    else:
        text = json.dumps(example_dynsec(_registry(registry_file)), indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            out.write_text(text)
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None


@group.command("init-db")
@influx_options
@click.option(
    "--naming",
    type=click.Choice(["db.rp", "db/rp"]),
    envvar="BLUERANCH_INFLUX_NAMING",
    show_envvar=True,
    help="How the server names retention policies: db.rp (InfluxDB 1.x, the default) or db/rp (InfluxDB 3: "
    "one database per policy). Every service reads the same variable.",
)
@influx_username_option
def init_db_cmd(influx_url: str, database: str, naming: str | None, influx_username: str | None) -> None:
    """Create the database(s) and the contract's retention policies (or bring them to the contract); the ingest
    never does. Idempotent. The password comes from $BLUERANCH_INFLUX_PASSWORD."""
    import os

    from blueranch.contracts.query.naming import Naming, naming_from_env
    from blueranch.influxdb import InfluxClient, InfluxError, check_url

    try:
        check_url(influx_url)
        style = naming_from_env() if naming is None else Naming(naming, naming_from_env().separator)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    client = InfluxClient(
        influx_url, database, influx_username, os.environ.get("BLUERANCH_INFLUX_PASSWORD"), naming=style
    )
    try:
        databases = client.ensure_database()
    except InfluxError as exc:
        hint = ""
        if style.per_policy and style.separator == "/" and "invalid name" in str(exc):
            hint = " (InfluxDB 1.x refuses '/' in a name: BLUERANCH_INFLUX_NAMING_SEPARATOR=- names them db-rp)"
        raise click.ClickException(f"{influx_url} database {database}: {exc}{hint}") from None
    finally:
        client.close()
    click.echo(f"{influx_url}: {', '.join(databases)} ready ({style.style}; policies as in the InfluxDB contract)")
