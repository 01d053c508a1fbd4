"""The edge agent: poll sensors, flag readings, buffer them in SQLite, forward them over MQTT.

Data path: driver ``read()`` -> :class:`blueranch.edge.qc.QcEngine` flags -> a contract ``Telemetry`` message per
poll (many readings per message) -> :class:`blueranch.edge.buffer.Buffer` (seq assigned, fsynced) ->
:class:`blueranch.edge.uplink.Uplink`.
A reading the contract cannot carry (a value outside the quantity's physical range) is logged with
sensor, quantity, value and limit, and counted in ``rejected_readings``; every other reading is kept,
whatever its QC flag.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

from pydantic import ValidationError

from blueranch import __version__
from blueranch.contracts import mqtt as contract
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES
from blueranch.edge import drivers, status
from blueranch.edge.buffer import Buffer
from blueranch.edge.bus import Buses
from blueranch.edge.clock import make_clock
from blueranch.edge.commands import CommandRunner, Poll, StatusNow
from blueranch.edge.config import AGENT_SENSOR, EdgeConfig
from blueranch.edge.drivers.base import SerialSensorBase
from blueranch.edge.qc import QcEngine
from blueranch.edge.reading import Reading
from blueranch.edge.scheduler import BusWorker, Polled
from blueranch.edge.uplink import Uplink

log = logging.getLogger("blueranch.edge")

STATUS_FILE_PERIOD_S = 1.0
#: How often age-based eviction runs.
EXPIRE_PERIOD_S = 60.0


class Agent:
    def __init__(self, config: EdgeConfig, config_version: str | None = None):
        self.config = config
        self.config_version = config_version
        self.stop_event = threading.Event()
        self.clock = make_clock(config.clock_file)
        self.qc = QcEngine(config.qc)
        b = config.buffer
        self.buffer = Buffer(b.path, b.max_bytes, b.max_age_s, b.synchronous)
        self.rejected_readings = 0
        self.last_values: dict[str, float] = {}
        self.buses = Buses()
        self.polled: list[Polled] = []
        groups: dict[str, list[Polled]] = {}
        for s in config.sensors:
            cls = drivers.get(s.driver)
            bus = self.buses.get(s.port, s.line_settings()) if isinstance(s, SerialSensorBase) else None
            p = Polled(s.id, s, cls(s, bus, self.clock), s.interval_s)
            self.polled.append(p)
            groups.setdefault(f"bus:{s.port}" if bus else f"node:{s.id}", []).append(p)
        self.workers = [
            BusWorker(name, ps, self.clock, self.stop_event, self._on_readings) for name, ps in groups.items()
        ]
        self.by_id = {p.id: p for p in self.polled}
        self.started_s = time.monotonic()
        self.agent_polled = Polled(AGENT_SENSOR, SimpleNamespace(farm=None, asset=None, driver="agent"), None, 0)
        self.commands = CommandRunner(self._command, lambda body: self.uplink.publish_event(body))
        self.uplink = Uplink(
            config.mqtt, config.site, config.device, self.buffer, self._status, on_command=self.commands.submit
        )

    # ------------------------------------------------------------ on-demand commands (edge/commands.py)
    def _command(self, cmd) -> object:
        if isinstance(cmd, StatusNow):
            self.uplink.publish_status()
            return "status published"
        p = self.by_id.get(cmd.sensor)
        if p is None:
            raise KeyError(f"no sensor {cmd.sensor!r}; known: {', '.join(sorted(self.by_id))}")
        if isinstance(cmd, Poll):
            readings = p.driver.read()
            self._on_readings(p, readings)
            return {"readings": len(readings)}
        if p.config.driver != cmd.cmd:  # a Raw command
            raise ValueError(f"sensor {p.id} is {p.config.driver}, not {cmd.cmd}")
        return p.driver.raw(cmd.command)

    # ------------------------------------------------------------ readings -> buffer
    def _sample(self, p: Polled, r: Reading) -> contract.Sample | None:
        try:
            return contract.Sample(
                time=r.time,
                sensor=r.sensor,
                quantity=r.quantity,
                value=r.value,
                unit=QUANTITIES[r.quantity].unit,
                qc=int(r.qc),
                farm=p.config.farm,
                asset=p.config.asset,
            )
        except ValidationError as exc:
            self.rejected_readings += 1
            p.health.rejected += 1
            log.error(
                "sensor %s: reading %s=%r at %s cannot be sent: %s (rejected so far: %d)",
                r.sensor,
                r.quantity,
                r.value,
                r.time.isoformat(),
                exc.errors(include_url=False)[0]["msg"],
                self.rejected_readings,
            )
            return None

    def _on_readings(self, p: Polled, readings: list[Reading]) -> None:
        # qc.push may add a revision of the sensor's previous reading (its final spike flag): see edge/qc.py
        samples = []
        for f in (f for r in readings for f in self.qc.push(r)):
            s = self._sample(p, f)
            p.health.note(f, rejected=s is None)
            if s is not None:
                samples.append(s)
        for s in samples:
            self.last_values[s.quantity] = s.value
        position = None
        vals = {s.quantity: s.value for s in samples}
        if "lat_deg" in vals and "lon_deg" in vals:
            position = contract.Position(lat_deg=vals["lat_deg"], lon_deg=vals["lon_deg"])
        for i in range(0, len(samples), contract.MAX_SAMPLES):
            chunk = samples[i : i + contract.MAX_SAMPLES]

            def body(seq: int, chunk=chunk) -> bytes:
                return contract.Telemetry(
                    device=self.config.device, seq=seq, position=position, samples=chunk
                ).to_json()

            seq = self.buffer.append(body, len(chunk))
            log.debug("buffered seq %d: %d samples from %s", seq, len(chunk), p.id)
        self.uplink.wake.set()

    # ------------------------------------------------------------ status
    def _status(self, state: str) -> contract.Status:
        last = {
            p.id: datetime.fromtimestamp(p.health.last_reading_s, UTC)
            for p in self.polled
            if p.health.last_reading_s is not None
        }
        return contract.Status(
            device=self.config.device,
            state=state,
            time=self.clock.now(),
            sw_version=__version__,
            config_version=self.config_version,
            buffer_depth=self.buffer.readings,
            buffer_dropped_total=self.buffer.dropped_readings,
            battery_v=self.last_values.get("battery_v"),
            rssi_dbm=self.last_values.get("rssi_dbm"),
            uplink=self.uplink.state[:200] if hasattr(self, "uplink") else "starting",
            last_reading=last or None,
        )

    def status_dict(self) -> dict:
        u, b = self.uplink, self.buffer
        return {
            "pid": os.getpid(),
            "updated_s": time.time(),
            "site": self.config.site,
            "device": self.config.device,
            "sw_version": __version__,
            "config_version": self.config_version,
            "uplink": u.state,
            "buffer_depth": b.readings,
            "buffer_messages": b.messages,
            "buffer_bytes": b.bytes,
            "buffer_dropped_total": b.dropped_readings,
            "buffer_dropped_messages": b.dropped_messages,
            "rejected_readings": self.rejected_readings + u.rejected,
            "inflight": u.inflight,
            "sent_live": u.sent_live,
            "sent_backfill": u.sent_backfill,
            "acked": u.acked,
            "next_seq": b.next_seq,
            "qc": self.qc.status(),
            "sensors": {
                p.id: {
                    "driver": p.config.driver,
                    "polls": p.health.polls,
                    # failed polls and readings the contract rejected (their value: see last_values)
                    "errors": p.health.errors + p.health.rejected,
                    "rejected": p.health.rejected,
                    "last_values": p.health.last_values_status(),
                    "last_error": p.health.last_error,
                    "bad_frames": p.driver.bad_frames,
                    "counters": p.driver.counters,
                    "last_reading": (
                        datetime.fromtimestamp(p.health.last_reading_s, UTC).isoformat()
                        if p.health.last_reading_s
                        else None
                    ),
                }
                for p in self.polled
            },
        }

    def _health_readings(self) -> None:
        """The agent's own readings (device_health): they go through the buffer like any sensor's."""
        now = self.clock.now()
        readings = [
            Reading(AGENT_SENSOR, q, float(v), now, QcFlag.NOT_EVALUATED)
            for q, v in (
                ("buffer_depth", self.buffer.readings),
                ("buffer_dropped_total", self.buffer.dropped_readings),
                ("uptime_s", time.monotonic() - self.started_s),
            )
        ]
        self._on_readings(self.agent_polled, readings)

    def _housekeeping(self) -> None:
        last_expire = 0.0
        last_health = time.monotonic()
        health_s = self.config.health_interval_s
        while not self.stop_event.wait(STATUS_FILE_PERIOD_S):
            if time.monotonic() - last_expire >= EXPIRE_PERIOD_S:
                last_expire = time.monotonic()
                self.buffer.expire()
            if health_s and time.monotonic() - last_health >= self.clock.wall_s(health_s):
                last_health = time.monotonic()
                self._health_readings()
            try:
                status.write(self.config.status_path, self.status_dict())
            except OSError as exc:
                log.warning("cannot write the status file %s: %s", self.config.status_path, exc)

    # ------------------------------------------------------------ life cycle
    def run(self) -> None:
        log.info(
            "edge agent %s/%s: %d sensors on %d workers; buffer %s holds %d messages (next seq %d)",
            self.config.site,
            self.config.device,
            len(self.polled),
            len(self.workers),
            self.buffer.path,
            self.buffer.messages,
            self.buffer.next_seq,
        )
        self.buffer.expire()
        status.write(self.config.status_path, self.status_dict())
        self.commands.start()
        self.uplink.start()
        house = threading.Thread(target=self._housekeeping, name="housekeeping", daemon=True)
        house.start()
        for w in self.workers:
            w.start()
        self.stop_event.wait()
        for w in self.workers:
            w.join(10)
        self.commands.stop()
        self.uplink.stop()
        house.join(5)
        for p in self.polled:
            p.driver.close()
        self.buses.close()
        data = self.status_dict()
        data["uplink"] = "stopped"
        status.write(self.config.status_path, data)
        self.buffer.close()
        log.info("stopped: %d readings still buffered", data["buffer_depth"])

    def stop(self) -> None:
        self.stop_event.set()
