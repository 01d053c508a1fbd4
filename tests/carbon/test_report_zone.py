"""The report's zone: days and months cut at local midnight, recorded in the package so that ``carbon verify``
recomputes the same periods, and a vintage that ends at local midnight on 1 January."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from blueranch.models.carbon.config import CarbonConfig
from blueranch.models.carbon.ledger import Ledger, LedgerError
from blueranch.models.carbon.package import MANIFEST, manifest_bytes
from blueranch.models.carbon.periods import ms, periods_between, year_start_ms
from blueranch.models.carbon.verify import verify

HOUR = 3_600_000
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(tz, *ymd_hm) -> int:
    return ms(datetime(*ymd_hm, tzinfo=tz))


def test_days_months_and_years_start_at_local_midnight():
    start, latest = _at(SHANGHAI, 2026, 2, 27, 5, 0), _at(SHANGHAI, 2026, 3, 2, 1, 0)
    days = periods_between(start, latest, ("day",), SHANGHAI)
    assert [d.start_ms for d in days[1:]] == [_at(SHANGHAI, 2026, 2, d, 0, 0) for d in (28,)] + [
        _at(SHANGHAI, 2026, 3, d, 0, 0) for d in (1, 2)
    ]
    assert days[0].start_ms == start and days[1].start_ms == ms(datetime(2026, 2, 27, 16, tzinfo=UTC))
    months = periods_between(start, latest, ("month",), SHANGHAI)
    assert [m.end_ms for m in months] == [_at(SHANGHAI, 2026, 3, 1, 0, 0), _at(SHANGHAI, 2026, 4, 1, 0, 0)]
    assert year_start_ms(_at(SHANGHAI, 2026, 1, 1, 3, 0), SHANGHAI) == ms(datetime(2025, 12, 31, 16, tzinfo=UTC))
    # UTC stays the default (the live worker's periods).
    assert periods_between(start, latest, ("day",))[1].start_ms == ms(datetime(2026, 2, 27, tzinfo=UTC))


def test_a_day_across_a_daylight_saving_change_is_23_or_25_hours():
    paris = ZoneInfo("Europe/Paris")
    spring = periods_between(_at(paris, 2026, 3, 29, 0, 0), _at(paris, 2026, 3, 29, 12, 0), ("day",), paris)
    autumn = periods_between(_at(paris, 2026, 10, 25, 0, 0), _at(paris, 2026, 10, 25, 12, 0), ("day",), paris)
    assert [(p.end_ms - p.start_ms) / HOUR for p in spring + autumn] == [23, 25]


def test_an_unknown_zone_is_refused_naming_what_is_allowed():
    with pytest.raises(ValueError, match="'Asia/Atlantis' is not a time zone: use an IANA name"):
        CarbonConfig(site="dachen", timezone="Asia/Atlantis")


@pytest.fixture(scope="module")
def local_package(scenario, tmp_path_factory, report_package):
    cfg, synth = scenario
    cfg = cfg.model_copy(update={"timezone": "Asia/Shanghai"})
    start, end = _at(SHANGHAI, 2026, 3, 2, 0, 0), _at(SHANGHAI, 2026, 4, 2, 0, 0)
    return report_package(cfg, synth, tmp_path_factory.mktemp("zone"), start, end)


def test_the_package_records_the_zone_and_verify_recomputes_the_local_months(local_package, tmp_path):
    f = local_package.figures
    assert f["period"]["timezone"] == "Asia/Shanghai" and f["period"]["from"] == "2026-03-02T00:00:00+08:00"
    assert [(m["month"], m["start_ms"], m["end_ms"]) for m in f["months"]] == [
        ("2026-03", _at(SHANGHAI, 2026, 3, 2, 0, 0), _at(SHANGHAI, 2026, 4, 1, 0, 0)),
        ("2026-04", _at(SHANGHAI, 2026, 4, 1, 0, 0), _at(SHANGHAI, 2026, 4, 2, 0, 0)),
    ]
    assert local_package.html_path.name == "carbon-report-dachen-20260302-20260402.html"
    with zipfile.ZipFile(local_package.package_path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    assert json.loads(files["config.json"])["timezone"] == "Asia/Shanghai"
    assert verify(local_package.package_path).ok

    # The same package with its zone changed to UTC (manifest forged too): the months no longer agree.
    config = json.loads(files["config.json"])
    config["timezone"] = "UTC"
    files["config.json"] = json.dumps(config).encode()
    files[MANIFEST] = manifest_bytes({n: b for n, b in files.items() if n != MANIFEST})
    forged = tmp_path / "utc.zip"
    with zipfile.ZipFile(forged, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    r = verify(forged)
    assert not r.ok
    assert any(d.startswith("latest: package '2026-04-10T07:00:00+08:00', recomputed") for d in r.differences)
    assert any(d.startswith("months[2026-03].end_ms") for d in r.differences), r.differences


def test_a_local_vintage_ends_at_local_midnight(tmp_path):
    """A 2026 report in New York ends at 05:00 UTC on 1 January 2027: still vintage 2026, not two vintages."""
    ny = ZoneInfo("America/New_York")
    figures = {
        "site": "dachen",
        "period": {
            "from": "2026-01-01T00:00:00-05:00",
            "to": "2027-01-01T00:00:00-05:00",
            "start_ms": _at(ny, 2026, 1, 1, 0, 0),
            "end_ms": _at(ny, 2027, 1, 1, 0, 0),
            "timezone": "America/New_York",
        },
        "credits": {"not_issuable": [], "issuable_t_co2e": 5, "creditable_t_co2e": 5.5, "vintage": 2026},
        "project": {"proponent": "p", "project_id": "x", "missing": []},
    }
    config = {"credits": {"serial_prefix": "BR"}}
    ledger = Ledger(tmp_path / "l.sqlite", create=True)
    try:
        bad = json.loads(json.dumps(figures))
        bad["period"]["end_ms"] += HOUR  # an hour into 2027, local time
        with pytest.raises(LedgerError, match="spans vintages"):
            ledger.issue("q.zip", "1" * 64, bad, config, None)
        assert ledger.issue("p.zip", "0" * 64, figures, config, None).serial == "BR-DACHEN-2026-000001-000005"
    finally:
        ledger.close()
