"""The credit ledger: serial-numbered blocks of t CO2e issued per site and vintage, transferred, retired.

One SQLite file, append-only and hash-chained. Schema (``SCHEMA`` below, version in ``meta``):

- ``entries(seq, recorded_at, kind, body, prev_hash, hash)``: one row per event, ``seq`` 1, 2, 3, ... without
  gaps; ``kind`` is ``issue``, ``transfer`` or ``retire``; ``body`` the event as canonical JSON (sorted keys,
  no spaces); ``prev_hash`` the ``hash`` of entry ``seq - 1`` (64 zeros for the first); ``hash`` =
  SHA-256 of ``prev_hash \\n seq \\n recorded_at \\n kind \\n body``. Triggers refuse UPDATE and DELETE, and
  ``ledger verify`` recomputes every hash, so an entry edited behind the triggers' back is found.
- The holdings are not stored: they are the replay of the entries (:func:`replay`).

Serial numbers: ``PREFIX-SITE-VINTAGE-FIRST-LAST`` (``BR-DACHEN-2026-000001-000271``), one number per
t CO2e, numbered from 1 within a site's vintage. An issuance names its report package (file and SHA-256 of
its manifest); it is refused for a vintage or a period already issued, for more than the package's
issuable tonnes, for a package that does not verify, whose data are insufficient or whose project
description is incomplete. A transfer or retirement takes the first tonnes of a block and splits it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

SCHEMA_VERSION = "1"
GENESIS = "0" * 64
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('issue', 'transfer', 'retire')),
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE TRIGGER IF NOT EXISTS entries_append_only_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_append_only_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
"""


class LedgerError(ValueError):
    """A refused operation or an unreadable ledger: the message says what and why."""


@dataclass(frozen=True)
class Block:
    prefix: str
    site: str
    vintage: int
    first: int
    last: int
    holder: str
    retired: bool = False
    issued_seq: int = 0

    @property
    def serial(self) -> str:
        return f"{self.prefix}-{self.site.upper()}-{self.vintage}-{self.first:06d}-{self.last:06d}"

    @property
    def t_co2e(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class Entry:
    seq: int
    recorded_at: str
    kind: str
    body: dict
    prev_hash: str
    hash: str
    text: str = ""  # the body as stored (what the hash covers)


def entry_hash(prev_hash: str, seq: int, recorded_at: str, kind: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{recorded_at}\n{kind}\n{body}".encode()).hexdigest()


def canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass
class State:
    blocks: dict[str, Block]  # current blocks by serial (active and retired)
    issuances: list[dict]  # the issue entries' bodies, with their seq

    def active(self, serial: str) -> Block:
        b = self.blocks.get(serial)
        if b is None:
            raise LedgerError(f"serial {serial}: no such block (ledger list shows the current blocks)")
        if b.retired:
            raise LedgerError(f"serial {serial}: retired, it cannot be transferred or retired again")
        return b


def replay(entries: list[Entry]) -> State:
    """The holdings after the entries, checking each against the state before it."""
    state = State({}, [])
    for e in entries:
        b = e.body
        if e.kind == "issue":
            blk = Block(
                b["prefix"],
                b["site"],
                int(b["vintage"]),
                int(b["first"]),
                int(b["last"]),
                b["holder"],
                issued_seq=e.seq,
            )
            state.blocks[blk.serial] = blk
            state.issuances.append({**b, "seq": e.seq, "serial": blk.serial})
            continue
        src = state.active(b["serial"])
        n = int(b["t_co2e"])
        if not 1 <= n <= src.t_co2e:
            raise LedgerError(f"entry {e.seq}: {n} t from block {src.serial} of {src.t_co2e} t")
        del state.blocks[src.serial]
        moved = replace(src, last=src.first + n - 1)
        moved = replace(moved, holder=b["buyer"]) if e.kind == "transfer" else replace(moved, retired=True)
        state.blocks[moved.serial] = moved
        if n < src.t_co2e:
            rest = replace(src, first=src.first + n)
            state.blocks[rest.serial] = rest
    return state


class Ledger:
    def __init__(self, path: Path, create: bool = False):
        """Open a ledger; ``create`` makes a new file if there is none (read-only commands never do)."""
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise LedgerError(f"ledger {self.path}: no such file (ledger issue creates it)")
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.executescript(SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"ledger {self.path}: not a BlueRanch ledger: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def entries(self) -> list[Entry]:
        rows = self.db.execute("SELECT seq, recorded_at, kind, body, prev_hash, hash FROM entries ORDER BY seq")
        out = []
        for seq, at, kind, body, prev, h in rows:
            try:
                doc = json.loads(body)
            except ValueError:
                doc = {}
            out.append(Entry(seq, at, kind, doc if isinstance(doc, dict) else {}, prev, h, body))
        return out

    def state(self) -> State:
        return replay(self.entries())

    def _append(self, kind: str, body: dict, check) -> Entry:
        """Append one entry in an immediate transaction: ``check(state)`` runs on the state it extends."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            entries = self.entries()
            check(replay(entries))
            seq = entries[-1].seq + 1 if entries else 1
            prev = entries[-1].hash if entries else GENESIS
            at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            text = canonical(body)
            h = entry_hash(prev, seq, at, kind, text)
            self.db.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)", (seq, at, kind, text, prev, h))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return Entry(seq, at, kind, body, prev, h, text)

    # ------------------------------------------------------------------ operations
    def issue(self, package_file: str, package_sha256: str, figures: dict, config: dict, t_co2e: int | None) -> Block:
        """Issue a block for the package's site and vintage (the caller has verified the package)."""
        from blueranch.models.carbon.periods import zone
        from blueranch.models.carbon.report import not_issuable_text

        cr, period, site = figures["credits"], figures["period"], figures["site"]
        if cr["not_issuable"]:
            raise LedgerError(f"package {package_file}: nothing issuable: {'; '.join(not_issuable_text(figures))}")
        issuable = int(cr["issuable_t_co2e"])
        n = issuable if t_co2e is None else int(t_co2e)
        if not 1 <= n <= issuable:
            raise LedgerError(
                f"--t-co2e: {n} t asked, the package's net creditable tonnes allow 1 to {issuable} t "
                f"(creditable {cr['creditable_t_co2e']:.3f} t CO2e after deductions)"
            )
        vintage = int(cr["vintage"])
        start_ms, end_ms = int(period["start_ms"]), int(period["end_ms"])
        year_end = datetime(vintage + 1, 1, 1, tzinfo=zone(period.get("timezone", "UTC")))  # the report's zone
        if end_ms > int(year_end.timestamp() * 1000):
            raise LedgerError(f"package {package_file}: period {period['from']} to {period['to']} spans vintages")
        body = {
            "prefix": config["credits"]["serial_prefix"],
            "site": site,
            "vintage": vintage,
            "first": 1,
            "last": n,
            "holder": (figures["project"].get("proponent") or site),
            "project_id": figures["project"].get("project_id"),
            "period": {"start_ms": start_ms, "end_ms": end_ms, "from": period["from"], "to": period["to"]},
            "creditable_t_co2e": cr["creditable_t_co2e"],
            "issuable_t_co2e": issuable,
            "package": {"file": package_file, "sha256": package_sha256},
        }

        def check(state: State) -> None:
            for i in state.issuances:
                if i["site"] != site:
                    continue
                if int(i["vintage"]) == vintage:
                    raise LedgerError(
                        f"site {site} vintage {vintage}: already issued ({i['serial']}, entry {i['seq']})"
                    )
                if i["period"]["start_ms"] < end_ms and start_ms < i["period"]["end_ms"]:
                    raise LedgerError(
                        f"site {site}: period {period['from']} to {period['to']} overlaps the issued period "
                        f"{i['period']['from']} to {i['period']['to']} ({i['serial']})"
                    )
            if any(i["package"]["sha256"] == package_sha256 for i in state.issuances):
                raise LedgerError(f"package {package_sha256}: already issued")

        e = self._append("issue", body, check)
        return Block(body["prefix"], site, vintage, 1, n, body["holder"], issued_seq=e.seq)

    def _move(self, kind: str, serial: str, t_co2e: int | None, extra: dict) -> Block:
        state = self.state()
        src = state.active(serial)
        n = src.t_co2e if t_co2e is None else int(t_co2e)
        if not 1 <= n <= src.t_co2e:
            raise LedgerError(f"--t-co2e: {n} t asked, block {serial} holds 1 to {src.t_co2e} t")
        body = {"serial": serial, "t_co2e": n, "from": src.holder, **extra}
        self._append(kind, body, lambda s: s.active(serial))
        moved = replace(src, last=src.first + n - 1)
        return replace(moved, holder=extra["buyer"]) if kind == "transfer" else replace(moved, retired=True)

    def transfer(
        self, serial: str, t_co2e: int | None, buyer: str, lot: str, price_per_t: float, currency: str, on: date
    ) -> Block:
        """Sell the first ``t_co2e`` of a block (an auction lot, at a price per t CO2e, on a date)."""
        extra = {
            "buyer": buyer,
            "lot": lot,
            "price_per_t_co2e": price_per_t,
            "currency": currency,
            "date": on.isoformat(),
        }
        return self._move("transfer", serial, t_co2e, extra)

    def retire(self, serial: str, t_co2e: int | None, beneficiary: str, reason: str, on: date) -> Block:
        """Retire the first ``t_co2e`` of a block for good (claimed by ``beneficiary``)."""
        return self._move(
            "retire", serial, t_co2e, {"beneficiary": beneficiary, "reason": reason, "date": on.isoformat()}
        )


def verify_chain(entries: list[Entry]) -> list[str]:
    """Every break of the chain: a gap in ``seq``, a ``prev_hash`` that is not the hash before, a hash that
    is not the entry's (an edited entry), a body that is not canonical JSON, a replay that fails."""
    problems = []
    prev = GENESIS
    for i, e in enumerate(entries, start=1):
        if e.seq != i:
            problems.append(f"entry {e.seq}: expected seq {i} (an entry is missing)")
        if e.prev_hash != prev:
            problems.append(f"entry {e.seq}: prev_hash does not match the hash of entry {e.seq - 1}")
        if entry_hash(e.prev_hash, e.seq, e.recorded_at, e.kind, e.text) != e.hash:
            problems.append(f"entry {e.seq} ({e.kind}): hash does not match its contents (the entry was edited)")
        prev = e.hash
    try:
        replay(entries)
    except (LedgerError, KeyError, TypeError, ValueError) as exc:
        problems.append(f"replay: {exc}")
    return problems
