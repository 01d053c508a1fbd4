"""Edge QC: each quantity's QARTOD tests, compiled to callables once, run on a rolling window per sensor.

Config (``qc:`` in the agent's file)::

    qc:
      do_mg_l:
        gross_range: {fail_span: [0, 20], suspect_span: [2, 15]}
        spike: {suspect_threshold: 1.0, fail_threshold: 2.5}
        rate_of_change: {threshold_per_s: 0.01}
        flat_line: {tolerance: 0.001, suspect_s: 3600, fail_s: 10800}
        attenuated_signal: {suspect_threshold: 0.02, fail_threshold: 0.005, test_period_s: 21600}

An unknown test name is a config error (``extra="forbid"``). A reading always keeps its value: the flag
travels in the sample's ``qc`` and a failing flag never drops it. A flag a driver set already (e.g. 3 for a
node clock that cannot be trusted) is aggregated with the tests' flags.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from blueranch.contracts.strict import FrozenStrictModel
from blueranch.edge.reading import Reading

if TYPE_CHECKING:  # numpy (about 14 MB resident) is imported only when a quantity has tests configured
    import numpy as np


class _Test(FrozenStrictModel):
    """Base of the QARTOD test configs (immutable: one engine per agent reads them from every poll)."""


class GrossRange(_Test):
    fail_span: tuple[float, float]
    suspect_span: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> GrossRange:
        for name, span in (("fail_span", self.fail_span), ("suspect_span", self.suspect_span)):
            if span is not None and span[0] >= span[1]:
                raise ValueError(f"{name} {list(span)}: the low limit must be below the high limit")
        return self


class Spike(_Test):
    suspect_threshold: float = Field(gt=0)
    fail_threshold: float = Field(gt=0)


class RateOfChange(_Test):
    threshold_per_s: float = Field(gt=0)


class FlatLine(_Test):
    tolerance: float = Field(ge=0)
    suspect_s: float = Field(gt=0)
    fail_s: float = Field(gt=0)


class AttenuatedSignal(_Test):
    suspect_threshold: float = Field(ge=0)
    fail_threshold: float = Field(ge=0)
    test_period_s: float = Field(gt=0)
    check_type: str = Field(default="std", pattern="^(std|range)$")
    min_count: int = Field(default=3, ge=2)


class QuantityQc(_Test):
    gross_range: GrossRange | None = None
    spike: Spike | None = None
    rate_of_change: RateOfChange | None = None
    flat_line: FlatLine | None = None
    attenuated_signal: AttenuatedSignal | None = None

    def window_s(self) -> float:
        """How much history the tests need."""
        spans = [1.0]
        if self.flat_line:
            spans.append(self.flat_line.fail_s)
        if self.attenuated_signal:
            spans.append(self.attenuated_signal.test_period_s)
        return max(spans) * 1.05


Check = Callable[["np.ndarray", "np.ndarray"], "np.ndarray"]


def compile_checks(cfg: QuantityQc) -> list[Check]:
    """Turn one quantity's config into callables ``(values, times_s) -> flags`` before any data arrives.

    The callables are for the streaming window: only their last flag is meaningful."""
    from blueranch.edge import qartod

    out: list[Check] = []
    if cfg.gross_range:
        g = cfg.gross_range
        out.append(lambda x, t, g=g: qartod.gross_range_test(x, g.fail_span, g.suspect_span))
    if cfg.spike:
        out.append(lambda x, t, s=cfg.spike: qartod.spike_test(x, s.suspect_threshold, s.fail_threshold))
    if cfg.rate_of_change:
        out.append(lambda x, t, r=cfg.rate_of_change: qartod.rate_of_change_test(x, t, r.threshold_per_s))
    if cfg.flat_line:
        f = cfg.flat_line
        out.append(lambda x, t, f=f: qartod.flat_line_test(x, t, f.suspect_s, f.fail_s, f.tolerance, last_only=True))
    if cfg.attenuated_signal:
        a = cfg.attenuated_signal
        out.append(partial(_attenuated, a))
    return out


def _attenuated(a: AttenuatedSignal, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    from blueranch.edge import qartod

    return qartod.attenuated_signal_test(
        x, t, a.suspect_threshold, a.fail_threshold, a.test_period_s, a.check_type, a.min_count, last_only=True
    )


#: Rolling windows hold at most this many points per (sensor, quantity), whatever the time span.
MAX_WINDOW_POINTS = 4096


class QcEngine:
    """Flags readings as they arrive; thread-safe (one engine for every polling worker)."""

    def __init__(self, config: dict[str, QuantityQc]):
        self.checks = {q: compile_checks(c) for q, c in config.items()}
        self.windows_s = {q: c.window_s() for q, c in config.items()}
        self._history: dict[tuple[str, str], deque] = {}
        self._lock = threading.Lock()

    def flag(self, reading: Reading) -> Reading:
        checks = self.checks.get(reading.quantity)
        if not checks:
            return reading
        import numpy as np

        from blueranch.edge import qartod

        key = (reading.sensor, reading.quantity)
        t_s = reading.time.timestamp()
        with self._lock:
            hist = self._history.setdefault(key, deque(maxlen=MAX_WINDOW_POINTS))
            if hist and t_s <= hist[-1][0]:
                hist.clear()  # the sensor's clock went back: start a fresh window rather than mix them
            hist.append((t_s, reading.value))
            while hist and hist[0][0] < t_s - self.windows_s[reading.quantity]:
                hist.popleft()
            t = np.fromiter((p[0] for p in hist), float, len(hist))
            x = np.fromiter((p[1] for p in hist), float, len(hist))
        results = [check(x, t)[-1:] for check in checks]
        if reading.qc != qartod.NOT_EVALUATED:
            results.append(np.array([int(reading.qc)], dtype=np.uint8))
        return replace(reading, qc=int(qartod.aggregate(results)[0]))
