"""Synthetic load-cell series with known truth, for tests and the benchmark (seeded, numpy only).

A line grows logistically from its seed biomass, is harvested (a step to near empty), suffers storm
losses (partial steps), and its load cell adds Gaussian noise, spikes, QC-flagged faults and gaps, as
the load-cell model of docs/simulator.md ('Modbus RTU slaves') describes:
``load_kg = tare_kg + wet_kg_line / wet_per_submerged``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blueranch.contracts.influx import Point
from blueranch.contracts.lineprotocol import lines
from blueranch.models.carbon.config import Calibration

DAY_MS = 86_400_000
#: 2026-03-01T00:00Z, the start of the synthetic test scenarios.
START_MS = 1_772_323_200_000


@dataclass
class SyntheticAsset:
    times_ms: np.ndarray
    load_kg: np.ndarray
    qc: np.ndarray
    truth_times_ms: np.ndarray  # every simulated time, gaps included
    true_wet_t: np.ndarray  # true asset wet biomass at those times
    harvests: list[tuple[int, float]]  # (time_ms, wet t)
    losses: list[tuple[int, float]]
    calibration: Calibration


def make_asset(
    rng: np.random.Generator,
    start_ms: int,
    days: float,
    interval_s: float = 600,
    seed_wet_t: float = 2.0,
    max_wet_t: float = 60.0,
    growth_per_day: float = 0.03,
    harvest_days: tuple[float, ...] = (),
    harvest_spread_days: float = 0.0,
    loss_days: tuple[tuple[float, float], ...] = (),
    noise_rel: float = 0.01,
    spike_rate: float = 0.002,
    fail_rate: float = 0.002,
    gaps: tuple[tuple[float, float], ...] = (),
    lines_per_sensor: float = 100.0,
    wet_per_submerged: float = 4.0,
    tare_kg: float = 25.0,
) -> SyntheticAsset:
    """One asset: logistic growth; each harvest takes 98 % of the stock, at once or spread evenly over
    ``harvest_spread_days`` (as the simulator does); ``loss_days`` = (day, fraction) sudden losses."""
    n = int(days * 86400 / interval_s)
    t = start_ms + (np.arange(n) * interval_s * 1000).astype(np.int64)
    day = (t - start_ms) / DAY_MS
    wet = np.empty(n)
    b = seed_wet_t
    harvests: list[tuple[int, float]] = []
    losses: list[tuple[int, float]] = []
    h_idx = {int(d * 86400 / interval_s) for d in harvest_days}
    l_idx = {int(d * 86400 / interval_s): f for d, f in loss_days}
    r = growth_per_day * interval_s / 86400
    steps_left = 0
    for i in range(n):
        b += r * b * (1 - b / max_wet_t)
        if i in h_idx:
            steps_left = max(1, int(harvest_spread_days * 86400 / interval_s))
            if steps_left == 1:
                b_keep = 0.02 * b
        if steps_left:
            moved = (b - b_keep) if steps_left == 1 and harvest_spread_days == 0 else b / steps_left
            harvests.append((int(t[i]), moved))
            b -= moved
            steps_left -= 1
        if i in l_idx:
            moved = l_idx[i] * b
            losses.append((int(t[i]), moved))
            b -= moved
        wet[i] = b
    cal = Calibration(
        tare_kg=tare_kg, wet_per_submerged=wet_per_submerged, lines_per_sensor=lines_per_sensor, source="synthetic"
    )
    line_kg = wet * 1000 / lines_per_sensor
    load = tare_kg + line_kg / wet_per_submerged
    load = load + rng.normal(0, noise_rel, n) * load
    qc = np.ones(n, dtype=np.int64)
    spikes = rng.random(n) < spike_rate
    load[spikes] += rng.choice([-1, 1], spikes.sum()) * load[spikes] * rng.uniform(0.3, 1.0, spikes.sum())
    fails = rng.random(n) < fail_rate
    load[fails] = rng.uniform(-500, 5000, fails.sum())
    qc[fails] = 4
    keep = np.ones(n, dtype=bool)
    for g0, g1 in gaps:
        keep &= ~((day >= g0) & (day < g1))
    del day
    return SyntheticAsset(t[keep], load[keep], qc[keep], t, wet, harvests, losses, cal)


def load_points(site: str, asset_cfg, times_ms, load_kg, qc) -> list[Point]:
    """Raw ``biomass_load`` points (contract tags and fields) of one asset's readings."""
    tags = {
        "site": site,
        "device": asset_cfg.device or "lc-dev",
        "sensor": asset_cfg.sensor or "lc",
        "farm": asset_cfg.farm,
        "asset": asset_cfg.asset,
    }
    return [
        Point("biomass_load", tags, {"load_kg": float(v), "load_kg_qc": int(q)}, int(t))
        for t, v, q in zip(times_ms, load_kg, qc, strict=False)
        if np.isfinite(v)
    ]


def write_points(client, points: list[Point], rp: str = "raw") -> None:
    for i in range(0, len(points), 20000):
        client.write(lines(points[i : i + 20000]), retention_policy=rp)


def meter_points(site: str, n_hours: int = 40 * 24) -> list[Point]:
    """An hourly diesel flow-meter register from START_MS: 12.5 L per hour."""
    t = START_MS + np.arange(n_hours, dtype=np.int64) * 3_600_000
    return [
        Point(
            "energy",
            {"site": site, "device": "meter-1", "sensor": "fuel"},
            {"diesel_l_total": 1000.0 + 12.5 * i, "diesel_l_total_qc": 1},
            int(x),
        )
        for i, x in enumerate(t)
    ]


def write_scenario(client, cfg, synth: dict[str, SyntheticAsset], drop=None) -> None:
    """Write every configured asset's synthetic readings (``drop = (asset, keep_mask_fn)`` withholds some)
    and the diesel meter of :func:`meter_points` to InfluxDB."""
    pts: list[Point] = []
    for a in cfg.assets:
        s = synth[a.asset]
        keep = np.ones(s.times_ms.size, bool) if drop is None or drop[0] != a.asset else drop[1](s.times_ms)
        pts += load_points(cfg.site, a, s.times_ms[keep], s.load_kg[keep], s.qc[keep])
    write_points(client, pts + meter_points(cfg.site))


def make_fleet(
    rng: np.random.Generator,
    units: int,
    start_ms: int,
    days: float,
    interval_s: float = 600,
    noise_rel: float = 0.005,
    fail_rate: float = 0.001,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Calibration]]:
    """Vectorised fleet for the benchmark: ``units`` lines with logistic growth (closed form) and one
    sudden harvest each on a random day; returns (times_ms (n,), load_kg (units, n), qc (units, n), cals)."""
    n = int(days * 86400 / interval_s)
    t = start_ms + (np.arange(n) * interval_s * 1000).astype(np.int64)
    day = np.arange(n) * interval_s / 86400.0
    k = rng.uniform(0.02, 0.04, (units, 1))
    cap = rng.uniform(40, 80, (units, 1))
    b0 = rng.uniform(1, 5, (units, 1))
    wet = cap / (1 + (cap / b0 - 1) * np.exp(-k * day))
    h_day = rng.uniform(0.3 * days, 0.9 * days, (units, 1))
    wet = np.where(day >= h_day, wet * 0.02, wet)
    lines = 100.0
    load = 25.0 + wet * 1000 / lines / 4.0
    load = load * (1 + rng.normal(0, noise_rel, load.shape))
    qc = np.where(rng.random(load.shape) < fail_rate, 4, 1).astype(np.int64)
    cals = [Calibration(tare_kg=25.0, wet_per_submerged=4.0, lines_per_sensor=lines, source="synthetic")] * units
    return t, load, qc, cals
