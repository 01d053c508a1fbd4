"""Simulated time: epoch seconds (float, UTC) in the engine; RFC 3339 with ``Z`` on the wire and in files."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(t_s: float) -> str:
    """``2026-11-21T14:00:00.000Z`` (millisecond precision, as the MQTT contract's timestamps)."""
    return datetime.fromtimestamp(round(t_s, 3), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def epoch(dt: datetime) -> float:
    if dt.tzinfo is None:
        raise ValueError(f"time {dt.isoformat()} has no time zone; simulated time is UTC")
    return dt.timestamp()


def day_of_year(t_s):
    """Fractional day of the year (0 = 1 January 00:00 UTC), for scalars and numpy arrays alike.

    Uses a 365.2425-day year from the Unix epoch; the error against the calendar is under a day,
    negligible for seasonal cycles.
    """
    return (t_s / 86400.0) % 365.2425


def local_hour(t_s, utc_offset_h: float = 8.0):
    """Local solar-ish hour (China Standard Time, UTC+8, is within 10 min of solar time at 121.9 E)."""
    return ((t_s / 3600.0) + utc_offset_h) % 24.0
