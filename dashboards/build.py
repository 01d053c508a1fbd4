"""The dashboards per audience, and writing them as the JSON files Grafana provisions.

One folder per audience (operators, technicians, town government); the folder uids and dashboard
uids are stable, so provisioning and ``publish`` overwrite in place instead of duplicating.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from blueranch.dashboards import carbon_budget, farm_operations, fleet_health
from blueranch.dashboards.common import Settings
from blueranch.dashboards.model import Dashboard


@dataclass(frozen=True)
class Audience:
    key: str  # sub-folder of the build directory, and provisioning provider name
    folder_uid: str
    folder_title: str
    builders: tuple[Callable[[Settings], Dashboard], ...]


AUDIENCES: tuple[Audience, ...] = (
    Audience("operators", "blueranch-operators", "BlueRanch - Farm operators", (farm_operations.build,)),
    Audience("technicians", "blueranch-technicians", "BlueRanch - Field technicians", (fleet_health.build,)),
    Audience("government", "blueranch-government", "BlueRanch - Town government", (carbon_budget.build,)),
)


def build_all(settings: Settings | None = None) -> list[tuple[Audience, Dashboard]]:
    s = settings or Settings()
    return [(a, build(s)) for a in AUDIENCES for build in a.builders]


def render(d: Dashboard) -> str:
    """The file content: stable key order and a final newline, so a rebuild is byte-identical."""
    return json.dumps(d.to_json(), indent=2, ensure_ascii=False) + "\n"


def write(out_dir: Path, settings: Settings | None = None) -> list[Path]:
    """Write ``OUT/<audience>/<uid>.json`` for every dashboard; stale ``*.json`` in those folders go."""
    written: list[Path] = []
    built = build_all(settings)
    for audience in AUDIENCES:
        folder = out_dir / audience.key
        folder.mkdir(parents=True, exist_ok=True)
        keep = {f"{d.uid}.json" for a, d in built if a is audience}
        for stale in folder.glob("*.json"):
            if stale.name not in keep:
                stale.unlink()
    for audience, d in built:
        path = out_dir / audience.key / f"{d.uid}.json"
        path.write_text(render(d), encoding="utf-8")
        written.append(path)
    return written
