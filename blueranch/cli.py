"""The ``blueranch`` command.

Each subcommand group lives in its own package (``edge/cli.py``, ``ingest/cli.py``, ...) and is
imported only when it is used, so a buoy that installed ``blueranch[edge]`` never imports numpy or
the server's libraries just to print ``--help``.
"""

from __future__ import annotations

import importlib

import click

from blueranch import __version__
from blueranch.cliapp import Group

#: group name -> ("module:attribute", one-line help). The registry test checks every entry imports.
GROUPS: dict[str, tuple[str, str]] = {
    "sim": ("blueranch.sim.cli:group", "Simulated marine ranch speaking the real sensor protocols."),
    "edge": ("blueranch.edge.cli:group", "Buoy and gateway agent: drivers, QC, store-and-forward, technician tools."),
    "ingest": ("blueranch.ingest.cli:group", "MQTT to InfluxDB ingest workers."),
    "carbon": ("blueranch.models.carbon.cli:group", "Carbon stocks, island budget, uncertainty and MRV reports."),
    "alerts": (
        "blueranch.models.alerts.cli:group",
        "Early warnings: hypoxia, heatwaves, storms, losses, silent devices.",
    ),
    "dashboards": ("blueranch.dashboards.cli:group", "Build and publish the Grafana dashboards."),
    "export": ("blueranch.export.cli:group", "Open ocean data: CF/ACDD NetCDF, CSV and an ERDDAP dataset."),
    "deploy": ("blueranch.deploy.cli:group", "Generate a shore server's secrets, certificates and broker security."),
    "demo": ("blueranch.demo:group", "Run the whole pipeline locally on simulated data."),
}


class LazyGroup(Group):
    """A click group whose subcommands are imported on first use; each must be a :class:`blueranch.cliapp.Group`
    (one line and one exit code for every failure, ``--debug`` for the traceback)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(GROUPS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in GROUPS:
            return None
        target, _ = GROUPS[cmd_name]
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A missing optional dependency: say which extra provides it instead of a traceback.
            raise click.ClickException(
                f"'blueranch {cmd_name}' needs the Python package '{exc.name}', which is not installed. "
                f"Install it with: pip install 'blueranch[all]' (or the extra for this role: edge, sim, server, export)"
            ) from exc
        command = getattr(module, attr)
        if not isinstance(command, Group):
            raise TypeError(f"{target} is not a blueranch.cliapp.Group (its failures would be tracebacks)")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Use the static help text so that '--help' imports nothing.
        rows = [(name, GROUPS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blueranch")
def main() -> None:
    """BlueRanch: marine ranch monitoring and a live, auditable island carbon budget."""
