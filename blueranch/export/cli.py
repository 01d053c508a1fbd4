"""``blueranch export``: open ocean data from InfluxDB as CF/ACDD NetCDF, CSV, and an ERDDAP dataset.

Exit codes: 0 written; 2 bad input (an option, the config, the registry, or a selection with nothing to
export: one line naming the field, the value and the rule); 1 InfluxDB unreachable or refusing the query,
or the files cannot be written (a full disk).
The InfluxDB password comes from ``$BLUERANCH_INFLUX_PASSWORD``, never from the command line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from blueranch.cliapp import Group
from blueranch.cliopts import database_option, influx_option
from blueranch.contracts.errors import ContractError

DAY_H = 24.0


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _selection_options(f):
    options = [
        click.option("--site", required=True, help="Site id (the 'site' tag)."),
        click.option("--from", "start", required=True, help="Start, ISO 8601 (2026-01-01, 2026-01-01T08:00+08:00)."),
        click.option("--to", "end", required=True, help="End (excluded), ISO 8601; a time without a zone is UTC."),
        click.option(
            "--out",
            "out_dir",
            required=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder for the files (created if missing).",
        ),
        click.option("--device", "devices", multiple=True, help="Only this device (repeat for several)."),
        click.option(
            "--quantity",
            "quantities",
            multiple=True,
            help="Only this quantity (repeat); default: every quantity with a CF standard name.",
        ),
        influx_option,
        database_option,
        click.option(
            "--influx-username",
            envvar="BLUERANCH_INFLUX_USERNAME",
            show_envvar=True,
            help="InfluxDB user; the password comes from $BLUERANCH_INFLUX_PASSWORD.",
        ),
        click.option(
            "--registry",
            "registry_file",
            envvar="BLUERANCH_REGISTRY",
            show_envvar=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="The shore's device registry: positions (and depths) of devices without GPS.",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Export metadata (YAML: contacts, licence, instruments; docs/export.md).",
        ),
        click.option(
            "--chunk-hours",
            default=DAY_H,
            show_default=True,
            type=click.FloatRange(min=0.01, max=24 * 366),
            help="Read the period in chunks of this many hours (bounds the memory).",
        ),
        click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


class _Job:
    """A validated export request: the reader, the catalog, the config, and the frames of each station."""

    def __init__(self, kw: dict):
        from blueranch.export.catalog import ExportError, Selection, build_catalog
        from blueranch.export.config import load_config
        from blueranch.export.times import parse_time
        from blueranch.influxdb import InfluxClient, InfluxError
        from blueranch.ingest.registry import load_registry
        from blueranch.reader import Reader

        try:
            self.config = load_config(kw["config_file"])
            registry = load_registry(kw["registry_file"]) if kw["registry_file"] is not None else None
            self.selection = Selection(
                kw["site"],
                parse_time(kw["start"], "--from"),
                parse_time(kw["end"], "--to"),
                tuple(kw["devices"]),
                tuple(kw["quantities"]),
            )
        except (ContractError, ExportError, ValueError) as exc:
            _fail(str(exc))
        client = InfluxClient(
            kw["influx_url"], kw["database"], kw["influx_username"], os.environ.get("BLUERANCH_INFLUX_PASSWORD")
        )
        self.reader = Reader(client)
        self.page_ms = max(1, round(kw["chunk_hours"] * 3_600_000))
        self.out_dir: Path = kw["out_dir"]
        self.progress = sys.stderr.isatty() if kw["progress"] is None else kw["progress"]
        try:
            self.catalog = build_catalog(self.reader, self.selection, registry)
        except ExportError as exc:
            _fail(str(exc))
        except InfluxError as exc:
            _fail(str(exc), 1)

    def run(self, write: Callable[[Callable], list[tuple[Path, int]]]) -> None:
        """``write(station_frames)`` writes the files; prints one line per file."""
        from blueranch.export.frames import frames
        from blueranch.influxdb import InfluxError

        sel = self.selection
        total = (sel.end_ms - sel.start_ms) * len(self.catalog.stations)
        bar = click.progressbar(length=total, label="exporting", file=sys.stderr) if self.progress else None

        def station_frames(station) -> Iterator:
            for span, frame in frames(self.reader, sel, station, self.page_ms):
                if bar is not None:
                    bar.update(span.end_ms - span.start_ms)
                yield frame

        try:
            if bar is not None:
                with bar:
                    written = write(station_frames)
            else:
                written = write(station_frames)
        except InfluxError as exc:
            _fail(str(exc), 1)
        except (OSError, RuntimeError) as exc:  # a full disk, a folder that cannot be made; netCDF/HDF5 errors
            _fail(f"cannot write to {self.out_dir}: {getattr(exc, 'strerror', None) or exc}", 1)
        for path, rows in written:
            click.echo(f"{path}  {rows} rows")


@click.group("export", cls=Group)
def group() -> None:
    """Open ocean data: CF/ACDD NetCDF, CSV, and an ERDDAP dataset of the exported files."""


@group.command("netcdf")
@_selection_options
@click.option(
    "--multi-station", is_flag=True, help="One file for all stations (valid CF; IOOS wants one file per station)."
)
def netcdf_cmd(multi_station: bool, **kw) -> None:
    """One CF 1.8 timeSeries file per station (ACDD 1.3, IOOS 1.2 metadata, QARTOD flag variables)."""
    from blueranch.export.netcdf import write_netcdf

    job = _Job(kw)
    job.run(lambda frames: write_netcdf(job.catalog, job.config, job.out_dir, frames, multi_station))


@group.command("csv")
@_selection_options
@click.option(
    "--time",
    "time_zone",
    type=click.Choice(["utc", "local"]),
    default="utc",
    show_default=True,
    help="Times in UTC, or in the config's time_zone (the site's clock).",
)
def csv_cmd(time_zone: str, **kw) -> None:
    """One CSV file: a row per time and device, a column per quantity and its flag, units in the header."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from blueranch.export.csvfile import write_csv

    job = _Job(kw)
    name = job.config.time_zone if time_zone == "local" else "UTC"
    zone = UTC if name == "UTC" else ZoneInfo(name)
    job.run(lambda frames: [write_csv(job.catalog, job.out_dir, frames, zone, name)])


@group.command("erddap")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The folder of the exported NetCDF files; the fragment is written there.",
)
@click.option("--file-dir", help="That folder as the ERDDAP server sees it (default: its absolute path here).")
def erddap_cmd(out_dir: Path, file_dir: str | None) -> None:
    """An ERDDAP datasets.xml fragment (EDDTableFromNcCFFiles) serving the exported files."""
    from blueranch.export.catalog import ExportError
    from blueranch.export.erddap import write_fragment

    try:
        path, text = write_fragment(out_dir, file_dir)
    except ExportError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write to {out_dir}: {exc.strerror or exc}")
    click.echo(str(path))
    if "???" in text:
        click.echo(
            "warning: the files have no infoUrl or institution: ERDDAP refuses '???'; set info_url and institution "
            "in the export config (docs/export.md) and export again, or edit the fragment",
            err=True,
        )
