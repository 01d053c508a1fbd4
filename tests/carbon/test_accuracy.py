"""Accuracy through the whole pipeline on the simulator's dachen scenario (default fault rates).

simulator -> contract telemetry (direct contract publisher, blueranch.sim.feed) -> real Mosquitto ->
``blueranch ingest run`` -> real InfluxDB -> carbon worker: the ytd mussel (bivalve) and kelp (macroalgae)
sinks are within 5 % of the same method applied to the simulator's ground truth. The suite runs the first
73 days of the year (growth season before the harvests); ``bench/bench_carbon.py`` runs the full year.
"""

from __future__ import annotations

import pytest

pytest.importorskip("blueranch.sim.engine", reason="the simulator's Python API has not landed")
scenario_mod = pytest.importorskip("blueranch.sim.scenario")

from blueranch.testing.carbon_accuracy import CATEGORIES, run_accuracy  # noqa: E402


@pytest.mark.slow
def test_dachen_sinks_within_5_percent_of_truth(mosquitto, influxdb, influx, tmp_path, blueranch_bin):
    if "dachen" not in scenario_mod.builtin_names():
        pytest.skip("the simulator has no dachen scenario yet")
    r = run_accuracy(mosquitto.url, influxdb.url, influx.database, tmp_path, days=73, ingest_bin=[blueranch_bin])
    print(f"accuracy: sensor {r.sensor_t_c} truth {r.truth_t_c} error % {r.error_pct}")
    assert r.samples_in_influx == r.samples_published > 100_000
    for c in CATEGORIES:
        assert r.truth_t_c[c] > 0, c
        assert abs(r.error_pct[c]) < 5.0, (c, r.sensor_t_c, r.truth_t_c, r.error_pct)


def test_sim_feed_cli_publishes_contract_telemetry(mosquitto, tmp_path, blueranch_bin):
    import json
    import subprocess

    truth = tmp_path / "truth.jsonl"
    r = subprocess.run(
        [blueranch_bin, "sim", "feed", "--mqtt", mosquitto.url, "--days", "0.25", "--truth-out", str(truth)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["samples_published"] > 14 * 30 and out["messages"] >= 1
    assert truth.read_text().startswith('{"type":"meta"')
