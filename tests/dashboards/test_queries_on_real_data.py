"""Every panel target and annotation of every dashboard returns data from a simulated day in real InfluxDB."""

from __future__ import annotations

import pytest

from dashboards.build import build_all
from dashboards.check import run

DASHBOARDS = {d.uid: d.to_json() for _, d in build_all()}


@pytest.mark.integration
@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_every_query_returns_data_with_all_selected(influx, day, uid):
    results = run(influx, DASHBOARDS[uid], day.from_ms, day.to_ms)
    bad = [f"{r.panel} [{r.ref}]: {r.error or 'no rows'}\n    {r.query}" for r in results if not r.ok]
    assert not bad, "\n".join(bad)
