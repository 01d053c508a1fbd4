"""Times as the export reads and writes them: epoch milliseconds inside, ISO 8601 outside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


def parse_time(text: str, option: str) -> int:
    """``2026-11-01``, ``2026-11-01T08:00`` or ``2026-11-01T08:00:00+08:00`` as epoch ms; a time without a zone
    is UTC. Raises ``ValueError`` naming the option, the value and the expected form."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{option} {text!r} is not an ISO 8601 date or time (2026-11-01, 2026-11-01T08:00Z, 2026-11-01T08:00+08:00)"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return round(t.timestamp() * 1000)


def iso(ms: int, zone: tzinfo = UTC) -> str:
    """``2026-11-01T00:00:00.000Z`` (UTC) or ``2026-11-01T08:00:00.000+08:00`` (another zone): millisecond
    precision, so that a parsed time gives back the stored millisecond."""
    t = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)
    text = t.isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z" if zone is UTC else text


def iso_seconds(ms: int) -> str:
    """``2026-11-01T00:00:00Z``: a metadata time (ACDD dates), to the second."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def file_stamp(ms: int) -> str:
    """``20261101T000000Z``: a time in a file name."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")


def iso_duration(ms: int) -> str:
    """An ISO 8601 duration (``P1DT2H3M4.5S``; ``PT0S`` for none), as ACDD's ``time_coverage_duration``."""
    d = timedelta(milliseconds=ms)
    hours, rest = divmod(d.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = seconds + d.microseconds / 1e6
    out = "P" + (f"{d.days}D" if d.days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs:g}S" if secs else "")
    return out + ("T" + clock if clock else ("" if d.days else "T0S"))
