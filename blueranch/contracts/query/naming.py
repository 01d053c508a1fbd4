"""How a retention policy is named on the server: the one place a measurement is qualified.

InfluxDB 1.x keeps retention policies inside a database, so a query reads ``"rp"."measurement"`` from
database ``db`` (``db.rp``). InfluxDB 3 (and Cloud Serverless/Dedicated) has no retention policies:
the v1 compatibility API maps a database and policy to a database called ``db/rp``, so the query reads
plain ``"measurement"`` from that database. Everything that names a policy (the query builder's
``FROM``, the database a query or a write is sent to, the statements that create the databases and
policies) asks a :class:`Naming`, so switching styles is a setting, not an edit: ``$BLUERANCH_INFLUX_NAMING``
(:func:`naming_from_env`), read by every :class:`~blueranch.influxdb.InfluxClient` that is not given one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from blueranch.contracts.influx import RETENTION_POLICIES, Measurement

NamingStyle = Literal["db.rp", "db/rp"]
STYLES: tuple[NamingStyle, ...] = ("db.rp", "db/rp")
#: The environment variable that sets the naming of every InfluxDB client: ``db.rp`` (default) or ``db/rp``.
NAMING_ENV = "BLUERANCH_INFLUX_NAMING"
#: The separator of a per-policy database in the ``db/rp`` style besides ``/``: only for a server that
#: refuses ``/`` in a name (InfluxDB 1.6 answers "invalid name"), where the style is exercised as ``db-rp``.
NAMING_SEPARATOR_ENV = "BLUERANCH_INFLUX_NAMING_SEPARATOR"
_SEPARATORS = ("/", "-", "_")
#: The contract's default policy: where a write without a policy goes (InfluxDB 1.x: the database's default).
DEFAULT_RETENTION_POLICY = next(rp.name for rp in RETENTION_POLICIES.values() if rp.default)
_DURATION = re.compile(r"^([1-9][0-9]*)([dhw])$")


def quote_identifier(name: str) -> str:
    """``"name"`` with ``"`` and ``\\`` escaped, as InfluxQL reads a double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Naming:
    """A naming style: ``db.rp`` (InfluxDB 1.x, the default) or ``db/rp`` (InfluxDB 3 via its v1 API)."""

    style: NamingStyle = "db.rp"
    #: joins database and policy in the ``db/rp`` style (``/`` as InfluxDB 3 does; see NAMING_SEPARATOR_ENV)
    separator: str = "/"

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"naming style {self.style!r} is not one of 'db.rp', 'db/rp'")
        if self.separator not in _SEPARATORS:
            raise ValueError(f"naming separator {self.separator!r} is not one of {', '.join(_SEPARATORS)}")

    @property
    def per_policy(self) -> bool:
        """True when each retention policy is a database of its own (``db/rp``)."""
        return self.style == "db/rp"

    def source(self, m: Measurement) -> str:
        """The measurement as a query's ``FROM`` names it."""
        if self.style == "db.rp":
            return f"{quote_identifier(m.retention_policy)}.{quote_identifier(m.name)}"
        return quote_identifier(m.name)

    def database(self, database: str, retention_policy: str) -> str:
        """The database a query on ``retention_policy`` is sent to (the ``db`` parameter)."""
        return database if self.style == "db.rp" else f"{database}{self.separator}{retention_policy}"

    def databases(self, database: str) -> list[str]:
        """Every database the contract's policies live in: ``db`` itself, or one ``db/rp`` per policy."""
        return list(dict.fromkeys(self.database(database, rp) for rp in RETENTION_POLICIES))

    def write_target(self, database: str, retention_policy: str | None) -> tuple[str, str | None]:
        """The ``db`` and ``rp`` parameters of a write to ``retention_policy`` (None: the contract's default).

        ``db/rp``: the per-policy database and no ``rp`` (InfluxDB 3 maps ``db=x&rp=y`` to ``x/y`` as well,
        but a 1.x server exercising the style has only that database's own default policy)."""
        if self.style == "db.rp":
            return database, retention_policy
        return self.database(database, retention_policy or DEFAULT_RETENTION_POLICY), None

    def create_statements(self, database: str) -> list[tuple[str, str | None]]:
        """InfluxQL (1.x) that creates the database(s) and the contract's retention policies: pairs of
        (statement, statement to run instead when the server says it already exists, or None).

        ``db/rp`` on a 1.x server: one database per policy whose default policy has the contract's duration.
        InfluxDB 3 accepts none of these over InfluxQL (:func:`retention_period` is for its own API)."""
        if self.style == "db/rp":
            out: list[tuple[str, str | None]] = []
            for rp in RETENTION_POLICIES.values():
                db = quote_identifier(self.database(database, rp.name))
                spec = f"DURATION {rp.duration} REPLICATION 1"
                out.append(
                    (
                        f'CREATE DATABASE {db} WITH {spec} NAME "autogen"',
                        f'ALTER RETENTION POLICY "autogen" ON {db} {spec}',
                    )
                )
            return out
        db = quote_identifier(database)
        stmts: list[tuple[str, str | None]] = [(f"CREATE DATABASE {db}", None)]
        for rp in RETENTION_POLICIES.values():
            spec = f"{quote_identifier(rp.name)} ON {db} DURATION {rp.duration} REPLICATION 1"
            if rp.default:
                spec += " DEFAULT"
            stmts.append((f"CREATE RETENTION POLICY {spec}", f"ALTER RETENTION POLICY {spec}"))
        return stmts


def retention_period(retention_policy: str) -> str | None:
    """The contract policy's duration as InfluxDB 3's ``retention_period`` (``730d``), None for forever."""
    duration = RETENTION_POLICIES[retention_policy].duration
    if duration == "INF":
        return None
    if not _DURATION.match(duration):
        raise ValueError(f"retention policy {retention_policy!r}: duration {duration!r} is not N d/h/w")
    return duration


def naming_from_env(environ: Mapping[str, str] | None = None) -> Naming:
    """The naming ``$BLUERANCH_INFLUX_NAMING`` (and ``$BLUERANCH_INFLUX_NAMING_SEPARATOR``) say; ``db.rp`` when
    unset. A bad value raises ``ValueError`` naming the variable, the value and what is allowed."""
    env = os.environ if environ is None else environ
    style = env.get(NAMING_ENV, "") or "db.rp"
    separator = env.get(NAMING_SEPARATOR_ENV, "") or "/"
    if style not in STYLES:
        raise ValueError(f"{NAMING_ENV}={style!r} is not one of {', '.join(STYLES)}")
    if separator not in _SEPARATORS:
        raise ValueError(f"{NAMING_SEPARATOR_ENV}={separator!r} is not one of {', '.join(_SEPARATORS)}")
    return Naming(style, separator)  # type: ignore[arg-type]


#: InfluxDB 1.x naming, what the platform runs on (Debian's InfluxDB 1.6).
DEFAULT_NAMING = Naming()
