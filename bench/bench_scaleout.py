"""The scale-out drill (issue 19, item 3; docs/scale-out-drill.md): two island brokers bridged to the shore,
1 -> 2 -> 4 ingest workers in one shared group, buoys on the islands, and faults, one after the other:

1. ``scale_1_to_2``, ``scale_2_to_4``: workers join the group;
2. ``worker_sigkill``: a worker is killed (SIGKILL) and stays dead past its session expiry;
3. ``scale_in``: a worker leaves (SIGTERM: it writes and acknowledges what it holds), for longer than its
   session expiry;
4. ``influx_outage``: InfluxDB is stopped for ``outage_s`` (30 s in the full run) and started again;
5. ``island_broker_kill``: island-b's Mosquitto is killed (SIGKILL) and started again;
6. ``link_cut``: island-a's link to the shore drops every packet for ``outage_s``;
7. ``shore_broker_kill``: the shore's Mosquitto is killed (SIGKILL) and started again.

Between faults the buoys run for ``steady_s``. After the last one the node feeds stop, the buoys drain (an agent
deletes a reading only once the shore committed it) and the drill counts, per device: the samples the agent
took and those InfluxDB holds (one point per sample: a message written twice counts once), the sequence gaps
(seqs never committed), and the messages written twice (committed twice). It prints them with the p99 lag
(first publish on the island to first commit acknowledgement on the shore) and, per fault, the time to recover:
from the end of the fault (the repair; for a worker killed or leaving, the kill or the SIGTERM) until every
message published so far is committed (for those two, "so far" is one second past the worker's session expiry:
what the broker queued for the gone session is included).
A gap or a lost or extra sample raises: the drill fails.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from blueranch.influxdb import InfluxClient
from blueranch.procs import Supervisor
from blueranch.testing.fleet import (
    AckLedger,
    Buoy,
    IngestWorkers,
    NodeFeed,
    TelemetryWatch,
    drain_and_count,
    quantile,
    recover_s,
)
from blueranch.testing.islands import Islands, island_registry
from blueranch.testing.services import InfluxDB
from blueranch.testing.wait import wait_until

REPO = Path(__file__).resolve().parents[1]
DATABASE = "scaleout"


class Drill:
    def __init__(self, ctx, work: Path):
        self.steady_s = ctx.size(20, 8, 0.5)
        self.outage_s = ctx.size(30, 10, 1.5)
        self.expiry_s = ctx.size(10, 5, 1)
        per_island = ctx.size(2, 2, 1)
        registry = island_registry(REPO / "deploy" / "blueranch" / "registry.yaml", work / "registry.yaml")
        self.isl = Islands(work, registry, ingest_workers=4)
        self.influx = InfluxDB(work / "influxdb").start()
        self.client = InfluxClient(self.influx.url, DATABASE)
        self.client.ensure_database()
        self.isl.start()
        self.sup = Supervisor(work / "logs")
        self.workers = IngestWorkers(
            self.sup,
            work,
            self.isl.shore.url,
            self.influx.url,
            DATABASE,
            registry=str(registry),
            session_expiry_s=self.expiry_s,
        )
        self.workers.credentials("ingest", self.isl.password_file("ingest"))
        self.ledger = AckLedger(self.isl.shore.url, username="operator", password=self.isl.secret("operator"))
        self.watches = [TelemetryWatch(b.url, f"watch-{g}") for g, b in self.isl.brokers.items()]
        self.buoys = [
            Buoy(work, "dachen", d, b.url)
            for g, b in self.isl.brokers.items()
            for d in self.isl.devices(g)[:per_island]
        ]
        self.feeds = [
            NodeFeed(b.url, [x.node for x in self.buoys if x.url == b.url], 0.1, f"feed-{g}")
            for g, b in self.isl.brokers.items()
        ]
        self.recover: dict[str, float] = {}

    def wait_s(self, seconds: float) -> None:
        threading.Event().wait(seconds)  # traffic or an outage of this length: what the drill measures

    def fault(self, name: str, act, repair=None, hold_s: float = 0.0) -> None:
        """``act``, ``hold_s``, then ``repair``; the time to recover counts from the repair, or from ``act`` for
        a fault nothing repairs (a worker killed or leaving: the others take over, or nothing does)."""
        started = time.monotonic()
        act()
        self.wait_s(hold_s)
        if repair is not None:
            repair()
        ended = started if repair is None else time.monotonic()
        self.recover[name] = recover_s(self.ledger, self.watches, ended, 300)
        print(f"   {name}: recovered in {self.recover[name]:.1f} s", flush=True)
        self.wait_s(self.steady_s)

    def run(self) -> None:
        w, isl = self.workers, self.isl
        assert self.ledger.subscribed.wait(30) and all(x.subscribed.wait(30) for x in self.watches)
        w.start(1)
        for b in self.buoys:
            b.start(self.sup)
        for b in self.buoys:
            wait_until(lambda b=b: b.status().get("committed", 0) >= 5, 60, 0.1, f"{b.device} committing")
        self.wait_s(self.steady_s)
        self.fault("scale_1_to_2", lambda: w.start(2))
        self.fault("scale_2_to_4", lambda: (w.start(3), w.start(4)))
        self.fault("worker_sigkill", lambda: w.kill(4), hold_s=self.expiry_s + 1)
        self.fault("scale_in", lambda: w.stop(3), hold_s=self.expiry_s + 1)
        self.fault("influx_outage", self.influx.stop, self.influx.start, self.outage_s)
        island_b = isl.brokers["island-b"]
        self.fault("island_broker_kill", island_b.kill, island_b.start, 1.0)
        link = isl.links["island-a"]
        self.fault("link_cut", lambda: link.cut("silent"), link.restore, self.outage_s)
        self.fault("shore_broker_kill", isl.shore.kill, isl.shore.start, 1.0)

    def count(self) -> dict:
        return drain_and_count(self.sup, self.buoys, self.feeds, self.client, self.ledger)

    def close(self) -> None:
        self.ledger.close()
        for x in self.watches:
            x.close()
        self.sup.stop_all()
        self.isl.stop()
        self.influx.stop()


def run(ctx) -> dict:
    work = ctx.workdir / "scaleout"
    work.mkdir(parents=True, exist_ok=True)
    drill = Drill(ctx, work)
    try:
        drill.run()
        per_device = drill.count()
        lags = drill.ledger.lags_s(*drill.watches)
        duplicates = drill.ledger.duplicates
    finally:
        drill.close()
    print("   device      samples  in InfluxDB  messages  gaps  resent")
    for device, c in per_device.items():
        print(
            f"   {device:<10} {c['expected']:>8} {c['arrived']:>12} {c['messages']:>9} {c['gaps']:>5} {c['resent']:>7}"
        )
    results: dict = {f"scaleout_{k}_recover_s": v for k, v in drill.recover.items()}
    results.update(
        {
            "scaleout_devices": len(per_device),
            "scaleout_samples": sum(c["expected"] for c in per_device.values()),
            "scaleout_messages": sum(c["messages"] for c in per_device.values()),
            "scaleout_gaps": sum(c["gaps"] for c in per_device.values()),
            "scaleout_lost_or_extra_samples": sum(abs(c["arrived"] - c["expected"]) for c in per_device.values()),
            "scaleout_written_twice": duplicates,
            "scaleout_resent": sum(c["resent"] for c in per_device.values()),
            "scaleout_lag_p50_s": quantile(lags, 0.5),
            "scaleout_lag_p99_s": quantile(lags, 0.99),
            "scaleout_lag_max_s": lags[-1] if lags else 0.0,
            "scaleout_outage_s": drill.outage_s,
        }
    )
    bad = {d: c for d, c in per_device.items() if c["gaps"] or c["arrived"] != c["expected"] or not c["expected"]}
    if bad:
        raise RuntimeError(f"the scale-out drill lost or added samples, or left sequence gaps: {bad}")
    return results


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["scaleout", *sys.argv[1:]]))
