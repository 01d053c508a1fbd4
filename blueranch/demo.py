"""``blueranch demo``: the whole pipeline on this machine, on simulated data.

What it starts (every process in its own group, all stopped on Ctrl-C or SIGTERM, nothing left behind):

- Mosquitto and InfluxDB, in their own folders under ``--dir``, on free loopback ports; the broker runs the
  security config ``blueranch deploy init`` generated in ``--dir/deploy`` (its own passwords, CA and
  certificates, each user bound to its client id, the scenario's devices in the shore's registry), the edge
  agents connect over TLS with their client certificates and the ingest binds tags to the registry;
- a history feed: the last ``--history-days`` (up to the demo's start) of every simulated device, as fast as
  it goes, published as contract telemetry (``blueranch sim feed --every-device``), so every dashboard
  panel has data from the first minute; a progress line says how far it got and when it finished;
- the simulator running the ``dachen`` scenario live (``--start now``, real time), its serial devices on
  pseudo-terminals under ``--dir/pty``, with a scripted oxygen crash ``--crash-after-s`` into the run;
- two edge agents: ``buoy-01`` (SDI-12 sonde, NMEA GPS and weather, Modbus buoy power controller) and
  ``shore-01`` (the island's Modbus grid energy meter and diesel flow meter);
- the ingest worker, the carbon worker and the alert worker (a lifecycle short enough for the crash's alert
  to open, escalate and resolve within minutes).

Then it prints readings as they land, alert events as the alert worker writes them and, every
``--budget-every-s``, the live island budget from the carbon worker's ``carbon_budget`` points (year to date,
in the site's zone, with the 95 % interval), and the open alerts.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
import yaml

from blueranch.cliapp import Group
from blueranch.cliopts import log_options
from blueranch.contracts.query import Between, Recent, TagEq, latest, window
from blueranch.signals import on_stop_signals
from blueranch.sim.physics.environment import WATER_QUANTITIES

if TYPE_CHECKING:
    from blueranch.reader import Reader

REPO = Path(__file__).resolve().parents[1]
#: What the simulated sonde reports, in its aD0! order.
SONDE_QUANTITIES = list(WATER_QUANTITIES)
SITE = "dachen"
CARBON_CONFIG = REPO / "deploy/blueranch/carbon.yaml"
ALERTS_CONFIG = REPO / "deploy/blueranch/alerts.yaml"
#: The site's zone (deploy/blueranch/carbon.yaml ``timezone``): the budget's year starts at its midnight.
ZONE = ZoneInfo("Asia/Shanghai")
#: The scenario's engine step (firmware_sim/scenarios/dachen.yaml ``step_s``): the history starts on one.
HISTORY_STEP_S = 600
#: The crash's DO floor: the hypoxia-night scenario's (firmware_sim/scenarios/hypoxia-night.yaml), below every
#: DO limit of models/alerts/config.py (GB 11607-89 and the mussel limits), so each of those rules opens.
CRASH_MIN_DO_MG_L = 1.5
#: How long DO takes to fall and to recover in the crash (seconds; at most a quarter of the crash).
CRASH_RAMP_S = 60.0
#: The demo's alert worker evaluates this often (seconds), so the crash's alert opens within seconds.
ALERT_INTERVAL_S = 5.0


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


class _Command(Group):
    """``blueranch demo`` has no subcommands: its usage line says so (no ``[COMMAND] [ARGS]...``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, subcommand_metavar="", invoke_without_command=True, **kwargs)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[OPTIONS]")


@click.command("demo", cls=_Command)
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
    default=30,
    show_default=True,
    help="Days of history up to now (every simulated device), fed as fast as possible at the start; 0: none.",
)
@click.option(
    "--budget-every-s", type=float, default=20.0, show_default=True, help="How often to print the live budget."
)
@click.option(
    "--crash-after-s",
    type=click.FloatRange(min=0),
    default=120.0,
    show_default=True,
    help="Seconds into the live run at which the scripted night-time oxygen crash at the mussel farm begins; "
    "0: no crash.",
)
@click.option(
    "--crash-duration-s",
    type=click.FloatRange(min=20, max=3600),
    default=240.0,
    show_default=True,
    help="How long the oxygen crash lasts (the alert escalates half-way through and resolves after it).",
)
@click.option("--duration-s", type=float, default=0.0, help="Stop by itself after this long (0: run until Ctrl-C).")
@log_options
def group(
    workdir: Path,
    interval_s: float,
    history_days: int,
    budget_every_s: float,
    crash_after_s: float,
    crash_duration_s: float,
    duration_s: float,
    log_level: str,
) -> None:
    """Run the whole pipeline locally on simulated data: history, live readings, alerts and the live budget."""
    from blueranch.influxdb import InfluxClient
    from blueranch.procs import Supervisor, blueranch_command
    from blueranch.reader import Reader
    from blueranch.testing.services import DeployedMosquitto, InfluxDB

    workdir = workdir.resolve()
    stop = threading.Event()
    on_stop_signals(stop.set)
    database = "blueranch"
    deploy, registry_file = _deploy(workdir)
    scenario_file = demo_scenario(workdir, crash_after_s, crash_duration_s)
    alerts_file = demo_alerts_config(workdir, crash_duration_s)
    broker = DeployedMosquitto(workdir / "mosquitto", deploy.root)
    db = InfluxDB(workdir / "influxdb")
    sup = Supervisor(workdir / "logs")
    log = ("--log-level", log_level)
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
                *log,
            ),
        )
        history = History(history_days, time.time())
        if history_days:
            click.echo(
                f"feeding {history_days} days of history (every simulated device, "
                f"{_local(history.start_s)} to now) as fast as it goes ..."
            )
            sup.start(
                "history",
                blueranch_command(
                    "sim",
                    "feed",
                    "--mqtt",
                    broker.url,
                    "--scenario",
                    SITE,
                    "--every-device",
                    "--start",
                    _iso(history.start_s),
                    "--days",
                    str(history_days),
                    "--truth-out",
                    str(workdir / "history-truth.jsonl"),
                    "--mqtt-username",
                    "sim-feed",
                ),
                env={"BLUERANCH_MQTT_PASSWORD": _secret(deploy.password("sim-feed"))},
            )
        sup.start(
            "sim",
            blueranch_command(
                "sim",
                "run",
                "--scenario",
                str(scenario_file),
                "--pty-dir",
                str(pty_dir),
                "--start",
                "now",
                "--speed",
                "1",
                *log,
            ),
        )
        if crash_after_s:
            crash_at = time.time() + crash_after_s
            click.echo(
                f"a night-time oxygen crash is scripted at the mussel farm (buoy-01) from {_local(crash_at)} for "
                f"{crash_duration_s:.0f} s: watch its alert open, escalate and resolve"
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
            sup.start(f"edge-{device}", blueranch_command("edge", "run", "--config", str(path), *log))
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
                str(CARBON_CONFIG),
                "--interval-s",
                str(max(budget_every_s / 2, 5.0)),
                *log,
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
                str(alerts_file),
                "--mqtt",
                broker.url,
                "--mqtt-username",
                "alerts",
                *log,
            ),
            env={"BLUERANCH_ALERTS_MQTT_PASSWORD": _secret(deploy.password("alerts"))},
        )
        click.echo("readings as they land in InfluxDB, alert events, and the live budget (Ctrl-C to stop):")
        _watch(Reader(client), stop, duration_s, budget_every_s, sup, history)
    finally:
        click.echo("stopping ...")
        codes = sup.stop_all()
        db.stop()
        broker.stop()
        click.echo("stopped: " + ", ".join(f"{k} ({v})" for k, v in codes.items()) + ", influxd, mosquitto")


def demo_scenario(workdir: Path, crash_after_s: float, crash_duration_s: float) -> Path:
    """The live run's scenario: dachen, plus the scripted oxygen crash ``crash_after_s`` after its start."""
    from blueranch.sim.scenario import Event, load_scenario

    sc = load_scenario(SITE)
    if crash_after_s:
        crash = Event(
            kind="hypoxia",
            at_h=crash_after_s / 3600.0,
            duration_h=crash_duration_s / 3600.0,
            min_do_mg_l=CRASH_MIN_DO_MG_L,
            ramp_h=min(CRASH_RAMP_S, crash_duration_s / 4) / 3600.0,
            diurnal=False,  # a night's crash played now, whatever the hour
        )
        sc = sc.model_copy(update={"events": [*sc.events, crash]})
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "scenario.yaml"
    path.write_text(yaml.safe_dump(sc.model_dump(mode="json", exclude_none=True), sort_keys=False))
    return path


def demo_alerts_config(workdir: Path, crash_duration_s: float) -> Path:
    """The shore's alert config (deploy/blueranch/alerts.yaml) with a lifecycle that fits a demo: evaluated every
    few seconds, escalated half-way through the crash, resolved after a short spell of normal oxygen."""
    from blueranch.loader import load_yaml

    data = load_yaml(ALERTS_CONFIG)
    data["state_path"] = str(workdir / "alerts.sqlite")
    data["interval_s"] = ALERT_INTERVAL_S
    data["lifecycle"] = {
        **data.get("lifecycle", {}),
        "escalate_after_s": crash_duration_s / 2,
        "clear_after_s": min(60.0, crash_duration_s / 4),
    }
    _quiet_history_only(data["sites"][SITE].setdefault("devices", {}))
    path = workdir / "alerts.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _quiet_history_only(devices: dict) -> None:
    """The sensors only the history feeds (no live agent polls them) fall silent when the history ends: that is
    the demo's doing, not a fault, so their silence raises no alert (edge agents without a live run: no silent
    rule; a live agent's other sensors: an interval of a year)."""
    from blueranch.sim.scenario import load_scenario

    live = {
        cfg["device"]: {s["id"] for s in cfg["sensors"]}
        for cfg in (buoy_config("mqtt://-", Path("-"), 1.0), shore_config("mqtt://-", Path("-"), 1.0))
    }
    for d in load_scenario(SITE).devices:
        dev = devices.setdefault(d.edge_device, {})
        if d.edge_device not in live:
            dev.setdefault("rules", {})["silent"] = {"enabled": False}
        elif d.id not in live[d.edge_device]:
            dev.setdefault("sensor_intervals_s", {})[d.id] = 365 * 86400.0


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


@dataclass
class History:
    """The history feed: ``days`` up to ``end_s`` (the demo's start); ``done_s`` once it has all been fed."""

    days: int
    end_s: float
    days_fed: float = 0.0
    done_s: float | None = None
    failed: bool = False

    @property
    def start_s(self) -> float:
        t = self.end_s - self.days * 86400.0
        return t - t % HISTORY_STEP_S

    def poll(self, sup) -> str | None:
        """A progress line when the feed got further or finished (read from its log), else None."""
        if not self.days or self.done_s is not None or self.failed:
            return None
        proc = sup.procs.get("history")
        done = re.findall(r"history: (\d+) of", sup.log("history"))
        fed = float(done[-1]) if done else 0.0
        if proc is not None and proc.poll() is not None:
            if proc.returncode != 0:
                self.failed = True
                return f"  HISTORY feed failed (exit {proc.returncode}): see {sup.log_dir}/history.log"
            self.done_s = time.time()
            return (
                f"  HISTORY loaded at {_local(self.done_s, seconds=True)}: {self.days} days "
                f"({_local(self.start_s)} to {_local(self.end_s)}) in {self.done_s - self.end_s:.0f} s"
            )
        if fed > self.days_fed:
            # a line every quarter of the way (every day of a short history): progress without a flood
            step = max(1.0, self.days / 4)
            reported = self.days_fed // step
            self.days_fed = fed
            if fed // step > reported:
                return f"  HISTORY {fed:.0f} of {self.days} days fed ..."
        return None


def _watch(
    reader: Reader, stop: threading.Event, duration_s: float, budget_every_s: float, sup, history: History
) -> None:
    fields = ("temp_c", "salinity_psu", "do_mg_l", "ph", "chl_ug_l")
    last_ms = int(time.time() * 1000) - 60_000
    last_alert_ms = int(time.time() * 1000)
    started = time.monotonic()
    next_budget = started + budget_every_s
    while not stop.is_set():
        if duration_s and time.monotonic() - started > duration_s:
            break
        line = history.poll(sup)
        if line:
            click.echo(line)
        try:
            series = reader.run(
                window(
                    "water_quality",
                    fields,
                    Between(last_ms + 1),
                    where=(TagEq("device", "buoy-01"),),
                    group_by=("device", "sensor"),
                )
            )
            for s in series:
                for row in s.rows():
                    last_ms = max(last_ms, row["time"])
                    t = datetime.fromtimestamp(row["time"] / 1000, UTC).strftime("%H:%M:%S")
                    vals = "  ".join(f"{f}={row[f]}" for f in fields if row.get(f) is not None)
                    click.echo(f"  {t}Z {s.tags.get('device')}/{s.tags.get('sensor')}  {vals}")
            for text, t_ms in _alert_events(reader, last_alert_ms):
                last_alert_ms = max(last_alert_ms, t_ms)
                click.echo(text)
            if time.monotonic() >= next_budget:
                next_budget = time.monotonic() + budget_every_s
                click.echo(_budget_line(reader, history))
        except Exception as exc:  # noqa: BLE001 - the demo keeps going while the database catches up
            click.echo(f"  (query failed: {exc})")
        stop.wait(1.0)


def _alert_events(reader: Reader, after_ms: int) -> list[tuple[str, int]]:
    """Alert lifecycle events written after ``after_ms`` (contract: alerts), oldest first."""
    series = reader.run(
        window(
            "alerts",
            ("alert_id", "message"),
            Between(after_ms + 1),
            group_by=("kind", "device", "state", "severity"),
        )
    )
    out = []
    for s in series:
        for row in s.rows():
            t = datetime.fromtimestamp(row["time"] / 1000, UTC).strftime("%H:%M:%S")
            out.append(
                (
                    f"  ALERT {t}Z {s.tags.get('state')} {s.tags.get('severity')} {s.tags.get('kind')}@"
                    f"{s.tags.get('device')} ({row.get('alert_id')}): {row.get('message')}",
                    row["time"],
                )
            )
    return sorted(out, key=lambda x: x[1])


def _budget_line(reader: Reader, history: History) -> str:
    """The site's year-to-date budget as the carbon worker last wrote it (contract: carbon_budget), with its
    period and zone, and whether the history it counts has finished loading."""
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

    now = time.time()
    year_start = datetime.fromtimestamp(now, ZONE).replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if not history.days:
        loaded = "no history fed"
    elif history.done_s is not None:
        loaded = f"history of {history.days} days loaded at {_local(history.done_s, seconds=True)}"
    else:
        loaded = f"history still loading: {history.days_fed:.0f} of {history.days} days"
    completeness = r.get("completeness")
    share = "n/a" if completeness is None else f"{completeness:.0%}"
    return (
        f"  BUDGET {SITE} year to date, {year_start:%Y-%m-%d %H:%M} to {_local(now)} {ZONE.key} ({loaded}): "
        f"sinks {f('sinks_t_co2e')} t CO2e ({f('sinks_t_c')} t C; 95 % {f('sinks_lo95_t_co2e')}.."
        f"{f('sinks_hi95_t_co2e')}), sources {f('sources_t_co2e')} t CO2e, net emissions "
        f"{f('net_emissions_t_co2e')} t CO2e, value {f('value')} CNY, data completeness {share} (readings "
        f"received of those expected since 1 January)\n{alert_text}"
    )


def _local(t_s: float, seconds: bool = False) -> str:
    """A time in the site's zone, as the budget states it."""
    return datetime.fromtimestamp(t_s, ZONE).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _iso(t_s: float) -> str:
    return datetime.fromtimestamp(t_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
