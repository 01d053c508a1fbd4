"""``blueranch carbon``: the carbon calculator, the live worker and the MRV report.

Exit codes: 0 ok, 2 bad input or config (the message names the field, the value and what is allowed),
1 a runtime failure (InfluxDB unreachable and not retried, ...).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
from pydantic import ValidationError

log = logging.getLogger("blueranch.carbon")


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
    from models.carbon.config import load_config
    try:
        return load_config(path)
    except ValidationError as exc:
        _fail(format_validation_error(exc, f"config {path}"))
    except (OSError, ValueError) as exc:
        _fail(f"config {path}: {exc}")


@click.group("carbon")
def group() -> None:
    """Carbon stocks, island budget, uncertainty and MRV reports."""


@group.command("compute")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSON input (see docs/carbon.md); '-' reads stdin.")
@click.option("--draws", default=10_000, show_default=True, type=click.IntRange(100, 1_000_000),
              help="Monte Carlo draws.")
@click.option("--seed", default=20231031, show_default=True, type=int, help="Monte Carlo seed.")
def compute_cmd(input_path: str, draws: int, seed: int) -> None:
    """Budget of reported tonnages and fuel/energy figures; prints JSON (units in every key)."""
    from models.carbon.compute import ComputeInput, compute
    try:
        text = sys.stdin.read() if input_path == "-" else Path(input_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"input {input_path}: cannot read: {exc}")
    if len(text) > 50_000_000:
        _fail(f"input {input_path}: {len(text)} bytes, at most 50000000 allowed")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"input {input_path}: not JSON: {exc}")
    try:
        inp = ComputeInput.model_validate(doc)
    except ValidationError as exc:
        _fail(format_validation_error(exc, f"input {input_path}"))
    click.echo(json.dumps(compute(inp, draws=draws, seed=seed), indent=2))


@group.command("worker")
@click.option("--influx", "influx_url", default="http://127.0.0.1:8086", show_default=True,
              help="InfluxDB base URL (v1 HTTP API).")
@click.option("--database", default="blueranch", show_default=True)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Carbon config YAML (deploy/blueranch/carbon.yaml); unknown keys are errors.")
@click.option("--from-truth", "truth_path", type=click.Path(exists=True, dir_okay=False),
              help="Build the config from a simulator truth file's meta line instead (agreement 3).")
@click.option("--interval-s", default=300.0, show_default=True, type=click.FloatRange(1, 86400),
              help="Seconds between cycles.")
@click.option("--once", is_flag=True, help="Run one cycle and exit.")
@click.option("--influx-username", envvar="BLUERANCH_INFLUX_USERNAME", show_envvar=True)
@click.option("--log-level", default="INFO", show_default=True)
def worker_cmd(influx_url: str, database: str, config_path: str | None, truth_path: str | None,
               interval_s: float, once: bool, influx_username: str | None, log_level: str) -> None:
    """Live stocks and budget per asset, farm, category and site (day, month, year to date)."""
    import os
    import signal
    import threading

    from blueranch.influxdb import InfluxClient, InfluxError
    from models.carbon.worker import CarbonWorker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = _config(config_path, truth_path)
    client = InfluxClient(influx_url, database, username=influx_username,
                          password=os.environ.get("BLUERANCH_INFLUX_PASSWORD"))
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
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("carbon worker: site=%s assets=%d influx=%s database=%s interval=%.0fs", cfg.site, len(cfg.assets),
             influx_url, database, interval_s)
    worker.run(interval_s, stop)


def _config(config_path: str | None, truth_path: str | None):
    if bool(config_path) == bool(truth_path):
        _fail("give exactly one of --config FILE or --from-truth FILE")
    if config_path:
        return load_config_or_exit(config_path)
    from models.carbon.truth import read_meta
    from models.carbon.config import config_from_truth_meta
    try:
        return config_from_truth_meta(read_meta(truth_path))
    except (OSError, ValueError, KeyError, ValidationError) as exc:
        _fail(f"truth file {truth_path}: {exc}")
