"""How a retention policy is named on the server: the one place a measurement is qualified.

InfluxDB 1.x keeps retention policies inside a database, so a query reads ``"rp"."measurement"`` from
database ``db`` (``db.rp``). InfluxDB 3 (and Cloud Serverless/Dedicated) has no retention policies:
the v1 compatibility API maps a database and policy to a database called ``db/rp``, so the query reads
plain ``"measurement"`` from that database. Everything that names a policy (the query builder's
``FROM``, the database a query is sent to, the statements that create the policies) asks a
:class:`Naming`, so switching styles is a setting (:attr:`InfluxClient.naming
<blueranch.influxdb.InfluxClient>`), not an edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from blueranch.contracts.influx import RETENTION_POLICIES, Measurement

NamingStyle = Literal["db.rp", "db/rp"]


def quote_identifier(name: str) -> str:
    """``"name"`` with ``"`` and ``\\`` escaped, as InfluxQL reads a double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Naming:
    """A naming style: ``db.rp`` (InfluxDB 1.x, the default) or ``db/rp`` (InfluxDB 3 via its v1 API)."""

    style: NamingStyle = "db.rp"

    def __post_init__(self) -> None:
        if self.style not in ("db.rp", "db/rp"):
            raise ValueError(f"naming style {self.style!r} is not one of 'db.rp', 'db/rp'")

    def source(self, m: Measurement) -> str:
        """The measurement as a query's ``FROM`` names it."""
        if self.style == "db.rp":
            return f"{quote_identifier(m.retention_policy)}.{quote_identifier(m.name)}"
        return quote_identifier(m.name)

    def database(self, database: str, retention_policy: str) -> str:
        """The database a query on ``retention_policy`` is sent to (the ``db`` parameter)."""
        return database if self.style == "db.rp" else f"{database}/{retention_policy}"

    def create_statements(self, database: str) -> list[tuple[str, str | None]]:
        """InfluxQL that creates the database and the contract's retention policies: pairs of (statement,
        statement to run instead when the server says it already exists, or None)."""
        if self.style != "db.rp":
            raise ValueError(
                f"naming {self.style!r}: the server creates a database per policy ({database}/raw, ...) with "
                "its own API; there are no retention-policy statements to run"
            )
        db = quote_identifier(database)
        stmts: list[tuple[str, str | None]] = [(f"CREATE DATABASE {db}", None)]
        for rp in RETENTION_POLICIES.values():
            spec = f"{quote_identifier(rp.name)} ON {db} DURATION {rp.duration} REPLICATION 1"
            if rp.default:
                spec += " DEFAULT"
            stmts.append((f"CREATE RETENTION POLICY {spec}", f"ALTER RETENTION POLICY {spec}"))
        return stmts


#: InfluxDB 1.x naming, what the platform runs on (Debian's InfluxDB 1.6).
DEFAULT_NAMING = Naming()
