"""NMEA 0183 talkers: GPS receivers and weather stations streaming sentences (4800 baud 8N1 by default).

A talker sends continuously; a reading takes the newest valid sentence of each configured type within
``timeout_s`` (it stops early once every type has been seen). Garbled lines, bad checksums and oversize
sentences are logged with the sensor and reason and counted (``garbled_total``); sentences of other types
(GSV, GSA, proprietary ``$P...``, queries) are counted in ``ignored_total``; neither stops the poll. With
``lenient_length`` (default) sentences longer than the standard's 82 characters, up to ``max_chars``, are
taken and counted in ``overlong_total``. Readings carry
the receiver's RMC time when there is one (the receiver's clock is the GPS clock), else the agent's clock;
an RMC time more than ``max_future_s`` ahead of the agent (a GPS week rollover) is replaced by the agent's
clock and the readings get flag 3.

``edge probe`` listens at the usual speeds (:data:`PROBE_BAUDRATES`) and lists talkers and sentence types
with valid checksums.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Literal

from pydantic import Field

from blueranch.contracts.qc import QcFlag
from blueranch.edge.bus import Bus, read_until
from blueranch.edge.clock import Clock
from blueranch.edge.drivers import register
from blueranch.edge.drivers.base import (
    DriverError,
    Found,
    LineSettings,
    ProbeOptions,
    QuantityName,
    Report,
    SerialDriver,
    SerialSensorBase,
)
from blueranch.edge.drivers.nmea_framing import (
    LENIENT_MAX_CHARS,
    MAX_SENTENCE_CHARS,
    SENTENCES,
    NmeaError,
    Sentence,
    UnsupportedSentence,
    parse_sentence,
)
from blueranch.edge.reading import Reading

log = logging.getLogger("blueranch.edge.nmea0183")

#: Speeds ``edge probe`` listens at: the standard 4800 (IEC 61162-1), the high-speed 38400, and 9600.
PROBE_BAUDRATES = (4800, 38400, 9600)

SAMPLE = """\
- id: gps-1
  driver: nmea0183
  port: /dev/ttyUSB1
  baudrate: 4800            # NMEA 0183 standard rate (IEC 61162-1); 38400 for high-speed talkers
  sentences: [GGA, RMC, MWV, XDR]  # GGA, RMC, MWV, MDA, XDR
  interval_s: 60
  timeout_s: 3.0            # listen at most this long per reading (talkers send about once a second)
  lenient_length: true      # take sentences longer than NMEA's 82 characters (real DGPS GGA: 83), counted
"""


class Config(SerialSensorBase):
    driver: Literal["nmea0183"]
    baudrate: int = Field(default=4800, ge=1200, le=115200)
    sentences: list[Literal["GGA", "RMC", "MWV", "MDA", "XDR"]] = Field(default=["GGA", "RMC"], min_length=1)
    #: only these talker ids (GP, GN, WI, ...); empty means any
    talkers: list[str] = Field(default=[], max_length=20)
    #: only these quantities (empty: every quantity the sentences give)
    quantities: list[QuantityName] = []
    timeout_s: float = Field(default=3.0, gt=0, le=60)
    #: a receiver clock further ahead of the agent's than this (e.g. a GPS week-number rollover) is not trusted
    max_future_s: float = Field(default=600, gt=0)
    #: take sentences longer than NMEA 0183's 82 characters, up to ``max_chars`` (counted as overlong)
    lenient_length: bool = True
    max_chars: int = Field(default=LENIENT_MAX_CHARS, ge=MAX_SENTENCE_CHARS, le=512)

    def line_settings(self) -> LineSettings:
        return LineSettings(self.baudrate, 8, "N", 1, "nmea0183")


@register("nmea0183")
class NmeaDriver(SerialDriver):
    Config = Config
    SAMPLE = SAMPLE

    def __init__(self, config: Config, bus: Bus, clock: Clock):
        super().__init__(config, bus, clock)
        self.garbled_total = 0
        self.ignored_total = 0
        self.overlong_total = 0
        self._max_chars = config.max_chars if config.lenient_length else MAX_SENTENCE_CHARS

    @property
    def bad_frames(self) -> int:
        return self.garbled_total

    @property
    def counters(self) -> dict[str, int]:
        """Sentences longer than NMEA's 82 characters taken (``lenient_length``), and sentences not taken."""
        return {"overlong": self.overlong_total, "ignored": self.ignored_total}

    def read(self) -> list[Reading]:
        c = self.config
        latest: dict[str, Sentence] = {}
        deadline = time.monotonic() + c.timeout_s
        with self.bus.conversation(c.id) as port:
            port.reset_input_buffer()
            while time.monotonic() < deadline and not set(c.sentences) <= set(latest):
                line = read_until(port, b"\n", deadline, 4 * self._max_chars)
                if not line.endswith(b"\n"):
                    continue
                line = line.lstrip(b"\x00\r\n ")
                try:
                    s = parse_sentence(line, self._max_chars)
                except UnsupportedSentence as exc:
                    self.ignored_total += 1
                    log.debug("sensor %s (nmea0183 on %s): %s", c.id, c.port, exc)
                    continue
                except NmeaError as exc:
                    self.garbled_total += 1
                    log.warning("sensor %s (nmea0183 on %s): %s", c.id, c.port, exc)
                    continue
                if s.chars > MAX_SENTENCE_CHARS:
                    self.overlong_total += 1
                    if self.overlong_total in (1, 10, 100) or self.overlong_total % 1000 == 0:
                        log.info(
                            "sensor %s: %d sentences longer than NMEA's %d characters taken so far (%s, %d)",
                            c.id,
                            self.overlong_total,
                            MAX_SENTENCE_CHARS,
                            s.type,
                            s.chars,
                        )
                if s.type in c.sentences and (not c.talkers or s.talker in c.talkers):
                    latest[s.type] = s
        if not latest:
            raise DriverError(f"no valid {'/'.join(c.sentences)} sentence within {c.timeout_s} s")
        missing = [t for t in c.sentences if t not in latest]
        if missing:
            log.info("sensor %s: no %s sentence within %s s", c.id, "/".join(missing), c.timeout_s)
        return self._readings(latest)

    def _readings(self, latest: dict[str, Sentence]) -> list[Reading]:
        c = self.config
        rmc = latest.get("RMC")
        now = self.clock.now()
        taken, qc = (rmc.time if rmc is not None and rmc.time is not None else now), QcFlag.NOT_EVALUATED
        if taken > now + timedelta(seconds=c.max_future_s):
            log.warning(
                "sensor %s: receiver clock %s is more than %s s ahead of %s; using the agent's clock, flag 3",
                c.id,
                taken.isoformat(),
                c.max_future_s,
                now.isoformat(),
            )
            taken, qc = now, QcFlag.SUSPECT
        values: dict[str, float] = {}
        for t in c.sentences:  # later sentence types in the list win for shared quantities
            if t in latest:
                values.update(latest[t].values)
        wanted = set(c.quantities) if c.quantities else set(values)
        return [Reading(c.id, q, v, taken, qc) for q, v in values.items() if q in wanted]

    # ------------------------------------------------------------ edge probe
    @classmethod
    def probe(cls, url: str, options: ProbeOptions, report: Report) -> list[Found]:
        """Listen at each speed for ``listen_s``; the first speed with valid sentences wins."""
        for baud in (options.baudrate,) if options.baudrate else PROBE_BAUDRATES:
            bus = Bus(url, LineSettings(baud, 8, "N", 1, cls.name))
            talkers: dict[str, set[str]] = {}
            bad = 0
            try:
                with bus.conversation("probe") as port:
                    deadline = time.monotonic() + options.listen_s
                    while time.monotonic() < deadline:
                        line = read_until(port, b"\n", deadline, 512)
                        if not line.endswith(b"\n"):
                            continue
                        try:
                            s = parse_sentence(line.lstrip(b"\x00\r\n "))
                        except UnsupportedSentence as exc:  # a GSV or GSA still shows who talks
                            if exc.type:
                                talkers.setdefault(exc.talker, set()).add(exc.type)
                            continue
                        except NmeaError:
                            bad += 1
                            continue
                        talkers.setdefault(s.talker, set()).add(s.type)
            finally:
                bus.close()
            report(f"nmea0183 at {baud} baud: talkers {sorted(talkers)}, {bad} unusable lines")
            if talkers:
                sentences = sorted({t for types in talkers.values() for t in types})
                return [Found(cls.name, url, {"baudrate": baud, "talkers": sorted(talkers), "sentences": sentences})]
        return []

    @classmethod
    def snippet(cls, found: Found, index: int) -> str:
        d = found.detail
        usable = [s for s in d["sentences"] if s in SENTENCES]
        return (
            f"  # talkers {', '.join(d['talkers'])}; sentences seen: {', '.join(d['sentences'])}\n"
            f"  - id: nmea-{index}\n    driver: nmea0183\n    port: {found.port}\n    baudrate: {d['baudrate']}\n"
            f"    sentences: [{', '.join(usable) or 'GGA'}]\n    interval_s: 60\n"
        )
