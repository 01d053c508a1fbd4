"""Dashboard figures: how long one refresh of each dashboard takes on InfluxDB (every variable, panel
and annotation query, as Grafana sends them), on a sample day of several sites.

Raw limit measured in the same run: the round trip of a trivial query (``SHOW MEASUREMENTS``) on the
same server, times the number of queries of the dashboard; the ratio says how much of a refresh is the
queries' own work rather than HTTP round trips.
"""

from __future__ import annotations

import statistics
import time

from blueranch.dashboards.build import build_all
from blueranch.dashboards.check import queries
from blueranch.dashboards.check import run as run_dashboard
from blueranch.dashboards.sample_day import simulated_day
from blueranch.influxdb import InfluxClient
from blueranch.testing.services import InfluxDB


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run_bench(client: InfluxClient, sites: int, repeats: int) -> dict:
    day = simulated_day(client, sites=tuple(f"site-{k:02d}" for k in range(sites)))
    out: dict = {"dashboards_sample_sites": sites, "dashboards_sample_points": day.points}
    trivial_ms = _median_ms(lambda: client.query("SHOW MEASUREMENTS"), repeats * 5)
    out["dashboards_influx_trivial_query_ms"] = trivial_ms
    for _, d in build_all():
        doc = d.to_json()
        n = len(queries(doc)) + sum(v["type"] == "query" for v in doc["templating"]["list"])
        results = run_dashboard(client, doc, day.from_ms, day.to_ms)
        failed = [r.panel for r in results if not r.ok]
        if failed:
            raise RuntimeError(f"{d.uid}: queries without data: {failed}")
        ms = _median_ms(lambda doc=doc: run_dashboard(client, doc, day.from_ms, day.to_ms), repeats)
        key = d.uid.removeprefix("blueranch-").replace("-", "_")
        out[f"dashboards_{key}_queries"] = n
        out[f"dashboards_{key}_refresh_24h_ms"] = ms
        out[f"dashboards_{key}_refresh_vs_trivial_round_trips_x"] = ms / (n * trivial_ms)
    return out


def run(ctx) -> dict:
    sites, repeats = ctx.size((10, 5), (2, 3), (1, 1))
    server = InfluxDB(ctx.workdir / "influx-dashboards").start()
    try:
        client = InfluxClient(server.url, "bench_dashboards", timeout_s=60)
        client.ensure_database()
        return run_bench(client, sites, repeats)
    finally:
        server.stop()
