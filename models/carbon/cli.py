"""``blueranch carbon``: the carbon calculator, the live worker and the MRV report.

Exit codes: 0 ok, 2 bad input or config (the message names the field, the value and what is allowed),
1 a runtime failure (InfluxDB unreachable and not retried, ...).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC
from pathlib import Path

import click
from pydantic import ValidationError

from blueranch.cliapp import Group
from blueranch.signals import on_stop_signals

log = logging.getLogger("blueranch.carbon")

#: ``carbon compute --input``: the largest input file (100,000 sinks and 100,000 sources, the schema's maximum,
#: take about 30 MB of JSON)
INPUT_MAX_BYTES = 50_000_000


def format_validation_error(exc: ValidationError, what: str) -> str:
    """One line per problem: ``field: rule (got value)``."""
    lines = [f"{what}: {exc.error_count()} problem(s)"]
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(document)"
        got = e.get("input")
        shown = json.dumps(got, default=str)[:120] if not isinstance(got, dict) else "{...}"
        lines.append(f"  {loc}: {e['msg']} (got {shown})")
    return "\n".join(lines)


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


def load_config_or_exit(path: str):
    from blueranch.models.carbon.config import load_config

    try:
        return load_config(path)
    except ValidationError as exc:
        _fail(format_validation_error(exc, f"config {path}"))
    except (OSError, ValueError) as exc:
        _fail(f"config {path}: {exc}")


@click.group("carbon", cls=Group)
def group() -> None:
    """Carbon stocks, island budget, uncertainty and MRV reports."""


@group.command("compute")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON input (see docs/carbon.md); '-' reads stdin.",
)
@click.option(
    "--draws", default=10_000, show_default=True, type=click.IntRange(100, 1_000_000), help="Monte Carlo draws."
)
@click.option("--seed", default=20231031, show_default=True, type=int, help="Monte Carlo seed.")
def compute_cmd(input_path: str, draws: int, seed: int) -> None:
    """Budget of reported tonnages and fuel/energy figures; prints JSON (units in every key)."""
    from blueranch.loader import Limits, parse_json, read_bytes
    from blueranch.models.carbon.compute import ComputeInput, compute

    limits = Limits(max_bytes=INPUT_MAX_BYTES)
    if input_path == "-":
        doc = parse_json(sys.stdin.buffer.read(limits.max_bytes + 1), "stdin", limits)
    else:
        doc = parse_json(read_bytes(input_path, limits), input_path, limits)
    try:
        inp = ComputeInput.model_validate(doc)
    except ValidationError as exc:
        _fail(format_validation_error(exc, f"input {input_path}"))
    click.echo(json.dumps(compute(inp, draws=draws, seed=seed), indent=2))


@group.command("worker")
@click.option(
    "--influx",
    "influx_url",
    default="http://127.0.0.1:8086",
    show_default=True,
    help="InfluxDB base URL (v1 HTTP API).",
)
@click.option("--database", default="blueranch", show_default=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    required=True,
    help="Carbon config YAML (deploy/blueranch/carbon.yaml); unknown keys are errors.",
)
@click.option(
    "--interval-s", default=300.0, show_default=True, type=click.FloatRange(1, 86400), help="Seconds between cycles."
)
@click.option("--once", is_flag=True, help="Run one cycle and exit.")
@click.option("--influx-username", envvar="BLUERANCH_INFLUX_USERNAME", show_envvar=True)
@click.option("--log-level", default="INFO", show_default=True)
def worker_cmd(
    influx_url: str,
    database: str,
    config_path: str,
    interval_s: float,
    once: bool,
    influx_username: str | None,
    log_level: str,
) -> None:
    """Live stocks and budget per asset, farm, category and site (day, month, year to date)."""
    import os
    import threading

    from blueranch.influxdb import InfluxClient, InfluxError
    from blueranch.models.carbon.worker import CarbonWorker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config_or_exit(config_path)
    client = InfluxClient(
        influx_url, database, username=influx_username, password=os.environ.get("BLUERANCH_INFLUX_PASSWORD")
    )
    worker = CarbonWorker(client, cfg)
    if once:
        try:
            stats = worker.cycle()
        except InfluxError as exc:
            click.echo(f"carbon worker: {exc}", err=True)
            sys.exit(1)
        click.echo(json.dumps(stats.__dict__))
        return
    stop = threading.Event()
    on_stop_signals(stop.set)
    log.info(
        "carbon worker: site=%s assets=%d influx=%s database=%s interval=%.0fs",
        cfg.site,
        len(cfg.assets),
        influx_url,
        database,
        interval_s,
    )
    worker.run(interval_s, stop)


def _date(value: str, option: str, end: bool) -> int:
    """``YYYY-MM-DD`` (UTC; as ``--to`` the whole day is included) or an RFC 3339 UTC time -> ms."""
    from datetime import datetime, timedelta

    try:
        if len(value) == 10:
            d = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return int((d + timedelta(days=1 if end else 0)).timestamp() * 1000)
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{option}: {value!r} is not a date (YYYY-MM-DD) or an RFC 3339 UTC time")
    if t.tzinfo is None or t.utcoffset().total_seconds() != 0:
        _fail(f"{option}: {value!r} must be UTC (end with Z)")
    return int(t.timestamp() * 1000)


@group.command("report")
@click.option("--influx", "influx_url", default="http://127.0.0.1:8086", show_default=True)
@click.option("--database", default="blueranch", show_default=True)
@click.option("--site", required=True, help="Site id; must be the config's site.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="BLUERANCH_CARBON_CONFIG",
    show_envvar=True,
    required=True,
    help="Carbon config YAML.",
)
@click.option("--from", "date_from", required=True, help="First day (YYYY-MM-DD, UTC) or RFC 3339 time.")
@click.option("--to", "date_to", required=True, help="Last day, included (YYYY-MM-DD) or RFC 3339 end (excluded).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--price-per-t-co2e", type=click.FloatRange(0, 1e6), help="Price per t CO2e (overrides the config).")
@click.option("--draws", type=click.IntRange(100, 1_000_000), help="Monte Carlo draws (default: the config's).")
@click.option("--influx-username", envvar="BLUERANCH_INFLUX_USERNAME", show_envvar=True)
def report_cmd(
    influx_url: str,
    database: str,
    site: str,
    config_path: str,
    date_from: str,
    date_to: str,
    out_dir: str,
    price_per_t_co2e: float | None,
    draws: int | None,
    influx_username: str | None,
) -> None:
    """Self-contained HTML MRV report (and a JSON of its figures) for a site and period."""
    import os
    import shlex

    from blueranch.influxdb import InfluxClient, InfluxError
    from blueranch.models.carbon.report import write_report
    from blueranch.models.carbon.worker import CarbonWorker

    cfg = load_config_or_exit(config_path)
    if site != cfg.site:
        _fail(f"--site: {site!r} is not the config's site {cfg.site!r}")
    if price_per_t_co2e is not None:
        cfg = cfg.model_copy(
            update={
                "price_per_t_co2e": price_per_t_co2e,
                "price_source": "given on the command line (--price-per-t-co2e)",
            }
        )
    start_ms, end_ms = _date(date_from, "--from", False), _date(date_to, "--to", True)
    if end_ms <= start_ms:
        _fail(f"--to: {date_to!r} must be after --from {date_from!r}")
    args = ["blueranch", "carbon", "report", "--influx", influx_url, "--database", database, "--site", site]
    args += ["--config", str(Path(config_path).resolve())]
    args += ["--from", date_from, "--to", date_to, "--out", out_dir]
    args += ["--price-per-t-co2e", f"{price_per_t_co2e:g}"] if price_per_t_co2e is not None else []
    args += ["--draws", str(draws)] if draws else []
    client = InfluxClient(
        influx_url, database, username=influx_username, password=os.environ.get("BLUERANCH_INFLUX_PASSWORD")
    )
    try:
        inputs, latest, _ = CarbonWorker(client, cfg).inputs(start_ms, end_ms)
    except InfluxError as exc:
        click.echo(f"carbon report: {exc}", err=True)
        sys.exit(1)
    if latest is None or not inputs.assets:
        _fail(f"no load-cell readings for site {site!r} in database {database!r}: nothing to report")
    result = write_report(Path(out_dir), cfg, inputs, start_ms, end_ms, latest, shlex.join(args), draws)
    site_total = result.budget.total("site", cfg.site, result.period)
    click.echo(
        json.dumps(
            {
                "html": str(result.html_path),
                "json": str(result.json_path),
                "sinks_t_co2e": round(site_total.sinks_t_co2e, 6),
                "net_emissions_t_co2e": round(site_total.net_emissions_t_co2e, 6),
                "data_sha256": result.data_sha256,
                "parameters_sha256": result.parameters_sha256,
            }
        )
    )
