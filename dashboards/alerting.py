"""Grafana-managed alert rules, in Grafana's file-provisioning format, built from the contract.

Each rule is an InfluxQL query (built with :mod:`blueranch.contracts.query`, so it names only contract
fields), a ``reduce`` expression (one number per series: per site and device) and a ``threshold`` or
``math`` expression. Grafana evaluates the rules itself; they complement the BlueRanch alert worker
(``models/alerts``), which writes the ``alerts`` measurement, by paging even when the worker is down.

Rules:
- hypoxia (critical): every dissolved-oxygen reading of the last 15 min below 3.0 mg/L, the level
  GB 11607-89 says must never be undercut (reference table, looked up in :mod:`blueranch.dashboards.thresholds`);
- low oxygen over a day (warning): more than 8 h of the last 24 h below 5.0 mg/L, since GB 11607-89 asks
  for more than 5.0 mg/L during at least 16 h of every 24 h (share of readings as a proxy of time);
- stale device (warning): no status message from an edge agent for 15 to 30 min (the last two 15-min
  buckets empty; agents send one every minute) from an agent heard in the last 24 h;
- agent offline (warning): the latest retained status says offline (MQTT Last Will);
- edge buffer drops (warning): the device's dropped-readings counter grew in the last hour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from blueranch.contracts.influx import QC_SUFFIX
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.query import Col, FieldCmp, Query, select
from blueranch.dashboards import thresholds
from blueranch.dashboards.build import AUDIENCES
from blueranch.dashboards.common import Settings

FOLDERS = {a.key: a.folder_title for a in AUDIENCES}
BY = ("site", "device")


def _query(ref: str, q: Query, seconds: int, s: Settings) -> dict[str, Any]:
    return {
        "refId": ref,
        "relativeTimeRange": {"from": seconds, "to": 0},
        "datasourceUid": s.datasource_uid,
        "model": {
            "refId": ref,
            "datasource": {"type": "influxdb", "uid": s.datasource_uid},
            "query": q.text,
            "rawQuery": True,
            "resultFormat": "time_series",
            "intervalMs": 60_000,
            "maxDataPoints": 43_200,
        },
    }


def _reduce(ref: str, of: str, reducer: str = "last") -> dict[str, Any]:
    return {
        "refId": ref,
        "datasourceUid": "__expr__",
        "model": {
            "refId": ref,
            "type": "reduce",
            "expression": of,
            "reducer": reducer,
            "settings": {"mode": "dropNN"},
            "datasource": {"type": "__expr__", "uid": "__expr__"},
        },
    }


def _threshold(ref: str, of: str, op: str, value: float) -> dict[str, Any]:
    return {
        "refId": ref,
        "datasourceUid": "__expr__",
        "model": {
            "refId": ref,
            "type": "threshold",
            "expression": of,
            "conditions": [{"evaluator": {"type": op, "params": [value]}}],
            "datasource": {"type": "__expr__", "uid": "__expr__"},
        },
    }


def _math(ref: str, expression: str) -> dict[str, Any]:
    return {
        "refId": ref,
        "datasourceUid": "__expr__",
        "model": {
            "refId": ref,
            "type": "math",
            "expression": expression,
            "datasource": {"type": "__expr__", "uid": "__expr__"},
        },
    }


def _rule(
    uid: str,
    title: str,
    data: list[dict[str, Any]],
    severity: str,
    audience: str,
    summary: str,
    description: str,
    for_: str,
    no_data: str = "OK",
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "condition": data[-1]["refId"],
        "data": data,
        "for": for_,
        "noDataState": no_data,
        "execErrState": "Error",
        "isPaused": False,
        "labels": {"severity": severity, "audience": audience, "source": "blueranch-grafana"},
        "annotations": {"summary": summary, "description": description},
    }


def rules(s: Settings | None = None) -> dict[str, Any]:
    """The provisioning document: ``apiVersion: 1`` and one rule group per audience folder."""
    s = s or Settings()
    never, h16 = thresholds.do_never_below(), thresholds.do_16h_of_24h()
    # readings whose QC failed (a value outside the physical range among them, edge/qc.py) are left out
    usable = FieldCmp("do_mg_l" + QC_SUFFIX, "!=", int(QcFlag.FAIL))
    do_max = select("water_quality", Col("do_mg_l", "max", "do_max"), where=(usable,), group_by=BY)
    low_n = select(
        "water_quality",
        Col("do_mg_l", "count", "low"),
        where=(FieldCmp("do_mg_l", "<", h16.value), usable),
        group_by=BY,
    )
    all_n = select("water_quality", Col("do_mg_l", "count", "all"), where=(usable,), group_by=BY)
    water = [
        _rule(
            "blueranch-hypoxia",
            "Hypoxia: dissolved oxygen below 3 mg/L",
            [_query("A", do_max, 900, s), _reduce("B", "A"), _threshold("C", "B", "lt", never.value)],
            "critical",
            "operators",
            "Hypoxia at {{ $labels.device }} ({{ $labels.site }})",
            f"Highest dissolved oxygen of the last 15 min is below {never.value_citation}.",
            "5m",
        ),
        _rule(
            "blueranch-low-oxygen-24h",
            "Low oxygen for more than 8 h of 24 h",
            [
                _query("A", low_n, 86_400, s),
                _query("B", all_n, 86_400, s),
                _reduce("RA", "A", "sum"),
                _reduce("RB", "B", "sum"),
                _math("C", "$RA / $RB > 8 / 24"),
            ],
            "warning",
            "operators",
            "Oxygen below 5 mg/L too long at {{ $labels.device }}",
            f"More than a third of the last 24 h of readings are below {h16.value_citation}.",
            "0s",
        ),
    ]
    stale_q = select(
        "device_status", Col("online", "count", "statuses", "moving_average", "2"), time="15m", group_by=BY, fill="0"
    )
    offline_q = select("device_status", Col("online", "last", "online"), group_by=BY)
    drops_q = select("device_status", Col("buffer_dropped_total", "spread", "dropped"), group_by=BY)
    fleet = [
        _rule(
            "blueranch-stale-device",
            "Stale device: no reading for 15-30 min",
            [_query("A", stale_q, 86_400, s), _reduce("B", "A"), _threshold("C", "B", "lt", 0.5)],
            "warning",
            "technicians",
            "{{ $labels.device }} is silent",
            "No status message from the edge agent in the last two 15-min buckets (agents send one every "
            "status_interval_s, 60 s by default); heard within 24 h.",
            "0s",
        ),
        _rule(
            "blueranch-agent-offline",
            "Edge agent offline (Last Will)",
            [_query("A", offline_q, 7 * 86_400, s), _reduce("B", "A"), _threshold("C", "B", "lt", 1)],
            "warning",
            "technicians",
            "{{ $labels.device }} is offline",
            "The latest retained status of the edge agent is offline (its MQTT Last Will).",
            "5m",
        ),
        _rule(
            "blueranch-edge-buffer-drops",
            "Edge buffer dropped readings",
            [_query("A", drops_q, 3_600, s), _reduce("B", "A"), _threshold("C", "B", "gt", 0)],
            "warning",
            "technicians",
            "{{ $labels.device }} dropped buffered readings",
            "The edge buffer was full and evicted readings in the last hour: data is lost; visit the buoy "
            "or fix its uplink.",
            "0s",
        ),
    ]
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": "blueranch-water-quality",
                "folder": FOLDERS["operators"],
                "interval": "1m",
                "rules": water,
            },
            {"orgId": 1, "name": "blueranch-fleet", "folder": FOLDERS["technicians"], "interval": "1m", "rules": fleet},
        ],
    }


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(duration[:-1]) * units[duration[-1]]


def api_rule_groups(s: Settings | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """The rule groups as Grafana's provisioning HTTP API takes them: (folder uid, group name, body)."""
    folder_uids = {a.folder_title: a.folder_uid for a in AUDIENCES}
    out = []
    for g in rules(s)["groups"]:
        folder_uid = folder_uids[g["folder"]]
        body = {
            "title": g["name"],
            "folderUid": folder_uid,
            "interval": _seconds(g["interval"]),
            "rules": [{**r, "folderUID": folder_uid, "ruleGroup": g["name"], "orgID": g["orgId"]} for r in g["rules"]],
        }
        out.append((folder_uid, g["name"], body))
    return out


HEADER = (
    "# Generated by `blueranch dashboards build --alert-rules` from dashboards/alerting.py: do not edit.\n"
    "# Thresholds: blueranch/reference/water_quality_thresholds.csv (GB 11607-89).\n"
)


def render_rules(s: Settings | None = None) -> str:
    return HEADER + yaml.safe_dump(rules(s), sort_keys=False, allow_unicode=True, width=120)


def write_rules(path: Path, s: Settings | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_rules(s), encoding="utf-8")
