"""Alert state, device registry and the notification outbox in one SQLite file (restart-safe).

- ``alerts``: one row per alert (one per condition per device and occurrence), with its lifecycle times.
- ``sensors``: last reading, reporting interval and learned anchor of each sensor of each device, so a
  sensor that has gone silent for longer than the look-back window is still known and still alerted on.
- ``notifications`` and ``deliveries``: the durable outbox. A lifecycle event is written in the same
  transaction as the state change that caused it; the worker fans it out to its channels and delivers
  with back-off until each channel accepted it, so a receiver that is down gets it once it recovers.

WAL mode lets ``blueranch alerts ack`` write while the worker runs; the worker re-reads state every tick.
"""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from blueranch.models.alerts.rules.base import DeviceRecord

ACTIVE_STATES = ("pending", "open", "acknowledged", "escalated")
OPEN_STATES = ("open", "acknowledged", "escalated")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, site TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
    severity TEXT NOT NULL, state TEXT NOT NULL, pending_since_ms INTEGER NOT NULL, opened_ms INTEGER,
    acked_ms INTEGER, acked_by TEXT, escalated_ms INTEGER, resolved_ms INTEGER, clear_since_ms INTEGER,
    last_notified_ms INTEGER, value REAL, threshold REAL, message TEXT NOT NULL, updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_key ON alerts (site, device, kind, subject, state);
CREATE TABLE IF NOT EXISTS sensors (
    site TEXT NOT NULL, device TEXT NOT NULL, sensor TEXT NOT NULL, last_seen_ms INTEGER NOT NULL, interval_s REAL,
    anchor_lat REAL, anchor_lon REAL, PRIMARY KEY (site, device, sensor));
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, fanned_out INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS deliveries (
    notification_seq INTEGER NOT NULL, channel TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_s REAL NOT NULL DEFAULT 0, created_s REAL NOT NULL, delivered_s REAL,
    failed INTEGER NOT NULL DEFAULT 0, last_error TEXT, PRIMARY KEY (notification_seq, channel));
"""


@dataclass
class Alert:
    id: str
    site: str
    device: str
    kind: str
    subject: str
    severity: str
    state: str
    pending_since_ms: int
    message: str
    updated_ms: int
    opened_ms: int | None = None
    acked_ms: int | None = None
    acked_by: str | None = None
    escalated_ms: int | None = None
    resolved_ms: int | None = None
    clear_since_ms: int | None = None
    last_notified_ms: int | None = None
    value: float | None = None
    threshold: float | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.site, self.device, self.kind, self.subject)


_ALERT_COLS = [f.name for f in fields(Alert)]


@dataclass
class Delivery:
    notification_seq: int
    channel: str
    attempts: int
    created_s: float
    body: dict[str, Any]


class Store:
    def __init__(self, path: str | Path, create: bool = True):
        """Open the state file; with ``create`` False (``alerts list``, ``ack``) it must exist already: nothing
        is created, and a missing file or one that is not an alerts state file is an error naming it."""
        self.path = Path(path)
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            raise FileNotFoundError(
                errno.ENOENT,
                "no alerts state file there (the alert worker creates it; check --state or state_path in --config)",
                str(self.path),
            )
        self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        self.db.row_factory = sqlite3.Row
        if not create:
            self._check_existing()
        self.db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a committed transaction survives a crash of the process; a power cut may lose the
        # last commits (the next evaluation re-derives them from the data), in exchange for no fsync per tick.
        self.db.execute("PRAGMA synchronous=NORMAL")
        if create:
            self.db.executescript(_SCHEMA)

    def _check_existing(self) -> None:
        try:
            q = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'"
            problem = None if self.db.execute(q).fetchone() else "it has no alerts table"
        except sqlite3.DatabaseError as exc:  # not SQLite at all
            problem = str(exc)
        if problem:
            self.db.close()
            raise ValueError(f"{self.path}: not an alerts state file ({problem})")

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> _Tx:
        return _Tx(self.db)

    # ------------------------------------------------------------ alerts
    def active(self) -> dict[tuple[str, str, str, str], Alert]:
        q = f"SELECT * FROM alerts WHERE state IN ({','.join('?' * len(ACTIVE_STATES))})"
        return {a.key: a for a in (self._alert(r) for r in self.db.execute(q, ACTIVE_STATES))}

    def get(self, alert_id: str) -> Alert:
        row = self.db.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise KeyError(f"no alert with id {alert_id!r}")
        return self._alert(row)

    def list(self, open_only: bool = False, include_pending: bool = False, limit: int | None = None) -> list[Alert]:
        """Alerts, oldest first; with ``limit``, the newest ``limit`` of them."""
        states = OPEN_STATES if open_only else ACTIVE_STATES[1:] + ("resolved",)
        if include_pending:
            states = ("pending",) + tuple(states)
        q = f"SELECT * FROM alerts WHERE state IN ({','.join('?' * len(states))}) ORDER BY pending_since_ms DESC, id"
        rows = [self._alert(r) for r in self.db.execute(q, states)]
        return list(reversed(rows[:limit] if limit else rows))

    def save(self, alert: Alert) -> None:
        cols = ",".join(_ALERT_COLS)
        self.db.execute(
            f"INSERT OR REPLACE INTO alerts ({cols}) VALUES ({','.join('?' * len(_ALERT_COLS))})",
            [getattr(alert, c) for c in _ALERT_COLS],
        )

    def delete(self, alert_id: str) -> None:
        self.db.execute("DELETE FROM alerts WHERE id = ?", (alert_id,))

    @staticmethod
    def _alert(row: sqlite3.Row) -> Alert:
        return Alert(**{c: row[c] for c in _ALERT_COLS})

    # ------------------------------------------------------------ devices
    def devices(self) -> dict[tuple[str, str, str], DeviceRecord]:
        out = {}
        for r in self.db.execute("SELECT * FROM sensors"):
            anchor = (r["anchor_lat"], r["anchor_lon"]) if r["anchor_lat"] is not None else None
            out[(r["site"], r["device"], r["sensor"])] = DeviceRecord(
                r["site"], r["device"], r["sensor"], r["last_seen_ms"], r["interval_s"], anchor
            )
        return out

    def save_device(self, rec: DeviceRecord) -> None:
        lat, lon = rec.anchor if rec.anchor is not None else (None, None)
        self.db.execute(
            "INSERT OR REPLACE INTO sensors VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rec.site, rec.device, rec.sensor, rec.last_seen_ms, rec.interval_s, lat, lon),
        )

    # ------------------------------------------------------------ outbox
    def add_notification(self, body: dict[str, Any]) -> int:
        cur = self.db.execute("INSERT INTO notifications (body) VALUES (?)", (json.dumps(body, sort_keys=True),))
        return int(cur.lastrowid)

    def fan_out(self, channels: list[str], wanted, now_s: float) -> int:
        """Create one delivery per channel for each new notification; ``wanted(channel, body)`` filters."""
        rows = self.db.execute("SELECT seq, body FROM notifications WHERE fanned_out = 0 ORDER BY seq").fetchall()
        with self.transaction():
            for r in rows:
                body = json.loads(r["body"])
                for ch in channels:
                    if wanted(ch, body):
                        self.db.execute(
                            "INSERT OR IGNORE INTO deliveries (notification_seq, channel, created_s) VALUES (?, ?, ?)",
                            (r["seq"], ch, now_s),
                        )
                self.db.execute("UPDATE notifications SET fanned_out = 1 WHERE seq = ?", (r["seq"],))
        return len(rows)

    def due(self, now_s: float) -> Iterator[Delivery]:
        q = (
            "SELECT d.*, n.body FROM deliveries d JOIN notifications n ON n.seq = d.notification_seq "
            "WHERE d.delivered_s IS NULL AND d.failed = 0 AND d.next_attempt_s <= ? ORDER BY d.notification_seq"
        )
        for r in self.db.execute(q, (now_s,)).fetchall():
            yield Delivery(r["notification_seq"], r["channel"], r["attempts"], r["created_s"], json.loads(r["body"]))

    def delivered(self, d: Delivery, now_s: float) -> None:
        self.db.execute(
            "UPDATE deliveries SET delivered_s = ?, attempts = attempts + 1 WHERE notification_seq = ? AND channel = ?",
            (now_s, d.notification_seq, d.channel),
        )

    def retry_later(self, d: Delivery, next_s: float, error: str, give_up: bool) -> None:
        self.db.execute(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_s = ?, last_error = ?, failed = ? "
            "WHERE notification_seq = ? AND channel = ?",
            (next_s, error[:1000], int(give_up), d.notification_seq, d.channel),
        )

    def prune(self, before_s: float) -> int:
        """Drop deliveries settled (delivered or failed) before ``before_s`` and notifications with none left."""
        with self.transaction():
            n = self.db.execute(
                "DELETE FROM deliveries WHERE (delivered_s IS NOT NULL AND delivered_s < ?) "
                "OR (failed = 1 AND created_s < ?)",
                (before_s, before_s),
            ).rowcount
            self.db.execute(
                "DELETE FROM notifications WHERE fanned_out = 1 AND seq NOT IN "
                "(SELECT notification_seq FROM deliveries)"
            )
        return n

    def outbox_counts(self) -> dict[str, int]:
        r = self.db.execute(
            "SELECT SUM(delivered_s IS NOT NULL) AS delivered, SUM(failed) AS failed, "
            "SUM(delivered_s IS NULL AND failed = 0) AS waiting FROM deliveries"
        ).fetchone()
        return {k: int(r[k] or 0) for k in ("delivered", "failed", "waiting")}


class _Tx:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def alert_dict(a: Alert) -> dict[str, Any]:
    return asdict(a)
