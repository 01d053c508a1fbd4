"""InfluxQL built from the InfluxDB contract: a query can only name what the contract defines.

Every measurement, field and tag a query names is looked up in
:data:`blueranch.contracts.influx.MEASUREMENTS` when the dashboard is built; an unknown one raises
``KeyError`` naming the measurement and the known names, so ``blueranch dashboards build`` fails instead
of shipping a panel that stays empty. Tag values given literally (``scope = 'site'``) must be one of the
contract's enumerations (:data:`ENUM_TAG_VALUES`).

The queries keep Grafana's macros (``$timeFilter``, ``$__interval``) and template variables
(``/^$site$/``) for Grafana to substitute; :mod:`blueranch.dashboards.macros` substitutes them the same way for
the tests and ``blueranch dashboards check``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from blueranch.contracts.influx import ENUM_TAG_VALUES, MEASUREMENTS, FieldDef, Measurement

#: InfluxQL functions the dashboards use (selectors, aggregations, and transformations of them).
FUNCTIONS = frozenset({"mean", "max", "min", "last", "first", "sum", "count", "spread", "median"})
TRANSFORMS = frozenset(
    {"non_negative_difference", "non_negative_derivative", "cumulative_sum", "difference", "moving_average"}
)
_VAR = re.compile(r"^[a-z][a-z0-9_]*$")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.-]+$")


def measurement(name: str) -> Measurement:
    try:
        return MEASUREMENTS[name]
    except KeyError:
        raise KeyError(f"measurement {name!r} is not in the contract; known: {sorted(MEASUREMENTS)}") from None


def _tag(m: Measurement, tag: str) -> str:
    if tag not in m.tags:
        raise KeyError(f"measurement {m.name!r} has no tag {tag!r}; tags: {list(m.tags)}")
    return tag


def _quote(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Col:
    """A selected column: ``wrap(func("field"), wrap_arg) AS alias``; ``func=None`` selects the raw field."""

    field: str
    func: str | None = None
    alias: str | None = None
    wrap: str | None = None
    wrap_arg: str | None = None

    def render(self) -> str:
        if self.func is not None and self.func not in FUNCTIONS:
            raise ValueError(f"function {self.func!r} is not allowed; allowed: {sorted(FUNCTIONS)}")
        expr = _quote(self.field) if self.func is None else f"{self.func}({_quote(self.field)})"
        if self.wrap is not None:
            if self.wrap not in TRANSFORMS or self.func is None:
                raise ValueError(f"transform {self.wrap!r} needs an aggregation and one of {sorted(TRANSFORMS)}")
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
    """``"tag" =~ /^$var$/``: a template variable (multi-value and All become a regex alternation)."""

    tag: str
    var: str

    def render(self) -> str:
        if not _VAR.match(self.var):
            raise ValueError(f"variable name {self.var!r} must match {_VAR.pattern}")
        return f"{_quote(self.tag)} =~ /^${self.var}$/"


@dataclass(frozen=True)
class TagEq:
    """``"tag" = 'value'`` with a literal value (an enumeration value of the contract)."""

    tag: str
    value: str

    def render(self) -> str:
        allowed = ENUM_TAG_VALUES.get(self.tag)
        if allowed is not None and self.value not in allowed:
            raise ValueError(f"tag {self.tag!r} value {self.value!r} is not one of {allowed}")
        if not _SAFE_VALUE.match(self.value):
            raise ValueError(f"tag {self.tag!r} value {self.value!r} must match {_SAFE_VALUE.pattern}")
        return f"{_quote(self.tag)} = '{self.value}'"


@dataclass(frozen=True)
class TagNe(TagEq):
    """``"tag" != 'value'``: leave out one value (e.g. the ``source`` category from a chart of sinks)."""

    def render(self) -> str:
        return super().render().replace(" = ", " != ", 1)


@dataclass(frozen=True)
class FieldCmp:
    """``"field" > 0``: a numeric comparison on a field."""

    field: str
    op: str
    value: float

    def render(self) -> str:
        if self.op not in ("<", "<=", ">", ">=", "=", "!="):
            raise ValueError(f"operator {self.op!r} is not a comparison")
        return f"{_quote(self.field)} {self.op} {self.value:g}"


Condition = VarMatch | TagEq | TagNe | FieldCmp


@dataclass(frozen=True)
class Query:
    """A rendered query and what it reads, so checks can map it back to the contract."""

    text: str
    measurement: str
    fields: tuple[str, ...]
    outputs: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return self.text


def _group_by(time: str | None, tags: tuple[str, ...], fill: str | None) -> str:
    parts = ([f"time({time})"] if time else []) + [_quote(t) for t in tags]
    out = f" GROUP BY {', '.join(parts)}" if parts else ""
    if fill is not None:
        if fill not in ("none", "null", "0", "previous", "linear"):
            raise ValueError(f"fill({fill}) is not an InfluxQL fill option")
        out += f" fill({fill})"
    return out


def _where(conds: tuple[str, ...], time_filter: bool) -> str:
    parts = list(conds) + (["$timeFilter"] if time_filter else [])
    return f" WHERE {' AND '.join(parts)}" if parts else ""


def select(
    measurement_name: str,
    *cols: Col | TagCol,
    where: tuple[Condition, ...] = (),
    limit: int | None = None,
    time: str | None = None,
    group_by: tuple[str, ...] = (),
    fill: str | None = None,
    time_filter: bool = True,
) -> Query:
    """``SELECT cols FROM "rp"."measurement" WHERE where AND $timeFilter GROUP BY time(time), tags``.

    ``limit`` keeps the newest ``limit`` rows (``ORDER BY time DESC LIMIT n``). Raises ``KeyError`` for
    a field or tag the contract does not define for that measurement.
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
    text = (
        f"SELECT {', '.join(c.render() for c in cols)} FROM {m.qualified}"
        f"{_where(tuple(c.render() for c in where), time_filter)}{_group_by(time, group_by, fill)}"
    )
    if limit is not None:
        text += f" ORDER BY time DESC LIMIT {int(limit)}"
    return Query(text, m.name, tuple(dict.fromkeys(f.name for f in fields)), tuple(c.output for c in cols))


def select_from(
    inner: Query,
    *cols: Col,
    time: str | None = None,
    group_by: tuple[str, ...] = (),
    fill: str | None = None,
    where_time: str | None = None,
) -> Query:
    """An outer query over ``inner``: its columns may only name the inner query's outputs.

    ``where_time`` is a literal time condition such as ``time > now() - 30m``.
    """
    m = measurement(inner.measurement)
    for c in cols:
        if c.field not in inner.outputs:
            raise KeyError(f"outer column {c.field!r} is not an output of the inner query: {inner.outputs}")
    for t in group_by:
        _tag(m, t)
    if where_time is not None and not re.fullmatch(r"time [<>]=? now\(\) - \d+[smhd]", where_time):
        raise ValueError(f"where_time {where_time!r} must look like 'time > now() - 30m'")
    where = f" WHERE {where_time}" if where_time else ""
    text = f"SELECT {', '.join(c.render() for c in cols)} FROM ({inner.text}){where}{_group_by(time, group_by, fill)}"
    return Query(text, inner.measurement, inner.fields, tuple(c.output for c in cols))


def show_tag_values(measurement_name: str, key: str, where: tuple[VarMatch | TagEq, ...] = ()) -> str:
    """``SHOW TAG VALUES FROM "rp"."m" WITH KEY = "key" WHERE ...`` for a template variable."""
    m = measurement(measurement_name)
    _tag(m, key)
    for cond in where:
        _tag(m, cond.tag)
    cond_text = f" WHERE {' AND '.join(c.render() for c in where)}" if where else ""
    return f"SHOW TAG VALUES FROM {m.qualified} WITH KEY = {_quote(key)}{cond_text}"
