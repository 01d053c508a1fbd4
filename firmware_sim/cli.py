"""``blueranch sim``: run simulated devices on pseudo-terminals."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import click

from firmware_sim.devices.sdi12_sonde import Sdi12Sonde
from firmware_sim.links import LinkServer
from firmware_sim.water import WaterModel

SCENARIOS = ("single-buoy",)


@click.group("sim")
def group() -> None:
    """Simulated marine ranch speaking the real sensor protocols."""


@group.command("devices")
@click.option("--scenario", default="single-buoy", show_default=True, help="Scenario name or YAML path.")
def devices(scenario: str) -> None:
    """Print each device id, protocol, address and link name."""
    _check_scenario(scenario)
    click.echo("device\tprotocol\taddress\tlink")
    click.echo("sonde-1\tsdi12\t0\tsonde-1")


@group.command("run")
@click.option("--scenario", default="single-buoy", show_default=True, help="Scenario name or YAML path.")
@click.option("--pty-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for one symlink per serial device, named by device id.")
@click.option("--seed", type=int, default=1, show_default=True)
def run(scenario: str, pty_dir: Path, seed: int) -> None:
    """Run the scenario's devices until Ctrl-C or SIGTERM."""
    _check_scenario(scenario)
    model = WaterModel()
    sonde = Sdi12Sonde(address="0", read=lambda: model.state(time.time()))
    link = LinkServer()
    served = link.add(sonde, pty_dir / "sonde-1")
    link.start()
    click.echo(f"sonde-1 sdi12 address 0 on {served.slave_name} -> {pty_dir / 'sonde-1'}", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        link.close()


def _check_scenario(scenario: str) -> None:
    if scenario not in SCENARIOS:
        raise click.BadParameter(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}",
                                 param_hint="--scenario")
