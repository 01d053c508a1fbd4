"""Opening the buffer file: a damaged one is moved aside and salvaged, a lost one is noticed.

The buffer keeps a **witness** next to its file (``<buffer>.witness.json``: epoch, next seq, what it held,
its counters), rewritten every second by the agent and at a clean stop. At start the file is checked
(``PRAGMA quick_check``) and compared with the witness:

- a file SQLite cannot read (garbage in the middle, truncated to a partial page) is renamed
  ``<buffer>.corrupt-YYYYmmddTHHMMSSZ`` (with its ``-wal``/``-shm``: kept for a human), its readable messages
  are salvaged (row by row, stepping over unreadable pages: :func:`salvage`) into a new file, and the loss
  is counted and logged at ERROR;
- a file that is empty (0 bytes) or gone while the witness says it held messages, a file that lacks the
  witness's newest seqs (a lost WAL), or a file from another buffer (restored from elsewhere) is a loss:
  logged at WARNING with what the witness knew, counted;
- in every such case a new epoch starts (:mod:`blueranch.edge.buffer`), never reusing an (epoch, seq) pair,
  and ``next_seq`` continues after the highest seq known from the file, the salvage or the witness.

The witness is written without fsync (once a second); it can lag the file by a second, so a loss of only
the last second's commits can go unnoticed. It is a witness, not a second store.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from blueranch.contracts.mqtt import Telemetry

log = logging.getLogger("blueranch.edge.buffer")

#: Rows and their (created_s, n_samples, body), by seq.
Rows = dict[int, tuple[float, int, bytes]]
#: Give up salvaging row by row after this many unreadable spots.
MAX_SCAN_ERRORS = 1000


@dataclass
class Opened:
    """An open buffer file and what opening it found."""

    db: sqlite3.Connection
    #: why a new epoch must start (None: go on with the file's)
    new_epoch_reason: str | None = None
    #: no file and no witness: the agent's first start here (logged at INFO)
    first_start: bool = False
    #: the next seq is at least this
    next_seq: int = 1
    #: to add to the file's counters (carried over from the witness or the damaged file, plus what was lost)
    dropped_readings: int = 0
    dropped_messages: int = 0
    lost_messages: int = 0
    #: salvaged messages (valid telemetry) to buffer again under the new epoch: (body, n_samples, created_s)
    salvaged: list[tuple[bytes, int, float]] = field(default_factory=list)
    #: where a damaged file was moved
    moved_to: Path | None = None


def witness_path(path: Path) -> Path:
    return path.with_name(path.name + ".witness.json")


def read_witness(path: Path) -> dict | None:
    try:
        data = json.loads(witness_path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("epoch"), str) else None


def write_witness(path: Path, data: dict) -> None:
    """Replace the witness atomically; a disk that refuses is the buffer's own error to report, not this."""
    target = witness_path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, target)
    except OSError as exc:
        log.debug("cannot write the buffer witness %s: %s", target, exc)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def _int(data: dict | None, key: str) -> int:
    value = (data or {}).get(key, 0)
    return value if isinstance(value, int) and value >= 0 else 0


def open_buffer(path: Path, connect: Callable[[Path], sqlite3.Connection]) -> Opened:
    """Open (creating, checking, or salvaging) the buffer at ``path``; ``connect`` opens a file as a buffer."""
    witness = read_witness(path)
    exists = path.exists()
    if exists and path.stat().st_size > 0:
        db = None
        try:
            db = connect(path)
            _check(db)
            return _compare(path, db, witness)
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            return _salvage_into_new(path, connect, witness, exc)
    db = connect(path)
    if witness is None:
        return Opened(db, "a new buffer" if not exists else "an empty file", first_start=not exists)
    what = "emptied (0 bytes)" if exists else "deleted"
    messages, readings = _int(witness, "messages"), _int(witness, "readings")
    return Opened(
        db,
        f"the buffer file was {what}: the last run's epoch {witness['epoch']} held {messages} messages "
        f"({readings} readings) not yet delivered; they are lost",
        next_seq=_int(witness, "next_seq") or 1,
        dropped_readings=_int(witness, "dropped_readings") + readings,
        dropped_messages=_int(witness, "dropped_messages") + messages,
        lost_messages=_int(witness, "lost_messages") + messages,
    )


def _check(db: sqlite3.Connection) -> None:
    """Raise ``sqlite3.DatabaseError`` unless the file is whole (quick_check: every page, not the indexes'
    contents) and has the buffer's tables."""
    result = [r[0] for r in db.execute("PRAGMA quick_check").fetchall()]
    if result != ["ok"]:
        raise sqlite3.DatabaseError("; ".join(str(r) for r in result[:3]))
    db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()


def _compare(path: Path, db: sqlite3.Connection, witness: dict | None) -> Opened:
    """A readable file: does it agree with the witness?"""
    row = db.execute("SELECT value FROM info WHERE key = 'epochs'").fetchone()
    epochs = [e for e in (row[0] if row else "").split(",") if e]
    meta = _read_meta(db)
    next_seq = meta.get("next_seq", 1)
    if witness is None:
        if not epochs:
            return Opened(db, "the file has no epoch yet (written by an agent older than epochs)", first_start=True)
        return Opened(db)
    w_next = _int(witness, "next_seq")
    w_epochs = witness.get("epochs") if isinstance(witness.get("epochs"), list) else [witness["epoch"]]
    if witness["epoch"] in epochs and w_next <= next_seq:
        return Opened(db)  # the file holds at least what the witness saw
    lost = max(0, w_next - next_seq)
    if not epochs:
        reason = (
            f"the file holds nothing the last run wrote (epoch {witness['epoch']}, up to seq {w_next - 1}: a lost "
            f"write-ahead log?); up to {lost} messages lost"
        )
    elif witness["epoch"] in epochs:
        reason = (
            f"the file lacks its newest commits (seq {next_seq}..{w_next - 1} of epoch {witness['epoch']}: "
            f"a lost write-ahead log?); up to {lost} messages lost"
        )
    elif epochs[-1] in w_epochs:
        reason = (
            f"the last run held messages in memory under epoch {witness['epoch']} while the disk refused writes, "
            f"and stopped before writing them; up to {lost} messages lost"
        )
    else:
        reason = (
            f"the file is not the one the last run used (its epochs {','.join(epochs)}; the last run's "
            f"{witness['epoch']}, which held {_int(witness, 'messages')} messages): replaced or restored from elsewhere"
        )
        lost = max(lost, _int(witness, "messages"))
    return Opened(
        db,
        reason,
        next_seq=max(next_seq, w_next),
        dropped_readings=max(0, _int(witness, "dropped_readings") - meta.get("dropped_readings", 0)),
        dropped_messages=max(0, _int(witness, "dropped_messages") - meta.get("dropped_messages", 0)) + lost,
        lost_messages=max(0, _int(witness, "lost_messages") - meta.get("lost_messages", 0)) + lost,
    )


# ---------------------------------------------------------------- a damaged file
def _salvage_into_new(
    path: Path, connect: Callable[[Path], sqlite3.Connection], witness: dict | None, error: Exception
) -> Opened:
    moved = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            os.replace(src, f"{moved}{suffix}")
    rows, meta, method, unreadable = salvage(moved)
    salvaged: list[tuple[bytes, int, float]] = []
    invalid = 0
    top = 0
    for seq in sorted(rows):
        created_s, n, body = rows.pop(seq)
        top = max(top, seq)
        try:
            Telemetry.model_validate_json(body)
        except (ValidationError, ValueError, TypeError):
            invalid += 1
        else:
            salvaged.append((body, int(n), float(created_s)))
    db = connect(path)
    kept_readings = sum(n for _, n, _ in salvaged)
    if witness is not None:
        lost = max(0, _int(witness, "messages") - len(salvaged))
        lost_readings = max(0, _int(witness, "readings") - kept_readings)
        known = f"the last witness counted {_int(witness, 'messages')} messages"
    else:
        lost, lost_readings, known = invalid, 0, "no witness to say how many there were"
    base = meta if meta else (witness or {})
    log.error(
        "BUFFER DAMAGED: %s cannot be read (%s); moved aside to %s (kept for recovery); salvaged %d messages "
        "(%d readings) with %s, %d unreadable spots, %d invalid bodies; %s: %d messages (%d readings) lost",
        path,
        error,
        moved,
        len(salvaged),
        kept_readings,
        method,
        unreadable,
        invalid,
        known,
        lost,
        lost_readings,
    )
    return Opened(
        db,
        f"the file was damaged and salvaged ({len(salvaged)} messages kept, {lost} lost)",
        next_seq=max(_int(base, "next_seq"), top + 1, _int(witness, "next_seq"), 1),
        dropped_readings=_int(base, "dropped_readings") + lost_readings,
        dropped_messages=_int(base, "dropped_messages") + lost,
        lost_messages=_int(base, "lost_messages") + lost,
        salvaged=salvaged,
        moved_to=moved,
    )


def salvage(path: Path) -> tuple[Rows, dict[str, int], str, int]:
    """The readable rows and meta counters of a damaged buffer file: ``(rows, meta, method, unreadable)``.

    Row by row from Python, stepping over unreadable pages. (SQLite's ``.recover`` would also find rows in
    pages no longer linked from the table, but the ``sqlite3`` command of Debian 12, 3.40.1, fails with "SQL
    logic error" even on a sound file, and the recovery API is not in Python's ``sqlite3`` module.)
    Never raises for what it finds in the file."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        # Lets SQLite read a file shorter than its header says (truncated): it then reads the pages there are.
        db.execute("PRAGMA writable_schema = ON")
    except sqlite3.Error:
        return {}, {}, "nothing (the file cannot be opened)", 1
    try:
        rows, unreadable = _scan(db)
        return rows, _read_meta(db), "row by row", unreadable
    finally:
        db.close()


_ROW = "SELECT seq, created_s, n_samples, body FROM messages WHERE seq > ? ORDER BY seq"


def _scan(db: sqlite3.Connection) -> tuple[Rows, int]:
    """Read every row it can in seq order; at an unreadable spot, step over it (see :func:`_next_readable`)."""
    rows: Rows = {}
    after = -1
    errors = 0
    while errors < MAX_SCAN_ERRORS:
        try:
            for seq, created_s, n, body in db.execute(_ROW, (after,)):
                if isinstance(body, bytes | str) and isinstance(n, int):
                    rows[seq] = (created_s or 0.0, n, body.encode() if isinstance(body, str) else body)
                after = seq
            return rows, errors
        except sqlite3.Error:
            errors += 1
            nxt = _next_readable(db, after)
            if nxt is None:
                return rows, errors
            after = nxt - 1
    return rows, errors


def _readable(db: sqlite3.Connection, after: int) -> bool:
    try:
        db.execute(_ROW + " LIMIT 1", (after,)).fetchall()
        return True
    except sqlite3.Error:
        return False


def _next_readable(db: sqlite3.Connection, after: int) -> int | None:
    """The smallest start past ``after`` from which a row can be read: steps doubling until a probe reads,
    then bisects back (rows in a damaged page are lost; those after it are found)."""
    step = 1
    while after + step < 2**62 and not _readable(db, after + step):
        step *= 2
    if after + step >= 2**62:
        return None
    lo, hi = after + step // 2, after + step  # lo unreadable (or = after), hi readable
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _readable(db, mid):
            hi = mid
        else:
            lo = mid
    return hi + 1


def _read_meta(db: sqlite3.Connection) -> dict[str, int]:
    try:
        return {k: int(v) for k, v in db.execute("SELECT key, value FROM meta") if isinstance(v, int)}
    except sqlite3.Error:
        return {}


def reseal(body: bytes, epoch: str, seq: int) -> bytes:
    """A salvaged (valid) message under its new epoch and seq, its samples unchanged: InfluxDB rewrites the
    same points if it was delivered before."""
    msg = Telemetry.model_validate_json(body)
    return msg.model_copy(update={"epoch": epoch, "seq": seq, "backfill": False}).to_json()
