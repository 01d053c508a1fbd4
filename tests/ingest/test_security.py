"""The generated deploy config (``blueranch deploy init``) with the real broker, the ingest and InfluxDB.

What a stolen buoy's credentials can do: connect as its own client id only (no takeover of the ingest's
session or another device's), publish only under its own site and id, read only its own commands and acks,
and weigh on no farm but the ones the shore's registry gives its sensors. Anonymous clients and the committed
example config log in nowhere. docs/security.md lists the controls these tests check.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from blueranch.contracts import mqtt as contract
from blueranch.deploy.dynsec import ack_topic
from blueranch.deploy.init import InitOptions, Layout, influx_init, init
from blueranch.influxdb import InfluxClient, InfluxError
from blueranch.ingest.registry import load_registry
from blueranch.mqttc import connect_properties, edge_client_id, make_client, parse_url
from blueranch.procs import Supervisor, blueranch_command
from blueranch.testing.ingest_checks import count_points
from blueranch.testing.loadgen import payload
from blueranch.testing.services import DeployedMosquitto
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
REGISTRY_FILE = REPO / "deploy" / "blueranch" / "registry.yaml"
REGISTRY = load_registry(REGISTRY_FILE).config
T0 = 1_795_000_000_000


@pytest.fixture(scope="module")
def deploy_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("deploy") / "local"
    init(root, InitOptions(REGISTRY, ingest_workers=2))
    return root


@pytest.fixture(scope="module")
def broker(tmp_path_factory, deploy_dir):
    with DeployedMosquitto(tmp_path_factory.mktemp("mosquitto"), deploy_dir) as b:
        yield b


def password(deploy_dir: Path, secret: str) -> str:
    return Layout(deploy_dir).password(secret, frozenset(REGISTRY.devices)).read_text().strip()


class Client:
    """An MQTT 5 client that records its CONNACK, PUBACK and SUBACK reason codes, disconnects and messages."""

    def __init__(
        self,
        url: str,
        user: str | None,
        pw: str | None,
        client_id: str,
        persistent: bool = False,
        tls_dir: Path | None = None,
    ):
        u = parse_url(url)
        cert = (
            {}
            if tls_dir is None
            else {"cert_file": str(tls_dir / "client.crt"), "key_file": str(tls_dir / "client.key")}
        )
        self.client = make_client(
            client_id,
            username=user,
            password=pw,
            tls=u.tls,
            ca_file=str(tls_dir / "ca.crt") if tls_dir else None,
            **cert,
        )
        self.acks: dict[int, object] = {}
        self.received: list[mqtt.MQTTMessage] = []
        self.subacks: list = []
        self.disconnects: list = []
        self.connected = threading.Event()
        self.connect_rc = None
        self.client.on_publish = lambda c, ud, mid, rc, p: self.acks.__setitem__(mid, rc)
        self.client.on_message = lambda c, ud, m: self.received.append(m)
        self.client.on_subscribe = lambda c, ud, mid, rcs, p: self.subacks.extend(rcs)
        self.client.on_disconnect = lambda c, ud, flags, rc, p: self.disconnects.append(rc)

        def on_connect(c, ud, flags, rc, props):
            self.connect_rc = rc
            self.connected.set()

        self.client.on_connect = on_connect
        props = connect_properties() if persistent else None
        self.client.connect(u.host, u.port, clean_start=not persistent, properties=props)
        self.client.loop_start()
        assert self.connected.wait(30), f"no CONNACK for {user}/{client_id}"

    @property
    def refused(self) -> bool:
        return self.connect_rc.is_failure

    def publish(self, topic: str, body: bytes):
        info = self.client.publish(topic, body, qos=1)
        return wait_until(lambda: self.acks.get(info.mid), 30, message=f"PUBACK for {topic}")

    def subscribe(self, topic: str):
        before = len(self.subacks)
        self.client.subscribe(topic, qos=1)
        wait_until(lambda: len(self.subacks) > before, 30, message=f"SUBACK for {topic}")
        return self.subacks[-1]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _refused(url: str, user: str | None, pw: str | None, client_id: str) -> bool:
    c = Client(url, user, pw, client_id)
    c.close()
    return c.refused


def test_anonymous_wrong_and_old_committed_passwords_are_refused(broker, deploy_dir):
    assert _refused(broker.url, None, None, "anonymous")
    assert _refused(broker.url, "buoy-01", "wrong", edge_client_id("dachen", "buoy-01"))
    # the passwords the repository used to ship (deploy/secrets.example.env, deploy/mosquitto/passwd)
    for user, old in [
        ("ingest-1", "change-me-ingest"),
        ("operator", "change-me-operator"),
        ("healthcheck", "healthcheck"),
        ("alerts", "change-me-alerts"),
        ("buoy-01", "change-me-buoy-01"),
    ]:
        client_id = {"buoy-01": edge_client_id("dachen", "buoy-01"), "alerts": "alerts-x"}.get(user, user)
        assert _refused(broker.url, user, old, client_id), user
    assert not _refused(broker.url, "operator", password(deploy_dir, "operator"), "operator")


def test_the_committed_example_config_lets_nobody_in(tmp_path, deploy_dir):
    """deploy/mosquitto/dynamic-security.example.json: every user and role, no password."""
    example_dir = tmp_path / "example"
    shutil.copytree(deploy_dir, example_dir)
    example = REPO / "deploy" / "mosquitto" / "dynamic-security.example.json"
    (example_dir / "mosquitto" / "dynamic-security.json").write_bytes(example.read_bytes())
    clients = json.loads(example.read_text())["clients"]
    with DeployedMosquitto(tmp_path / "mosquitto", example_dir) as b:
        for c in clients:
            for pw in ("", f"change-me-{c['username']}", password(deploy_dir, "ingest")):
                assert _refused(b.url, c["username"], pw, c.get("clientid") or "x"), c["username"]


def test_a_device_cannot_take_over_any_other_client_id(broker, deploy_dir):
    """Mosquitto alone lets any user connect as any client id, kicking its owner and, with a clean start,
    erasing its persistent session; the dynamic-security clients are bound to theirs."""
    ingest = Client(broker.url, "ingest-1", password(deploy_dir, "ingest"), "ingest-1", persistent=True)
    assert not ingest.refused
    assert not ingest.subscribe(contract.shared_subscription("ingest", contract.TELEMETRY_FILTER)).is_failure
    buoy_pw = password(deploy_dir, "buoy-01")
    others = [
        "ingest-1",
        "ingest-2",
        "operator",
        "healthcheck",
        "dynsec-admin",
        "alerts",
        edge_client_id("dachen", "buoy-02"),
        edge_client_id("othersite", "buoy-01"),
        "buoy-01",
    ]
    for client_id in others:
        assert _refused(broker.url, "buoy-01", buoy_pw, client_id), client_id
    # nor can the operator take a device's id
    assert _refused(broker.url, "operator", password(deploy_dir, "operator"), edge_client_id("dachen", "buoy-01"))
    me = Client(broker.url, "buoy-01", buoy_pw, edge_client_id("dachen", "buoy-01"))
    try:
        assert not me.refused
        assert not me.publish(contract.telemetry_topic("dachen", "buoy-01"), payload("buoy-01", 1, T0)).is_failure
        wait_until(lambda: ingest.received, 30, message="the ingest's session still receives telemetry")
        assert ingest.disconnects == [], "the ingest was kicked off"
    finally:
        me.close()
        ingest.close()


def test_a_device_writes_only_under_its_own_site_and_id_and_reads_only_its_own(broker, deploy_dir):
    me = Client(broker.url, "buoy-01", password(deploy_dir, "buoy-01"), edge_client_id("dachen", "buoy-01"))
    operator = Client(broker.url, "operator", password(deploy_dir, "operator"), "operator")
    try:
        assert not me.publish(contract.telemetry_topic("dachen", "buoy-01"), payload("buoy-01", 1, T0)).is_failure
        assert not me.publish(contract.status_topic("dachen", "buoy-01"), b"").is_failure
        refused = [
            contract.telemetry_topic("othersite", "buoy-01"),  # another site, as itself
            contract.status_topic("othersite", "buoy-01"),
            *(f"{contract.PREFIX}/dachen/buoy-02/{kind}" for kind in ("telemetry", "status", "events")),
            contract.DEADLETTER_TOPIC,
            contract.alerts_topic("dachen"),
            contract.cmd_topic("dachen", "buoy-01"),  # commands come from the shore
            ack_topic("dachen", "buoy-01"),  # so do acknowledgements
            "$SYS/broker/uptime",
        ]
        for topic in refused:
            assert me.publish(topic, payload("buoy-01", 2, T0)).getName() == "Not authorized", topic
        assert me.subscribe(f"{contract.PREFIX}/+/+/cmd").is_failure
        assert me.subscribe("$SYS/#").is_failure
        assert me.subscribe(contract.DEADLETTER_TOPIC).is_failure
        assert not me.subscribe(contract.cmd_topic("dachen", "buoy-01")).is_failure
        assert not me.subscribe(ack_topic("dachen", "buoy-01")).is_failure
        for device in ("buoy-02", "buoy-01"):
            operator.publish(contract.cmd_topic("dachen", device), b'{"cmd": "reboot"}')
        wait_until(lambda: me.received, 30, message="own command received")
        assert [m.topic for m in me.received] == [contract.cmd_topic("dachen", "buoy-01")]
    finally:
        me.close()
        operator.close()


def test_the_ingest_writes_acks_and_the_operator_reads_them(broker, deploy_dir):
    """Reserved for commit acknowledgements (ingest -> device, a later contract version)."""
    ingest = Client(broker.url, "ingest-2", password(deploy_dir, "ingest"), "ingest-2")
    me = Client(broker.url, "buoy-01", password(deploy_dir, "buoy-01"), edge_client_id("dachen", "buoy-01"))
    try:
        assert not me.subscribe(ack_topic("dachen", "buoy-01")).is_failure
        assert not ingest.publish(ack_topic("dachen", "buoy-02"), b'{"seq": 1}').is_failure
        assert not ingest.publish(ack_topic("dachen", "buoy-01"), b'{"seq": 1}').is_failure
        wait_until(lambda: me.received, 30, message="own ack received")
        assert [m.topic for m in me.received] == [ack_topic("dachen", "buoy-01")]
        assert ingest.publish(contract.cmd_topic("dachen", "buoy-01"), b"{}").getName() == "Not authorized"
    finally:
        me.close()
        ingest.close()


def test_tls_listener_requires_a_client_certificate_of_the_local_ca(broker, deploy_dir):
    lay = Layout(deploy_dir)
    me = Client(
        broker.tls_url,
        "buoy-01",
        password(deploy_dir, "buoy-01"),
        edge_client_id("dachen", "buoy-01"),
        tls_dir=lay.identity_dir("buoy-01"),
    )
    try:
        assert not me.refused
        assert not me.publish(contract.telemetry_topic("dachen", "buoy-01"), payload("buoy-01", 3, T0)).is_failure
    finally:
        me.close()
    u = parse_url(broker.tls_url)
    ctx = ssl.create_default_context(cafile=str(lay.ca_cert))  # the server's certificate verifies ...
    connack = b""
    with socket.create_connection((u.host, u.port), timeout=10) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname=u.host) as tls:
                tls.sendall(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00")  # MQTT 3.1.1 CONNECT
                connack = tls.recv(4)
        except (ssl.SSLError, ConnectionResetError):
            pass  # ... but without a client certificate the broker ends the handshake
    assert connack == b""


def _influx_with_generated_users(influxdb_factory, deploy_dir: Path) -> InfluxClient:
    """InfluxDB with authentication and the users of the generated init script, as the image creates them."""
    server = influxdb_factory(auth_enabled=True)
    admin_pw = password(deploy_dir, "influx-admin")
    InfluxClient(server.url, "_internal").query(
        f"CREATE USER admin WITH PASSWORD '{admin_pw}' WITH ALL PRIVILEGES", method="POST", database=None
    )
    admin = InfluxClient(server.url, "blueranch", "admin", admin_pw)
    script = Layout(deploy_dir).influx_init.read_text()
    pw = {f"influx-{u}": password(deploy_dir, f"influx-{u}") for u in ("ingest", "carbon", "alerts", "grafana")}
    assert script == influx_init("blueranch", pw)
    for stmt in script.split(";\n"):
        if stmt.strip():
            admin.query(stmt.strip(), method="POST", database=None)
    return admin


def test_ingest_binds_tags_to_the_registry_and_dead_letters_a_farm_claim(
    broker, deploy_dir, influxdb_factory, tmp_path
):
    """buoy-01 claims another farm's longline with a huge load: dead-lettered, no biomass written there."""
    admin = _influx_with_generated_users(influxdb_factory, deploy_dir)
    server_url = admin.url
    grafana = InfluxClient(server_url, "blueranch", "grafana", password(deploy_dir, "influx-grafana"))
    with pytest.raises(InfluxError) as exc:  # Grafana's user only reads
        grafana.write(b"water_quality,site=dachen,device=x,sensor=y do_mg_l=1 1", "raw")
    assert exc.value.status == 403
    grafana.query('SELECT * FROM "raw"."water_quality" LIMIT 1')
    operator = Client(broker.url, "operator", password(deploy_dir, "operator"), "operator")
    assert not operator.subscribe(contract.DEADLETTER_TOPIC).is_failure
    env = Layout(deploy_dir).env("ingest").read_text()
    environ = dict(line.split("=", 1) for line in env.splitlines())
    with Supervisor(tmp_path / "logs") as sup:
        sup.start(
            "ingest",
            blueranch_command(
                "ingest",
                "run",
                "--mqtt",
                broker.url,
                "--influx",
                server_url,
                "--database",
                "blueranch",
                "--registry",
                str(REGISTRY_FILE),
            ),
            env=environ,
        )
        me = Client(broker.url, "buoy-01", password(deploy_dir, "buoy-01"), edge_client_id("dachen", "buoy-01"))
        seq = iter(range(1, 100_000))

        def load(farm: str | None, asset: str | None, kg: float) -> bytes:
            claims = "".join(f',"{k}":"{v}"' for k, v in (("farm", farm), ("asset", asset)) if v)
            n = next(seq)
            t = f"2026-11-17T00:{n // 60 % 60:02d}:{n % 60:02d}Z"
            return (
                f'{{"schema":"{contract.TELEMETRY_SCHEMA}","device":"buoy-01","seq":{n},"samples":[{{"time":"{t}",'
                f'"sensor":"lc-m1-01","quantity":"load_kg","value":{kg},"unit":"kg","qc":1{claims}}}]}}'
            ).encode()

        topic = contract.telemetry_topic("dachen", "buoy-01")

        def biomass(where: str) -> int:
            s = admin.query(f'SELECT count("load_kg") FROM "raw"."biomass_load" WHERE {where}')
            return s[0].values[0][1] if s else 0

        def written() -> bool:  # publish until the worker is subscribed and a point lands
            me.publish(topic, load(None, None, 812.5))  # no claims: the registry's tags
            return biomass("\"farm\" = 'mussel-1' AND \"asset\" = 'm1-ll-01'") > 0

        try:
            wait_until(written, 60, 0.2, message="telemetry written with the registry's tags")
            me.publish(topic, load("mussel-6", "m6-ll-01", 99999))
            me.publish(topic, load("mussel-1", "m1-ll-02", 99999))  # the right farm, another longline
            me.publish(topic, load("mussel-1", "m1-ll-01", 815.0))  # claims the registry agrees with
            wait_until(lambda: len(operator.received) >= 2, 60, message="two dead letters")
            wait_until(
                lambda: biomass("\"farm\" = 'mussel-1' AND \"asset\" = 'm1-ll-01' AND load_kg = 815") == 1,
                60,
                message="the agreeing claim written",
            )
        except AssertionError:
            raise AssertionError(sup.log("ingest")[-3000:]) from None
        finally:
            me.close()
            operator.close()
        assert sup.stop("ingest", timeout_s=60) == 0
    letters = [json.loads(m.payload) for m in operator.received]
    assert [d["reason"] for d in letters] == ["registry_mismatch", "registry_mismatch"]
    assert "samples[0].farm" in letters[0]["detail"] and "mussel-6" in letters[0]["detail"]
    assert "samples[0].asset" in letters[1]["detail"] and "m1-ll-01" in letters[1]["detail"]
    assert biomass("\"farm\" = 'mussel-6'") == 0 and biomass("\"asset\" = 'm1-ll-02'") == 0
    assert biomass("load_kg > 90000") == 0
    assert count_points(admin, "othersite", "load_kg", "biomass_load") == 0
    log = sup.log("ingest")
    # the ingest's InfluxDB user only writes: it checks the databases (an empty write) and never creates them
    assert "cannot check database" not in log and "init-db" not in log
    for secret in ("ingest", "influx-ingest"):
        assert password(deploy_dir, secret) not in log
