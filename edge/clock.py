"""Wall clock or the simulator's accelerated clock (the clock file of docs/simulator.md, 'Commands', ``--clock-file``).

The simulator writes ``{"wall_epoch_s", "sim_epoch_s", "speed"}`` to a clock file; simulated time is
``sim_epoch_s + (now - wall_epoch_s) * speed``. With a clock file the agent timestamps readings and
schedules intervals in simulated time. The file is re-read when it changes (a restarted simulator).
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("blueranch.edge.clock")


class Clock:
    """Real UTC time; ``speed`` is 1."""

    speed = 1.0

    def time_s(self) -> float:
        return time.time()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time_s(), UTC)

    def wall_s(self, sim_s: float) -> float:
        """Wall-clock seconds that ``sim_s`` simulated seconds take."""
        return sim_s / self.speed


class FileClock(Clock):
    """Simulated time from the simulator's clock file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._mtime_ns = -1
        self._wall_epoch_s = 0.0
        self._sim_epoch_s = 0.0
        self.speed = 1.0
        self._load()

    def _load(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise ValueError(f"clock_file {self.path}: {exc}") from exc
        if st.st_mtime_ns == self._mtime_ns:
            return
        try:
            data = json.loads(self.path.read_text())
            wall, sim, speed = float(data["wall_epoch_s"]), float(data["sim_epoch_s"]), float(data["speed"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"clock_file {self.path}: needs wall_epoch_s, sim_epoch_s, speed: {exc}") from exc
        if speed <= 0:
            raise ValueError(f"clock_file {self.path}: speed {speed} must be > 0")
        self._wall_epoch_s, self._sim_epoch_s, self.speed = wall, sim, speed
        self._mtime_ns = st.st_mtime_ns

    def time_s(self) -> float:
        try:
            self._load()
        except ValueError as exc:  # keep the last good clock while the simulator rewrites the file
            log.warning("%s; keeping the previous clock", exc)
        return self._sim_epoch_s + (time.time() - self._wall_epoch_s) * self.speed


def make_clock(clock_file: Path | None) -> Clock:
    return FileClock(clock_file) if clock_file else Clock()
