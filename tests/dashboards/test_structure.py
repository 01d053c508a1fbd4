"""Structure of the generated dashboards: uids, data source references, titles, units, contract names, layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from blueranch.contracts.influx import MEASUREMENTS
from blueranch.dashboards.build import audiences, build_languages
from blueranch.dashboards.common import localised_uid
from blueranch.dashboards.units import GRAFANA_UNITS
from blueranch.i18n import LANGUAGES
from blueranch.reference.thresholds import thresholds

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "dashboards" / "provisioning"
BUILT = [(a, d.to_json()) for a, d in build_languages()]
DATASOURCE = yaml.safe_load((PROVISIONING / "datasources" / "influxdb.yaml").read_text())["datasources"][0]
GRAFANA_BUILTIN = {"type": "grafana", "uid": "-- Grafana --"}


def _refs(d: dict) -> list[tuple[str, dict]]:
    out = []
    for p in d["panels"]:
        out.append((f"panel {p['title']}", p["datasource"]))
        out += [(f"panel {p['title']} target {t['refId']}", t["datasource"]) for t in p["targets"]]
    out += [(f"variable {v['name']}", v["datasource"]) for v in d["templating"]["list"] if v["type"] == "query"]
    out += [(f"annotation {a['name']}", a["datasource"]) for a in d["annotations"]["list"]]
    return out


def test_three_audiences_per_language_and_unique_uids():
    assert {(a.lang, a.key) for a, _ in BUILT} == {
        (lang, key) for lang in LANGUAGES for key in ("operators", "technicians", "government")
    }
    uids = [d["uid"] for _, d in BUILT]
    assert len(uids) == len(set(uids)) == 3 * len(LANGUAGES)
    folders = [a.folder_uid for lang in LANGUAGES for a in audiences(lang)]
    assert len(folders) == len(set(folders))


def test_uids_are_stable():
    """Renaming a uid breaks every bookmark and duplicates the dashboard on publish: change it deliberately."""
    english = ["blueranch-farm-operations", "blueranch-fleet-health", "blueranch-island-carbon-budget"]
    assert sorted(d["uid"] for a, d in BUILT if a.lang == "en") == english
    assert sorted(d["uid"] for a, d in BUILT if a.lang == "zh") == [f"{uid}-zh" for uid in english]
    assert localised_uid("blueranch-fleet-health", "en") == "blueranch-fleet-health"


def test_each_language_links_to_its_own_dashboards():
    for a, d in BUILT:
        assert d["tags"][:2] == ["blueranch", a.lang]
        assert [link["tags"] for link in d["links"]] == [["blueranch", a.lang]]


@pytest.mark.parametrize("audience,d", BUILT, ids=[d["uid"] for _, d in BUILT])
def test_datasource_references_resolve_to_the_provisioned_datasource(audience, d):
    for where, ref in _refs(d):
        if ref == GRAFANA_BUILTIN:
            continue
        assert ref == {"type": DATASOURCE["type"], "uid": DATASOURCE["uid"]}, where


@pytest.mark.parametrize("audience,d", BUILT, ids=[d["uid"] for _, d in BUILT])
def test_every_panel_has_a_title_a_unit_and_a_unique_id(audience, d):
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    for p in d["panels"]:
        assert p["title"].strip(), p
        assert p["fieldConfig"]["defaults"].get("unit", "").strip(), p["title"]
        assert p["targets"], p["title"]


@pytest.mark.parametrize("audience,d", BUILT, ids=[d["uid"] for _, d in BUILT])
def test_panels_do_not_overlap(audience, d):
    cells: dict[tuple[int, int], str] = {}
    for p in d["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


#: Unit symbols a title must not repeat: the contract's and Grafana's spellings (``ug/L``, ``µg/L``).
UNIT_SYMBOLS = (
    {u for u in GRAFANA_UNITS if u not in ("", "1", "count", "QARTOD")}
    | {v.removeprefix("suffix:").strip() for v in GRAFANA_UNITS.values() if v.startswith("suffix:")}
    | {"per second", "per s"}
)
_PARENS = re.compile(r"\(([^()]*)\)")


@pytest.mark.parametrize("audience,d", BUILT, ids=[d["uid"] for _, d in BUILT])
def test_titles_leave_the_unit_to_the_unit_field(audience, d):
    """ "pH (total scale) (pH)" said the unit twice: the unit field shows it beside every value."""
    for p in d["panels"]:
        for group in _PARENS.findall(p["title"]):
            units = {part.strip() for part in group.split(",")} & UNIT_SYMBOLS
            assert not units, f"{p['title']!r}: the unit {units} belongs in the unit field"
        unit = p["fieldConfig"]["defaults"]["unit"]
        own = {u for u, g in GRAFANA_UNITS.items() if g == unit} | {unit.removeprefix("suffix:").strip()}
        assert not p["title"].endswith(tuple(f" {u}" for u in own - {""})), f"{p['title']!r} ends with its unit"


_FROM = re.compile(r'FROM "(\w+)"\."(\w+)"')
_IDENT = re.compile(r'"([^"]+)"')
_ALIAS = re.compile(r'AS "([^"]+)"')


def _all_queries(d: dict) -> list[str]:
    qs = [t["query"] for p in d["panels"] for t in p["targets"]]
    qs += [v["query"] for v in d["templating"]["list"] if v["type"] == "query"]
    qs += [a["target"]["query"] for a in d["annotations"]["list"] if a.get("target")]
    return qs


@pytest.mark.parametrize("audience,d", BUILT, ids=[d["uid"] for _, d in BUILT])
def test_queries_name_only_contract_measurements_fields_and_tags(audience, d):
    """An independent check of the built JSON (not of the builder): every quoted name is in the contract."""
    for q in _all_queries(d):
        sources = _FROM.findall(q)
        assert sources, q
        allowed: set[str] = set(_ALIAS.findall(q))
        for rp, name in sources:
            m = MEASUREMENTS[name]
            assert m.retention_policy == rp, q
            allowed |= {rp, name, *m.tags, *(f.name for f in m.fields)}
        unknown = set(_IDENT.findall(q)) - allowed
        assert not unknown, f"{unknown} not in the contract: {q}"


def test_dissolved_oxygen_bands_come_from_the_cited_table():
    farm = next(d for a, d in BUILT if a.key == "operators" and a.lang == "en")
    do = next(p for p in farm["panels"] if p["targets"][0]["query"].startswith('SELECT mean("do_mg_l")'))
    steps = [s["value"] for s in do["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    table = {t.value for t in thresholds() if t.parameter == "dissolved_oxygen"}
    assert steps[0] is None and set(steps[1:]) <= table
    assert 3.0 in steps and 5.0 in steps
    assert "GB 11607-89" in do["description"]
    assert do["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line+area"


def test_every_measurement_a_dashboard_promises_is_queried():
    queried = {name for _, d in BUILT for q in _all_queries(d) for _, name in _FROM.findall(q)}
    promised = {
        "water_quality",
        "weather",
        "position",
        "biomass_load",
        "device_health",
        "device_status",
        "carbon_stock",
        "carbon_budget",
        "alerts",
        "ingest_errors",
        "ingest_stats",
    }
    assert promised <= queried


def test_the_95_percent_band_is_drawn_between_lo95_and_hi95():
    gov = next(d for a, d in BUILT if a.key == "government" and a.lang == "en")
    band = next(
        p for p in gov["panels"] if "sinks_hi95_t_co2e" in p["targets"][0]["query"] and p["type"] == "timeseries"
    )
    props = {
        o["matcher"]["options"]: {x["id"]: x["value"] for x in o["properties"]}
        for o in band["fieldConfig"]["overrides"]
    }
    assert props["hi95"]["custom.fillBelowTo"] == "lo95"
    assert 'AS "lo95"' in band["targets"][0]["query"] and band["targets"][0]["alias"] == "$col"
