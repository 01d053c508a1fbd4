"""The deploy/mosquitto setup (conf, ACL, passwd) with the real broker, and InfluxDB with authentication."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from blueranch.contracts import mqtt as contract
from blueranch.influxdb import InfluxClient, InfluxError
from blueranch.mqttc import make_client, parse_url
from blueranch.procs import Supervisor, blueranch_command
from blueranch.testing.ingest_checks import count_points
from blueranch.testing.loadgen import payload
from blueranch.testing.services import Mosquitto, find_binary
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
T0 = 1_795_000_000_000


class DeployedMosquitto(Mosquitto):
    """Mosquitto running deploy/mosquitto/mosquitto.conf, its ACL and passwd, on a free loopback port."""

    def command(self) -> list[str]:
        d = self.workdir
        (d / "data").mkdir(exist_ok=True)
        for name in ("acl", "passwd"):
            (d / name).write_bytes((DEPLOY / name).read_bytes())
        (d / "passwd").chmod(0o600)
        conf = (DEPLOY / "mosquitto.conf").read_text()
        assert "\nlistener 1883\n" in conf and "allow_anonymous false" in conf
        conf = (
            conf.replace("/mosquitto/config/", f"{d}/")
            .replace("/mosquitto/data/", f"{d}/data/")
            .replace("\nlistener 1883\n", f"\nlistener {self.port} 127.0.0.1\n")
        )
        conf = self._user_line() + conf
        (d / "mosquitto.conf").write_text(conf)
        return [find_binary("mosquitto", ("/usr/sbin/mosquitto",)), "-c", str(d / "mosquitto.conf")]


@pytest.fixture
def broker(tmp_path):
    with DeployedMosquitto(tmp_path / "mosquitto") as b:
        yield b


class Device:
    """An MQTT 5 client that records PUBACK and SUBACK reason codes and what it receives."""

    def __init__(self, url: str, user: str, password: str):
        u = parse_url(url)
        self.client = make_client(f"{user}-test", clean=True, username=user, password=password)
        self.acks: dict[int, object] = {}
        self.received: list[str] = []
        self.connected = threading.Event()
        self.connect_rc = None
        self.subacks: list = []
        self.client.on_publish = lambda c, ud, mid, rc, p: self.acks.__setitem__(mid, rc)
        self.client.on_message = lambda c, ud, m: self.received.append(m.topic)
        self.client.on_subscribe = lambda c, ud, mid, rcs, p: self.subacks.extend(rcs)

        def on_connect(c, ud, flags, rc, props):
            self.connect_rc = rc
            self.connected.set()

        self.client.on_connect = on_connect
        self.client.connect(u.host, u.port, clean_start=True)
        self.client.loop_start()
        assert self.connected.wait(30)

    def publish(self, topic: str, body: bytes):
        info = self.client.publish(topic, body, qos=1)
        return wait_until(lambda: self.acks.get(info.mid), 30, message=f"PUBACK for {topic}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_committed_passwords_are_the_example_secrets_and_anonymous_is_refused(broker):
    assert not Device(broker.url, "ingest", "wrong").connect_rc.value == 0
    ok = Device(broker.url, "ingest", "change-me-ingest")  # deploy/secrets.example.env
    assert ok.connect_rc.value == 0
    ok.close()
    anonymous = make_client("anon", clean=True)
    rc = []
    anonymous.on_connect = lambda c, ud, f, r, p: rc.append(r)
    u = parse_url(broker.url)
    anonymous.connect(u.host, u.port)
    anonymous.loop_start()
    wait_until(lambda: rc, 30, message="CONNACK")
    anonymous.loop_stop()
    assert rc[0].is_failure


def test_a_device_cannot_publish_as_another_device_nor_read_its_commands(broker):
    me = Device(broker.url, "buoy-01", "change-me-buoy-01")
    operator = Device(broker.url, "operator", "change-me-operator")
    try:
        own = me.publish(contract.telemetry_topic("dachen", "buoy-01"), payload("buoy-01", 1, T0))
        assert not own.is_failure, own
        for kind in ("telemetry", "status", "events"):
            other = me.publish(f"{contract.PREFIX}/dachen/buoy-02/{kind}", payload("buoy-02", 1, T0))
            assert other.getName() == "Not authorized", (kind, other)
        assert me.publish(contract.DEADLETTER_TOPIC, b"{}").getName() == "Not authorized"
        me.client.subscribe(f"{contract.PREFIX}/+/+/cmd", qos=1)
        wait_until(lambda: me.subacks, 30, message="SUBACK")
        operator.publish(contract.cmd_topic("dachen", "buoy-02"), b'{"cmd": "reboot"}')
        operator.publish(contract.cmd_topic("dachen", "buoy-01"), b'{"cmd": "reboot"}')
        wait_until(lambda: me.received, 30, message="own command received")
        assert me.received == [contract.cmd_topic("dachen", "buoy-01")]
    finally:
        me.close()
        operator.close()


def test_ingest_runs_with_its_own_credentials_and_influxdb_authentication(broker, influxdb_factory, tmp_path):
    server = influxdb_factory(auth_enabled=True)
    InfluxClient(server.url, "_internal").query(
        "CREATE USER admin WITH PASSWORD 'admin-pw' WITH ALL PRIVILEGES", method="POST", database=None
    )
    anonymous = InfluxClient(server.url, "blueranch")
    with pytest.raises(InfluxError) as exc:
        anonymous.query("SHOW DATABASES", database=None)
    assert exc.value.status == 401
    admin = InfluxClient(server.url, "blueranch", "admin", "admin-pw")
    admin.ensure_database()
    admin.query("CREATE USER writer WITH PASSWORD 'writer-pw'", method="POST", database=None)
    admin.query('GRANT WRITE ON "blueranch" TO writer', method="POST", database=None)
    pw = tmp_path / "mqtt-password"
    pw.write_text("change-me-ingest\n")
    with Supervisor(tmp_path / "logs") as sup:
        sup.start(
            "ingest",
            blueranch_command(
                "ingest",
                "run",
                "--mqtt",
                broker.url,
                "--influx",
                server.url,
                "--database",
                "blueranch",
                "--mqtt-username",
                "ingest",
                "--mqtt-password-file",
                str(pw),
                "--influx-username",
                "writer",
            ),
            env={"BLUERANCH_INFLUX_PASSWORD": "writer-pw"},
        )
        device = Device(broker.url, "buoy-01", "change-me-buoy-01")
        seq = iter(range(1000))

        def written() -> bool:  # publish until the worker is subscribed and the point lands
            device.publish(contract.telemetry_topic("dachen", "buoy-01"), payload("buoy-01", next(seq), T0))
            return count_points(admin, "dachen") > 0

        try:
            wait_until(written, 60, 0.2, message="telemetry written with credentials")
        except AssertionError:
            raise AssertionError(sup.log("ingest")[-3000:]) from None
        device.close()
        assert sup.stop("ingest", timeout_s=60) == 0
    assert "cannot create database" in sup.log("ingest")  # the writer is not an administrator
