"""Ingest benchmark: the machine's raw limits, then the ingest end to end, side by side in one run.

Raw limits (same machine, same run):
- ``raw_mosquitto_qos1_msgs_per_s``: Mosquitto's own C clients, ``mosquitto_pub -l`` -> ``mosquitto_sub``, QoS 1.
- ``raw_paho_qos1_msgs_per_s``: one paho process receiving QoS 1 (auto-ack) from a pre-filled session.
- ``raw_influx_points_per_s``: pre-serialised line protocol, batches of 5,000, two concurrent writers.

Ingest (a CLI worker process, as deployed), each draining a pre-filled persistent session, so the figure
is the sustained rate the ingest can absorb, not the publisher's:
- (a) ``ingest_single_msgs_per_s``: one sample per message, one worker (target >= 80 % of raw paho).
- (b) ``ingest_batched_points_per_s``: 50 samples per message, two workers (target >= 100,000 points/s
  and >= 50 % of raw InfluxDB).
- ``ingest_p99_latency_s``: publish -> queryable at 20 % of (a)'s rate (target < 1 s).
- ``naive_msgs_per_s``: paho ``on_message`` doing one HTTP write per message (the usual first attempt).
- ``ingest_outage_points_lost``: InfluxDB killed for 60 s (10 s with --quick) under load, then restarted.
- ``node_red_msgs_per_s``: Node-RED + node-red-contrib-influxdb (mqtt in -> function -> influxdb out), installed
  with npm into ``~/.cache/blueranch-bench/node-red`` if that takes less than 150 s; skipped otherwise.

Five other engineers share this 2-core machine while these run: figures are noisy; compare ratios.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import requests
import yaml

from blueranch.contracts import mqtt as contract
from blueranch.contracts.query import Between, TagEq, window
from blueranch.influxdb import InfluxClient
from blueranch.mqttc import make_client, parse_url
from blueranch.procs import blueranch_command
from blueranch.reader import Reader
from blueranch.testing.ingest_checks import count_points
from blueranch.testing.loadgen import Publisher, payload, stream
from blueranch.testing.services import InfluxDB, Mosquitto, find_binary
from blueranch.testing.wait import wait_until

DEVICES = ["buoy-01", "buoy-02", "buoy-03", "buoy-04"]


def _preload(broker: Mosquitto, site: str, messages: int, samples: int, start_ms: int) -> float:
    """Publish ``messages`` with ``mosquitto_pub -l`` (one run per device); return the seconds it took."""
    pub = find_binary("mosquitto_pub", ("/usr/bin/mosquitto_pub",))
    per_device = messages // len(DEVICES)
    t0 = time.perf_counter()
    for k, device in enumerate(DEVICES):
        body = (
            b"\n".join(payload(device, seq, start_ms + k * messages * samples, samples) for seq in range(per_device))
            + b"\n"
        )
        subprocess.run(
            [
                pub,
                "-p",
                str(broker.port),
                "-q",
                "1",
                "-l",
                "-t",
                contract.telemetry_topic(site, device),
                "-i",
                f"pre-{site}-{k}",
            ],
            input=body,
            check=True,
        )
    return time.perf_counter() - t0


def raw_mosquitto(broker: Mosquitto, n: int) -> float:
    sub = find_binary("mosquitto_sub", ("/usr/bin/mosquitto_sub",))
    pub = find_binary("mosquitto_pub", ("/usr/bin/mosquitto_pub",))
    common = ["-p", str(broker.port), "-q", "1", "-t", "bench/raw", "-i", "rawsub", "-c"]
    subprocess.run([sub, *common, "-E"], check=True)  # create the persistent session
    body = payload("buoy-01", 1, 1_795_000_000_000) + b"\n"
    t0 = time.perf_counter()
    # -W: a time limit (mosquitto_pub -l lost messages in one run of 100,000 lines here; 20,000 never did)
    receiver = subprocess.Popen([sub, *common, "-C", str(n), "-W", "120"], stdout=subprocess.PIPE)
    got = [0, t0]

    def count() -> None:
        for _ in receiver.stdout:
            got[0] += 1
            got[1] = time.perf_counter()

    counter = threading.Thread(target=count)
    counter.start()
    subprocess.run([pub, "-p", str(broker.port), "-q", "1", "-l", "-t", "bench/raw"], input=body * n, check=True)
    receiver.wait(900)
    counter.join()
    if got[0] < n:
        print(f"   note: mosquitto_sub received {got[0]} of {n} messages")
    return got[0] / (got[1] - t0)


def raw_paho(broker: Mosquitto, n: int) -> float:
    """One paho process draining a pre-filled persistent session at QoS 1 (paho acknowledges)."""
    u = parse_url(broker.url)
    got = threading.Event()
    count = [0]
    client = make_client("paho-raw", clean=False)

    def on_message(c, ud, m):
        count[0] += 1
        if count[0] == n:
            got.set()

    client.on_message = on_message
    subscribed = threading.Event()
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect(u.host, u.port, clean_start=False, properties=_session_props())
    client.subscribe(contract.TELEMETRY_FILTER.replace("+/+", "paho/+"), qos=1)
    client.loop_start()
    subscribed.wait(30)
    client.disconnect()
    client.loop_stop()
    _preload(broker, "paho", n, 1, 1_795_000_000_000)
    t0 = time.perf_counter()
    client.connect(u.host, u.port, clean_start=False, properties=_session_props())
    client.loop_start()
    if not got.wait(600):
        raise RuntimeError(f"paho received {count[0]} of {n}")
    rate = n / (time.perf_counter() - t0)
    client.disconnect()
    client.loop_stop()
    return rate


def _session_props():
    from blueranch.mqttc import connect_properties

    return connect_properties(3600)


def raw_influx(server: InfluxDB, total_points: int) -> float:
    client = InfluxClient(server.url, "rawbench")
    client.ensure_database()
    t_base = 1_795_000_000_000 - 86400_000
    batches = []
    for b in range(total_points // 5000):
        batches.append(
            "\n".join(
                f"water_quality,device={DEVICES[i % 4]},sensor=sonde-1,site=raw do_mg_l=7.25,do_mg_l_qc=1i "
                f"{t_base + b * 5000 + i}"
                for i in range(5000)
            ).encode()
        )
    lock = threading.Lock()

    def writer():
        c = InfluxClient(server.url, "rawbench")
        while True:
            with lock:
                if not batches:
                    return
                body = batches.pop()
            c.write(body, retention_policy="raw")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return total_points / (time.perf_counter() - t0)


class IngestRun:
    """``blueranch ingest run`` as a child process with its own client ids (so its own sessions)."""

    def __init__(
        self,
        workdir: Path,
        broker: Mosquitto,
        server: InfluxDB,
        database: str,
        name: str,
        workers: int,
        metrics_port: int | None = None,
        **config,
    ):
        self.metrics_urls = (
            [] if metrics_port is None else [f"http://127.0.0.1:{metrics_port + i}/metrics" for i in range(workers)]
        )
        self.cfg = workdir / f"{name}.yaml"
        self.cfg.write_text(yaml.safe_dump({"client_id": name, "group": name, **config}))
        self.cmd = blueranch_command(
            "ingest",
            "run",
            "--mqtt",
            broker.url,
            "--influx",
            server.url,
            "--database",
            database,
            "--workers",
            str(workers),
            "--config",
            str(self.cfg),
            "--log-level",
            "WARNING",
            *([] if metrics_port is None else ["--metrics-port", str(metrics_port)]),
        )
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(120)


def ingest_drain(ctx, broker, server, client, name: str, workers: int, messages: int, samples: int) -> float:
    run = IngestRun(ctx.workdir, broker, server, client.database, name, workers, metrics_port=_free_ports(workers))
    run.start()  # create the persistent sessions and subscriptions
    wait_until(lambda: _probe(broker, client, name), 60, 0.5, message=f"{name} subscribed")
    run.stop()
    _preload(broker, name, messages, samples, int(time.time() * 1000) - 86400_000)
    run.start()
    try:
        rate = _drain_rate_from_counters(run, messages * samples)
        # and InfluxDB holds every point (polled slowly: it is not part of the figure)
        wait_until(lambda: count_points(client, name) >= messages * samples, 300, 0.5, message=f"{name} in InfluxDB")
        return rate
    finally:
        run.stop()


def _points_written(run: IngestRun) -> int:
    """The workers' own count of points InfluxDB accepted (``blueranch_ingest_points_total``, Prometheus)."""
    total = 0
    for url in run.metrics_urls:
        try:
            text = requests.get(url, timeout=2).text
        except requests.RequestException:
            continue  # not serving yet
        for line in text.splitlines():
            if line.startswith("blueranch_ingest_points_total "):
                total += int(float(line.split()[1]))
    return total


def _drain_rate_from_counters(run: IngestRun, expected: int, timeout_s: float = 900) -> float:
    """Points per second between the first and the last batch written, read from the workers' counters.

    Counting in InfluxDB every 50 ms (``count()`` over everything written so far) costs InfluxDB more CPU
    the more it holds, and took a third of the rate away from the ingest while the raw figure pays nothing
    of the kind; the counters cost nothing to the database. ``ingest_drain`` checks InfluxDB's count after.
    """
    t_start = time.perf_counter()
    wait_until(lambda: _points_written(run) > 0, 120, 0.02, message="first points written")
    t0, c0 = time.perf_counter(), _points_written(run)
    wait_until(lambda: _points_written(run) >= expected, timeout_s, 0.02, message="all points written")
    if c0 >= expected:
        return expected / (time.perf_counter() - t_start)
    return (expected - c0) / (time.perf_counter() - t0)


def _free_ports(n: int) -> int:
    """A base port with ``n`` free ports after it (worker i of N serves metrics on base + i - 1)."""
    from blueranch.testing.services import free_port

    while True:
        base = free_port()
        if base + n <= 65535 and all(_port_free(base + i) for i in range(1, n)):
            return base


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _probe(broker, client, name, site: str | None = None) -> bool:
    """Publish one message to a side site; true once a worker wrote one (i.e. the workers are subscribed)."""
    site = site or f"{name}-probe"
    pub = Publisher(broker.url, f"probe-{name}")
    pub.publish_all(stream(site, ["probe"], 1))
    pub.close()
    return count_points(client, site) > 0


def latency_p99(ctx, broker, server, client, rate_per_s: float, duration_s: float) -> tuple[float, float]:
    run = IngestRun(ctx.workdir, broker, server, client.database, "latency", 1)
    run.start()  # stopped in the finally below
    site = "latency"
    devices = [f"lat-{i:02d}" for i in range(16)]  # one point per device and millisecond at most
    seen: dict[tuple[str, int], float] = {}
    stop = threading.Event()

    def poll():
        last = 0
        while not stop.is_set():
            # 2 s of overlap: another device's point of the same millisecond may land in a later batch
            q = window(
                "water_quality",
                ("do_mg_l",),
                Between(last - 1999),
                where=(TagEq("site", site),),
                tag_columns=("device",),
            )
            s = poll_reader.run(q)
            now = time.time()
            for t_ms, _, device in s[0].values if s else []:
                seen.setdefault((device, t_ms), now)
                last = max(last, t_ms)
            stop.wait(0.02)

    wait_until(lambda: _probe(broker, client, "latency"), 60, 0.5, message="latency worker subscribed")
    poll_reader = Reader(InfluxClient(server.url, client.database))
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    pub = Publisher(broker.url, "latency-pub")
    n = max(10, int(rate_per_s * duration_s))
    sent_at: dict[tuple[str, int], float] = {}  # (device, sample time) -> wall time of the publish

    def messages():
        last = dict.fromkeys(devices, 0)
        for i in range(n):
            device = devices[i % len(devices)]
            now = time.time()
            t_ms = max(int(now * 1000), last[device] + 1)
            last[device] = t_ms
            sent_at[(device, t_ms)] = now
            yield contract.telemetry_topic(site, device), payload(device, 0, t_ms)

    try:
        pub.publish_all(messages(), rate_per_s=rate_per_s)
        pub.close()
        wait_until(lambda: len(seen) >= n, 120, 0.1, message=f"latency samples queryable (of {n})")
    finally:
        stop.set()
        poller.join()
        run.stop()
    lat = sorted(seen[k] - sent for k, sent in sent_at.items())
    return lat[int(0.99 * (len(lat) - 1))], lat[len(lat) // 2]


def naive(broker: Mosquitto, server: InfluxDB, n: int) -> float:
    """The usual first attempt: paho on_message -> one HTTP write per message (auto-ack: not even safe)."""
    from blueranch.contracts.lineprotocol import telemetry_lines

    db = InfluxClient(server.url, "naive")
    db.ensure_database()
    u = parse_url(broker.url)
    done = threading.Event()
    count = [0]
    client = make_client("naive", clean=False)

    def on_message(c, ud, m):
        parts = contract.parse_topic(m.topic)
        msg = contract.parse_telemetry(m.payload, parts)
        db.write("\n".join(telemetry_lines(parts.site, msg)).encode())
        count[0] += 1
        if count[0] == n:
            done.set()

    client.on_message = on_message
    sub = threading.Event()
    client.on_subscribe = lambda *a: sub.set()
    client.connect(u.host, u.port, clean_start=False, properties=_session_props())
    client.subscribe(contract.TELEMETRY_FILTER.replace("+/+", "naive/+"), qos=1)
    client.loop_start()
    sub.wait(30)
    client.disconnect()
    client.loop_stop()
    _preload(broker, "naive", n, 1, int(time.time() * 1000) - 86400_000)
    t0 = time.perf_counter()
    client.connect(u.host, u.port, clean_start=False, properties=_session_props())
    client.loop_start()
    done.wait(600)
    rate = count[0] / (time.perf_counter() - t0)
    client.disconnect()
    client.loop_stop()
    return rate


def outage(ctx, broker, outage_s: float, n: int = 20_000) -> int:
    """Kill InfluxDB for ``outage_s`` under load; return the points lost (0 = all arrived, none twice)."""
    server = InfluxDB(ctx.workdir / "influx-outage").start()
    client = InfluxClient(server.url, "outage")
    client.ensure_database()
    run = IngestRun(ctx.workdir, broker, server, "outage", "outage", 1)
    run.start()
    try:
        wait_until(lambda: _probe(broker, client, "outage"), 60, 0.5, message="outage worker subscribed")
        samples = 5
        pub = Publisher(broker.url, "outage-pub")
        msgs = stream("outage-load", DEVICES, n, samples)
        loader = threading.Thread(target=pub.publish_all, args=(msgs,), kwargs={"rate_per_s": n / (outage_s + 20)})
        loader.start()
        wait_until(lambda: count_points(client, "outage-load") > min(1000, n), 60, 0.1, message="load flowing")
        server.kill()
        time.sleep(outage_s)  # the outage itself
        server.start()
        loader.join()
        pub.close()
        wait_until(lambda: count_points(client, "outage-load") >= n * samples, 600, 0.5, message="catch-up")
        return n * samples - count_points(client, "outage-load")
    finally:
        run.stop()
        server.stop()


NODE_RED_DIR = Path.home() / ".cache" / "blueranch-bench" / "node-red"
NODE_RED_FUNCTION = """
const m = msg.payload, s = m.samples[0];
msg.payload = [{do_mg_l: s.value, do_mg_l_qc: s.qc, time: Date.parse(s.time)},
               {site: msg.topic.split('/')[2], device: m.device, sensor: s.sensor}];
return msg;
"""


def _node_red_installed() -> Path | str:
    red = NODE_RED_DIR / "node_modules" / "node-red" / "red.js"
    if red.exists() and (NODE_RED_DIR / "node_modules" / "node-red-contrib-influxdb").exists():
        return red
    NODE_RED_DIR.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(NODE_RED_DIR),
                "node-red",
                "node-red-contrib-influxdb",
            ],
            check=True,
            timeout=150,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"skipped: npm install did not succeed within 150 s ({type(exc).__name__})"
    return red


def node_red(ctx, broker: Mosquitto, server: InfluxDB, n: int) -> float | str:
    """The same job in Node-RED: one HTTP write per message, QoS 1 acknowledged on receipt."""
    red = _node_red_installed()
    if isinstance(red, str):
        return red
    import json

    client = InfluxClient(server.url, "nodered")
    client.ensure_database()
    user_dir = ctx.workdir / "node-red"
    user_dir.mkdir(exist_ok=True)
    flows = [
        {"id": "t1", "type": "tab", "label": "ingest"},
        {
            "id": "b1",
            "type": "mqtt-broker",
            "broker": "127.0.0.1",
            "port": str(broker.port),
            "clientid": "nodered",
            "autoConnect": True,
            "usetls": False,
            "protocolVersion": "4",
            "keepalive": "60",
            "cleansession": False,
        },
        {
            "id": "i1",
            "type": "influxdb",
            "hostname": "127.0.0.1",
            "port": str(server.port),
            "protocol": "http",
            "database": "nodered",
            "name": "db",
            "usetls": False,
            "influxdbVersion": "1.x",
        },
        {
            "id": "in",
            "type": "mqtt in",
            "z": "t1",
            "topic": contract.TELEMETRY_FILTER.replace("+/+", "nodered/+"),
            "qos": "1",
            "datatype": "json",
            "broker": "b1",
            "wires": [["fn"]],
        },
        {"id": "fn", "type": "function", "z": "t1", "func": NODE_RED_FUNCTION, "outputs": 1, "wires": [["out"]]},
        {
            "id": "out",
            "type": "influxdb out",
            "z": "t1",
            "influxdb": "i1",
            "measurement": "water_quality",
            "precision": "ms",
            "retentionPolicy": "raw",
            "wires": [],
        },
    ]
    (user_dir / "flows.json").write_text(json.dumps(flows))
    from blueranch.testing.services import free_port

    cmd = ["node", str(red), "--userDir", str(user_dir), "--port", str(free_port()), "flows.json"]
    log = open(ctx.workdir / "node-red.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _probe(broker, client, "nodered", site="nodered"), 90, 1.0, message="Node-RED subscribed")
        # published live by mosquitto_pub (faster than Node-RED): the broker queues, Node-RED drains
        base = count_points(client, "nodered")
        loader = threading.Thread(target=_preload, args=(broker, "nodered", n, 1, int(time.time() * 1000) - 86400_000))
        loader.start()
        wait_until(lambda: count_points(client, "nodered") > base, 120, 0.05, message="Node-RED draining")
        t0, c0 = time.perf_counter(), count_points(client, "nodered")
        wait_until(lambda: count_points(client, "nodered") >= base + n, 600, 0.1, message="Node-RED drained")
        loader.join()
        return (base + n - c0) / (time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait(60)


def serializer_us_per_point(n: int = 50_000) -> dict[str, float]:
    from blueranch.contracts.influx import Point
    from blueranch.contracts.lineprotocol import line

    tags = {"site": "dachen", "device": "buoy-01", "sensor": "sonde-1", "farm": "mussel-1"}
    t0 = time.perf_counter()
    for i in range(n):
        line(Point("water_quality", tags, {"do_mg_l": 7.25, "do_mg_l_qc": 1}, 1_795_000_000_000 + i))
    out = {"serializer_blueranch_us_per_point": (time.perf_counter() - t0) / n * 1e6}
    try:
        from influxdb_client import Point as IPoint
        from influxdb_client import WritePrecision
    except ImportError:
        return out
    t0 = time.perf_counter()
    for i in range(n):
        p = IPoint("water_quality")
        for k, v in tags.items():
            p.tag(k, v)
        p.field("do_mg_l", 7.25).field("do_mg_l_qc", 1).time(1_795_000_000_000 + i, WritePrecision.MS)
        p.to_line_protocol()
    out["serializer_influxdb_client_us_per_point"] = (time.perf_counter() - t0) / n * 1e6
    return out


def run(ctx) -> dict:
    n = ctx.size
    r: dict[str, float | int | str] = _Progress()
    with Mosquitto(ctx.workdir / "mosquitto") as broker, InfluxDB(ctx.workdir / "influxdb") as server:
        client = InfluxClient(server.url, "ingestbench")
        client.ensure_database()
        for key, value in serializer_us_per_point(n(50_000, 50_000, 500)).items():
            r[key] = value
        r["raw_mosquitto_qos1_msgs_per_s"] = raw_mosquitto(broker, n(20_000, 20_000, 500))
        r["raw_paho_qos1_msgs_per_s"] = raw_paho(broker, n(60_000, 20_000, 500))
        r["raw_influx_points_per_s"] = raw_influx(server, n(1_000_000, 200_000, 10_000))
        r["ingest_single_msgs_per_s"] = ingest_drain(
            ctx, broker, server, client, "single", 1, n(60_000, 20_000, 400), 1
        )
        r["ingest_batched_points_per_s"] = ingest_drain(
            ctx, broker, server, client, "batched", 2, n(10_000, 2_000, 40), 50
        )
        rate = 0.2 * r["ingest_single_msgs_per_s"]
        r["ingest_p99_latency_s"], r["ingest_p50_latency_s"] = latency_p99(
            ctx, broker, server, client, rate, n(15, 5, 1)
        )
        r["ingest_latency_load_msgs_per_s"] = rate
        r["naive_msgs_per_s"] = naive(broker, server, n(3_000, 1_000, 100))  # multiples of 4 devices
        outage_s = n(60, 10, 1)
        r["ingest_outage_s"] = outage_s
        r["ingest_outage_points_lost"] = outage(ctx, broker, outage_s, n(20_000, 20_000, 400))
    r["ratio_ingest_single_vs_paho"] = r["ingest_single_msgs_per_s"] / r["raw_paho_qos1_msgs_per_s"]
    r["ratio_ingest_batched_vs_raw_influx"] = r["ingest_batched_points_per_s"] / r["raw_influx_points_per_s"]
    r["ratio_ingest_single_vs_naive"] = r["ingest_single_msgs_per_s"] / r["naive_msgs_per_s"]
    r["ratio_paho_vs_mosquitto_c"] = r["raw_paho_qos1_msgs_per_s"] / r["raw_mosquitto_qos1_msgs_per_s"]
    if ctx.tiny:  # the smoke run does not install Node-RED
        r["node_red_msgs_per_s"] = "skipped: tiny run"
    else:
        with Mosquitto(ctx.workdir / "mosquitto-nr") as broker, InfluxDB(ctx.workdir / "influxdb-nr") as server:
            r["node_red_msgs_per_s"] = node_red(ctx, broker, server, n(3_000, 1_000, 50))
    if isinstance(r["node_red_msgs_per_s"], float):
        r["ratio_ingest_single_vs_node_red"] = r["ingest_single_msgs_per_s"] / r["node_red_msgs_per_s"]
    _print_table(r)
    return dict(r)


class _Progress(dict):
    """Prints each figure as it is measured (a long run shows where it is)."""

    def __setitem__(self, key, value):
        print(f"   {key} = {value:,.3f}" if isinstance(value, float) else f"   {key} = {value}", flush=True)
        super().__setitem__(key, value)


def _print_table(r: dict) -> None:
    targets = [
        ("(a) single: ingest / paho QoS1", r["ratio_ingest_single_vs_paho"], ">= 0.80"),
        ("(b) batched: points/s (2 workers)", r["ingest_batched_points_per_s"], ">= 100,000"),
        ("(b) batched / raw InfluxDB", r["ratio_ingest_batched_vs_raw_influx"], ">= 0.50"),
        ("p99 latency at 20 % load, s", r["ingest_p99_latency_s"], "< 1"),
        ("ingest / naive (msgs/s)", r["ratio_ingest_single_vs_naive"], "(higher is better)"),
        ("ingest / Node-RED (msgs/s)", r.get("ratio_ingest_single_vs_node_red", float("nan")), "(higher is better)"),
        (f"points lost, {r['ingest_outage_s']} s InfluxDB outage", r["ingest_outage_points_lost"], "0"),
    ]
    print("\n   ingest against its targets (2 shared cores: noisy)")
    for name, value, target in targets:
        print(f"   {name:<40} {value:>14,.3f}   target {target}")
