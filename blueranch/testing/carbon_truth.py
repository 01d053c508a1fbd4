"""The simulator's ground truth file (docs/simulator.md, 'Truth file') as budget inputs: the same
method applied to the truth.

Only ``meta``, ``biomass`` (hourly true standing wet biomass per asset) and the ``harvest``/``loss``
events are used; other record types are skipped. The truth becomes :class:`AssetSeries` records whose
levels are the true biomass and whose events are the recorded ones, so :func:`compute_budget` applies
exactly the same stock-change rule, periods and loss rule to it as to the sensor data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from blueranch.models.carbon import kinds
from blueranch.models.carbon.biomass import AssetSeries, Decline
from blueranch.models.carbon.budget import Inputs
from blueranch.models.carbon.config import AssetConfig, Calibration, CarbonConfig, HarvestWindow


def _ms(text: str) -> int:
    return int(round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000))


def read_meta(path: str | Path) -> dict:
    """The first line of a truth file, which must be ``{"type": "meta", ...}``."""
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    meta = json.loads(first) if first.strip() else {}
    if meta.get("type") != "meta":
        raise ValueError(f"{path}: first line is not a meta record (type={meta.get('type')!r})")
    return meta


@dataclass
class Truth:
    meta: dict
    biomass: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    events: dict[str, list[Decline]] = field(default_factory=dict)

    @property
    def start_ms(self) -> int:
        return _ms(self.meta["start"])

    @property
    def end_ms(self) -> int:
        return _ms(self.meta["end"])


def read_truth(path: str | Path) -> Truth:
    truth = Truth(read_meta(path))
    with open(path, encoding="utf-8") as f:
        next(f)
        for _n, line in enumerate(f, start=2):
            if '"biomass"' not in line and '"harvest"' not in line and '"loss"' not in line:
                continue
            rec = json.loads(line)
            kind = rec.get("type")
            if kind == "biomass":
                t, w = truth.biomass.setdefault(rec["asset"], ([], []))
                t.append(_ms(rec["time"]))
                w.append(float(rec["wet_t"]))
            elif kind in ("harvest", "loss"):
                # The simulator sums flows over a day and stamps them with the day's end: they happened
                # before that instant, so they belong to the period that ends there.
                t_ms = _ms(rec["time"]) - 1
                truth.events.setdefault(rec["asset"], []).append(
                    Decline(t_ms, t_ms, kind, float(rec["wet_t"]), float("nan"), float("nan"))
                )
    return truth


def truth_inputs(truth: Truth, cfg: CarbonConfig) -> Inputs:
    """Budget inputs whose biomass records are the truth (no noise, exact events)."""
    assets = {}
    for a in cfg.assets:
        if a.asset not in truth.biomass:
            continue
        t, w = truth.biomass[a.asset]
        order = np.argsort(np.asarray(t, dtype=np.int64), kind="stable")
        times = np.asarray(t, dtype=np.int64)[order]
        wet = np.asarray(w, dtype=float)[order]
        events = sorted(truth.events.get(a.asset, []), key=lambda e: e.start_ms)
        ft = np.array([e.start_ms for e in events], dtype=np.int64)
        h = np.cumsum([e.wet_t if e.kind == "harvest" else 0.0 for e in events])
        lo = np.cumsum([e.wet_t if e.kind == "loss" else 0.0 for e in events])
        # Exact values: no boundary smoothing (the truth's daily flow records would also make it jagged).
        det = cfg.detection.model_copy(update={"expected_interval_s": 3600, "boundary_fit_hours": 0.0})
        assets[a.asset] = AssetSeries(
            a.asset, times, wet, times, times, np.ones(times.size, dtype=np.int64), wet, ft, h, lo, events, 0.0, det
        )
    return Inputs(assets)


def config_from_truth_meta(meta: dict, source: str = "simulator truth file meta line") -> CarbonConfig:
    """Build a config from the simulator's truth meta (docs/simulator.md, 'Truth file'): bivalve and
    macroalgae assets with their load-cell calibration. Reef and pen assets are left to the site config."""
    assets = []
    for a in meta["assets"]:
        if a["kind"] not in kinds.names():
            continue
        assets.append(
            AssetConfig(
                asset=a["asset"],
                farm=a["farm"],
                kind=a["kind"],
                group=a["group"],
                sensor=a.get("sensor"),
                device=a.get("device"),
                calibration=Calibration(
                    tare_kg=a["tare_kg"],
                    wet_per_submerged=a["wet_per_submerged"],
                    lines_per_sensor=a["lines_per_sensor"],
                    source=source,
                ),
            )
        )
    start = meta.get("start")
    return CarbonConfig(
        site=meta["site"], assets=assets, start=datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
    )


def harvest_windows(scenario) -> dict[str, list[HarvestWindow]]:
    """Each farmed asset's harvest season from a simulator scenario (the farm's harvest calendar)."""
    return {
        a.id: [HarvestWindow(start=a.harvest_start, days=a.harvest_days)] for a in scenario.assets if a.harvest_start
    }


def with_harvest_windows(cfg: CarbonConfig, windows: dict[str, list[HarvestWindow]], source: str) -> CarbonConfig:
    assets: list[AssetConfig] = [
        a.model_copy(update={"harvest_windows": windows.get(a.asset, []), "harvest_source": source}) for a in cfg.assets
    ]
    return cfg.model_copy(update={"assets": assets})
