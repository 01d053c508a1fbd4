"""Carbon budget benchmark.

1. Method at scale: one year of 10-minute load-cell readings for 300 units (15.8 million readings): readings
   to biomass (QC, spikes, bins, declines) for every unit, then the year-to-date budget with 10,000 Monte
   Carlo draws, and the worker's full set of periods (every day, month and ytd) with 2,000 draws. The raw
   limit of the machine is numpy sorting the same readings once.
2. The dachen year's accounts: the simulator's year (load cells, energy meters, reef monitor; 73 days with
   ``--quick``) through the worker's code and the deploy config, as the MRV report shows it: creditable
   sinks, energy sources, the fed pens' feed line apart, net emissions and credits after deductions; the
   report package written and recomputed by ``carbon verify``; and the half-widths of 1,000 t of mussels
   split into 1, 10 and 100 farms (``carbon compute``, Monte Carlo and Approach 1).
3. Accuracy through the whole pipeline (simulator dachen, default fault rates -> contract telemetry ->
   Mosquitto -> ``blueranch ingest run`` -> InfluxDB -> carbon worker) over the full year against the
   simulator's ground truth (73 days with ``--quick``). Skipped when the simulator is not installed.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from blueranch.models.carbon.biomass import build_series
from blueranch.models.carbon.budget import Inputs, compute_budget
from blueranch.models.carbon.config import AssetConfig, CarbonConfig, DetectionConfig
from blueranch.models.carbon.periods import Period, periods_between
from blueranch.testing.carbon_synthetic import START_MS, make_fleet

UNITS = 300
REPO = Path(__file__).resolve().parents[1]
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


def _split(draws: int) -> dict:
    from blueranch.models.carbon.compute import ComputeInput, compute

    out = {}
    for n in (1, 10, 100):
        doc = {
            "site": "bench",
            "period": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
            "sinks": [
                {"id": f"f{i}", "kind": "bivalve", "group": "mussel", "harvested_wet_t": 1000 / n} for i in range(n)
            ],
        }
        r = compute(ComputeInput.model_validate(doc), draws=draws)
        mc = r["uncertainty"]["monte_carlo"]["sinks_t_co2e"]
        out[f"carbon_split_{n}_farms_mc_halfwidth_pct"] = 50 * (mc["hi95"] - mc["lo95"]) / r["sinks_t_co2e"]
        out[f"carbon_split_{n}_farms_approach1_pct"] = r["uncertainty"]["ipcc_approach1"]["sinks_u_pct"]
    return out


def dachen_year_inputs(days: float):
    """The simulator's dachen readings (load cells, meters, reef monitor) as the worker's inputs."""
    from blueranch.models.carbon.budget import Inputs, asset_series
    from blueranch.models.carbon.config import load_config
    from blueranch.models.carbon.sources import MeterSeries
    from blueranch.sim.engine import Reading, Simulation
    from blueranch.sim.scenario import load_scenario

    cfg = load_config(REPO / "deploy/blueranch/carbon.yaml")
    sc = load_scenario("dachen")
    kinds = {"load_cell", "energy_meter", "fuel_meter", "reef_monitor"}
    sc = sc.model_copy(update={"days": days, "devices": [d for d in sc.devices if d.kind in kinds]})
    series: dict[tuple[str, str], list] = {}
    for r in Simulation(sc, seed=1).run():
        if not isinstance(r, Reading) or r.garbled:
            continue
        for q, v in r.values.items():
            key = (r.asset if r.kind in ("load_cell", "reef_monitor") else f"{r.edge_device}.{r.device}", q)
            series.setdefault(key, []).append((int((r.node_time_s or r.time_s) * 1000), v))

    def arrays(key):
        a = np.array(series.get(key, []), dtype=float).reshape(-1, 2)
        return a[:, 0].astype(np.int64), a[:, 1], np.full(len(a), 2, dtype=np.int64)

    assets = {a.asset: asset_series(cfg, a, *arrays((a.asset, "load_kg"))) for a in cfg.assets}
    meters = {
        f"{m.device}.{m.sensor}": MeterSeries(*arrays((f"{m.device}.{m.sensor}", m.quantity))) for m in cfg.meters
    }
    dens = {r.zone: MeterSeries(*arrays((r.zone, "fish_density_m3"))) for r in cfg.reefs}
    length = {r.zone: MeterSeries(*arrays((r.zone, "fish_length_cm"))) for r in cfg.reefs}
    return cfg, Inputs(assets, meters, dens, length), int(sc.start.timestamp() * 1000)


def _dachen_year(ctx) -> dict:
    try:
        import blueranch.sim.engine  # noqa: F401
    except ImportError:
        return {"carbon_dachen_year_skipped": "firmware_sim not installed"}
    from blueranch.models.carbon.report import write_report
    from blueranch.models.carbon.verify import verify

    days = 73 if ctx.quick else 365
    t0 = time.perf_counter()
    cfg, inputs, start = dachen_year_inputs(days)
    sim_s = time.perf_counter() - t0
    end = start + days * 86_400_000
    latest = max(int(s.all_times_ms[-1]) for s in inputs.assets.values())
    t0 = time.perf_counter()
    r = write_report(ctx.workdir / "dachen-report", cfg, inputs, start, end, latest, "bench", draws=2000)
    report_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    v = verify(r.package_path)
    verify_s = time.perf_counter() - t0
    s, cr = r.figures["site_total"], r.figures["credits"]
    hw = lambda lo, hi, x: 50 * (hi - lo) / abs(x) if x else 0.0  # noqa: E731
    return {
        "carbon_dachen_days": days,
        "carbon_dachen_status": s["status"],
        "carbon_dachen_completeness_biomass": s["completeness_biomass"],
        "carbon_dachen_completeness_energy": s["completeness_energy"],
        "carbon_dachen_completeness_reef": s["completeness_reef"],
        "carbon_dachen_sinks_t_co2e": s["sinks_t_co2e"],
        "carbon_dachen_sinks_mc_halfwidth_pct": hw(s["sinks_lo95_t_co2e"], s["sinks_hi95_t_co2e"], s["sinks_t_co2e"]),
        "carbon_dachen_sinks_approach1_pct": 100 * s["ipcc_u_sinks"],
        "carbon_dachen_scope1_diesel_t_co2": s["scope1_t_co2e"],
        "carbon_dachen_scope2_grid_t_co2": s["scope2_t_co2e"],
        "carbon_dachen_energy_sources_t_co2e": s["sources_t_co2e"],
        "carbon_dachen_feed_t_co2e_estimate": s["feed_t_co2e"],
        "carbon_dachen_feed_mc_halfwidth_pct": hw(s["feed_lo95_t_co2e"], s["feed_hi95_t_co2e"], s["feed_t_co2e"]),
        "carbon_dachen_net_emissions_t_co2e": s["net_emissions_t_co2e"],
        "carbon_dachen_net_mc_halfwidth_pct": hw(s["net_lo95_t_co2e"], s["net_hi95_t_co2e"], s["net_emissions_t_co2e"]),
        "carbon_dachen_net_approach1_pct": 100 * s["ipcc_u_net"],
        "carbon_dachen_credits_gross_t_co2e": cr["gross_t_co2e"],
        "carbon_dachen_credits_uncertainty_deduction_t_co2e": cr["uncertainty_deduction_t_co2e"],
        "carbon_dachen_credits_buffer_t_co2e": cr["buffer_t_co2e"],
        "carbon_dachen_credits_net_creditable_t_co2e": cr["creditable_t_co2e"],
        "carbon_dachen_credits_issuable_t_co2e": cr["issuable_t_co2e"],
        "carbon_dachen_meter_resets": s["meter_resets"],
        "carbon_dachen_simulate_s": sim_s,
        "carbon_dachen_report_and_package_s": report_s,
        "carbon_dachen_package_bytes": r.package_path.stat().st_size,
        "carbon_dachen_verify_s": verify_s,
        "carbon_dachen_verify_match": int(v.ok),
    }


def run(ctx) -> dict:
    return {**_method(ctx), **_split(2000 if ctx.quick else 10_000), **_dachen_year(ctx), **_accuracy(ctx)}
