"""One import namespace: the wheel installs ``blueranch`` and nothing else, and no module imports a bare
``edge``, ``ingest``, ``models``, ``dashboards`` or ``firmware_sim`` (the repository's folder names).

The folders stay at the top of the repository; ``pyproject.toml`` maps each under ``blueranch``
(``[tool.setuptools] package-dir``).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: repository folder -> package it installs as
FOLDERS = {
    "blueranch": "blueranch",
    "edge": "blueranch.edge",
    "ingest": "blueranch.ingest",
    "models": "blueranch.models",
    "dashboards": "blueranch.dashboards",
    "firmware_sim": "blueranch.sim",
}
BARE = {"edge", "ingest", "models", "dashboards", "firmware_sim"}
CODE_DIRS = [*FOLDERS, "tests", "bench", "scripts"]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_package_dir_maps_every_folder_under_blueranch():
    cfg = _pyproject()["tool"]["setuptools"]
    assert cfg["package-dir"] == {pkg: folder for folder, pkg in FOLDERS.items()}
    expected = set()
    for folder, pkg in FOLDERS.items():
        for d in [REPO / folder, *(p for p in (REPO / folder).rglob("*") if p.is_dir())]:
            if d.name == "__pycache__" or not any(f.is_file() for f in d.iterdir()):
                continue
            rel = d.relative_to(REPO / folder)
            expected.add(".".join([pkg, *rel.parts]))
    missing = expected - set(cfg["packages"])
    extra = set(cfg["packages"]) - expected
    assert not missing, f"folders not listed in pyproject.toml [tool.setuptools] packages: {sorted(missing)}"
    assert not extra, f"pyproject.toml lists packages with no folder: {sorted(extra)}"


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "importorskip")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def test_no_module_imports_a_bare_folder_name():
    offenders = []
    for d in CODE_DIRS:
        for path in sorted((REPO / d).rglob("*.py")):
            for lineno, name in _imports(path):
                if name.split(".")[0] in BARE:
                    offenders.append(f"{path.relative_to(REPO)}:{lineno}: {name}")
    assert not offenders, "import through blueranch.* instead:\n" + "\n".join(offenders)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> tuple[Path, str]:
    """``python -m build`` as ``make dist`` runs it (the sdist, then the wheel from the sdist), from a copy of the
    files a clean clone has (tracked, or new and not ignored): no build/ left in the checkout. Returns the
    output folder and what the build printed."""
    tmp = tmp_path_factory.mktemp("dist")
    src, out = tmp / "src", tmp / "dist"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    for rel in filter(None, listed.decode().split("\0")):
        if (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as make dist
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--quiet", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc.stdout + proc.stderr


def _wheel(out: Path) -> Path:
    (wheel,) = out.glob("blueranch-*-py3-none-any.whl")
    return wheel


@pytest.mark.slow
def test_the_build_prints_no_warning(dist):
    out, printed = dist
    assert {p.name for p in out.iterdir()} == {_wheel(out).name, f"blueranch-{_version()}.tar.gz"}
    warnings = [line for line in printed.splitlines() if "warning" in line.lower()]
    assert not warnings, "\n".join(warnings)


def _version() -> str:
    return _pyproject()["project"]["version"]


@pytest.mark.slow
def test_wheel_installs_only_blueranch(dist):
    names = zipfile.ZipFile(_wheel(dist[0])).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"blueranch"}, f"the wheel installs more than one top-level name: {sorted(top)}"
    # Data the installed packages read at run time travel with them.
    for data in (
        "blueranch/sim/scenarios/dachen.yaml",
        "blueranch/reference/carbon_coefficients.csv",
        "blueranch/reference/emission_factors.csv",
        "blueranch/reference/water_quality_thresholds.csv",
        "blueranch/models/carbon/data/report.html.j2",
        "blueranch/dashboards/build/en/operators/blueranch-farm-operations.json",
        "blueranch/dashboards/build/zh/operators/blueranch-farm-operations-zh.json",
        "blueranch/locale/zh/LC_MESSAGES/dashboards.po",
    ):
        assert data in names, f"{data} is missing from the wheel"
    # The npm packages of the dashboard schema test are for the repository only.
    stray = [n for n in names if n.endswith(("package.json", "package-lock.json", ".ts")) or "node_modules" in n]
    assert not stray, f"not for the wheel: {stray}"


def _readme_commands(start: str, end: str) -> list[str]:
    """The shell lines of the README between two headings' text, continuation lines joined, comments cut."""
    text = (REPO / "README.md").read_text()
    section = text[text.index(start) : text.index(end, text.index(start))]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


GATEWAY = ("## Installing an edge agent on a gateway", "## Ingest")


def _on_gateway(line: str, venv: Path) -> list[str]:
    """A README line as run here: no sudo, the gateway's venv in a temporary folder."""
    line = line.removeprefix("sudo ").replace("/opt/blueranch/bin/", f"{venv}/bin/")
    return shlex.split(line)


def _fresh_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    return path


def _runs_the_edge_cli(venv: Path, cwd: Path) -> None:
    r = subprocess.run([venv / "bin" / "blueranch", "edge", "--help"], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0 and "Usage:" in r.stdout, r.stdout + r.stderr
    # A gateway gets the edge's dependencies, not the shore server's.
    r = subprocess.run([venv / "bin" / "python", "-c", "import jinja2"], capture_output=True, cwd=cwd)
    assert r.returncode != 0, "the [edge] install pulled in a server dependency (jinja2)"


@pytest.mark.slow
def test_the_readme_installs_the_wheel_on_a_gateway(dist, tmp_path):
    """README, "Installing an edge agent on a gateway": the wheel it names, copied to a gateway's folder,
    installed with its [edge] extra (dependencies from PyPI) into a fresh venv; then ``blueranch edge --help``."""
    lines = _readme_commands(*GATEWAY)
    assert "make dist" in lines
    wheel = _wheel(dist[0])
    (install,) = [x for x in lines if x.startswith("sudo /opt/blueranch/bin/pip install '")]
    assert f"'{wheel.name}[edge]'" in install, f"README installs another wheel than {wheel.name}: {install}"
    (copy,) = [x for x in lines if x.startswith("scp ")]
    assert f"dist/{wheel.name}" in copy.split() and "deploy/systemd/blueranch-edge.service" in copy.split()
    assert (REPO / "deploy/systemd/blueranch-edge.service").is_file()
    gateway = tmp_path / "gateway"
    gateway.mkdir()
    shutil.copy2(wheel, gateway / wheel.name)  # the scp
    venv = _fresh_venv(tmp_path / "opt-blueranch")
    r = subprocess.run([*_on_gateway(install, venv), "-q"], capture_output=True, text=True, cwd=gateway, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    (check,) = [x for x in lines if x.endswith("blueranch edge --help")]
    assert _on_gateway(check, venv) == [f"{venv}/bin/blueranch", "edge", "--help"]
    _runs_the_edge_cli(venv, gateway)


@pytest.mark.slow
def test_the_readme_installs_the_wheel_on_a_gateway_without_internet(dist, tmp_path):
    """The README's offline variant: ``pip download`` on the build machine (here for this machine's platform
    instead of the gateway's), then ``pip install --no-index`` from the wheelhouse alone."""
    lines = _readme_commands(*GATEWAY)
    (download,) = [x for x in lines if "pip download " in x]
    (install,) = [x for x in lines if "--no-index" in x]
    build_machine, gateway = tmp_path / "checkout", tmp_path / "gateway"
    (build_machine / "dist").mkdir(parents=True)
    shutil.copy2(_wheel(dist[0]), build_machine / "dist")
    args = shlex.split(download)
    assert args[0] == ".venv/bin/pip", download
    for option in ("--platform", "--python-version"):  # this machine's platform and Python
        while option in args:
            i = args.index(option)
            del args[i : i + 2]
    r = subprocess.run(
        [sys.executable, "-m", "pip", *args[1:], "-q"], capture_output=True, text=True, cwd=build_machine, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    gateway.mkdir()
    shutil.copytree(build_machine / "wheelhouse", gateway / "wheelhouse")
    shutil.copy2(_wheel(dist[0]), gateway)
    venv = _fresh_venv(tmp_path / "opt-blueranch")
    r = subprocess.run([*_on_gateway(install, venv), "-q"], capture_output=True, text=True, cwd=gateway, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    _runs_the_edge_cli(venv, gateway)
