"""The edge agent: poll sensors, flag readings, buffer them in SQLite, forward them over MQTT.

Data path: driver ``read()`` -> :class:`blueranch.edge.qc.QcEngine` flags -> a contract ``Telemetry`` message per
poll (many readings per message) -> :class:`blueranch.edge.buffer.Buffer` (seq assigned, fsynced) ->
:class:`blueranch.edge.uplink.Uplink`.
No reading is dropped because of its value: one outside the quantity's physical range travels with its value
and flag 4, one without a finite value (NaN, infinity) without ``value`` and with flag 9 (the contract's
``Sample``).
Only a reading the contract cannot carry at all (a second reading of one sensor and quantity in the same
millisecond, which InfluxDB would merge into one) is logged with sensor, quantity and values, and counted
in ``rejected_readings``.

A thread that dies takes the process down (exit 70, so systemd restarts it); under systemd the agent says
READY and pings the watchdog only while every thread is alive and the sender is not stuck
(:mod:`blueranch.edge.sdnotify`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

from pydantic import ValidationError

from blueranch import __version__
from blueranch.contracts import mqtt as contract
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES
from blueranch.edge import drivers, sdnotify, status
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
#: flags whose value is not used for the payload's position
_UNUSABLE = frozenset({contract.FAIL_QC, contract.MISSING_QC})

STATUS_FILE_PERIOD_S = 1.0
#: How often age-based eviction runs.
EXPIRE_PERIOD_S = 60.0
#: The sender thread is stuck (no watchdog ping) when its loop has not come round for this long.
SENDER_STUCK_S = 60.0
#: Exit code when a thread died (EX_SOFTWARE, sysexits.h): systemd's Restart=always starts the agent again.
THREAD_DIED_EXIT = 70


class Agent:
    def __init__(self, config: EdgeConfig, config_version: str | None = None):
        self.config = config
        self.config_version = config_version
        self.stop_event = threading.Event()
        self.clock = make_clock(config.clock_file)
        self.qc = QcEngine(config.qc)
        b = config.buffer
        self.buffer = Buffer(b.path, b.max_bytes, b.max_age_s, b.synchronous, b.memory_max_bytes)
        self.rejected_readings = 0
        #: samples put into the buffer by this process (the drills compare it with what InfluxDB holds)
        self.samples_buffered = 0
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
                value=r.value if math.isfinite(r.value) else None,
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

    def _distinct(self, samples: list[contract.Sample]) -> list[contract.Sample]:
        """Samples of one sensor and quantity in one millisecond would be one InfluxDB point (one value lost
        without a word), and the shore refuses such a message: the first is kept, the others logged and counted."""
        seen: dict[tuple[str, str, int], contract.Sample] = {}
        out = []
        for s in samples:
            first = seen.setdefault(contract.sample_key(s), s)
            if first is s:
                out.append(s)
                continue
            self.rejected_readings += 1
            log.error(
                "sensor %s: two readings of %s in the same millisecond %s (%r, then %r): InfluxDB keeps one value "
                "per millisecond, so the second is not sent (rejected so far: %d)",
                s.sensor,
                s.quantity,
                s.time.isoformat(),
                first.value,
                s.value,
                self.rejected_readings,
            )
        return out

    def _on_readings(self, p: Polled, readings: list[Reading]) -> None:
        # qc.push may add a revision of the sensor's previous reading (its final spike flag): see edge/qc.py
        samples = []
        for f in (f for r in readings for f in self.qc.push(r)):
            s = self._sample(p, f)
            if s is not None and s.qc != f.qc:  # the contract's flag (FAIL out of range, MISSING without value)
                f = dataclasses.replace(f, qc=QcFlag(s.qc))
            p.health.note(f, rejected=s is None)
            if s is not None:
                samples.append(s)
        samples = self._distinct(samples)
        for s in samples:
            self.last_values[s.quantity] = s.value
        position = None
        # the payload's position: the poll's fix if both coordinates came with a usable value
        vals = {s.quantity: s.value for s in samples if s.qc not in _UNUSABLE}
        if "lat_deg" in vals and "lon_deg" in vals:
            position = contract.Position(lat_deg=vals["lat_deg"], lon_deg=vals["lon_deg"])
        for i in range(0, len(samples), contract.MAX_SAMPLES):
            chunk = samples[i : i + contract.MAX_SAMPLES]

            def body(epoch: str, seq: int, chunk=chunk) -> bytes:
                return contract.Telemetry(
                    device=self.config.device, epoch=epoch, seq=seq, position=position, samples=chunk
                ).to_json()

            seq = self.buffer.append(body, len(chunk))
            self.samples_buffered += len(chunk)
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
            buffer_depth=max(0, self.buffer.readings),
            buffer_dropped_total=self.buffer.dropped_readings,
            battery_v=self.last_values.get("battery_v"),
            rssi_dbm=self.last_values.get("rssi_dbm"),
            uplink=self._uplink_text()[:200],
            last_reading=last or None,
            epoch=self.buffer.epoch,
            refused_total=self.uplink.delivery.refused_total if hasattr(self, "uplink") else None,
        )

    def _uplink_text(self) -> str:
        """The uplink's state, and the buffer's when its disk refuses writes."""
        text = self.uplink.state_text if hasattr(self, "uplink") else "starting"
        if self.buffer.disk_error:
            text = f"disk refuses writes ({self.buffer.disk_error}), {self.buffer.memory_messages} in memory; {text}"
        return text

    def status_dict(self) -> dict:
        u, b, d = self.uplink, self.buffer, self.uplink.delivery
        return {
            "pid": os.getpid(),
            "updated_s": time.time(),
            "site": self.config.site,
            "device": self.config.device,
            "sw_version": __version__,
            "config_version": self.config_version,
            "uplink": self._uplink_text(),
            "delivery": d.mode,
            "buffer_depth": b.readings,
            "buffer_messages": b.messages,
            "buffer_bytes": b.bytes,
            "buffer_dropped_total": b.dropped_readings,
            "buffer_dropped_messages": b.dropped_messages,
            "buffer_lost_messages": b.lost_messages,
            "epoch": b.epoch,
            "disk": b.disk_error or "ok",
            "disk_errors": b.disk_errors,
            "memory_messages": b.memory_messages,
            "rejected_readings": self.rejected_readings,
            "samples_buffered": self.samples_buffered,
            "inflight": u.inflight,
            "uncommitted": u.uncommitted,
            "sent_live": u.sent_live,
            "sent_backfill": u.sent_backfill,
            "resent": d.resent,
            "acked": u.acked,
            "committed": d.committed,
            "shore_rejected": d.shore_rejected,
            "refused_total": d.refused_total,
            "no_subscriber_total": d.no_subscriber_total,
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
        last_expire = last_disk = 0.0
        last_health = last_ping = time.monotonic()
        health_s = self.config.health_interval_s
        ping_s = sdnotify.watchdog_period_s()
        status_warned = False
        while not self.stop_event.wait(min(STATUS_FILE_PERIOD_S, ping_s or STATUS_FILE_PERIOD_S)):
            now = time.monotonic()
            if self.buffer.disk_error and now - last_disk >= self.config.buffer.disk_retry_s:
                last_disk = now
                self.buffer.retry_disk()
            if now - last_expire >= EXPIRE_PERIOD_S:
                last_expire = now
                self.buffer.expire()
            if health_s and now - last_health >= self.clock.wall_s(health_s):
                last_health = now
                self._health_readings()
            self.buffer.write_witness()
            try:
                status.write(self.config.status_path, self.status_dict())
                status_warned = False
            except OSError as exc:
                if not status_warned:
                    log.warning("cannot write the status file %s: %s", self.config.status_path, exc)
                    status_warned = True
            if ping_s and now - last_ping >= ping_s * 0.9:
                last_ping = now
                self._ping_watchdog()

    def _ping_watchdog(self) -> None:
        """``WATCHDOG=1`` only while the agent works: a dead or stuck thread lets systemd restart it."""
        dead = [t.name for t in (*self.workers, *self.uplink._threads) if not t.is_alive()]
        stuck = time.monotonic() - getattr(self.uplink, "beat_s", time.monotonic())
        if dead or stuck > SENDER_STUCK_S:
            log.error("not pinging the watchdog: dead threads %s, sender loop %.0f s old", dead, stuck)
            return
        sdnotify.notify(f"WATCHDOG=1\nSTATUS={self._uplink_text()[:200]}")

    # ------------------------------------------------------------ life cycle
    @staticmethod
    def _thread_died(args: threading.ExceptHookArgs) -> None:
        """A thread that dies would leave a zombie agent (polling nothing, systemd seeing it up): exit instead.
        What the buffer committed is on disk; messages held in memory (a bad disk) are lost, and said so."""
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        log.critical(
            "thread %s died: %s: %s; the agent exits (code %d) so that it is restarted",
            name,
            args.exc_type.__name__,
            args.exc_value,
            THREAD_DIED_EXIT,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )
        logging.shutdown()
        sys.stderr.flush()
        os._exit(THREAD_DIED_EXIT)

    def run(self) -> None:
        threading.excepthook = self._thread_died
        log.info(
            "edge agent %s/%s: %d sensors on %d workers; buffer %s (epoch %s) holds %d messages (next seq %d); "
            "delivery %s",
            self.config.site,
            self.config.device,
            len(self.polled),
            len(self.workers),
            self.buffer.path,
            self.buffer.epoch,
            self.buffer.messages,
            self.buffer.next_seq,
            self.config.mqtt.delivery,
        )
        self.buffer.expire()
        status.write(self.config.status_path, self.status_dict())
        self.commands.start()
        self.uplink.start()
        house = threading.Thread(target=self._housekeeping, name="housekeeping", daemon=True)
        house.start()
        for w in self.workers:
            w.start()
        sdnotify.notify("READY=1")
        self.stop_event.wait()
        sdnotify.notify("STOPPING=1")
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
