"""The SQLite store-and-forward buffer: seq persistence, bounds, loud eviction, backfill marking."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from blueranch.contracts.mqtt import Position, Sample, Telemetry
from blueranch.edge.buffer import Buffer
from blueranch.edge.uplink import as_backfill, backoff_s


def body(epoch, seq, n=3):
    return json.dumps(
        {
            "schema": "blueranch.telemetry/v1",
            "device": "d",
            "epoch": epoch,
            "seq": seq,
            "backfill": False,
            "samples": [{"x": i} for i in range(n)],
        },
        separators=(",", ":"),
    ).encode()


def test_seq_is_assigned_persisted_and_never_reused(tmp_path):
    b = Buffer(tmp_path / "b.sqlite")
    assert [b.append(body, 3) for _ in range(3)] == [1, 2, 3]
    assert b.remove([1, 2, 3]) == 3 and b.messages == 0 and b.readings == 0
    b.close()
    b = Buffer(tmp_path / "b.sqlite")
    assert b.append(body, 3) == 4
    assert [m.seq for m in b.fetch(0)] == [4]


def test_size_bound_evicts_oldest_first_counts_and_logs_loudly(tmp_path, caplog):
    b = Buffer(tmp_path / "b.sqlite", max_bytes=16 * 1024, synchronous="NORMAL")
    with caplog.at_level("ERROR"):
        for _ in range(500):
            b.append(body, 3)
    assert b.bytes <= 16 * 1024
    kept = [m.seq for m in b.fetch(0, limit=10_000)]
    assert kept == list(range(kept[0], 501))  # the newest survive, in order
    assert b.dropped_messages == kept[0] - 1 and b.dropped_readings == 3 * b.dropped_messages
    assert "BUFFER EVICTED" in caplog.text and "by size limit" in caplog.text
    before = (b.bytes, b.readings, b.dropped_readings)
    b.close()
    b = Buffer(tmp_path / "b.sqlite", max_bytes=16 * 1024)
    assert (b.bytes, b.readings, b.dropped_readings) == before


def test_age_bound(tmp_path, caplog):
    b = Buffer(tmp_path / "b.sqlite", max_age_s=100)
    b.append(body, 2, now_s=1000)
    b.append(body, 2, now_s=1150)
    with caplog.at_level("ERROR"):
        assert b.expire(now_s=1200) == 1
    assert [m.seq for m in b.fetch(0)] == [2] and b.dropped_readings == 2
    assert "by age limit" in caplog.text


def test_fetch_ranges_and_skips_in_flight(tmp_path):
    b = Buffer(tmp_path / "b.sqlite")
    for _ in range(10):
        b.append(body, 1)
    assert [m.seq for m in b.fetch(2, 8, limit=3, skip={4})] == [3, 5, 6]


def test_backfill_marking_and_backoff():
    sample = Sample(time="2026-11-21T00:00:00Z", sensor="s", quantity="ph", value=8.0, unit="pH", qc=1)
    stored = Telemetry(device="d", seq=7, position=Position(lat_deg=28.4, lon_deg=121.9), samples=[sample]).to_json()
    replayed = as_backfill(stored)
    assert json.loads(replayed) == {**json.loads(stored), "backfill": True}  # the same message, marked as a replay
    assert Telemetry.model_validate_json(replayed).backfill is True
    with pytest.raises(ValueError):
        as_backfill(b'{"seq":1}')
    delays = [backoff_s(a, 1, 60) for a in range(12)]
    assert all(0.5 <= d <= 60 for d in delays) and delays[-1] >= 30
    assert len({round(backoff_s(5, 1, 60), 6) for _ in range(20)}) > 1  # jitter


def test_a_killed_writer_loses_nothing_it_committed(tmp_path):
    """SIGKILL a process appending as fast as it can; every seq it reported committed is there."""
    script = textwrap.dedent(f"""
        import sys
        from blueranch.contracts.mqtt import Position, Sample, Telemetry
from blueranch.edge.buffer import Buffer
        b = Buffer({str(tmp_path / "b.sqlite")!r})
        while True:
            seq = b.append(lambda e, s: b'{{"backfill":false,"seq":%d}}' % s, 1)
            print(seq, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    last = 0
    for line in proc.stdout:
        last = int(line)
        if last >= 200:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    b = Buffer(tmp_path / "b.sqlite")
    seqs = [m.seq for m in b.fetch(0, limit=100_000)]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= last
    assert b.next_seq == len(seqs) + 1
