"""Store-and-forward: every telemetry message is in SQLite before it is published, and leaves only when
the broker acknowledged it (PUBACK).

- ``seq`` (per device, per message; the contract's) is assigned and persisted in the same transaction as
  the message, so a restart never reuses one.
- WAL journal; ``synchronous=FULL`` by default: every commit is fsynced to the WAL, so an acknowledged
  insert survives kill -9 AND power loss. ``NORMAL`` in WAL mode survives a process crash (kill -9) but
  may lose the last commits on power loss (https://www.sqlite.org/pragma.html#pragma_synchronous,
  https://www.sqlite.org/wal.html). A buoy loses power, so FULL is the default; the cost is one fsync per
  poll, and acknowledgements are deleted in batches (one fsync per batch).
- Bounded by ``max_bytes`` and ``max_age_s``; eviction is oldest-first and counted (readings and
  messages) in the ``meta`` table, so ``dropped`` survives restarts too; every eviction is logged at ERROR.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("blueranch.edge.buffer")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    created_s REAL NOT NULL,
    n_samples INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('next_seq', 1), ('dropped_readings', 0), ('dropped_messages', 0);
"""


@dataclass(frozen=True)
class Stored:
    seq: int
    body: bytes
    n_samples: int


class Buffer:
    """A thread-safe SQLite message store (one connection, one lock)."""

    def __init__(
        self, path: Path, max_bytes: int = 256 * 1024 * 1024, max_age_s: float = 30 * 86400, synchronous: str = "FULL"
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"{self.path}: SQLite refused WAL journal mode (got {mode})")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous {synchronous!r} must be FULL or NORMAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(length(body)), 0), COALESCE(SUM(n_samples), 0) FROM messages"
        ).fetchone()
        self.messages, self.bytes, self.readings = row
        self.next_seq = self._meta("next_seq")
        self.dropped_readings = self._meta("dropped_readings")
        self.dropped_messages = self._meta("dropped_messages")
        #: (seq, monotonic time) of the first messages appended by this process (the uplink's first live seq)
        self.recent: deque[tuple[int, float]] = deque(maxlen=1)

    def _meta(self, key: str) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def append(self, make_body, n_samples: int, now_s: float | None = None) -> int:
        """Store a new message; ``make_body(seq) -> bytes`` builds it with its seq. Returns the seq."""
        now_s = time.time() if now_s is None else now_s
        with self._lock:
            seq = self.next_seq
            body = make_body(seq)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO messages VALUES (?, ?, ?, ?)", (seq, now_s, n_samples, body))
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self.next_seq = seq + 1
            if not self.recent:
                self.recent.append((seq, time.monotonic()))
            self.messages += 1
            self.bytes += len(body)
            self.readings += n_samples
            if self.bytes > self.max_bytes:
                self._evict("size", "bytes > ?", None)
            return seq

    def append_many(self, bodies: list[tuple[bytes, int, float]]) -> None:
        """Bulk insert pre-built ``(body, n_samples, created_s)`` in one transaction (bench and tests);
        bodies must already carry ``next_seq``, ``next_seq + 1``, ..."""
        with self._lock:
            first = self.next_seq
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO messages VALUES (?, ?, ?, ?)", [(first + i, c, n, b) for i, (b, n, c) in enumerate(bodies)]
            )
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (first + len(bodies),))
            self._db.execute("COMMIT")
            self.next_seq = first + len(bodies)
            self.messages += len(bodies)
            self.bytes += sum(len(b) for b, _, _ in bodies)
            self.readings += sum(n for _, n, _ in bodies)

    def expire(self, now_s: float | None = None) -> int:
        """Evict messages older than ``max_age_s``; return how many."""
        now_s = time.time() if now_s is None else now_s
        with self._lock:
            return self._evict("age", "created_s < ?", now_s - self.max_age_s)

    def _evict(self, why: str, condition: str, arg) -> int:
        """Delete oldest-first while ``condition`` holds (size: until under ``max_bytes``). Lock held."""
        if why == "size":
            # Oldest messages whose cumulative size brings the total back under 90 % of the bound.
            excess = self.bytes - int(self.max_bytes * 0.9)
            rows, freed = [], 0
            for seq, size, n in self._db.execute("SELECT seq, length(body), n_samples FROM messages ORDER BY seq"):
                if freed >= excess:
                    break
                rows.append((seq, size, n))
                freed += size
        else:
            rows = self._db.execute(
                "SELECT seq, length(body), n_samples FROM messages WHERE created_s < ? ORDER BY seq", (arg,)
            ).fetchall()
        if not rows:
            return 0
        n_read = sum(r[2] for r in rows)
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM messages WHERE seq <= ?", (rows[-1][0],))
        self._db.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped_readings'", (n_read,))
        self._db.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped_messages'", (len(rows),))
        self._db.execute("COMMIT")
        self.messages -= len(rows)
        self.bytes -= sum(r[1] for r in rows)
        self.readings -= n_read
        self.dropped_readings += n_read
        self.dropped_messages += len(rows)
        log.error(
            "BUFFER EVICTED %d messages (%d readings, seq %d..%d) by %s limit (max_bytes=%d, max_age_s=%s); "
            "dropped so far: %d readings in %d messages",
            len(rows),
            n_read,
            rows[0][0],
            rows[-1][0],
            why,
            self.max_bytes,
            self.max_age_s,
            self.dropped_readings,
            self.dropped_messages,
        )
        return len(rows)

    def fetch(
        self, after_seq: int, before_seq: int | None = None, limit: int = 100, skip: set[int] | frozenset = frozenset()
    ) -> list[Stored]:
        """Messages with ``after_seq < seq < before_seq`` in seq order, leaving out ``skip``."""
        before = self.next_seq if before_seq is None else before_seq
        out: list[Stored] = []
        with self._lock:
            cur = self._db.execute(
                "SELECT seq, body, n_samples FROM messages WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ?",
                (after_seq, before, limit + len(skip)),
            )
            for seq, body, n in cur:
                if seq not in skip:
                    out.append(Stored(seq, body, n))
                    if len(out) >= limit:
                        break
        return out

    def remove(self, seqs: list[int]) -> int:
        """Delete acknowledged messages (one transaction); return how many were still there."""
        if not seqs:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                gone = 0
                for i in range(0, len(seqs), 500):
                    chunk = seqs[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    row = self._db.execute(
                        f"SELECT COUNT(*), COALESCE(SUM(length(body)), 0), "
                        f"COALESCE(SUM(n_samples), 0) FROM messages WHERE seq IN ({marks})",
                        chunk,
                    ).fetchone()
                    self._db.execute(f"DELETE FROM messages WHERE seq IN ({marks})", chunk)
                    gone += row[0]
                    self.messages -= row[0]
                    self.bytes -= row[1]
                    self.readings -= row[2]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return gone

    def close(self) -> None:
        with self._lock:
            self._db.close()
