"""Injected faults: how real sensors go wrong, each switchable with a rate, each written to the truth file.

Two families:

* value faults (:meth:`FaultInjector.apply_values`) change what a sensor measures: drift, spikes, stuck
  values, dropouts, biofouling (an attenuated signal), clock skew and brownout/reset;
* wire faults (:meth:`FaultInjector.roll`) change what goes on the wire: garbled frames and bad checksums,
  slow or missing SDI-12 responses, Modbus timeouts. The protocol devices ask for these.

Rates are per reading or per request (probabilities) except drift, biofouling and clock skew, which are
per simulated day. Every injected fault calls ``emit`` with a truth record
``{"type": "fault", "time", "device", "sensor", "kind", "detail"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pydantic import Field

from blueranch.contracts.strict import StrictModel
from blueranch.sim.timeutil import iso

#: Quantities a fouled optical or membrane sensor under-reads (biofouling attenuates the signal).
FOULING_QUANTITIES = frozenset({"do_mg_l", "do_sat_pct", "chl_ug_l", "sp_cond_us_cm", "salinity_psu"})

WIRE_KINDS = ("garbled", "slow", "missing", "timeout")


class FaultRates(StrictModel):
    """Fault rates of one device; all zero (no faults) by default."""

    drift: float = Field(0.0, ge=0, le=0.5, description="fractional drift of every value per simulated day")
    spike: float = Field(0.0, ge=0, le=1, description="probability per reading of a spike")
    spike_factor: float = Field(5.0, gt=0, description="a spike multiplies the value by 1 +- this")
    stuck: float = Field(0.0, ge=0, le=1, description="probability per reading of getting stuck")
    stuck_s: float = Field(6 * 3600.0, gt=0, description="how long a stuck sensor repeats its value")
    dropout: float = Field(0.0, ge=0, le=1, description="probability per reading of no reading at all")
    biofouling: float = Field(0.0, ge=0, le=0.5, description="fractional signal loss per simulated day")
    garbled: float = Field(0.0, ge=0, le=1, description="probability per frame of a corrupted byte/checksum")
    slow: float = Field(0.0, ge=0, le=1, description="SDI-12: probability the data is late (after the timeout)")
    missing: float = Field(0.0, ge=0, le=1, description="SDI-12: probability per command of no answer")
    clock_skew_s_per_day: float = Field(0.0, ge=-3600, le=3600, description="device clock error growth")
    brownout: float = Field(0.0, ge=0, le=1, description="probability per reading of a reset (state lost)")
    timeout: float = Field(0.0, ge=0, le=1, description="Modbus: probability per request of no reply")

    def any(self) -> bool:
        return any(v for k, v in self.model_dump().items() if k not in ("spike_factor", "stuck_s"))


@dataclass
class FaultInjector:
    """Fault state of one device. ``now`` returns simulated epoch seconds; ``emit`` receives truth records."""

    device: str
    rates: FaultRates
    rng: np.random.Generator
    now: Callable[[], float]
    emit: Callable[[dict], None]
    start_s: float = 0.0
    _stuck_until: float = -1.0
    _stuck_values: dict[str, float] = field(default_factory=dict)
    _announced: bool = False
    resets: int = 0

    def record(self, kind: str, sensor: str, detail: str) -> None:
        self.emit(
            {
                "type": "fault",
                "time": iso(self.now()),
                "device": self.device,
                "sensor": sensor,
                "kind": kind,
                "detail": detail,
            }
        )

    def roll(self, kind: str, sensor: str = "", detail: str = "") -> bool:
        """Draw a wire fault of ``kind``; when it happens it is recorded and True is returned."""
        rate = getattr(self.rates, kind)
        if rate <= 0 or self.rng.random() >= rate:
            return False
        self.record(kind, sensor or self.device, detail or kind)
        return True

    def days(self) -> float:
        return max(0.0, (self.now() - self.start_s) / 86400.0)

    def clock_offset_s(self) -> float:
        """How far the device's own clock is ahead of true time (clock skew)."""
        return self.rates.clock_skew_s_per_day * self.days()

    def _announce_continuous(self, sensor: str) -> None:
        if self._announced:
            return
        self._announced = True
        r = self.rates
        if r.drift:
            self.record("drift", sensor, f"values drift by {r.drift:+.4%} per day from {iso(self.start_s)}")
        if r.biofouling:
            self.record(
                "biofouling",
                sensor,
                f"signal attenuated by {r.biofouling:.4%} per day on {', '.join(sorted(FOULING_QUANTITIES))}",
            )
        if r.clock_skew_s_per_day:
            self.record("clock_skew", sensor, f"device clock gains {r.clock_skew_s_per_day:+.3f} s per day")

    def apply_values(self, sensor: str, values: dict[str, float]) -> dict[str, float]:
        """The values the sensor reports instead of the true ones; ``{}`` when the reading drops out.

        A brownout resets the device (callers see :attr:`resets` grow and forget their own state).
        """
        self._announce_continuous(sensor)
        r, t = self.rates, self.now()
        if r.brownout and self.rng.random() < r.brownout:
            self.resets += 1
            self._stuck_until = -1.0
            self.record("brownout", sensor, f"supply brownout: device reset #{self.resets}, state lost")
        if r.dropout and self.rng.random() < r.dropout:
            self.record("dropout", sensor, "no reading")
            return {}
        if t < self._stuck_until:
            return {k: self._stuck_values.get(k, v) for k, v in values.items()}
        out = dict(values)
        days = self.days()
        if r.drift:
            out = {k: v * (1.0 + r.drift * days) for k, v in out.items()}
        if r.biofouling:
            keep = max(0.05, 1.0 - r.biofouling * days)
            out = {k: (v * keep if k in FOULING_QUANTITIES else v) for k, v in out.items()}
        if r.spike and out and self.rng.random() < r.spike:
            key = sorted(out)[int(self.rng.integers(len(out)))]
            sign = 1.0 if self.rng.random() < 0.5 else -1.0
            out[key] = out[key] * (1.0 + sign * r.spike_factor) if out[key] else sign * r.spike_factor
            self.record("spike", sensor, f"{key}: {values[key]:.4g} reported as {out[key]:.4g}")
        if r.stuck and self.rng.random() < r.stuck:
            self._stuck_until = t + r.stuck_s
            self._stuck_values = dict(out)
            self.record("stuck", sensor, f"values frozen for {r.stuck_s:.0f} s")
        return out


def corrupt(frame: bytes, rng: np.random.Generator) -> bytes:
    """Flip one bit of one byte in the body of ``frame`` (not its final terminator), as line noise does."""
    if len(frame) < 2:
        return frame
    body_end = len(frame) - 2 if frame.endswith(b"\r\n") else len(frame)
    i = int(rng.integers(0, max(1, body_end)))
    bit = 1 << int(rng.integers(0, 7))
    b = bytearray(frame)
    b[i] ^= bit
    if b[i] in (0x0A, 0x0D):  # never fake a line end: the frame keeps its length, as a bit error does
        b[i] ^= 0x20
    return bytes(b)
