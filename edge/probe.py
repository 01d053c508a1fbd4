"""``blueranch edge probe PORT``: find what answers on a serial port and write the config for it.

Each driver that can be found on a serial port implements the optional hooks ``probe`` and ``snippet`` of
:class:`blueranch.edge.drivers.base.DriverBase` (what it asks, in its own protocol, is in its module). With
``--protocol auto`` they are tried in registry order (:data:`blueranch.edge.drivers.MODULES`) until one finds
something.

Every exchange goes through a :class:`blueranch.edge.bus.Bus`, like the agent's polls, and the port is opened
exclusively, so a probe never talks over a running agent.
"""

from __future__ import annotations

from blueranch.edge import drivers
from blueranch.edge.drivers.base import Found, ProbeOptions, Report

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
