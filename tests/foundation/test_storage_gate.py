"""The storage compatibility gate: every query the workers, the demo and the dashboards run, in both namings.

For each naming (``db.rp`` as on InfluxDB 1.x; ``db/rp`` as on InfluxDB 3, one database per retention policy)
the databases are made by what ``blueranch deploy init-db`` runs, a sample day is written through the
client's naming, and then the real read paths run under the registry's recorder: the alerts worker's
evaluation (every rule's series, the signs of life, the climatology's daily means), the carbon worker's
inputs (its day caches and its "now"), the demo's live readings and budget line, and every panel,
variable and annotation of every dashboard (re-rendered from the builder's query in the naming). Each
query must be accepted; the dashboards' must all return rows, as on 1.x. Then the list of queries run is
checked against what InfluxDB 3 does not accept (docs/scale-out.md, "InfluxDB 3: the checked list").

InfluxDB 1.6 refuses ``/`` in a database name ("invalid name"), so here the ``db/rp`` style names its
databases ``db-rp`` (``BLUERANCH_INFLUX_NAMING_SEPARATOR``): the unqualified ``FROM``, a database per policy
for queries and writes, and the absence of retention-policy statements are exercised; the ``/`` itself
and InfluxDB 3's own engine are not.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from pathlib import Path

import pytest

from blueranch.contracts.query import Naming, registry
from blueranch.dashboards.build import build_languages
from blueranch.dashboards.check import run as run_dashboard
from blueranch.dashboards.sample_day import simulated_day
from blueranch.demo import History, _budget_line, _watch
from blueranch.influxdb import InfluxClient
from blueranch.models.alerts.config import AlertsConfig
from blueranch.models.alerts.series import fetch_daily_means
from blueranch.models.alerts.store import Store
from blueranch.models.alerts.worker import Worker as AlertsWorker
from blueranch.models.carbon.config import load_config as load_carbon
from blueranch.models.carbon.worker import CarbonWorker
from blueranch.reader import Reader

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NAMINGS = {"db.rp": Naming("db.rp"), "db/rp": Naming("db/rp", "-")}
DASHBOARDS = [d.to_json() for audience, d in build_languages() if audience.lang == "en"]
_n = itertools.count(1)

#: Modules that read InfluxDB but are not run here, and why.
NOT_GATED = {
    "blueranch.export.catalog": "the open-data export (not a worker, the demo or a dashboard)",
    "blueranch.export.frames": "the open-data export",
    "blueranch.export.cli": "the open-data export",
    "blueranch.testing.carbon_accuracy": "test support",
    "blueranch.testing.ingest_checks": "test support",
}
#: What InfluxDB 3's InfluxQL does not accept (docs/scale-out.md cites the feature-support page).
REFUSED_BY_INFLUXDB_3 = re.compile(
    r"\b(SLIMIT|SOFFSET|INTEGRAL\s*\(|SAMPLE\s*\(|SHOW\s+DATABASES|SHOW\s+RETENTION|CREATE\s+(DATABASE|RETENTION)"
    r"|ALTER\s+RETENTION|DROP\s+(DATABASE|RETENTION)|SHOW\s+\w+\s+CARDINALITY|tz\s*\()",
    re.IGNORECASE,
)
#: InfluxDB 3 Core answers a query over more than about 72 hours with an error (docs/scale-out.md).
CORE_RANGE_MS = 72 * 3_600_000
_BETWEEN = re.compile(r"time >= (\d+)ms and time <=? (\d+)ms", re.IGNORECASE)
_RECENT = re.compile(r"time > now\(\) - (\d+)([hdw])")


def _span_ms(text: str) -> int | None:
    """The time range a rendered query reads, None when it has no closed range (all time)."""
    if m := _BETWEEN.search(text):
        return int(m.group(2)) - int(m.group(1))
    if m := _RECENT.search(text):
        return int(m.group(1)) * {"h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}[m.group(2)]
    return None


def _production_readers() -> set[str]:
    """Every production module that runs a query through a reader (a static scan of the source)."""
    roots = {"blueranch": "blueranch", "edge": "blueranch.edge", "ingest": "blueranch.ingest"}
    roots |= {"models": "blueranch.models", "dashboards": "blueranch.dashboards", "firmware_sim": "blueranch.sim"}
    calls = re.compile(r"\b_?reader\.run(_rendered)?\(|\bReader\([^)]*\)\.run\(")
    out = set()
    for folder, package in roots.items():
        for path in (REPO / folder).rglob("*.py"):
            if path.name != "reader.py" and calls.search(path.read_text()):
                rel = path.relative_to(REPO / folder).with_suffix("")
                out.add(".".join([package, *rel.parts]).removesuffix(".__init__"))
    return out


@pytest.fixture(scope="module", params=sorted(NAMINGS))
def gated(request, influxdb, tmp_path_factory):
    """A database in one naming, made as init-db makes it, with a sample day, and every read path run on it."""
    naming = NAMINGS[request.param]
    client = InfluxClient(influxdb.url, f"gate{os.getpid()}_{next(_n)}", timeout_s=60, naming=naming)
    databases = client.ensure_database()  # what 'blueranch deploy init-db' runs
    try:
        day = simulated_day(client)
        with registry.recording() as recorder:
            reader = Reader(client)
            results = [r for d in DASHBOARDS for r in run_dashboard(client, d, day.from_ms, day.to_ms)]
            tmp = tmp_path_factory.mktemp("alerts")
            alerts = AlertsWorker(client, AlertsConfig(state_path=str(tmp / "a.sqlite")), Store(tmp / "a.sqlite"))
            alerts.evaluate_now(day.to_ms)
            fetch_daily_means(reader, "do_mg_l", day.from_ms - 30 * 86_400_000, day.to_ms)
            CarbonWorker(client, load_carbon(REPO / "deploy" / "blueranch" / "carbon.yaml")).inputs()
            loaded = History(days=0, end_s=time.time(), done_s=time.time())  # no history feed here
            budget = _budget_line(reader, loaded)
            _watch(reader, threading.Event(), duration_s=0.001, budget_every_s=3600, sup=None, history=loaded)
        yield naming, databases, recorder, results, budget
    finally:
        for db in databases:
            client.query(f'DROP DATABASE "{db}"', method="POST", database=None)
        client.close()


def test_init_db_makes_one_database_or_one_per_policy(gated):
    naming, databases, *_ = gated
    assert len(databases) == (3 if naming.per_policy else 1)


def test_every_dashboard_query_returns_rows_in_this_naming(gated):
    naming, _, recorder, results, _ = gated
    failures = [f"{r.panel} [{r.ref}]: {r.error or 'no rows'}\n    {r.query}" for r in results if not r.ok]
    assert results and not failures, "\n".join(failures)
    if naming.per_policy:  # re-rendered from the builder's query: no policy in FROM, each to its policy's database
        assert all('"raw".' not in r.query and '"derived".' not in r.query for r in results)


def test_the_workers_and_the_demo_read_what_was_written(gated):
    _, _, recorder, _, budget = gated
    assert "BUDGET" in budget
    assert {"blueranch.models.alerts.series", "blueranch.models.carbon.influx_io", "blueranch.demo"} <= recorder.modules


def test_every_module_that_reads_influxdb_is_gated(gated):
    _, _, recorder, _, _ = gated
    missing = _production_readers() - recorder.modules - set(NOT_GATED)
    assert not missing, f"run their reads in this gate, or list them in NOT_GATED with a reason: {sorted(missing)}"


def test_no_query_uses_what_influxdb_3_refuses_and_the_long_ranges_are_listed(gated, capsys):
    naming, _, recorder, _, _ = gated
    refused = [f"{run.module}: {run.text}" for run in recorder.runs.values() if REFUSED_BY_INFLUXDB_3.search(run.text)]
    assert not refused, "\n".join(refused)
    long = sorted({run.module for run in recorder.runs.values() if (_span_ms(run.text) or 0) > CORE_RANGE_MS})
    unbounded = sorted({run.module for run in recorder.runs.values() if _span_ms(run.text) is None})
    with capsys.disabled():
        print(
            f"\n[{naming.style}] {len(recorder.runs)} query shapes from {len(recorder.modules)} modules; "
            f"over InfluxDB 3 Core's ~72 h: {', '.join(long) or 'none'}; "
            f"no closed range: {', '.join(unbounded) or 'none'}"
        )
