"""Every generated dashboard type-checks against Grafana's own ``Dashboard`` type (``@grafana/schema``).

Grafana cannot run here, so its schema stands in for it: each dashboard's JSON is written as a TypeScript
object literal of that type (``grafana_schema.ts`` beside this file says how enum-typed fields and InfluxDB
queries are compared) and ``tsc`` checks it, for each pinned schema version (10.4, 11.6 and 13.2:
``dashboards/package.json``, installed by ``scripts/node-deps.sh``, which ``make test`` runs). Any error
fails: an unknown key, a missing required field, a value of the wrong type.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from blueranch.dashboards.build import build_languages

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
PACKAGE = json.loads((REPO / "dashboards" / "package.json").read_text())
#: "grafana-schema-13.2" -> "13.2": one npm alias per Grafana version checked
VERSIONS = sorted(
    name.removeprefix("grafana-schema-") for name in PACKAGE["devDependencies"] if name.startswith("grafana-schema-")
)
DASHBOARDS = {d.uid: d.to_json() for _, d in build_languages()}
_ERROR = re.compile(r"^(?P<file>[^\s(]+\.ts)\(\d+,\d+\): error TS\d+: ")


def _broken() -> dict:
    """A dashboard with one mistake of each kind the check must find (so that it cannot pass vacuously;
    TypeScript reports one error per object literal, hence one mistake per object)."""
    d = json.loads(json.dumps(next(iter(DASHBOARDS.values()))))
    d["templating"]["list"][1]["definition"] = "SHOW TAG VALUES ..."  # not a VariableModel field
    d["templating"]["list"][0]["current"] = {}  # a VariableOption needs text and value
    del d["links"][0]["icon"]  # required by DashboardLink
    d["panels"][0]["targets"][0]["rawQeury"] = True  # misspelt InfluxDB query key
    d["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["mode"] = "absolut"  # not a ThresholdsMode value
    d["graphTooltip"] = 7  # not a DashboardCursorSync value
    return d


def _literal(schema_module: str, doc: dict) -> str:
    return (
        f'import type {{ Checked, GrafanaDashboard, Loose }} from "./{schema_module}";\n'
        f"export const dashboard: Loose<Checked> = {json.dumps(doc, indent=1, ensure_ascii=False)};\n"
        "export const asGrafana: GrafanaDashboard = dashboard;\n"
    )


@pytest.fixture(scope="module")
def tsc_errors(tmp_path_factory) -> dict[str, list[str]]:
    """Run tsc once over every (version, dashboard) file; the errors per file name."""
    node_dir = REPO / ".venv" / "node"
    r = subprocess.run([str(REPO / "scripts" / "node-deps.sh"), str(node_dir)], capture_output=True, text=True)
    assert r.returncode == 0, f"scripts/node-deps.sh failed:\n{r.stderr}"
    work = tmp_path_factory.mktemp("grafana-schema")
    (work / "node_modules").symlink_to(node_dir / "node_modules")
    template = (HERE / "grafana_schema.ts").read_text()
    assert template.count('from "@grafana/schema"') == 1
    files = []
    for version in VERSIONS:
        module = f"schema-{version}"
        (work / f"{module}.ts").write_text(template.replace('"@grafana/schema"', f'"grafana-schema-{version}"'))
        for uid, doc in [*DASHBOARDS.items(), ("broken", _broken())]:
            name = f"{version}_{uid}.ts"
            (work / name).write_text(_literal(module, doc), encoding="utf-8")
            files.append(name)
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "es2022",
            "module": "esnext",
            "moduleResolution": "bundler",
            "skipLibCheck": True,
            "types": [],
        },
        "files": files,
    }
    (work / "tsconfig.json").write_text(json.dumps(config, indent=1))
    r = subprocess.run(
        [str(work / "node_modules" / ".bin" / "tsc"), "-p", str(work), "--pretty", "false"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors: dict[str, list[str]] = defaultdict(list)
    for line in r.stdout.splitlines():
        m = _ERROR.match(line)
        if m:
            errors[Path(m["file"]).name].append(line)
        elif line.startswith(" ") and errors:  # continuation of a multi-line message
            last = next(reversed(errors))
            errors[last][-1] += "\n" + line
        elif line.strip():
            errors["(tsc)"].append(line)
    assert not errors["(tsc)"] and (r.returncode == 0) == (not errors), r.stdout + r.stderr
    errors.pop("(tsc)")
    return errors


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_dashboard_is_a_grafana_dashboard(tsc_errors, version, uid):
    found = tsc_errors.get(f"{version}_{uid}.ts", [])
    assert not found, f"{uid} against @grafana/schema {version}:\n" + "\n".join(found)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_check_finds_each_kind_of_mistake(tsc_errors, version):
    found = tsc_errors.get(f"{version}_broken.ts", [])
    for needle in ("definition", "text, value", "icon", "rawQeury", "absolut", "DashboardCursorSync"):
        assert any(needle in e for e in found), f"{needle!r} not reported:\n" + "\n".join(found)


def test_every_grafana_version_is_pinned_exactly():
    deps = PACKAGE["devDependencies"]
    assert len(VERSIONS) >= 3 and "typescript" in deps
    for name, spec in deps.items():
        assert re.fullmatch(r"(npm:@grafana/schema@)?\d+\.\d+\.\d+", spec), f"{name}: {spec} is not an exact version"
    lock = json.loads((REPO / "dashboards" / "package-lock.json").read_text())
    assert lock["packages"][""]["devDependencies"] == deps, "dashboards/package-lock.json is stale: npm install"
