"""Provisioned Grafana alert rules: valid provisioning, and their queries fire on the right devices.

Grafana evaluates a rule by running each query over its relative time range ending now, reducing
each series to a number and applying the threshold or math expression. The test does the same
against the simulated day in the real InfluxDB (which ends at the current minute).
"""

from __future__ import annotations

import operator
import re
import time
from pathlib import Path

import pytest
import yaml

from blueranch.dashboards.alerting import render_rules
from blueranch.dashboards.build import AUDIENCES
from blueranch.dashboards.macros import interpolate
from blueranch.dashboards.sample_day import DROPPING, HYPOXIC, STALE

REPO = Path(__file__).resolve().parents[2]
PROVISIONED = REPO / "dashboards" / "provisioning" / "alerting" / "blueranch.yaml"
DOC = yaml.safe_load(PROVISIONED.read_text())
RULES = {r["uid"]: r for g in DOC["groups"] for r in g["rules"]}
DATASOURCE_UID = yaml.safe_load((REPO / "dashboards/provisioning/datasources/influxdb.yaml").read_text())[
    "datasources"
][0]["uid"]


def test_provisioned_file_is_the_generated_one():
    assert PROVISIONED.read_text() == render_rules(), (
        "rebuild: blueranch dashboards build --alert-rules dashboards/provisioning/alerting/blueranch.yaml"
    )


def test_rules_are_valid_provisioning():
    assert DOC["apiVersion"] == 1
    assert {g["folder"] for g in DOC["groups"]} <= {a.folder_title for a in AUDIENCES}
    assert len(RULES) == sum(len(g["rules"]) for g in DOC["groups"])
    for uid, r in RULES.items():
        refs = [d["refId"] for d in r["data"]]
        assert len(refs) == len(set(refs)) and r["condition"] in refs, uid
        for d in r["data"]:
            assert d["datasourceUid"] in (DATASOURCE_UID, "__expr__"), uid
            if d["datasourceUid"] == "__expr__":
                expr = d["model"].get("expression", "")
                assert (
                    all(x in refs for x in re.findall(r"\$?(\w+)", expr) if not x.isdigit())
                    or d["model"]["type"] == "math"
                ), uid
        assert r["labels"]["severity"] in ("warning", "critical") and r["annotations"]["summary"], uid
    assert {"blueranch-hypoxia", "blueranch-stale-device", "blueranch-edge-buffer-drops"} <= set(RULES)


def test_hypoxia_rule_cites_its_threshold():
    r = RULES["blueranch-hypoxia"]
    threshold = next(d for d in r["data"] if d["model"].get("type") == "threshold")
    assert threshold["model"]["conditions"][0]["evaluator"] == {"type": "lt", "params": [3.0]}
    assert "GB 11607-89" in r["annotations"]["description"]


# --- a small evaluator of Grafana's server-side expressions (reduce, threshold, math) -----------------

_OPS = {"lt": operator.lt, "gt": operator.gt}


def _evaluate(rule: dict, influx) -> dict[tuple, float]:
    now_ms = int(time.time() * 1000)
    frames: dict[str, dict[tuple, list[float]]] = {}
    numbers: dict[str, dict[tuple, float]] = {}
    for d in rule["data"]:
        m = d["model"]
        if d["datasourceUid"] != "__expr__":
            rng = d["relativeTimeRange"]
            q = interpolate(
                m["query"], now_ms - rng["from"] * 1000, now_ms - rng["to"] * 1000, interval=m["intervalMs"]
            )
            frames[d["refId"]] = {tuple(sorted(s.tags.items())): [v[1] for v in s.values] for s in influx.query(q)}
        elif m["type"] == "reduce":
            fn = {"last": lambda xs: xs[-1], "sum": sum}[m["reducer"]]
            numbers[d["refId"]] = {
                k: fn([x for x in v if x is not None])
                for k, v in frames[m["expression"]].items()
                if any(x is not None for x in v)
            }
        elif m["type"] == "threshold":
            ev = m["conditions"][0]["evaluator"]
            numbers[d["refId"]] = {
                k: float(_OPS[ev["type"]](v, ev["params"][0])) for k, v in numbers[m["expression"]].items()
            }
        elif m["type"] == "math":
            refs = re.findall(r"\$(\w+)", m["expression"])
            keys = set.intersection(*(set(numbers[r]) for r in refs))
            numbers[d["refId"]] = {
                k: float(eval(re.sub(r"\$(\w+)", lambda x, k=k: repr(numbers[x[1]][k]), m["expression"]), {}))
                for k in keys
            }
    return numbers[rule["condition"]]


def _firing(rule: dict, influx) -> set[str]:
    return {dict(k)["device"] for k, v in _evaluate(rule, influx).items() if v}


@pytest.mark.integration
def test_rules_fire_on_the_devices_in_trouble(influx, day):
    assert _firing(RULES["blueranch-hypoxia"], influx) == {HYPOXIC}
    assert _firing(RULES["blueranch-stale-device"], influx) == {STALE}
    assert _firing(RULES["blueranch-agent-offline"], influx) == {STALE}
    assert _firing(RULES["blueranch-edge-buffer-drops"], influx) == {DROPPING}
    # three hours below 5 mg/L in 24 h is within GB 11607-89's 8 h allowance: evaluated, not firing
    low = _evaluate(RULES["blueranch-low-oxygen-24h"], influx)
    assert low and not any(low.values())
