"""Edge QC: each quantity's QARTOD tests (:mod:`blueranch.edge.qartod`), one stream per (sensor, quantity).

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

**Spike: flag revisions.** The spike test judges the middle reading of three, so it can judge a reading
only when the next one arrives. The engine does not hold readings back (a reading held in memory is lost
if the agent dies): it publishes each reading at once with the spike test's 2 ("not evaluated", what ioos_qc
gives the last point of a series), and when the next reading of that sensor and quantity arrives it
publishes the same reading again, same time, value and tags, with its final flag, if that differs.
InfluxDB keeps one point per series and time, so the revision overwrites the provisional flag. The final
flag therefore comes one polling interval late; ``blueranch edge status`` shows that latency per sensor
and the number of revisions sent. The last reading before the agent stops keeps its provisional flag.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from pydantic import Field, model_validator

from blueranch.contracts.strict import FrozenStrictModel
from blueranch.edge import qartod
from blueranch.edge.reading import Reading


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
        s, f = self.suspect_span, self.fail_span
        if s is not None and (s[0] < f[0] or s[1] > f[1]):
            raise ValueError(f"suspect_span {list(s)} must lie within fail_span {list(f)} (as ioos_qc requires)")
        return self

    def build(self) -> qartod.StreamTest:
        return qartod.GrossRange(self.fail_span, self.suspect_span)


class Spike(_Test):
    suspect_threshold: float = Field(gt=0)
    fail_threshold: float = Field(gt=0)
    #: ``average`` (QARTOD, ioos_qc's default) or ``differential`` (ioos_qc 3.0): see qartod.Spike
    method: str = Field(default="average", pattern="^(average|differential)$")

    @model_validator(mode="after")
    def _ordered(self) -> Spike:
        if self.fail_threshold < self.suspect_threshold:
            raise ValueError(
                f"fail_threshold {self.fail_threshold} is below suspect_threshold {self.suspect_threshold}"
            )
        return self

    def build(self) -> qartod.StreamTest:
        return qartod.Spike(self.suspect_threshold, self.fail_threshold, self.method)


class RateOfChange(_Test):
    threshold_per_s: float = Field(gt=0)
    #: optional: a rate above this fails (4); ioos_qc 3.0's ``fail_threshold``
    fail_threshold_per_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> RateOfChange:
        if self.fail_threshold_per_s is not None and self.fail_threshold_per_s < self.threshold_per_s:
            raise ValueError(f"fail_threshold_per_s {self.fail_threshold_per_s} is below threshold_per_s")
        return self

    def build(self) -> qartod.StreamTest:
        return qartod.RateOfChange(self.threshold_per_s, self.fail_threshold_per_s)


class FlatLine(_Test):
    #: the window's range (max - min) must stay below this to count as flat (ioos_qc); 0 would never flag
    tolerance: float = Field(gt=0)
    suspect_s: float = Field(gt=0)
    fail_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> FlatLine:
        if self.fail_s < self.suspect_s:
            raise ValueError(f"fail_s {self.fail_s} is shorter than suspect_s {self.suspect_s}")
        return self

    def build(self) -> qartod.StreamTest:
        return qartod.FlatLine(self.suspect_s, self.fail_s, self.tolerance)


class AttenuatedSignal(_Test):
    suspect_threshold: float = Field(ge=0)
    fail_threshold: float = Field(ge=0)
    test_period_s: float = Field(gt=0)
    check_type: str = Field(default="std", pattern="^(std|range)$")
    min_count: int = Field(default=3, ge=2)

    def build(self) -> qartod.StreamTest:
        return qartod.AttenuatedSignal(
            self.suspect_threshold, self.fail_threshold, self.test_period_s, self.check_type, self.min_count
        )


#: The tests in the order they run (and are listed in the status).
TESTS = ("gross_range", "spike", "rate_of_change", "flat_line", "attenuated_signal")


class QuantityQc(_Test):
    gross_range: GrossRange | None = None
    spike: Spike | None = None
    rate_of_change: RateOfChange | None = None
    flat_line: FlatLine | None = None
    attenuated_signal: AttenuatedSignal | None = None

    def build(self) -> list[tuple[str, qartod.StreamTest]]:
        """Fresh stream states of the configured tests, for one (sensor, quantity)."""
        return [(name, cfg.build()) for name in TESTS if (cfg := getattr(self, name)) is not None]


@dataclass
class _Provisional:
    """The newest reading of a series while a delayed test (spike) has not judged it yet."""

    reading: Reading
    #: final flags of the tests without delay, and the driver's own flag
    flags: list[int]
    published: int


class _Series:
    """One (sensor, quantity): its tests' states and the reading waiting for its spike verdict."""

    def __init__(self, cfg: QuantityQc):
        self.cfg = cfg
        self.reset()

    def reset(self) -> None:
        self.tests = self.cfg.build()
        self.last_s: float | None = None
        self.interval_s: float | None = None
        self.waiting: _Provisional | None = None

    def push(self, reading: Reading) -> tuple[Reading, Reading | None]:
        """The reading flagged now, and the previous reading again if its final flag differs."""
        t_s = reading.time.timestamp()
        if self.last_s is not None and t_s <= self.last_s:
            self.reset()  # the sensor's clock went back (or repeated): a new stream, rather than mix them
        elif self.last_s is not None:
            self.interval_s = t_s - self.last_s
        self.last_s = t_s
        own = [int(reading.qc)] if reading.qc != qartod.NOT_EVALUATED else []
        settled: list[int] = []  # flags of the tests without delay: final now
        pending: list[int] = []  # the delayed tests' flags of this reading until the next one
        verdicts: list[int] = []  # the delayed tests' final flags of the previous reading
        for _name, test in self.tests:
            got = test.push(t_s, reading.value)
            if not test.delay:
                settled.append(got)
                continue
            pending += test.pending()
            if got is not None:
                verdicts.append(got)
        revision = None
        prev = self.waiting
        if prev is not None and verdicts:
            final = qartod.aggregate(prev.flags + verdicts)
            if final != prev.published:
                revision = replace(prev.reading, qc=final)
        out = replace(reading, qc=qartod.aggregate(own + settled + pending))
        self.waiting = _Provisional(out, own + settled, int(out.qc)) if pending else None
        return out, revision


class QcEngine:
    """Flags readings as they arrive; thread-safe (one engine for every polling worker)."""

    def __init__(self, config: dict[str, QuantityQc]):
        #: quantities with at least one test configured (an empty ``{}`` entry leaves readings as they are)
        self.config = {q: c for q, c in config.items() if c.build()}
        self._series: dict[tuple[str, str], _Series] = {}
        self._lock = threading.Lock()
        self.revisions_total = 0

    def push(self, reading: Reading) -> list[Reading]:
        """The reading with its flag, preceded by a revision of that series' previous reading when the
        spike test changed its flag (same time and value, final ``qc``)."""
        cfg = self.config.get(reading.quantity)
        if cfg is None:
            return [reading]
        key = (reading.sensor, reading.quantity)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series(cfg)
            out, revision = series.push(reading)
            if revision is None:
                return [out]
            self.revisions_total += 1
            return [revision, out]

    def status(self) -> dict:
        """For ``edge status``: the revisions sent, and per sensor how late its final flags come (the spike
        test's one polling interval) and for which quantities."""
        with self._lock:
            late: dict[str, dict] = {}
            for (sensor, quantity), s in sorted(self._series.items()):
                if any(t.delay for _, t in s.tests):
                    entry = late.setdefault(sensor, {"final_after_s": s.interval_s, "quantities": []})
                    entry["quantities"].append(quantity)
                    if s.interval_s is not None:
                        entry["final_after_s"] = max(entry["final_after_s"] or 0.0, s.interval_s)
            return {"revisions_total": self.revisions_total, "final_flag_late": late}
