"""Edge agent benchmark: raw limits of this machine, then the agent, side by side in one run.

Raw limits (same machine, same run):
- ``edge_raw_paho_qos1_pub_msgs_per_s``: one paho client publishing QoS 1 telemetry-sized messages to a local
  Mosquitto, 100 in flight, counted on PUBACK (the ceiling for a replay over MQTT from Python).
- ``edge_raw_sqlite_full_commits_per_s``: single-row commits with WAL + synchronous=FULL (the ceiling for
  durable polls per second on this disk).

The agent (a ``blueranch edge run`` process, as deployed):
- polling 10 simulated sensors at 1 Hz (the simulator's ``dachen`` buoys: 3 SDI-12 sondes, 2 NMEA
  GPS/weather stations, 5 Modbus slaves) with all five QARTOD tests on every quantity (:func:`bench_qc`):
  ``edge_poll_cpu_pct`` (of one core), ``edge_poll_rss_mb`` (peak resident), ``edge_poll_readings_per_s``.
  Target: RSS < 60 MB.
- the QC history those tests keep once their windows are full (flat line 6 h, attenuated signal 1 h, at
  1 Hz; the agent polled for 30 s has not filled them yet): ``edge_qc_history_mb`` (Python allocations of
  the engine after feeding 6 hours, 1 with --quick, of 1 Hz readings of the same quantities in process),
  ``edge_qc_us_per_reading``, and ``edge_poll_rss_full_history_mb`` = peak RSS + that history.
- replaying a 24-hour backlog of that buoy (10 sensors every 10 s, ~4.6 readings per message; 2 hours with
  --quick) after an outage: ``edge_replay_readings_per_s`` (target >= 5,000), ``edge_replay_msgs_per_s``,
  ratio to the raw paho rate, and ``edge_replay_rss_mb`` (target < 60 MB).
- ``edge_outage_*``: the broker stopped for ``EDGE_BENCH_OUTAGE_S`` (120 s, the issue's 2 minutes; 20 s with
  --quick) while the agent polls; every (device, seq) must arrive, in order within live and within backfill.

Five other engineers share this 2-core machine: figures are noisy; compare ratios.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from blueranch.contracts import mqtt as contract
from blueranch.contracts.quantities import QUANTITIES
from blueranch.edge import status as edge_status
from blueranch.edge.buffer import Buffer
from blueranch.mqttc import connect_properties, make_client, parse_url
from blueranch.procs import Supervisor, blueranch_command
from blueranch.sim.physics.environment import WATER_QUANTITIES
from blueranch.testing.services import Mosquitto
from blueranch.testing.wait import wait_until

REPO = Path(__file__).resolve().parents[1]
#: What the simulated sonde reports, in its aD0! order.
SONDE = list(WATER_QUANTITIES)
#: the ten sensors: (id, pty link, readings per poll) -- the poll sizes of the simulator's devices
SENSORS = [
    ("sonde-1", 9),
    ("sonde-2", 9),
    ("sonde-3", 9),
    ("gps-1", 8),
    ("gps-2", 8),
    ("lc-m1-01", 1),
    ("lc-m1-02", 1),
    ("pwr-1", 4),
    ("pwr-2", 4),
    ("energy-1", 2),
]


def _proc_stats(pid: int) -> tuple[float, float, float]:
    """(cpu seconds, RSS MB, peak RSS MB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status") if ":" in line)
    return cpu, int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def raw_paho(broker: Mosquitto, n: int, body: bytes) -> float:
    u = parse_url(broker.url)
    c = make_client("bench-raw-pub", clean=True)
    c.max_inflight_messages_set(100)
    c.max_queued_messages_set(0)
    acked = threading.Semaphore(0)
    c.on_publish = lambda *a: acked.release()
    c.connect(u.host, u.port)
    c.loop_start()
    t0 = time.perf_counter()
    for _ in range(n):
        c.publish("bench/raw", body, qos=1)
    for _ in range(n):
        acked.acquire(timeout=60)
    rate = n / (time.perf_counter() - t0)
    c.disconnect()
    c.loop_stop()
    return rate


def raw_sqlite(path: Path, n: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
    t0 = time.perf_counter()
    for i in range(n):
        db.execute("INSERT INTO t VALUES (?, ?)", (i, b"x" * 600))
    rate = n / (time.perf_counter() - t0)
    db.close()
    return rate


def sensor_configs(pty: Path, interval_s: float) -> list[dict]:
    deploy = yaml.safe_load((REPO / "deploy/blueranch/edge-buoy-01.yaml").read_text())
    by_id = {s["id"]: s for s in deploy["sensors"]}
    out = []
    for sid, _ in SENSORS:
        base = (
            by_id.get(sid)
            or by_id[{"sonde-2": "sonde-1", "sonde-3": "sonde-1", "gps-2": "gps-1", "pwr-2": "pwr-1"}.get(sid, "pwr-1")]
        )
        s = {**base, "id": sid, "port": str(pty / sid), "interval_s": interval_s}
        if sid == "sonde-3":
            s["address"] = "1"
        if sid == "energy-1":
            s = {
                "id": sid,
                "driver": "modbus_rtu",
                "port": str(pty / sid),
                "slave_id": 1,
                "interval_s": interval_s,
                "registers": [{"address": 0, "quantity": "grid_kwh_total"}, {"address": 2, "quantity": "power_kw"}],
            }
        out.append(s)
    return out


#: quantities the ten sensors emit (their drivers' configs as the bench writes them)
POLL_QUANTITIES = SONDE + ["lat_deg", "lon_deg", "gps_sats", "hdop", "speed_kn", "course_deg"]
POLL_QUANTITIES += ["wind_speed_m_s", "wind_dir_deg", "load_kg", "battery_v", "solar_a", "enclosure_rh_pct"]
POLL_QUANTITIES += ["rssi_dbm", "grid_kwh_total", "power_kw", "air_pressure_hpa"]


def bench_qc(quantities: list[str]) -> dict:
    """Every QARTOD test on every quantity: flat line suspect 3 h / fail 6 h (the shipped defaults' windows),
    attenuated signal over 1 h (it keeps every reading of its window: 18 bytes each, so 6 h at 1 Hz would
    be 390 KB per quantity). The windows, not the thresholds, matter here: these are not a site's."""
    out = {}
    for q in quantities:
        lo, hi = QUANTITIES[q].gross_min, QUANTITIES[q].gross_max
        span = hi - lo
        out[q] = {
            "gross_range": {"fail_span": [lo, hi]},
            "spike": {"suspect_threshold": span / 100, "fail_threshold": span / 10, "method": "differential"},
            "rate_of_change": {"threshold_per_s": span / 100},
            "flat_line": {"tolerance": span * 1e-9, "suspect_s": 10800, "fail_s": 21600},
            "attenuated_signal": {
                "suspect_threshold": span * 1e-8,
                "fail_threshold": span * 1e-9,
                "test_period_s": 3600,
            },
        }
    return out


def qc_history(hours: float) -> dict:
    """Feed ``hours`` of 1 Hz readings of every polled quantity (10 sensors) through the engine in process and
    measure what its state holds (tracemalloc) and what a reading costs."""
    import random
    import tracemalloc

    from blueranch.edge.qc import QcEngine, QuantityQc
    from blueranch.edge.reading import Reading

    per_sensor = {sid: n for sid, n in SENSORS}
    series = [(sid, q) for sid in per_sensor for q in POLL_QUANTITIES[: per_sensor[sid]]]
    qc = {q: QuantityQc.model_validate(c) for q, c in bench_qc(sorted({q for _, q in series})).items()}
    t0 = datetime(2026, 11, 21, tzinfo=UTC)

    def feed(engine: QcEngine, seconds: int) -> None:
        rnd = random.Random(1)
        level = {k: (QUANTITIES[k[1]].gross_min + QUANTITIES[k[1]].gross_max) / 2 for k in series}
        for i in range(seconds):
            t = t0 + timedelta(seconds=i)
            for k in series:
                level[k] += rnd.gauss(0, 1e-3)
                engine.push(Reading(k[0], k[1], level[k], t))

    cpu0 = time.process_time()
    feed(QcEngine(qc), 600)  # CPU first, without tracemalloc (which slows allocation several times)
    cpu = time.process_time() - cpu0
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    engine = QcEngine(qc)
    feed(engine, int(hours * 3600))
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    n = 600
    return {
        "edge_qc_history_hours": hours,
        "edge_qc_series": len(series),
        "edge_qc_history_mb": held / 2**20,
        "edge_qc_us_per_reading": 1e6 * cpu / (n * len(series)),
    }


def write_config(path: Path, broker_url: str, sensors: list[dict], buffer: Path, **extra) -> Path:
    cfg = {
        "site": "dachen",
        "device": "buoy-01",
        # no ingest here (the edge alone is measured): the broker's PUBACK deletes (docs/edge.md, "Delivery")
        "mqtt": {
            "url": broker_url,
            "delivery": "puback",
            "reconnect_min_s": 0.5,
            "reconnect_max_s": 2.0,
            "status_interval_s": 5,
        },
        "buffer": {"path": str(buffer)},
        "qc": bench_qc(POLL_QUANTITIES),
        "sensors": sensors,
        **extra,
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def status(cfg: Path) -> dict:
    """The agent's status file (rewritten every second; read directly so that measuring costs no CPU)."""
    buffer = Path(yaml.safe_load(cfg.read_text())["buffer"]["path"])
    try:
        return edge_status.read(buffer.with_suffix(".status.json"))
    except (FileNotFoundError, ValueError):
        return {}


def poll_load(ctx, broker: Mosquitto, pty: Path, window_s: float) -> dict:
    cfg = write_config(ctx.workdir / "poll.yaml", broker.url, sensor_configs(pty, 1.0), ctx.workdir / "poll.sqlite")
    with Supervisor(ctx.workdir / "logs") as sup:
        proc = sup.start("edge-poll", blueranch_command("edge", "run", "--config", str(cfg)))
        wait_until(lambda: status(cfg).get("acked", 0) > 20, 60, 0.5, "agent polling")
        cpu0, _, _ = _proc_stats(proc.pid)
        s0, t0 = status(cfg), time.perf_counter()
        time.sleep(window_s)  # the measurement window itself
        cpu1, rss, hwm = _proc_stats(proc.pid)
        s1, t1 = status(cfg), time.perf_counter()
        sup.stop("edge-poll")
    polls = sum(v["polls"] for v in s1["sensors"].values()) - sum(v["polls"] for v in s0["sensors"].values())
    return {
        "edge_poll_cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
        "edge_poll_rss_mb": rss,
        "edge_poll_peak_rss_mb": hwm,
        "edge_poll_polls_per_s": polls / (t1 - t0),
        "edge_poll_msgs_per_s": (s1["acked"] - s0["acked"]) / (t1 - t0),
    }


def backlog_bodies(hours: float, interval_s: float) -> list[tuple[bytes, int, float]]:
    start = datetime.now(UTC) - timedelta(hours=hours)
    out = []
    seq = 1
    n = int(hours * 3600 / interval_s)
    quantities = {
        "sonde": SONDE,
        "gps": [
            "lat_deg",
            "lon_deg",
            "gps_sats",
            "hdop",
            "speed_kn",
            "course_deg",
            "wind_speed_m_s",
            "air_pressure_hpa",
        ],
        "lc": ["load_kg"],
        "pwr": ["battery_v", "solar_a", "enclosure_rh_pct", "rssi_dbm"],
        "energy": ["grid_kwh_total", "power_kw"],
    }
    for i in range(n):
        t = start + timedelta(seconds=i * interval_s)
        for sid, _ in SENSORS:
            qs = quantities[sid.split("-")[0]]
            samples = [
                contract.Sample(
                    time=t,
                    sensor=sid,
                    quantity=q,
                    value=round(
                        (QUANTITIES[q].gross_min + QUANTITIES[q].gross_max) / 2
                        if q not in ("lat_deg", "lon_deg")
                        else 28.46,
                        3,
                    ),
                    unit=QUANTITIES[q].unit,
                    qc=1,
                    farm="mussel-1",
                )
                for q in qs
            ]
            body = contract.Telemetry(device="buoy-01", seq=seq, samples=samples).to_json()
            out.append((body, len(samples), t.timestamp()))
            seq += 1
    return out


def replay(ctx, broker: Mosquitto, hours: float, raw_rate: float) -> dict:
    buf_path = ctx.workdir / "replay.sqlite"
    bodies = backlog_bodies(hours, 10.0)
    b = Buffer(buf_path)
    b.append_many(bodies)
    readings, messages = b.readings, b.messages
    b.close()
    idle = [{"id": "idle-node", "driver": "mqtt_node", "broker_url": broker.url, "node": "nobody", "interval_s": 60}]
    cfg = write_config(ctx.workdir / "replay.yaml", broker.url, idle, buf_path)
    with Supervisor(ctx.workdir / "logs") as sup:
        t0 = time.perf_counter()
        proc = sup.start("edge-replay", blueranch_command("edge", "run", "--config", str(cfg)))
        peak = 0.0
        while True:
            try:
                peak = max(peak, _proc_stats(proc.pid)[2])
            except (FileNotFoundError, ProcessLookupError):
                break
            st = status(cfg)
            if st.get("buffer_depth", 1) == 0 and st.get("acked", 0) >= messages:
                break
            if time.perf_counter() - t0 > 1800:
                raise RuntimeError(f"replay did not finish within 30 min: {st}")
            time.sleep(0.2)  # polling a process we measure; not test synchronisation
        took = time.perf_counter() - t0
        sup.stop("edge-replay")
    return {
        "edge_replay_backlog_hours": hours,
        "edge_replay_readings": readings,
        "edge_replay_messages": messages,
        "edge_replay_s": took,
        "edge_replay_readings_per_s": readings / took,
        "edge_replay_msgs_per_s": messages / took,
        "edge_replay_vs_raw_paho": messages / took / raw_rate,
        "edge_replay_target_ratio": readings / took / 5000,
        "edge_replay_rss_mb": peak,
    }


def outage(ctx, pty: Path, outage_s: float) -> dict:
    broker = Mosquitto(ctx.workdir / "mosquitto-outage").start()  # services.py writes the one ``user`` line
    seen: list[tuple[int, bool]] = []
    u = parse_url(broker.url)
    col = make_client("bench-outage-collector", clean=False)
    col.on_connect = lambda c, *a: c.subscribe(contract.telemetry_topic("dachen", "buoy-01"), qos=1)
    col.on_message = lambda c, u_, m: seen.append((json.loads(m.payload)["seq"], json.loads(m.payload)["backfill"]))
    col.reconnect_delay_set(0.2, 1)
    col.connect_async(u.host, u.port, clean_start=False, properties=connect_properties(3600))
    col.loop_start()
    cfg = write_config(ctx.workdir / "outage.yaml", broker.url, sensor_configs(pty, 1.0), ctx.workdir / "outage.sqlite")
    try:
        with Supervisor(ctx.workdir / "logs") as sup:
            sup.start("edge-outage", blueranch_command("edge", "run", "--config", str(cfg)))
            wait_until(lambda: len(seen) > 20, 60, 0.2, "live before the outage")
            broker.stop()
            time.sleep(outage_s)  # the outage under test
            buffered = status(cfg)["buffer_depth"]
            broker.start()
            t0 = time.perf_counter()
            wait_until(lambda: status(cfg)["buffer_depth"] < 50, 600, 0.5, "backlog drained")
            drained = time.perf_counter() - t0
            sup.stop("edge-outage")
        last = status(cfg)
        wait_until(
            lambda: max(s for s, _ in seen) >= last["next_seq"] - 1 - last["buffer_messages"],
            60,
            0.2,
            "acked messages delivered",
        )
    finally:
        col.disconnect()
        col.loop_stop()
        broker.stop()
    first: dict[int, bool] = {}
    for s, bf in seen:
        first.setdefault(s, bf)
    top = max(first)
    missing = len(set(range(1, top + 1)) - set(first))
    order = [s for s, _ in seen]
    live = [s for s, bf in first.items() if not bf]
    backfill = [s for s, bf in first.items() if bf]
    in_order = live == sorted(live) and backfill == sorted(backfill)
    return {
        "edge_outage_s": outage_s,
        "edge_outage_buffered_readings": buffered,
        "edge_outage_missing_seqs": missing,
        "edge_outage_duplicates": len(order) - len(first),
        "edge_outage_in_order": "yes" if in_order else "NO",
        "edge_outage_drain_s": drained,
    }


def run(ctx) -> dict:
    results: dict = {}
    broker = Mosquitto(ctx.workdir / "mosquitto").start()
    pty = ctx.workdir / "pty"
    try:
        body = backlog_bodies(1 / 360, 10.0)[0][0]
        results["edge_raw_paho_qos1_pub_msgs_per_s"] = raw_paho(broker, ctx.size(20000, 5000, 200), body)
        results["edge_raw_sqlite_full_commits_per_s"] = raw_sqlite(ctx.workdir / "raw.sqlite", 300)
        with Supervisor(ctx.workdir / "logs") as sim:
            sim.start("sim", blueranch_command("sim", "run", "--scenario", "dachen", "--pty-dir", str(pty)))
            wait_until(lambda: all((pty / s).exists() for s, _ in SENSORS), 60, 0.2, "simulator links")
            results.update(poll_load(ctx, broker, pty, ctx.size(30, 10, 2)))
            results.update(qc_history(ctx.size(6, 1, 0.02)))
            results["edge_poll_rss_full_history_mb"] = results["edge_poll_peak_rss_mb"] + results["edge_qc_history_mb"]
            results["edge_poll_rss_target_ratio"] = results["edge_poll_rss_full_history_mb"] / 60
            results.update(replay(ctx, broker, ctx.size(24, 2, 0.05), results["edge_raw_paho_qos1_pub_msgs_per_s"]))
            outage_s = float(os.environ.get("EDGE_BENCH_OUTAGE_S", ctx.size("120", "20", "2")))
            results.update(outage(ctx, pty, outage_s))
    finally:
        broker.stop()
    return results


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["edge", *sys.argv[1:]]))
