"""Synthetic series for tests and benchmarks, written into InfluxDB as contract points (as the ingest would)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from blueranch.contracts.influx import MEASUREMENTS, Point
from blueranch.contracts.lineprotocol import lines
from blueranch.contracts.quantities import quantity

#: A fixed start for synthetic data: 2026-07-01T00:00Z (summer, night minimum near dawn).
T0_MS = int(datetime(2026, 7, 1, tzinfo=UTC).timestamp() * 1000)
MIN_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def write_series(
    client,
    site: str,
    device: str,
    t_ms,
    values: dict[str, np.ndarray],
    sensor: str = "s1",
    asset: str | None = None,
    qc: int = 1,
) -> None:
    """Write readings of quantities that share a measurement (one point per time), as the ingest would."""
    names = list(values)
    m = quantity(names[0]).measurement
    tags = {"site": site, "device": device, "sensor": sensor}
    if asset:
        tags["asset"] = asset
    points = []
    for i, t in enumerate(np.asarray(t_ms, dtype=np.int64)):
        fields = {}
        for n in names:
            fields[n] = float(values[n][i])
            fields[n + "_qc"] = qc
        points.append(Point(m, tags, fields, int(t)))
    for k in range(0, len(points), 5000):
        client.write(lines(points[k : k + 5000]), retention_policy=MEASUREMENTS[m].retention_policy)


def diel_do(t_ms: np.ndarray, mean: float = 7.0, amp: float = 1.2, trend_per_day: float = 0.0) -> np.ndarray:
    """DO with its minimum at 05:00 UTC and maximum at 17:00, plus a linear trend."""
    h = (t_ms % DAY_MS) / HOUR_MS
    return mean - amp * np.cos(2 * np.pi * (h - 5) / 24) + trend_per_day * (t_ms - t_ms[0]) / DAY_MS
