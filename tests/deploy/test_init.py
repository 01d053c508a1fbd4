"""``blueranch deploy init``: one command, idempotent, never overwriting a secret; certificates, broker
users and env files as docs/security.md describes. (tests/ingest/test_security.py runs the result.)"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from blueranch.deploy import dynsec
from blueranch.deploy.init import InitOptions, Layout, env_files, example_dynsec, init
from blueranch.ingest.registry import load_registry, parse_registry
from blueranch.sim.registry import registry_data
from blueranch.sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
REGISTRY_FILE = REPO / "deploy" / "blueranch" / "registry.yaml"
REGISTRY = load_registry(REGISTRY_FILE).config


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "blueranch", *args], capture_output=True, text=True, timeout=120)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_is_one_idempotent_command_that_never_overwrites(tmp_path):
    root = tmp_path / "local"
    first = _cli("deploy", "init", str(root), "--registry", str(REGISTRY_FILE))
    assert first.returncode == 0, first.stderr
    before = _snapshot(root)
    again = _cli("deploy", "init", str(root), "--registry", str(REGISTRY_FILE))
    assert again.returncode == 0, again.stderr
    assert "0 files created" in again.stdout
    assert _snapshot(root) == before
    # a changed password file is the operator's: kept as it is
    lay = Layout(root)
    (lay.password("alerts")).write_text("mine\n")
    assert _cli("deploy", "init", str(root), "--registry", str(REGISTRY_FILE)).returncode == 0
    assert lay.password("alerts").read_text() == "mine\n"


def test_secrets_are_private_and_strong(tmp_path):
    init(tmp_path, InitOptions(REGISTRY))
    lay = Layout(tmp_path)
    private = [
        *tmp_path.glob("passwords/*"),
        *tmp_path.glob("env/*.env"),
        *tmp_path.glob("devices/*/password"),
        *tmp_path.glob("devices/*/client.key"),
        lay.ca_key,
        lay.certs / "server.key",
        lay.dynsec,
        lay.influx_init,
    ]
    assert len(private) > 20
    for p in private:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    passwords = [p.read_text().strip() for p in tmp_path.glob("passwords/*")]
    assert len(set(passwords)) == len(passwords) and all(len(pw) >= 43 for pw in passwords)


def test_adding_a_device_adds_its_user_and_role_and_keeps_broker_changes(tmp_path):
    init(tmp_path, InitOptions(REGISTRY))
    lay = Layout(tmp_path)
    config = json.loads(lay.dynsec.read_text())
    config["clients"][0]["textName"] = "changed with mosquitto_ctrl"
    lay.dynsec.write_text(json.dumps(config))
    data = yaml.safe_load(REGISTRY_FILE.read_text())
    data["devices"]["buoy-09"] = {"site": "beiji", "farm": "kelp-9"}
    report = init(tmp_path, InitOptions(parse_registry(data).config))
    assert sorted(report.added_to_broker) == ["client buoy-09", "role device-buoy-09"]
    assert {"devices/buoy-09/password", "devices/buoy-09/client.crt", "env/edge-buoy-09.env"} <= set(report.created)
    config = json.loads(lay.dynsec.read_text())
    assert config["clients"][0]["textName"] == "changed with mosquitto_ctrl"
    role = next(r for r in config["roles"] if r["rolename"] == "device-buoy-09")
    sends = {a["topic"] for a in role["acls"] if a["acltype"] == "publishClientSend"}
    assert sends == {f"blueranch/v1/beiji/buoy-09/{k}" for k in ("telemetry", "status", "events")}
    client = next(c for c in config["clients"] if c["username"] == "buoy-09")
    assert client["clientid"] == "edge-beiji-buoy-09"


def test_certificates_chain_to_the_local_ca_with_the_right_names_and_usages(tmp_path):
    init(tmp_path, InitOptions(REGISTRY, hosts=("localhost", "mqtt.example.org", "10.0.0.5")))
    lay = Layout(tmp_path)
    ca = x509.load_pem_x509_certificate(lay.ca_cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    server = x509.load_pem_x509_certificate((lay.certs / "server.crt").read_bytes())
    server.verify_directly_issued_by(ca)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "mqtt.example.org" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    device = x509.load_pem_x509_certificate((lay.identity_dir("buoy-01") / "client.crt").read_bytes())
    device.verify_directly_issued_by(ca)
    assert device.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value == "buoy-01"
    assert ExtendedKeyUsageOID.CLIENT_AUTH in device.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert (lay.identity_dir("buoy-01") / "ca.crt").read_bytes() == lay.ca_cert.read_bytes()


def test_half_a_ca_is_refused_rather_than_replaced(tmp_path):
    init(tmp_path, InitOptions(REGISTRY))
    Layout(tmp_path).ca_key.unlink()
    r = _cli("deploy", "init", str(tmp_path), "--registry", str(REGISTRY_FILE))
    assert r.returncode == 1 and "only one of" in r.stderr and "Traceback" not in r.stderr


def test_password_hashes_are_the_plugin_s_format():
    """Mosquitto's own tool wrote this one (mosquitto_ctrl dynsec init, password 'secretpw')."""
    entry = dynsec.hash_password("secretpw", 101, __import__("base64").b64decode("L4viZJlycuTIdpFm"))
    assert entry["password"] == (
        "6qrpJpPHn5/PZAKIWuUnlSZJEmf4KdO0euCwFaptFs5lAX0K7me/JR9EpUVIXnbJN8mCM9amFqvT7n9iwgctiA=="
    )


def test_each_service_env_holds_only_its_own_secrets(tmp_path):
    init(tmp_path, InitOptions(REGISTRY, sim=True))
    lay = Layout(tmp_path)
    pw = {p.name: p.read_text().strip() for p in tmp_path.glob("passwords/*")}
    envs = env_files(InitOptions(REGISTRY, sim=True), {**pw, **{d: "x" for d in REGISTRY.devices}})
    assert envs["carbon"].keys() == {"BLUERANCH_INFLUX_USERNAME", "BLUERANCH_INFLUX_PASSWORD"}
    assert "BLUERANCH_MQTT_PASSWORD" not in envs["alerts"]  # its broker password has a name of its own
    ingest = lay.env("ingest").read_text()
    assert pw["ingest"] in ingest and pw["influx-ingest"] in ingest
    pw["operator"] = (lay.identity_dir("operator") / "password").read_text().strip()
    for other in ("alerts", "influx-admin", "influx-carbon", "grafana-admin", "operator"):
        assert pw[other] not in ingest


def test_rotating_a_device_changes_its_password_everywhere_and_nothing_else(tmp_path):
    init(tmp_path, InitOptions(REGISTRY))
    lay = Layout(tmp_path)
    before = _snapshot(tmp_path)
    old = (lay.identity_dir("buoy-01") / "password").read_text()
    r = _cli("deploy", "rotate", str(tmp_path), "buoy-01", "--registry", str(REGISTRY_FILE))
    assert r.returncode == 0, r.stderr
    after = _snapshot(tmp_path)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {
        "devices/buoy-01/password",
        "devices/buoy-01/client.crt",
        "devices/buoy-01/client.key",
        "env/edge-buoy-01.env",
        "mosquitto/dynamic-security.json",
    }
    new = (lay.identity_dir("buoy-01") / "password").read_text()
    assert new != old and new.strip() in lay.env("edge-buoy-01").read_text()
    r = _cli("deploy", "rotate", str(tmp_path), "nobody", "--registry", str(REGISTRY_FILE))
    assert r.returncode == 2 and "not a broker user" in r.stderr


def test_committed_example_is_what_the_generator_makes_and_holds_no_password():
    committed = json.loads((REPO / "deploy/mosquitto/dynamic-security.example.json").read_text())
    assert committed == example_dynsec(REGISTRY), (
        "regenerate: blueranch deploy example --registry deploy/blueranch/registry.yaml "
        "--write deploy/mosquitto/dynamic-security.example.json"
    )
    assert all("password" not in c for c in committed["clients"])


def test_committed_registry_is_the_dachen_scenario_s():
    """docker compose --profile sim plays the dachen scenario: its devices must be the registry's."""
    assert yaml.safe_load(REGISTRY_FILE.read_text()) == registry_data(load_scenario("dachen"))


@pytest.mark.parametrize("secretish", [r"PASSWORD=[\w-]{6,}", r"-----BEGIN", r"\$7\$", r'"salt"'])
def test_no_secret_is_committed(secretish):
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout
    for name in tracked.split():
        if name.startswith("deploy/") or name in ("docker-compose.yml", "Dockerfile"):
            text = (REPO / name).read_text(errors="replace")
            assert not re.search(secretish, text), f"{name} holds {secretish!r}"
