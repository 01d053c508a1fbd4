"""``blueranch sim run`` as a process: ptys, MQTT nodes on a real broker, clock file, same seed same bytes."""

import json
import threading

import paho.mqtt.client as mqtt
import pytest
import serial
from pymodbus.client import ModbusSerialClient

from blueranch.procs import Supervisor, blueranch_command
from blueranch.sim import sdi12
from blueranch.sim.modbus_map import decode
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_same_seed_same_truth_bytes(tmp_path):
    import subprocess

    outs = []
    for i in range(2):
        out = tmp_path / f"t{i}.jsonl"
        subprocess.run(
            blueranch_command(
                "sim",
                "run",
                "--scenario",
                "storm",
                "--days",
                "2",
                "--speed",
                "max",
                "--seed",
                "11",
                "--truth-out",
                str(out),
            ),
            check=True,
            timeout=120,
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and len(outs[0]) > 10_000


def test_nodes_publish_documented_payloads_with_simulated_time(tmp_path, mosquitto):
    got: list[tuple[str, bytes]] = []
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sim-test-sub")

    def on_message(c, u, msg):
        got.append((msg.topic, msg.payload))

    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p=None: (c.subscribe("nodes/+/up", qos=1), done.set())
    host, port = mosquitto.url.split("//")[1].split(":")
    client.connect(host, int(port))
    client.loop_start()
    try:
        wait_until(done.is_set, 30, message="test subscriber connected")
        wait_until(lambda: got is not None, 1)
        with Supervisor(tmp_path / "logs") as sup:
            proc = sup.start(
                "sim",
                blueranch_command(
                    "sim", "run", "--scenario", "dachen", "--days", "0.25", "--speed", "max", "--mqtt", mosquitto.url
                ),
            )
            wait_until(lambda: proc.poll() is not None, 120, message="sim finished")
            assert proc.returncode == 0, sup.log("sim")
        # 13 nodes x 36 reports in 6 h, less dropouts (lc-m2-*: 1 %)
        wait_until(lambda: len(got) >= 13 * 36 - 15, 60, message=f"node messages (got {len(got)})")
    finally:
        client.loop_stop()
        client.disconnect()
    topics = {t for t, _ in got}
    assert "nodes/reef-1/up" in topics and "nodes/lc-m3-01/up" in topics
    good = []
    for topic, payload in got:
        try:
            good.append((topic, json.loads(payload)))
        except json.JSONDecodeError:
            assert topic.startswith("nodes/lc-m2-")  # the only node with garbled frames in dachen
    for topic, p in good:
        assert set(p) == {"node", "fcnt", "time", "values"} and topic == f"nodes/{p['node']}/up"
        assert p["time"].startswith("2026-01-01T") and p["time"].endswith("Z")
    reef = [p for t, p in good if p["node"] == "reef-1"]
    assert set(reef[0]["values"]) == {"fish_density_m3", "nasc_m2_nmi2", "fish_count", "fish_length_cm"}
    lc = [p for t, p in good if p["node"] == "lc-m4-01"]
    assert set(lc[0]["values"]) == {"load_kg", "battery_v"} and [p["fcnt"] for p in lc] == list(range(1, 37))


def test_serial_devices_on_ptys_with_clock_file(tmp_path):
    pty_dir = tmp_path / "pty"
    clock = tmp_path / "clock.json"
    with Supervisor(tmp_path / "logs") as sup:
        sup.start(
            "sim",
            blueranch_command(
                "sim",
                "run",
                "--scenario",
                "single-buoy",
                "--pty-dir",
                str(pty_dir),
                "--speed",
                "60",
                "--clock-file",
                str(clock),
            ),
        )
        wait_until(lambda: (pty_dir / "pwr-1").exists() and clock.exists(), 30, message="sim links")
        c = json.loads(clock.read_text())
        assert c["speed"] == 60 and c["sim_epoch_s"] == 1_793_491_200  # 2026-11-01T00:00:00Z
        port = serial.serial_for_url(str(pty_dir / "sonde-1"), baudrate=1200, timeout=15)
        try:
            port.write(b"0I!")
            assert port.read_until(b"\r\n").startswith(b"014BLUERNCHSONDE9")
            port.write(b"0CC!")
            assert port.read_until(b"\r\n") == b"000209\r\n"

            def data_ready():  # ready after 2 s: an early aD0! gets just the address
                port.write(b"0D0!")
                line = port.read_until(b"\r\n")
                return line if len(line) > 5 else None

            d0 = wait_until(data_ready, 30, 0.5, message="sonde data ready")
            body = d0[:-2]
            assert sdi12.crc_ascii(sdi12.crc16(body[:-3])) == body[-3:]
        finally:
            port.close()
        client = ModbusSerialClient(str(pty_dir / "lc-2"), baudrate=9600, timeout=10, retries=1)
        assert client.connect()
        try:
            rr = client.read_holding_registers(0, count=2, device_id=2)
            assert not rr.isError()
            load = decode(rr.registers, word_order="little")  # lc-2 is configured CDAB
            assert 25.0 < load < 200.0
            assert client.read_input_registers(0x100, count=2, device_id=2).exception_code == 2
        finally:
            client.close()
        nmea = serial.serial_for_url(str(pty_dir / "gps-1"), baudrate=4800, timeout=15)
        try:
            nmea.reset_input_buffer()
            nmea.read_until(b"\r\n")
            line = nmea.read_until(b"\r\n")
        finally:
            nmea.close()
        import pynmea2

        pynmea2.parse(line.decode().strip(), check=True)
        assert sup.stop_all() == {"sim": 0}


@pytest.mark.slow
def test_live_wire_faults_reach_the_wire_and_the_truth_file(tmp_path):
    import yaml

    from blueranch.sim.scenario import SCENARIO_DIR

    data = yaml.safe_load((SCENARIO_DIR / "single-buoy.yaml").read_text())
    data["devices"][0]["faults"] = {"garbled": 1.0}
    data["devices"][2]["faults"] = {"timeout": 1.0}
    scenario = tmp_path / "faulty.yaml"
    scenario.write_text(yaml.safe_dump(data))
    pty_dir, truth = tmp_path / "pty", tmp_path / "truth.jsonl"
    with Supervisor(tmp_path / "logs") as sup:
        sup.start(
            "sim",
            blueranch_command(
                "sim", "run", "--scenario", str(scenario), "--pty-dir", str(pty_dir), "--truth-out", str(truth)
            ),
        )
        wait_until(lambda: (pty_dir / "lc-1").exists(), 30, message="sim links")
        port = serial.serial_for_url(str(pty_dir / "sonde-1"), timeout=15)
        try:
            port.write(b"0CC!")
            port.read_until(b"\r\n")

            def data_ready():
                port.write(b"0D0!")
                line = port.read_until(b"\r\n")
                return line if len(line) > 5 else None

            body = wait_until(data_ready, 30, 0.5, message="sonde data")[:-2]
            assert sdi12.crc_ascii(sdi12.crc16(body[:-3])) != body[-3:]  # garbled: the CRC fails
        finally:
            port.close()
        client = ModbusSerialClient(str(pty_dir / "lc-1"), baudrate=9600, timeout=1, retries=0)
        assert client.connect()
        try:
            from pymodbus.exceptions import ModbusIOException

            try:
                rr = client.read_holding_registers(0, count=2, device_id=1)
                assert rr.isError()
            except ModbusIOException:
                pass  # no reply: the timeout fault
        finally:
            client.close()
        assert sup.stop_all() == {"sim": 0}
    faults = [json.loads(line) for line in truth.read_text().splitlines() if '"type":"fault"' in line]
    assert {(f["device"], f["kind"]) for f in faults} >= {("sonde-1", "garbled"), ("lc-1", "timeout")}
