"""Buffer epochs, a damaged or lost buffer file, and a disk that refuses writes (edge/buffer.py,
edge/buffer_repair.py). The agent-level drills with a real full and read-only disk are in
test_delivery_drills.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from blueranch.contracts.mqtt import Sample, Telemetry
from blueranch.edge import buffer_repair
from blueranch.edge.buffer import Buffer

T0 = datetime(2026, 11, 21, tzinfo=UTC)


def telemetry(epoch: str, seq: int) -> bytes:
    """A valid message of three samples, padded so that a few hundred of them fill many pages."""
    samples = [
        Sample(
            time=T0 + timedelta(seconds=seq, milliseconds=i),
            sensor="sonde-1",
            quantity="do_mg_l",
            value=7.0 + i,
            unit="mg/L",
            qc=1,
            farm="f" * 60,
        )
        for i in range(3)
    ]
    return Telemetry(device="buoy-01", epoch=epoch, seq=seq, samples=samples).to_json()


def fill(path, n: int) -> Buffer:
    b = Buffer(path, synchronous="NORMAL")
    for _ in range(n):
        b.append(telemetry, 3)
    return b


def test_an_epoch_is_made_with_the_buffer_kept_across_restarts_and_carried_in_every_message(tmp_path):
    b = fill(tmp_path / "b.sqlite", 3)
    epoch = b.epoch
    assert re.fullmatch(r"[0-9a-f]{16}", epoch)
    assert {Telemetry.model_validate_json(m.body).epoch for m in b.fetch(0)} == {epoch}
    b.close()
    b = Buffer(tmp_path / "b.sqlite")
    assert b.epoch == epoch and b.next_seq == 4 and b.epochs == [epoch]
    assert json.loads((tmp_path / "b.sqlite.witness.json").read_text())["next_seq"] == 4


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_buffer_starts_a_new_epoch_never_reusing_a_pair_and_counts_what_it_lost(tmp_path, caplog, how):
    path = tmp_path / "b.sqlite"
    b = fill(path, 5)
    b.remove([1, 2])
    old, dropped_before = b.epoch, b.dropped_readings
    b.close()
    for suffix in ("", "-wal", "-shm"):
        p = tmp_path / f"b.sqlite{suffix}"
        if p.exists():
            p.unlink() if how == "deleted" else p.write_bytes(b"")
    with caplog.at_level("WARNING"):
        b = Buffer(path)
    assert b.epoch != old and b.next_seq == 6  # the seq goes on: (epoch, seq) pairs are never reused
    assert b.lost_messages == 3 and b.dropped_readings == dropped_before + 9 and b.dropped_messages == 3
    assert f"the buffer file was {'deleted' if how == 'deleted' else 'emptied (0 bytes)'}" in caplog.text
    assert f"epoch {old} held 3 messages (9 readings)" in caplog.text


def test_a_lost_write_ahead_log_is_noticed_from_the_witness(tmp_path, caplog):
    path = tmp_path / "b.sqlite"
    fill(path, 20).close()  # checkpointed into the file
    b = Buffer(path)
    for _ in range(20):
        b.append(telemetry, 3)
    b.write_witness()  # the agent writes it every second
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    # As after a power loss that took the WAL: the main file holds only what was checkpointed (seq 1..20).
    shutil.copy(path, crashed / "b.sqlite")
    shutil.copy(tmp_path / "b.sqlite.witness.json", crashed)
    old = b.epoch
    b.close()
    with caplog.at_level("WARNING"):
        again = Buffer(crashed / "b.sqlite")
    assert again.epoch != old and again.next_seq == 41
    assert "lacks its newest commits (seq 21..40" in caplog.text and "up to 20 messages lost" in caplog.text
    assert again.lost_messages == 20 and again.messages == 20


def _damage(path, pages: range) -> None:
    with open(path, "r+b") as f:
        for page in pages:
            f.seek(page * 4096)
            f.write(os.urandom(4096))


def test_salvage_reads_what_is_readable_around_garbage_in_the_middle(tmp_path):
    path = tmp_path / "b.sqlite"
    fill(path, 400).close()  # closing checkpoints the WAL into the file
    pages = path.stat().st_size // 4096
    _damage(path, range(pages // 2, pages // 2 + 3))
    rows, meta, method, unreadable = buffer_repair.salvage(path)
    valid = [s for s, (_, _, body) in rows.items() if _valid(body)]
    print(f"{method}: {len(valid)} of 400 messages salvaged, {unreadable} unreadable spots")
    assert 300 < len(valid) < 400
    assert max(valid) == 400 and min(valid) == 1  # rows after the damage are found too
    assert meta.get("next_seq") == 401


def _valid(body: bytes) -> bool:
    try:
        Telemetry.model_validate_json(body)
        return True
    except ValueError:
        return False


def test_a_damaged_file_is_moved_aside_salvaged_into_a_new_epoch_and_the_loss_counted(tmp_path, caplog):
    path = tmp_path / "b.sqlite"
    b = fill(path, 400)
    old = b.epoch
    b.close()  # the witness says 400 messages
    pages = path.stat().st_size // 4096
    _damage(path, range(pages // 2, pages // 2 + 3))
    with caplog.at_level("WARNING"):
        b = Buffer(path)
    moved = list(tmp_path.glob("b.sqlite.corrupt-*Z"))
    assert len(moved) == 1 and re.search(r"corrupt-\d{8}T\d{6}Z$", moved[0].name)
    assert "BUFFER DAMAGED" in caplog.text and str(moved[0]) in caplog.text
    assert b.epoch != old and b.next_seq > 400
    kept = b.fetch(0, limit=1000)
    assert 300 < len(kept) < 400 and b.lost_messages == 400 - len(kept)
    assert b.dropped_messages == b.lost_messages
    msgs = [Telemetry.model_validate_json(m.body) for m in kept]
    assert {m.epoch for m in msgs} == {b.epoch} and [m.seq for m in msgs] == [m.seq for m in kept]
    assert min(m.seq for m in kept) == 401  # new seqs in the new epoch, after every seq the old file used
    b.close()
    assert Buffer(path).epoch == b.epoch  # and the salvaged buffer opens cleanly next time


def test_a_file_truncated_mid_page_is_salvaged(tmp_path, caplog):
    path = tmp_path / "b.sqlite"
    fill(path, 200).close()
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2 + 100)
    with caplog.at_level("ERROR"):
        b = Buffer(path)
    assert "BUFFER DAMAGED" in caplog.text
    assert 50 < b.messages < 200


def test_a_disk_that_refuses_writes_holds_messages_in_memory_under_a_new_epoch(tmp_path, caplog, monkeypatch):
    b = fill(tmp_path / "b.sqlite", 3)
    disk_epoch = b.epoch

    def refuse(*args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(b, "_insert", refuse)
    with caplog.at_level("ERROR"):
        seqs = [b.append(telemetry, 3) for _ in range(4)]
    assert seqs == [4, 5, 6, 7] and b.disk_error and b.memory_messages == 4
    assert caplog.text.count("BUFFER DISK ERROR") == 1 and "database or disk is full" in caplog.text
    assert str(tmp_path / "b.sqlite") in caplog.text
    memory_epoch = b.epoch
    assert memory_epoch != disk_epoch
    out = b.fetch(0, limit=100)
    assert [m.seq for m in out] == [1, 2, 3, 4, 5, 6, 7]  # what memory holds goes out too
    assert Telemetry.model_validate_json(out[-1].body).epoch == memory_epoch
    assert b.remove_ranges(memory_epoch, [(5, 5)]) == 1 and b.remove_ranges(disk_epoch, [(1, 1)]) == 1
    # a second commit overlapping one the disk still owes counts only what is new (a resent copy committed)
    assert b.remove_ranges(disk_epoch, [(1, 2)]) == 1 and b.messages == 4 and b.readings == 12
    assert [m.seq for m in b.fetch(0, limit=100)] == [3, 4, 6, 7]
    monkeypatch.setattr(b, "_set_epochs", refuse)  # the disk refuses the retry halfway through
    assert not b.retry_disk() and not b.retry_disk() and b.messages == 4 and b.readings == 12
    monkeypatch.undo()
    assert b.retry_disk() and b.disk_error is None and b.memory_messages == 0
    assert [m.seq for m in b.fetch(0, limit=100)] == [3, 4, 6, 7]
    assert b.messages == 4 and b.readings == 12
    b.close()
    again = Buffer(tmp_path / "b.sqlite")
    assert again.epoch == memory_epoch and again.epochs == [disk_epoch, memory_epoch] and again.next_seq == 8
    assert again.messages == 4


def test_memory_is_bounded_while_the_disk_is_bad_and_evictions_counted(tmp_path, monkeypatch, caplog):
    b = Buffer(tmp_path / "b.sqlite", memory_max_bytes=64 * 1024)
    monkeypatch.setattr(b, "_insert", lambda *a: (_ for _ in ()).throw(sqlite3.OperationalError("disk I/O error")))
    with caplog.at_level("ERROR"):
        for _ in range(300):
            b.append(telemetry, 3)
    assert b.bytes <= 64 * 1024 and b.dropped_messages > 0 and b.dropped_readings == 3 * b.dropped_messages
    assert "from memory (memory_max_bytes=65536)" in caplog.text
    assert b.messages + b.dropped_messages == 300


def test_an_agent_that_stopped_with_messages_in_memory_does_not_reuse_their_seqs(tmp_path, monkeypatch, caplog):
    path = tmp_path / "b.sqlite"
    b = fill(path, 2)
    monkeypatch.setattr(b, "_insert", lambda *a: (_ for _ in ()).throw(sqlite3.OperationalError("disk I/O error")))
    b.append(telemetry, 3)
    b.append(telemetry, 3)
    b.write_witness()  # the witness made it to disk; the messages did not
    memory_epoch = b.epoch
    del b  # the process dies (no close)
    with caplog.at_level("WARNING"):
        again = Buffer(path)
    assert again.epoch not in (memory_epoch,) and again.next_seq == 5
    assert "held messages in memory" in caplog.text
