"""``blueranch demo``: the whole pipeline on this machine, on simulated data.

What it starts (every process in its own group, all stopped on Ctrl-C or SIGTERM, nothing left behind):

- Mosquitto and InfluxDB, in their own folders under ``--dir``, on free loopback ports; the broker runs the
  security config ``blueranch deploy init`` generated in ``--dir/deploy`` (its own passwords, CA and
  certificates, each user bound to its client id, the scenario's devices in the shore's registry), the edge
  agents connect over TLS with their client certificates and the ingest binds tags to the registry;
- the simulator running the ``dachen`` scenario live (``--start now``, real time), its serial devices on
  pseudo-terminals under ``--dir/pty``;
- two edge agents: ``buoy-01`` (SDI-12 sonde, NMEA GPS and weather, Modbus buoy power controller) and
  ``shore-01`` (the island's Modbus grid energy meter and diesel flow meter);
- the ingest worker, the carbon worker and the alert worker;
- a history feed: ``--history-days`` of the scenario's load cells, simulated as fast as possible from 1 January
  and published as contract telemetry (``blueranch sim feed``), so the year-to-date budget has a past.

Then it prints readings as they land and, every ``--budget-every-s``, the live island budget from the carbon
worker's ``carbon_budget`` points (year to date, with the 95 % interval), and the open alerts.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
import yaml

from blueranch.cliapp import Group
from blueranch.contracts.query import Between, Recent, TagEq, latest, window
from blueranch.signals import on_stop_signals
from blueranch.sim.physics.environment import WATER_QUANTITIES

if TYPE_CHECKING:
    from blueranch.reader import Reader

REPO = Path(__file__).resolve().parents[1]
#: What the simulated sonde reports, in its aD0! order.
SONDE_QUANTITIES = list(WATER_QUANTITIES)
SITE = "dachen"


def edge_config(
    site: str, device: str, mqtt_url: str, pty_dir: Path, interval_s: float, credentials: Path | None = None
) -> dict:
    """The walking skeleton's agent: one SDI-12 sonde (``sonde-1``, address 0) on a pty.

    ``credentials``: the device's folder made by ``blueranch deploy init`` (password, client certificate)."""
    mqtt: dict = {"url": mqtt_url}
    if credentials is not None:
        mqtt.update(
            username=device,
            password_file=str(credentials / "password"),
            ca_file=str(credentials / "ca.crt"),
            cert_file=str(credentials / "client.crt"),
            key_file=str(credentials / "client.key"),
        )
    return {
        "site": site,
        "device": device,
        "mqtt": mqtt,
        "buffer": {"path": str(pty_dir.parent / f"{device}-buffer.sqlite")},
        "sensors": [
            {
                "id": "sonde-1",
                "driver": "sdi12",
                "port": str(pty_dir / "sonde-1"),
                "address": "0",
                "interval_s": interval_s,
                "farm": "mussel-1",
                "quantities": SONDE_QUANTITIES,
            }
        ],
    }


def buoy_config(mqtt_url: str, pty_dir: Path, interval_s: float, credentials: Path | None = None) -> dict:
    """buoy-01 of the dachen scenario (``blueranch sim devices --scenario dachen``; docs/simulator.md)."""
    cfg = edge_config(SITE, "buoy-01", mqtt_url, pty_dir, interval_s, credentials)
    cfg["sensors"][0]["asset"] = "m1-ll-01"
    cfg["sensors"] += [
        {
            "id": "gps-1",
            "driver": "nmea0183",
            "port": str(pty_dir / "gps-1"),
            "sentences": ["GGA", "RMC", "MWV", "XDR"],
            "interval_s": interval_s,
            "farm": "mussel-1",
        },
        {
            "id": "pwr-1",
            "driver": "modbus_rtu",
            "port": str(pty_dir / "pwr-1"),
            "parity": "N",
            "slave_id": 10,
            "interval_s": max(interval_s, 10.0),
            "farm": "mussel-1",
            "registers": [
                {"address": 0, "quantity": "battery_v"},
                {"address": 2, "quantity": "solar_a"},
                {"address": 4, "quantity": "enclosure_rh_pct"},
                {"address": 6, "quantity": "rssi_dbm"},
            ],
        },
    ]
    return cfg


def shore_config(mqtt_url: str, pty_dir: Path, interval_s: float, credentials: Path | None = None) -> dict:
    """shore-01: the island's grid energy meter (ABCD) and diesel flow meter (DCBA), as in the scenario."""
    return {
        "site": SITE,
        "device": "shore-01",
        "mqtt": edge_config(SITE, "shore-01", mqtt_url, pty_dir, interval_s, credentials)["mqtt"],
        "buffer": {"path": str(pty_dir.parent / "shore-01-buffer.sqlite")},
        "sensors": [
            {
                "id": "energy-1",
                "driver": "modbus_rtu",
                "port": str(pty_dir / "energy-1"),
                "parity": "N",
                "slave_id": 1,
                "interval_s": interval_s,
                "registers": [{"address": 0, "quantity": "grid_kwh_total"}],
            },
            {
                "id": "fuel-1",
                "driver": "modbus_rtu",
                "port": str(pty_dir / "fuel-1"),
                "parity": "N",
                "slave_id": 2,
                "interval_s": interval_s,
                "registers": [
                    {"address": 0, "quantity": "diesel_l_total", "byte_order": "little", "word_order": "little"}
                ],
            },
        ],
    }


@click.group("demo", cls=Group, invoke_without_command=True)
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="Folder for the broker's and database's data, configs and logs.",
)
@click.option("--interval-s", type=float, default=5.0, show_default=True, help="Edge polling interval.")
@click.option(
    "--history-days",
    type=click.IntRange(0, 365),
    default=90,
    show_default=True,
    help="Days of load-cell history (from 1 January) fed before the live run; 0: none.",
)
@click.option(
    "--budget-every-s", type=float, default=20.0, show_default=True, help="How often to print the live budget."
)
@click.option("--duration-s", type=float, default=0.0, help="Stop by itself after this long (0: run until Ctrl-C).")
@click.pass_context
def group(
    ctx: click.Context, workdir: Path, interval_s: float, history_days: int, budget_every_s: float, duration_s: float
) -> None:
    """Run the whole pipeline locally on simulated data and show the live budget."""
    if ctx.invoked_subcommand is not None:
        return
    from blueranch.influxdb import InfluxClient
    from blueranch.procs import Supervisor, blueranch_command
    from blueranch.reader import Reader
    from blueranch.testing.services import DeployedMosquitto, InfluxDB

    workdir = workdir.resolve()
    stop = threading.Event()
    on_stop_signals(stop.set)
    database = "blueranch"
    deploy, registry_file = _deploy(workdir)
    broker = DeployedMosquitto(workdir / "mosquitto", deploy.root)
    db = InfluxDB(workdir / "influxdb")
    sup = Supervisor(workdir / "logs")
    try:
        click.echo(f"starting Mosquitto and InfluxDB under {workdir} ...")
        broker.start()
        db.start()
        client = InfluxClient(db.url, database)
        client.ensure_database()  # what blueranch deploy init-db runs: the ingest never creates it
        click.echo(f"  MQTT broker  {broker.url}")
        click.echo(f"  MQTT/TLS     {broker.tls_url}  (edge agents, with their client certificates)")
        click.echo(f"  InfluxDB     {db.url}  database '{database}'")
        click.echo(f"  secrets      {deploy.root}  (blueranch deploy init; registry {registry_file.name})")
        click.echo(f"  logs         {workdir / 'logs'}")
        pty_dir = workdir / "pty"
        sup.start(
            "ingest",
            blueranch_command(
                "ingest",
                "run",
                "--mqtt",
                broker.url,
                "--influx",
                db.url,
                "--database",
                database,
                "--registry",
                str(registry_file),
                "--mqtt-username",
                "ingest",
                "--mqtt-password-file",
                str(deploy.password("ingest")),
            ),
        )
        sup.start(
            "sim",
            blueranch_command(
                "sim", "run", "--scenario", SITE, "--pty-dir", str(pty_dir), "--start", "now", "--speed", "1"
            ),
        )
        configs = {
            "buoy-01": buoy_config(broker.tls_url, pty_dir, interval_s, deploy.identity_dir("buoy-01")),
            "shore-01": shore_config(broker.tls_url, pty_dir, interval_s, deploy.identity_dir("shore-01")),
        }
        for device, cfg in configs.items():
            for sensor in cfg["sensors"]:
                _wait_for_link(Path(sensor["port"]), stop)
            path = workdir / f"edge-{device}.yaml"
            path.write_text(yaml.safe_dump(cfg, sort_keys=False))
            sup.start(f"edge-{device}", blueranch_command("edge", "run", "--config", str(path)))
        sup.start(
            "carbon",
            blueranch_command(
                "carbon",
                "worker",
                "--influx",
                db.url,
                "--database",
                database,
                "--config",
                str(REPO / "deploy/blueranch/carbon.yaml"),
                "--interval-s",
                str(max(budget_every_s / 2, 5.0)),
            ),
        )
        sup.start(
            "alerts",
            blueranch_command(
                "alerts",
                "run",
                "--influx",
                db.url,
                "--database",
                database,
                "--config",
                str(REPO / "deploy/blueranch/alerts.yaml"),
                "--state",
                str(workdir / "alerts.sqlite"),
                "--mqtt",
                broker.url,
                "--mqtt-username",
                "alerts",
                "--interval-s",
                "30",
            ),
            env={"BLUERANCH_ALERTS_MQTT_PASSWORD": _secret(deploy.password("alerts"))},
        )
        if history_days:
            click.echo(f"feeding {history_days} days of load-cell history (from 1 January) in the background ...")
            sup.start(
                "history",
                blueranch_command(
                    "sim",
                    "feed",
                    "--mqtt",
                    broker.url,
                    "--scenario",
                    SITE,
                    "--days",
                    str(history_days),
                    "--truth-out",
                    str(workdir / "history-truth.jsonl"),
                    "--mqtt-username",
                    "sim-feed",
                ),
                env={"BLUERANCH_MQTT_PASSWORD": _secret(deploy.password("sim-feed"))},
            )
        click.echo("readings as they land in InfluxDB, and the live budget (Ctrl-C to stop):")
        _watch(Reader(client), stop, duration_s, budget_every_s)
    finally:
        click.echo("stopping ...")
        codes = sup.stop_all()
        db.stop()
        broker.stop()
        click.echo("stopped: " + ", ".join(f"{k} ({v})" for k, v in codes.items()) + ", influxd, mosquitto")


def _deploy(workdir: Path):
    """The demo's own secrets and broker security in ``workdir/deploy`` (kept across runs), for the scenario's
    devices; returns the layout and the registry file."""
    from blueranch.deploy.init import InitOptions, Layout, init
    from blueranch.ingest.registry import parse_registry
    from blueranch.sim.registry import registry_data
    from blueranch.sim.scenario import load_scenario

    data = registry_data(load_scenario(SITE))
    registry_file = workdir / "registry.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    registry_file.write_text(yaml.safe_dump(data, sort_keys=False))
    root = workdir / "deploy"
    init(root, InitOptions(parse_registry(data).config, ingest_workers=1, sim=True))
    return Layout(root), registry_file


def _secret(path: Path) -> str:
    return path.read_text().splitlines()[0]


def _wait_for_link(path: Path, stop: threading.Event, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists() and not stop.is_set():
        if time.monotonic() > deadline:
            raise click.ClickException(f"the simulator did not create {path} within {timeout_s} s")
        stop.wait(0.1)


def _watch(reader: Reader, stop: threading.Event, duration_s: float, budget_every_s: float) -> None:
    fields = ("temp_c", "salinity_psu", "do_mg_l", "ph", "chl_ug_l")
    last_ms = int(time.time() * 1000) - 60_000
    started = time.monotonic()
    next_budget = started + budget_every_s
    while not stop.is_set():
        if duration_s and time.monotonic() - started > duration_s:
            break
        try:
            series = reader.run(window("water_quality", fields, Between(last_ms + 1), group_by=("device", "sensor")))
            for s in series:
                for row in s.rows():
                    last_ms = max(last_ms, row["time"])
                    t = datetime.fromtimestamp(row["time"] / 1000, UTC).strftime("%H:%M:%S")
                    vals = "  ".join(f"{f}={row[f]}" for f in fields if row.get(f) is not None)
                    click.echo(f"  {t}Z {s.tags.get('device')}/{s.tags.get('sensor')}  {vals}")
            if time.monotonic() >= next_budget:
                next_budget = time.monotonic() + budget_every_s
                click.echo(_budget_line(reader))
        except Exception as exc:  # noqa: BLE001 - the demo keeps going while the database catches up
            click.echo(f"  (query failed: {exc})")
        stop.wait(1.0)


def _budget_line(reader: Reader) -> str:
    """The site's year-to-date budget as the carbon worker last wrote it (contract: carbon_budget)."""
    cols = (
        "sinks_t_c",
        "sinks_t_co2e",
        "sinks_lo95_t_co2e",
        "sinks_hi95_t_co2e",
        "sources_t_co2e",
        "net_emissions_t_co2e",
        "value",
        "completeness",
    )
    series = reader.run(
        latest(
            "carbon_budget",
            cols,
            span=Recent("800d"),
            where=(TagEq("scope", "site"), TagEq("period", "ytd"), TagEq("method", "count")),
        )
    )
    alerts = reader.run(
        latest("alerts", ("open", "message"), span=Recent("30d"), group_by=("kind", "device", "subject"))
    )
    open_alerts = [f"{a.tags.get('kind')}@{a.tags.get('device')}" for a in alerts if a.values and a.values[0][1] == 1]
    alert_text = f"  ALERTS open: {len(open_alerts)}" + (f" ({', '.join(open_alerts[:5])})" if open_alerts else "")
    if not series or not series[0].values:
        return "  BUDGET: waiting for the carbon worker's first year-to-date figures ...\n" + alert_text
    r = series[0].rows()[0]

    def f(key: str) -> str:
        v = r.get(key)
        return "n/a" if v is None else f"{v:,.1f}"

    return (
        f"  BUDGET {SITE} year to date: sinks {f('sinks_t_co2e')} t CO2e ({f('sinks_t_c')} t C; 95 % "
        f"{f('sinks_lo95_t_co2e')}..{f('sinks_hi95_t_co2e')}), sources {f('sources_t_co2e')} t CO2e, "
        f"net emissions {f('net_emissions_t_co2e')} t CO2e, value {f('value')} CNY, completeness "
        f"{f('completeness')}\n{alert_text}"
    )
