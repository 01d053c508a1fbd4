"""``blueranch edge``: run the agent and the technician's tools (probe, sample-config, check-config, status)."""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path

import click

from blueranch.cliapp import Group
from blueranch.cliopts import log_options, setup_logging
from blueranch.contracts.errors import ContractError
from blueranch.signals import on_stop_signals

CONFIG_HELP = "The agent's YAML config (see 'blueranch edge sample-config')."


def _report_and_exit(path: Path, violations: list) -> None:
    """One line per problem, ``FILE:LINE:COLUMN: dotted.path: value rule`` (editors jump to it); exit 2."""
    for v in violations:
        where = v.where() if hasattr(v, "where") else ""
        click.echo(f"{path}:{where}: {v}" if where else f"{path}: {v}", err=True)
    click.echo(f"{path}: {len(violations)} error(s)", err=True)
    sys.exit(2)


def _load_or_exit(path: Path):
    from blueranch.edge.config import load_config

    try:
        return load_config(path)
    except FileNotFoundError:
        click.echo(f"{path}: no such file", err=True)
        sys.exit(2)
    except ContractError as exc:
        _report_and_exit(path, exc.violations)


@click.group("edge", cls=Group)
def group() -> None:
    """Buoy and gateway agent: drivers, QC, store-and-forward, technician tools."""


@group.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--offline", is_flag=True, help="Skip the device checks (serial ports exist here), for a config prepared elsewhere."
)
def check_config(file: Path, offline: bool) -> None:
    """Validate FILE: print every error with its line, column and dotted path; exit 2 when invalid, 0 when valid.

    Besides the schema: every serial port given as a device path must exist on this machine (--offline skips
    this), the mqtt section is required, a key may appear only once."""
    cfg = _load_or_exit(file)
    if not offline:
        from blueranch.edge.config import device_problems, locate

        problems = device_problems(cfg)
        if problems:
            _report_and_exit(file, locate(file, problems))
    try:
        cfg.mqtt.password()
    except ValueError as exc:  # valid file, but the agent could not start here: say so, still exit 0
        click.echo(f"{file}: warning: {exc}", err=True)
    from blueranch.edge.qc_defaults import sensor_quantities

    emitted = {q for sensor in cfg.model_dump()["sensors"] for q in sensor_quantities(sensor)}
    unchecked = sorted(emitted - set(cfg.qc))
    if unchecked:  # valid, but these readings will all go out as 2 (not evaluated)
        click.echo(f"{file}: warning: no qc for {', '.join(unchecked)} (see 'blueranch edge sample-config')", err=True)
    click.echo(f"{file}: valid ({len(cfg.sensors)} sensors, {len(cfg.qc)} quantities with QC)")


@group.command("sample-config")
def sample_config() -> None:
    """Print a complete, commented sample config."""
    from blueranch.edge.sample_config import sample_config as text

    click.echo(text(), nl=False)


@group.command("run")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), required=True, help=CONFIG_HELP
)
@click.option(
    "--clock-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Simulator clock file (overrides clock_file in the config).",
)
@log_options
def run(config_path: Path, clock_file: Path | None, log_level: str) -> None:
    """Run the agent until Ctrl-C or SIGTERM."""
    setup_logging(log_level)
    # pymodbus logs each timeout at ERROR without saying which sensor; the agent logs it with sensor and reason.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    cfg = _load_or_exit(config_path)
    if clock_file is not None:
        cfg = cfg.model_copy(update={"clock_file": clock_file})
    import sqlite3

    from blueranch.edge.agent import Agent
    from blueranch.edge.config import config_version

    # Handlers go in before the (slow) start-up, so a SIGTERM during start-up still stops cleanly.
    stop_requested = threading.Event()
    holder: list = []

    def _on_signal(*_) -> None:
        stop_requested.set()
        if holder:
            holder[0].stop()

    on_stop_signals(_on_signal)
    try:
        agent = Agent(cfg, config_version(config_path))
    except (ValueError, OSError, sqlite3.Error) as exc:  # password source, buffer path, clock file
        click.echo(f"{config_path}: cannot start: {exc}", err=True)
        sys.exit(2)
    holder.append(agent)
    if stop_requested.is_set():
        agent.stop()
    agent.run()


@group.command("status")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help=CONFIG_HELP
)
@click.option(
    "--status-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The agent's status file (default: from --config).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the raw status as JSON.")
def status_cmd(config_path: Path | None, status_file: Path | None, as_json: bool) -> None:
    """Show buffer depth, dropped count, last reading per sensor and uplink state of the running agent.

    Exit 0 when the agent is running, 1 when it is not (stale or no status), 2 on a bad config."""
    from blueranch.edge import status

    if status_file is None:
        if config_path is None:
            raise click.UsageError("give --config FILE or --status-file FILE")
        status_file = _load_or_exit(config_path).status_path
    try:
        data = status.read(status_file)
    except FileNotFoundError:
        click.echo(f"no status at {status_file}: the agent has not run with this config", err=True)
        sys.exit(1)
    click.echo(json.dumps(data, indent=1, sort_keys=True) if as_json else status.render(data))
    sys.exit(0 if data["running"] else 1)


class _ProbeProtocol(click.Choice):
    """``--protocol``: ``auto`` or a driver that can probe, read from the registry when first needed (so
    ``blueranch edge --help`` and the other commands do not import every driver)."""

    def __init__(self) -> None:
        super().__init__([])

    @property
    def choices(self) -> list[str]:
        from blueranch.edge.probe import protocols

        return protocols()

    @choices.setter
    def choices(self, _value) -> None:
        """click sets the choices in ``__init__``; the registry is the only source."""


@group.command("probe")
@click.argument("port")
@click.option(
    "--protocol", type=_ProbeProtocol(), default="auto", show_default=True, help="What to try; auto: each in turn."
)
@click.option("--baudrate", type=int, default=None, help="NMEA/Modbus speed (default: try the usual ones).")
@click.option(
    "--parity",
    type=click.Choice(["N", "E", "O"]),
    default=None,
    help="Modbus parity to try (default: N, E and O).",
)
@click.option(
    "--all-settings",
    is_flag=True,
    help="Modbus: ask every id at every line setting (default: keep the first setting that answers).",
)
@click.option("--slave-ids", default="1-247", show_default=True, help="Modbus ids to scan, e.g. 1-10,20.")
@click.option(
    "--timeout-s",
    type=click.FloatRange(min=0, min_open=True, max=10),
    default=None,
    help="Reply timeout per question (default: SDI-12 0.3 s, Modbus 0.1 s).",
)
@click.option("--listen-s", type=float, default=3.0, show_default=True, help="How long to listen for NMEA.")
@click.option(
    "--sdi12-addresses",
    default="all",
    show_default=True,
    help="SDI-12 addresses to ask (e.g. 0123), or 'all' (0-9, a-z, A-Z).",
)
def probe(
    port: str,
    protocol: str,
    baudrate: int | None,
    parity: str | None,
    all_settings: bool,
    slave_ids: str,
    timeout_s: float | None,
    listen_s: float,
    sdi12_addresses: str,
) -> None:
    """Find what is on serial PORT and print a ready-to-use config snippet.

    SDI-12: '?!' and 'a!' for each address, then 'aI!' and 'aM!'. NMEA: listen and list talkers and
    sentences. Modbus RTU: 8N1, 8E1 and 8O1 at 9600 and 19200 baud, each slave id, then what each slave
    holds, decoded in the four 32-bit orders. Progress goes to a terminal's stderr. Exit 1 when nothing
    answered."""
    from blueranch.edge import probe as p
    from blueranch.edge.drivers.base import DriverError, ProbeOptions
    from blueranch.edge.drivers.modbus_rtu import parse_slave_ids

    # pymodbus logs every unanswered question; silence is what a scan mostly hears
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    try:
        ids = parse_slave_ids(slave_ids)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--slave-ids") from None
    console = p.Console(sys.stderr)
    options = ProbeOptions(
        baudrate=baudrate,
        parity=parity,
        all_settings=all_settings,
        timeout_s=timeout_s,
        listen_s=listen_s,
        slave_ids=tuple(ids),
        addresses=None if sdi12_addresses == "all" else sdi12_addresses,
        progress=console.progress,
    )
    try:
        found = p.probe(port, protocol, options, report=console.report)
    except DriverError as exc:  # cannot open the port (missing, busy: the agent holds it, no permission)
        console.clear()
        click.echo(f"{port}: {exc}", err=True)
        sys.exit(2)
    console.clear()
    if not found:
        click.echo(f"# nothing answered on {port}", err=True)
        sys.exit(1)
    import yaml

    from blueranch.edge.qc_defaults import qc_block, sensor_quantities

    text = p.snippet(found)
    sensors = yaml.safe_load("sensors:\n" + text)["sensors"] or []
    click.echo(qc_block(q for s in sensors for q in sensor_quantities(s)), nl=False)
    click.echo("sensors:")
    click.echo(text, nl=False)
