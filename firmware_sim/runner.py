"""``sim run``: the scenario's serial devices on ptys (and TCP), its nodes on MQTT, paced by the clock.

The engine advances in simulated time, paced to ``speed`` x wall time (or as fast as it can at
``max``), publishing MQTT node readings with their simulated timestamps and writing truth. Serial devices
are not pushed: they answer when polled, from the state at the current simulated time.
"""

from __future__ import annotations

import logging
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from blueranch.sim.clock import SimClock
from blueranch.sim.devices import SerialLine
from blueranch.sim.devices.modbus_slave import ModbusSlave
from blueranch.sim.devices.nmea_talker import NmeaTalker
from blueranch.sim.devices.sdi12_sonde import Sdi12Sonde
from blueranch.sim.engine import Reading, Simulation, rng_for
from blueranch.sim.faults import FaultInjector
from blueranch.sim.links import LinkServer
from blueranch.sim.scenario import Scenario
from blueranch.sim.truth import TruthWriter, link_name

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    seed: int = 1
    days: float | None = None
    speed: float | None = 1.0  # None: max
    pty_dir: Path | None = None
    mqtt_url: str | None = None
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    tcp_base_port: int | None = None
    tcp_host: str = "127.0.0.1"
    #: serve the TCP ports as RFC 2217 (ser2net's telnet mode): clients' serial settings reach the devices
    rfc2217: bool = False
    truth_out: Path | None = None
    clock_file: Path | None = None


def serial_devices(scenario: Scenario) -> list:
    return [d for d in scenario.devices if link_name(d) is not None]


def build_device(d, sim: Simulation, clock: SimClock, truth: TruthWriter):
    """The wire-level device for scenario device ``d``, reading ``sim`` at the clock's current time."""
    faults = FaultInjector(d.id, d.faults, rng_for(sim.seed, "wire", d.id), clock.now, truth.write, sim.start_s)
    rng = rng_for(sim.seed, "wire-bits", d.id)

    def read():
        return sim.state(d.id, clock.now())

    def alive():
        return not sim.silent(d.id, clock.now())

    if d.protocol == "sdi12":
        return Sdi12Sonde(
            device_id=d.id,
            address=d.address,
            read=read,
            faults=faults,
            rng=rng,
            alive=alive,
            serial=f"SIM{zlib.crc32(d.id.encode()) % 10_000_000:07d}",
        )
    if d.protocol == "nmea":
        return NmeaTalker(device_id=d.id, read=read, clock=clock.now, faults=faults, rng=rng, alive=alive)
    return ModbusSlave(
        d.id,
        d.kind,
        unit=int(d.address),
        read=read,
        byte_order=d.byte_order,
        word_order=d.word_order,
        faults=faults,
        rng=rng,
        alive=alive,
        line=SerialLine(d.baudrate, d.parity) if d.baudrate is not None or d.parity is not None else None,
    )


def run(scenario: Scenario, opts: RunOptions, stop: threading.Event, on_ready=None) -> dict:
    """Run until the scenario's end or ``stop``; returns counts of what was done."""
    sim = Simulation(scenario, opts.seed, opts.days)
    truth = TruthWriter(opts.truth_out)
    clock = SimClock(sim.start_s, opts.speed, opts.clock_file)
    links = LinkServer()
    publisher = None
    counts = {"readings_published": 0, "truth_records": 0, "serial_devices": 0}
    try:
        if opts.pty_dir is not None:
            for i, d in enumerate(serial_devices(scenario)):
                port = opts.tcp_base_port + i if opts.tcp_base_port is not None else None
                served = links.add(
                    build_device(d, sim, clock, truth), opts.pty_dir / link_name(d), port, opts.tcp_host, opts.rfc2217
                )
                log.info(
                    "%s %s address %s on %s -> %s%s",
                    d.id,
                    d.protocol,
                    d.address,
                    served.slave_name,
                    opts.pty_dir / link_name(d),
                    f" and {'rfc2217' if opts.rfc2217 else 'tcp'}://{opts.tcp_host}:{port}" if port else "",
                )
                counts["serial_devices"] += 1
            links.start()
        if opts.mqtt_url:
            from blueranch.sim.nodes import NodePublisher

            publisher = NodePublisher(
                opts.mqtt_url,
                client_id=f"blueranch-sim-{scenario.name}"[:60],
                username=opts.mqtt_username,
                password=opts.mqtt_password,
            )
        if on_ready is not None:
            on_ready()
        nodes = {d.id for d in scenario.devices if d.protocol == "mqtt_node"}
        for rec in sim.run(devices=nodes):
            t = rec.time_s if isinstance(rec, Reading) else sim.t
            if opts.speed is None:
                clock.set(t)
            elif stop.wait(clock.wall_until(t)):
                break
            if stop.is_set():
                break
            if isinstance(rec, Reading):
                if publisher is not None:
                    publisher.publish(rec)
                    counts["readings_published"] += 1
            else:
                truth.write(rec)
    finally:
        if opts.speed is None:
            clock.set(sim.t, force=True)
        counts["truth_records"] = truth.count
        if publisher is not None:
            publisher.close()
        links.close()
        truth.close()
    return counts
