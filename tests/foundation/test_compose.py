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
#: services that are another one run again (the cluster profile's ingest services are the ingest): its secrets
SAME_ROLE = {"cluster-ingest-1": "ingest", "cluster-ingest-2": "ingest"}


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
    role = SAME_ROLE.get(service, service)
    assert s.get("env_file", []) in ([], [f"deploy/local/env/{role}.env"]), (service, s.get("env_file"))
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
    mine = _values(generated / "env" / f"{role}.env")
    for other in (generated / "env").glob("*.env"):
        if other.stem != role:
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


# ---------------------------------------------------------------- profile cluster (docs/scale-out.md)
CLUSTER = {n: s for n, s in SERVICES.items() if "cluster" in s.get("profiles", [])}
EMQX = sorted(n for n, s in CLUSTER.items() if str(s.get("image", "")).startswith("emqx/emqx:"))


def test_the_cluster_profile_is_three_emqx_nodes_that_seed_each_other_behind_haproxy():
    assert EMQX == ["emqx1", "emqx2", "emqx3"]
    nodes = {SERVICES[n]["environment"]["EMQX_NODE__NAME"] for n in EMQX}
    assert len(nodes) == 3
    for n in EMQX:
        env = SERVICES[n]["environment"]
        seeds = set(env["EMQX_CLUSTER__STATIC__SEEDS"].strip("[]").split(","))
        assert seeds == nodes, n
        assert env["EMQX_NODE__NAME"].split("@")[1] in SERVICES[n]["networks"]["default"]["aliases"]
        assert env["EMQX_AUTHORIZATION__NO_MATCH"] == "deny" and "./deploy/emqx/acl.conf:" in SERVICES[n]["volumes"][0]
        # the free edition does not replicate durable sessions, and a cluster with them enabled does not start
        assert env["EMQX_DURABLE_SESSIONS__ENABLE"] == "false"
        assert SERVICES[n]["image"].startswith("emqx/emqx:5.8."), "5.9 and later cluster only with a licence"
    cfg = (REPO / "deploy/emqx/haproxy.cfg").read_text()
    servers = re.findall(r"^\s*server (\w+) (\w+):1883 check", cfg, re.MULTILINE)
    assert sorted(host for _, host in servers) == EMQX
    assert set(SERVICES["haproxy"]["depends_on"]) == set(EMQX)


def test_the_cluster_ingest_services_share_a_group_with_distinct_stable_client_ids():
    ingests = sorted(n for n in CLUSTER if SERVICES[n].get("command", [None, None])[1:2] == ["ingest"])
    assert ingests == ["cluster-ingest-1", "cluster-ingest-2"]
    ids = []
    for n in ingests:
        cmd = SERVICES[n]["command"]
        assert cmd[cmd.index("--mqtt") + 1] == "mqtt://haproxy:1883" and cmd[cmd.index("--workers") + 1] == "1"
        assert "--config" not in cmd  # one config, one group: the default (ingest)
        ids.append(f"ingest-{cmd[cmd.index('--worker-index') + 1]}")  # client id and broker user
    assert len(set(ids)) == 2
    acl = (REPO / "deploy/emqx/acl.conf").read_text()
    for client_id in ids:
        assert f'{{username, "{client_id}"}}, {{clientid, "{client_id}"}}' in acl


def test_the_committed_emqx_acl_is_the_mosquitto_roles_translated():
    from blueranch.deploy.cli import CLUSTER_INGEST_WORKERS
    from blueranch.deploy.emqx import acl
    from blueranch.ingest.registry import load_registry

    registry = load_registry(REPO / "deploy/blueranch/registry.yaml").config
    committed = (REPO / "deploy/emqx/acl.conf").read_text()
    assert committed == acl(registry, ingest_workers=CLUSTER_INGEST_WORKERS), (
        "regenerate: blueranch deploy example --registry deploy/blueranch/registry.yaml --emqx-acl "
        "--write deploy/emqx/acl.conf"
    )
    assert committed.rstrip().endswith("{deny, all}.")
    # a device publishes its own site's topics only, under its own client id
    line = next(ln for ln in committed.splitlines() if '"buoy-01"' in ln and "publish" in ln)
    assert '{clientid, "' in line and all("/dachen/buoy-01/" in t for t in re.findall(r'"(blueranch/[^"]+)"', line))
