"""``carbon verify``: a report package recomputes offline, and one changed reading is found."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from blueranch.models.carbon.cli import group
from blueranch.models.carbon.package import MANIFEST, manifest_bytes, read_package
from blueranch.models.carbon.verify import compare, verify
from blueranch.testing.carbon_synthetic import START_MS

DAY = 86_400_000


@pytest.fixture(scope="module")
def package(scenario, tmp_path_factory, report_package):
    cfg, synth = scenario
    return report_package(cfg, synth, tmp_path_factory.mktemp("report"), START_MS, START_MS + 30 * DAY)


def _rewrite(src, dst, change, forge_manifest=False):
    with zipfile.ZipFile(src) as z:
        files = {n: z.read(n) for n in z.namelist()}
    name, fn = change
    files[name] = fn(files[name])
    if forge_manifest:
        files[MANIFEST] = manifest_bytes({n: b for n, b in files.items() if n != MANIFEST})
    with zipfile.ZipFile(dst, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    return dst


def _one_reading_changed(body: bytes) -> bytes:
    """The 500th meter reading 1 L higher (and every later one, as a register would show)."""
    lines = body.decode().splitlines()
    for i in range(501, len(lines)):
        meter, q, t, v, qc = lines[i].split(",")
        lines[i] = ",".join([meter, q, t, repr(float(v) + 1.0), qc])
    return ("\n".join(lines) + "\n").encode()


def test_the_package_recomputes_offline(package):
    r = verify(package.package_path)
    assert r.ok, r.differences
    assert r.digest == package.package_sha256
    assert r.software["numpy"] == np.__version__ and r.software["git_commit"]
    pkg = read_package(package.package_path)
    assert {
        "readings/biomass_load.csv",
        "readings/energy.csv",
        "readings/reef.csv",
        "config.json",
        "request.json",
        "software.json",
        "figures.json",
        "reference/carbon_coefficients.csv",
        "reference/emission_factors.csv",
        MANIFEST,
    } == set(pkg.files)
    header = pkg.text("readings/biomass_load.csv").splitlines()[0]
    assert header == "asset,time_ms,load_kg,qc"
    html = package.html_path.read_text()
    assert package.package_sha256 in html  # the report's digest is the manifest's


def test_one_changed_reading_is_found(package, tmp_path):
    bad = _rewrite(package.package_path, tmp_path / "bad.zip", ("readings/energy.csv", _one_reading_changed))
    r = verify(bad)
    assert not r.ok
    assert "readings/energy.csv: SHA-256 differs from the manifest (the file was changed)" in r.differences
    assert any(d.startswith("data_sha256:") for d in r.differences)
    # Forging the manifest too changes the report's digest, and the figures still differ.
    forged = _rewrite(
        package.package_path, tmp_path / "forged.zip", ("readings/energy.csv", _one_reading_changed), True
    )
    r = verify(forged)
    assert r.digest != package.package_sha256
    assert not any("manifest" in d for d in r.differences)
    assert any(d.startswith("data_sha256:") for d in r.differences)
    assert any(d.startswith("site_total.sources_t_co2e: package") for d in r.differences), r.differences


def test_a_changed_figure_is_named(package, tmp_path):
    def edit(body: bytes) -> bytes:
        doc = json.loads(body)
        doc["site_total"]["sinks_t_co2e"] += 1.0
        return json.dumps(doc).encode()

    r = verify(_rewrite(package.package_path, tmp_path / "f.zip", ("figures.json", edit), True))
    assert [d for d in r.differences if d.startswith("site_total.sinks_t_co2e")], r.differences


def test_verify_cli(package, tmp_path):
    ok = CliRunner().invoke(group, ["verify", str(package.package_path)])
    assert ok.exit_code == 0 and "match" in ok.output
    bad = _rewrite(package.package_path, tmp_path / "bad.zip", ("readings/energy.csv", _one_reading_changed))
    r = CliRunner().invoke(group, ["verify", str(bad)])
    assert r.exit_code == 1 and "DIFFERS" in r.output and "readings/energy.csv" in r.output
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    r = CliRunner().invoke(group, ["verify", str(junk)])
    assert r.exit_code == 2 and "not a package" in r.output and "Traceback" not in r.output
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("../escape", b"x")
    r = CliRunner().invoke(group, ["verify", str(z)])
    assert r.exit_code == 2 and "not a relative path" in r.output


def test_compare_names_paths():
    a = {"totals": [{"scope": "site", "key": "d", "x": 1.0}], "s": "a"}
    b = {"totals": [{"scope": "site", "key": "d", "x": 1.0 + 1e-12}], "s": "b"}
    assert compare(a, b) == ["s: package 'a', recomputed 'b'"]
    b["totals"][0]["x"] = 2.0
    assert "totals[site d].x: package 1.0, recomputed 2.0" in compare(a, b)


def test_folder_package(scenario, package, tmp_path):
    with zipfile.ZipFile(package.package_path) as z:
        z.extractall(tmp_path / "pkg")
    assert verify(tmp_path / "pkg").ok
    (tmp_path / "pkg" / "extra.txt").write_text("x")
    assert "extra.txt: in the package but not in the manifest" in verify(tmp_path / "pkg").differences
