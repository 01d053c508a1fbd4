"""The reads the platform makes, one typed function per use, each returning a contract-checked :class:`Query`.

- :func:`latest`: the newest value per series (the carbon worker's "now", the demo's budget line);
- :func:`window`: raw readings in a time window, one series per tag combination (the alert rules'
  look-back, the carbon worker's day caches, the demo's live readings, the ingest's error records);
- :func:`aggregate`: one aggregation over a period, or per interval (daily means for a climatology,
  readings per day for the carbon worker's change detection, point counts in tests and benches);
- :func:`counts`: how many readings of each field a series has in a period (what an export will write);
- :func:`pages`: a long period as consecutive half-open spans, so that a year of minute data is read as
  bounded :func:`window` reads (the open-data export streams with them);
- :func:`~blueranch.contracts.query.builder.show_tag_values`: a tag's values (dashboard variables).

Every output column is named after the field it reads (``last("load_kg") AS "load_kg"``), so a second
backend returns the same columns. Times are epoch milliseconds (:class:`Between`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from blueranch.contracts.influx import QC_SUFFIX
from blueranch.contracts.query.builder import (
    Between,
    Col,
    Condition,
    FieldCmp,
    Query,
    Recent,
    TagCol,
    measurement,
    select,
)


def qc_fields(measurement_name: str) -> tuple[str, ...]:
    """The QARTOD flag fields (``*_qc``) of a measurement."""
    return tuple(f.name for f in measurement(measurement_name).fields if f.name.endswith(QC_SUFFIX))


def _qc_conditions(fields: Iterable[str], exclude_qc: Iterable[int]) -> tuple[FieldCmp, ...]:
    return tuple(FieldCmp(f + QC_SUFFIX, "!=", int(flag)) for f in fields for flag in exclude_qc)


def latest(
    measurement_name: str,
    fields: tuple[str, ...],
    *,
    span: Between | Recent | None = None,
    where: tuple[Condition, ...] = (),
    group_by: tuple[str, ...] = (),
) -> Query:
    """The newest value of each of ``fields`` per series (``last()``), within ``span`` if given.

    With one field the row's time is that reading's time; with several, each value may come from a
    different point and InfluxDB stamps the row with the start of the span.
    """
    return _each("last", "latest", measurement_name, fields, span, where, group_by)


def _each(func, read, measurement_name, fields, span, where, group_by) -> Query:
    """``func`` of each of ``fields``, one column per field named after it."""
    if not fields:
        raise ValueError(f"{read} needs at least one field")
    return select(measurement_name, *(Col(f, func, f) for f in fields), where=where, span=span, group_by=group_by)


def window(
    measurement_name: str,
    fields: tuple[str, ...],
    span: Between | Recent | None,
    *,
    where: tuple[Condition, ...] = (),
    group_by: tuple[str, ...] = (),
    exclude_qc: tuple[int, ...] = (),
    tag_columns: tuple[str, ...] = (),
) -> Query:
    """Readings of ``fields`` in ``span``, one row per point, one series per ``group_by`` combination.

    ``exclude_qc`` leaves out points whose flag (``<field>_qc``) of any of ``fields`` is one of these
    values, or is absent. ``tag_columns`` returns tags as columns (for records such as ingest errors).
    """
    if not fields:
        raise ValueError("window needs at least one field")
    cols = (*(Col(f) for f in fields), *(TagCol(t) for t in tag_columns))
    return select(
        measurement_name, *cols, where=(*where, *_qc_conditions(fields, exclude_qc)), span=span, group_by=group_by
    )


def aggregate(
    measurement_name: str,
    func: str,
    field: str,
    span: Between | Recent | None,
    *,
    every: str | None = None,
    where: tuple[Condition, ...] = (),
    group_by: tuple[str, ...] = (),
    exclude_qc: tuple[int, ...] = (),
    fill: str = "none",
) -> Query:
    """``func(field)`` over ``span`` (one row per series), or per ``every`` interval (``GROUP BY time``).

    The column is named after the field. With ``every``, ``fill`` says what an empty interval gives
    (``none``: no row). ``exclude_qc`` as for :func:`window`.
    """
    if every is not None and span is None:
        raise ValueError("an aggregation per interval needs a span (InfluxDB refuses unbounded GROUP BY time)")
    return select(
        measurement_name,
        Col(field, func, field),
        where=(*where, *_qc_conditions((field,), exclude_qc)),
        span=span,
        time=every,
        group_by=group_by,
        fill=fill if every is not None else None,
    )


def counts(
    measurement_name: str,
    fields: tuple[str, ...],
    span: Between | Recent | None,
    *,
    where: tuple[Condition, ...] = (),
    group_by: tuple[str, ...] = (),
) -> Query:
    """The number of readings of each of ``fields`` in ``span`` per series (``count()``, one column per field,
    named after it; InfluxDB leaves out a series with no reading of any of them)."""
    return _each("count", "counts", measurement_name, fields, span, where, group_by)


def pages(start_ms: int, end_ms: int, page_ms: int) -> Iterator[Between]:
    """``[start_ms, end_ms)`` as consecutive half-open spans of ``page_ms`` (the last one shorter): a reading
    falls in exactly one page, so :func:`window` reads of the pages return each reading once."""
    span = Between(start_ms, end_ms)  # checks both are integers of milliseconds
    if isinstance(page_ms, bool) or not isinstance(page_ms, int) or page_ms < 1:
        raise ValueError(f"page_ms {page_ms!r} must be a positive integer of milliseconds")
    if span.end_ms < span.start_ms:
        raise ValueError(f"end_ms {end_ms} is before start_ms {start_ms}")
    t = span.start_ms
    while t < span.end_ms:
        yield Between(t, min(t + page_ms, span.end_ms), end_inclusive=False)
        t += page_ms
