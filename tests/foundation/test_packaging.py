"""One import namespace: the wheel installs ``blueranch`` and nothing else, and no module imports a bare
``edge``, ``ingest``, ``models``, ``dashboards`` or ``firmware_sim`` (the repository's folder names).

The folders stay at the top of the repository; ``pyproject.toml`` maps each under ``blueranch``
(``[tool.setuptools] package-dir``).
"""

from __future__ import annotations

import ast
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


@pytest.mark.slow
def test_wheel_installs_only_blueranch(tmp_path):
    # Build from a copy of the tracked files: what a clean clone builds, and no build/ left in the checkout.
    src, out = tmp_path / "src", tmp_path / "dist"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        if (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = out.glob("blueranch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"blueranch"}, f"the wheel installs more than one top-level name: {sorted(top)}"
    # Data the installed packages read at run time travel with them.
    for data in (
        "blueranch/sim/scenarios/dachen.yaml",
        "blueranch/reference/carbon_coefficients.csv",
        "blueranch/reference/emission_factors.csv",
        "blueranch/reference/water_quality_thresholds.csv",
        "blueranch/models/carbon/data/report.html.j2",
        "blueranch/dashboards/build/operators/blueranch-farm-operations.json",
    ):
        assert data in names, f"{data} is missing from the wheel"
