"""Drivers against scripted, byte-exact peers on pseudo-terminals; one bus, one conversation at a time."""

import threading

import pytest

from blueranch.edge.bus import Bus, Buses
from blueranch.edge.clock import Clock
from blueranch.edge.drivers import sdi12 as sdi12_mod
from blueranch.edge.drivers.base import DriverError
from blueranch.edge.drivers.modbus_framing import encode
from blueranch.edge.drivers.modbus_rtu import Config as ModbusConfig
from blueranch.edge.drivers.modbus_rtu import ModbusDriver
from blueranch.edge.drivers.nmea0183 import Config as NmeaConfig
from blueranch.edge.drivers.nmea0183 import NmeaDriver
from blueranch.edge.drivers.sdi12 import Config as Sdi12Config
from blueranch.edge.drivers.sdi12 import Sdi12Driver
from blueranch.edge.drivers.sdi12_framing import Sdi12Error

Q3 = ["temp_c", "do_mg_l", "ph"]


def sdi12(port, address="0", command="MC", **kw):
    cfg = Sdi12Config(
        id=f"s{address}", driver="sdi12", port=str(port), address=address, command=command, quantities=Q3, **kw
    )
    return cfg


def test_sdi12_measurement_waits_for_the_service_request_and_is_byte_exact(peer_factory, wire):
    dev = wire.Sdi12Sensors("0", wait_s=2, sr_delay_s=0.3)
    peer = peer_factory("sdi", dev)
    cfg = sdi12(peer.link)
    drv = Sdi12Driver(cfg, Bus(cfg.port, cfg.line_settings()), Clock())
    readings = drv.read()
    assert [r.quantity for r in readings] == Q3
    assert [r.value for r in readings] == [1.0, 7.0, 8.0]
    assert peer.rx == [b"0MC!", b"0D0!"]


def test_sdi12_concurrent_command_waits_ttt_without_holding_the_bus(peer_factory, wire):
    dev = wire.Sdi12Sensors("0", wait_s=1)
    peer = peer_factory("sdi", dev)
    cfg = sdi12(peer.link, command="CC")
    bus = Bus(cfg.port, cfg.line_settings())
    drv = Sdi12Driver(cfg, bus, Clock())
    got = {}
    t = threading.Thread(target=lambda: got.setdefault("r", drv.read()))
    t.start()
    # While the sensor measures (1 s), the line is free: another conversation gets it.
    from blueranch.testing.wait import wait_until

    wait_until(lambda: peer.rx == [b"0CC!"], 10, 0.01, "aCC! sent")
    with bus.conversation("other", timeout_s=0.5):
        pass
    t.join(10)
    assert [r.value for r in got["r"]] == [1.0, 7.0, 8.0]
    assert peer.rx == [b"0CC!", b"0D0!"]


def test_sdi12_retries_a_silent_sensor_then_succeeds(peer_factory, wire):
    dev = wire.Sdi12Sensors("0", wait_s=0)
    dev.silent_next = 2
    peer = peer_factory("sdi", dev)
    cfg = sdi12(peer.link, timeout_s=0.2, retries=2)
    drv = Sdi12Driver(cfg, Bus(cfg.port, cfg.line_settings()), Clock())
    assert len(drv.read()) == 3
    assert peer.rx == [b"0MC!"] * 3 + [b"0D0!"]


def test_sdi12_timeout_and_garbled_crc_raise_with_the_reason(peer_factory, wire):
    dev = wire.Sdi12Sensors("0", wait_s=0)
    peer = peer_factory("sdi", dev)
    cfg = sdi12(peer.link, timeout_s=0.2, retries=1)
    drv = Sdi12Driver(cfg, Bus(cfg.port, cfg.line_settings()), Clock())
    dev.garble_next = 1
    with pytest.raises(Sdi12Error, match="CRC mismatch|garbled"):
        drv.read()
    dev.silent_next = 2
    with pytest.raises(Sdi12Error, match="no reply to '0MC!' after 2 attempts"):
        drv.read()
    assert len(drv.read()) == 3  # and the sensor is back


def test_two_sensors_and_a_probe_on_one_bus_never_interleave(peer_factory, wire):
    """Every aM! is followed by its own aD0! before anything else goes on the line."""
    dev = wire.Sdi12Sensors("01", wait_s=1, sr_delay_s=0.15)
    peer = peer_factory("bus", dev)
    buses = Buses()
    drivers = []
    for a in "01":
        cfg = sdi12(peer.link, address=a, command="M")
        drivers.append(Sdi12Driver(cfg, buses.get(cfg.port, cfg.line_settings()), Clock()))
    bus = buses.get(str(peer.link), sdi12_mod.LINE)
    errors = []

    def poll(drv):
        for _ in range(3):
            try:
                drv.read()
            except DriverError as exc:
                errors.append(exc)

    def on_demand():
        for _ in range(3):
            with bus.conversation("technician") as port:
                assert sdi12_mod.transact(port, b"1I!", 1.0, 1).startswith(b"114BLUERNCH")

    threads = [threading.Thread(target=poll, args=(d,)) for d in drivers] + [threading.Thread(target=on_demand)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    cmds = list(peer.rx)
    assert len(cmds) == 3 * 2 * 2 + 3
    for i, c in enumerate(cmds):
        if c.endswith(b"M!"):
            assert cmds[i + 1] == c[:1] + b"D0!", cmds
    buses.close()


def modbus(port, slave_id, registers, **kw):
    return ModbusConfig(
        id=f"m{slave_id}", driver="modbus_rtu", port=str(port), slave_id=slave_id, registers=registers, **kw
    )


def test_modbus_two_slaves_on_one_bus_with_byte_and_word_orders(peer_factory, wire):
    regs1 = dict(enumerate(encode(812.5, "float32") + encode(-3, "int16")))
    regs2 = dict(enumerate(encode(12345.25, "float32", "little", "little") + encode(70000, "uint32", "big", "little")))
    dev = wire.ModbusSlaves({1: regs1, 2: regs2})
    peer = peer_factory("rs485", dev)
    buses = Buses()
    c1 = modbus(
        peer.link,
        1,
        [
            {"address": 0, "quantity": "load_kg"},
            {"address": 2, "type": "int16", "scale": 0.5, "offset": 10, "quantity": "temp_c"},
        ],
    )
    c2 = modbus(
        peer.link,
        2,
        [
            {"address": 0, "byte_order": "little", "word_order": "little", "quantity": "grid_kwh_total"},
            {"address": 2, "type": "uint32", "word_order": "little", "quantity": "diesel_l_total"},
        ],
    )
    d1 = ModbusDriver(c1, buses.get(c1.port, c1.line_settings()), Clock())
    d2 = ModbusDriver(c2, buses.get(c2.port, c2.line_settings()), Clock())
    assert [(r.quantity, r.value) for r in d1.read()] == [("load_kg", 812.5), ("temp_c", 8.5)]
    assert [(r.quantity, r.value) for r in d2.read()] == [("grid_kwh_total", 12345.25), ("diesel_l_total", 70000.0)]
    # Byte-exact request: slave 1, function 3, address 0, 2 registers, CRC low byte first.
    assert peer.rx[0] == bytes.fromhex("010300000002c40b")
    buses.close()


def test_modbus_exception_bad_crc_and_silence_are_reported_per_register(peer_factory, wire, caplog):
    dev = wire.ModbusSlaves({1: dict(enumerate(encode(5.0, "float32")))})
    peer = peer_factory("rs485", dev)
    cfg = modbus(
        peer.link,
        1,
        [{"address": 0, "quantity": "load_kg"}, {"address": 10, "quantity": "power_kw"}],
        timeout_s=0.2,
        retries=0,
    )
    drv = ModbusDriver(cfg, Bus(cfg.port, cfg.line_settings()), Clock())
    with caplog.at_level("WARNING"):
        assert [r.quantity for r in drv.read()] == ["load_kg"]
    assert "sensor m1 (modbus_rtu slave 1" in caplog.text and "exception 02" in caplog.text
    dev.bad_crc_next = 5
    with pytest.raises(DriverError, match="slave 1"):
        drv.read()
    silent = modbus(peer.link, 9, [{"address": 0, "quantity": "load_kg"}], timeout_s=0.2, retries=0)
    with pytest.raises(DriverError, match="slave 9"):
        ModbusDriver(silent, drv.bus, Clock()).read()  # same line: a second open would be refused (exclusive)


def test_nmea_takes_valid_sentences_and_counts_garbage(peer_factory, talker_factory, wire, caplog):
    peer = peer_factory("gps", lambda buf: (len(buf), []))
    lines = [
        b"\x00garbage\r\n",
        wire.nmea("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")[:-4] + b"00\r\n",
        b"$GP" + b"X" * 200 + b"\r\n",  # longer than even the lenient limit (100)
        wire.nmea("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
        wire.nmea("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"),
        wire.nmea("WIMWV,214.8,T,10.0,N,A"),
        wire.nmea("WIXDR,P,1.01325,B,BARO,C,12.3,C,AIRT,D,1.50,M,WAVEH"),
    ]
    talker_factory(peer, lines)
    cfg = NmeaConfig(id="gps-1", driver="nmea0183", port=str(peer.link), sentences=["GGA", "RMC", "MWV", "XDR"])
    drv = NmeaDriver(cfg, Bus(cfg.port, cfg.line_settings()), Clock())
    with caplog.at_level("WARNING"):
        readings = drv.read()
        for _ in range(5):  # a read stops once every type was seen: the bad lines may come round later
            if "checksum" in caplog.text and "longer than 100" in caplog.text:
                break
            drv.read()
    got = {r.quantity: r.value for r in readings}
    assert got["lat_deg"] == pytest.approx(48.1173) and got["gps_sats"] == 8 and got["speed_kn"] == 22.4
    assert got["wind_speed_m_s"] == pytest.approx(10 * 1852 / 3600) and got["wind_dir_deg"] == 214.8
    assert (got["air_pressure_hpa"], got["air_temp_c"], got["wave_height_m"]) == (1013.25, 12.3, 1.5)
    assert readings[0].time.isoformat() == "1994-03-23T12:35:19+00:00"  # the receiver's RMC clock
    assert drv.garbled_total >= 2 and "sensor gps-1 (nmea0183" in caplog.text
    assert "checksum" in caplog.text and "longer than 100" in caplog.text


def test_a_link_reset_is_reported_and_the_bus_reopens(wire):
    """A ser2net-style TCP link (socket://, as in docker compose) that resets mid-exchange: the poll fails
    with the reason, the next conversation reconnects and the sensor reads again."""
    import socket

    dev = wire.Sdi12Sensors("0", wait_s=0)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(2)
    connections = []

    def serve():
        for n in range(2):
            conn, _ = srv.accept()
            connections.append(conn)
            if n == 0:  # the first connection resets on the first command
                conn.recv(64)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
                continue
            buf = b""
            while True:
                data = conn.recv(64)
                if not data:
                    return
                buf += data
                while buf:
                    used, replies = dev(buf)
                    if not used:
                        break
                    buf = buf[used:]
                    for _, reply in replies:
                        conn.sendall(reply)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    cfg = sdi12(f"socket://127.0.0.1:{srv.getsockname()[1]}", timeout_s=0.3, retries=0)
    bus = Bus(cfg.port, cfg.line_settings())
    drv = Sdi12Driver(cfg, bus, Clock())
    with pytest.raises(DriverError, match="I/O error on socket://127.0.0.1:.*: (socket disconnected|.*reset)"):
        drv.read()
    assert [r.value for r in drv.read()] == [1.0, 7.0, 8.0]
    bus.close()
    srv.close()


def test_nmea_receiver_clock_far_in_the_future_is_replaced_and_flagged(peer_factory, talker_factory, wire):
    peer = peer_factory("gps", lambda buf: (len(buf), []))
    rmc_1999 = wire.nmea("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230399,003.1,W")
    talker_factory(peer, [rmc_1999])
    cfg = NmeaConfig(id="gps-1", driver="nmea0183", port=str(peer.link), sentences=["RMC"])
    drv = NmeaDriver(cfg, Bus(cfg.port, cfg.line_settings()), Clock())
    readings = drv.read()
    assert readings and all(int(r.qc) == 2 for r in readings)  # 1999: past, kept as the receiver's time
    assert readings[0].time.year == 1999
    future = NmeaConfig(id="gps-2", driver="nmea0183", port=str(peer.link), sentences=["RMC"], max_future_s=60)
    late = Clock()
    late.time_s = lambda: 0.0  # an agent clock at 1970: the receiver's 1999 is "far in the future"
    readings = NmeaDriver(future, drv.bus, late).read()
    assert all(int(r.qc) == 3 and r.time.year == 1970 for r in readings)


def test_the_bus_reopens_a_port_closed_under_it(peer_factory, wire):
    """pymodbus closes its 'socket' after an I/O error; the shared port must not stay dead."""
    peer = peer_factory("rs485", wire.ModbusSlaves({1: dict(enumerate(encode(5.0, "float32")))}))
    cfg = modbus(peer.link, 1, [{"address": 0, "quantity": "load_kg"}], timeout_s=0.3, retries=0)
    drv = ModbusDriver(cfg, Bus(cfg.port, cfg.line_settings()), Clock())
    assert drv.read()[0].value == 5.0
    with drv.bus.conversation("test") as port:
        port.close()
    assert drv.read()[0].value == 5.0
    drv.bus.close()
