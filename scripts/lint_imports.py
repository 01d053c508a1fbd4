"""Check the layers (import-linter contracts in pyproject.toml) against the installed layout.

import-linter finds a package's modules on disk under the package's folder, but ``blueranch.edge`` and the other
roles live in top-level folders mapped by ``[tool.setuptools] package-dir``. This builds the installed layout
as a tree of symbolic links in a temporary folder and runs ``lint-imports`` on it. Exit code: lint-imports'.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    package_dir: dict[str, str] = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ]
    with tempfile.TemporaryDirectory(prefix="blueranch-layers-") as tmp:
        root = Path(tmp) / "blueranch"
        root.mkdir()
        for entry in (REPO / package_dir["blueranch"]).iterdir():
            (root / entry.name).symlink_to(entry)
        for package, folder in package_dir.items():
            if package != "blueranch":
                (root / package.removeprefix("blueranch.")).symlink_to(REPO / folder)
        env = {**os.environ, "PYTHONPATH": tmp}
        lint = Path(sys.executable).with_name("lint-imports")
        return subprocess.run([str(lint), str(REPO / "pyproject.toml")], cwd=tmp, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
