"""NMEA 0183 talker and Modbus RTU slaves: spec vectors, pynmea2 parsing, a pymodbus client over the pty."""

import numpy as np
import pynmea2
import pytest
from pymodbus.client import ModbusSerialClient
from pymodbus.framer import FramerRTU

from blueranch.sim import nmea
from blueranch.sim.devices.modbus_slave import ModbusSlave
from blueranch.sim.devices.nmea_talker import NmeaTalker
from blueranch.sim.faults import FaultInjector, FaultRates
from blueranch.sim.links import LinkServer
from blueranch.sim.modbus_map import decode, encode

T = 1_795_269_600.0  # 2026-11-21T14:00:00Z
WX = {
    "lat_deg": 28.4612,
    "lon_deg": 121.8921,
    "speed_kn": 0.4,
    "course_deg": 271.0,
    "wind_speed_m_s": 7.3,
    "wind_dir_deg": 45.0,
    "air_pressure_hpa": 1013.2,
    "air_temp_c": 14.6,
    "wave_height_m": 1.25,
}


def test_nmea_checksum_spec_vector():
    # A widely published GGA example (NMEA 0183 reference, gpsd docs): checksum *47.
    body = "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"
    assert nmea.sentence(body) == b"$" + body.encode() + b"*47\r\n"


def test_sentences_parse_with_pynmea2_and_fit_82_chars():
    out = [
        nmea.gga(T, WX["lat_deg"], WX["lon_deg"]),
        nmea.rmc(T, -33.5, -70.25, 0.4, 271.0),
        nmea.mwv(45.0, 7.3),
        nmea.xdr(1013.2, 14.6, 1.25),
    ]
    for s in out:
        assert len(s) <= 82 and s.endswith(b"\r\n")
        pynmea2.parse(s.decode().strip(), check=True)
    gga = pynmea2.parse(out[0].decode().strip())
    assert gga.timestamp.strftime("%H%M%S") == "140000"
    assert abs(gga.latitude - 28.4612) < 1e-5 and abs(gga.longitude - 121.8921) < 1e-5
    rmc = pynmea2.parse(out[1].decode().strip())
    assert rmc.datestamp.isoformat() == "2026-11-21" and rmc.latitude < 0 and rmc.longitude < 0
    mwv = pynmea2.parse(out[2].decode().strip())
    assert float(mwv.wind_angle) == 45.0 and float(mwv.wind_speed) == 7.3 and mwv.wind_speed_units == "M"
    assert out[3] == nmea.sentence("WIXDR,P,1.01320,B,BARO,C,14.6,C,AIRT,D,1.25,M,WAVEH")


def test_oversize_sentence_is_refused():
    with pytest.raises(nmea.NmeaError, match="82"):
        nmea.sentence("GPTXT," + "x" * 80)


def _inj(device, **rates):
    truth = []
    return FaultInjector(
        device, FaultRates(**rates), np.random.default_rng(3), now=lambda: T, emit=truth.append, start_s=T
    ), truth


def test_talker_burst_and_garbled_checksums():
    talker = NmeaTalker(read=lambda: dict(WX), clock=lambda: T)
    burst = talker.burst()
    assert [s[1:6] for s in burst] == [b"GPGGA", b"GPRMC", b"WIMWV", b"WIXDR"]
    inj, truth = _inj("gps-1", garbled=1.0)
    bad = NmeaTalker(read=lambda: dict(WX), clock=lambda: T, faults=inj).burst()
    for s in bad:
        with pytest.raises(pynmea2.ParseError):
            pynmea2.parse(s.decode("ascii", "replace").strip(), check=True)
    assert [t["kind"] for t in truth] == ["garbled"] * 4


def test_talker_clock_skew_offsets_its_time():
    inj, truth = _inj("gps-1", clock_skew_s_per_day=30.0)
    inj.start_s = T - 2 * 86400
    s = NmeaTalker(read=lambda: dict(WX), clock=lambda: T, faults=inj).burst()[0]
    assert pynmea2.parse(s.decode().strip()).timestamp.strftime("%H%M%S") == "140100"
    assert truth[0]["kind"] == "clock_skew"


def rtu(*pdu: int, unit: int = 1) -> bytes:
    body = bytes([unit, *pdu])
    return body + FramerRTU.compute_CRC(body).to_bytes(2, "big")


def test_modbus_spec_vector_and_float_orders():
    # "01 03 00 00 00 02 C4 0B": read 2 holding registers at 0 from unit 1 (Modbus over serial line, CRC).
    assert rtu(3, 0, 0, 0, 2) == bytes.fromhex("010300000002c40b")
    assert encode(812.5) == [0x444B, 0x2000]  # ABCD
    assert encode(812.5, byte_order="little") == [0x4B44, 0x0020]  # BADC
    assert encode(812.5, word_order="little") == [0x2000, 0x444B]  # CDAB
    assert encode(812.5, byte_order="little", word_order="little") == [0x0020, 0x4B44]  # DCBA
    for bo in ("big", "little"):
        for wo in ("big", "little"):
            assert decode(encode(-3.25, "float32", bo, wo), "float32", bo, wo) == -3.25
            assert decode(encode(123456789, "uint32", bo, wo), "uint32", bo, wo) == 123456789


def test_modbus_slave_byte_exact():
    s = ModbusSlave("lc-1", "load_cell", unit=7, read=lambda: {"load_kg": 812.5})
    assert [r.data for r in s.feed(rtu(3, 0, 0, 0, 2, unit=7))] == [rtu(3, 4, 0x44, 0x4B, 0x20, 0x00, unit=7)]
    assert [r.data for r in s.feed(rtu(4, 0, 0, 0, 2, unit=7))] == [rtu(4, 4, 0x44, 0x4B, 0x20, 0x00, unit=7)]
    # Exception 02 for unmapped addresses and for reads running past the map; 01 for other functions.
    assert [r.data for r in s.feed(rtu(3, 0, 2, 0, 2, unit=7))] == [rtu(0x83, 2, unit=7)]
    assert [r.data for r in s.feed(rtu(3, 0, 0, 0, 3, unit=7))] == [rtu(0x83, 2, unit=7)]
    assert [r.data for r in s.feed(rtu(6, 0, 0, 0, 1, unit=7))] == [rtu(0x86, 1, unit=7)]
    # Another unit, a bad CRC, garbage: silence.
    assert s.feed(rtu(3, 0, 0, 0, 2, unit=8)) == []
    assert s.feed(rtu(3, 0, 0, 0, 2, unit=7)[:-1] + b"\x00") == []
    assert s.feed(b"\xff" * 300) == []
    # A request split across reads is still answered.
    frame = rtu(3, 0, 0, 0, 2, unit=7)
    assert s.feed(frame[:3]) == [] and len(s.feed(frame[3:])) == 1


def test_modbus_timeout_and_dropout_faults():
    inj, truth = _inj("lc-1", timeout=1.0)
    s = ModbusSlave("lc-1", "load_cell", read=lambda: {"load_kg": 1.0}, faults=inj)
    assert s.feed(rtu(3, 0, 0, 0, 2)) == [] and truth[0]["kind"] == "timeout"
    inj, truth = _inj("lc-1", dropout=1.0)
    s = ModbusSlave("lc-1", "load_cell", read=lambda: {"load_kg": 1.0}, faults=inj)
    assert [r.data for r in s.feed(rtu(3, 0, 0, 0, 2))] == [rtu(0x83, 4)]


def test_modbus_slave_rejects_bad_config():
    with pytest.raises(ValueError, match="unknown Modbus kind"):
        ModbusSlave("x", "toaster")
    with pytest.raises(ValueError, match="1..247"):
        ModbusSlave("x", "load_cell", unit=300)


def test_pymodbus_client_reads_energy_meter_over_the_pty(tmp_path):
    meter = ModbusSlave(
        "energy-1",
        "energy_meter",
        unit=3,
        word_order="little",
        read=lambda: {"grid_kwh_total": 1234567.0, "power_kw": 412.5},
    )
    with LinkServer() as links:
        links.add(meter, tmp_path / "energy-1")
        client = ModbusSerialClient(str(tmp_path / "energy-1"), baudrate=9600, timeout=10, retries=1)
        assert client.connect()
        try:
            rr = client.read_holding_registers(0, count=4, device_id=3)
            assert not rr.isError()
            assert decode(rr.registers[0:2], word_order="little") == 1234567.0
            assert decode(rr.registers[2:4], word_order="little") == 412.5
            bad = client.read_holding_registers(0x10, count=2, device_id=3)
            assert bad.isError() and bad.exception_code == 2
        finally:
            client.close()


def test_talker_is_heard_on_the_pty(tmp_path):
    import serial

    with LinkServer() as links:
        links.add(NmeaTalker(read=lambda: dict(WX), clock=lambda: T, tick_s=0.05), tmp_path / "gps-1")
        port = serial.serial_for_url(str(tmp_path / "gps-1"), baudrate=4800, timeout=10)
        try:
            port.reset_input_buffer()
            port.read_until(b"\r\n")  # possibly a partial line
            lines = [port.read_until(b"\r\n") for _ in range(4)]
        finally:
            port.close()
    for line in lines:
        pynmea2.parse(line.decode().strip(), check=True)


def _xor(body: bytes) -> bytes:
    c = 0
    for b in body:
        c ^= b
    return b"$" + body + b"*%02X\r\n" % c


def test_sentences_byte_exact():
    assert nmea.gga(T, 28.4612, 121.8921) == _xor(b"GPGGA,140000.00,2827.6720,N,12153.5260,E,1,09,0.9,2.0,M,10.5,M,,")
    assert nmea.rmc(T, 28.4612, 121.8921, 0.4, 271.0) == _xor(
        b"GPRMC,140000.00,A,2827.6720,N,12153.5260,E,0.40,271.0,211126,,,A"
    )
    assert nmea.mwv(405.0, 7.25) == _xor(b"WIMWV,45.0,T,7.2,M,A")


def test_buoy_power_and_meter_register_maps():
    from blueranch.sim.modbus_map import REGISTER_MAPS, IllegalAddress, read_registers

    vals = {"battery_v": 12.5, "solar_a": 2.0, "enclosure_rh_pct": 61.0, "rssi_dbm": -80.0}
    regs = read_registers(REGISTER_MAPS["buoy_power"], vals, 0, 8, "big", "big")
    assert [decode(regs[i : i + 2]) for i in range(0, 8, 2)] == [12.5, 2.0, 61.0, -80.0]
    assert read_registers(REGISTER_MAPS["buoy_power"], vals, 6, 2, "big", "big") == encode(-80.0)
    with pytest.raises(IllegalAddress, match="0x0002 is not mapped"):
        read_registers(REGISTER_MAPS["load_cell"], {"load_kg": 1.0}, 1, 2, "big", "big")
    with pytest.raises(IllegalAddress, match="none requested"):
        read_registers(REGISTER_MAPS["load_cell"], {"load_kg": 1.0}, 0, 0, "big", "big")


def test_node_payload_byte_exact():
    from blueranch.sim.engine import Reading
    from blueranch.sim.nodes import node_payload, node_topic

    r = Reading(
        T,
        "lc-m1-01",
        "load_cell",
        "mqtt_node",
        {"load_kg": 812.3, "battery_v": 3.61},
        "gw-01",
        node_time_s=T + 0.5,
        fcnt=123,
    )
    assert node_topic("lc-m1-01") == "nodes/lc-m1-01/up"
    assert node_payload(r) == (
        b'{"node":"lc-m1-01","fcnt":123,"time":"2026-11-21T14:00:00.500Z","values":{"load_kg":812.3,"battery_v":3.61}}'
    )


def test_a_failing_device_does_not_stop_the_others(tmp_path, caplog):
    import serial

    def broken():
        raise KeyError("no such quantity")

    with LinkServer() as links:
        links.add(ModbusSlave("bad", "load_cell", read=broken), tmp_path / "bad")
        links.add(ModbusSlave("good", "load_cell", read=lambda: {"load_kg": 2.5}), tmp_path / "good")
        bad = serial.serial_for_url(str(tmp_path / "bad"), timeout=0.5)
        bad.write(rtu(3, 0, 0, 0, 2))
        assert bad.read(9) == b""
        bad.close()
        client = ModbusSerialClient(str(tmp_path / "good"), baudrate=9600, timeout=10, retries=1)
        assert client.connect()
        try:
            assert decode(client.read_holding_registers(0, count=2, device_id=1).registers) == 2.5
        finally:
            client.close()
    assert "device bad: feed failed" in caplog.text


def _client(url: str, baudrate: int, parity: str, timeout_s: float):
    """pymodbus over a port opened the way the edge opens it (rfc2217:// sends these settings to the server)."""
    import serial

    port = serial.serial_for_url(url, baudrate=baudrate, parity=parity, timeout=0.02)
    client = ModbusSerialClient(url, baudrate=baudrate, timeout=timeout_s, retries=0)
    client.socket = port
    return client


def test_a_slave_hears_only_its_serial_settings_over_rfc2217(tmp_path):
    """The settings a Modbus slave is configured with (9600 8N1) decide what it hears: over RFC 2217 the
    master's speed and parity reach the simulator, as they reach ser2net's telnet mode (docs/simulator.md)."""
    from blueranch.sim.devices import SerialLine

    slave = ModbusSlave("lc-2", "load_cell", unit=2, word_order="little", read=lambda: {"load_kg": 47.5})
    slave.line = SerialLine(9600, "N")
    with LinkServer() as links:
        served = links.add(slave, tmp_path / "lc-2", 0, rfc2217=True)
        url = f"rfc2217://127.0.0.1:{served.listener.getsockname()[1]}"
        heard = {}
        for baudrate, parity in [(19200, "E"), (9600, "E"), (19200, "N"), (9600, "O"), (9600, "N")]:
            # silence needs a short wait only; an answer gets time on a loaded machine
            client = _client(url, baudrate, parity, 5.0 if (baudrate, parity) == (9600, "N") else 0.3)
            try:
                rr = client.read_holding_registers(0, count=2, device_id=2)
                heard[f"8{parity}1 {baudrate}"] = None if rr.isError() else decode(rr.registers, word_order="little")
            except Exception:  # noqa: BLE001 - pymodbus raises on silence; silence is the answer here
                heard[f"8{parity}1 {baudrate}"] = None
            finally:
                client.close()
        assert heard == {"8E1 19200": None, "8E1 9600": None, "8N1 19200": None, "8O1 9600": None, "8N1 9600": 47.5}
        assert served.misheard == 4
        # On the pty only the speed is seen (Linux's pty clears PARENB, so the edge opens ptys 8N1).
        for baudrate, answers in [(19200, False), (9600, True)]:
            client = ModbusSerialClient(
                str(tmp_path / "lc-2"), baudrate=baudrate, timeout=5 if answers else 0.3, retries=0
            )
            assert client.connect()
            try:
                rr = client.read_holding_registers(0, count=2, device_id=2)
                assert (not rr.isError()) is answers
            except Exception:  # noqa: BLE001 - see above
                assert not answers
            finally:
                client.close()
        assert served.misheard == 5
