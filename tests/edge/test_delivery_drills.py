"""At-least-once from the buoy to InfluxDB, drilled: the real simulator, the agent, Mosquitto with the
generated deploy config, the ingest and InfluxDB, counting every sample.

Each drill ends the same way: the simulator stops (no new readings), the agent drains its buffer (it
deletes a reading only once the shore committed it), and the samples the agent buffered are compared with
the samples InfluxDB holds for the device (one per sensor, quantity and millisecond, so a message written
twice counts once). The drills print expected, arrived, resent and duplicate counts. Outages last
``DRILL_OUTAGE_S`` (3 s by default, to fit the suite's time budget).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from blueranch.contracts import mqtt as contract
from blueranch.contracts.query import aggregate
from blueranch.deploy.init import InitOptions, Layout, init
from blueranch.edge.buffer import Buffer
from blueranch.ingest.config import IngestConfig
from blueranch.ingest.registry import load_registry
from blueranch.ingest.worker import Worker
from blueranch.mqttc import make_client, parse_url
from blueranch.procs import Supervisor, blueranch_command
from blueranch.reader import Reader
from blueranch.testing.fleet import AckLedger, expected_samples
from blueranch.testing.ingest_checks import count_samples
from blueranch.testing.services import DeployedMosquitto
from blueranch.testing.wait import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
REGISTRY_FILE = REPO / "deploy" / "blueranch" / "registry.yaml"
REGISTRY = load_registry(REGISTRY_FILE).config
DEVICES = frozenset(REGISTRY.devices)
OUTAGE_S = float(os.environ.get("DRILL_OUTAGE_S", "3"))
#: the single-buoy scenario's serial devices as the deploy config names them (the GPS is left out: its
#: readings carry the receiver's time, so two polls of one fix would be one InfluxDB point, not a loss)
PORT_OF = {"sonde-1": "sonde-1", "lc-m1-01": "lc-1", "lc-m1-02": "lc-2", "pwr-1": "pwr-1"}


@pytest.fixture(scope="module")
def deploy_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("deploy") / "local"
    init(root, InitOptions(REGISTRY, ingest_workers=1))
    return root


def secret(deploy_dir: Path, name: str) -> str:
    return Layout(deploy_dir).password(name, DEVICES).read_text().strip()


@pytest.fixture
def broker(tmp_path, deploy_dir):
    b = DeployedMosquitto(tmp_path / "mosquitto", deploy_dir).start()
    yield b
    b.stop()


class Ingest:
    """An in-process ingest worker as deployed (user ``ingest-1``, the shore's registry); restartable."""

    def __init__(self, url: str, influx, deploy_dir: Path, **config):
        self.url, self.influx = url, influx
        self.password = secret(deploy_dir, "ingest")
        self.config = IngestConfig.model_validate(
            {"registry": str(REGISTRY_FILE), "session_expiry_s": 3600, "stats_interval_s": 1.0, **config}
        )
        self.worker: Worker | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> Worker:
        self.worker = Worker(self.url, self.influx, self.config, index=1, username="ingest-1", password=self.password)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)
        self.thread.start()
        assert self.worker.subscribed.wait(30), "the ingest did not subscribe"
        return self.worker

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.thread.join(60)
            assert not self.thread.is_alive()
            self.worker = None


class Drill:
    """The simulator, the agent (as a process), the ingest and InfluxDB around one broker."""

    def __init__(self, tmp_path: Path, broker: DeployedMosquitto, influx, deploy_dir: Path, sup: Supervisor):
        self.tmp, self.broker, self.influx, self.deploy_dir, self.sup = tmp_path, broker, influx, deploy_dir, sup
        self.status_file = tmp_path / "edge-status.json"
        self.ingest = Ingest(broker.url, influx, deploy_dir)
        self.quantities: set[str] = set()

    def config(self, buffer_path: Path | None = None, sensors: list[dict] | None = None, **mqtt) -> Path:
        """The deploy config of buoy-01 on the simulator's ptys (``sensors`` instead, when given)."""
        deploy = yaml.safe_load((REPO / "deploy/blueranch/edge-buoy-01.yaml").read_text())
        if sensors is None:
            sensors = []
            for s in deploy["sensors"]:
                if s["id"] in PORT_OF:
                    s.update(port=str(self.tmp / "pty" / PORT_OF[s["id"]]), interval_s=0.5, timeout_s=1.0)
                    sensors.append(s)
                    self.quantities.update(s.get("quantities") or [r["quantity"] for r in s["registers"]])
        pw = self.tmp / "edge-password"
        pw.write_text(secret(self.deploy_dir, "buoy-01"))
        cfg = {
            **deploy,
            "mqtt": {
                "url": self.broker.url,
                "username": "buoy-01",
                "password_file": str(pw),
                "reconnect_min_s": 0.2,
                "reconnect_max_s": 1.0,
                "status_interval_s": 1,
                "commit_timeout_s": 3,
                "commit_timeout_max_s": 6,
                **mqtt,
            },
            "buffer": {"path": str(buffer_path or self.tmp / "buffer.sqlite"), "disk_retry_s": 0.5},
            "status_file": str(self.status_file),
            "health_interval_s": 0,
            "sensors": sensors,
        }
        path = self.tmp / "edge.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    def start_sim(self) -> None:
        pty = self.tmp / "pty"
        cmd = ["sim", "run", "--scenario", "single-buoy", "--pty-dir", str(pty), "--start", "now"]
        self.sup.start("sim", blueranch_command(*cmd))
        wait_until(lambda: all((pty / p).exists() for p in PORT_OF.values()), 30, 0.1, "simulator ready")

    def start_agent(self, cfg: Path, polling: bool = True) -> None:
        self.sup.start("edge", blueranch_command("edge", "run", "--config", str(cfg)))
        if polling:
            self.wait(lambda s: s.get("samples_buffered", 0) > 0, "the agent polling")

    def status(self) -> dict:
        try:
            return json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}

    def wait(self, predicate, what: str, timeout_s: float = 60) -> dict:
        try:
            return wait_until(lambda: (s := self.status()) and predicate(s) and s, timeout_s, 0.2, what)
        except AssertionError:
            raise AssertionError(f"{what}: {self.status()}\n{self.logs()}") from None

    def progress(self, what: str, n: int = 20) -> None:
        """Wait until ``n`` more messages were committed."""
        before = self.status().get("committed", 0)
        self.wait(lambda s: s.get("committed", 0) >= before + n, what)

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{self.sup.log(n)[-4000:]}" for n in self.sup.procs)

    def drain_and_count(self, acks: AckLedger | None = None, **expect) -> dict:
        """Stop the sensors, wait for the buffer to empty, stop the agent; compare buffered with InfluxDB."""
        self.sup.stop("sim")
        self.wait(lambda s: s["buffer_messages"] == 0 and s["inflight"] == 0, "the buffer drained", 90)
        assert self.sup.stop("edge", 30) == 0, self.logs()
        final = self.status()
        arrived = count_samples(self.influx, "buoy-01", self.quantities)
        revisions = final.get("qc", {}).get("revisions_total", 0)
        counts = {
            "expected": expected_samples(final),
            "arrived": arrived,
            "messages": final["next_seq"] - 1,
            "resent": final["resent"],
            "backfill": final["sent_backfill"],
            "duplicates": acks.duplicates if acks else None,
            "refused": final["refused_total"],
            "no_subscriber": final["no_subscriber_total"],
            "flag_revisions": revisions,
        }
        print(f"\ndrill counts: {counts}")
        assert arrived == counts["expected"] > 0, (counts, self.logs())
        assert final["rejected_readings"] == 0 and final["buffer_dropped_total"] == 0, final
        assert final["buffer_lost_messages"] == 0 and final["shore_rejected"] == 0, final
        for key, value in expect.items():
            assert value(counts[key]), (key, counts)
        return counts


@pytest.fixture
def drill(tmp_path, broker, influx, deploy_dir):
    with Supervisor(tmp_path / "logs") as sup:
        d = Drill(tmp_path, broker, influx, deploy_dir, sup)
        yield d
        d.ingest.stop()


def test_broker_restart_kill_and_session_takeover_under_load_lose_nothing(drill, broker, deploy_dir):
    """Broker SIGTERM and restart, broker kill -9 with the ingest stopped, and a client taking over the
    ingest's session with a clean start: every sample arrives, each once."""
    acks = AckLedger(broker.url, password=secret(deploy_dir, "operator"), username="operator")
    assert acks.subscribed.wait(30)
    drill.ingest.start()
    drill.start_sim()
    drill.start_agent(drill.config())
    drill.wait(lambda s: s["committed"] > 20 and s["delivery"] == "commit", "commits flowing")

    # 1. SIGTERM: Mosquitto saves its store and restarts; the ingest's shared subscription is back only when
    # the ingest reconnects, and the broker meanwhile answers "no matching subscribers" (0x10).
    broker.stop()
    threading.Event().wait(OUTAGE_S)  # the outage under test, not a synchronisation
    broker.start()
    drill.progress("commits after the broker restart")

    # 2. kill -9 with the ingest stopped: what the broker queued for the ingest since its last snapshot
    # (autosave_interval 10) is gone; the agent sends again what was not committed.
    drill.ingest.stop()
    drill.wait(lambda s: s["uncommitted"] > 10, "messages queued for the stopped ingest")
    threading.Event().wait(OUTAGE_S)
    broker.kill()
    broker.start()
    drill.ingest.start()
    drill.progress("commits after the broker was killed")

    # 3. A client connects with the ingest's client id and a clean start: the ingest's session and what it
    # queued are gone.
    drill.ingest.stop()
    drill.wait(lambda s: s["uncommitted"] > 10, "messages queued for the stopped ingest")
    u = parse_url(broker.url)
    taker = make_client("ingest-1", username="ingest-1", password=secret(deploy_dir, "ingest"))
    assert taker.connect(u.host, u.port, clean_start=True) == 0
    taker.loop(1.0)
    taker.disconnect()
    drill.ingest.start()
    drill.progress("commits after the session takeover")

    counts = drill.drain_and_count(acks, resent=lambda n: n > 0)
    acks.close()
    assert "REFUSED" not in drill.sup.log("edge")
    assert counts["no_subscriber"] > 0  # the restart's 0x10 answers were kept, not taken as delivery


def _dynsec(broker: DeployedMosquitto, deploy_dir: Path, command: dict) -> None:
    """One dynamic-security command, as mosquitto_ctrl sends it; waits for its answer."""
    answers: list[dict] = []
    u = parse_url(broker.url)
    c = make_client("dynsec-admin", username="dynsec-admin", password=secret(deploy_dir, "dynsec-admin"))
    c.on_message = lambda cl, ud, m: answers.append(json.loads(m.payload))
    c.connect(u.host, u.port)
    c.subscribe("$CONTROL/dynamic-security/v1/response", qos=1)
    c.loop_start()
    c.publish("$CONTROL/dynamic-security/v1", json.dumps({"commands": [command]}), qos=1)
    wait_until(lambda: answers, 30, 0.05, "dynamic-security answer")
    c.disconnect()
    c.loop_stop()
    assert "error" not in answers[0]["responses"][0], answers


def test_publishes_the_broker_refuses_are_kept_and_all_arrive_once_the_acl_is_fixed(drill, broker, deploy_dir):
    """Issue 12, item 7: an ACL change makes the broker refuse telemetry (PUBACK 0x87 not authorized)."""
    acl = {
        "rolename": "device-buoy-01",
        "acltype": "publishClientSend",
        "topic": contract.telemetry_topic("dachen", "buoy-01"),
    }
    drill.ingest.start()
    drill.start_sim()
    drill.start_agent(drill.config())
    drill.wait(lambda s: s["committed"] > 5, "commits flowing")
    _dynsec(broker, deploy_dir, {"command": "removeRoleACL", **acl})
    refused = drill.wait(lambda s: s["refused_total"] > 5, "refused publishes")
    assert "refused: Not authorized" in refused["uplink"]
    drill.wait(lambda s: "refused: Not authorized" in s["uplink"] and s["buffer_messages"] > 10, "kept")
    assert "the broker REFUSED telemetry seq" in drill.sup.log("edge") and "Not authorized" in drill.sup.log("edge")
    _dynsec(broker, deploy_dir, {"command": "addRoleACL", "allow": True, **acl})
    drill.progress("commits after the ACL was fixed")
    counts = drill.drain_and_count(refused=lambda n: n > 5)
    assert counts["resent"] >= counts["refused"] // 2
    # the alert-worthy counter reached InfluxDB with the status messages
    series = Reader(drill.influx).run(aggregate("device_status", "max", "refused_total", None))
    assert series[0].values[0][1] >= 5


def test_a_shore_without_commits_is_waited_for_then_puback_mode_and_nothing_is_lost(drill, broker):
    """A fresh agent facing a broker with no ingest keeps everything (0x10 is not delivery, and no fallback);
    an ingest with ``acks: false`` (an older shore) makes it fall back to PUBACK mode after commit_wait_s."""
    drill.ingest = Ingest(broker.url, drill.influx, drill.deploy_dir, acks=False)
    drill.start_sim()
    drill.start_agent(drill.config(commit_wait_s=3))
    kept = drill.wait(lambda s: s["no_subscriber_total"] > 5 and s["buffer_messages"] > 5, "kept with no subscriber")
    assert kept["delivery"] == "commit" and "no commit seen yet" in kept["uplink"]
    drill.ingest.start()
    fallen = drill.wait(lambda s: s["delivery"] == "puback", "the fallback to PUBACK mode")
    assert "PUBACK mode (the broker accepted messages for 3 s" in fallen["uplink"]
    assert "falling back to PUBACK delivery" in drill.sup.log("edge")
    drill.drain_and_count()


ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a small disk that fills up or fails")


def _fill(path: Path) -> Path:
    """Fill the disk at ``path`` to the last byte."""
    filler = path / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 1):
            try:
                while f.write(b"\0" * size):
                    pass
            except OSError:
                pass
    return filler


@ROOT
def test_a_full_disk_keeps_the_agent_polling_and_everything_arrives_once_there_is_room(drill, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], check=True)
    try:
        drill.ingest.start()
        drill.start_sim()
        drill.start_agent(drill.config(buffer_path=disk / "buffer.sqlite"))
        drill.wait(lambda s: s["committed"] > 5, "commits flowing")
        drill.ingest.stop()  # so that what the agent reads meanwhile stays with it
        filler = _fill(disk)
        bad = drill.wait(lambda s: s["disk"] != "ok" and s["memory_messages"] > 5, "the disk full")
        assert "disk refuses writes" in bad["uplink"] and "database or disk is full" in bad["disk"]
        drill.wait(lambda s: s["samples_buffered"] > bad["samples_buffered"] + 20, "polling on with the disk full")
        line = drill.sup.log("edge").split("BUFFER DISK ERROR on ", 1)[1].split("\n")[0]
        assert line.startswith(str(disk / "buffer.sqlite")) and "No space left on device" in line, line
        filler.unlink()
        drill.wait(lambda s: s["disk"] == "ok" and s["memory_messages"] == 0, "the disk taken again")
        drill.ingest.start()
        assert "Traceback" not in drill.sup.log("edge")
        drill.drain_and_count()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@ROOT
def test_a_disk_the_kernel_turns_read_only_keeps_the_agent_polling_and_delivering_from_memory(drill, tmp_path):
    """An SD card with errors: ext4 (errors=remount-ro) goes read-only under the agent's open files, for good
    (until a reboot). The agent holds what it reads in memory and delivers it from there."""
    image, disk = tmp_path / "sd.img", tmp_path / "sd"
    disk.mkdir()
    subprocess.run(["truncate", "-s", "32M", str(image)], check=True)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
    mounted = subprocess.run(
        ["mount", "-o", "loop,errors=remount-ro", str(image), str(disk)], capture_output=True, text=True
    )
    if made.returncode or mounted.returncode:
        pytest.skip(f"cannot loop-mount an ext4 image here: {made.stderr}{mounted.stderr}")
    try:
        device = Path(
            subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(disk)], capture_output=True, text=True).stdout.strip()
        ).name
        trigger = Path(f"/sys/fs/ext4/{device}/trigger_fs_error")
        if not trigger.exists():
            pytest.skip(f"{trigger} is missing: the kernel cannot be asked to fail the file system")
        drill.ingest.start()
        drill.start_sim()
        drill.start_agent(drill.config(buffer_path=disk / "buffer.sqlite"))
        drill.wait(lambda s: s["committed"] > 5, "commits flowing")
        trigger.write_text("drill: the card fails\n")  # the kernel remounts it read-only (emergency_ro)
        bad = drill.wait(lambda s: s["disk"] != "ok", "the disk read-only")
        assert "disk refuses writes" in bad["uplink"] and "Read-only file system" in bad["disk"], bad["disk"]
        drill.progress("commits while the disk is read-only")
        line = drill.sup.log("edge").split("BUFFER DISK ERROR on ", 1)[1].split("\n")[0]
        assert line.startswith(str(disk / "buffer.sqlite")) and "Read-only file system" in line, line
        assert "Traceback" not in drill.sup.log("edge")
        counts = drill.drain_and_count()
        assert drill.status()["disk"] != "ok"  # still read-only: everything came from memory
        print(f"read-only disk: {counts['expected']} samples, delivered with the disk read-only since the fault")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _sonde_message(epoch: str, seq: int) -> bytes:
    t0 = datetime.now(UTC) - timedelta(hours=1)
    samples = [
        contract.Sample(
            time=t0 + timedelta(seconds=seq, milliseconds=i),
            sensor="sonde-1",
            quantity="do_mg_l",
            value=7.0,
            unit="mg/L",
            qc=1,
            farm="mussel-1",
            asset="m1-ll-01",
        )
        for i in range(3)
    ]
    return contract.Telemetry(device="buoy-01", epoch=epoch, seq=seq, samples=samples).to_json()


def test_a_damaged_buffer_is_salvaged_at_start_and_what_was_readable_arrives(drill, tmp_path):
    path = tmp_path / "buffer.sqlite"
    b = Buffer(path, synchronous="NORMAL")
    for _ in range(300):
        b.append(_sonde_message, 3)
    old_epoch = b.epoch
    b.close()
    pages = path.stat().st_size // 4096
    with open(path, "r+b") as f:  # garbage in the middle
        f.seek(pages // 2 * 4096)
        f.write(os.urandom(3 * 4096))
    idle = [{"id": "idle", "driver": "mqtt_node", "broker_url": "mqtt://127.0.0.1:9", "node": "n", "interval_s": 60}]
    drill.ingest.start()
    drill.start_agent(drill.config(sensors=idle), polling=False)
    st = drill.wait(lambda s: s.get("epoch"), "the agent running")
    assert st["epoch"] != old_epoch and 0 < st["buffer_lost_messages"] < 300
    salvaged = st["buffer_depth"]
    assert salvaged + 3 * st["buffer_lost_messages"] == 900
    log = drill.sup.log("edge")
    assert "BUFFER DAMAGED" in log and "moved aside to" in log and "salvaged" in log
    assert len(list(tmp_path.glob("buffer.sqlite.corrupt-*Z"))) == 1
    drill.wait(lambda s: s["buffer_messages"] == 0, "the salvaged messages delivered", 60)
    arrived = count_samples(drill.influx, "buoy-01", {"do_mg_l"})
    print(f"\ndamaged buffer: 900 readings, {salvaged} salvaged, {arrived} arrived")
    assert arrived == salvaged
    assert drill.sup.stop("edge") == 0


def _idle_config(tmp_path: Path, url: str, interval_s: float) -> Path:
    """An agent with one MQTT node sensor that never hears from its node (no serial line needed)."""
    cfg = {
        "site": "dachen",
        "device": "buoy-01",
        "mqtt": {"url": url, "delivery": "puback"},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "sensors": [{"id": "idle", "driver": "mqtt_node", "broker_url": url, "node": "n", "interval_s": interval_s}],
    }
    (tmp_path / "edge.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "edge.yaml"


def test_a_dead_thread_exits_the_process_non_zero(tmp_path, mosquitto):
    """A bug that kills a polling thread must not leave a zombie agent: the process exits (code 70)."""
    _idle_config(tmp_path, mosquitto.url, 1)
    script = (
        "import sys\n"
        "from blueranch.edge import scheduler\n"
        "from blueranch.edge.agent import Agent\n"
        "from blueranch.edge.config import load_config\n"
        "def broken(self, s):\n"
        "    raise RuntimeError('a bug in a polling thread')\n"
        "scheduler.BusWorker.poll = broken\n"
        "Agent(load_config(sys.argv[1])).run()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "edge.yaml")], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 70, out.stderr[-2000:]
    assert "thread poll-node:idle died: RuntimeError: a bug in a polling thread" in out.stderr


def test_systemd_hears_ready_watchdog_pings_and_stopping(tmp_path, mosquitto):
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    _idle_config(tmp_path, mosquitto.url, 60)
    with Supervisor(tmp_path / "logs") as sup:
        sup.start(
            "edge",
            blueranch_command("edge", "run", "--config", str(tmp_path / "edge.yaml")),
            env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "1000000"},  # ping every 0.5 s
        )
        got: list[str] = []
        while sum(m.startswith("WATCHDOG=1") for m in got) < 3:
            got.append(sock.recv(4096).decode())
        assert got[0] == "READY=1", got
        assert any("STATUS=connected" in m for m in got), got
        assert sup.stop("edge") == 0
        rest = []
        sock.settimeout(5)
        try:
            while "STOPPING=1" not in rest:
                rest.append(sock.recv(4096).decode())
        except TimeoutError:
            pass
        assert "STOPPING=1" in rest
    sock.close()
