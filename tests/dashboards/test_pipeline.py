"""A simulated ranch through the real pipeline, then every query of every dashboard must return data.

The simulator (``blueranch.sim.engine.Simulation``, scenario ``hypoxia-night`` moved to end now, plus a
harvest) produces what each device reports; the readings are published as the buoy's edge agent
publishes them (contract telemetry, one message per buoy and reading cycle, QoS 1, garbled frames and
out-of-range values dropped as the edge's parser and gross-range QC drop them) to the real Mosquitto;
``blueranch ingest run`` writes them to the real InfluxDB; the real carbon worker and alert worker
compute stocks, budgets and alarms. Not from a real component: ``device_status`` points, written as
the contract defines them, because no component maps the agents' status messages yet
(docs/dashboards.md, "Known gaps").
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from blueranch.contracts.influx import Point
from blueranch.contracts.mqtt import Sample, Telemetry, telemetry_topic
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES
from blueranch.contracts.query import Recent, aggregate
from blueranch.dashboards import fleet_health
from blueranch.dashboards.build import build_all
from blueranch.dashboards.check import run
from blueranch.dashboards.sample_day import PRICE_PER_T_CO2E, write_points
from blueranch.mqttc import make_client, parse_url
from blueranch.procs import Supervisor
from blueranch.reader import Reader
from blueranch.testing.wait import Timeout, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HOURS = 40  # the scenario's hypoxia starts 36 h after its start: the last 4 h are hypoxic
RATE_PANEL = "Ingest rate"
#: Panels whose quantity the simulator's devices do not report (checked below, so the exception goes
#: when the simulator starts reporting it).
NOT_SIMULATED = {QUANTITIES["orp_mv"].description: "orp_mv"}


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC)


def simulate(end: datetime):
    """Readings grouped into the edge agents' telemetry messages, the truth meta line, and the scenario."""
    from blueranch.sim.engine import Reading, Simulation
    from blueranch.sim.scenario import Event, load_scenario

    base = load_scenario("hypoxia-night")
    start = (end - timedelta(hours=HOURS)).replace(minute=0, second=0, microsecond=0)
    # The scenario's hypoxia bites at night; moved to end now, its last hours can fall at midday, when the
    # water holds 6 mg/L: here it bites at any hour, so the test does not depend on the time it runs.
    events = [e.model_copy(update={"diurnal": False}) if e.kind == "hypoxia" else e for e in base.events]
    scenario = base.model_copy(
        update={
            "start": start,
            "events": [*events, Event(kind="harvest", at_h=20, asset="m1-ll-01", fraction=0.95)],
        }
    )
    cycles: dict[tuple[str, float], list[Sample]] = defaultdict(list)
    meta = None
    produced: set[str] = set()
    for rec in Simulation(scenario, seed=1, days=(end - start) / timedelta(days=1)).run():
        if not isinstance(rec, Reading):
            meta = meta or (rec if rec["type"] == "meta" else None)
            continue
        if rec.garbled:
            continue
        for name, value in rec.values.items():
            q = QUANTITIES[name]
            if not q.gross_min <= value <= q.gross_max:
                continue
            produced.add(name)
            cycles[(rec.edge_device, rec.time_s)].append(
                Sample(
                    time=_utc(rec.node_time_s or rec.time_s),
                    sensor=rec.device,
                    quantity=name,
                    value=float(value),
                    unit=q.unit,
                    qc=QcFlag.NOT_EVALUATED,
                    farm=rec.farm,
                    asset=rec.asset,
                )
            )
    seq: dict[str, int] = defaultdict(int)
    messages = []
    for (device, _), samples in sorted(cycles.items(), key=lambda kv: kv[0][1]):
        messages.append(Telemetry(device=device, seq=seq[device], samples=samples))
        seq[device] += 1
    return scenario, meta, messages, produced


def _statuses(scenario, messages: list[Telemetry]) -> list[Point]:
    """The agents' status, one per reading cycle (the contract's ``device_status``)."""
    return [
        Point(
            "device_status",
            {"site": scenario.site, "device": m.device},
            {"online": 1, "buffer_depth": 0, "buffer_dropped_total": 0, "sw_version": "sim", "config_version": "1"},
            int(m.samples[0].time.timestamp() * 1000),
        )
        for m in messages
    ]


class Publisher:
    """A QoS 1 publisher that waits for the broker's PUBACK of every message."""

    def __init__(self, url: str):
        u = parse_url(url)
        self.client = make_client("dashtest-edge", clean=True)
        self.connected = threading.Event()
        self.client.on_connect = lambda *a: self.connected.set()
        self.client.connect(u.host, u.port, clean_start=True)
        self.client.loop_start()
        assert self.connected.wait(30), "publisher could not connect to the broker"

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=30)
        assert info.is_published(), topic

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _count(influx, measurement: str, field: str) -> int:
    series = Reader(influx).run(aggregate(measurement, "count", field, None))
    return int(series[0].values[0][1]) if series else 0


def _stats_buckets(influx) -> int:
    q = aggregate("ingest_stats", "count", "messages_total", Recent("10m"), every="10s")
    return sum(len(s.values) for s in Reader(influx).run(q))


def _wait(sup: Supervisor, predicate, what: str) -> None:
    try:
        wait_until(predicate, 120, 0.5, what)
    except Timeout as exc:
        raise AssertionError(f"{exc}\n--- ingest log ---\n{sup.log('ingest')[-3000:]}") from None


def _ingest(mosquitto, influxdb, influx, tmp_path, blueranch_bin, site: str, messages: list[Telemetry]) -> None:
    config = tmp_path / "ingest.yaml"
    # Its own group and client id, no lingering session: other tests share this broker.
    config.write_text(
        yaml.safe_dump(
            {"stats_interval_s": 0.5, "group": f"dash-{site}", "client_id": f"dash-{site}", "session_expiry_s": 0}
        )
    )
    with Supervisor(tmp_path / "logs") as sup:
        sup.start(
            "ingest",
            [
                blueranch_bin,
                "ingest",
                "run",
                "--mqtt",
                mosquitto.url,
                "--influx",
                influxdb.url,
                "--database",
                influx.database,
                "--config",
                str(config),
            ],
        )
        pub = Publisher(mosquitto.url)
        try:
            first = messages[0]
            # The ingest's shared subscription exists once a (re)published message lands; republishing the
            # same message rewrites the same points, so this probe is idempotent.
            _wait(
                sup,
                lambda: (
                    pub.publish(telemetry_topic(site, first.device), first.to_json())
                    or _count(influx, "water_quality", "do_mg_l") > 0
                ),
                "the ingest to write the probe message",
            )
            for msg in messages:
                pub.publish(telemetry_topic(site, msg.device), msg.to_json())
            pub.publish(telemetry_topic(site, "buoy-01"), b'{"schema": "blueranch.telemetry/v1", "device": ')
        finally:
            pub.close()
        expected = sum(1 for m in messages for s in m.samples if s.quantity == "do_mg_l")
        _wait(sup, lambda: _count(influx, "water_quality", "do_mg_l") == expected, f"{expected} oxygen readings")
        _wait(sup, lambda: _count(influx, "ingest_errors", "count") >= 1, "the rejected message's ingest_errors")
        # Rates are derivatives: they need statistics in two intervals (10 s, the data source minimum).
        _wait(sup, lambda: _stats_buckets(influx) >= 2, "ingest_stats in two 10-s intervals")


def _workers(influx, tmp_path, scenario, meta: dict, end: datetime) -> None:
    from blueranch.models.alerts.config import AlertsConfig
    from blueranch.models.alerts.worker import Worker
    from blueranch.models.carbon.worker import CarbonWorker
    from blueranch.testing.carbon_truth import config_from_truth_meta

    cfg = config_from_truth_meta(meta).model_copy(
        update={"start": scenario.start, "price_per_t_co2e": PRICE_PER_T_CO2E}
    )
    assert CarbonWorker(influx, cfg).cycle().points_written > 0
    end_ms = int(end.timestamp() * 1000)
    Worker(influx, AlertsConfig(state_path=tmp_path / "alerts.sqlite")).replay(end_ms - 6 * 3_600_000, end_ms, 600)


def test_dashboards_on_a_simulated_ranch_through_the_real_pipeline(
    mosquitto, influxdb, influx, tmp_path, blueranch_bin
):
    end = datetime.now(UTC)
    scenario, meta, messages, produced = simulate(end)
    assert not set(NOT_SIMULATED.values()) & produced, "the simulator reports it now: drop it from NOT_SIMULATED"
    _ingest(mosquitto, influxdb, influx, tmp_path, blueranch_bin, scenario.site, messages)
    write_points(influx, _statuses(scenario, messages))
    _workers(influx, tmp_path, scenario, meta, end)
    assert _count(influx, "alerts", "open") > 0, "the alert worker saw no hypoxia"

    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    start_ms = int(scenario.start.timestamp() * 1000)
    bad = []
    for _, d in build_all():
        results = [r for r in run(influx, d.to_json(), start_ms, now_ms) if r.panel not in NOT_SIMULATED]
        if d.uid == fleet_health.UID:
            # The ingest ran for seconds, not minutes: over the whole range (1-min intervals or more) its rates
            # have a single interval; over the last 10 minutes (10-s intervals) they must have data.
            results = [r for r in results if r.panel != RATE_PANEL]
            recent = [r for r in run(influx, d.to_json(), now_ms - 600_000, now_ms) if r.panel == RATE_PANEL]
            assert recent
            results += recent
        bad += [f"{d.uid}: {r.panel} [{r.ref}]: {r.error or 'no rows'}\n    {r.query}" for r in results if not r.ok]
    assert not bad, "\n".join(bad)
