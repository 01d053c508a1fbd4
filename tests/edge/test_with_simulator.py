"""The agent against the project's simulator (firmware_sim, single-buoy scenario) and a real Mosquitto:
every sensor of the buoy reports, in simulated time (the simulator's clock file), with battery and RSSI in
the retained status. The simulator's ground truth is its own business; here the protocols are."""

import json
from datetime import UTC, datetime

import pytest
import yaml

from blueranch.procs import Supervisor, blueranch_command
from blueranch.sim.physics.environment import WATER_QUANTITIES
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration

#: What the simulated sonde reports, in its aD0! order.
SONDE = list(WATER_QUANTITIES)


@pytest.mark.slow
def test_single_buoy_scenario_end_to_end_in_simulated_time(tmp_path, mosquitto, collector, device_id, request):
    pty, clock = tmp_path / "pty", tmp_path / "clock.json"
    deploy = yaml.safe_load(open(request.config.rootpath / "deploy/blueranch/edge-buoy-01.yaml"))
    port_of = {"sonde-1": "sonde-1", "gps-1": "gps-1", "lc-m1-01": "lc-1", "lc-m1-02": "lc-2", "pwr-1": "pwr-1"}
    for s in deploy["sensors"]:  # the compose config, with the simulator's pty links instead of TCP
        s["port"] = str(pty / port_of[s["id"]])
        s["interval_s"] = 2
    deploy["mqtt"] = {"url": mosquitto.url, "status_interval_s": 1}
    deploy["buffer"] = {"path": str(tmp_path / "buffer.sqlite")}
    deploy["clock_file"] = str(clock)
    deploy["device"] = device_id
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump(deploy))
    col = collector(mosquitto.url)
    with Supervisor(tmp_path / "logs") as sup:
        sup.start(
            "sim",
            blueranch_command(
                "sim", "run", "--scenario", "single-buoy", "--pty-dir", str(pty), "--clock-file", str(clock)
            ),
        )
        wait_until(lambda: clock.exists() and (pty / "pwr-1").exists(), 30, 0.1, "simulator ready")
        sup.start("edge", blueranch_command("edge", "run", "--config", str(cfg)))
        want = {"sonde-1", "gps-1", "lc-m1-01", "lc-m1-02", "pwr-1"}
        try:
            wait_until(
                lambda: {s.sensor for m in col.messages for s in m.samples} >= want,
                90,
                0.2,
                "a reading from every sensor of the buoy",
            )
            wait_until(
                lambda: col.status and "battery_v" in col.status and "rssi_dbm" in col.status,
                30,
                0.2,
                "battery and RSSI in the status",
            )
        except AssertionError:
            raise AssertionError("\n".join(f"--- {n}\n{sup.log(n)[-3000:]}" for n in sup.procs)) from None
        codes = sup.stop_all()
    assert codes["edge"] == 0
    samples = [s for m in col.messages for s in m.samples]
    assert {s.quantity for s in samples if s.sensor == "sonde-1"} == set(SONDE)
    assert {s.quantity for s in samples if s.sensor == "gps-1"} >= {
        "lat_deg",
        "lon_deg",
        "wind_speed_m_s",
        "air_pressure_hpa",
    }
    loads = [s.value for s in samples if s.quantity == "load_kg"]
    assert loads and all(0 < v < 100_000 for v in loads)  # word order right: a wrong one gives absurd floats
    assert any(m.position is not None for m in col.messages)
    sim = json.loads(clock.read_text())
    sim_start = datetime.fromtimestamp(sim["sim_epoch_s"], UTC)
    sonde_times = [s.time for s in samples if s.sensor == "sonde-1"]
    assert all(t >= sim_start for t in sonde_times)
    assert all((t - sim_start).total_seconds() < 3600 for t in sonde_times)  # simulated, not wall-clock, time
    col.close()
