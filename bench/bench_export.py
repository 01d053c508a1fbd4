"""Open-data export figures: rows per second and peak memory of ``blueranch export`` over a year of 10
buoys' minute data.

The data: per buoy a sonde's minute readings of temperature, salinity, oxygen and pH with their QARTOD
flags (525,600 points a year), and an hourly GPS fix, written to a real InfluxDB as the ingest writes them
(the bench's line builder is checked against the contract's serialiser on its first point). Then the real
command runs in a child process: ``blueranch export netcdf`` (one file per buoy) and ``blueranch export
csv``, each timed, with the child's peak resident memory. Memory must not grow with the period:
the same NetCDF export of the first day alone gives the baseline, and the figure is the ratio. Peak memory is
the child's own high-water mark (VmHWM), written by the child at exit.

The raw limit, measured in the same run: reading the same one-day windows through the reader, with nothing
converted or written (what any exporter pays to InfluxDB's JSON).

``run(ctx, size=...)``: ``full`` (10 buoys, 365 days; the default), ``quick`` (10 buoys, 30 days; the
default with ``--quick``) or ``tiny`` (2 buoys, 1 day: the smoke size); ``ctx.size`` also selects it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from blueranch.contracts.influx import Point
from blueranch.contracts.lineprotocol import lines
from blueranch.contracts.query import TagEq, pages, window
from blueranch.export.frames import DAY_MS
from blueranch.export.times import iso
from blueranch.influxdb import InfluxClient
from blueranch.reader import Reader
from blueranch.testing.services import InfluxDB

SIZES = {"full": (10, 365), "quick": (10, 30), "tiny": (2, 1)}
SITE = "dachen"
T0_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
MIN_MS = 60_000
QUANTITIES = ("temp_c", "salinity_psu", "do_mg_l", "ph")
BATCH = 20_000


def _sonde_lines(device: str, t: np.ndarray, values: dict[str, np.ndarray], qc: np.ndarray) -> list[str]:
    key = f"water_quality,device={device},sensor=sonde,site={SITE} "
    cols = [values[q].tolist() for q in QUANTITIES]
    flags, times = qc.tolist(), t.tolist()
    return [
        key + ",".join(f"{q}={cols[j][i]!r},{q}_qc={flags[i]}i" for j, q in enumerate(QUANTITIES)) + f" {times[i]}"
        for i in range(len(times))
    ]


def _load(client: InfluxClient, buoys: int, days: int) -> int:
    """Write the buoys' readings; returns the sonde points written."""
    rng = np.random.default_rng(18)
    n = days * 24 * 60
    t_all = T0_MS + np.arange(n, dtype=np.int64) * MIN_MS
    for b in range(buoys):
        device = f"buoy-{b + 1:02d}"
        for k in range(0, n, BATCH):
            t = t_all[k : k + BATCH]
            day = (t - T0_MS) / DAY_MS
            values = {
                "temp_c": np.round(20 + 4 * np.sin(2 * np.pi * day) + rng.normal(0, 0.05, len(t)), 3),
                "salinity_psu": np.round(31 + rng.normal(0, 0.1, len(t)), 3),
                "do_mg_l": np.round(7 + 1.2 * np.cos(2 * np.pi * day) + rng.normal(0, 0.1, len(t)), 2),
                "ph": np.round(8.05 + rng.normal(0, 0.01, len(t)), 3),
            }
            qc = rng.choice([1, 1, 1, 1, 1, 1, 1, 1, 3, 4], len(t))
            body = _sonde_lines(device, t, values, qc)
            if k == 0 and b == 0:  # the fast builder writes exactly what the contract's serialiser writes
                fields = {f: v for q in QUANTITIES for f, v in ((q, values[q][0]), (q + "_qc", int(qc[0])))}
                tags = {"site": SITE, "device": device, "sensor": "sonde"}
                assert body[0] == lines([Point("water_quality", tags, fields, int(t[0]))]).decode()
            client.write("\n".join(body).encode())
        hours = t_all[::60]
        fix = {"lat_deg": 28.45 + b * 0.01, "lat_deg_qc": 1, "lon_deg": 121.89, "lon_deg_qc": 1}
        tags = {"site": SITE, "device": device, "sensor": "gps"}
        gps = [Point("position", tags, fix, int(h)) for h in hours]
        for k in range(0, len(gps), BATCH):
            client.write(lines(gps[k : k + BATCH]))
    return buoys * n


def _raw_reads(client: InfluxClient, buoys: int, start_ms: int, end_ms: int) -> tuple[int, float]:
    """Rows and seconds of reading every buoy's one-day windows, nothing else."""
    reader = Reader(client)
    fields = tuple(f for q in QUANTITIES for f in (q, q + "_qc"))
    rows = 0
    t0 = time.perf_counter()
    for b in range(buoys):
        where = (TagEq("site", SITE), TagEq("device", f"buoy-{b + 1:02d}"))
        for span in pages(start_ms, end_ms, DAY_MS):
            for s in reader.run(window("water_quality", fields, span, where=where, group_by=("sensor",))):
                rows += len(s.values)
    return rows, time.perf_counter() - t0


#: Runs ``blueranch ARGS`` and, at exit, writes its peak resident memory (VmHWM, kB) to the file named by
#: $BLUERANCH_BENCH_HWM. The kernel's ru_maxrss of a child counts the parent's memory at fork; VmHWM is the
#: child's own address space after exec.
_CHILD = """
import atexit, os, sys
def _hwm():
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    with open(os.environ["BLUERANCH_BENCH_HWM"], "w") as out:
        out.write(kb)
atexit.register(_hwm)
from blueranch.cli import main
sys.argv[0] = "blueranch"
main()
"""


def _export(kind: str, client: InfluxClient, out: Path, start_ms: int, end_ms: int) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of ``blueranch export KIND`` as a child process."""
    args = ["export", kind, "--site", SITE, "--from", iso(start_ms), "--to", iso(end_ms), "--out", str(out)]
    args += ["--influx", client.url, "--database", client.database, "--no-progress"]
    for q in QUANTITIES:
        args += ["--quantity", q]
    hwm = out.with_suffix(".hwm")
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "BLUERANCH_BENCH_HWM": str(hwm)},
        timeout=3600,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"blueranch export {kind} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return seconds, int(hwm.read_text()) / 1024


def run(ctx, size: str | None = None) -> dict:
    size = size or ctx.size("full", "quick", "tiny")
    buoys, days = SIZES[size]
    server = InfluxDB(ctx.workdir / "influx-export").start()
    try:
        client = InfluxClient(server.url, "bench_export", timeout_s=300)
        client.ensure_database()
        t0 = time.perf_counter()
        rows = _load(client, buoys, days)
        load_s = time.perf_counter() - t0
        end_ms = T0_MS + days * DAY_MS
        raw_rows, raw_s = _raw_reads(client, buoys, T0_MS, end_ms)
        assert raw_rows == rows, (raw_rows, rows)
        out = ctx.workdir / "export"
        nc_s, nc_rss = _export("netcdf", client, out / "nc", T0_MS, end_ms)
        csv_s, csv_rss = _export("csv", client, out / "csv", T0_MS, end_ms)
        _, day_rss = _export("netcdf", client, out / "day", T0_MS, T0_MS + DAY_MS)
        nc_mb = sum(p.stat().st_size for p in (out / "nc").glob("*.nc")) / 1e6
        csv_mb = sum(p.stat().st_size for p in (out / "csv").glob("*.csv")) / 1e6
    finally:
        server.stop()
    raw_rate = raw_rows / raw_s
    return {
        "export_size": f"{buoys} buoys x {days} days of minute data",
        "export_rows": rows,
        "export_load_s": load_s,
        "export_raw_window_reads_rows_per_s": raw_rate,
        "export_netcdf_rows_per_s": rows / nc_s,
        "export_netcdf_s": nc_s,
        "export_netcdf_peak_rss_mb": nc_rss,
        "export_netcdf_one_day_peak_rss_mb": day_rss,
        "export_netcdf_rss_vs_one_day_ratio": nc_rss / day_rss,
        "export_netcdf_vs_raw_reads_ratio": (rows / nc_s) / raw_rate,
        "export_netcdf_mb": nc_mb,
        "export_csv_rows_per_s": rows / csv_s,
        "export_csv_s": csv_s,
        "export_csv_peak_rss_mb": csv_rss,
        "export_csv_vs_raw_reads_ratio": (rows / csv_s) / raw_rate,
        "export_csv_mb": csv_mb,
    }
