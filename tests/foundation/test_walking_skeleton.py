"""One reading end to end: simulated SDI-12 sonde on a pty -> edge agent -> Mosquitto -> ingest -> InfluxDB."""

import os
import time
from datetime import UTC, datetime

import pytest
import yaml

from blueranch.demo import SONDE_QUANTITIES, edge_config
from blueranch.procs import Supervisor, blueranch_command
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration


def test_sonde_readings_arrive_in_influxdb(tmp_path, mosquitto, influx):
    pty_dir = tmp_path / "pty"
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump(edge_config("dachen", "buoy-01", mosquitto.url, pty_dir, interval_s=1.0)))
    started = datetime.now(UTC)
    with Supervisor(tmp_path / "logs") as sup:
        sup.start("sim", blueranch_command("sim", "run", "--scenario", "single-buoy", "--pty-dir", str(pty_dir)))
        # Its own group and client id: the session-wide broker holds other tests' "ingest" sessions.
        ingest_cfg = tmp_path / "ingest.yaml"
        ingest_cfg.write_text(
            yaml.safe_dump({"group": f"skel{os.getpid()}", "client_id": f"skel{os.getpid()}", "session_expiry_s": 0})
        )
        sup.start(
            "ingest",
            blueranch_command(
                "ingest",
                "run",
                "--mqtt",
                mosquitto.url,
                "--influx",
                influx.url,
                "--database",
                influx.database,
                "--config",
                str(ingest_cfg),
            ),
        )
        wait_until(lambda: (pty_dir / "sonde-1").exists(), 20, message="simulator pty link")
        sup.start("edge", blueranch_command("edge", "run", "--config", str(cfg)))

        def rows():
            s = influx.query('SELECT * FROM "raw"."water_quality"')
            return s[0].rows() if s and len(s[0].values) >= 2 else None

        try:
            got = wait_until(rows, 60, 0.2, message="two sonde readings in InfluxDB")
        except AssertionError:
            raise AssertionError("\n".join(f"--- {n}\n{sup.log(n)[-2000:]}" for n in sup.procs)) from None
        codes = sup.stop_all()
        logs = "\n".join(f"--- {n}\n{sup.log(n)[-3000:]}" for n in sup.procs)
    assert codes == {"edge": 0, "ingest": 0, "sim": 0}, f"{codes}\n{logs}"
    row = got[0]
    assert row["site"] == "dachen" and row["device"] == "buoy-01" and row["sensor"] == "sonde-1"
    assert row["farm"] == "mussel-1"
    for q in SONDE_QUANTITIES:
        assert row[q] is not None, q
        assert row[q + "_qc"] in (1, 2, 3, 4, 9)
    # Values are those of the simulator's water model, through the SDI-12 encoding (2 decimals for DO).
    assert 3 < row["do_mg_l"] < 10 and 25 < row["salinity_psu"] < 35 and 7.5 < row["ph"] < 8.5
    t = datetime.fromtimestamp(row["time"] / 1000, UTC)
    assert started.timestamp() - 1 <= t.timestamp() <= time.time() + 1
    # The readings carry the sensor's measurement time: successive readings are about 1 s + 2 s apart.
    assert got[1]["time"] > got[0]["time"]
