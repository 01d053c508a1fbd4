"""SDI-12 sonde: byte-exact command/response tests, the spec's CRC, faults, and pyserial over the pty."""

import numpy as np
import pytest
import serial

from blueranch.sim import sdi12
from blueranch.sim.devices.sdi12_sonde import Sdi12Sonde
from blueranch.sim.faults import FaultInjector, FaultRates
from blueranch.sim.links import LinkServer

VALUES = {
    "temp_c": 17.5,
    "sp_cond_us_cm": 46012.3,
    "salinity_psu": 30.51,
    "depth_m": 3.012,
    "do_mg_l": 7.21,
    "do_sat_pct": 95.4,
    "ph": 8.05,
    "chl_ug_l": 2.5,
    "turbidity_ntu": 4.0,
}


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def sonde(**kw):
    clock = Clock()
    return Sdi12Sonde(read=lambda: dict(VALUES), clock=clock, **kw), clock


def one(s, cmd: bytes) -> list:
    return [(r.data, r.delay_s) for r in s.feed(cmd)]


def test_crc_matches_published_example():
    # Vaisala WMT700 user guide M211095EN-H, p.162: "1D0! 1+2.7+85.2-0.2-2.7+770.5CAH<CR><LF>".
    assert sdi12.add_crc(b"1+2.7+85.2-0.2-2.7+770.5") == b"1+2.7+85.2-0.2-2.7+770.5CAH\r\n"


def test_acknowledge_query_identify_and_change_address():
    s, _ = sonde()
    assert one(s, b"?!") == [(b"0\r\n", 0.0)]
    assert one(s, b"0!") == [(b"0\r\n", 0.0)]
    assert one(s, b"0I!") == [(b"014BLUERNCHSONDE9100SIM0001\r\n", 0.0)]
    assert one(s, b"0A3!") == [(b"3\r\n", 0.0)]
    assert one(s, b"0!") == []  # the old address is no longer ours
    assert one(s, b"3!") == [(b"3\r\n", 0.0)]


def test_measure_service_request_and_data_pages():
    s, clock = sonde()
    assert one(s, b"0M!") == [(b"00029\r\n", 0.0), (b"0\r\n", 2.0)]
    assert one(s, b"0D0!") == [(b"0\r\n", 0.0)]  # not ready yet: address only
    clock.t = 2.0
    d0 = one(s, b"0D0!")[0][0]
    d1 = one(s, b"0D1!")[0][0]
    assert d0 == b"0+17.50+46012.3+30.51+3.012+7.21\r\n"
    assert d1 == b"0+95.4+8.05+2.50+4.00\r\n"
    assert len(d0) - 3 <= 35 and len(d1) - 3 <= 35  # aM! replies hold at most 35 characters of values
    assert one(s, b"0D2!") == [(b"0\r\n", 0.0)]


def test_measure_with_crc_and_concurrent():
    s, clock = sonde()
    assert one(s, b"0MC!")[0] == (b"00029\r\n", 0.0)
    clock.t = 5
    d0 = one(s, b"0D0!")[0][0]
    assert d0 == sdi12.add_crc(b"0+17.50+46012.3+30.51+3.012+7.21")
    assert one(s, b"0CC!") == [(b"000209\r\n", 0.0)]  # concurrent: atttnn, no service request
    clock.t = 10
    d0 = one(s, b"0D0!")[0][0]
    assert d0 == sdi12.add_crc(b"0+17.50+46012.3+30.51+3.012+7.21+95.4+8.05+2.50+4.00")
    assert one(s, b"0C!") == [(b"000209\r\n", 0.0)]
    clock.t = 20
    assert one(s, b"0D0!")[0][0] == b"0+17.50+46012.3+30.51+3.012+7.21+95.4+8.05+2.50+4.00\r\n"


def test_verify_and_several_commands_in_one_read():
    s, _ = sonde()
    got = one(s, b"0V!0D0!")
    assert got == [(b"00011\r\n", 0.0), (b"0+0\r\n", 0.0)]


@pytest.mark.parametrize("cmd", [b"1M!", b"0X!", b"0D!", b"0A!!", b"\xff\xfe!", b"!", b"0Dx!", b"0A#!"])
def test_malformed_or_foreign_commands_get_no_answer(cmd):
    s, _ = sonde()
    assert one(s, cmd) == []


def test_garbage_without_terminator_is_dropped():
    s, _ = sonde()
    assert one(s, b"x" * 100) == []
    assert one(s, b"0!") == [(b"0\r\n", 0.0)]


def test_invalid_value_is_sent_as_9999():
    assert sdi12.format_value(float("nan"), 2) == b"+9999"
    assert sdi12.format_value(-1234.56789, 4) == b"-1234.568"


def _faulty(**rates):
    truth = []
    inj = FaultInjector(
        "sonde-1", FaultRates(**rates), np.random.default_rng(1), now=lambda: 1.8e9, emit=truth.append, start_s=1.8e9
    )
    s, clock = sonde(faults=inj, rng=np.random.default_rng(2))
    return s, clock, truth


def test_missing_response_fault_is_silent_and_recorded():
    s, _, truth = _faulty(missing=1.0)
    assert one(s, b"0!") == []
    assert truth[0]["kind"] == "missing" and truth[0]["device"] == "sonde-1"


def test_slow_response_fault_delays_service_request():
    s, clock, truth = _faulty(slow=1.0)
    got = one(s, b"0M!")
    assert got[1] == (b"0\r\n", 7.0)
    clock.t = 2.5
    assert one(s, b"0D0!") == [(b"0\r\n", 0.0)]
    assert [t["kind"] for t in truth] == ["slow"]


def test_garbled_fault_breaks_the_crc():
    s, clock, truth = _faulty(garbled=1.0)
    one(s, b"0MC!")
    clock.t = 3
    d0 = one(s, b"0D0!")[0][0]
    assert d0.endswith(b"\r\n") and d0 != sdi12.add_crc(b"0+17.50+46012.3+30.51+3.012+7.21")
    body = d0[:-2]
    assert sdi12.crc_ascii(sdi12.crc16(body[:-3])) != body[-3:]
    assert truth[-1]["kind"] == "garbled"


def test_brownout_resets_address_to_factory():
    s, clock, truth = _faulty(brownout=1.0)
    one(s, b"0A5!")
    one(s, b"5M!")
    assert one(s, b"5!") == [] and one(s, b"0!") == [(b"0\r\n", 0.0)]
    assert truth[0]["kind"] == "brownout"


def test_pyserial_reads_the_sonde_on_the_pty_as_the_edge_does(tmp_path):
    # 1200 baud 7 data bits as SDI-12 (spec 4.2); parity none because a pty rejects EVEN (EINVAL).
    with LinkServer() as links:
        links.add(Sdi12Sonde(read=lambda: dict(VALUES)), tmp_path / "sonde-1")
        url = str(tmp_path / "sonde-1")
        port = serial.serial_for_url(
            url,
            baudrate=1200,
            bytesize=serial.SEVENBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
            timeout=10.0,
        )
        try:
            port.write(b"0MC!")
            assert port.read_until(b"\r\n") == b"00029\r\n"
            assert port.read_until(b"\r\n") == b"0\r\n"  # service request
            port.write(b"0D0!")
            assert port.read_until(b"\r\n") == sdi12.add_crc(b"0+17.50+46012.3+30.51+3.012+7.21")
            port.write(b"0D1!")
            assert port.read_until(b"\r\n") == sdi12.add_crc(b"0+95.4+8.05+2.50+4.00")
        finally:
            port.close()


def test_edge_driver_reads_all_values_over_tcp(tmp_path):
    """The same sonde served as raw TCP bytes (like ser2net) answers ``socket://`` URLs."""
    import socket as so

    from blueranch.edge.drivers.sdi12_framing import parse_data_reply, parse_measure_reply

    with so.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        tcp_port = probe.getsockname()[1]
    with LinkServer() as links:
        links.add(Sdi12Sonde(read=lambda: dict(VALUES), measure_time_s=0), None, tcp_port=tcp_port)
        port = serial.serial_for_url(f"socket://127.0.0.1:{tcp_port}", timeout=10.0)
        try:
            port.write(b"0CC!")
            reply = parse_measure_reply(port.read_until(b"\r\n"), "0")
            port.write(b"0D0!")
            values = parse_data_reply(port.read_until(b"\r\n"), "0", crc=True)
        finally:
            port.close()
    assert reply.count == 9 and values == [VALUES[k] for k in VALUES]


def test_the_edge_knows_the_simulated_sondes_value_order():
    """The edge's table of known SDI-12 sensors (it cannot import the simulator) names the quantities of the
    sonde the simulator plays, in the order the simulator sends them."""
    from blueranch.edge.drivers.sdi12 import KNOWN_SENSORS
    from blueranch.sim.physics.environment import WATER_QUANTITIES

    assert KNOWN_SENSORS[("BLUERNCH", "SONDE9")] == list(WATER_QUANTITIES)
