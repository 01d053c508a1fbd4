"""Simulated time across processes (docs/simulator.md, 'Commands', ``--clock-file``): the clock file.

``{"wall_epoch_s", "sim_epoch_s", "speed"}``; sim time = ``sim_epoch_s + (now - wall_epoch_s) * speed``.
At ``--speed max`` there is no constant speed: the simulator rewrites the file about once a wall second
with the current simulated time and the speed measured over the last second, so a reader extrapolates
sensibly between rewrites. Files are replaced atomically (write + rename) so a reader never sees half.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


class SimClock:
    def __init__(self, sim_epoch_s: float, speed: float | None, path: Path | None = None):
        """``speed=None`` means as fast as possible: time is whatever the engine has reached (:meth:`set`)."""
        self.speed = speed
        self.path = path
        self.wall_epoch_s = time.time()
        self.sim_epoch_s = sim_epoch_s
        self._engine_t = sim_epoch_s
        self._measured = 1.0
        self.write()

    def now(self) -> float:
        if self.speed is None:
            return self._engine_t
        return self.sim_epoch_s + (time.time() - self.wall_epoch_s) * self.speed

    def set(self, t_s: float, force: bool = False) -> None:
        """Speed max: the engine reached ``t_s``; rewrite the file about once a second (or now)."""
        self._engine_t = t_s
        wall = time.time()
        if force or wall - self.wall_epoch_s >= 1.0:
            self._measured = max(1.0, (t_s - self.sim_epoch_s) / max(1e-3, wall - self.wall_epoch_s))
            self.wall_epoch_s, self.sim_epoch_s = wall, t_s
            self.write()

    def wall_until(self, t_s: float) -> float:
        """Wall seconds until simulated time ``t_s`` (0 when already there, or at speed max)."""
        if self.speed is None:
            return 0.0
        return max(0.0, (t_s - self.now()) / self.speed)

    def write(self) -> None:
        if self.path is None:
            return
        speed = self.speed if self.speed is not None else self._measured
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"wall_epoch_s": self.wall_epoch_s, "sim_epoch_s": self.sim_epoch_s, "speed": speed}))
        os.replace(tmp, self.path)
