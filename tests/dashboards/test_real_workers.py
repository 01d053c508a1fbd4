"""The dashboards on what the real carbon and alert workers write (not on points made up by the test).

Raw telemetry of a simulated day goes in; the carbon worker (``models/carbon``) computes stocks and the
island budget, the alert worker (``models/alerts``) opens alarms; then every panel and annotation of
every dashboard must return data. This catches drift between the workers' tag values and timestamps
(budget points at the start of their period, scope/key/period values) and the dashboard queries.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from blueranch.dashboards.build import build_all
from blueranch.dashboards.check import run
from blueranch.dashboards.sample_day import BUOYS, HARVESTED, HYPOXIC, METER, PRICE_PER_T_CO2E, SITE, simulated_day

pytestmark = pytest.mark.integration


def _carbon(influx, start: datetime) -> None:
    from blueranch.models.carbon.config import AssetConfig, Calibration, CarbonConfig, MeterConfig
    from blueranch.models.carbon.worker import CarbonWorker

    cal = Calibration(
        tare_kg=25,
        wet_per_submerged=4,
        lines_per_sensor=100,
        source="test calibration of the simulated day (tests/dashboards/dashtest_simday.py)",
    )
    kinds = {"m1": ("bivalve", "mussel"), "k1": ("macroalgae", "kelp")}
    assets = [
        AssetConfig(
            asset=asset,
            farm=farm,
            kind=kinds[farm][0],
            group=kinds[farm][1],
            device=device,
            sensor="loadcell",
            calibration=cal,
        )
        for device, farm, asset, *_ in BUOYS
        if asset
    ]
    meters = [
        MeterConfig(device=METER, sensor="fuel", quantity="diesel_l_total", factor="diesel"),
        MeterConfig(device=METER, sensor="grid", quantity="grid_kwh_total", factor="grid_east_china"),
    ]
    cfg = CarbonConfig(site=SITE, price_per_t_co2e=PRICE_PER_T_CO2E, assets=assets, meters=meters, start=start)
    stats = CarbonWorker(influx, cfg).cycle()
    assert stats.points_written > 0


def _alerts(influx, tmp_path, now_ms: int) -> None:
    from blueranch.models.alerts.config import AlertsConfig
    from blueranch.models.alerts.worker import Worker

    Worker(influx, AlertsConfig(state_path=tmp_path / "alerts.sqlite")).tick(now_ms)


def run_workers(influx, tmp_path, day) -> None:
    """One carbon cycle and one alert evaluation over the day, then check they wrote what the panels need."""
    _carbon(influx, day.start)
    _alerts(influx, tmp_path, int(day.end.timestamp() * 1000))
    alarms = influx.query('SELECT "open" FROM "derived"."alerts" GROUP BY "device"')
    assert HYPOXIC in {s.tags["device"] for s in alarms}
    harvests = influx.query(
        'SELECT "harvested_wet_t" FROM "derived"."carbon_stock" WHERE "harvested_wet_t" > 0 GROUP BY "asset"'
    )
    assert {s.tags["asset"] for s in harvests} == {HARVESTED}


def test_every_panel_has_data_from_the_real_workers(influx, tmp_path):
    day = simulated_day(influx, derived=False)
    run_workers(influx, tmp_path, day)
    bad = []
    for _, d in build_all():
        bad += [
            f"{d.uid}: {r.panel} [{r.ref}]: {r.error or 'no rows'}\n    {r.query}"
            for r in run(influx, d.to_json(), day.from_ms, day.to_ms)
            if not r.ok
        ]
    assert not bad, "\n".join(bad)
