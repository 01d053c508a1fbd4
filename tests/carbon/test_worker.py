"""The live worker against a real InfluxDB: budget written per scope and period, late data corrects the
past, a restart rebuilds the same figures, writes are idempotent; the CLI runs one cycle."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import yaml

from blueranch.models.carbon.biomass import build_series
from blueranch.models.carbon.budget import Inputs, compute_budget
from blueranch.models.carbon.periods import periods_between
from blueranch.models.carbon.sources import MeterSeries
from blueranch.models.carbon.worker import CarbonWorker
from blueranch.testing.carbon_synthetic import START_MS, load_points, write_points, write_scenario

DAY_MS = 86_400_000


def budget_rows(client, where=""):
    q = 'SELECT * FROM "derived"."carbon_budget" WHERE "site" = \'dachen\' ' + where
    return [r for s in client.query(q) for r in s.rows()]


def ytd_site(client):
    rows = budget_rows(client, "AND \"scope\" = 'site' AND \"period\" = 'ytd'")
    assert len(rows) == 1, rows
    return rows[0]


def test_worker_budget_late_data_restart_idempotent(influx, scenario):
    cfg, synth = scenario
    late_day = START_MS + 5 * DAY_MS
    hole = lambda t: (t < late_day) | (t >= late_day + DAY_MS)  # noqa: E731 - m-01 misses day 5 at first
    write_scenario(influx, cfg, synth, drop=("m-01", hole))
    worker = CarbonWorker(influx, cfg)
    stats = worker.cycle()
    assert stats.points_written > 0 and stats.latest_ms is not None

    # The worker's site ytd equals the method applied in memory to the same readings.
    series = {
        a.asset: build_series(
            a.asset,
            synth[a.asset].times_ms[hole(synth[a.asset].times_ms)] if a.asset == "m-01" else synth[a.asset].times_ms,
            *(
                x[hole(synth[a.asset].times_ms)] if a.asset == "m-01" else x
                for x in (synth[a.asset].load_kg, synth[a.asset].qc)
            ),
            a.calibration,
            cfg.detection,
        )
        for a in cfg.assets
    }
    latest = stats.latest_ms
    t = START_MS + np.arange(40 * 24, dtype=np.int64) * 3_600_000
    meters = {"meter-1.fuel": MeterSeries(t, 1000.0 + 12.5 * np.arange(t.size), np.ones(t.size, dtype=np.int64))}
    periods = periods_between(START_MS // DAY_MS * DAY_MS - 59 * DAY_MS, latest)  # 1 Jan 2026 accounting start
    expected = compute_budget(cfg, Inputs(series, meters), periods, latest, draws=200)
    ytd = next(p for p in periods if p.name == "ytd")
    exp_site = expected.total("site", "dachen", ytd)
    row = ytd_site(influx)
    assert row["sinks_t_c"] == pytest.approx(exp_site.sinks_t_c, rel=1e-9)
    assert row["sources_t_co2e"] == pytest.approx(exp_site.sources_t_co2e, rel=1e-9)
    assert row["sinks_lo95_t_co2e"] < row["sinks_t_co2e"] < row["sinks_hi95_t_co2e"]
    # The readings begin on 1 March, the year on 1 January: the year to date is insufficient data (about
    # 40 % of the expected readings) and issues no credits; the figures are still written.
    assert row["data_sufficient"] == 0 and row["completeness_biomass"] < 0.5
    assert row["creditable_t_co2e"] == 0 and row["value"] == 0
    assert row["completeness_energy"] == pytest.approx(exp_site.completeness_energy)
    assert row["method"] == "count"
    n_before = len(budget_rows(influx))
    scopes = {(r["scope"], r["key"]) for r in budget_rows(influx)}
    assert {
        ("site", "dachen"),
        ("farm", "farm-a"),
        ("farm", "farm-b"),
        ("category", "bivalve"),
        ("category", "macroalgae"),
        ("category", "source"),
        ("asset", "m-01"),
    } <= scopes
    day5 = budget_rows(
        influx, f"AND \"scope\" = 'asset' AND \"key\" = 'm-01' AND \"period\" = 'day' AND time = {late_day}ms"
    )
    assert day5[0]["completeness"] == 0.0

    # Late (backfilled) readings for day 5 arrive: the next cycle re-reads only that day and corrects it.
    s = synth["m-01"]
    sel = ~hole(s.times_ms)
    write_points(influx, load_points(cfg.site, cfg.asset("m-01"), s.times_ms[sel], s.load_kg[sel], s.qc[sel]))
    stats2 = worker.cycle()
    assert stats2.series_days_reread == 3  # one day, re-read for the 3 load-cell series
    day5 = budget_rows(
        influx, f"AND \"scope\" = 'asset' AND \"key\" = 'm-01' AND \"period\" = 'day' AND time = {late_day}ms"
    )
    assert day5[0]["completeness"] > 0.95
    assert len(budget_rows(influx)) == n_before
    after_late = ytd_site(influx)

    # Nothing new: nothing written. A restarted worker rebuilds the same figures in place.
    assert worker.cycle().points_written == 0
    fresh = CarbonWorker(influx, cfg)
    assert fresh.cycle().points_written > 0
    assert ytd_site(influx) == after_late
    assert len(budget_rows(influx)) == n_before
    stock = [
        r
        for s in influx.query('SELECT count("wet_t") FROM "derived"."carbon_stock" GROUP BY "asset"')
        for r in s.rows()
    ]
    assert len(stock) == 3 and all(r["count"] > 900 for r in stock)


def test_worker_cli_once(influx, scenario, tmp_path, blueranch_bin, influxdb):
    cfg, synth = scenario
    write_scenario(influx, cfg, synth)
    path = tmp_path / "carbon.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude_defaults=True)))
    r = subprocess.run(
        [
            blueranch_bin,
            "carbon",
            "worker",
            "--influx",
            influxdb.url,
            "--database",
            influx.database,
            "--config",
            str(path),
            "--once",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr
    once = json.loads(r.stdout.strip().splitlines()[-1])
    assert once["points_written"] > 0
    assert once["site_ytd_status"] == "insufficient data"  # readings from 1 March, the year from 1 January
    assert ytd_site(influx)["sinks_t_co2e"] > 0


def test_worker_cli_bad_config(tmp_path, blueranch_bin):
    path = tmp_path / "carbon.yaml"
    path.write_text(
        "site: dachen\nassets:\n  - {asset: a, farm: f, kind: bivalve, group: kelp, "
        "calibration: {tare_kg: 1, wet_per_submerged: 2, lines_per_sensor: 3, source: survey 2026}}\nbogus: 1\n"
    )
    r = subprocess.run(
        [blueranch_bin, "carbon", "worker", "--config", str(path), "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "bogus: Extra inputs are not permitted" in r.stderr
    path.write_text(
        "site: dachen\nassets:\n  - {asset: a, farm: f, kind: bivalve, group: kelp, "
        "calibration: {tare_kg: 1, wet_per_submerged: 2, lines_per_sensor: 3, source: survey 2026}}\n"
    )
    r = subprocess.run(
        [blueranch_bin, "carbon", "worker", "--config", str(path), "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "assets[0].group: 'kelp' is not a bivalve group" in r.stderr


def test_worker_ignores_clocks_far_in_the_future_and_failed_readings(influx, scenario):
    cfg, synth = scenario
    a = cfg.assets[0]
    s = synth[a.asset]
    n = 3 * 144
    write_points(influx, load_points(cfg.site, a, s.times_ms[:n], s.load_kg[:n], s.qc[:n]))
    far = 4_070_908_800_000  # 2099-01-01
    write_points(
        influx,
        load_points(cfg.site, a, [far], [5000.0], [1])
        + load_points(cfg.site, a, [int(s.times_ms[100])], [90_000.0], [4]),
    )
    worker = CarbonWorker(influx, cfg)
    stats = worker.cycle()
    assert stats.latest_ms == int(s.times_ms[n - 1])
    assert stats.periods < 80  # days since 1 Jan, the months and the year: not stretched to 2099
    stock = [r for q in influx.query('SELECT max("wet_t") FROM "derived"."carbon_stock"') for r in q.rows()]
    assert stock[0]["max"] < 100  # the failed 90 t reading never became a level


def test_worker_writes_and_logs_a_meter_reset(influx, scenario, caplog):
    """A restarted diesel meter (register back to 0 on day 10): the use is what was metered, the reset is
    written (``meter_resets``) and logged once."""
    from blueranch.contracts.influx import Point
    from blueranch.testing.carbon_synthetic import meter_points

    cfg, synth = scenario
    a = cfg.assets[0]
    s = synth[a.asset]
    write_points(influx, load_points(cfg.site, a, s.times_ms, s.load_kg, s.qc))
    pts = meter_points(cfg.site)
    restart = 10 * 24
    pts = pts[:restart] + [
        Point(p.measurement, p.tags, {**p.fields, "diesel_l_total": 12.5 * (k - restart)}, p.time_ms)
        for k, p in enumerate(pts[restart:], start=restart)
    ]
    write_points(influx, pts)
    worker = CarbonWorker(influx, cfg)
    with caplog.at_level("WARNING", logger="blueranch.carbon.worker"):
        worker.cycle()
        worker.cycle()
    row = ytd_site(influx)
    assert row["meter_resets"] == 1 and row["meter_jumps"] == 0
    assert row["sources_t_co2e"] == pytest.approx((len(pts) - 2) * 12.5 * 2.68 / 1000, rel=1e-9)
    assert sum("register went backwards" in r.message for r in caplog.records) == 1
