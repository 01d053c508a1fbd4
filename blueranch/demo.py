"""``blueranch demo``: the whole pipeline on this machine, on simulated data.

Starts Mosquitto and InfluxDB (own folders under ``--dir``, free ports), the simulator, an edge agent,
the ingest worker and the workers, then prints readings as they land in InfluxDB. Ctrl-C or SIGTERM
stops every process it started; nothing is left behind.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import click
import yaml

from blueranch.contracts.influx import MEASUREMENTS

SONDE_QUANTITIES = ["temp_c", "sp_cond_us_cm", "salinity_psu", "depth_m", "do_mg_l", "do_sat_pct", "ph",
                    "chl_ug_l", "turbidity_ntu"]


def edge_config(site: str, device: str, mqtt_url: str, pty_dir: Path, interval_s: float) -> dict:
    return {
        "site": site,
        "device": device,
        "mqtt": {"url": mqtt_url},
        "buffer": {"path": str(pty_dir.parent / f"{device}-buffer.sqlite")},
        "sensors": [{"id": "sonde-1", "driver": "sdi12", "port": str(pty_dir / "sonde-1"), "address": "0",
                     "interval_s": interval_s, "farm": "mussel-1", "quantities": SONDE_QUANTITIES}],
    }


@click.group("demo", invoke_without_command=True)
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path), default=Path(".demo"),
              show_default=True, help="Folder for the broker's and database's data and the logs.")
@click.option("--interval-s", type=float, default=5.0, show_default=True, help="Sonde polling interval.")
@click.option("--duration-s", type=float, default=0.0, help="Stop by itself after this long (0: run until Ctrl-C).")
@click.pass_context
def group(ctx: click.Context, workdir: Path, interval_s: float, duration_s: float) -> None:
    """Run the whole pipeline locally on simulated data."""
    if ctx.invoked_subcommand is not None:
        return
    from blueranch.influxdb import InfluxClient
    from blueranch.procs import Supervisor, blueranch_command
    from blueranch.testing.services import InfluxDB, Mosquitto

    workdir = workdir.resolve()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    database = "blueranch"
    broker = Mosquitto(workdir / "mosquitto")
    db = InfluxDB(workdir / "influxdb")
    sup = Supervisor(workdir / "logs")
    try:
        click.echo(f"starting Mosquitto and InfluxDB under {workdir} ...")
        broker.start()
        db.start()
        client = InfluxClient(db.url, database)
        client.ensure_database()
        click.echo(f"  MQTT broker  {broker.url}")
        click.echo(f"  InfluxDB     {db.url}  database '{database}'")
        pty_dir = workdir / "pty"
        sup.start("sim", blueranch_command("sim", "run", "--scenario", "single-buoy", "--pty-dir", str(pty_dir)))
        cfg_path = workdir / "edge-buoy-01.yaml"
        cfg_path.write_text(yaml.safe_dump(edge_config("dachen", "buoy-01", broker.url, pty_dir, interval_s)))
        sup.start("ingest", blueranch_command("ingest", "run", "--mqtt", broker.url, "--influx", db.url,
                                              "--database", database))
        _wait_for_link(pty_dir / "sonde-1", stop)
        sup.start("edge", blueranch_command("edge", "run", "--config", str(cfg_path)))
        click.echo(f"  logs         {workdir / 'logs'}")
        click.echo("readings as they land in InfluxDB (Ctrl-C to stop):")
        _print_readings(client, stop, duration_s)
    finally:
        click.echo("stopping ...")
        codes = sup.stop_all()
        db.stop()
        broker.stop()
        click.echo("stopped: " + ", ".join(f"{k} ({v})" for k, v in codes.items()) + ", influxd, mosquitto")


def _wait_for_link(path: Path, stop: threading.Event, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists() and not stop.is_set():
        if time.monotonic() > deadline:
            raise click.ClickException(f"the simulator did not create {path} within {timeout_s} s")
        stop.wait(0.1)


def _print_readings(client, stop: threading.Event, duration_s: float) -> None:
    wq = MEASUREMENTS["water_quality"]
    fields = ["temp_c", "salinity_psu", "do_mg_l", "ph", "chl_ug_l"]
    for f in fields:
        wq.field(f)  # the demo may only print what the contract defines
    last_ms = int(time.time() * 1000) - 60_000
    started = time.monotonic()
    while not stop.is_set():
        if duration_s and time.monotonic() - started > duration_s:
            break
        try:
            series = client.query(f"SELECT {', '.join(fields)} FROM {wq.qualified} WHERE time > {last_ms}ms "
                                  f"GROUP BY device, sensor")
        except Exception as exc:  # the demo keeps going while the database catches up
            click.echo(f"  (query failed: {exc})")
            series = []
        for s in series:
            for row in s.rows():
                last_ms = max(last_ms, row["time"])
                t = datetime.fromtimestamp(row["time"] / 1000, timezone.utc).strftime("%H:%M:%S")
                vals = "  ".join(f"{f}={row[f]}" for f in fields if row.get(f) is not None)
                click.echo(f"  {t}Z {s.tags.get('device')}/{s.tags.get('sensor')}  {vals}")
        stop.wait(1.0)
