"""SDI-12 break (v1.4 section 7): the driver's option against a sonde that needs one (the simulator, served
over RFC 2217 since a pty carries no break), and the timing rules on both sides with controlled clocks."""

from __future__ import annotations

import pytest

from blueranch.edge.bus import Bus
from blueranch.edge.clock import Clock
from blueranch.edge.drivers import sdi12 as sdi12_mod
from blueranch.edge.drivers.sdi12 import Config, Sdi12Driver, Waker
from blueranch.edge.drivers.sdi12_framing import Sdi12Error
from blueranch.sim.devices.sdi12_sonde import Sdi12Sonde
from blueranch.sim.links import LinkServer

# pyserial 3.5's rfc2217 client thread still calls setDaemon/setName
pytestmark = pytest.mark.filterwarnings("ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning")

VALUES = {"temp_c": 17.5, "sp_cond_us_cm": 46012.3, "salinity_psu": 30.51}
QUANTITIES = list(VALUES)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def asleep_sonde():
    clock = FakeClock()
    sonde = Sdi12Sonde(
        read=lambda: dict(VALUES), clock=clock, require_break=True, parameters=tuple((q, 2) for q in VALUES)
    )
    return sonde, clock


def test_a_sleeping_sonde_answers_only_after_a_break_and_the_marking():
    s, clock = asleep_sonde()
    assert s.feed(b"0!") == [] and s.ignored_asleep == 1  # no break: asleep
    s.on_break(True)
    clock.t += 0.005
    s.on_break(False)  # 5 ms: too short to be recognised (the spec's 6.5 ms floor)
    clock.t += 0.010
    assert s.feed(b"0!") == [] and s.breaks_too_short == 1
    s.on_break(True)
    clock.t += 0.012
    s.on_break(False)
    clock.t += 0.003  # the address before 8.33 ms of marking
    assert s.feed(b"0!") == []
    s.on_break(True)
    clock.t += 0.012
    s.on_break(False)
    clock.t += 0.009
    assert [r.data for r in s.feed(b"0!")] == [b"0\r\n"] and s.breaks_seen == 2
    clock.t += 0.050  # within 87 ms of the reply: no break needed
    assert [r.data for r in s.feed(b"0I!")][0].startswith(b"014")
    clock.t += 0.150  # 100 ms of marking: back to standby
    assert s.feed(b"0!") == []


def test_a_sonde_stays_awake_through_a_measurement_until_its_service_request():
    s, clock = asleep_sonde()
    s.on_break(True)
    clock.t += 0.012
    s.on_break(False)
    clock.t += 0.009
    replies = s.feed(b"0M!")
    assert replies[1].delay_s == 2.0  # the service request, 2 s later
    clock.t += 2.05  # D0 50 ms after the service request: awake
    assert s.feed(b"0D0!")[0].data.startswith(b"0+17.50")


class RecordingPort:
    """Just enough of a pyserial port to record what the driver does and in which order."""

    def __init__(self, replies: list[bytes]):
        self.replies, self.events = list(replies), []

    def reset_input_buffer(self) -> None:
        pass

    def send_break(self, duration: float) -> None:
        self.events.append(("break", duration))

    def write(self, data: bytes) -> None:
        self.events.append(("write", data))

    def read_until(self, terminator: bytes, size: int) -> bytes:
        return self.replies.pop(0) if self.replies else b""


def test_waker_breaks_after_idle_and_on_another_address_then_waits_the_marking(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(sdi12_mod.time, "sleep", lambda s: slept.append(s))
    state: dict = {}
    waker = Waker(state, 0.015)
    port = RecordingPort([b"0\r\n", b"0\r\n", b"1\r\n"])
    for cmd in (b"0!", b"0!", b"1!"):
        sdi12_mod.transact(port, cmd, 0.1, 0, waker)
    # a break before the first command (line idle) and before the one to another address, none in between
    assert [e[0] for e in port.events] == ["break", "write", "write", "break", "write"]
    assert all(d >= 0.012 for kind, d in port.events if kind == "break")
    assert slept and all(s >= 0.00833 for s in slept)
    state["sdi12_heard_s"] -= 0.2  # 200 ms of idle line
    sdi12_mod.transact(RecordingPort([b"1\r\n"]), b"1!", 0.1, 0, waker)
    assert state["sdi12_breaks"] == 3


@pytest.mark.parametrize("send_break", [True, False])
def test_the_driver_wakes_a_direct_wired_sonde_over_rfc2217(tmp_path, send_break):
    sonde = Sdi12Sonde(read=lambda: dict(VALUES), require_break=True, parameters=tuple((q, 2) for q in VALUES))
    sonde.measure_time_s = 0
    with LinkServer() as links:
        served = links.add(sonde, tmp_path / "sonde", tcp_port=0, rfc2217=True)
        url = f"rfc2217://127.0.0.1:{served.listener.getsockname()[1]}"
        cfg = Config(
            id="sonde-1",
            driver="sdi12",
            port=url,
            command="M",
            quantities=QUANTITIES,
            timeout_s=0.5,
            retries=3,
            send_break=send_break,
        )
        bus = Bus(cfg.port, cfg.line_settings())
        driver = Sdi12Driver(cfg, bus, Clock())
        try:
            if send_break:
                readings = driver.read()
                assert {r.quantity: r.value for r in readings} == VALUES
                assert sonde.breaks_seen >= 1
            else:
                with pytest.raises(Sdi12Error, match="no reply"):
                    driver.read()
                assert sonde.breaks_seen == 0 and sonde.ignored_asleep >= 1
        finally:
            bus.close()
