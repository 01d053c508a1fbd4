"""Accounting periods: day, month, year-to-date; half-open ``[start_ms, end_ms)``.

Periods are cut at midnight in a zone: UTC by default (the live worker), the site's zone for the report
(``CarbonConfig.timezone``). Days and months are calendar days and months of that zone, so a day across a
daylight-saving change lasts 23 or 25 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PeriodName = Literal["day", "month", "ytd", "custom"]


@dataclass(frozen=True)
class Period:
    name: PeriodName
    start_ms: int
    end_ms: int

    @property
    def label(self) -> str:
        d = datetime.fromtimestamp(self.start_ms / 1000, UTC)
        return {"day": d.strftime("%Y-%m-%d"), "month": d.strftime("%Y-%m"), "ytd": d.strftime("%Y")}.get(
            self.name, f"{d:%Y-%m-%d}..{datetime.fromtimestamp(self.end_ms / 1000, UTC):%Y-%m-%d}"
        )


def ms(t: datetime) -> int:
    if t.tzinfo is None:
        raise ValueError("naive datetime: use UTC-aware times")
    return int(round(t.timestamp() * 1000))


def utc(t_ms: int) -> datetime:
    return datetime.fromtimestamp(t_ms / 1000, UTC)


def local(t_ms: int, tz: tzinfo = UTC) -> datetime:
    return datetime.fromtimestamp(t_ms / 1000, tz)


def zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``Asia/Shanghai``, ``UTC``); ValueError names what is allowed."""
    try:
        return UTC if name == "UTC" else ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone: use an IANA name such as Asia/Shanghai or UTC") from None


def _midnight(d: datetime) -> datetime:
    """Local midnight of ``d``'s day, as an aware time in ``d``'s zone (the offset in force at midnight)."""
    return datetime(d.year, d.month, d.day, tzinfo=d.tzinfo)


def _month_start(d: datetime) -> datetime:
    return datetime(d.year, d.month, 1, tzinfo=d.tzinfo)


def _next_month(d: datetime) -> datetime:
    return d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)


def periods_between(
    start_ms: int, latest_ms: int, kinds: tuple[str, ...] = ("day", "month", "ytd"), tz: tzinfo = UTC
) -> list[Period]:
    """Every day, month and year (to date) of zone ``tz`` that overlaps ``[start_ms, latest_ms]``.

    Periods are clipped to ``start_ms`` (an accounting start inside a period) but not to ``latest_ms``:
    the current period's end is its calendar end, and callers evaluate the stock at ``min(end, latest)``.
    Timestamps of points written for a period are its ``start_ms``, so rewriting a period is idempotent.
    """
    if latest_ms < start_ms:
        return []
    out: list[Period] = []
    s, e = local(start_ms, tz), local(latest_ms, tz)
    if "day" in kinds:
        d = _midnight(s)
        while d <= e:
            nxt = _midnight(d + timedelta(days=1))  # wall-clock arithmetic: a 23- or 25-hour day too
            out.append(Period("day", max(ms(d), start_ms), ms(nxt)))
            d = nxt
    if "month" in kinds:
        m = _month_start(s)
        while m <= e:
            nxt = _next_month(m)
            out.append(Period("month", max(ms(m), start_ms), ms(nxt)))
            m = nxt
    if "ytd" in kinds:
        for year in range(s.year, e.year + 1):
            y0 = datetime(year, 1, 1, tzinfo=tz)
            out.append(Period("ytd", max(ms(y0), start_ms), ms(y0.replace(year=year + 1))))
    return out


def year_start_ms(t_ms: int, tz: tzinfo = UTC) -> int:
    return ms(datetime(local(t_ms, tz).year, 1, 1, tzinfo=tz))
