"""The agent as a process, against scripted serial peers and a real Mosquitto.

Done-when tests of the edge issue: broker outage under load (every (device, seq) arrives, in order),
SIGKILL mid-stream (nothing lost but readings not yet taken), sensor faults (flagged or logged, agent
keeps running), TLS with a password that never reaches the logs, and ``edge status``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from blueranch.contracts import mqtt as contract
from blueranch.edge.drivers.modbus_framing import encode
from blueranch.mqttc import make_client, parse_url
from blueranch.procs import Supervisor, blueranch_command
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration
#: Broker outage in the outage test; the issue's 2 minutes run in bench/bench_edge.py (EDGE_OUTAGE_S=120 here too).
OUTAGE_S = float(os.environ.get("EDGE_OUTAGE_S", "20"))


def agent_config(
    tmp_path: Path, device: str, broker_url: str, sonde: Path, rs485: Path | None = None, **mqtt_extra
) -> Path:
    """The agent's config. These tests watch the MQTT side with a plain subscriber, no ingest: the agent runs
    in PUBACK mode (``delivery: puback``); commit acknowledgements are drilled in test_delivery_drills.py."""
    sensors = [
        {
            "id": "sonde-1",
            "driver": "sdi12",
            "port": str(sonde),
            "address": "0",
            "command": "M",
            "interval_s": 0.2,
            "timeout_s": 0.5,
            "retries": 1,
            "farm": "mussel-1",
            "quantities": ["sp_cond_us_cm", "do_mg_l", "ph"],
        }
    ]
    if rs485 is not None:
        sensors += [
            {
                "id": f"lc-{i}",
                "driver": "modbus_rtu",
                "port": str(rs485),
                "slave_id": i,
                "interval_s": 0.2,
                "timeout_s": 0.3,
                "retries": 0,
                "asset": f"ll-0{i}",
                "registers": [{"address": 0, "quantity": "load_kg"}],
            }
            for i in (1, 2)
        ]
    cfg = {
        "site": "dachen",
        "device": device,
        "mqtt": {
            "url": broker_url,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 1.0,
            "status_interval_s": 1,
            "delivery": "puback",
            **mqtt_extra,
        },
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "health_interval_s": 1,
        "qc": {"do_mg_l": {"gross_range": {"fail_span": [0, 20], "suspect_span": [2, 15]}}},
        "sensors": sensors,
    }
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def edge_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(blueranch_command("edge", *args), capture_output=True, text=True, timeout=60)


def logs(sup: Supervisor) -> str:
    return "\n".join(f"--- {n}\n{sup.log(n)[-3000:]}" for n in sup.procs)


def check_complete_and_ordered(messages: list[contract.Telemetry], last_seq: int) -> None:
    """Every seq 1..last_seq arrived; first arrivals are in seq order within live and within backfill."""
    seen: set[int] = set()
    live, backfill = [], []
    for m in messages:
        if m.seq in seen:
            continue  # an at-least-once duplicate (same seq, same content)
        seen.add(m.seq)
        (backfill if m.backfill else live).append(m.seq)
    missing = sorted(set(range(1, last_seq + 1)) - seen)
    assert not missing, (
        f"{len(missing)} missing: {missing[:5]}..{missing[-5:]} of {last_seq}; "
        f"arrivals: {[(m.seq, m.backfill) for m in messages][:60]}"
    )
    assert live == sorted(live) and backfill == sorted(backfill)


@pytest.fixture
def sonde(peer_factory, wire):
    dev = wire.Sdi12Sensors("0", n_values=3, wait_s=0)
    return dev, peer_factory("sonde", dev)


@pytest.fixture
def rs485(peer_factory, wire):
    dev = wire.ModbusSlaves(
        {1: dict(enumerate(encode(812.5, "float32"))), 2: dict(enumerate(encode(640.0, "float32")))}
    )
    return dev, peer_factory("rs485", dev)


def test_readings_flags_status_and_clean_stop(tmp_path, device_id, collector, mosquitto, sonde, rs485):
    cfg = agent_config(tmp_path, device_id, mosquitto.url, sonde[1].link, rs485[1].link)
    col = collector(mosquitto.url)
    with Supervisor(tmp_path / "logs") as sup:
        sup.start("edge", blueranch_command("edge", "run", "--config", str(cfg)))
        try:
            wait_until(
                lambda: {s.sensor for m in col.messages for s in m.samples} >= {"sonde-1", "lc-1", "lc-2"},
                60,
                0.1,
                "readings from the three sensors",
            )
            # The status file is rewritten every second: wait for one written after the first polls.
            st = wait_until(
                lambda: (
                    (r := edge_cli("status", "--config", str(cfg))).returncode == 0
                    and "lc-2             last reading 20" in r.stdout
                    and r
                ),
                30,
                0.3,
                "edge status",
            )
            assert "agent     running" in st.stdout and "uplink    connected" in st.stdout
            wait_until(lambda: col.status and col.status.get("last_reading", {}).get("lc-2"), 30, 0.1, "status")
            wait_until(
                lambda: any(s.sensor == "agent" for m in col.messages for s in m.samples),
                30,
                0.1,
                "the agent's housekeeping readings",
            )
        except AssertionError:
            raise AssertionError(logs(sup)) from None
        assert col.status["state"] == "online" and col.status["sw_version"] and col.status["config_version"]
        assert sup.stop("edge") == 0, logs(sup)
    samples = [s for m in col.messages for s in m.samples]
    do = [s for s in samples if s.quantity == "do_mg_l"]
    assert do and all(s.qc == 1 for s in do)  # 7.0 mg/L is inside the suspect span
    assert all(s.qc == 2 for s in samples if s.quantity == "load_kg")  # no tests configured: not evaluated
    assert {s.asset for s in samples if s.sensor == "lc-1"} == {"ll-01"}
    # The agent's own housekeeping readings travel as telemetry too (so they survive an outage).
    assert {s.quantity for s in samples if s.sensor == "agent"} == {"buffer_depth", "buffer_dropped_total", "uptime_s"}
    assert all(not m.backfill for m in col.messages)
    wait_until(lambda: col.status["state"] == "offline", 30, 0.1, "retained offline status after a clean stop")
    last = json.loads(edge_cli("status", "--config", str(cfg), "--json").stdout)
    assert last["running"] is False and last["buffer_depth"] == 0
    check_complete_and_ordered(col.messages, last["next_seq"] - 1)
    col.close()


@pytest.mark.slow
def test_broker_outage_under_load_every_seq_arrives_once_in_order(
    tmp_path, device_id, collector, mosquitto_factory, sonde, rs485
):
    # The broker keeps its persistent sessions across the restart (the harness runs it as the current user).
    broker = mosquitto_factory()
    cfg = agent_config(tmp_path, device_id, broker.url, sonde[1].link, rs485[1].link)
    col = collector(broker.url)
    with Supervisor(tmp_path / "logs") as sup:
        sup.start("edge", blueranch_command("edge", "run", "--config", str(cfg)))
        wait_until(lambda: len(col.seqs()) >= 20, 60, 0.1, "live messages before the outage")
        broker.stop()
        before = max(col.seqs())
        status = lambda: json.loads(edge_cli("status", "--config", str(cfg), "--json").stdout)  # noqa: E731
        # Readings keep being taken and buffered while the broker is away (waits on the buffer, not a clock).
        wait_until(lambda: status()["buffer_depth"] > 0, 30, 0.5, "buffering during the outage")
        threading.Event().wait(OUTAGE_S)  # the outage itself is the thing under test, not a synchronisation
        depth = status()["buffer_depth"]
        broker.start()
        try:
            wait_until(
                lambda: status()["buffer_depth"] < depth / 4 and status()["sent_backfill"] > 0,
                90,
                0.5,
                "backlog replayed",
            )
            wait_until(lambda: status()["buffer_depth"] <= 20, 90, 0.5, "backlog drained")
        except AssertionError:
            raise AssertionError(logs(sup)) from None
        assert sup.stop("edge") == 0, logs(sup)
    last = json.loads(edge_cli("status", "--config", str(cfg), "--json").stdout)
    wait_until(lambda: max(col.seqs()) >= last["next_seq"] - 1 - last["buffer_messages"], 30, 0.1, "all acked")
    acked_last = max(col.seqs())
    check_complete_and_ordered(col.messages, acked_last)
    backfilled = [m for m in col.messages if m.backfill]
    assert backfilled and min(m.seq for m in backfilled) > before - 200
    # (Live-before-backlog interleaving is checked deterministically in test_uplink_order.py.)
    col.close()


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_already_taken(tmp_path, device_id, collector, mosquitto, sonde):
    dev, peer = sonde
    cfg = agent_config(tmp_path, device_id, mosquitto.url, peer.link)
    col = collector(mosquitto.url)
    with Supervisor(tmp_path / "logs") as sup:
        sup.start("edge", blueranch_command("edge", "run", "--config", str(cfg)))
        wait_until(lambda: len(col.seqs()) >= 10, 60, 0.1, "messages before the kill")
        sup.signal("edge", signal.SIGKILL)
        sup.procs["edge"].wait(10)
        served_before_kill = list(dev.served)
        sup.start("edge2", blueranch_command("edge", "run", "--config", str(cfg)))
        try:
            wait_until(lambda: len(dev.served) >= len(served_before_kill) + 10, 60, 0.1, "polling again")
        except AssertionError:
            raise AssertionError(logs(sup)) from None
        assert sup.stop("edge2") == 0, logs(sup)
    last = json.loads(edge_cli("status", "--config", str(cfg), "--json").stdout)
    assert last["buffer_depth"] == 0
    check_complete_and_ordered(col.messages, last["next_seq"] - 1)
    got = {s.value for m in col.messages for s in m.samples if s.quantity == "sp_cond_us_cm"}
    lost = [v for v in served_before_kill if v not in got]
    # At most the reading in hand when the process died: served by the sensor, not yet in the buffer.
    assert len(lost) <= 1 and (not lost or lost[0] == served_before_kill[-1]), lost
    col.close()


@pytest.mark.slow
def test_sensor_faults_are_logged_with_device_and_reason_and_the_agent_keeps_running(
    tmp_path, device_id, collector, mosquitto, sonde, rs485
):
    sdev, speer = sonde
    mdev, mpeer = rs485
    cfg = agent_config(tmp_path, device_id, mosquitto.url, speer.link, mpeer.link)
    col = collector(mosquitto.url)
    with Supervisor(tmp_path / "logs") as sup:
        sup.start("edge", blueranch_command("edge", "run", "--config", str(cfg)))
        wait_until(lambda: len(col.seqs()) >= 5, 60, 0.1, "first messages")
        sdev.garble_next = 1  # garbled data reply (CRC-less M: bad characters)
        sdev.silent_next = 4  # sensor stops answering for a while (timeouts)
        mdev.bad_crc_next = 2  # corrupt Modbus replies
        mdev.maps[2] = {}  # slave 2 answers exception 02 (register outside its map)
        n = len(col.seqs())
        try:
            wait_until(
                lambda: all(
                    k in sup.log("edge")
                    for k in (
                        "sensor sonde-1 (sdi12 on",
                        "garbled",
                        "no reply to '0M!'",
                        "sensor lc-1 (modbus_rtu on",
                        "sensor lc-2 (modbus_rtu on",
                        "exception 02",
                    )
                ),
                60,
                0.2,
                "faults logged",
            )
            wait_until(lambda: len(col.seqs()) >= n + 10, 60, 0.1, "readings keep coming after the faults")
        except AssertionError:
            raise AssertionError(logs(sup)) from None
        st = json.loads(edge_cli("status", "--config", str(cfg), "--json").stdout)
        assert st["sensors"]["sonde-1"]["errors"] >= 1 and st["sensors"]["lc-2"]["last_error"]
        assert sup.procs["edge"].poll() is None
        assert sup.stop("edge") == 0
    col.close()


def _tls_files(d: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and server certificate for 127.0.0.1 (openssl CLI)."""
    run = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)  # noqa: E731
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    return d / "ca.crt", d / "server.crt", d / "server.key"


@pytest.mark.slow
def test_tls_and_password_from_env_which_never_reaches_the_logs(
    tmp_path, device_id, collector, mosquitto_factory, sonde
):
    secret = "s3cr3t-Pa55-word"
    pw = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), device_id, secret], check=True, capture_output=True)
    ca, crt, key = _tls_files(tmp_path)
    tls = f"cafile {ca}\ncertfile {crt}\nkeyfile {key}\n"
    broker = mosquitto_factory(allow_anonymous=False, extra_config=f"password_file {pw}\n{tls}")
    url = broker.url.replace("mqtt://", "mqtts://")
    cfg = agent_config(
        tmp_path, device_id, url, sonde[1].link, username=device_id, password_env="EDGE_TEST_PW", ca_file=str(ca)
    )
    col = collector(
        broker.url.replace("mqtt://", "mqtts://"), username=device_id, password=secret, tls=True, ca_file=str(ca)
    )
    with Supervisor(tmp_path / "logs") as sup:
        sup.start(
            "edge",
            blueranch_command("edge", "run", "--config", str(cfg), "--log-level", "DEBUG"),
            env={"EDGE_TEST_PW": secret},
        )
        try:
            wait_until(lambda: len(col.seqs()) >= 3, 60, 0.1, "messages over TLS with a password")
        except AssertionError:
            raise AssertionError(logs(sup)) from None
        sup.stop("edge")
        sup.start(
            "wrong",
            blueranch_command("edge", "run", "--config", str(cfg), "--log-level", "DEBUG"),
            env={"EDGE_TEST_PW": secret[::-1]},
        )
        wait_until(lambda: "refused" in sup.log("wrong"), 30, 0.1, "a refused login is logged")
        sup.stop("wrong")
        text = sup.log("edge") + sup.log("wrong")
    assert secret not in text and secret[::-1] not in text
    col.close()


def test_missing_password_env_is_a_clear_start_error(tmp_path, device_id, mosquitto, sonde):
    cfg = agent_config(tmp_path, device_id, mosquitto.url, sonde[1].link, username="u", password_env="EDGE_NOT_SET_PW")
    out = subprocess.run(
        blueranch_command("edge", "run", "--config", str(cfg)),
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "EDGE_NOT_SET_PW"},
    )
    assert out.returncode == 2 and "EDGE_NOT_SET_PW is not set" in out.stderr
    cfg.write_text(
        cfg.read_text()
        .replace(str(tmp_path / "buffer.sqlite"), "/proc/no-such-dir/buffer.sqlite")
        .replace("password_env: EDGE_NOT_SET_PW", "password_env: HOME")
    )
    out = subprocess.run(
        blueranch_command("edge", "run", "--config", str(cfg)), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "cannot start" in out.stderr and "Traceback" not in out.stderr


def test_status_without_a_running_agent(tmp_path):
    out = edge_cli("status", "--status-file", str(tmp_path / "none.json"))
    assert out.returncode == 1 and "has not run" in out.stderr


@pytest.mark.slow
def test_on_demand_commands_share_the_bus_with_polling_and_bad_ones_are_refused(
    tmp_path, device_id, collector, mosquitto, peer_factory, wire
):
    dev = wire.Sdi12Sensors("0", n_values=3, wait_s=1, sr_delay_s=0.3)  # polls hold the line ~0.3 s each
    peer = peer_factory("sonde", dev)
    cfg = agent_config(tmp_path, device_id, mosquitto.url, peer.link)
    col = collector(mosquitto.url)
    events: list[dict] = []
    u = parse_url(mosquitto.url)
    shore = make_client(f"shore-{device_id}", clean=True)
    shore.on_message = lambda c, ud, m: events.append(json.loads(m.payload))
    shore.connect(u.host, u.port)
    shore.subscribe(contract.events_topic("dachen", device_id), qos=1)
    shore.loop_start()
    cmd_topic = contract.cmd_topic("dachen", device_id)
    with Supervisor(tmp_path / "logs") as sup:
        sup.start("edge", blueranch_command("edge", "run", "--config", str(cfg)))
        wait_until(lambda: len(col.seqs()) >= 2, 60, 0.1, "polling")
        commands = [{"id": f"i{i}", "cmd": "sdi12", "sensor": "sonde-1", "command": "0I!"} for i in range(8)]
        commands += [
            {"id": "p1", "cmd": "poll", "sensor": "sonde-1"},
            {"id": "s1", "cmd": "status"},
            {"id": "b1", "cmd": "sdi12", "sensor": "sonde-1", "command": "1M!"},
            {"id": "b2", "cmd": "poll", "sensor": "nope"},
            {"id": "b3", "cmd": "reboot"},
        ]
        for c in commands:
            shore.publish(cmd_topic, json.dumps(c), qos=1)
        shore.publish(cmd_topic, b"\xff{garbage", qos=1)
        try:
            wait_until(lambda: len(events) >= len(commands) + 1, 60, 0.1, "a reply to every command")
        except AssertionError:
            raise AssertionError(logs(sup) + str(events)) from None
        assert sup.stop("edge") == 0
    shore.loop_stop()
    by_id = {e["id"]: e for e in events}
    assert all(by_id[f"i{i}"]["ok"] and by_id[f"i{i}"]["result"].startswith("014BLUERNCH") for i in range(8))
    assert by_id["p1"] == {"id": "p1", "ok": True, "result": {"readings": 3}} and by_id["s1"]["ok"]
    assert "not for sensor sonde-1's address" in by_id["b1"]["error"]
    assert "no sensor 'nope'" in by_id["b2"]["error"] and "bad command" in by_id["b3"]["error"]
    assert any(e["id"] == "" and "bad command" in e["error"] for e in events)
    cmds = list(peer.rx)
    assert cmds.count(b"0I!") == 8
    for i, c in enumerate(cmds[:-1]):
        if c == b"0M!":
            assert cmds[i + 1] == b"0D0!", cmds  # a command never landed inside a measurement
