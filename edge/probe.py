"""``blueranch edge probe PORT``: find what answers on a serial port and write the config for it.

Each driver that can be found on a serial port implements the optional hooks ``probe`` and ``snippet`` of
:class:`blueranch.edge.drivers.base.DriverBase` (what it asks, in its own protocol, is in its module). With
``--protocol auto`` they are tried in registry order (:data:`blueranch.edge.drivers.MODULES`) until one finds
something.

Every exchange goes through a :class:`blueranch.edge.bus.Bus`, like the agent's polls, and the port is opened
exclusively, so a probe never talks over a running agent.

A long probe reports how far it got (:data:`blueranch.edge.drivers.base.Progress`); :class:`Console` draws it
as one line on a terminal, with an estimate of the time left, and stays quiet when the output is not one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from blueranch.edge import drivers
from blueranch.edge.drivers.base import Found, ProbeOptions, Report, duration

AUTO = "auto"


def protocols() -> list[str]:
    """What ``--protocol`` accepts: ``auto`` and every driver that can probe."""
    return [AUTO, *drivers.supporting("probe")]


def probe(
    url: str, protocol: str = AUTO, options: ProbeOptions | None = None, report: Report = lambda s: None
) -> list[Found]:
    """The sensors found on ``url`` by one driver (``protocol``), or by the first that finds any (``auto``)."""
    options = options or ProbeOptions()
    probers = drivers.supporting("probe")
    if protocol != AUTO:
        if protocol not in probers:
            raise ValueError(f"cannot probe for {protocol!r}; known: {', '.join(protocols())}")
        return probers[protocol].probe(url, options, report)
    for cls in probers.values():
        found = cls.probe(url, options, report)
        if found:
            return found
    return []


def snippet(found: list[Found]) -> str:
    """YAML items for ``sensors:`` (two-space indented), with comments where a human must decide."""
    return "".join(drivers.get(f.driver).snippet(f, i) for i, f in enumerate(found, 1))


class Console:
    """The probe's findings as ``# `` lines on ``stream``, and its progress as one line redrawn in place (only
    when ``stream`` is a terminal), with the time left estimated from the pace so far."""

    #: redraw at most this often
    REDRAW_S = 0.1

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.clock = clock
        self.live = stream.isatty()
        self._started: float | None = None
        self._drawn_at = float("-inf")
        self._shown = False

    def report(self, line: str) -> None:
        self.clear()
        self.stream.write(f"# {line}\n")
        self.stream.flush()

    def progress(self, done: int, total: int, what: str) -> None:
        now = self.clock()
        if self._started is None:
            self._started = now
        if not self.live or (now - self._drawn_at < self.REDRAW_S and done < total):
            return
        self._drawn_at = now
        elapsed = now - self._started
        left = f", about {duration(elapsed / done * (total - done))} left" if done and elapsed > 0 else ""
        self.stream.write(f"\r\x1b[K# {what}: {done}/{total} ({100 * done // max(total, 1)} %){left}")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the progress line (before a finding is printed, and at the end)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
