"""Accuracy of the live budget against the simulator's ground truth, through the whole pipeline.

simulator (``dachen``, default fault rates) -> contract telemetry (:mod:`blueranch.sim.feed`) -> real
Mosquitto -> ``blueranch ingest run`` (a real process) -> real InfluxDB -> :class:`CarbonWorker` (one
cycle, writing ``carbon_budget``) -> the ytd sinks per category read back from InfluxDB, compared with
the same method applied to the truth file (:mod:`blueranch.testing.carbon_truth`).

Used by ``tests/carbon/test_accuracy.py`` (a shorter period) and ``bench/bench_carbon.py`` (the full year).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from blueranch.contracts.mqtt import Sample, Telemetry, telemetry_topic
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.query import Between, TagEq, window
from blueranch.influxdb import InfluxClient
from blueranch.models.carbon.budget import compute_budget
from blueranch.models.carbon.config import CarbonConfig
from blueranch.models.carbon.periods import Period
from blueranch.models.carbon.worker import CarbonWorker
from blueranch.procs import Supervisor, blueranch_command
from blueranch.reader import Reader
from blueranch.sim.feed import ContractPublisher, run_simulation
from blueranch.testing.carbon_truth import (
    config_from_truth_meta,
    harvest_windows,
    read_truth,
    truth_inputs,
    with_harvest_windows,
)
from blueranch.testing.ingest_checks import count_points
from blueranch.testing.wait import Timeout, wait_until

CATEGORIES = ("bivalve", "macroalgae")


@dataclass
class AccuracyResult:
    sensor_t_c: dict[str, float]
    truth_t_c: dict[str, float]
    error_pct: dict[str, float]
    samples_published: int
    samples_in_influx: int
    garbled_dropped: int
    sim_s: float
    ingest_wait_s: float
    worker_cycle_s: float
    worker_steady_cycle_s: float
    cfg: CarbonConfig


def _count(client: InfluxClient, site: str) -> int:
    return count_points(client, site, "load_kg", "biomass_load")


def run_accuracy(
    mqtt_url: str,
    influx_url: str,
    database: str,
    workdir: Path,
    days: float,
    start: datetime | None = None,
    seed: int = 1,
    ingest_bin: list[str] | None = None,
    timeout_s: float = 600.0,
) -> AccuracyResult:
    from blueranch.sim.engine import Simulation
    from blueranch.sim.scenario import load_scenario

    scenario = load_scenario("dachen")
    update: dict = {"days": days, "devices": [d for d in scenario.devices if d.kind == "load_cell"]}
    if start is not None:
        update["start"] = start
    scenario = scenario.model_copy(update=update)
    client = InfluxClient(influx_url, database, timeout_s=60)
    client.ensure_database()
    ingest_cfg = workdir / "ingest.yaml"
    # Simulated time may lie ahead of the wall clock (the full year): accept it instead of rejecting.
    # Its own group and client id, no lingering session: a test's broker may be shared with other tests.
    ingest_cfg.write_text(
        yaml.safe_dump(
            {
                "clock": {"max_future_s": 400 * 86400.0, "max_past_s": 800 * 86400.0},
                "group": f"carbon-acc{os.getpid()}",
                "client_id": f"carbon-acc{os.getpid()}",
                "session_expiry_s": 0,
            }
        )
    )
    cmd = (ingest_bin or blueranch_command()) + [
        "ingest",
        "run",
        "--mqtt",
        mqtt_url,
        "--influx",
        influx_url,
        "--database",
        database,
        "--config",
        str(ingest_cfg),
    ]
    with Supervisor(workdir / "logs") as sup:
        sup.start("ingest", cmd)
        probe_pub = ContractPublisher(mqtt_url, scenario.site, client_id="carbon-accuracy-probe")
        probe = Telemetry(
            device="probe",
            seq=0,
            samples=[
                Sample(
                    time=scenario.start,
                    sensor="probe",
                    quantity="load_kg",
                    value=1.0,
                    unit="kg",
                    qc=QcFlag.NOT_EVALUATED,
                    asset="probe",
                )
            ],
        )
        try:
            # The ingest's shared subscription exists once a (re)published probe lands (idempotent rewrite).
            wait_until(
                lambda: (
                    probe_pub.client.publish(telemetry_topic(scenario.site, "probe"), probe.to_json(), qos=1)
                    and _count(client, scenario.site) > 0
                ),
                timeout_s=120,
                interval_s=0.5,
                message="the ingest to write the probe",
            )
        except Timeout as exc:
            raise AssertionError(f"{exc}\n--- ingest log ---\n{sup.log('ingest')[-3000:]}") from None
        finally:
            probe_pub.close()
        t0 = time.monotonic()
        truth_path = workdir / "truth.jsonl"
        stats = run_simulation(Simulation(scenario, seed=seed), ContractPublisher(mqtt_url, scenario.site), truth_path)
        t1 = time.monotonic()
        expected = stats.samples_published + 1
        try:
            wait_until(
                lambda: _count(client, scenario.site) >= expected,
                timeout_s=timeout_s,
                interval_s=1.0,
                message=f"{expected} load-cell readings in InfluxDB",
            )
        except Timeout as exc:
            raise AssertionError(f"{exc}\n--- ingest log ---\n{sup.log('ingest')[-3000:]}") from None
        t2 = time.monotonic()
    truth = read_truth(truth_path)
    cfg = with_harvest_windows(
        config_from_truth_meta(truth.meta),
        harvest_windows(scenario),
        "simulator scenario dachen: the farms' harvest calendar (harvest_start, harvest_days)",
    )
    worker = CarbonWorker(client, cfg)
    stats_cycle = worker.cycle()
    t3 = time.monotonic()
    steady = worker.cycle()  # nothing new: re-checks the day counts, recomputes, writes nothing
    latest = stats_cycle.latest_ms
    ytd = next(p for p in worker.last_budget.periods if p.name == "ytd")
    rows = _category_ytd(client, ytd.start_ms)
    truth_budget = compute_budget(
        cfg, truth_inputs(truth, cfg), [Period("ytd", ytd.start_ms, ytd.end_ms)], latest, draws=100
    )
    sensor = {c: float(rows[c]) for c in CATEGORIES}
    truth_t_c = {c: truth_budget.total("category", c, truth_budget.periods[0]).sinks_t_c for c in CATEGORIES}
    err = {c: 100.0 * (sensor[c] - truth_t_c[c]) / abs(truth_t_c[c]) for c in CATEGORIES}
    return AccuracyResult(
        sensor,
        truth_t_c,
        err,
        stats.samples_published,
        _count(client, scenario.site) - 1,
        stats.garbled_dropped,
        t1 - t0,
        t2 - t1,
        t3 - t2,
        steady.seconds,
        cfg,
    )


def _category_ytd(client: InfluxClient, start_ms: int) -> dict[str, float]:
    """The ytd sinks of the year starting at ``start_ms`` (a skewed device clock may open the next year)."""
    q = window(
        "carbon_budget",
        ("sinks_t_c",),
        Between(start_ms, start_ms),
        where=(TagEq("scope", "category"), TagEq("period", "ytd")),
        group_by=("key",),
    )
    return {s.tags["key"]: s.values[-1][1] for s in Reader(client).run(q)}
