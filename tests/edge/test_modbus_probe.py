"""Modbus probing that finds what is there: line settings, the four 32-bit orders, templates that fit, the
driver's flag for floats no instrument sends, and the probe against the simulator's slaves (9600 8N1 CDAB
load cell, 8E1 19200 power controller) over RFC 2217."""

from __future__ import annotations

import io
import math
import random
import socket
import struct
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueranch.contracts.errors import ContractError
from blueranch.contracts.qc import QcFlag
from blueranch.edge.bus import Bus
from blueranch.edge.clock import Clock
from blueranch.edge.config import parse_config
from blueranch.edge.drivers.base import Found, ProbeOptions
from blueranch.edge.drivers.modbus_framing import ORDERS, encode
from blueranch.edge.drivers.modbus_guess import TEMPLATES, fits, plausibility, rivals
from blueranch.edge.drivers.modbus_probe import settings as probe_settings
from blueranch.edge.drivers.modbus_probe import snippet
from blueranch.edge.drivers.modbus_rtu import ModbusDriver
from blueranch.edge.probe import Console
from blueranch.edge.qc_defaults import fail_span, suspect_span
from blueranch.procs import Supervisor, blueranch_command
from blueranch.testing.wait import wait_until


def _encode(values: list[float], order: str) -> list[int]:
    bo, wo = ORDERS[order]
    return [r for v in values for r in encode(v, "float32", bo, wo)]


def _f32(x: float) -> float:
    return struct.unpack(">f", struct.pack(">f", x))[0]


def test_the_templates_are_the_simulators_register_maps():
    """The edge cannot import the simulator; its templates must still be the maps docs/simulator.md documents."""
    from blueranch.contracts.quantities import QUANTITIES
    from blueranch.sim.modbus_map import REGISTER_MAPS

    assert {t.kind: t.registers for t in TEMPLATES} == {
        kind: tuple((r.address, r.quantity) for r in regs) for kind, regs in REGISTER_MAPS.items()
    }
    assert all(r.type == "float32" for regs in REGISTER_MAPS.values() for r in regs)
    assert all(q in QUANTITIES for t in TEMPLATES for _, q in t.registers)


def test_a_misordered_load_is_implausible_and_the_right_order_is_proposed():
    # 812.5 kg sent CDAB: read ABCD it is 1.09e-19 kg; the field's 8.9e-35 kg, 1e30 kg, subnormals and NaN
    # are no readings either; 0 kg is possible, 812.5 typical.
    wire = _encode([812.5], "CDAB")
    assert wire == [0x2000, 0x444B]
    for v in (1.0864618e-19, 8.9e-35, 1e30, 2.4e-41, -3.0e-39, math.nan, math.inf):
        assert plausibility("load_kg", v) == 0, v
    assert plausibility("load_kg", 0.0) == 1 and plausibility("load_kg", 812.5) == 2
    best = fits(wire)[0]
    assert (best.template.kind, best.order, best.values) == ("load_cell", "CDAB", (812.5,))
    assert (best.byte_order, best.word_order) == ("big", "little")
    # A power controller's four pairs fit the power controller, not a load cell (which fits only pair 0).
    power = _encode([12.6, 3.2, 61.0, -78.0], "ABCD")
    assert [(f.template.kind, f.exact) for f in fits(power)][:2] == [("buoy_power", True), ("load_cell", False)]


def _typical(quantity: str, u: float) -> float:
    """A value of the quantity a device would send: inside the default suspect span where there is one, else
    log-uniform over 1e-2 .. the top of the physical range (sign as the range allows)."""
    span = suspect_span(quantity)
    if span is not None:
        return _f32(span[0] + u * (span[1] - span[0]))
    lo, hi = fail_span(quantity)
    return _f32(10 ** (-2 + u * (math.log10(hi) + 2)))


COUNTS = {"right": 0, "ambiguous, flagged": 0}


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(TEMPLATES),
    st.sampled_from(list(ORDERS)),
    st.lists(st.floats(0, 1), min_size=4, max_size=4),
)
def test_any_typical_reading_in_any_order_is_proposed_right_or_flagged_ambiguous(template, order, us):
    """For every template and order, typical values: the best fit of that template reads them back, or the
    probe says the order is ambiguous (another order reads other values as plausibly). A template of several
    pairs is proposed over the single-pair ones. The counts are printed at the end of the module's run."""
    truth = tuple(_typical(q, u) for (_, q), u in zip(template.registers, us, strict=False))
    wire = _encode(list(truth), order)
    candidates = fits(wire)
    mine = [f for f in candidates if f.template == template]
    assert mine, (template.kind, order, truth)
    best = mine[0]
    if best.values == truth:
        COUNTS["right"] += 1
    else:
        assert truth in {r.values for r in rivals(best, mine)}, (template.kind, order, truth, best)
        COUNTS["ambiguous, flagged"] += 1
    if template.pairs > 1:
        assert candidates[0].template == template


def test_print_the_order_counts():
    print(f"\nModbus orders proposed for typical readings: {COUNTS}")
    assert COUNTS["right"] > 0


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 0xFFFF), max_size=16), st.sampled_from(["holding", "input"]))
def test_any_registers_give_a_snippet_that_validates_or_asks_to_be_filled_in(regs, function):
    found = Found("modbus_rtu", "/dev/ttyUSB0", {"slave_id": 7, "baudrate": 9600, "parity": "N"})
    if regs:
        found.detail.update(function=function, registers=regs)
    else:
        found.detail["reply"] = "slave 7 holding register 0: exception 02"
    text = snippet(found)
    data = {"site": "s", "device": "d", "mqtt": {}, "sensors": yaml.safe_load("sensors:\n" + text)["sensors"]}
    if "FILL IN" in text:
        with pytest.raises(ContractError, match="registers"):
            parse_config(data)
    else:
        cfg = parse_config(data)
        assert cfg.sensors[0].slave_id == 7 and cfg.sensors[0].registers[0].function == function


def test_the_settings_tried_and_how_the_options_narrow_them():
    labels = lambda o: [f"8{s.parity}1 {s.baudrate}" for s in probe_settings(o)]  # noqa: E731
    assert labels(ProbeOptions()) == ["8N1 9600", "8N1 19200", "8E1 9600", "8E1 19200", "8O1 9600", "8O1 19200"]
    assert labels(ProbeOptions(baudrate=19200)) == ["8N1 19200", "8E1 19200", "8O1 19200"]
    assert labels(ProbeOptions(parity="E", baudrate=38400)) == ["8E1 38400"]
    assert ProbeOptions().timeout(0.1) == 0.1 and ProbeOptions(timeout_s=0.5).timeout(0.1) == 0.5


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_with_the_time_left_and_never_elsewhere():
    now = [0.0]
    tty = Console(_Tty(), clock=lambda: now[0])
    tty.progress(0, 100, "modbus_rtu 8N1 9600 slave 1")
    now[0] = 10.0
    tty.progress(20, 100, "modbus_rtu 8N1 9600 slave 20")
    assert tty.stream.getvalue().endswith("\r\x1b[K# modbus_rtu 8N1 9600 slave 20: 20/100 (20 %), about 40 s left")
    tty.report("found one")
    assert tty.stream.getvalue().endswith("\r\x1b[K# found one\n")  # the progress line is erased first
    pipe = Console(io.StringIO(), clock=lambda: now[0])
    pipe.progress(0, 100, "x")
    pipe.progress(50, 100, "x")
    pipe.report("found one")
    assert pipe.stream.getvalue() == "# found one\n"


def test_the_driver_flags_a_float_no_instrument_sends_and_says_why_once(peer_factory, wire, caplog):
    """812.5 kg sent CDAB and configured ABCD reads 1.09e-19 kg: kept, flagged 4, one warning naming the orders."""
    peer = peer_factory("rs485", wire.ModbusSlaves({1: dict(enumerate(_encode([812.5], "CDAB")))}))
    data = {
        "site": "s",
        "device": "d",
        "mqtt": {},
        "sensors": [
            {
                "id": f"lc-{order}",
                "driver": "modbus_rtu",
                "port": str(peer.link),
                "slave_id": 1,
                "registers": [{"address": 0, "byte_order": bo, "word_order": wo, "quantity": "load_kg"}],
            }
            for order, (bo, wo) in (("abcd", ORDERS["ABCD"]), ("cdab", ORDERS["CDAB"]))
        ],
    }
    cfg = parse_config(data)
    bus = Bus(str(peer.link), cfg.sensors[0].line_settings())
    try:
        wrong, right = (ModbusDriver(s, bus, Clock()) for s in cfg.sensors)
        got = [wrong.read()[0] for _ in range(3)]
        assert [(r.qc, r.value) for r in got] == [(QcFlag.FAIL, pytest.approx(1.0864618e-19))] * 3
        assert [(r.qc, r.value) for r in right.read()] == [(QcFlag.NOT_EVALUATED, 812.5)]
    finally:
        bus.close()
    warnings = [r.getMessage() for r in caplog.records if "probably wrong" in r.getMessage()]
    assert len(warnings) == 1 and "sensor lc-abcd" in warnings[0] and "2000 444b" in warnings[0], warnings


# ---------------------------------------------------------------- against the simulator


def _free_ports(n: int) -> int:
    """A base port with ``n`` free ports after it (the simulator serves device i on base + i)."""
    for _ in range(50):
        base = random.randrange(20_000, 60_000)
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free TCP ports")


def probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "blueranch", "edge", "probe", *args, "--protocol", "modbus_rtu", "--timeout-s", "0.3"],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.integration
def test_probe_finds_the_simulators_cdab_load_cell_at_8n1_9600_and_proposes_cdab(tmp_path, request):
    """The done-when of the Modbus probe: the single-buoy scenario's load cells and power controller, with the
    serial settings of field devices (lc-2: 9600 8N1, CDAB; pwr-1: 19200 8E1), served over RFC 2217 so the
    probe's settings reach the simulated slaves, which hear only their own."""
    root = request.config.rootpath
    scenario = yaml.safe_load((root / "firmware_sim/scenarios/single-buoy.yaml").read_text())
    scenario["devices"] = [d for d in scenario["devices"] if d["protocol"] == "modbus"]
    for d in scenario["devices"]:
        d.update(
            {"lc-2": {"baudrate": 9600, "parity": "N"}, "pwr-1": {"baudrate": 19200, "parity": "E"}}.get(d["id"], {})
        )
    assert [d["id"] for d in scenario["devices"]] == ["lc-1", "lc-2", "pwr-1"]
    path = tmp_path / "field-settings.yaml"
    path.write_text(yaml.safe_dump(scenario))
    base = _free_ports(3)
    pty = tmp_path / "pty"
    with Supervisor(tmp_path / "logs") as sup:
        sup.start(
            "sim",
            blueranch_command(
                "sim", "run", "--scenario", str(path), "--pty-dir", str(pty), "--tcp-base-port", str(base), "--rfc2217"
            ),
        )
        wait_until(lambda: (pty / "pwr-1").exists(), 30, 0.1, "simulator ready")
        lc2, pwr1 = f"rfc2217://127.0.0.1:{base + 1}", f"rfc2217://127.0.0.1:{base + 2}"
        found = probe(lc2, "--slave-ids", "1-4")
        every = probe(lc2, "--slave-ids", "2", "--all-settings")
        power = probe(pwr1, "--slave-ids", "9-11")
        assert sup.procs["sim"].poll() is None, sup.log("sim")
    assert found.returncode == 0, found.stderr
    assert "modbus_rtu at 8N1 9600: slave 2 answered" in found.stderr
    assert "fits load_cell in CDAB (byte_order big, word_order little)" in found.stdout
    assert "a real device's map is in its manual" in found.stdout
    cfg = parse_config({"site": "s", "device": "d", "mqtt": {}, **yaml.safe_load(found.stdout)})
    (lc,) = cfg.sensors
    assert (lc.slave_id, lc.baudrate, lc.parity) == (2, 9600, "N")
    assert [(r.quantity, r.byte_order, r.word_order) for r in lc.registers] == [("load_kg", "big", "little")]
    assert cfg.qc["load_kg"].gross_range.suspect_span == (1, 10000)
    # Asked at every setting, the slave answers at its own only.
    assert every.returncode == 0, every.stderr
    assert every.stderr.count("answered") == 1 and "at 8N1 9600: slave 2 answered" in every.stderr
    # The power controller answers at the Modbus default and gets the power controller's template.
    assert power.returncode == 0, power.stderr
    assert "modbus_rtu at 8E1 19200: slave 10 answered" in power.stderr
    assert "fits buoy_power in ABCD" in power.stdout
    cfg = parse_config({"site": "s", "device": "d", "mqtt": {}, **yaml.safe_load(power.stdout)})
    assert [r.quantity for r in cfg.sensors[0].registers] == ["battery_v", "solar_a", "enclosure_rh_pct", "rssi_dbm"]
    assert (cfg.sensors[0].baudrate, cfg.sensors[0].parity) == (19200, "E")
    assert "\r" not in found.stderr  # no progress drawn when stderr is not a terminal


def test_no_reading_is_dropped_for_its_value_and_status_shows_the_last_values(tmp_path):
    """A value outside the physical range (1e30 kg) travels with its value and flag 4, a NaN without a value
    and with flag 9: both are buffered, none is counted as rejected; the last value of each quantity (with
    its flag) is in the status file and in 'edge status'."""
    from blueranch.contracts import mqtt
    from blueranch.edge import status
    from blueranch.edge.agent import Agent
    from blueranch.edge.reading import Reading

    cfg = parse_config(
        {
            "site": "s",
            "device": "d",
            "mqtt": {"url": "mqtt://127.0.0.1:1"},
            "buffer": {"path": str(tmp_path / "buffer.sqlite")},
            "qc": {"load_kg": {"gross_range": {"fail_span": [-1000, 100000], "suspect_span": [1, 10000]}}},
            "sensors": [
                {
                    "id": "lc-1",
                    "driver": "modbus_rtu",
                    "port": "/dev/ttyUSB0",
                    "slave_id": 1,
                    "registers": [{"address": 0, "quantity": "load_kg"}, {"address": 2, "quantity": "battery_v"}],
                }
            ],
        }
    )
    agent = Agent(cfg)
    try:
        (p,) = agent.polled
        t = datetime(2026, 11, 21, 14, tzinfo=UTC)
        agent._on_readings(p, [Reading("lc-1", "load_kg", 812.5, t), Reading("lc-1", "battery_v", 12.6, t)])
        t2 = t.replace(minute=1)
        agent._on_readings(p, [Reading("lc-1", "load_kg", 1e30, t2), Reading("lc-1", "battery_v", float("nan"), t2)])
        data = {**agent.status_dict(), "running": True, "age_s": 0.0}
        sent = [mqtt.Telemetry.model_validate_json(m.body) for m in agent.buffer.fetch(0)]
    finally:
        agent.buffer.close()
    got = [(x.quantity, x.value, x.qc) for m in sent for x in m.samples]
    assert got == [("load_kg", 812.5, 1), ("battery_v", 12.6, 2), ("load_kg", 1e30, 4), ("battery_v", None, 9)]
    s = data["sensors"]["lc-1"]
    assert (s["errors"], s["rejected"], data["rejected_readings"]) == (0, 0, 0)
    assert s["last_values"]["load_kg"] == {"value": 1e30, "qc": 4, "time": t2.isoformat()}
    assert s["last_values"]["battery_v"]["value"] == "nan"
    text = status.render(data)
    assert "battery_v nan [9], load_kg 1e+30 [4]" in text


def test_the_shipped_buoy_config_does_not_send_a_misordered_load_as_good(request):
    """deploy/blueranch/edge-buoy-01.yaml carries the Modbus defaults of edge/qc_defaults.py: 8.9e-35 kg
    (the field's CDAB load cell read as ABCD) is suspect, 1e30 kg fails, 812.5 kg is good."""
    from blueranch.edge.config import load_config
    from blueranch.edge.qc import QcEngine
    from blueranch.edge.qc_defaults import entry
    from blueranch.edge.reading import Reading

    path = request.config.rootpath / "deploy/blueranch/edge-buoy-01.yaml"
    for q in ("load_kg", "battery_v", "solar_a", "enclosure_rh_pct", "rssi_dbm"):
        assert entry(q) in path.read_text(), q
    engine = QcEngine(load_config(path).qc)
    t = datetime(2026, 11, 21, tzinfo=UTC)
    flags = [int(engine.push(Reading(f"lc-{i}", "load_kg", v, t))[-1].qc) for i, v in enumerate((8.9e-35, 1e30, 812.5))]
    assert flags == [3, 4, 1]
