"""Carbon budget benchmark.

1. Method at scale: one year of 10-minute load-cell readings for 300 units (15.8 million readings): readings
   to biomass (QC, spikes, bins, declines) for every unit, then the year-to-date budget with 10,000 Monte
   Carlo draws, and the worker's full set of periods (every day, month and ytd) with 2,000 draws. The raw
   limit of the machine is numpy sorting the same readings once.
2. Accuracy through the whole pipeline (simulator dachen, default fault rates -> contract telemetry ->
   Mosquitto -> ``blueranch ingest run`` -> InfluxDB -> carbon worker) over the full year against the
   simulator's ground truth (73 days with ``--quick``). Skipped when the simulator is not installed.
"""

from __future__ import annotations

import time

import numpy as np

from blueranch.models.carbon.biomass import build_series
from blueranch.models.carbon.budget import Inputs, compute_budget
from blueranch.models.carbon.config import AssetConfig, CarbonConfig, DetectionConfig
from blueranch.models.carbon.periods import Period, periods_between
from blueranch.testing.carbon_synthetic import START_MS, make_fleet

UNITS = 300
YEAR_START_MS = START_MS - 59 * 86_400_000  # 2026-01-01


def _method(ctx) -> dict:
    days = ctx.size(365, 60, 3)
    rng = np.random.default_rng(2026)
    t, load, qc, cals = make_fleet(rng, UNITS, YEAR_START_MS, days)
    readings = load.size
    t0 = time.perf_counter()
    np.sort(load, axis=None)
    sort_s = time.perf_counter() - t0
    det = DetectionConfig()
    t0 = time.perf_counter()
    series = {f"u{i:03d}": build_series(f"u{i:03d}", t, load[i], qc[i], cals[i], det) for i in range(UNITS)}
    build_s = time.perf_counter() - t0
    assets = [
        AssetConfig(
            asset=f"u{i:03d}",
            farm=f"farm-{i % 10}",
            kind="bivalve" if i % 3 else "macroalgae",
            group="mussel" if i % 3 else "kelp",
            calibration=cals[i],
        )
        for i in range(UNITS)
    ]
    cfg = CarbonConfig(site="bench", assets=assets, price_per_t_co2e=45.2)
    latest = int(t[-1])
    inputs = Inputs(series)
    ytd = Period("ytd", YEAR_START_MS, YEAR_START_MS + 365 * 86_400_000)
    t0 = time.perf_counter()
    b = compute_budget(cfg, inputs, [ytd], latest, draws=10_000)
    mc_s = time.perf_counter() - t0
    periods = periods_between(YEAR_START_MS, latest)
    t0 = time.perf_counter()
    compute_budget(cfg, inputs, periods, latest, draws=2000)
    all_s = time.perf_counter() - t0
    site = b.total("site", "bench", ytd)
    return {
        "carbon_units": UNITS,
        "carbon_readings": readings,
        "carbon_readings_to_biomass_s": build_s,
        "carbon_readings_to_biomass_per_s": readings / build_s,
        "carbon_ytd_budget_10000_draws_s": mc_s,
        "carbon_total_1yr_300_units_10000_draws_s": build_s + mc_s,
        f"carbon_all_{len(periods)}_periods_2000_draws_s": all_s,
        "carbon_raw_numpy_sort_readings_s": sort_s,
        "carbon_total_vs_numpy_sort_ratio": (build_s + mc_s) / sort_s,
        "carbon_bench_site_sinks_t_co2e": site.sinks_t_co2e,
        "carbon_bench_site_sinks_mc_halfwidth_pct": 50
        * (site.sinks_hi95_t_co2e - site.sinks_lo95_t_co2e)
        / site.sinks_t_co2e,
        "carbon_bench_site_ipcc_approach1_pct": 100 * site.ipcc_u_sinks,
    }


def _accuracy(ctx) -> dict:
    try:
        from blueranch.sim.scenario import builtin_names
    except ImportError:
        return {"carbon_accuracy_skipped": "firmware_sim not installed"}
    if "dachen" not in builtin_names():
        return {"carbon_accuracy_skipped": "no dachen scenario"}
    from blueranch.testing.carbon_accuracy import run_accuracy
    from blueranch.testing.services import InfluxDB, Mosquitto

    days = ctx.size(365, 73, 2)
    broker = Mosquitto(ctx.workdir / "carbon-mosquitto").start()
    db = InfluxDB(ctx.workdir / "carbon-influxdb").start()
    try:
        t0 = time.perf_counter()
        r = run_accuracy(broker.url, db.url, "carbon_bench", ctx.workdir, days=days, timeout_s=1800)
        total = time.perf_counter() - t0
    finally:
        db.stop()
        broker.stop()
    return {
        "carbon_accuracy_days": days,
        "carbon_accuracy_mussel_sensor_t_c": r.sensor_t_c["bivalve"],
        "carbon_accuracy_mussel_truth_t_c": r.truth_t_c["bivalve"],
        "carbon_accuracy_mussel_error_pct": r.error_pct["bivalve"],
        "carbon_accuracy_kelp_sensor_t_c": r.sensor_t_c["macroalgae"],
        "carbon_accuracy_kelp_truth_t_c": r.truth_t_c["macroalgae"],
        "carbon_accuracy_kelp_error_pct": r.error_pct["macroalgae"],
        "carbon_accuracy_samples": r.samples_published,
        "carbon_accuracy_garbled_dropped": r.garbled_dropped,
        "carbon_accuracy_sim_and_publish_s": r.sim_s,
        "carbon_accuracy_ingest_drain_s": r.ingest_wait_s,
        "carbon_accuracy_worker_first_cycle_s": r.worker_cycle_s,
        "carbon_accuracy_worker_steady_cycle_s": r.worker_steady_cycle_s,
        "carbon_accuracy_total_s": total,
    }


def run(ctx) -> dict:
    return {**_method(ctx), **_accuracy(ctx)}
