"""What docker-compose mounts into Grafana is exactly what ``blueranch dashboards build`` produces."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

import yaml

from blueranch.dashboards.build import audiences
from blueranch.dashboards.common import MIN_INTERVAL_MS
from blueranch.i18n import LANGUAGES

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
GRAFANA = COMPOSE["services"]["grafana"]


def _mounts() -> dict[str, str]:
    return {target: source for source, target, *_ in (v.split(":") for v in GRAFANA["volumes"])}


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_committed_build_is_what_build_writes(tmp_path, blueranch_bin):
    out = tmp_path / "build"
    rules = tmp_path / "alerting.yaml"
    r = subprocess.run(
        [blueranch_bin, "dashboards", "build", "--out", str(out), "--alert-rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    mounted = REPO / _mounts()["/var/lib/grafana/dashboards"]
    committed, built = _tree(mounted), _tree(out)
    differ = sorted(k for k in committed.keys() | built.keys() if committed.get(k) != built.get(k))
    assert not differ, f"{differ} differ: rebuild with `blueranch dashboards build` and commit dashboards/build"
    assert (REPO / "dashboards/provisioning/alerting/blueranch.yaml").read_bytes() == rules.read_bytes()


def test_compose_mounts_provisioning_and_build():
    mounts = _mounts()
    assert mounts["/etc/grafana/provisioning"] == "./dashboards/provisioning"
    assert mounts["/var/lib/grafana/dashboards"] == "./dashboards/build"
    provisioning = REPO / "dashboards" / "provisioning"
    assert {p.name for p in provisioning.iterdir()} >= {"datasources", "dashboards", "alerting"}


def test_providers_point_at_the_built_audience_folders():
    """One provider per audience and language, its folder titled in that language."""
    doc = yaml.safe_load((REPO / "dashboards/provisioning/dashboards/blueranch.yaml").read_text(encoding="utf-8"))
    providers = {p["folderUid"]: p for p in doc["providers"]}
    every = [a for lang in LANGUAGES for a in audiences(lang)]
    assert set(providers) == {a.folder_uid for a in every} and len(providers) == len(doc["providers"])
    for a in every:
        p = providers[a.folder_uid]
        assert p["folder"] == a.folder_title and p["type"] == "file"
        path = p["options"]["path"]
        assert path == f"/var/lib/grafana/dashboards/{a.lang}/{a.key}"
        assert list((REPO / "dashboards/build" / a.lang / a.key).glob("*.json")), (a.lang, a.key)


def test_datasource_takes_credentials_from_the_environment():
    ds = yaml.safe_load((REPO / "dashboards/provisioning/datasources/influxdb.yaml").read_text())["datasources"][0]
    assert ds["type"] == "influxdb" and ds["jsonData"]["version"] == "InfluxQL"
    assert ds["jsonData"]["dbName"] == "blueranch"
    assert ds["jsonData"]["timeInterval"] == f"{MIN_INTERVAL_MS // 1000}s"
    assert ds["user"].startswith("$") and ds["secureJsonData"]["password"].startswith("$")
    # Grafana's env file as 'blueranch deploy init' writes it (deploy/local/env/grafana.env)
    from blueranch.deploy.init import InitOptions, env_files
    from blueranch.ingest.registry import RegistryConfig

    names = set(env_files(InitOptions(RegistryConfig()), defaultdict(str))["grafana"])
    for ref in (ds["user"], ds["secureJsonData"]["password"]):
        assert ref.strip("${}") in names, f"{ref} is not set in Grafana's generated env file"


def test_home_dashboard_is_a_mounted_file():
    home = GRAFANA["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    mount = "/var/lib/grafana/dashboards"
    assert home.startswith(mount + "/")
    assert (REPO / _mounts()[mount] / home[len(mount) + 1 :]).is_file(), home
