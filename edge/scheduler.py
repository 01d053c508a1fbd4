"""Polling: one worker thread per serial bus (and one per MQTT node sensor), each sensor on its own interval.

Sensors on one bus are polled one after another (the line carries one conversation at a time); sensors on
different buses never wait for each other, so a slow SDI-12 sonde (``aM!`` waits up to 999 s) delays
nothing but its own bus. Due times advance by the interval from the previous due time (no drift); a
poll that overruns its slots skips the missed ones, with a log line, rather than firing a burst.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from blueranch.edge.clock import Clock
from blueranch.edge.reading import Reading

log = logging.getLogger("blueranch.edge.scheduler")


@dataclass
class SensorHealth:
    polls: int = 0
    #: failed polls
    errors: int = 0
    last_error: str | None = None
    #: consecutive failed polls
    failing: int = 0
    last_reading_s: float | None = None
    #: readings the contract could not carry (edge/agent.py), counted with the errors in ``edge status``
    rejected: int = 0
    #: the newest reading per quantity, and whether it was rejected
    last_values: dict[str, tuple[Reading, bool]] = field(default_factory=dict)

    def note(self, reading: Reading, rejected: bool) -> None:
        """Keep ``reading`` as its quantity's last value, unless it revises an older one (a spike flag)."""
        last = self.last_values.get(reading.quantity)
        if last is None or last[0].time <= reading.time:
            self.last_values[reading.quantity] = (reading, rejected)

    def last_values_status(self) -> dict[str, dict]:
        """Each quantity's newest reading for the status file: value (a string when not finite), flag, time,
        and ``rejected`` when the contract could not carry it."""
        out = {}
        for q, (r, rejected) in sorted(self.last_values.items()):
            out[q] = {"value": r.value if math.isfinite(r.value) else repr(r.value), "qc": int(r.qc)}
            out[q]["time"] = r.time.isoformat()
            if rejected:
                out[q]["rejected"] = True
        return out


@dataclass
class Polled:
    id: str
    config: object
    driver: object
    interval_s: float
    health: SensorHealth = field(default_factory=SensorHealth)


class BusWorker(threading.Thread):
    def __init__(
        self,
        name: str,
        sensors: list[Polled],
        clock: Clock,
        stop: threading.Event,
        on_readings: Callable[[Polled, list[Reading]], None],
    ):
        super().__init__(name=f"poll-{name}", daemon=True)
        self.sensors = sensors
        self.clock = clock
        self.stop = stop
        self.on_readings = on_readings

    def run(self) -> None:
        now = self.clock.time_s()
        due = {s.id: now for s in self.sensors}
        while not self.stop.is_set():
            s = min(self.sensors, key=lambda p: due[p.id])
            wait_s = self.clock.wall_s(due[s.id] - self.clock.time_s())
            if wait_s > 0:
                self.stop.wait(min(wait_s, 1.0))  # re-check: a clock file may change speed
                continue
            self.poll(s)
            due[s.id] += s.interval_s
            now = self.clock.time_s()
            if due[s.id] < now:
                missed = int((now - due[s.id]) // s.interval_s) + 1
                log.info(
                    "sensor %s: poll overran its interval of %s s; skipping %d slot(s)", s.id, s.interval_s, missed
                )
                due[s.id] += missed * s.interval_s

    def poll(self, s: Polled) -> None:
        s.health.polls += 1
        try:
            readings = s.driver.read()
        except Exception as exc:  # noqa: BLE001 - logged with sensor and reason; the worker must go on
            self._failed(s, exc)
            return
        if s.health.failing:
            log.warning("sensor %s: answering again after %d failed polls", s.id, s.health.failing)
            s.health.failing = 0
        if readings:
            s.health.last_reading_s = self.clock.time_s()
            self.on_readings(s, readings)

    @staticmethod
    def _failed(s: Polled, exc: Exception) -> None:
        """Count and log a failed poll: every new reason, then repeats at 1, 2, 4, 8.. so a dead sensor
        polled every second does not flood the log."""
        h = s.health
        reason = f"{exc.__class__.__name__}: {exc}"
        h.errors += 1
        h.failing += 1
        repeated = reason == h.last_error
        h.last_error = reason
        if repeated and h.failing & (h.failing - 1):
            return
        cfg = s.config
        where = getattr(cfg, "port", None) or getattr(cfg, "broker_url", "")
        again = f" (failed {h.failing} polls in a row)" if repeated else ""
        log.warning(
            "sensor %s (%s on %s): %s%s",
            s.id,
            cfg.driver,
            where,
            reason,
            again,
            exc_info=not isinstance(exc, (OSError, ValueError, RuntimeError)),
        )
