"""``blueranch edge``: run the agent and the technician's tools."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click

from blueranch.contracts.errors import ContractError
from edge.config import load_config


@click.group("edge")
def group() -> None:
    """Buoy and gateway agent: drivers, QC, store-and-forward, technician tools."""


@group.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check_config(file: Path) -> None:
    """Validate FILE: print every error with its dotted path; exit 2 when invalid, 0 when valid."""
    try:
        load_config(file)
    except FileNotFoundError:
        click.echo(f"{file}: no such file", err=True)
        sys.exit(2)
    except ContractError as exc:
        for v in exc.violations:
            click.echo(f"{file}: {v}", err=True)
        sys.exit(2)
    click.echo(f"{file}: valid")


@group.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--log-level", default="INFO", show_default=True)
def run(config_path: Path, log_level: str) -> None:
    """Run the agent until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(config_path)
    except ContractError as exc:
        for v in exc.violations:
            click.echo(f"{config_path}: {v}", err=True)
        sys.exit(2)
    from edge.agent import Agent

    agent = Agent(config)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    signal.signal(signal.SIGINT, lambda *_: agent.stop())
    agent.run()
