"""A short live run of the real pipeline, exported by the tests of this folder.

The simulator plays the ``dachen`` ranch on pseudo-terminals (from now, in real time, as the demo does);
two real edge agents read it: ``buoy-01`` (SDI-12 sonde, NMEA GPS and weather station, Modbus power
controller: the demo's buoy) and ``buoy-03`` (a sonde only: no GPS, so its position comes from the shore's
registry); they publish to the real Mosquitto; ``blueranch ingest run`` binds them to the registry and
writes the real InfluxDB. Once a few readings of each have landed everything is stopped, so the database
holds still while the tests export it and compare the files with it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from blueranch.contracts.query import TagEq, counts
from blueranch.influxdb import InfluxClient
from blueranch.procs import Supervisor, blueranch_command
from blueranch.reader import Reader
from blueranch.testing.wait import Timeout, wait_until

SITE = "dachen"
#: buoy-03 has no GPS: the registry gives its mooring (near the croaker pens of the scenario, whose
#: location is 28.46 N 121.89 E) and both buoys' sonde depths (the scenario's mount_depth_m; 3.0 is the
#: sonde default of firmware_sim/physics/params.py).
BUOY_03 = {"lat_deg": 28.4521, "lon_deg": 121.8974, "depth_m": 4.0}
BUOY_01_DEPTH_M = 3.0
HOUR_MS = 3_600_000
READINGS = 6  # sonde readings of each buoy, and GPS fixes of buoy-01, before stopping


@dataclass
class Ranch:
    influx: InfluxClient
    registry: Path
    start_ms: int
    end_ms: int
    workdir: Path

    def export_args(self) -> list[str]:
        from blueranch.export.times import iso

        return [
            "--site",
            SITE,
            "--from",
            iso(self.start_ms),
            "--to",
            iso(self.end_ms),
            "--influx",
            self.influx.url,
            "--database",
            self.influx.database,
            "--registry",
            str(self.registry),
        ]


def _registry(path: Path) -> Path:
    from blueranch.sim.registry import registry_data
    from blueranch.sim.scenario import load_scenario

    data = registry_data(load_scenario(SITE))
    data["devices"]["buoy-03"].update(BUOY_03)
    data["devices"]["buoy-01"]["depth_m"] = BUOY_01_DEPTH_M
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _edge_configs(mqtt_url: str, pty_dir: Path) -> dict[str, dict]:
    from blueranch.demo import buoy_config, edge_config

    buoy3 = edge_config(SITE, "buoy-03", mqtt_url, pty_dir, interval_s=1.0)
    buoy3["sensors"][0].update(id="sonde-3", port=str(pty_dir / "sonde-3"), address="1", farm="pens-1", asset="pen-01")
    return {"buoy-01": buoy_config(mqtt_url, pty_dir, interval_s=1.0), "buoy-03": buoy3}


def _count(reader: Reader, measurement: str, field: str, device: str) -> int:
    q = counts(measurement, (field,), None, where=(TagEq("site", SITE), TagEq("device", device)))
    s = reader.run(q)
    return int(s[0].values[0][1]) if s else 0


@pytest.fixture(scope="session")
def ranch(mosquitto, influxdb, tmp_path_factory) -> Iterator[Ranch]:
    work = tmp_path_factory.mktemp("ranch")
    database = f"export{os.getpid()}"
    client = InfluxClient(influxdb.url, database, timeout_s=30)
    client.ensure_database()
    registry = _registry(work / "registry.yaml")
    pty_dir = work / "pty"
    reader = Reader(client)
    # The simulator's clock starts at now rounded down to its step (the NMEA sentences carry that clock):
    # the exported period reaches an hour either side of the run.
    start_ms = int(time.time() * 1000) - HOUR_MS
    try:
        with Supervisor(work / "logs") as sup:
            ingest_cfg = work / "ingest.yaml"
            # Its own group and client id, no lingering session: the session-wide broker is shared.
            ingest_cfg.write_text(
                yaml.safe_dump(
                    {"group": f"export{os.getpid()}", "client_id": f"export{os.getpid()}", "session_expiry_s": 0}
                )
            )
            sup.start(
                "ingest",
                blueranch_command(
                    "ingest", "run", "--mqtt", mosquitto.url, "--influx", influxdb.url, "--database", database,
                    "--config", str(ingest_cfg), "--registry", str(registry),
                ),
            )  # fmt: skip
            sup.start(
                "sim",
                blueranch_command(
                    "sim", "run", "--scenario", SITE, "--pty-dir", str(pty_dir), "--start", "now", "--speed", "1"
                ),
            )
            for device, cfg in _edge_configs(mosquitto.url, pty_dir).items():
                for sensor in cfg["sensors"]:
                    wait_until(lambda p=Path(sensor["port"]): p.exists(), 30, 0.1, f"simulator pty {sensor['port']}")
                path = work / f"edge-{device}.yaml"
                path.write_text(yaml.safe_dump(cfg, sort_keys=False))
                sup.start(f"edge-{device}", blueranch_command("edge", "run", "--config", str(path)))

            def landed() -> bool:
                return (
                    _count(reader, "water_quality", "temp_c", "buoy-01") >= READINGS
                    and _count(reader, "water_quality", "temp_c", "buoy-03") >= READINGS
                    and _count(reader, "position", "lat_deg", "buoy-01") >= READINGS
                    and _count(reader, "weather", "wind_speed_m_s", "buoy-01") >= 1
                )

            try:
                wait_until(landed, 120, 0.5, "readings of both buoys in InfluxDB")
            except Timeout as exc:
                logs = "\n".join(f"--- {n}\n{sup.log(n)[-2500:]}" for n in sup.procs)
                raise AssertionError(f"{exc}\n{logs}") from None
            sup.stop_all()
        yield Ranch(client, registry, start_ms, int(time.time() * 1000) + HOUR_MS, work)
    finally:
        client.query(f'DROP DATABASE "{database}"', method="POST", database=None)
        client.close()
