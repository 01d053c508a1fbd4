"""The one reader: runs the queries :mod:`blueranch.contracts.query` builds against InfluxDB's v1 API.

Workers, the demo, the dashboards check and the test support read InfluxDB only through a
:class:`Reader`, so a change of store (InfluxDB 3, another naming, SQL) is a change here and in the
builder, nowhere else (``docs/contracts.md``, "A second backend"). The reader renders each query with
its client's :class:`~blueranch.contracts.query.naming.Naming` and sends it to the database that naming
gives for the query's retention policy. While a :class:`~blueranch.contracts.query.registry.Recorder` is
installed it records every query it runs (the storage compatibility gate, ``docs/scale-out.md``).
"""

from __future__ import annotations

import sys

from blueranch.contracts.query import Naming, Query, registry
from blueranch.influxdb import InfluxClient, Series


class Reader:
    def __init__(self, client: InfluxClient):
        self.client = client

    @property
    def naming(self) -> Naming:
        return self.client.naming

    def run(self, query: Query) -> list[Series]:
        """The series the query returns (times in epoch ms). Raises :class:`~blueranch.influxdb.InfluxError`."""
        database = self.naming.database(self.client.database, query.retention_policy)
        text = query.render(self.naming)
        _record(text, database, query)
        return self.client.query(text, database=database)

    def tag_values(self, query: Query) -> tuple[str, ...]:
        """The values a :func:`~blueranch.contracts.query.show_tag_values` query lists, sorted, once each."""
        if query.kind != "tag_values":
            raise ValueError(f"not a tag-values query: {query.text}")
        return values_of(self.run(query))

    def restate(self, stored: str) -> tuple[str, str]:
        """A query as a generated dashboard stores it (the default naming, Grafana's macros left in), rendered in
        this reader's naming, and the database it goes to. A text the builder did not make in this process
        is returned as it is, for the client's database."""
        query = registry.source_of(stored)
        if query is None:
            return stored, self.client.database
        return query.render(self.naming), self.naming.database(self.client.database, query.retention_policy)

    def run_rendered(self, text: str, database: str | None = None) -> list[Series]:
        """A query the builder rendered earlier, as stored in a generated dashboard, after Grafana's
        substitutions (:func:`blueranch.dashboards.macros.interpolate`); sent to ``database`` (from
        :meth:`restate`), else to the client's database as Grafana's data source sends it."""
        database = database or self.client.database
        _record(text, database, None)
        return self.client.query(text, database=database)


def _record(text: str, database: str, query: Query | None) -> None:
    recorder = registry.RECORDER
    if recorder is not None:
        caller = sys._getframe(2).f_globals.get("__name__", "?")
        recorder.record(caller, text, database, query)


def values_of(series: list[Series]) -> tuple[str, ...]:
    """Values of a ``SHOW TAG VALUES`` answer (columns ``key``, ``value``), once each, sorted as a variable's
    sort 1 (alphabetical, ascending) sorts them in Grafana."""
    out: set[str] = set()
    for s in series:
        out.update(str(r["value"]) for r in s.rows())
    return tuple(sorted(out))
