"""docker-compose.yml: every command is a real ``blueranch`` subcommand, every mounted path exists, each
service gets only its own secrets, and only MQTT over TLS is published beyond loopback.

There is no Docker engine on these machines, so the file is checked statically: each service's command is
parsed by the real CLI (unknown options fail), each bind mount's source is in the repository or is made by
``blueranch deploy init deploy/local`` (run here into a temporary folder).
"""

import re
from pathlib import Path

import click
import pytest
import yaml

from blueranch.cli import main

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
BLUERANCH_SERVICES = [
    n for n, s in SERVICES.items() if isinstance(s.get("command"), list) and s["command"][0] == "blueranch"
]


def test_expected_services_are_present():
    for name in ("mosquitto", "influxdb", "grafana", "ingest", "carbon", "alerts", "sim"):
        assert name in SERVICES, name
    assert "sim" in SERVICES["sim"]["profiles"]
    for name in ("mosquitto", "influxdb", "grafana"):
        assert "healthcheck" in SERVICES[name], name
    assert set(COMPOSE["volumes"]) >= {"mosquitto-data", "influxdb-data", "grafana-data"}


@pytest.mark.parametrize("service", BLUERANCH_SERVICES)
def test_service_command_is_a_real_subcommand(service):
    args = list(SERVICES[service]["command"][1:])
    cmd: click.Command = main
    ctx = click.Context(main, info_name="blueranch")
    path = ["blueranch"]
    while isinstance(cmd, click.Group):
        name = args.pop(0)
        sub = cmd.get_command(ctx, name)
        assert sub is not None, f"{service}: '{' '.join(path)} {name}' is not a subcommand"
        path.append(name)
        ctx = click.Context(sub, info_name=name, parent=ctx)
        cmd = sub
    # make_context parses every option: an unknown option or a bad value raises a UsageError
    try:
        cmd.make_context(" ".join(path), args)
    except click.UsageError as exc:
        pytest.fail(f"{service}: {' '.join(path)}: {exc.format_message()}")


GENERATED = "./deploy/local/"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """What ``blueranch deploy init deploy/local --registry deploy/blueranch/registry.yaml --sim`` makes."""
    from blueranch.deploy.init import InitOptions, init
    from blueranch.ingest.registry import load_registry

    root = tmp_path_factory.mktemp("deploy") / "local"
    init(root, InitOptions(load_registry(REPO / "deploy/blueranch/registry.yaml").config, sim=True))
    return root


def _source(path: str, generated: Path) -> Path:
    if path.startswith(GENERATED) or path.startswith(GENERATED[2:]):
        return generated / path.split(GENERATED[2:], 1)[1]
    return REPO / path


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_bind_mounts_and_env_files_exist_in_repo_or_are_generated(service, generated):
    for vol in SERVICES[service].get("volumes", []):
        source = vol.split(":")[0]
        if source.startswith("."):
            assert _source(source, generated).exists(), f"{service}: {source} does not exist"
    for env in SERVICES[service].get("env_file", []):
        assert _source(env, generated).is_file(), f"{service}: env_file {env} is not generated"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_gets_only_its_own_secrets(service, generated):
    """Its own env file, or none; no password written into the compose file; no other service's files."""
    s = SERVICES[service]
    assert "env_file" not in COMPOSE["x-blueranch"], "the shared anchor would hand every secret to everyone"
    assert s.get("env_file", []) in ([], [f"deploy/local/env/{service}.env"]), (service, s.get("env_file"))
    for key, value in (s.get("environment") or {}).items():
        assert not re.search(r"PASSWORD|SECRET|TOKEN", key), f"{service}: {key}={value!r} in docker-compose.yml"
    own = {"mosquitto": "mosquitto", "influxdb": "influxdb/init"}.get(service)
    if service.startswith("edge-"):
        own = f"devices/{service.removeprefix('edge-')}"
    for vol in s.get("volumes", []):
        source = vol.split(":")[0]
        if source.startswith(GENERATED):
            assert source[len(GENERATED) :] == own, f"{service} mounts {source}, which is not its own"
    # an env file holds only secrets that no other env file holds (the InfluxDB users' own passwords are in
    # the database's init script: it creates those users)
    mine = _values(generated / "env" / f"{service}.env")
    for other in (generated / "env").glob("*.env"):
        if other.stem != service:
            shared = mine & _values(other)
            assert not shared, f"{service} and {other.stem} share a secret"


def _values(path: Path) -> set[str]:
    if not path.exists():
        return set()
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {v for k, v in pairs if "PASSWORD" in k}


def _host_addr(port: str) -> str | None:
    """The host address of a published port (``ADDR:HOST:CONTAINER``), with ``${VAR:-default}`` resolved."""
    port = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(port))
    parts = port.split(":")
    return parts[0] if len(parts) == 3 else None


def test_published_ports_bind_loopback_except_mqtt_over_tls():
    published = {}
    for name, s in SERVICES.items():
        for port in s.get("ports", []):
            published[(name, str(port).rsplit(":", 1)[-1])] = _host_addr(port)
    assert ("mosquitto", "8883") in published, "the broker serves MQTT over TLS"
    assert ("mosquitto", "1883") not in published, "plain MQTT stays on the compose network"
    for (name, container_port), addr in published.items():
        if (name, container_port) != ("mosquitto", "8883"):
            assert addr == "127.0.0.1", f"{name}:{container_port} is published on {addr or 'every interface'}"


def test_broker_config_serves_tls_and_refuses_anonymous(generated):
    conf = (generated / "mosquitto" / "mosquitto.conf").read_text()
    assert "\nallow_anonymous false\n" in conf
    assert "\nlistener 8883\n" in conf and "\nrequire_certificate true\n" in conf
    assert "mosquitto_dynamic_security.so" in conf


def test_ingest_binds_tags_to_the_shore_registry():
    command = SERVICES["ingest"]["command"]
    assert command[command.index("--registry") + 1] == "/etc/blueranch/registry.yaml"
    assert "./deploy/blueranch/registry.yaml:/etc/blueranch/registry.yaml:ro" in SERVICES["ingest"]["volumes"]


def test_grafana_mounts_the_dashboards_folder():
    sources = [v.split(":")[0] for v in SERVICES["grafana"]["volumes"]]
    assert "./dashboards/provisioning" in sources
