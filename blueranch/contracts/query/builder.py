"""InfluxQL built from the InfluxDB contract: a query can only name what the contract defines.

Every measurement, field and tag a query names is looked up in
:data:`blueranch.contracts.influx.MEASUREMENTS` when the query is built; an unknown one raises
``KeyError`` naming the measurement and the known names, so a dashboard build or a worker's start fails
instead of reading a series that is never written. Tag values are refused unless they are plain ids
(``[A-Za-z0-9_.-]``, the id alphabet of the MQTT contract) and, for an enumerated tag, one of the
contract's values (:data:`ENUM_TAG_VALUES`): a site id from a config can never close the string literal.

A :class:`Query` does not fix how its measurement is qualified: :meth:`Query.render` asks a
:class:`~blueranch.contracts.query.naming.Naming` for the ``FROM`` (``"rp"."m"`` on InfluxDB 1.x).
Queries for Grafana keep its macros (``$timeFilter``, ``$__interval``) and template variables
(``/^$site$/``); :mod:`blueranch.dashboards.macros` substitutes them the same way for the tests and
``blueranch dashboards check``.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Literal

from blueranch.contracts.influx import ENUM_TAG_VALUES, MEASUREMENTS, FieldDef, Measurement
from blueranch.contracts.query import registry
from blueranch.contracts.query.naming import DEFAULT_NAMING, Naming, quote_identifier

#: InfluxQL functions a query may use (selectors, aggregations), and transformations of them.
FUNCTIONS = frozenset({"mean", "max", "min", "last", "first", "sum", "count", "spread", "median"})
TRANSFORMS = frozenset(
    {"non_negative_difference", "non_negative_derivative", "cumulative_sum", "difference", "moving_average"}
)
FILLS = ("none", "null", "0", "previous", "linear")
_VAR = re.compile(r"^[a-z][a-z0-9_]*$")
#: A tag value given literally: the id alphabet (no quote, backslash, space or regex character).
TAG_VALUE_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"
_SAFE_VALUE = re.compile(TAG_VALUE_PATTERN)
_DURATION = re.compile(r"^[1-9][0-9]{0,5}(ms|s|m|h|d|w)$")
_INTERVAL = re.compile(r"^(\$__interval|[1-9][0-9]{0,5}(ms|s|m|h|d|w))$")
_WRAP_ARG = re.compile(r"^([1-9][0-9]{0,3}|[1-9][0-9]{0,5}(ms|s|m|h|d|w))$")

_quote = quote_identifier


def measurement(name: str) -> Measurement:
    try:
        return MEASUREMENTS[name]
    except KeyError:
        raise KeyError(f"measurement {name!r} is not in the contract; known: {sorted(MEASUREMENTS)}") from None


def _tag(m: Measurement, tag: str) -> str:
    if tag not in m.tags:
        raise KeyError(f"measurement {m.name!r} has no tag {tag!r}; tags: {list(m.tags)}")
    return tag


def tag_literal(tag: str, value: str) -> str:
    """``'value'`` for ``tag``, refused unless it is a plain id and, for an enumerated tag, a contract value."""
    if not isinstance(value, str):
        raise ValueError(f"tag {tag!r} value {value!r} must be a string")
    allowed = ENUM_TAG_VALUES.get(tag)
    if allowed is not None and value not in allowed:
        raise ValueError(f"tag {tag!r} value {value!r} is not one of {allowed}")
    if not _SAFE_VALUE.match(value):
        raise ValueError(f"tag {tag!r} value {value!r} must match {TAG_VALUE_PATTERN}")
    return f"'{value}'"


def _ms(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} {value!r} must be an integer of milliseconds since the epoch")
    return int(value)


@dataclass(frozen=True)
class Col:
    """A selected column: ``wrap(func("field"), wrap_arg) AS alias``; ``func=None`` selects the raw field."""

    field: str
    func: str | None = None
    alias: str | None = None
    wrap: str | None = None
    wrap_arg: str | None = None

    def __post_init__(self) -> None:
        if self.func is not None and self.func not in FUNCTIONS:
            raise ValueError(f"function {self.func!r} is not allowed; allowed: {sorted(FUNCTIONS)}")
        if self.wrap is not None and (self.wrap not in TRANSFORMS or self.func is None):
            raise ValueError(f"transform {self.wrap!r} needs an aggregation and one of {sorted(TRANSFORMS)}")
        if self.wrap_arg is not None and (self.wrap is None or not _WRAP_ARG.match(self.wrap_arg)):
            raise ValueError(f"transform argument {self.wrap_arg!r} must be a count or a duration of a transform")

    def render(self) -> str:
        expr = _quote(self.field) if self.func is None else f"{self.func}({_quote(self.field)})"
        if self.wrap is not None:
            expr = f"{self.wrap}({expr}{', ' + self.wrap_arg if self.wrap_arg else ''})"
        return expr + (f" AS {_quote(self.alias)}" if self.alias else "")

    @property
    def output(self) -> str:
        return self.alias or (self.func or self.field)


@dataclass(frozen=True)
class TagCol:
    """A tag selected as a column (``"asset"::tag``), for tables and annotations."""

    tag: str

    def render(self) -> str:
        return f"{_quote(self.tag)}::tag"

    @property
    def output(self) -> str:
        return self.tag


@dataclass(frozen=True)
class VarMatch:
    """``"tag" =~ /^$var$/``: a Grafana template variable (multi-value and All become a regex alternation)."""

    tag: str
    var: str

    def __post_init__(self) -> None:
        if not _VAR.match(self.var):
            raise ValueError(f"variable name {self.var!r} must match {_VAR.pattern}")

    def render(self) -> str:
        return f"{_quote(self.tag)} =~ /^${self.var}$/"


@dataclass(frozen=True)
class TagEq:
    """``"tag" = 'value'`` with a literal value: a configured id or an enumeration value of the contract."""

    tag: str
    value: str

    def __post_init__(self) -> None:
        tag_literal(self.tag, self.value)

    def render(self) -> str:
        return f"{_quote(self.tag)} = {tag_literal(self.tag, self.value)}"


@dataclass(frozen=True)
class TagNe(TagEq):
    """``"tag" != 'value'``: leave out one value (e.g. the ``source`` category from a chart of sinks)."""

    def render(self) -> str:
        return f"{_quote(self.tag)} != {tag_literal(self.tag, self.value)}"


@dataclass(frozen=True)
class FieldCmp:
    """``"field" > 0``: a numeric comparison on a field."""

    field: str
    op: str
    value: float

    def __post_init__(self) -> None:
        if self.op not in ("<", "<=", ">", ">=", "=", "!="):
            raise ValueError(f"operator {self.op!r} is not a comparison")
        if isinstance(self.value, bool) or not isinstance(self.value, numbers.Real) or not math.isfinite(self.value):
            raise ValueError(f"field {self.field!r} compared with {self.value!r}: needs a finite number")

    def render(self) -> str:
        return f"{_quote(self.field)} {self.op} {self.value:g}"


Condition = VarMatch | TagEq | TagNe | FieldCmp


@dataclass(frozen=True)
class Grafana:
    """The dashboard's time range: Grafana's ``$timeFilter`` macro."""

    def render(self) -> str:
        return "$timeFilter"


@dataclass(frozen=True)
class Between:
    """``time >= start AND time <= end`` in epoch milliseconds; either bound may be open (None).

    ``end_inclusive=False`` makes the end exclusive (``time < end``), for half-open periods.
    """

    start_ms: int | None = None
    end_ms: int | None = None
    end_inclusive: bool = True

    def __post_init__(self) -> None:
        if self.start_ms is None and self.end_ms is None:
            raise ValueError("Between needs a start or an end (no time condition: pass span=None)")
        for name in ("start_ms", "end_ms"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _ms(name, getattr(self, name)))

    def render(self) -> str:
        parts = []
        if self.start_ms is not None:
            parts.append(f"time >= {self.start_ms}ms")
        if self.end_ms is not None:
            parts.append(f"time {'<=' if self.end_inclusive else '<'} {self.end_ms}ms")
        return " AND ".join(parts)


@dataclass(frozen=True)
class Recent:
    """``time > now() - 30d``: the last ``duration`` of the server's clock."""

    duration: str

    def __post_init__(self) -> None:
        if not isinstance(self.duration, str) or not _DURATION.match(self.duration):
            raise ValueError(f"duration {self.duration!r} must look like 30m, 12h or 800d")

    def render(self) -> str:
        return f"time > now() - {self.duration}"


Span = Grafana | Between | Recent
GRAFANA = Grafana()


@dataclass(frozen=True)
class Query:
    """A query as data: what it reads and how, checked against the contract when it was built.

    ``kind`` is ``select`` (columns of ``measurement``, or of the ``inner`` query) or ``tag_values`` (the
    values of tag ``key``). :meth:`render` writes it as InfluxQL, asking a :class:`Naming` how to name
    the measurement; a backend that does not speak InfluxQL renders the same fields its own way.
    ``fields`` are the contract fields read, ``outputs`` the columns returned besides ``time``.
    Build queries with :func:`select`, :func:`select_from`, :func:`show_tag_values` or the typed reads
    (:mod:`blueranch.contracts.query.reads`), never directly.
    """

    kind: Literal["select", "tag_values"]
    measurement: str
    columns: tuple[Col | TagCol, ...] = ()
    where: tuple[Condition, ...] = ()
    span: Span | None = None
    every: str | None = None
    group_by: tuple[str, ...] = ()
    fill: str | None = None
    limit: int | None = None
    inner: Query | None = None
    key: str | None = None
    fields: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    def render(self, naming: Naming = DEFAULT_NAMING) -> str:
        """The query in InfluxQL, the measurement named by ``naming``."""
        src = (
            f"({self.inner.render(naming)})"
            if self.inner is not None
            else naming.source(MEASUREMENTS[self.measurement])
        )
        conds = [c.render() for c in self.where] + ([self.span.render()] if self.span is not None else [])
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        if self.kind == "tag_values":
            return f"SHOW TAG VALUES FROM {src} WITH KEY = {_quote(self.key or '')}{where}"
        groups = ([f"time({self.every})"] if self.every else []) + [_quote(t) for t in self.group_by]
        text = f"SELECT {', '.join(c.render() for c in self.columns)} FROM {src}{where}"
        text += f" GROUP BY {', '.join(groups)}" if groups else ""
        text += f" fill({self.fill})" if self.fill is not None else ""
        text += f" ORDER BY time DESC LIMIT {self.limit}" if self.limit is not None else ""
        return text

    @property
    def retention_policy(self) -> str:
        return MEASUREMENTS[self.measurement].retention_policy

    @property
    def text(self) -> str:
        """The query with the default (InfluxDB 1.x) naming, as the generated dashboards carry it (kept in the
        registry, so that the stored text can be rendered in another naming: :func:`registry.source_of`)."""
        text = self.render(DEFAULT_NAMING)
        registry.remember(text, self)
        return text

    def __str__(self) -> str:
        return self.text


def _check_grouping(every: str | None, fill: str | None) -> None:
    if every is not None and not _INTERVAL.match(every):
        raise ValueError(f"GROUP BY time({every}): the interval must be $__interval or a duration such as 1d")
    if fill is not None and fill not in FILLS:
        raise ValueError(f"fill({fill}) is not an InfluxQL fill option")


def select(
    measurement_name: str,
    *cols: Col | TagCol,
    where: tuple[Condition, ...] = (),
    span: Span | None = GRAFANA,
    limit: int | None = None,
    time: str | None = None,
    group_by: tuple[str, ...] = (),
    fill: str | None = None,
) -> Query:
    """``SELECT cols FROM <measurement> WHERE where AND span GROUP BY time(time), tags fill(fill)``.

    ``span`` is the time condition: Grafana's range (default), a :class:`Between` in milliseconds, a
    :class:`Recent` duration, or None (all time). ``limit`` keeps the newest ``limit`` rows
    (``ORDER BY time DESC LIMIT n``). Raises ``KeyError`` for a field or tag the contract does not define
    for that measurement, ``ValueError`` for a value it refuses.
    """
    m = measurement(measurement_name)
    if not cols:
        raise ValueError("select needs at least one column")
    fields: list[FieldDef] = []
    for c in cols:
        if isinstance(c, TagCol):
            _tag(m, c.tag)
        else:
            fields.append(m.field(c.field))
    for cond in where:
        if isinstance(cond, FieldCmp):
            fields.append(m.field(cond.field))
        else:
            _tag(m, cond.tag)
    for t in group_by:
        _tag(m, t)
    _check_grouping(time, fill)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit {limit!r} must be a positive integer")
    return Query(
        "select",
        m.name,
        columns=tuple(cols),
        where=tuple(where),
        span=span,
        every=time,
        group_by=tuple(group_by),
        fill=fill,
        limit=limit,
        fields=tuple(dict.fromkeys(f.name for f in fields)),
        outputs=tuple(c.output for c in cols),
    )


def select_from(
    inner: Query,
    *cols: Col,
    span: Recent | None = None,
    time: str | None = None,
    group_by: tuple[str, ...] = (),
    fill: str | None = None,
) -> Query:
    """An outer query over ``inner``: its columns may only name the inner query's outputs."""
    m = measurement(inner.measurement)
    for c in cols:
        if c.field not in inner.outputs:
            raise KeyError(f"outer column {c.field!r} is not an output of the inner query: {inner.outputs}")
    for t in group_by:
        _tag(m, t)
    _check_grouping(time, fill)
    return Query(
        "select",
        inner.measurement,
        columns=tuple(cols),
        span=span,
        every=time,
        group_by=tuple(group_by),
        fill=fill,
        inner=inner,
        fields=inner.fields,
        outputs=tuple(c.output for c in cols),
    )


def show_tag_values(measurement_name: str, key: str, where: tuple[VarMatch | TagEq, ...] = ()) -> Query:
    """``SHOW TAG VALUES FROM <measurement> WITH KEY = "key" WHERE ...`` (columns ``key``, ``value``)."""
    m = measurement(measurement_name)
    _tag(m, key)
    for cond in where:
        _tag(m, cond.tag)
    return Query("tag_values", m.name, where=tuple(where), key=key, outputs=("key", "value"))
