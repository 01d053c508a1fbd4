"""Store-and-forward: every telemetry message is in SQLite before it is published, and leaves only when
the shore committed it (or, in PUBACK mode, when the broker accepted it: :mod:`blueranch.edge.commits`).

- ``seq`` (per device, per message; the contract's) is assigned and persisted in the same transaction as
  the message, so a restart never reuses one. ``epoch`` (a random id, made with the buffer) names the
  sequence: a buffer lost, truncated, replaced or recovered starts a new epoch, so an (epoch, seq) pair is
  never handed out twice (:mod:`blueranch.edge.buffer_repair` decides when, from the file and its witness).
- WAL journal; ``synchronous=FULL`` by default: every commit is fsynced to the WAL, so an acknowledged
  insert survives kill -9 AND power loss. ``NORMAL`` in WAL mode survives a process crash (kill -9) but
  may lose the last commits on power loss (https://www.sqlite.org/pragma.html#pragma_synchronous,
  https://www.sqlite.org/wal.html). A buoy loses power, so FULL is the default; the cost is one fsync per
  poll, and commits are deleted in batches (one fsync per batch).
- Bounded by ``max_bytes`` and ``max_age_s``; eviction is oldest-first and counted (readings and
  messages) in the ``meta`` table, so ``dropped`` survives restarts too; every eviction is logged at ERROR.
- A write that fails (disk full, read-only, I/O error) is one ERROR line naming the path and the error; the
  buffer then holds new messages in memory (at most ``memory_max_bytes``, oldest evicted and counted), under
  a new epoch (if the agent stopped before the disk is back, those seqs were never persisted, and the next
  run must not hand them out again under the same epoch), and :meth:`retry_disk` writes them when the disk
  takes writes again.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from pathlib import Path

from blueranch.contracts.mqtt import seq_ranges
from blueranch.edge import buffer_repair

log = logging.getLogger("blueranch.edge.buffer")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    created_s REAL NOT NULL,
    n_samples INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('next_seq', 1), ('dropped_readings', 0), ('dropped_messages', 0),
    ('lost_messages', 0);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
#: How many epochs a buffer remembers (acks name the epoch of the messages they commit).
MAX_EPOCHS = 16

#: ``make_body(epoch, seq) -> bytes``
MakeBody = Callable[[str, int], bytes]


def new_epoch() -> str:
    """A random buffer epoch: 16 hex digits (64 bits), like Sparkplug's bdSeq but never reused."""
    return secrets.token_hex(8)


def seq_ranges_merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive ranges merged where they overlap or touch, sorted."""
    out: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def _os_view(path: Path) -> str:
    """What the file system says about the buffer's folder (SQLite's "disk I/O error" hides the OS error)."""
    folder = path.parent
    try:
        st = os.statvfs(folder)
        free = f"{st.f_bavail * st.f_frsize} bytes free"
    except OSError as exc:
        free = f"statvfs: {exc.strerror}"
    probe = folder / f".{path.name}.probe"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        return f"the file system: {exc.strerror}, {free}"
    return f"the file system takes a test write, {free}"


@dataclass(frozen=True)
class Stored:
    seq: int
    body: bytes
    n_samples: int


class Buffer:
    """A thread-safe SQLite message store (one connection, one lock)."""

    def __init__(
        self,
        path: Path,
        max_bytes: int = 256 * 1024 * 1024,
        max_age_s: float = 30 * 86400,
        synchronous: str = "FULL",
        memory_max_bytes: int = 4 * 1024 * 1024,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.memory_max_bytes = memory_max_bytes
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous {synchronous!r} must be FULL or NORMAL")
        self._synchronous = synchronous
        self._lock = threading.Lock()
        #: what opening found: a damaged file moved aside and salvaged, or a lost one (buffer_repair.Opened)
        self.opened = buffer_repair.open_buffer(self.path, self._connect)
        self._db = self.opened.db
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(length(body)), 0), COALESCE(SUM(n_samples), 0) FROM messages"
        ).fetchone()
        self.messages, self.bytes, self.readings = row
        self.next_seq = self._meta("next_seq")
        self.dropped_readings = self._meta("dropped_readings")
        self.dropped_messages = self._meta("dropped_messages")
        self.lost_messages = self._meta("lost_messages")
        self.epochs: list[str] = [e for e in self._info("epochs", "").split(",") if e]
        self.epoch = self.epochs[-1] if self.epochs else ""
        #: (seq, monotonic time) of the first messages appended by this process (the uplink's first live seq)
        self.recent: deque[tuple[int, float]] = deque(maxlen=1)
        # Disk faults: messages held in memory while SQLite cannot write, and deletions still to do there.
        self.disk_error: str | None = None
        self.disk_errors = 0
        self._mem: dict[int, tuple[float, int, bytes]] = {}
        self._mem_bytes = 0
        self._owed: list[tuple[int, int]] = []
        self._start_epoch(self.opened)
        buffer_repair.write_witness(self.path, self.witness())

    def _connect(self, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            db.close()
            raise RuntimeError(f"{path}: SQLite refused WAL journal mode (got {mode})")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.executescript(_SCHEMA)
        return db

    def _meta(self, key: str) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def _info(self, key: str, default: str) -> str:
        row = self._db.execute("SELECT value FROM info WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def _start_epoch(self, opened: buffer_repair.Opened) -> None:
        """A new epoch when the file has none or opening found a loss; carry the counters a witness knew."""
        if self.epoch and not opened.new_epoch_reason:
            return
        epoch = new_epoch()
        next_seq = max(self.next_seq, opened.next_seq)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._set_epochs([*self.epochs, epoch])
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (next_seq,))
            for key, add in (
                ("dropped_readings", opened.dropped_readings),
                ("dropped_messages", opened.dropped_messages),
                ("lost_messages", opened.lost_messages),
            ):
                self._db.execute("UPDATE meta SET value = value + ? WHERE key = ?", (add, key))
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        self.next_seq = next_seq
        self.dropped_readings += opened.dropped_readings
        self.dropped_messages += opened.dropped_messages
        self.lost_messages += opened.lost_messages
        reason = opened.new_epoch_reason or "a new buffer"
        level = logging.WARNING if opened.new_epoch_reason and not opened.first_start else logging.INFO
        log.log(level, "buffer %s: epoch %s starts at seq %d (%s)", self.path, epoch, next_seq, reason)
        for body, n, created_s in opened.salvaged:
            self.append(lambda e, s, body=body: buffer_repair.reseal(body, e, s), n, created_s)
        if opened.salvaged:
            log.warning(
                "buffer %s: %d salvaged messages buffered again in epoch %s", self.path, len(opened.salvaged), epoch
            )

    def _set_epochs(self, epochs: list[str]) -> None:
        """Persist the known epochs (the newest is current); lock held, inside a transaction."""
        epochs = epochs[-MAX_EPOCHS:]
        self._db.execute("INSERT OR REPLACE INTO info VALUES ('epochs', ?)", (",".join(epochs),))
        self.epochs = epochs
        self.epoch = epochs[-1]

    # ------------------------------------------------------------ writing
    def append(self, make_body: MakeBody, n_samples: int, now_s: float | None = None) -> int:
        """Store a new message; ``make_body(epoch, seq) -> bytes`` builds it with its epoch and seq.

        Returns the seq. A disk that refuses the write does not raise: the message is held in memory."""
        now_s = time.time() if now_s is None else now_s
        with self._lock:
            seq = self.next_seq
            if self.disk_error is None:
                body = make_body(self.epoch, seq)
                try:
                    self._insert(seq, now_s, n_samples, body)
                except sqlite3.Error as exc:
                    self._disk_failed("append", exc)
                else:
                    self._appended(seq, n_samples, len(body))
                    if self.bytes > self.max_bytes:
                        self._evict("size", "bytes > ?", None)
                    return seq
            body = make_body(self.epoch, seq)  # the memory epoch (see _disk_failed)
            self._mem[seq] = (now_s, n_samples, body)
            self._mem_bytes += len(body)
            self._appended(seq, n_samples, len(body))
            self._bound_memory()
            return seq

    def _insert(self, seq: int, now_s: float, n_samples: int, body: bytes) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("INSERT INTO messages VALUES (?, ?, ?, ?)", (seq, now_s, n_samples, body))
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        """Roll back if a transaction is still open: after SQLITE_FULL or an I/O error SQLite may already have
        rolled it back itself, and a second ROLLBACK ("no transaction is active") would hide the real error."""
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.error("buffer %s: rollback failed too: %s", self.path, exc)

    def _appended(self, seq: int, n_samples: int, size: int) -> None:
        self.next_seq = seq + 1
        if not self.recent:
            self.recent.append((seq, time.monotonic()))
        self.messages += 1
        self.bytes += size
        self.readings += n_samples

    def _disk_failed(self, what: str, exc: sqlite3.Error) -> None:
        """The disk refused a write: say so once, hold messages in memory under a new epoch. Lock held."""
        self.disk_errors += 1
        if self.disk_error is not None:
            return
        self.disk_error = f"{exc} ({getattr(exc, 'sqlite_errorname', exc.__class__.__name__)}); {_os_view(self.path)}"
        old = self.epoch
        self.epochs = [*self.epochs, new_epoch()][-MAX_EPOCHS:]
        self.epoch = self.epochs[-1]
        log.error(
            "BUFFER DISK ERROR on %s (%s): %s; holding new messages in memory (at most %d bytes) under epoch %s "
            "(was %s) and retrying the disk; they are lost if the agent stops before the disk takes writes again",
            self.path,
            what,
            self.disk_error,
            self.memory_max_bytes,
            self.epoch,
            old,
        )

    def _bound_memory(self) -> None:
        evicted: list[tuple[int, int]] = []
        while self._mem_bytes > self.memory_max_bytes and len(self._mem) > 1:
            seq = next(iter(self._mem))
            _, n, body = self._mem.pop(seq)
            self._mem_bytes -= len(body)
            self.messages -= 1
            self.bytes -= len(body)
            self.readings -= n
            evicted.append((seq, n))
        if evicted:
            self._dropped(
                evicted[0][0],
                evicted[-1][0],
                len(evicted),
                sum(n for _, n in evicted),
                f"from memory (memory_max_bytes={self.memory_max_bytes}) while the disk refuses writes "
                f"({self.disk_error})",
            )

    def retry_disk(self) -> bool:
        """Try to write what memory holds (and the deletions owed); True when the disk is healthy again."""
        with self._lock:
            if self.disk_error is None:
                return True
            counters = (self.messages, self.bytes, self.readings)
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._delete_ranges(self._owed)
                self._db.executemany(
                    "INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?)",
                    [(seq, c, n, body) for seq, (c, n, body) in self._mem.items()],
                )
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (self.next_seq,))
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'dropped_readings'", (self.dropped_readings,))
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'dropped_messages'", (self.dropped_messages,))
                self._set_epochs(self.epochs)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                self.messages, self.bytes, self.readings = counters  # _delete_ranges counted what did not happen
                self.disk_errors += 1
                log.debug("buffer %s: disk still refuses writes: %s", self.path, exc)
                return False
            log.warning(
                "buffer %s: the disk takes writes again (after %s); wrote the %d messages held in memory (epoch %s)",
                self.path,
                self.disk_error,
                len(self._mem),
                self.epoch,
            )
            self.disk_error = None
            self._mem.clear()
            self._mem_bytes = 0
            self._owed.clear()
            self._recount()
            if self.bytes > self.max_bytes:
                self._evict("size", "bytes > ?", None)
            return True

    def _recount(self) -> None:
        self.messages, self.bytes, self.readings = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(length(body)), 0), COALESCE(SUM(n_samples), 0) FROM messages"
        ).fetchone()

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

    # ------------------------------------------------------------ bounds
    def expire(self, now_s: float | None = None) -> int:
        """Evict messages older than ``max_age_s``; return how many."""
        now_s = time.time() if now_s is None else now_s
        with self._lock:
            if self.disk_error is not None:
                return 0  # nothing can be deleted on disk now; the memory bound holds meanwhile
            try:
                return self._evict("age", "created_s < ?", now_s - self.max_age_s)
            except sqlite3.Error as exc:
                self._rollback()
                self._disk_failed("expire", exc)
                return 0

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
        try:
            self._db.execute("DELETE FROM messages WHERE seq <= ?", (rows[-1][0],))
            self._db.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped_readings'", (n_read,))
            self._db.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped_messages'", (len(rows),))
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        self._forget(len(rows), sum(r[1] for r in rows), n_read)
        self._dropped(
            rows[0][0],
            rows[-1][0],
            len(rows),
            n_read,
            f"by {why} limit (max_bytes={self.max_bytes}, max_age_s={self.max_age_s})",
        )
        return len(rows)

    def _dropped(self, first: int, last: int, messages: int, readings: int, how: str) -> None:
        """Count an eviction and say so at ERROR (the counters are persisted by the caller's transaction)."""
        self.dropped_readings += readings
        self.dropped_messages += messages
        log.error(
            "BUFFER EVICTED %d messages (%d readings, seq %d..%d) %s; dropped so far: %d readings in %d messages",
            messages,
            readings,
            first,
            last,
            how,
            self.dropped_readings,
            self.dropped_messages,
        )

    # ------------------------------------------------------------ reading
    def fetch(
        self, after_seq: int, before_seq: int | None = None, limit: int = 100, skip: Container[int] = frozenset()
    ) -> list[Stored]:
        """Messages with ``after_seq < seq < before_seq`` in seq order, leaving out ``skip``."""
        before = self.next_seq if before_seq is None else before_seq
        out: list[Stored] = []
        with self._lock:
            try:
                # No LIMIT: rows are read lazily, one step per row, until ``limit`` are kept
                cur = self._db.execute(
                    "SELECT seq, body, n_samples FROM messages WHERE seq > ? AND seq < ? ORDER BY seq",
                    (after_seq, before),
                )
                for seq, body, n in cur:
                    if seq not in skip and not (self._owed and self._owed_has(seq)):
                        out.append(Stored(seq, body, n))
                        if len(out) >= limit:
                            break
            except sqlite3.Error as exc:  # a disk that cannot be read either: what memory holds still goes out
                self._disk_failed("fetch", exc)
            if self._mem:
                out += [
                    Stored(seq, body, n)
                    for seq, (_, n, body) in self._mem.items()
                    if after_seq < seq < before and seq not in skip
                ]
                out.sort(key=lambda m: m.seq)
                del out[limit:]
        return out

    def get(self, seqs: Iterable[int]) -> list[Stored]:
        """The stored messages among ``seqs`` (those evicted or deleted meanwhile are left out), in seq order."""
        wanted = sorted(set(seqs))
        out: list[Stored] = []
        with self._lock:
            for i in range(0, len(wanted), 500):
                chunk = [s for s in wanted[i : i + 500] if s not in self._mem and not self._owed_has(s)]
                if chunk:
                    marks = ",".join("?" * len(chunk))
                    try:
                        rows = self._db.execute(
                            f"SELECT seq, body, n_samples FROM messages WHERE seq IN ({marks})", chunk
                        ).fetchall()
                    except sqlite3.Error as exc:
                        self._disk_failed("get", exc)
                        rows = []
                    out += [Stored(seq, body, n) for seq, body, n in rows]
            out += [Stored(s, self._mem[s][2], self._mem[s][1]) for s in wanted if s in self._mem]
        out.sort(key=lambda m: m.seq)
        return out

    # ------------------------------------------------------------ deleting what was delivered
    def remove(self, seqs: Iterable[int]) -> int:
        """Delete delivered messages (one transaction); return how many were still there."""
        return self._remove_ranges(seq_ranges(seqs))

    def remove_ranges(self, epoch: str, ranges: Iterable[tuple[int, int]]) -> int:
        """Delete the messages of ``epoch`` in the inclusive seq ``ranges`` (a commit acknowledgement).

        An epoch this buffer does not know (an older buffer's, or memory-held seqs a crash lost) deletes
        nothing. Seqs are unique within a buffer file across its epochs, so a range names its messages."""
        if epoch not in self.epochs:
            return 0
        return self._remove_ranges(list(ranges))

    def _remove_ranges(self, ranges: list[tuple[int, int]]) -> int:
        if not ranges:
            return 0
        with self._lock:
            gone = 0
            if self._mem:
                for first, last in ranges:
                    for seq in [k for k in self._mem if first <= k <= last]:
                        _, n, body = self._mem.pop(seq)
                        self._mem_bytes -= len(body)
                        self._forget(1, len(body), n)
                        gone += 1
            if self.disk_error is None:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    gone += self._delete_ranges(ranges)
                    self._db.execute("COMMIT")
                    return gone
                except sqlite3.Error as exc:
                    self._rollback()
                    self._recount_disk()
                    self._disk_failed("remove", exc)
            return gone + self._owe(ranges)

    def _delete_ranges(self, ranges: list[tuple[int, int]]) -> int:
        """DELETE inside the caller's transaction; updates the counters; returns how many rows went."""
        gone = 0
        for first, last in ranges:
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(length(body)), 0), COALESCE(SUM(n_samples), 0) FROM messages "
                "WHERE seq BETWEEN ? AND ?",
                (first, last),
            ).fetchone()
            if row[0]:
                self._db.execute("DELETE FROM messages WHERE seq BETWEEN ? AND ?", (first, last))
                gone += row[0]
                self._forget(row[0], row[1], row[2])
        return gone

    def _owe(self, ranges: list[tuple[int, int]]) -> int:
        """Deletions the disk refused: hidden from fetch and get now, done by :meth:`retry_disk`."""
        gone = 0
        for first, last in ranges:
            try:
                rows = self._db.execute(
                    "SELECT seq, length(body), n_samples FROM messages WHERE seq BETWEEN ? AND ?", (first, last)
                ).fetchall()
            except sqlite3.Error:
                rows = []  # unreadable too: the counters are recounted once the disk is back
            for seq, size, n in rows:
                if not self._owed_has(seq):
                    self._forget(1, size, n)
                    gone += 1
            self._owed = seq_ranges_merge([*self._owed, (first, last)])
        return gone

    def _owed_has(self, seq: int) -> bool:
        return any(first <= seq <= last for first, last in self._owed)

    def _recount_disk(self) -> None:
        """Counters from the file, less what is owed, plus memory (after a failed transaction left them unsure)."""
        try:
            self._recount()
            for first, last in self._owed:
                row = self._db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(length(body)), 0), COALESCE(SUM(n_samples), 0) FROM messages "
                    "WHERE seq BETWEEN ? AND ?",
                    (first, last),
                ).fetchone()
                self._forget(*row)
        except sqlite3.Error:
            return
        self.messages += len(self._mem)
        self.bytes += self._mem_bytes
        self.readings += sum(n for _, n, _ in self._mem.values())

    def _forget(self, messages: int, size: int, readings: int) -> None:
        self.messages -= messages
        self.bytes -= size
        self.readings -= readings

    # ------------------------------------------------------------ state
    def recall(self, key: str) -> str | None:
        """A small fact the buffer keeps with its messages (``shore_commits``: the shore sent a commit)."""
        with self._lock:
            try:
                return self._info(key, "") or None
            except sqlite3.Error:
                return None

    def remember(self, key: str, value: str) -> None:
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO info VALUES (?, ?)", (key, value))
            except sqlite3.Error as exc:
                log.warning("buffer %s: cannot record %s: %s", self.path, key, exc)

    @property
    def memory_messages(self) -> int:
        return len(self._mem)

    def witness(self) -> dict:
        """What :mod:`blueranch.edge.buffer_repair` compares the file with at the next start."""
        return {
            "epoch": self.epoch,
            "epochs": list(self.epochs),
            "next_seq": self.next_seq,
            "messages": self.messages,
            "readings": self.readings,
            "dropped_readings": self.dropped_readings,
            "dropped_messages": self.dropped_messages,
            "lost_messages": self.lost_messages,
            "updated_s": time.time(),
        }

    def write_witness(self) -> None:
        buffer_repair.write_witness(self.path, self.witness())

    def close(self) -> None:
        with self._lock:
            buffer_repair.write_witness(self.path, self.witness())
            self._db.close()
