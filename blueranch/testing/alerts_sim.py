"""Simulator runs as the alert worker sees them: readings -> contract points (as the edge publishes them)
-> InfluxDB, and the truth records beside them (docs/simulator.md, 'Truth file').

``device`` = the simulator device's ``edge_device``, ``sensor`` = the simulator device id, with its
``asset``/``farm``; frames garbled on the wire are dropped (the edge rejects them). QC flags are 2 (not
evaluated) unless ``qc`` gives a flag per (reading, quantity), as an edge QC would set them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import numpy as np

from blueranch.contracts.influx import Point
from blueranch.contracts.lineprotocol import lines
from blueranch.contracts.quantities import QUANTITIES
from blueranch.sim import engine, scenario

#: (reading, quantity) -> QARTOD flag
QcFn = Callable[[object, str], int]


def build(name: str, start: str, days: float, events: list[dict], base: str = "single-buoy"):
    """A scenario on a built-in layout with its own start, length and events (no random storms)."""
    sc = scenario.load_scenario(base).model_dump(mode="json")
    sc.update(name=name, start=start, days=days, events=events, random_storms_per_year=0.0)
    return scenario.parse_scenario(sc)


def simulate(sc, seed: int = 1, fault_start: str | None = None) -> tuple[list, list[dict]]:
    """(readings, truth records). ``fault_start``: faults accumulate from then (drift and fouling of a
    part cut out of a longer run keep the state they had reached), not from the scenario's start."""
    sim = engine.Simulation(sc, seed=seed)
    if fault_start is not None:
        t0 = datetime.fromisoformat(fault_start.replace("Z", "+00:00")).timestamp()
        for f in sim.faults.values():
            f.start_s = t0
    readings, truth = [], []
    for rec in sim.run():
        (truth if isinstance(rec, dict) else readings).append(rec)
    return readings, truth


def to_points(site: str, readings, qc: QcFn | None = None) -> list[Point]:
    """One point per (reading, measurement), tags as the edge agent would publish them."""
    points = []
    for r in readings:
        if r.garbled:
            continue
        tags = {"site": site, "device": r.edge_device, "sensor": r.device}
        if r.asset:
            tags["asset"] = r.asset
        if r.farm:
            tags["farm"] = r.farm
        by_m: dict[str, dict] = defaultdict(dict)
        for q, v in r.values.items():
            if q in QUANTITIES and np.isfinite(v):
                by_m[QUANTITIES[q].measurement].update({q: float(v), q + "_qc": qc(r, q) if qc else 2})
        points += [Point(m, tags, f, int(round(r.time_s * 1000))) for m, f in by_m.items()]
    return points


def write(influx, points: list[Point]) -> None:
    for i in range(0, len(points), 5000):
        influx.write(lines(points[i : i + 5000]), retention_policy="raw")
