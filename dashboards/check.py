"""Run every query of a dashboard against InfluxDB as Grafana would: variables, panels, annotations.

Variables are resolved in order, each ``SHOW TAG VALUES`` run with the variables before it
substituted (as Grafana refreshes chained variables); "All" is selected unless a value is given. Then
every panel target and annotation query runs with :func:`blueranch.dashboards.macros.interpolate`. The
queries were built by :mod:`blueranch.contracts.query` when the dashboard was built, and run through
:class:`blueranch.reader.Reader`. Used by the tests and by ``blueranch dashboards check`` (is every panel
fed on this server?).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from blueranch.dashboards.common import MIN_INTERVAL_MS
from blueranch.dashboards.macros import ALL, Variable, interpolate, interval_ms
from blueranch.influxdb import InfluxClient, InfluxError
from blueranch.reader import Reader, values_of


@dataclass(frozen=True)
class Result:
    dashboard: str
    panel: str
    ref: str
    query: str
    series: int
    rows: int
    error: str | None = None
    #: an event-only panel (rejections, harvests): empty is no failure
    event_only: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and (self.rows > 0 or self.event_only)

    @property
    def status(self) -> str:
        if self.error:
            return "ERROR"
        if self.rows > 0:
            return "ok"
        return "event" if self.event_only else "EMPTY"


def resolve_variables(
    client: InfluxClient,
    dashboard: dict[str, Any],
    from_ms: int,
    to_ms: int,
    chosen: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, Variable]:
    """Template variables with their options fetched from InfluxDB; ``chosen`` overrides "All"."""
    reader = Reader(client)
    chosen = chosen or {}
    resolved: dict[str, Variable] = {}
    for v in dashboard["templating"]["list"]:
        name = v["name"]
        if v["type"] == "query":
            text, database = reader.restate(v["query"])
            options = values_of(reader.run_rendered(interpolate(text, from_ms, to_ms, resolved), database))
        elif v["type"] == "custom":
            options = tuple(x.strip() for x in v["query"].split(",") if x.strip())
        else:
            raise ValueError(f"variable {name!r}: type {v['type']!r} is not supported")
        current = chosen.get(name)
        if current is None and "value" in v.get("current", {}):
            cur = v["current"]["value"]
            current = tuple(cur) if isinstance(cur, list) else (cur,)
        elif current is None:  # nothing saved: Grafana selects All if offered, else the first option (or "")
            current = (ALL,) if v.get("includeAll") else (options[:1] or ("",))
        resolved[name] = Variable(
            name, current, options, v.get("multi", False), v.get("includeAll", False), v.get("allValue")
        )
    return resolved


_RELATIVE = re.compile(r"^(\d+)([smhdwy])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def relative_from_ms(time_from: str, to_ms: int) -> int:
    """Start of a panel's relative time (``timeFrom`` such as ``7d`` or ``1y``) ending at ``to_ms``.

    Grafana takes ``now-7d`` to ``now``; years are calendar years (``now-1y``: same date a year before).
    """
    m = _RELATIVE.match(time_from)
    if m is None:
        raise ValueError(f"panel relative time {time_from!r} must look like 7d or 1y")
    n, unit = int(m[1]), m[2]
    if unit == "y":
        to = datetime.fromtimestamp(to_ms / 1000, UTC)
        return int(to.replace(year=to.year - n).timestamp() * 1000)
    return to_ms - n * _UNIT_MS[unit]


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """(panel title, refId, raw query, panel relative time) of every target and InfluxDB annotation."""
    out = [(p["title"], t["refId"], t["query"], p.get("timeFrom")) for p in dashboard["panels"] for t in p["targets"]]
    for a in dashboard["annotations"]["list"]:
        if a.get("target", {}).get("query"):
            out.append((f"annotation {a['name']}", a["target"]["refId"], a["target"]["query"], None))
    return out


def run(
    client: InfluxClient,
    dashboard: dict[str, Any],
    from_ms: int,
    to_ms: int,
    chosen: dict[str, tuple[str, ...]] | None = None,
    max_data_points: int = 1000,
    min_interval_ms: int = MIN_INTERVAL_MS,
    event_only: frozenset[str] = frozenset(),
) -> list[Result]:
    """Execute every query of ``dashboard`` over ``[from_ms, to_ms]`` (a panel's relative time, if it has
    one, ends at ``to_ms`` as "now"); errors are reported, not raised. ``event_only``: titles of panels and
    annotations (:meth:`blueranch.dashboards.model.Dashboard.event_only`) whose empty result is no failure."""
    variables = resolve_variables(client, dashboard, from_ms, to_ms, chosen)
    reader = Reader(client)
    results = []
    for title, ref, raw, time_from in queries(dashboard):
        start = relative_from_ms(time_from, to_ms) if time_from else from_ms
        text, database = reader.restate(raw)  # in the client's naming (db/rp: no policy, its own database)
        q = interpolate(text, start, to_ms, variables, interval_ms(start, to_ms, max_data_points, min_interval_ms))
        try:
            series = reader.run_rendered(q, database)
        except InfluxError as exc:
            results.append(Result(dashboard["uid"], title, ref, q, 0, 0, str(exc), title in event_only))
            continue
        rows = sum(len(s.values) for s in series)
        results.append(Result(dashboard["uid"], title, ref, q, len(series), rows, None, title in event_only))
    return results
