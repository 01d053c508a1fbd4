"""What commit acknowledgements cost, end to end: agent -> Mosquitto -> ingest -> InfluxDB, in one run.

The same backlog (a pre-filled edge buffer: ``N`` messages of 5 samples, replayed as after an outage) is
delivered twice through the real pipeline (a ``blueranch edge run`` process, a ``blueranch ingest run``
process, Mosquitto and InfluxDB), once per delivery rule:

- ``ack_puback_msgs_per_s``: ``delivery: puback``, the ingest with ``acks: false`` (the agent deletes on
  PUBACK: the rate before commit acknowledgements);
- ``ack_commit_msgs_per_s``: ``delivery: commit``, the ingest publishing acks (the agent deletes on commit);
- ``ack_commit_vs_puback``: their ratio (target >= 0.8).

A rate is the steady one: messages per second between 10 % and 90 % of the points being queryable in InfluxDB
(start-up and the tail left out). ``ack_*_total_s`` is the whole run, agent start to the last point.
``N`` is 30,000 (4,000 with --quick); the full run delivers in the order puback, commit, commit, puback and
averages, so that a change in the machine's load during the run cancels out. Other engineers share this
machine: compare the ratio.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import yaml

from blueranch.edge.buffer import Buffer
from blueranch.influxdb import InfluxClient
from blueranch.procs import Supervisor, blueranch_command
from blueranch.testing.ingest_checks import count_points
from blueranch.testing.loadgen import payload
from blueranch.testing.services import InfluxDB, Mosquitto
from blueranch.testing.wait import wait_until

SAMPLES = 5


def _buffer(path: Path, device: str, n: int, start_ms: int) -> None:
    b = Buffer(path, synchronous="NORMAL")
    now = time.time()
    b.append_many([(payload(device, seq, start_ms, SAMPLES), SAMPLES, now) for seq in range(1, n + 1)])
    b.close()


def deliver(workdir: Path, broker: Mosquitto, influx_url: str, mode: str, n: int, run: int = 0) -> dict:
    """Replay ``n`` buffered messages with ``mode`` (puback | commit); return the figures."""
    site = f"bench{mode}{run}"
    client = InfluxClient(influx_url, f"ack_{mode}{run}")
    client.ensure_database()
    buffer = workdir / f"{site}.sqlite"
    _buffer(buffer, "buoy-01", n, int(time.time() * 1000) - 3_600_000)
    ingest_cfg = workdir / f"ingest-{site}.yaml"
    ingest_cfg.write_text(yaml.safe_dump({"group": site, "client_id": site, "acks": mode == "commit"}))
    idle = [{"id": "idle", "driver": "mqtt_node", "broker_url": broker.url, "node": "nobody", "interval_s": 60}]
    edge_cfg = workdir / f"edge-{site}.yaml"
    edge_cfg.write_text(
        yaml.safe_dump(
            {
                "site": site,
                "device": "buoy-01",
                "mqtt": {"url": broker.url, "delivery": mode, "status_interval_s": 5},
                "buffer": {"path": str(buffer)},
                "health_interval_s": 0,
                "sensors": idle,
            }
        )
    )
    status = buffer.with_suffix(".status.json")
    want = n * SAMPLES
    marks: dict[float, float] = {}
    with Supervisor(workdir / "logs") as sup:
        sup.start(
            f"ingest-{mode}",
            blueranch_command(
                "ingest",
                "run",
                "--mqtt",
                broker.url,
                "--influx",
                influx_url,
                "--database",
                client.database,
                "--config",
                str(ingest_cfg),
            ),
        )
        time.sleep(2.0)  # the ingest subscribes (its start-up is not what is measured)
        t0 = time.perf_counter()
        sup.start(f"edge-{mode}", blueranch_command("edge", "run", "--config", str(edge_cfg)))
        while True:
            got = count_points(client, site)
            now = time.perf_counter()
            for frac in (0.1, 0.9):
                if got >= frac * want and frac not in marks:
                    marks[frac] = now
            if got >= want:
                break
            if now - t0 > 900:
                raise RuntimeError(f"{mode}: {got} of {want} points after 15 min")
            time.sleep(0.1)  # polling the database we measure; not test synchronisation
        total = time.perf_counter() - t0
        wait_until(lambda: json.loads(status.read_text()).get("buffer_messages") == 0, 120, 0.2, "buffer empty")
        sup.stop(f"edge-{mode}")
        sup.stop(f"ingest-{mode}")
    final = json.loads(status.read_text())
    span = marks[0.9] - marks[0.1]
    steady = 0.8 * n / span if span > 0.5 else n / total  # a tiny run lands 10 % and 90 % in one poll
    return {
        f"ack_{mode}_msgs_per_s": steady,
        f"ack_{mode}_total_s": total,
        f"ack_{mode}_points": count_points(client, site),
        f"ack_{mode}_resent": final.get("resent", 0),
    }


def run(ctx) -> dict:
    n = ctx.size(30000, 4000, 300)
    results: dict = {"ack_messages": n, "ack_samples_per_message": SAMPLES}
    broker = Mosquitto(ctx.workdir / "ack-mosquitto").start()
    influx = InfluxDB(ctx.workdir / "ack-influxdb").start()
    runs: dict[str, list[dict]] = {"puback": [], "commit": []}
    order = ["puback", "commit"] if ctx.quick else ["puback", "commit", "commit", "puback"]  # ABBA: drift cancels
    try:
        for i, mode in enumerate(order):
            runs[mode].append(deliver(ctx.workdir, broker, influx.url, mode, n, i))
    finally:
        broker.stop()
        influx.stop()
    for figures in runs.values():
        for key in figures[0]:
            values = [f[key] for f in figures]
            results[key] = sum(values) / len(values) if key.endswith(("_per_s", "_s")) else max(values)
    results["ack_commit_vs_puback"] = results["ack_commit_msgs_per_s"] / results["ack_puback_msgs_per_s"]
    for mode in runs:  # a figure from a run that lost or doubled points would measure something else
        if results[f"ack_{mode}_points"] != n * SAMPLES:
            raise RuntimeError(f"ack_{mode}_points {results[f'ack_{mode}_points']}, expected {n * SAMPLES}")
    return results


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["ack", *sys.argv[1:]]))
