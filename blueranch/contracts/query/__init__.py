"""Every InfluxQL query the platform runs, built in one place from the InfluxDB contract.

- :mod:`~blueranch.contracts.query.builder`: the contract-checked builder (columns, conditions, time
  spans, :class:`Query`);
- :mod:`~blueranch.contracts.query.reads`: the typed reads per use (latest, window, aggregate);
- :mod:`~blueranch.contracts.query.naming`: how a measurement and its retention policy are named on the
  server (``db.rp`` on InfluxDB 1.x, ``db/rp`` on InfluxDB 3).

:class:`blueranch.reader.Reader` runs them; ``docs/contracts.md`` ("A second backend") says what another
store has to implement.
"""

from blueranch.contracts.query.builder import (
    FILLS,
    FUNCTIONS,
    GRAFANA,
    TAG_VALUE_PATTERN,
    TRANSFORMS,
    Between,
    Col,
    Condition,
    FieldCmp,
    Grafana,
    Query,
    Recent,
    Span,
    TagCol,
    TagEq,
    TagNe,
    VarMatch,
    measurement,
    select,
    select_from,
    show_tag_values,
    tag_literal,
)
from blueranch.contracts.query.naming import DEFAULT_NAMING, Naming, NamingStyle, quote_identifier
from blueranch.contracts.query.reads import aggregate, counts, latest, pages, qc_fields, window

__all__ = [
    "DEFAULT_NAMING",
    "FILLS",
    "FUNCTIONS",
    "GRAFANA",
    "TAG_VALUE_PATTERN",
    "TRANSFORMS",
    "Between",
    "Col",
    "Condition",
    "FieldCmp",
    "Grafana",
    "Naming",
    "NamingStyle",
    "Query",
    "Recent",
    "Span",
    "TagCol",
    "TagEq",
    "TagNe",
    "VarMatch",
    "aggregate",
    "counts",
    "latest",
    "measurement",
    "pages",
    "qc_fields",
    "quote_identifier",
    "select",
    "select_from",
    "show_tag_values",
    "tag_literal",
    "window",
]
