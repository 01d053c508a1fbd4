"""A GPS and weather station talking NMEA 0183 once a second (GGA, RMC, MWV, XDR), unprompted.

The talker reads the buoy's current simulated state (``read()``: position, motion, wind, pressure, air
temperature, wave height) and the device's own clock (``clock()``: simulated epoch seconds, which clock
skew offsets). Faults: ``garbled`` flips a bit so the ``*hh`` checksum fails, ``dropout`` loses a whole
second's burst, and value faults change the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from blueranch.sim import nmea
from blueranch.sim.devices import Reply
from blueranch.sim.faults import FaultInjector, corrupt


@dataclass
class NmeaTalker:
    device_id: str = "gps-1"
    read: Callable[[], dict[str, float]] = field(default=lambda: {})
    clock: Callable[[], float] = field(default=lambda: 0.0)
    faults: FaultInjector | None = None
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    tick_s: float | None = 1.0
    #: False while the device is switched off or silent (a scenario's silent_device event)
    alive: Callable[[], bool] = lambda: True

    def feed(self, data: bytes) -> list[Reply]:
        return []  # a talker does not listen

    def burst(self) -> list[bytes]:
        """One second's sentences from the current state (empty on a dropout)."""
        v = self.read()
        if self.faults is not None:
            v = self.faults.apply_values(self.device_id, v)
            if not v:
                return []
        t = self.clock() + (self.faults.clock_offset_s() if self.faults is not None else 0.0)
        out = [
            nmea.gga(t, v["lat_deg"], v["lon_deg"], int(v.get("gps_sats", 9)), v.get("hdop", 0.9)),
            nmea.rmc(t, v["lat_deg"], v["lon_deg"], v.get("speed_kn", 0.0), v.get("course_deg", 0.0)),
            nmea.mwv(v["wind_dir_deg"], v["wind_speed_m_s"]),
            nmea.xdr(v["air_pressure_hpa"], v["air_temp_c"], v.get("wave_height_m")),
        ]
        if self.faults is not None:
            for i, s in enumerate(out):
                if self.faults.roll("garbled", self.device_id, f"bit error in {s[1:6].decode()}"):
                    out[i] = corrupt(s, self.rng)
        return out

    def tick(self) -> list[Reply]:
        if not self.alive():
            return []
        data = b"".join(self.burst())
        return [Reply(data)] if data else []
