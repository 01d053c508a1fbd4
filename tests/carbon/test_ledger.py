"""The credit ledger: issue a vintage, sell part as an auction lot, retire it, refuse a second issuance and an
over-issuance; ``ledger verify`` finds an edited entry."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from blueranch.models.carbon.cli import group
from blueranch.models.carbon.project import ProjectConfig
from blueranch.testing.carbon_synthetic import START_MS

DAY = 86_400_000

PROJECT = {
    "project_id": "BR-DACHEN-MUSSEL-1",
    "name": "Dachen mussel and kelp farms",
    "proponent": "Dachen Mussel Cooperative",
    "boundary": {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"farm": farm},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[121.9 + i, 28.4], [121.91 + i, 28.4], [121.91 + i, 28.41], [121.9 + i, 28.4]]],
                },
            }
            for i, farm in enumerate(("farm-a", "farm-b"))
        ],
    },
    "use_rights": [
        {
            "certificate": "ZJ-HY-2024-0001",
            "holder": "Dachen Mussel Cooperative",
            "farms": ["farm-a", "farm-b"],
            "area_ha": 20.0,
            "valid_from": "2024-01-01",
            "valid_to": "2038-12-31",
        }
    ],
    "monitoring_plan": {
        "sensors": [
            {
                "device": "node-m-01",
                "sensor": "lc-m-01",
                "measures": "load_kg of m-01",
                "interval_s": 600,
                "calibrated": "2026-02-15",
                "calibration_method": "lifted droppers weighed",
            }
        ],
        "coefficient_sampling": [
            {
                "groups": ["mussel", "kelp"],
                "method": "dry weight and CHN of 30 individuals",
                "frequency": "each harvest",
            }
        ],
        "qa_qc": "QARTOD flags at the edge; monthly completeness review",
    },
    "baseline": "No farming in the area without the project (open sea).",
    "additionality": "The farms were established for the carbon sink with the auction revenue.",
    "method_version": "HY/T 0305-2021, BlueRanch method 2",
}


@pytest.fixture(scope="module")
def packages(scenario, tmp_path_factory, report_package):
    cfg, synth = scenario
    # A hundred times the lines per instrumented line: an auction-sized stock.
    assets = [
        a.model_copy(
            update={
                "calibration": a.calibration.model_copy(
                    update={"lines_per_sensor": 100 * a.calibration.lines_per_sensor}
                )
            }
        )
        for a in cfg.assets
    ]
    cfg = cfg.model_copy(update={"project": ProjectConfig.model_validate(PROJECT), "assets": assets})
    out = tmp_path_factory.mktemp("packages")
    march = report_package(cfg, synth, out / "march", START_MS, START_MS + 31 * DAY)
    early_april = report_package(cfg, synth, out / "april", START_MS + 31 * DAY, START_MS + 38 * DAY)
    return march, early_april


def ledger(tmp, *args):
    return CliRunner().invoke(group, ["ledger", "--ledger", str(tmp), *args])


def test_issue_sell_retire_refuse_and_detect_an_edit(packages, tmp_path):
    march, april = packages
    issuable = march.figures["credits"]["issuable_t_co2e"]
    assert issuable > 20, march.figures["credits"]
    db = tmp_path / "ledger.sqlite"
    # Read-only commands do not create a ledger.
    r = ledger(db, "list")
    assert r.exit_code == 2 and "no such file" in r.output and not db.exists()

    r = ledger(db, "issue", str(march.package_path))
    assert r.exit_code == 0, r.output
    issued = json.loads(r.output)
    serial = f"BR-DACHEN-2026-000001-{issuable:06d}"
    assert issued["issued"] == serial and issued["t_co2e"] == issuable
    assert issued["holder"] == "Dachen Mussel Cooperative"

    # A second issuance of the vintage, or of another period of it, is refused.
    r = ledger(db, "issue", str(march.package_path))
    assert r.exit_code == 2 and "vintage 2026: already issued" in r.output
    r = ledger(db, "issue", str(april.package_path))
    assert r.exit_code == 2 and "already issued" in r.output

    # Part of the block sold as an auction lot, then retired by the buyer.
    r = ledger(
        db,
        "transfer",
        serial,
        "--t-co2e",
        "20",
        "--buyer",
        "Taizhou Bank",
        "--lot",
        "DACHEN-2026-01",
        "--price-per-t-co2e",
        "45.2",
        "--date",
        "2026-10-31",
    )
    assert r.exit_code == 0, r.output
    sold = json.loads(r.output)["transferred"]
    assert sold == "BR-DACHEN-2026-000001-000020"
    r = ledger(
        db,
        "retire",
        sold,
        "--beneficiary",
        "Taizhou Bank",
        "--reason",
        "2026 operations offset",
        "--date",
        "2026-12-01",
    )
    assert r.exit_code == 0, r.output
    r = ledger(db, "retire", sold, "--beneficiary", "x", "--reason", "again", "--date", "2026-12-02")
    assert r.exit_code == 2 and "retired" in r.output
    r = ledger(
        db,
        "transfer",
        f"BR-DACHEN-2026-000021-{issuable:06d}",
        "--t-co2e",
        str(issuable),
        "--buyer",
        "b",
        "--lot",
        "l",
        "--price-per-t-co2e",
        "1",
        "--date",
        "2026-11-01",
    )
    assert r.exit_code == 2 and f"holds 1 to {issuable - 20} t" in r.output

    doc = json.loads(ledger(db, "list", "--json").output)
    blocks = {b["serial"]: b for b in doc["blocks"]}
    assert blocks[sold] == {"serial": sold, "t_co2e": 20, "holder": "Taizhou Bank", "retired": True}
    rest = blocks[f"BR-DACHEN-2026-000021-{issuable:06d}"]
    assert rest["holder"] == "Dachen Mussel Cooperative" and not rest["retired"]
    assert [e["kind"] for e in doc["entries"]] == ["issue", "transfer", "retire"]
    assert doc["entries"][1]["price_per_t_co2e"] == 45.2 and doc["entries"][1]["lot"] == "DACHEN-2026-01"

    r = ledger(db, "verify")
    assert r.exit_code == 0 and "chain intact" in r.output, r.output

    # The ledger is append-only ...
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE entries SET body = '{}' WHERE seq = 2")
    # ... and an entry edited behind the triggers' back is found.
    con.executescript("DROP TRIGGER entries_append_only_update;")
    body = json.loads(con.execute("SELECT body FROM entries WHERE seq = 2").fetchone()[0])
    body["price_per_t_co2e"] = 4.52
    con.execute("UPDATE entries SET body = ? WHERE seq = 2", (json.dumps(body, sort_keys=True),))
    con.commit()
    con.close()
    r = ledger(db, "verify")
    assert r.exit_code == 1 and "entry 2 (transfer): hash does not match its contents" in r.output, r.output


def test_over_issuance_and_incomplete_projects_are_refused(packages, scenario, tmp_path, report_package):
    march, _ = packages
    issuable = march.figures["credits"]["issuable_t_co2e"]
    r = ledger(tmp_path / "l.sqlite", "issue", str(march.package_path), "--t-co2e", str(issuable + 1))
    assert r.exit_code == 2 and f"allow 1 to {issuable} t" in r.output
    cfg, synth = scenario  # no project description
    bare = report_package(cfg, synth, tmp_path / "bare", START_MS, START_MS + 31 * DAY)
    assert bare.figures["credits"]["issuable_t_co2e"] == 0
    r = ledger(tmp_path / "l.sqlite", "issue", str(bare.package_path))
    assert r.exit_code == 2 and "project description incomplete: project_id" in r.output


def test_ledger_verify_checks_thereport_package(packages, tmp_path):
    march, _ = packages
    db = tmp_path / "ledger.sqlite"
    assert ledger(db, "issue", str(march.package_path), "--t-co2e", "5").exit_code == 0
    assert ledger(db, "verify", "--no-recompute").exit_code == 0
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / march.package_path.name).write_bytes(b"PK junk")
    r = ledger(db, "verify", "--packages", str(moved))
    assert r.exit_code == 1 and "not a package" in r.output
