"""The one reader: runs the queries :mod:`blueranch.contracts.query` builds against InfluxDB's v1 API.

Workers, the demo, the dashboards check and the test support read InfluxDB only through a
:class:`Reader`, so a change of store (InfluxDB 3, another naming, SQL) is a change here and in the
builder, nowhere else (``docs/contracts.md``, "A second backend"). The reader renders each query with
its client's :class:`~blueranch.contracts.query.naming.Naming` and sends it to the database that naming
gives for the query's retention policy.
"""

from __future__ import annotations

from blueranch.contracts.query import Naming, Query
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
        return self.client.query(query.render(self.naming), database=database)

    def tag_values(self, query: Query) -> tuple[str, ...]:
        """The values a :func:`~blueranch.contracts.query.show_tag_values` query lists, sorted, once each."""
        if query.kind != "tag_values":
            raise ValueError(f"not a tag-values query: {query.text}")
        return values_of(self.run(query))

    def run_rendered(self, text: str) -> list[Series]:
        """A query the builder rendered earlier, as stored in a generated dashboard, after Grafana's
        substitutions (:func:`blueranch.dashboards.macros.interpolate`); sent to the client's database as
        Grafana's data source sends it."""
        return self.client.query(text)


def values_of(series: list[Series]) -> tuple[str, ...]:
    """Values of a ``SHOW TAG VALUES`` answer (columns ``key``, ``value``), once each, sorted as a variable's
    sort 1 (alphabetical, ascending) sorts them in Grafana."""
    out: set[str] = set()
    for s in series:
        out.update(str(r["value"]) for r in s.rows())
    return tuple(sorted(out))
