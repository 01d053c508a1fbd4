"""docker-compose.yml: every command is a real ``blueranch`` subcommand, every mounted path exists.

There is no Docker engine on these machines, so the file is checked statically: each service's command is
parsed by the real CLI (unknown options fail), and each bind mount's source is in the repository.
"""

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


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_bind_mounts_exist_in_repo(service):
    for vol in SERVICES[service].get("volumes", []):
        source = vol.split(":")[0]
        if source.startswith("."):
            assert (REPO / source).exists(), f"{service}: {source} does not exist"


def test_grafana_mounts_the_dashboards_folder():
    sources = [v.split(":")[0] for v in SERVICES["grafana"]["volumes"]]
    assert "./dashboards/provisioning" in sources
