"""The ``blueranch`` command: groups, help and version."""

import importlib
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from blueranch import __version__
from blueranch.cli import GROUPS, main

EXPECTED = {"sim", "edge", "ingest", "carbon", "alerts", "dashboards", "export", "deploy", "demo"}


def test_all_groups_are_registered():
    assert set(GROUPS) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_group_imports_and_has_help(name):
    module, attr = GROUPS[name][0].split(":")
    cmd = getattr(importlib.import_module(module), attr)
    assert isinstance(cmd, click.Group) or name == "demo"
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_top_level_help_lists_groups_and_version(blueranch_bin):
    out = subprocess.run([blueranch_bin, "--help"], capture_output=True, text=True, check=True).stdout
    for name in EXPECTED:
        assert f"  {name} " in out
    ver = subprocess.run([blueranch_bin, "--version"], capture_output=True, text=True, check=True).stdout
    assert __version__ in ver


def test_help_does_not_import_server_libraries():
    code = (
        "import sys; from click.testing import CliRunner; from blueranch.cli import main; "
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
        "print(','.join(m for m in ('numpy', 'requests', 'paho', 'serial', 'netCDF4') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_unknown_group_is_an_error():
    result = CliRunner().invoke(main, ["nonsense"])
    assert result.exit_code == 2
    assert "No such command" in result.output
