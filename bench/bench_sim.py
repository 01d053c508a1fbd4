"""Simulator throughput: a simulated Dachen year as fast as possible.

Figures:
- ``sim_dachen_year_s``: wall seconds for ``blueranch sim run --scenario dachen --speed max`` over 365
  simulated days, serving its 11 serial devices on ptys, publishing its 13 MQTT nodes to a real local
  Mosquitto and writing the truth file (the issue's target: "minutes").
- ``sim_mqtt_node_msgs_per_s``: node messages published per wall second in that run.
- ``sim_api_year_s`` / ``sim_api_readings_per_s``: the Python API (``Simulation.run()``), every device's
  readings and all truth, no processes.
With ``--quick`` the runs cover 30 simulated days and the year figures are extrapolated (``_est``).
"""

from __future__ import annotations

import subprocess
import time

from blueranch.procs import blueranch_command


def run(ctx) -> dict:
    from blueranch.sim.engine import Reading, Simulation
    from blueranch.sim.scenario import load_scenario
    from blueranch.testing.services import Mosquitto

    days = ctx.size(365, 30, 1)
    scale = 365 / days
    suffix = "" if days == 365 else "_est"
    out: dict[str, float | int | str] = {}

    t0 = time.perf_counter()
    n_readings = n_truth = 0
    for rec in Simulation(load_scenario("dachen"), seed=1, days=days).run():
        if isinstance(rec, Reading):
            n_readings += 1
        else:
            n_truth += 1
    api_s = time.perf_counter() - t0
    out[f"sim_api_year_s{suffix}"] = round(api_s * scale, 2)
    out["sim_api_readings_per_s"] = round(n_readings / api_s)
    out["sim_api_truth_records_per_year"] = int(n_truth * scale)

    broker = Mosquitto(ctx.workdir / "sim-mosquitto")
    broker.start()
    try:
        truth = ctx.workdir / "dachen-truth.jsonl"
        t0 = time.perf_counter()
        proc = subprocess.run(
            blueranch_command(
                "sim",
                "run",
                "--scenario",
                "dachen",
                "--speed",
                "max",
                "--days",
                str(days),
                "--pty-dir",
                str(ctx.workdir / "pty"),
                "--mqtt",
                broker.url,
                "--truth-out",
                str(truth),
            ),
            capture_output=True,
            text=True,
            timeout=3600,
        )
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"sim run failed ({proc.returncode}): {proc.stderr[-2000:]}")
        published = int(proc.stderr.split("readings_published=")[1].split(",")[0])
    finally:
        broker.stop()
    out[f"sim_dachen_year_s{suffix}"] = round(wall * scale, 2)
    out["sim_mqtt_node_msgs_per_s"] = round(published / wall)
    out["sim_truth_file_mb_per_year"] = round(truth.stat().st_size * scale / 1e6, 1)
    return out
