"""The running agent's status for ``blueranch edge status``: a small JSON file, replaced atomically.

The agent rewrites it every second; ``edge status`` reads it and calls the agent stopped when the
process is gone or the file is stale.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

from blueranch.loader import load_json

#: The file is considered stale (agent hung or gone) after this many seconds without an update.
STALE_S = 10.0


def write(path: Path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


def read(path: Path) -> dict:
    """The status plus ``running`` (bool) and ``age_s``; raise ``FileNotFoundError`` if there is none."""
    if not Path(path).is_file():
        raise FileNotFoundError(errno.ENOENT, "no status file", str(path))
    data = load_json(path)  # a corrupt or foreign file is a LoadError naming it
    age = time.time() - float(data.get("updated_s", 0))
    alive = True
    try:
        os.kill(int(data.get("pid", -1)), 0)
    except ProcessLookupError:
        alive = False
    except PermissionError:
        alive = True
    data["age_s"] = round(age, 1)
    data["running"] = alive and age < STALE_S
    return data


def _qc_lines(qc: dict | None) -> list[str]:
    """Which sensors' final QC flags come one reading late (the spike test judges a reading by its successor
    and the agent then sends a revision of it: edge/qc.py), and how many revisions went out."""
    if not qc or not qc.get("final_flag_late"):
        return []
    late = ", ".join(
        f"{sid} ({', '.join(v['quantities'])}: {v['final_after_s'] if v['final_after_s'] is not None else '?'} s)"
        for sid, v in sorted(qc["final_flag_late"].items())
    )
    return [f"qc        final spike flags one reading late: {late}; {qc.get('revisions_total', 0)} revisions sent"]


def render(data: dict) -> str:
    """Human-readable summary for a technician."""
    lines = [
        f"agent     {'running' if data['running'] else 'NOT RUNNING'} (pid {data.get('pid')}, "
        f"status {data['age_s']} s old)",
        f"device    {data.get('site')}/{data.get('device')}  sw {data.get('sw_version')}  "
        f"config {data.get('config_version')}",
        f"uplink    {data.get('uplink')}",
        f"delivery  {data.get('delivery')}: in flight {data.get('inflight')}, waiting for a commit or a resend "
        f"{data.get('uncommitted')}; {data.get('committed')} committed, {data.get('resent')} resent, "
        f"{data.get('refused_total')} refused by the broker, {data.get('shore_rejected')} dead-lettered by the shore",
        f"buffer    {data.get('buffer_depth')} readings in {data.get('buffer_messages')} messages "
        f"({data.get('buffer_bytes')} bytes); epoch {data.get('epoch')}, next seq {data.get('next_seq')}",
        f"disk      {data.get('disk')}"
        + (f" ({data.get('memory_messages')} messages held in memory)" if data.get("memory_messages") else ""),
        f"dropped   {data.get('buffer_dropped_total')} readings evicted, {data.get('rejected_readings')} rejected, "
        f"{data.get('buffer_lost_messages')} messages lost to a damaged or lost buffer",
        f"sent      {data.get('sent_live')} live, {data.get('sent_backfill')} backfill, {data.get('acked')} delivered",
        *_qc_lines(data.get("qc")),
        "sensors:",
    ]
    for sid, s in sorted(data.get("sensors", {}).items()):
        last = s.get("last_reading") or "never"
        err = f"  last error: {s['last_error']}" if s.get("last_error") else ""
        bad = f" ({s['rejected']} values rejected)" if s.get("rejected") else ""
        bad += f" bad frames {s['bad_frames']}" if s.get("bad_frames") else ""
        bad += "".join(f" {k} {v}" for k, v in sorted((s.get("counters") or {}).items()) if v)
        lines.append(f"  {sid:<16} last reading {last}  polls {s.get('polls')} errors {s.get('errors')}{bad}{err}")
        if s.get("last_values"):
            lines.append(f"  {'':<16} {_values(s['last_values'])}")
    return "\n".join(lines)


def _values(last_values: dict) -> str:
    """``load_kg 812.5 [1], battery_v 12.6 [3]``: each quantity's last value and its QC flag."""
    return ", ".join(
        f"{q} {v['value'] if isinstance(v['value'], str) else format(v['value'], '.6g')} "
        f"[{'rejected' if v.get('rejected') else v.get('qc')}]"
        for q, v in last_values.items()
    )
