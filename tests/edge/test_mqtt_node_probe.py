"""The mqtt_node driver against a real Mosquitto (node uplinks of docs/simulator.md 'MQTT nodes',
good and bad), and the probe CLI."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from blueranch.contracts.errors import ContractError
from blueranch.edge.clock import Clock
from blueranch.edge.config import parse_config
from blueranch.edge.drivers.modbus_framing import encode
from blueranch.edge.drivers.mqtt_node import MqttNodeDriver
from blueranch.mqttc import make_client, parse_url
from blueranch.testing.wait import wait_until


def publish_all(url, items):
    u = parse_url(url)
    c = make_client("node-publisher", clean=True)
    c.connect(u.host, u.port)
    c.loop_start()
    infos = [c.publish(topic, payload, qos=1) for topic, payload in items]
    for i in infos:
        i.wait_for_publish(10)
    c.disconnect()
    c.loop_stop()


@pytest.mark.integration
def test_mqtt_node_keeps_node_time_and_rejects_bad_payloads(mosquitto, caplog):
    cfg = parse_config(
        {
            "site": "s",
            "device": "d",
            "mqtt": {"url": mosquitto.url},
            "sensors": [
                {"id": "lc-1", "driver": "mqtt_node", "broker_url": mosquitto.url, "node": "lc-m1-01", "interval_s": 1}
            ],
        }
    )
    drv = MqttNodeDriver(cfg.sensors[0], None, Clock())
    try:
        wait_until(lambda: drv.hub.client.is_connected(), 30, 0.05, "node hub connected")
        now = datetime.now(UTC)
        good = {
            "node": "lc-m1-01",
            "fcnt": 1,
            "time": "2026-11-21T14:00:00.000Z",
            "values": {"load_kg": 812.3, "battery_v": 3.61},
        }
        future = {**good, "fcnt": 3, "time": (now + timedelta(days=3)).isoformat().replace("+00:00", "Z")}
        bad = [
            b"{not json",
            json.dumps({**good, "fcnt": "x"}),
            json.dumps({**good, "values": {"load_kg": "heavy"}}),
            json.dumps({**good, "node": "other"}),
            json.dumps({**good, "extra": 1}),
            b"{" + b" " * 20000 + b"}",
            json.dumps({**good, "fcnt": 2, "values": {"load_kg": 1.0, "warp_factor": 9}}),
        ]
        with caplog.at_level("WARNING"):
            publish_all(
                mosquitto.url,
                [("nodes/lc-m1-01/up", json.dumps(good)), ("nodes/lc-m1-01/up", json.dumps(good))]  # a retransmission
                + [("nodes/lc-m1-01/up", b) for b in bad]
                + [("nodes/lc-m1-01/up", json.dumps(future))],
            )
            wait_until(lambda: drv.hub.last_fcnt.get("lc-m1-01") == 3, 30, 0.05, "all uplinks handled")
            readings = drv.read()
    finally:
        drv.close()
    got = [(r.quantity, r.value, r.time.isoformat(), int(r.qc)) for r in readings]
    assert got[:2] == [
        ("load_kg", 812.3, "2026-11-21T14:00:00+00:00", 2),
        ("battery_v", 3.61, "2026-11-21T14:00:00+00:00", 2),
    ]
    assert got[2][:2] == ("load_kg", 1.0)  # the good value of the frame with an unknown quantity
    assert [(q, int(qc)) for q, _, _, qc in got[3:]] == [("load_kg", 3), ("battery_v", 3)]  # clock not trusted
    assert drv.hub.errors_total == 7
    for reason in (
        "Invalid JSON",
        "fcnt",
        "values.load_kg",
        "is not the topic's node",
        "extra",
        "exceeds",
        "values.warp_factor: unknown quantity",
        "is more than 600 s ahead",
    ):
        assert reason in caplog.text, reason
    assert "node lc-m1-01" in caplog.text


def edge(*args):
    return subprocess.run(
        [sys.executable, "-m", "blueranch", "edge", *args], capture_output=True, text=True, timeout=120
    )


def test_probe_finds_sdi12_sensors_and_prints_a_valid_snippet(peer_factory, wire):
    peer = peer_factory("sdi", wire.Sdi12Sensors("03", wait_s=0))
    out = edge("probe", str(peer.link), "--protocol", "sdi12", "--sdi12-addresses", "0123", "--timeout-s", "0.2")
    assert out.returncode == 0, out.stderr
    assert "address 0" in out.stderr and "BLUERNCH" in out.stderr
    cfg = parse_config({"site": "s", "device": "d", "mqtt": {}, **yaml.safe_load(out.stdout)})
    assert [(s.address, s.quantities[0]) for s in cfg.sensors] == [("0", "temp_c"), ("3", "temp_c")]
    assert set(cfg.qc) == set(cfg.sensors[0].quantities)  # the snippet comes with QC for what it emits
    assert cfg.qc["temp_c"].spike is not None and "# fail: physical limits" in out.stdout
    assert b"0I!" in peer.rx and b"3M!" in peer.rx


def test_probe_detects_nmea_talkers(peer_factory, talker_factory, wire):
    peer = peer_factory("gps", lambda buf: (len(buf), []))
    talker_factory(
        peer,
        [
            wire.nmea("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
            wire.nmea("WIMWV,214.8,T,10.0,N,A"),
            b"noise\r\n",
        ],
    )
    out = edge("probe", str(peer.link), "--protocol", "nmea0183", "--baudrate", "4800", "--listen-s", "1")
    assert out.returncode == 0, out.stderr
    assert "talkers ['GP', 'WI']" in out.stderr
    cfg = parse_config({"site": "s", "device": "d", "mqtt": {}, **yaml.safe_load(out.stdout)})
    assert cfg.sensors[0].sentences == ["GGA", "MWV"]
    assert {"lat_deg", "lon_deg", "wind_speed_m_s"} <= set(cfg.qc)


def test_probe_scans_modbus_slave_ids(peer_factory, wire):
    peer = peer_factory("rs485", wire.ModbusSlaves({2: dict(enumerate(encode(812.5, "float32"))), 4: {}}))
    out = edge(
        "probe",
        str(peer.link),
        "--protocol",
        "modbus_rtu",
        "--baudrate",
        "19200",
        "--slave-ids",
        "1-5",
        "--timeout-s",
        "0.2",
    )
    assert out.returncode == 0, out.stderr
    assert "at 8N1 19200: slave 2 answered" in out.stderr and "at 8N1 19200: slave 4 answered" in out.stderr
    # Slave 4 answered with an exception: present, but nothing known at register 0, so its registers are
    # left to fill in (check-config refuses the empty list) rather than offered a load cell's.
    data = yaml.safe_load(out.stdout)
    assert "exception 02" in out.stdout and "FILL IN" in out.stdout
    with pytest.raises(ContractError, match=r"sensors\[1\]\.registers"):
        parse_config({"site": "s", "device": "d", "mqtt": {}, **data})
    data["sensors"] = [s for s in data["sensors"] if s["slave_id"] != 4]
    cfg = parse_config({"site": "s", "device": "d", "mqtt": {}, **data})
    assert [(s.slave_id, s.baudrate, s.parity) for s in cfg.sensors] == [(2, 19200, "N")]
    assert [(r.quantity, r.byte_order, r.word_order) for r in cfg.sensors[0].registers] == [("load_kg", "big", "big")]
    assert "load_kg" in cfg.qc and cfg.qc["load_kg"].gross_range.suspect_span == (1, 10000)


def test_probe_on_a_silent_port_exits_1_and_bad_ids_are_refused(peer_factory):
    peer = peer_factory("nothing", lambda buf: (len(buf), []))
    out = edge(
        "probe",
        str(peer.link),
        "--protocol",
        "modbus_rtu",
        "--baudrate",
        "9600",
        "--slave-ids",
        "1-2",
        "--timeout-s",
        "0.1",
    )
    assert out.returncode == 1 and "nothing answered" in out.stderr
    assert edge("probe", str(peer.link), "--slave-ids", "0-300").returncode == 2
    missing = edge("probe", "/dev/does-not-exist", "--protocol", "sdi12")
    assert missing.returncode == 2 and "cannot open /dev/does-not-exist" in missing.stderr
    assert "Traceback" not in missing.stderr
